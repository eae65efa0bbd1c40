"""The rule that projects the validated RDF graph onto a Neo4j property graph.

One source of truth: Neo4j holds the same IRIs as the RDF graph, and everything below is
derived from ``ontology/diplomacy.ttl`` (docs/NEO4J.md describes the rule for users):

* **labels**: a node with ``rdf:type dip:C`` gets label ``C`` and the labels of every ``dip:``
  superclass (``dip:Official`` -> ``:Official:Person``, ``dip:Summit`` -> ``:Summit:Meeting``).
  The allow-list of labels is the set of ``dip:`` classes of the ontology.
* **relationships**: an object property ``p`` becomes a relationship of type
  ``p dip:neo4jType`` (else UPPER_SNAKE of its local name), from subject to object, or from
  object to subject when ``p dip:neo4jInverse true``. The allow-list of types is built from the
  ontology's object properties.
* **positions** (``dip:Position``) are reified relationships: ``holder dip:holds pos`` plus
  ``pos dip:postIn org`` become one ``(holder)-[:HOLDS_POST {iri, title, titles}]->(org)``.
* **evidence**: an ``oa:Annotation`` whose body is ``x`` and whose target's source is document
  ``d`` becomes ``(x)-[:REPORTED_IN {evidence, sentence, start, end, rule, confidence}]->(d)``;
  a ``prov:wasDerivedFrom`` without an annotation becomes a bare ``REPORTED_IN``.
* **literals** become typed properties named after the predicate's local name (``xsd:date`` ->
  DATE; partial dates stay strings such as ``"2018-06"``); ``rdfs:label`` gives ``name`` (the
  Japanese one first) and, with ``skos:altLabel``, ``names``; ``owl:sameAs wd:Q..`` gives
  ``wikidata``; an object that is an ``owl:NamedIndividual`` of the ontology (``dip:Held``)
  becomes a string property (``status: "held"``).
* **provenance**: every node and relationship carries ``sources``, the IRIs of the documents
  that support it (``prov:wasDerivedFrom`` and ``dip:mentionedIn`` of the node the statement is
  about), so that re-loading a document replaces what only that document said.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

from kg.errors import KgError, MappingError
from kg.namespaces import DIP, OA, PROV, WD

ONTOLOGY_FILE = Path(__file__).resolve().parents[2] / "ontology" / "diplomacy.ttl"
_PACKAGED_ONTOLOGY = Path(__file__).resolve().parents[1] / "data" / "diplomacy.ttl"
#: The PLOVER / CAMEO concept scheme: its concepts are individuals, so a link to one is a string property.
CONCEPT_SCHEME_FILE = Path(__file__).resolve().parents[1] / "data" / "plover.ttl"

_LABEL_RE = re.compile(r"^[A-Z][A-Za-z0-9_]*$")
_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")

REPORTED_IN = "REPORTED_IN"
#: The fallback type of the reified position relationship when dip:holds has no dip:neo4jType.
HOLDS_POST = "HOLDS_POST"
_SEP = "\u241f"  # a separator that cannot occur in an IRI


def upper_snake(name: str) -> str:
    """``subOrganizationOf`` -> ``SUB_ORGANIZATION_OF``: the fallback relationship type."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").upper()


def local_name(iri: str) -> str:
    """The part of an IRI after its last ``#`` or ``/``."""
    return re.split(r"[#/]", iri.rstrip("/#"))[-1]


def rel_key(rel_type: str, start: str, end: str, iri: str = "") -> str:
    """The identity of a relationship; the loader computes the same string in Cypher."""
    return _SEP.join((rel_type, start, end, iri))


@dataclass(frozen=True)
class RelSpec:
    """How one object property becomes a relationship."""

    type: str
    inverse: bool = False


