"""Export the graph for Gephi and other network tools (``kg export``: GraphML, GEXF).

Nodes are the named entities (persons, officials, states, organizations, places) and the events
(meetings, summits, phone calls, visits, quotes), each with ``label`` (rdfs:label, Japanese),
``cls`` (its dip: class) and ``iri``. Edges are the object properties between them, typed in
UPPER_SNAKE like the Neo4j projection (edge attribute ``relation``: GEXF reserves ``type``); a post held (dip:holds → position → dip:postIn) is
collapsed into one ``HOLDS_POST`` edge from the person to the state or organization, labelled
with the title. Documents, position nodes and evidence annotations are left out.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import networkx as nx
from rdflib import Graph, Literal, URIRef

from kg.errors import WriteError
from kg.namespaces import DIP, SKOS
from kg.readers.stats import (
    ENTITY_CLASSES,
    EVENT_CLASSES,
    class_name,
    date_of,
    label_of,
    node_class,
    nodes_of,
)

__all__ = ["EDGE_PROPERTIES", "EXPORT_FORMATS", "atomic_write", "export_graph", "to_networkx"]

#: Object properties exported as edges, with their edge type.
EDGE_PROPERTIES: dict[URIRef, str] = {
    DIP.participant: "PARTICIPANT",
    DIP.visitor: "VISITOR",
    DIP.destination: "DESTINATION",
    DIP.location: "LOCATION",
    DIP.speaker: "SPEAKER",
    DIP.represents: "REPRESENTS",
    DIP.subOrganizationOf: "SUB_ORGANIZATION_OF",
    DIP.locatedIn: "LOCATED_IN",
    DIP.partOf: "PART_OF",
}

EXPORT_FORMATS: tuple[str, ...] = ("graphml", "gexf")


def to_networkx(graph: Graph) -> nx.MultiDiGraph:
    """The entity/event network of ``graph`` as a networkx multigraph (string attributes only)."""
    net = nx.MultiDiGraph()
    for node in nodes_of(graph, (*ENTITY_CLASSES, *EVENT_CLASSES)):
        attrs = {"label": label_of(graph, node), "cls": class_name(node_class(graph, node)), "iri": str(node)}
        alt = sorted(str(a) for a in graph.objects(node, SKOS.altLabel))
        if alt:
            attrs["altLabels"] = " | ".join(alt)
        for prop, name in ((DIP.startDate, "startDate"), (DIP.endDate, "endDate"), (DIP.date, "date")):
            if (value := date_of(graph, node, prop)) is not None:
                attrs[name] = value
        status = graph.value(node, DIP.status)
        if isinstance(status, URIRef):
            attrs["status"] = class_name(status)
        for prop, name in ((DIP.kind, "kind"), (DIP.text, "text"), (DIP.isoCode, "isoCode")):
            value = graph.value(node, prop)
            if isinstance(value, Literal):
                attrs[name] = str(value)
        net.add_node(str(node), **attrs)

    for prop, kind in EDGE_PROPERTIES.items():
        for s, o in sorted(graph.subject_objects(prop)):
            if str(s) in net and str(o) in net:
                net.add_edge(str(s), str(o), key=kind, relation=kind, label=kind.lower())
    for person, position in sorted(graph.subject_objects(DIP.holds)):
        titles = sorted(str(t) for t in graph.objects(position, DIP.title))
        for where in sorted(graph.objects(position, DIP.postIn)):
            if str(person) in net and str(where) in net:
                net.add_edge(
                    str(person),
                    str(where),
                    key=f"HOLDS_POST {position}",
                    relation="HOLDS_POST",
                    label=titles[0] if titles else "holds_post",
                    position=str(position),
                )
    return net


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``target``, then rename it over ``target``.

    A reader never sees a half-written file. Raises :class:`WriteError` naming ``target``.
    """
    target = Path(target)
    if not target.parent.is_dir():
        raise WriteError(f"{target}: the directory {target.parent} does not exist; create it first")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        write(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise WriteError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def export_graph(graph: Graph, fmt: str, target: str | Path) -> nx.MultiDiGraph:
    """Write the entity/event network of ``graph`` to ``target`` as ``graphml`` or ``gexf``.

    Returns the networkx graph that was written.
    """
    if fmt not in EXPORT_FORMATS:
        raise WriteError(f"{target}: unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    net = to_networkx(graph)
    if fmt == "graphml":
        atomic_write(Path(target), lambda tmp: nx.write_graphml(net, tmp, encoding="utf-8"))
    else:
        atomic_write(Path(target), lambda tmp: nx.write_gexf(net, tmp, encoding="utf-8"))
    return net
