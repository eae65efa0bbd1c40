"""A self-contained, offline HTML view of the graph (``kg view``).

One HTML file holds everything: the bundled vis-network library (``kg/static/vis-network.min.js``),
the page script and styles (``kg/static/view.*``) and the graph data as JSON in a
``<script type="application/json">`` element. Nothing is fetched from the network, so the file
can be mailed or opened from a USB stick. Clicking a node shows its properties, the evidence
sentences it was read from (``oa:exact`` of its annotations) and the source URLs.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from kg import __version__
from kg.errors import WriteError
from kg.namespaces import DIP, OA, PROV, RDFS, SCHEMA, SKOS
from kg.readers.export import EDGE_PROPERTIES, atomic_write
from kg.readers.stats import (
    ENTITY_CLASSES,
    EVENT_CLASSES,
    class_name,
    date_of,
    label_of,
    node_class,
    nodes_of,
)

__all__ = ["CLASS_STYLES", "build_view_data", "embed_json", "render_html", "write_view"]

#: Per class: Japanese and English caption, colour and vis-network shape (legend order).
CLASS_STYLES: dict[str, dict[str, Any]] = {
    "Official": {"ja": "官職者", "en": "Official", "color": "#1f77b4", "shape": "dot", "size": 16},
    "Person": {"ja": "人物", "en": "Person", "color": "#6baed6", "shape": "dot", "size": 14},
    "State": {"ja": "国家", "en": "State", "color": "#d62728", "shape": "diamond", "size": 18},
    "Organization": {"ja": "組織", "en": "Organization", "color": "#2ca02c", "shape": "square", "size": 13},
    "Place": {"ja": "場所", "en": "Place", "color": "#ff7f0e", "shape": "triangle", "size": 13},
    "Meeting": {"ja": "会談", "en": "Meeting", "color": "#9467bd", "shape": "hexagon", "size": 13},
    "Summit": {"ja": "首脳会談", "en": "Summit", "color": "#e377c2", "shape": "star", "size": 17},
    "PhoneCall": {"ja": "電話会談", "en": "Phone call", "color": "#17becf", "shape": "hexagon", "size": 12},
    "Visit": {"ja": "訪問", "en": "Visit", "color": "#8c564b", "shape": "triangleDown", "size": 13},
    "Quote": {"ja": "発言", "en": "Quote", "color": "#7f7f7f", "shape": "dot", "size": 6},
}

# The properties that tie an event or quote to an entity: an entity "takes part" in it.
_PART_PROPERTIES = (DIP.participant, DIP.visitor, DIP.destination, DIP.location, DIP.speaker)
# Shown in the details panel in this order; other predicates follow alphabetically.
_PROPERTY_ORDER = (
    RDFS.label,
    SKOS.altLabel,
    DIP.kind,
    DIP.text,
    DIP.speakerDescription,
    DIP.startDate,
    DIP.endDate,
    DIP.date,
    DIP.status,
    DIP.isoCode,
)
_HIDDEN_PROPERTIES = {RDF.type, DIP.holds, DIP.mentionedIn, PROV.wasDerivedFrom}


def _static(name: str) -> str:
    """Text of a file shipped in ``kg/static``."""
    return resources.files("kg").joinpath("static", name).read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: ``<``, ``>``, ``&`` and line separators are
    written as ``\\uXXXX`` escapes, so ``</script>`` or ``<!--`` in the data cannot end the element.
    ``JSON.parse`` gives back the original strings."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _curie(graph: Graph, iri: URIRef) -> str:
    try:
        return graph.namespace_manager.normalizeUri(iri)
    except (ValueError, KeyError, TypeError):  # an IRI rdflib cannot split stays as it is
        return str(iri)


def _urls(graph: Graph, doc: URIRef) -> list[str]:
    """schema:url of a document (http(s) only: the page turns them into links)."""
    return sorted(
        str(u) for u in graph.objects(doc, SCHEMA.url) if str(u).startswith(("http://", "https://"))
    )


def _annotations(graph: Graph) -> dict[URIRef, list[dict[str, Any]]]:
    """Evidence per annotated node: sentence, document, URLs, rule and confidence."""
    out: dict[URIRef, list[dict[str, Any]]] = defaultdict(list)
    for ann in sorted(graph.subjects(RDF.type, OA.Annotation)):
        targets = list(graph.objects(ann, OA.hasTarget))
        exact: list[str] = []
        docs: list[URIRef] = []
        for target in targets:
            docs += [d for d in graph.objects(target, OA.hasSource) if isinstance(d, URIRef)]
            for sel in graph.objects(target, OA.hasSelector):
                exact += [str(e) for e in graph.objects(sel, OA.exact)]
        if not exact:
            continue
        confidence = graph.value(ann, DIP.confidence)
        rule = graph.value(ann, DIP.rule)
        doc = min(docs) if docs else None
        record = {
            "text": exact[0],
            "doc": str(doc) if doc is not None else None,
            "docLabel": label_of(graph, doc) if doc is not None else None,
            "urls": _urls(graph, doc) if doc is not None else [],
            "rule": str(rule) if rule is not None else None,
            "confidence": float(confidence) if isinstance(confidence, Literal) else None,
        }
        for body in graph.objects(ann, OA.hasBody):
            if isinstance(body, URIRef):
                out[body].append(record)
    return out


def _value(graph: Graph, obj: Any, shown: set[URIRef]) -> dict[str, Any]:
    if isinstance(obj, Literal):
        return {"text": str(obj)}
    if isinstance(obj, URIRef) and obj in shown:
        return {"text": label_of(graph, obj), "ref": str(obj)}
    if isinstance(obj, URIRef) and str(obj).startswith(("http://", "https://")):
        label = label_of(graph, obj) if (obj, RDFS.label, None) in graph else _curie(graph, obj)
        return {"text": label, "iri": str(obj)}
    return {"text": str(obj)}


def build_view_data(graph: Graph, *, source: str = "") -> dict[str, Any]:
    """The JSON the page renders: nodes with details and evidence, edges, class styles."""
    shown = nodes_of(graph, (*ENTITY_CLASSES, *EVENT_CLASSES))
    shown_set = set(shown)
    evidence = _annotations(graph)

    edges: list[dict[str, Any]] = []
    for prop, rel in EDGE_PROPERTIES.items():
        for s, o in sorted(graph.subject_objects(prop)):
            if s in shown_set and o in shown_set:
                edges.append({"from": str(s), "to": str(o), "rel": rel})
    posts: dict[URIRef, list[dict[str, Any]]] = defaultdict(list)
    for person, position in sorted(graph.subject_objects(DIP.holds)):
        titles = sorted(str(t) for t in graph.objects(position, DIP.title))
        for where in sorted(graph.objects(position, DIP.postIn)):
            posts[person].append({"title": "・".join(titles), "position": position, "in": where})
            if person in shown_set and where in shown_set:
                edges.append(
                    {
                        "from": str(person),
                        "to": str(where),
                        "rel": "HOLDS_POST",
                        "label": titles[0] if titles else "",
                    }
                )

    # statements each entity takes part in, for its evidence
    statements: dict[URIRef, list[URIRef]] = defaultdict(list)
    for prop in _PART_PROPERTIES:
        for s, o in sorted(graph.subject_objects(prop)):
            if isinstance(o, URIRef):
                statements[o].append(s)
    for person, items in posts.items():
        for post in items:
            statements[person].append(post["position"])
            statements[post["in"]].append(post["position"])

    nodes: list[dict[str, Any]] = []
    for node in shown:
        cls = class_name(node_class(graph, node))
        props: list[dict[str, Any]] = []
        predicates = sorted(
            {p for p in graph.predicates(node) if p not in _HIDDEN_PROPERTIES},
            key=lambda p: (
                _PROPERTY_ORDER.index(p) if p in _PROPERTY_ORDER else len(_PROPERTY_ORDER),
                str(p),
            ),
        )
        for pred in predicates:
            for obj in sorted(graph.objects(node, pred), key=str):
                props.append({"key": _curie(graph, pred), **_value(graph, obj, shown_set)})
        for post in posts.get(node, []):
            where = post["in"]
            props.append(
                {
                    "key": "dip:holds",
                    "text": f"{post['title']} ({label_of(graph, where)})",
                    **({"ref": str(where)} if where in shown_set else {}),
                }
            )

        own = evidence.get(node, [])
        related = []
        for stmt in statements.get(node, []):
            for record in evidence.get(stmt, []):
                related.append(
                    {
                        **record,
                        "via": label_of(graph, stmt),
                        **({"viaRef": str(stmt)} if stmt in shown_set else {}),
                    }
                )
        seen: set[tuple[str, str | None]] = set()
        items = []
        for record in [*own, *related]:
            key = (record["text"], record["doc"])
            if key not in seen:
                seen.add(key)
                items.append(record)

        docs = set(graph.objects(node, PROV.wasDerivedFrom)) | set(graph.objects(node, DIP.mentionedIn))
        docs |= {URIRef(r["doc"]) for r in items if r["doc"]}
        sources = sorted({u for d in docs if isinstance(d, URIRef) for u in _urls(graph, d)})

        label = label_of(graph, node)
        if cls == "Quote":
            text = str(graph.value(node, DIP.text) or label)
            label = "「" + (text if len(text) <= 12 else text[:12] + "…") + "」"
        start = date_of(graph, node, DIP.date if cls == "Quote" else DIP.startDate)
        nodes.append(
            {
                "id": str(node),
                "label": label,
                "fullLabel": label_of(graph, node),
                "names": sorted(
                    {label_of(graph, node), *(str(a) for a in graph.objects(node, SKOS.altLabel))}
                ),
                "cls": cls,
                "event": cls not in {class_name(c) for c in ENTITY_CLASSES},
                "start": start,
                "end": date_of(graph, node, DIP.endDate),
                "props": props,
                "evidence": items,
                "sources": sources,
            }
        )
    counts: dict[str, int] = defaultdict(int)
    for n in nodes:
        counts[n["cls"]] += 1
    classes = [{"id": cls, **style, "count": counts.get(cls, 0)} for cls, style in CLASS_STYLES.items()]
    return {
        "meta": {
            "source": source,
            "generator": f"kg {__version__}",
            "nodes": len(nodes),
            "edges": len(edges),
        },
        "classes": classes,
        "nodes": nodes,
        "edges": edges,
    }


def render_html(data: dict[str, Any], *, title: str = "kg: diplomacy graph") -> str:
    """The complete HTML page for ``data`` (from :func:`build_view_data`), with every asset inline."""
    vis = _static("vis-network.min.js")
    app = _static("view.js")
    for name, script in (("vis-network.min.js", vis), ("view.js", app)):
        if re.search(r"</script", script, re.IGNORECASE):
            raise WriteError(f"kg/static/{name}: contains '</script' and cannot be inlined")
    parts = {
        "TITLE": html.escape(title),
        "CSS": _static("view.css"),
        "VIS_JS": vis,
        "APP_JS": app,
        "DATA": embed_json(data),
    }
    # one pass, so text inside the data can never be taken for a placeholder
    return re.sub(r"\{\{KG_([A-Z_]+)\}\}", lambda m: parts[m.group(1)], _static("view.html"))


def write_view(
    graph: Graph, target: str | Path, *, source: str = "", title: str | None = None
) -> dict[str, Any]:
    """Write the HTML view of ``graph`` to ``target`` atomically; returns the embedded data."""
    data = build_view_data(graph, source=source)
    page = render_html(data, title=title or f"kg: {source or 'diplomacy graph'}")
    atomic_write(Path(target), lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return data