@dataclass(frozen=True)
class ProjectionRule:
    """The allow-lists and mappings read from the ontology."""

    labels: dict[str, tuple[str, ...]]  # dip class IRI -> its labels (most specific first)
    merge_label: dict[str, str]  # dip class IRI -> the root label nodes are MERGEd on
    relationships: dict[str, RelSpec]  # object property IRI -> relationship spec
    individuals: frozenset[str]  # named individuals that become string properties
    holds_type: str = HOLDS_POST

    @property
    def allowed_labels(self) -> frozenset[str]:
        """Every label the loader may write."""
        return frozenset(lab for labs in self.labels.values() for lab in labs)

    @property
    def allowed_types(self) -> frozenset[str]:
        """Every relationship type the loader may write."""
        return frozenset({s.type for s in self.relationships.values()} | {REPORTED_IN, self.holds_type})

    @classmethod
    def from_ontology(cls, onto: Graph) -> ProjectionRule:
        """Read labels, relationship types and individuals from the ontology graph."""
        ns = str(DIP)
        classes = sorted(
            str(c) for c in onto.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef) and str(c).startswith(ns)
        )
        value_classes = {str(DIP.EventStatus)}
        node_classes = [c for c in classes if c not in value_classes and c != str(DIP.Position)]
        labels: dict[str, tuple[str, ...]] = {}
        merge_label: dict[str, str] = {}
        for c in node_classes:
            chain = [c]
            frontier = [c]
            while frontier:
                cur = frontier.pop()
                for sup in sorted(onto.objects(URIRef(cur), RDFS.subClassOf)):
                    s = str(sup)
                    if s.startswith(ns) and s in node_classes and s not in chain:
                        chain.append(s)
                        frontier.append(s)
            labs = tuple(local_name(x) for x in chain)
            for lab in labs:
                if not _LABEL_RE.match(lab):
                    raise MappingError(f"ontology class {c} gives an invalid Neo4j label {lab!r}")
            labels[c] = labs
            merge_label[c] = labs[-1]
        rels: dict[str, RelSpec] = {}
        for p in sorted(onto.subjects(RDF.type, OWL.ObjectProperty)):
            if not isinstance(p, URIRef):
                continue
            t = onto.value(p, DIP.neo4jType)
            if t is None and not str(p).startswith(ns):
                continue  # another vocabulary's property, declared only for OWL 2 DL (schema:location)
            rtype = str(t) if t is not None else upper_snake(local_name(str(p)))
            if not _TYPE_RE.match(rtype):
                raise MappingError(f"ontology property {p} gives an invalid relationship type {rtype!r}")
            inv = onto.value(p, DIP.neo4jInverse)
            rels[str(p)] = RelSpec(rtype, bool(inv is not None and inv.toPython() is True))
        individuals = frozenset(str(i) for i in onto.subjects(RDF.type, OWL.NamedIndividual))
        holds = rels.get(str(DIP.holds))
        return cls(labels, merge_label, rels, individuals, holds.type if holds else HOLDS_POST)


def load_ontology(path: Path | None = None) -> Graph:
    """Parse the ontology (the repository's ``ontology/diplomacy.ttl`` by default, with the concept
    scheme ``ontology/plover.ttl``)."""
    candidates = [path] if path else [ONTOLOGY_FILE, _PACKAGED_ONTOLOGY]
    for p in candidates:
        if p is not None and p.is_file():
            g = Graph()
            try:
                g.parse(p, format="turtle")
                if path is None and CONCEPT_SCHEME_FILE.is_file():
                    g.parse(CONCEPT_SCHEME_FILE, format="turtle")
            except Exception as exc:  # rdflib raises many parser exception types
                raise MappingError(f"cannot parse the ontology {p}: {exc}") from exc
            return g
    raise MappingError(f"ontology not found (looked for {', '.join(str(c) for c in candidates)})")


_RULE_CACHE: dict[str, ProjectionRule] = {}


def default_rule() -> ProjectionRule:
    """The rule read from the project ontology, parsed once per process."""
    if "default" not in _RULE_CACHE:
        _RULE_CACHE["default"] = ProjectionRule.from_ontology(load_ontology())
    return _RULE_CACHE["default"]


@dataclass(frozen=True)
class NodeRow:
    """One node to MERGE: its IRI, labels, properties and supporting documents."""

    iri: str
    labels: tuple[str, ...]
    merge_label: str
    props: dict[str, Any]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RelRow:
    """One relationship to MERGE between two projected nodes."""

    type: str
    start: str
    end: str
    props: dict[str, Any]
    sources: tuple[str, ...]
    iri: str = ""  # identifies one of several relationships of a type between two nodes

    @property
    def key(self) -> str:
        return rel_key(self.type, self.start, self.end, self.iri)


@dataclass
class Projection:
    """The property graph derived from one RDF graph."""

    nodes: dict[str, NodeRow] = field(default_factory=dict)
    rels: dict[str, RelRow] = field(default_factory=dict)
    documents: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # triples that could not be projected, explained

    def label_counts(self) -> dict[str, int]:
        """Nodes per label."""
        out: dict[str, int] = defaultdict(int)
        for n in self.nodes.values():
            for lab in n.labels:
                out[lab] += 1
        return dict(out)

    def type_counts(self) -> dict[str, int]:
        """Relationships per type."""
        out: dict[str, int] = defaultdict(int)
        for r in self.rels.values():
            out[r.type] += 1
        return dict(out)


