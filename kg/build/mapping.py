"""Map statements onto the ontology: deterministic IRIs, one node per entity/event, provenance.

Follows docs/MODEL.md. Every IRI is derived from content (gazetteer ids, normalised names,
hashes of statement keys), never from run order, so rebuilding yields the same triples, and
the Turtle serialisation (sorted by rdflib) is byte-identical. No blank nodes are minted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

from kg.build.eventcodes import link_events, place_code_triples, state_code_triples
from kg.build.events import EventCluster
from kg.errors import MappingError
from kg.namespaces import DIP, OA, PROV, SCHEMA, WD, bind_prefixes
from kg.records import (
    Article,
    DocumentStatements,
    EntityRecord,
    Evidence,
    MeetingStatement,
    PositionStatement,
    QuoteStatement,
    Statement,
    VisitStatement,
)

DEFAULT_BASE = "https://w3id.org/dipkg/id/"
ENTITY_CLASS = {"Person": DIP.Person, "Official": DIP.Official, "State": DIP.State,
                "Organization": DIP.Organization, "Place": DIP.Place}
EVENT_CLASS = {"Meeting": DIP.Meeting, "Summit": DIP.Summit, "PhoneCall": DIP.PhoneCall}
STATUS = {"held": DIP.Held, "planned": DIP.Planned, "possible": DIP.Possible, "cancelled": DIP.Cancelled}
_SEP = re.compile(r"[・･=＝\s]+")
_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]")
_QID = re.compile(r"^Q\d+$")


def norm_key(s: str) -> str:
    """NFKC, separators removed: the normalised form of a name in IRIs."""
    return _SEP.sub("", unicodedata.normalize("NFKC", s))


def _ucschar(cp: int) -> bool:
    """Whether a non-ASCII code point may stand unescaped in an IRI path (RFC 3987 ucschar)."""
    if cp < 0xA0 or 0xD800 <= cp <= 0xF8FF or 0xFDD0 <= cp <= 0xFDEF or 0xFFF0 <= cp <= 0xFFFF:
        return False
    if cp > 0xFFFF:
        plane_low = cp & 0xFFFF
        return plane_low <= 0xFFFD and (cp < 0xE0000 or cp >= 0xE1000) and cp < 0xF0000
    return True


def iri_escape(s: str) -> str:
    """Percent-encode ASCII characters outside the unreserved set; keep other Unicode letters.

    Control characters, white space, format characters, surrogates and code points outside RFC 3987's
    ucschar ranges (variation selectors U+E0100…, noncharacters) are encoded too, so any input gives a
    valid IRI.
    """
    out = []
    for ch in s:
        if ord(ch) < 128:
            out.append(ch if _UNRESERVED.match(ch) else quote(ch, safe=""))
        elif not _ucschar(ord(ch)) or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"):
            out.append(quote(ch.encode("utf-8", "surrogatepass"), safe=""))
        else:
            out.append(ch)
    return "".join(out) or "_"


def _h(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _decimal(value: float) -> str:
    """``value`` to two places in the canonical form of xsd:decimal (0.9, 1, 0.05), as a store keeps it."""
    text = f"{value:.2f}".rstrip("0")
    return text[:-1] if text.endswith(".") else text


def _date(value: str) -> Literal:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return Literal(value, datatype=XSD.date)
    if re.fullmatch(r"\d{4}-\d{2}", value):
        return Literal(value, datatype=XSD.gYearMonth)
    if re.fullmatch(r"\d{4}", value):
        return Literal(value, datatype=XSD.gYear)
    raise MappingError(f"not an ISO date, year-month or year: {value!r}")


class Mapper:
    """Turns documents' statements into RDF triples in one graph."""

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        if not re.match(r"^https?://\S+[/#]$", base):
            raise MappingError(f"the IRI base must be an http(s) IRI ending in / or #, got {base!r}")
        self.base = base

    # -- IRIs -----------------------------------------------------------------------------
    def entity_iri(self, key: str) -> URIRef:
        kind, _, rest = key.partition(":")
        if not rest or kind not in ("person", "state", "org", "place"):
            raise MappingError(f"bad entity key {key!r}: expected person:, state:, org: or place: and a name")
        name = rest if _QID.match(rest) or kind == "state" else norm_key(rest)
        if not name:
            # a name of separators only: its own bytes, all percent-encoded (no normalised name looks like that,
            # since iri_escape writes a literal % as %25)
            return URIRef(f"{self.base}{kind}/{quote(rest.encode('utf-8', 'surrogatepass'), safe='')}")
        return URIRef(f"{self.base}{kind}/{iri_escape(name)}")

    def doc_iri(self, doc_id: str) -> URIRef:
        return URIRef(f"{self.base}doc/{iri_escape(doc_id)}")

    def position_iri(self, s: PositionStatement) -> URIRef:
        return URIRef(f"{self.base}position/{_h(s.holder, s.post, s.of)}")

    def meeting_iri(self, s: MeetingStatement, cluster: EventCluster | None = None) -> URIRef:
        # one article's event is identified within that article; an event several articles report
        # (kg.build.events) by its participants and agreed date
        key = cluster.key if cluster is not None else (sorted(s.participants), s.event_class, s.start, s.doc_id)
        return URIRef(f"{self.base}meeting/{_h(*key)}")

    def visit_iri(self, s: VisitStatement, cluster: EventCluster | None = None) -> URIRef:
        key = cluster.key if cluster is not None else (s.visitor, s.destination, s.location, s.start, s.doc_id)
        return URIRef(f"{self.base}visit/{_h(*key)}")

    def quote_iri(self, s: QuoteStatement) -> URIRef:
        ev = s.evidence[0] if s.evidence else None
        return URIRef(f"{self.base}quote/{_h(s.doc_id, s.text, ev.start if ev else '', s.speaker)}")

    # -- mapping --------------------------------------------------------------------------
    def add_document(self, g: Graph, ds: DocumentStatements,
                     clusters: dict[tuple[str, int], EventCluster] | None = None) -> None:
        """Add one document's entities and statements to ``g``; ``clusters`` (from kg.build.events) makes the
        reports of one event in several articles one node."""
        art = ds.article
        doc = self.doc_iri(art.doc_id)
        self._document(g, art, doc)
        for e in ds.entities:
            self.add_entity(g, e, doc)
        events: list[URIRef] = []
        for i, s in enumerate(ds.statements):
            node = self.add_statement(g, s, doc, (clusters or {}).get((art.doc_id, i)))
            if isinstance(s, MeetingStatement | VisitStatement):
                events.append(node)
        # the PLOVER / CAMEO codes read the parties' states and the place, known once every statement is in
        link_events(g, list(dict.fromkeys(events)))

    def _document(self, g: Graph, art: Article, doc: URIRef) -> None:
        g.add((doc, RDF.type, DIP.Document))
        g.add((doc, RDFS.label, Literal(art.title or art.doc_id, lang=art.lang or "ja")))
        g.add((doc, DCTERMS.identifier, Literal(art.doc_id)))
        for u in art.urls or ((art.url,) if art.url else ()):
            if re.match(r"^https?://[^\s<>\"{}|\\^`]+$", u):
                g.add((doc, SCHEMA.url, URIRef(u)))
        if art.published:
            g.add((doc, DCTERMS.issued, _date(art.published)))
        if art.sha256:
            g.add((doc, DIP.sha256, Literal(art.sha256)))

    def add_entity(self, g: Graph, e: EntityRecord, doc: URIRef) -> None:
        cls = ENTITY_CLASS.get(e.type)
        if cls is None:
            raise MappingError(f"entity {e.key}: unknown type {e.type!r}")
        n = self.entity_iri(e.key)
        # the most specific class only: an Official is not also typed Person
        if cls == DIP.Person and (n, RDF.type, DIP.Official) in g:
            pass
        else:
            if cls == DIP.Official:
                g.remove((n, RDF.type, DIP.Person))
            g.add((n, RDF.type, cls))
        existing = [o for o in g.objects(n, RDFS.label) if isinstance(o, Literal) and o.language == "ja"]
        names = [e.label, *e.alt_labels]
        if not existing:
            g.add((n, RDFS.label, Literal(e.label, lang="ja")))
            pref = e.label
        else:
            pref = str(existing[0])
        for name in names:
            if name and name != pref:
                g.add((n, SKOS.altLabel, Literal(name, lang="ja")))
        if e.wikidata:
            g.add((n, OWL.sameAs, WD[e.wikidata]))
        if e.iso:
            g.add((n, DIP.isoCode, Literal(e.iso)))
        self._codes(g, n, e.key)
        if e.part_of and e.type == "Organization":
            g.add((n, DIP.subOrganizationOf, self.entity_iri(e.part_of)))
        if e.located_in and e.type == "Place":
            g.add((n, DIP.locatedIn, self.entity_iri(e.located_in)))
        g.add((n, DIP.mentionedIn, doc))

    def add_statement(self, g: Graph, s: Statement, doc: URIRef, cluster: EventCluster | None = None) -> URIRef:
        if not s.evidence:
            raise MappingError(f"a {s.kind} statement has no evidence; a fact without evidence cannot enter the graph")
        if isinstance(s, EntityRecord):
            self.add_entity(g, s, doc)
            return self.entity_iri(s.key)
        if isinstance(s, PositionStatement):
            node = self._position(g, s)
        elif isinstance(s, MeetingStatement | VisitStatement):
            reported = {}
            if cluster is not None:
                reported = {k: v for k, v in (("start", s.start), ("end", s.end), ("status", s.status))
                            if v and v != getattr(cluster, k)}
                s = dataclasses.replace(
                    s, start=cluster.start, end=cluster.end, location=cluster.location, status=cluster.status,
                    **({"event_class": cluster.event_class} if isinstance(s, MeetingStatement) and cluster.event_class
                       else {}))
            node = (self._meeting(g, s, cluster) if isinstance(s, MeetingStatement) else self._visit(g, s, cluster))
            g.add((node, PROV.wasDerivedFrom, doc))
            for ev in s.evidence:
                self._evidence(g, node, ev, reported)
            return node
        elif isinstance(s, QuoteStatement):
            node = self._quote(g, s)
        else:  # pragma: no cover - the union is closed
            raise MappingError(f"unknown statement {type(s).__name__}")
        g.add((node, PROV.wasDerivedFrom, doc))
        for ev in s.evidence:
            self._evidence(g, node, ev)
        return node

    def _ensure(self, g: Graph, key: str, default_type: str) -> URIRef:
        n = self.entity_iri(key)
        if (n, RDF.type, None) not in g:
            kind = key.split(":", 1)[0]
            t = {"person": DIP.Person, "state": DIP.State, "org": DIP.Organization, "place": DIP.Place}[kind]
            g.add((n, RDF.type, t))
            g.add((n, RDFS.label, Literal(key.split(":", 1)[1], lang="ja")))
            self._codes(g, n, key)
        return n

    def _codes(self, g: Graph, n: URIRef, key: str) -> None:
        """The event-data codes of a state (ISO alpha-3, COW, G–W) or a city (GeoNames id, coordinates)."""
        kind, _, rest = key.partition(":")
        triples = (state_code_triples(n, rest) if kind == "state" else
                   place_code_triples(n, rest) if kind == "place" else [])
        for t in triples:
            g.add(t)

    def _position(self, g: Graph, s: PositionStatement) -> URIRef:
        p = self.position_iri(s)
        holder = self._ensure(g, s.holder, "Person")
        if (holder, RDF.type, DIP.Person) in g:
            g.remove((holder, RDF.type, DIP.Person))
            g.add((holder, RDF.type, DIP.Official))
        g.add((p, RDF.type, DIP.Position))
        g.add((holder, DIP.holds, p))
        for t in dict.fromkeys((s.title, *s.titles)):
            g.add((p, DIP.title, Literal(t, lang="ja")))
        if s.of:
            of = self._ensure(g, s.of, "Organization")
            g.add((p, DIP.postIn, of))
            label = next((str(o) for o in g.objects(of, RDFS.label)), s.of)
            if not any(True for _ in g.objects(p, RDFS.label)):
                g.add((p, RDFS.label, Literal(f"{s.post} ({label})", lang="ja")))
            state = of if (of, RDF.type, DIP.State) in g else next(
                (o for o in g.objects(of, DIP.subOrganizationOf) if (o, RDF.type, DIP.State) in g), None)
            if state is not None:
                g.add((holder, DIP.represents, state))
        elif not any(True for _ in g.objects(p, RDFS.label)):
            g.add((p, RDFS.label, Literal(s.post, lang="ja")))
        return p

    def _label_of(self, g: Graph, key: str) -> str:
        n = self.entity_iri(key)
        return next((str(o) for o in g.objects(n, RDFS.label)), key.split(":", 1)[1])

    def _meeting(self, g: Graph, s: MeetingStatement, cluster: EventCluster | None = None) -> URIRef:
        cls = EVENT_CLASS.get(s.event_class)
        if cls is None:
            raise MappingError(f"meeting: unknown class {s.event_class!r} (Meeting, Summit or PhoneCall)")
        if len(set(s.participants)) < 2:
            raise MappingError(f"meeting {s.kind_word!r}: needs at least two participants, got {list(s.participants)}")
        m = self.meeting_iri(s, cluster)
        g.add((m, RDF.type, cls))
        parts = [self._ensure(g, k, "Person") for k in sorted(s.participants)]
        for p in parts:
            g.add((m, DIP.participant, p))
        if not any(True for _ in g.objects(m, RDFS.label)):
            names = "・".join(self._label_of(g, k) for k in sorted(s.participants))
            g.add((m, RDFS.label, Literal(f"{names} {s.kind_word}", lang="ja")))
        g.add((m, DIP.kind, Literal(s.kind_word, lang="ja")))
        self._dates(g, m, s.start, s.end)
        if s.location:
            g.add((m, DIP.location, self._ensure(g, s.location, "Place")))
        self._status(g, m, s.status)
        return m

    def _visit(self, g: Graph, s: VisitStatement, cluster: EventCluster | None = None) -> URIRef:
        v = self.visit_iri(s, cluster)
        g.add((v, RDF.type, DIP.Visit))
        g.add((v, DIP.visitor, self._ensure(g, s.visitor, "Person")))
        dest_key = s.destination or s.location
        if dest_key:
            g.add((v, DIP.destination, self._ensure(g, dest_key, "State")))
        if s.location and s.location != dest_key:
            g.add((v, DIP.location, self._ensure(g, s.location, "Place")))
        if not any(True for _ in g.objects(v, RDFS.label)):
            to = self._label_of(g, dest_key) if dest_key else "?"
            g.add((v, RDFS.label, Literal(f"{self._label_of(g, s.visitor)} → {to}", lang="ja")))
        self._dates(g, v, s.start, s.end)
        self._status(g, v, s.status)
        return v

    def _quote(self, g: Graph, s: QuoteStatement) -> URIRef:
        q = self.quote_iri(s)
        g.add((q, RDF.type, DIP.Quote))
        g.add((q, DIP.text, Literal(s.text, lang="ja")))
        short = s.text if len(s.text) <= 30 else s.text[:29] + "…"
        g.add((q, RDFS.label, Literal(f"「{short}」", lang="ja")))
        if s.speaker:
            g.add((q, DIP.speaker, self._ensure(g, s.speaker, "Person")))
        if s.speaker_description:
            g.add((q, DIP.speakerDescription, Literal(s.speaker_description, lang="ja")))
        if s.date:
            g.add((q, DIP.date, _date(s.date)))
        return q

    def _dates(self, g: Graph, n: URIRef, start: str | None, end: str | None) -> None:
        if start and not any(True for _ in g.objects(n, DIP.startDate)):
            g.add((n, DIP.startDate, _date(start)))
        if end and end != start and not any(True for _ in g.objects(n, DIP.endDate)):
            g.add((n, DIP.endDate, _date(end)))

    def _status(self, g: Graph, n: URIRef, status: str) -> None:
        st = STATUS.get(status)
        if st is None:
            raise MappingError(f"unknown status {status!r}: expected held, planned, possible or cancelled")
        old = next(iter(g.objects(n, DIP.status)), None)
        order = [DIP.Held, DIP.Planned, DIP.Possible, DIP.Cancelled]
        if old is None or order.index(st) < order.index(old):  # type: ignore[arg-type]
            if old is not None:
                g.remove((n, DIP.status, old))
            g.add((n, DIP.status, st))

    def _evidence(self, g: Graph, body: URIRef, ev: Evidence, reported: dict[str, str] | None = None) -> None:
        a = URIRef(f"{self.base}evidence/{_h(body, ev.doc_id, ev.start, ev.end, ev.rule)}")
        target, pos, quote_sel = URIRef(f"{a}-target"), URIRef(f"{a}-pos"), URIRef(f"{a}-quote")
        g.add((a, RDF.type, OA.Annotation))
        g.add((a, OA.hasBody, body))
        g.add((a, OA.hasTarget, target))
        g.add((a, DIP.rule, Literal(ev.rule)))
        g.add((a, DIP.confidence, Literal(_decimal(ev.confidence), datatype=XSD.decimal)))
        if ev.extractor_version:
            g.add((a, DIP.extractorVersion, Literal(ev.extractor_version)))
        for k, v in (reported or {}).items():  # what this source said, where the event keeps another value
            if k == "start":
                g.add((a, DIP.reportedStartDate, _date(v)))
            elif k == "end":
                g.add((a, DIP.reportedEndDate, _date(v)))
            elif k == "status":
                g.add((a, DIP.reportedStatus, Literal(v)))
        g.add((target, RDF.type, OA.SpecificResource))
        g.add((target, OA.hasSource, self.doc_iri(ev.doc_id)))
        g.add((target, OA.hasSelector, pos))
        g.add((target, OA.hasSelector, quote_sel))
        g.add((pos, RDF.type, OA.TextPositionSelector))
        g.add((pos, OA.start, Literal(ev.start, datatype=XSD.integer)))  # ≥ 0 (shapes); the store keeps
        g.add((pos, OA.end, Literal(ev.end, datatype=XSD.integer)))  # xsd:integer, not its subtypes
        g.add((quote_sel, RDF.type, OA.TextQuoteSelector))
        g.add((quote_sel, OA.exact, Literal(ev.sentence, lang="ja")))


INSTANCE_PREFIXES = {"person": "person/", "state": "state/", "organization": "org/", "place": "place/",
                     "post": "position/", "meeting": "meeting/", "visit": "visit/", "quote": "quote/",
                     "ev": "evidence/", "doc": "doc/"}


def bind_instance_prefixes(g: Graph, base: str = DEFAULT_BASE) -> Graph:
    """Prefixes for each kind of instance (person:Q473239, meeting:ab12…), so outputs stay readable."""
    for prefix, path in INSTANCE_PREFIXES.items():
        g.bind(prefix, base + path, override=True, replace=True)
    return g


def build_graph(docs: Iterable[DocumentStatements], base: str = DEFAULT_BASE) -> Graph:
    """One graph for all documents, with the project's prefixes bound."""
    g = Graph()
    bind_prefixes(g)
    bind_instance_prefixes(g, base)
    mapper = Mapper(base)
    for ds in docs:
        mapper.add_document(g, ds)
    return g
