"""Export the graph for Gephi and other network tools (``kg export``: GraphML, GEXF).

Nodes are the named entities (persons, officials, states, organizations, places) and the events
(meetings, summits, phone calls, visits, quotes), each with ``label`` (rdfs:label, Japanese),
``cls`` (its dip: class) and ``iri``. Edges are the object properties between them, typed in
UPPER_SNAKE like the Neo4j projection (edge attribute ``relation``: GEXF reserves ``type``); a post held (dip:holds → position → dip:postIn) is
collapsed into one ``HOLDS_POST`` edge from the person to the state or organization, labelled
with the title. Documents, position nodes and evidence annotations are left out.

Every edge has its own id, and its Gephi edge type (GEXF ``kind``, GraphML ``<edge label>``) is its
relation: Gephi keeps parallel edges only when their types differ, so none is merged away.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

import networkx as nx
from networkx.readwrite.gexf import GEXFWriter
from networkx.readwrite.graphml import GraphMLWriter
from rdflib import Graph, Literal, URIRef

from kg.errors import WriteError
from kg.namespaces import DIP, SKOS
from kg.outputs import atomic_write
from kg.readers.stats import (
    ENTITY_CLASSES,
    EVENT_CLASSES,
    class_name,
    date_of,
    label_of,
    node_class,
    nodes_of,
)

__all__ = ["EDGE_PROPERTIES", "EXPORT_FORMATS", "atomic_write", "export_graph", "to_networkx", "write_gexf",
           "write_graphml"]

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

    edges: list[tuple[str, str, dict[str, str]]] = []
    for prop, kind in EDGE_PROPERTIES.items():
        for s, o in sorted(graph.subject_objects(prop)):
            if str(s) in net and str(o) in net:
                edges.append((str(s), str(o), {"relation": kind, "label": kind.lower()}))
    for person, position in sorted(graph.subject_objects(DIP.holds)):
        titles = sorted(str(t) for t in graph.objects(position, DIP.title))
        for where in sorted(graph.objects(position, DIP.postIn)):
            if str(person) in net and str(where) in net:
                edges.append((str(person), str(where), {
                    "relation": "HOLDS_POST",
                    "label": titles[0] if titles else "holds_post",
                    "position": str(position),
                }))
    # one key per edge, unique in the file: GraphML and GEXF readers take it as the edge id, and
    # Gephi keeps only one edge of each id
    for i, (s, o, attrs) in enumerate(edges):
        net.add_edge(s, o, key=f"e{i}", **attrs)
    return net


def export_graph(graph: Graph, fmt: str, target: str | Path) -> nx.MultiDiGraph:
    """Write the entity/event network of ``graph`` to ``target`` as ``graphml`` or ``gexf``.

    Returns the networkx graph that was written.
    """
    if fmt not in EXPORT_FORMATS:
        raise WriteError(f"{target}: unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    net = to_networkx(graph)
    if fmt == "graphml":
        atomic_write(Path(target), lambda tmp: write_graphml(net, tmp))
    else:
        atomic_write(Path(target), lambda tmp: write_gexf(net, tmp))
    return net


def gephi_types(net: nx.MultiDiGraph) -> list[str]:
    """The Gephi edge type of every edge of ``net`` (in ``net.edges`` order): its relation, made
    unique between two nodes. Gephi keeps one edge per (source, target, type); when one person
    holds two posts in one organization, the second HOLDS_POST edge is typed ``HOLDS_POST 2``."""
    taken: set[tuple[str, str, str]] = set()
    types: list[str] = []
    for u, v, data in net.edges(data=True):
        rel, n = data["relation"], 1
        kind = rel
        while (u, v, kind) in taken:
            n += 1
            kind = f"{rel} {n}"
        taken.add((u, v, kind))
        types.append(kind)
    return types


def _type_edges(xml: Element, net: nx.MultiDiGraph, attribute: str, path: Path) -> None:
    """Set the XML attribute ``attribute`` of every ``<edge>`` to the edge's Gephi type."""
    elements = [e for e in xml.iter() if e.tag == "edge" or e.tag.endswith("}edge")]
    types = gephi_types(net)  # in the order the writers write the edges
    if len(elements) != len(types):
        raise WriteError(f"{path}: the writer wrote {len(elements)} edges for {len(types)}")
    for element, kind in zip(elements, types):
        element.set(attribute, kind)


def write_gexf(net: nx.MultiDiGraph, path: Path) -> None:
    """networkx's GEXF, with each edge's ``kind`` set to its relation.

    Gephi keeps parallel edges (same source and target) only when their kinds differ: with the
    relation as the kind, the REPRESENTS and the HOLDS_POST edge of an official to a state stay
    two edges. networkx writes no ``kind``, so it is added to the XML before the file is written.
    """
    writer = GEXFWriter(encoding="utf-8", prettyprint=True)
    writer.add_graph(net)
    _type_edges(writer.xml, net, "kind", path)
    with open(path, "wb") as fh:
        writer.write(fh)


def write_graphml(net: nx.MultiDiGraph, path: Path) -> None:
    """networkx's GraphML, with the relation also in each ``<edge label="…">``.

    Gephi's GraphML importer takes an edge's type from that XML attribute (``label``) and, like
    for GEXF, keeps parallel edges only when their types differ. Other readers (networkx, igraph)
    ignore it and read the relation from the ``relation`` data key.
    """
    writer = GraphMLWriter(encoding="utf-8", prettyprint=True)
    writer.add_graph_element(net)
    _type_edges(writer.xml, net, "label", path)
    with open(path, "wb") as fh:
        writer.dump(fh)