def literal_value(lit: Literal) -> Any:
    """A Neo4j-storable value: dates stay dates, partial dates and lang strings become strings."""
    dt = lit.datatype
    if dt in (XSD.gYear, XSD.gYearMonth) or dt is None:
        return str(lit)
    v = lit.toPython()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bool | int | float | date | datetime | str):
        return v
    return str(lit)


def _prop_value(values: list[Any]) -> Any:
    uniq = sorted(set(values), key=lambda v: (type(v).__name__, str(v)))
    if len(uniq) == 1:
        return uniq[0]
    if len({type(v) for v in uniq}) > 1:  # Neo4j lists are homogeneous
        uniq = sorted({str(v) for v in uniq})
    return uniq


def _names(graph: Graph, s: URIRef) -> tuple[str | None, list[str]]:
    labels = [lab for lab in graph.objects(s, RDFS.label) if isinstance(lab, Literal)]
    alts = [lab for lab in graph.objects(s, SKOS.altLabel) if isinstance(lab, Literal)]

    def rank(lit: Literal) -> tuple[int, str]:
        lang = lit.language or ""
        return ({"ja": 0, "": 1}.get(lang, 2), str(lit))

    labels.sort(key=rank)
    name = str(labels[0]) if labels else None
    names: list[str] = []
    for lit in labels + sorted(alts, key=rank):
        if str(lit) not in names:
            names.append(str(lit))
    return name, names


def project(graph: Graph, rule: ProjectionRule | None = None) -> Projection:
    """Derive the Neo4j nodes and relationships of ``graph`` by the ontology-driven rule."""
    rule = rule or default_rule()
    out = Projection()
    pos_iri = str(DIP.Position)

    # 1. nodes: every subject typed with an allow-listed class
    node_class: dict[str, str] = {}
    positions: set[str] = set()
    for s, c in graph.subject_objects(RDF.type):
        if not isinstance(s, URIRef):
            continue
        if str(c) == pos_iri:
            positions.add(str(s))
        elif str(c) in rule.labels:
            prev = node_class.get(str(s))
            # keep the most specific class when a node states several
            if prev is None or len(rule.labels[str(c)]) > len(rule.labels[prev]):
                node_class[str(s)] = str(c)
    documents = sorted(s for s, c in node_class.items() if c == str(DIP.Document))
    out.documents = documents

    # 2. provenance of each node
    sources: dict[str, set[str]] = defaultdict(set)
    for d in documents:
        sources[d].add(d)
    for s, d in graph.subject_objects(PROV.wasDerivedFrom):
        sources[str(s)].add(str(d))
    for s, d in graph.subject_objects(DIP.mentionedIn):
        sources[str(s)].add(str(d))

    # evidence annotations: body -> [(annotation, document, props)]
    evidence: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for ann in sorted(graph.subjects(RDF.type, OA.Annotation)):
        body = graph.value(ann, OA.hasBody)
        target = graph.value(ann, OA.hasTarget)
        doc = graph.value(target, OA.hasSource) if target is not None else None
        if body is None or doc is None:
            out.skipped.append(f"{ann}: annotation without a body or a target source")
            continue
        props: dict[str, Any] = {"evidence": str(ann)}
        for sel in graph.objects(target, OA.hasSelector):
            for pred, key in ((OA.start, "start"), (OA.end, "end"), (OA.exact, "sentence")):
                v = graph.value(sel, pred)
                if v is not None:
                    props[key] = literal_value(v)
        for pred, key in (
            (DIP.rule, "rule"),
            (DIP.confidence, "confidence"),
            (DIP.extractorVersion, "extractorVersion"),
        ):
            v = graph.value(ann, pred)
            if isinstance(v, Literal):
                props[key] = literal_value(v)
        evidence[str(body)].append((str(ann), str(doc), props))
        sources[str(body)].add(str(doc))

    def src(iri: str) -> tuple[str, ...]:
        return tuple(sorted(sources.get(iri, ())))

    special = {
        RDF.type,
        RDFS.label,
        SKOS.altLabel,
        OWL.sameAs,
        PROV.wasDerivedFrom,
        DIP.holds,
    }
    for iri, cls in sorted(node_class.items()):
        s = URIRef(iri)
        name, names = _names(graph, s)
        props: dict[str, Any] = {"iri": iri, "name": name or local_name(iri), "names": names or [local_name(iri)]}
        wikidata = sorted(str(o)[len(str(WD)) :] for o in graph.objects(s, OWL.sameAs) if str(o).startswith(str(WD)))
        if wikidata:
            props["wikidata"] = wikidata[0]
        values: dict[str, list[Any]] = defaultdict(list)
        for p, o in graph.predicate_objects(s):
            if p in special:
                continue
            if isinstance(o, Literal):
                values[local_name(str(p))].append(literal_value(o))
            elif str(p) in rule.relationships:
                if str(o) in rule.individuals:
                    values[local_name(str(p))].append(local_name(str(o)).lower())
            elif isinstance(o, URIRef):
                values[local_name(str(p))].append(str(o))
        for k, vs in values.items():
            if k in props:
                k = f"{k}_"  # never overwrite iri/name/names
            props[k] = _prop_value(vs)
        out.nodes[iri] = NodeRow(iri, rule.labels[cls], rule.merge_label[cls], props, src(iri))

    def add_rel(row: RelRow) -> None:
        if row.start not in out.nodes or row.end not in out.nodes:
            missing = row.start if row.start not in out.nodes else row.end
            out.skipped.append(f"{row.type} {row.start} -> {row.end}: {missing} is not a typed node")
            return
        out.rels[row.key] = row

    # 3. relationships from object properties
    for p_iri, spec in sorted(rule.relationships.items()):
        if p_iri in (str(DIP.holds), str(DIP.postIn), str(PROV.wasDerivedFrom)):
            continue
        for s, o in sorted(graph.subject_objects(URIRef(p_iri))):
            if str(o) in rule.individuals or str(s) not in node_class:
                continue
            start, end = (str(o), str(s)) if spec.inverse else (str(s), str(o))
            if p_iri == str(DIP.mentionedIn):
                srcs: tuple[str, ...] = (str(o),)
            else:
                srcs = src(str(s))
            add_rel(RelRow(spec.type, start, end, {}, srcs))

    # 4. positions: holder -[HOLDS_POST]-> state or organization
    for holder, pos in sorted(graph.subject_objects(DIP.holds)):
        target = graph.value(pos, DIP.postIn)
        if target is None:
            out.skipped.append(f"{pos}: position without dip:postIn cannot become a {rule.holds_type}")
            continue
        titles = sorted({str(t) for t in graph.objects(pos, DIP.title)}, key=lambda t: (-len(t), t))
        props = {"iri": str(pos), "title": titles[0] if titles else "", "titles": titles}
        label = graph.value(pos, RDFS.label)
        if label is not None:
            props["name"] = str(label)
        ev = sorted(evidence.get(str(pos), []), key=lambda e: (e[1], e[2].get("start", 0)))
        if ev:
            for k in ("sentence", "start", "end", "rule", "confidence"):
                if k in ev[0][2]:
                    props[k] = ev[0][2][k]
        add_rel(RelRow(rule.holds_type, str(holder), str(target), props, src(str(pos)), iri=str(pos)))

    # 5. evidence: REPORTED_IN per annotation, or per prov:wasDerivedFrom without one
    for body in sorted(set(evidence) | {str(s) for s in graph.subjects(PROV.wasDerivedFrom)}):
        if body in positions or body not in node_class:
            continue
        docs_with_ev = set()
        for ann, doc, props in evidence.get(body, []):
            docs_with_ev.add(doc)
            add_rel(RelRow(REPORTED_IN, body, doc, dict(props), (doc,), iri=ann))
        for doc in sorted(graph.objects(URIRef(body), PROV.wasDerivedFrom)):
            if str(doc) not in docs_with_ev:
                add_rel(RelRow(REPORTED_IN, body, str(doc), {}, (str(doc),)))
    for body in evidence:
        if body not in node_class and body not in positions:
            out.skipped.append(f"{body}: evidence for a node that is not in the graph")
    return out


def check_allowed(proj: Projection, rule: ProjectionRule) -> None:
    """Refuse any label or relationship type outside the ontology's allow-list."""
    labels, types = rule.allowed_labels, rule.allowed_types
    for n in proj.nodes.values():
        bad = [lab for lab in n.labels if lab not in labels]
        if bad:
            raise KgError(f"label(s) {bad} of {n.iri} are not in the ontology's allow-list")
    for r in proj.rels.values():
        if r.type not in types:
            raise KgError(f"relationship type {r.type!r} is not in the ontology's allow-list")
