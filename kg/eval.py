"""Evaluation of extraction against annotated articles: ``kg eval GOLD_DIR``.

Each ``NAME.txt`` with a ``NAME.gold.json`` beside it (the format of docs/EVAL.md) is built on its
own with the public :func:`kg.build.pipeline.build`, the gold's ``published`` being the article's
date; the ``graph.ttl`` it writes is read back with rdflib through the core vocabulary, as any
user of the graph reads it, and what it states is matched to the gold. The matching rules are the
functions under "Matching" below, and docs/EVAL.md states them in prose: they are the ones the
development set is scored with, so that figures measured here and there can be compared.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.term import Node

from kg import jsonio
from kg.errors import EvalError, KgError
from kg.namespaces import DIP, OA

CATEGORIES = ("entities", "positions", "meetings", "visits", "quotes")
STATEMENT_CATEGORIES = CATEGORIES[1:]
ATTRIBUTES = ("entity.type", "meeting.date", "meeting.place", "meeting.status")
ENTITY_TYPES = ("Official", "Person", "State", "Organization", "Place")
PERSON_TYPES = frozenset({"Official", "Person"})
STATUSES = ("held", "planned", "possible", "cancelled")
MEETING_CLASSES = {DIP.Meeting: "Meeting", DIP.Summit: "Summit", DIP.PhoneCall: "PhoneCall"}
ENTITY_CLASSES = {DIP[t]: t for t in ENTITY_TYPES}
STATUS_VALUES = {DIP.Held: "held", DIP.Planned: "planned", DIP.Possible: "possible", DIP.Cancelled: "cancelled"}
#: a gold file larger than this is refused (annotations of one article are a few kilobytes)
MAX_GOLD_BYTES = 4 * 1024 * 1024
#: the share of a gold quote a shorter predicted quote must cover to count
QUOTE_MIN_SHARE = 0.6

_SEPARATORS = re.compile(r"[・･=＝\s\"“”'’「」]")
_GOLD_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_PUBLISHED = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalize(text: str) -> str:
    """A name or quote as compared: NFKC, without the separators and quote marks writers vary
    (・ = spaces 「」 “” '), lower case. ``マイク・ポンペオ`` and ``マイク ポンペオ`` compare equal."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).lower()


# --- gold records ---


@dataclass(frozen=True)
class GoldEntity:
    id: str
    type: str                    # one of ENTITY_TYPES
    names: tuple[str, ...]       # as written
    optional: bool = False

    @property
    def keys(self) -> frozenset[str]:
        """The names as compared."""
        return frozenset(normalize(n) for n in self.names)


@dataclass(frozen=True)
class GoldPosition:
    holder: str
    titles: tuple[str, ...]
    of: frozenset[str]           # any of these reads is right


@dataclass(frozen=True)
class GoldMeeting:
    participants: tuple[str, ...]
    start: str | None = None
    end: str | None = None
    place: str | None = None
    status: str | None = None
    kind: str | None = None
    states: frozenset[str] = frozenset()
    optional_participants: frozenset[str] = frozenset()
    optional: bool = False


@dataclass(frozen=True)
class GoldVisit:
    visitor: str
    destination: str
    place: str | None = None
    start: str | None = None
    end: str | None = None
    status: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class GoldQuote:
    speaker: str
    text: str


@dataclass(frozen=True)
class Gold:
    """One annotated article."""

    path: Path
    text_path: Path
    published: str | None
    entities: dict[str, GoldEntity]
    positions: tuple[GoldPosition, ...] = ()
    meetings: tuple[GoldMeeting, ...] = ()
    visits: tuple[GoldVisit, ...] = ()
    quotes: tuple[GoldQuote, ...] = ()

    @property
    def name(self) -> str:
        return self.text_path.name

    def required(self, category: str) -> int:
        """How many gold items of a category a perfect extraction finds (optional ones excluded)."""
        items: Iterable[object] = self.entities.values() if category == "entities" else getattr(self, category)
        return sum(1 for x in items if not getattr(x, "optional", False))


# --- reading gold files ---


class _Fields:
    """One JSON object of a gold file read key by key; every error names the file and the key."""

    def __init__(self, path: Path, where: str, value: object, known: Iterable[str]) -> None:
        self.path, self.where = path, where
        if not isinstance(value, dict):
            raise self.error(f"must be a JSON object, got {type(value).__name__}")
        self.value: dict = value
        unknown = sorted(set(value) - set(known) - {"note"})
        if unknown:
            raise self.error(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))}, note)")

    def error(self, message: str, key: str | None = None) -> EvalError:
        where = f"{self.where}.{key}" if key and self.where else (key or self.where)
        return EvalError(f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}")

    def string(self, key: str, required: bool = False, pattern: re.Pattern[str] | None = None,
               choices: Iterable[str] | None = None) -> str | None:
        v = self.value.get(key)
        if v is None:
            if required:
                raise self.error("missing", key)
            return None
        if not isinstance(v, str) or not v.strip():
            raise self.error(f"must be a non-empty string, got {v!r}", key)
        if pattern is not None and not pattern.match(v):
            raise self.error(f"not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD): {v!r}", key)
        if choices is not None and v not in choices:
            raise self.error(f"must be one of {', '.join(choices)}, got {v!r}", key)
        return v

    def strings(self, key: str, required: bool = True, one_or_list: bool = False) -> tuple[str, ...]:
        v = self.value.get(key)
        if v is None and not required:
            return ()
        if one_or_list and isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not v or not all(isinstance(s, str) and s.strip() for s in v):
            shape = "a string or a non-empty list of strings" if one_or_list else "a non-empty list of strings"
            raise self.error(f"must be {shape}, got {v!r}", key)
        return tuple(v)

    def flag(self, key: str) -> bool:
        v = self.value.get(key, False)
        if not isinstance(v, bool):
            raise self.error(f"must be true or false, got {v!r}", key)
        return v

    def ids(self, key: str, entities: dict[str, GoldEntity], required: bool = True,
            one_or_list: bool = False, of_type: str | tuple[str, ...] | None = None) -> tuple[str, ...]:
        """Entity ids, each checked to be a key of ``entities`` (and of ``of_type`` when given)."""
        found = self.strings(key, required, one_or_list)
        for i in found:
            if i not in entities:
                raise self.error(f"{i!r} is not an id in 'entities'", key)
            types = (of_type,) if isinstance(of_type, str) else of_type
            if types is not None and entities[i].type not in types:
                raise self.error(f"{i!r} is not a {' or an '.join(types)} (its type is {entities[i].type})", key)
        return found

    def dates(self) -> tuple[str | None, str | None]:
        start = self.string("start", pattern=_GOLD_DATE)
        end = self.string("end", pattern=_GOLD_DATE)
        if end is not None and start is None:
            raise self.error("an 'end' needs a 'start'", "end")
        if start is not None and end is not None and end[:len(start)] < start:
            raise self.error(f"ends ({end}) before it starts ({start})", "end")
        return start, end


def _items(top: _Fields, key: str) -> list[tuple[str, object]]:
    v = top.value.get(key, [])
    if not isinstance(v, list):
        raise top.error(f"must be a list, got {type(v).__name__}", key)
    return [(f"{key}[{n}]", item) for n, item in enumerate(v)]


def _entities(top: _Fields) -> dict[str, GoldEntity]:
    raw = top.value.get("entities")
    if raw is None:
        raise top.error("missing", "entities")
    if not isinstance(raw, dict):
        raise top.error("must be a JSON object of id: entity", "entities")
    entities: dict[str, GoldEntity] = {}
    owner: dict[str, str] = {}
    for gid, value in raw.items():
        f = _Fields(top.path, f"entities.{gid}", value, ("type", "names", "optional", "wikidata", "iso"))
        names = f.strings("names")
        entity = GoldEntity(gid, str(f.string("type", required=True, choices=ENTITY_TYPES)), names,
                            f.flag("optional"))
        for name in names:
            key = normalize(name)
            if not key:
                raise f.error(f"{name!r} has nothing left to compare once separators are removed", "names")
            if owner.get(key, gid) != gid:
                raise f.error(f"{name!r} is also a name of {owner[key]!r} (a name must identify one entity)",
                              "names")
            owner[key] = gid
        entities[gid] = entity
    return entities


def _one_id(f: _Fields, key: str, ents: dict[str, GoldEntity], required: bool = True) -> str | None:
    """One entity id (a string) that must be a key of ``ents``."""
    v = f.value.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str):
        raise f.error(f"must be one entity id (a string), got {v!r}", key)
    return f.ids(key, ents, one_or_list=True)[0]


def _position(f: _Fields, ents: dict[str, GoldEntity]) -> GoldPosition:
    return GoldPosition(str(_one_id(f, "holder", ents)), f.strings("titles"),
                        frozenset(f.ids("of", ents, one_or_list=True)))


def _meeting(f: _Fields, ents: dict[str, GoldEntity]) -> GoldMeeting:
    start, end = f.dates()
    return GoldMeeting(
        participants=f.ids("participants", ents), start=start, end=end, place=_one_id(f, "place", ents, False),
        status=f.string("status", choices=STATUSES), kind=f.string("kind"),
        states=frozenset(f.ids("states", ents, required=False, of_type=("State", "Organization"))),
        optional_participants=frozenset(f.ids("optional_participants", ents, required=False)),
        optional=f.flag("optional"))


def _visit(f: _Fields, ents: dict[str, GoldEntity]) -> GoldVisit:
    start, end = f.dates()
    return GoldVisit(visitor=str(_one_id(f, "visitor", ents)), destination=str(_one_id(f, "destination", ents)),
                     place=_one_id(f, "place", ents, False), start=start, end=end,
                     status=f.string("status", choices=STATUSES), optional=f.flag("optional"))


def _quote(f: _Fields, ents: dict[str, GoldEntity]) -> GoldQuote:
    text = str(f.string("text", required=True))
    if not normalize(text):
        raise f.error("has nothing left to compare once separators are removed", "text")
    return GoldQuote(str(_one_id(f, "speaker", ents)), text)


#: category -> (the keys of one of its items, the function reading one)
_STATEMENT_READERS: dict[str, tuple[tuple[str, ...], Callable[[_Fields, dict[str, GoldEntity]], object]]] = {
    "positions": (("holder", "titles", "of"), _position),
    "meetings": (("participants", "start", "end", "place", "status", "kind", "states", "optional_participants",
                  "optional"), _meeting),
    "visits": (("visitor", "destination", "place", "start", "end", "status", "optional"), _visit),
    "quotes": (("speaker", "text"), _quote),
}


def parse_gold(data: object, path: Path) -> Gold:
    """Check the parsed JSON of ``path`` (NAME.gold.json) and return its records; EvalError naming
    the file and the key when something is wrong. The article is NAME.txt beside it."""
    text_path = path.with_name(path.name.removesuffix(".gold.json") + ".txt")
    top = _Fields(path, "", data, ("doc", "source", "published", "entities", *_STATEMENT_READERS))
    doc = top.string("doc")
    if doc is not None and doc != text_path.name:
        raise top.error(f"names {doc!r}, but the article beside this file is {text_path.name!r}", "doc")
    published = top.string("published")
    if published is not None and not _PUBLISHED.match(published):
        raise top.error(f"not an ISO date (YYYY-MM-DD): {published!r}", "published")
    top.string("source")
    entities = _entities(top)
    parts: dict[str, tuple] = {}
    for category, (keys, read) in _STATEMENT_READERS.items():
        parts[category] = tuple(read(_Fields(path, where, item, keys), entities) for where, item in _items(top, category))
    return Gold(path, text_path, published, entities, **parts)


def load_gold(path: Path) -> Gold:
    """Read and check one NAME.gold.json, and that its article NAME.txt is beside it."""
    try:
        if path.stat().st_size > MAX_GOLD_BYTES:
            raise EvalError(f"{path}: larger than {MAX_GOLD_BYTES // 1024 // 1024} MiB; a gold file annotates one article")
        data = jsonio.loads(path.read_bytes())
    except OSError as exc:
        raise EvalError(f"{path}: cannot read: {exc.strerror}") from exc
    except jsonio.JsonInputError as exc:
        raise EvalError(f"{path}: not valid UTF-8 JSON: {exc}") from exc
    gold = parse_gold(data, path)
    if not gold.text_path.is_file():
        raise EvalError(f"{path}: the article it annotates, {gold.text_path.name}, is not beside it")
    return gold


def find_golds(gold_dir: Path) -> list[Gold]:
    """Every NAME.gold.json in GOLD_DIR (or GOLD_DIR itself when it is one), read and checked."""
    if gold_dir.is_file() and gold_dir.name.endswith(".gold.json"):
        paths = [gold_dir]
    elif gold_dir.is_dir():
        paths = sorted(gold_dir.glob("*.gold.json"))
        if not paths:
            raise EvalError(f"{gold_dir}: no NAME.gold.json files in this folder (see docs/EVAL.md)")
    else:
        raise EvalError(f"{gold_dir}: not a folder of NAME.txt + NAME.gold.json files, nor a .gold.json file")
    return [load_gold(p) for p in paths]


# --- what a build states, read from its graph ---


@dataclass(frozen=True)
class PredEntity:
    node: str
    classes: frozenset[str]      # local names of its entity classes: Official, State, ...
    labels: frozenset[str]       # rdfs:label and skos:altLabel, normalised


@dataclass(frozen=True)
class PredPosition:
    holder: str
    title: str                   # normalised
    of: str | None


@dataclass(frozen=True)
class PredMeeting:
    node: str
    participants: frozenset[str]
    start: str | None            # the lexical form, cut to a date: 2018-05-30, 2018-05, 2018
    locations: frozenset[str]
    status: str | None           # held, planned, possible, cancelled


@dataclass(frozen=True)
class PredVisit:
    node: str
    visitors: frozenset[str]
    destinations: frozenset[str]  # dip:destination and dip:location


@dataclass(frozen=True)
class PredQuote:
    node: str
    speaker: str
    text: str                    # normalised


@dataclass(frozen=True)
class Prediction:
    """The entities and statements of one built graph, in the terms of the core vocabulary."""

    entities: tuple[PredEntity, ...]
    positions: tuple[PredPosition, ...]
    meetings: tuple[PredMeeting, ...]
    visits: tuple[PredVisit, ...]
    quotes: tuple[PredQuote, ...]
    names: dict[str, str]         # node -> a readable name, for reports
    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)  # node -> the rules its evidence names


def _typed(g: Graph, classes: Iterable[URIRef]) -> list[Node]:
    """The nodes typed with any of ``classes``, in the order of their IRIs."""
    return sorted({s for c in classes for s in g.subjects(RDF.type, c)}, key=str)


def _objects(g: Graph, node: Node, *props: URIRef) -> frozenset[str]:
    return frozenset(str(o) for p in props for o in g.objects(node, p))


def _read_entities(g: Graph) -> tuple[tuple[PredEntity, ...], dict[str, str]]:
    entities, names = [], {}
    for node in _typed(g, ENTITY_CLASSES):
        labels = _objects(g, node, RDFS.label, SKOS.altLabel)
        classes = frozenset(ENTITY_CLASSES[o] for o in g.objects(node, RDF.type) if o in ENTITY_CLASSES)
        entities.append(PredEntity(str(node), classes, frozenset(normalize(x) for x in labels)))
        names[str(node)] = min(_objects(g, node, RDFS.label) or labels or {str(node)})
    return tuple(entities), names


def _read_positions(g: Graph) -> tuple[PredPosition, ...]:
    """One per holder, title and post-in of each position node (no post-in: None)."""
    found = {PredPosition(str(h), normalize(str(t)), str(o) if o is not None else None)
             for h, p in g.subject_objects(DIP.holds) for t in g.objects(p, DIP.title)
             for o in (list(g.objects(p, DIP.postIn)) or [None])}
    return tuple(sorted(found, key=lambda p: (p.holder, p.title, p.of or "")))


def _read_meeting(g: Graph, m: Node) -> PredMeeting:
    dates = sorted(_objects(g, m, DIP.startDate))
    statuses = sorted(STATUS_VALUES.get(URIRef(s), s) for s in _objects(g, m, DIP.status))
    return PredMeeting(str(m), _objects(g, m, DIP.participant), dates[0][:10] if dates else None,
                       _objects(g, m, DIP.location), statuses[0] if statuses else None)


def read_prediction(g: Graph) -> Prediction:
    """Entities, positions, meetings, visits and quotes as ``g`` states them (no inference: each
    node is taken by its explicit rdf:type, as the ontology contract promises)."""
    entities, names = _read_entities(g)
    meetings = tuple(_read_meeting(g, m) for m in _typed(g, MEETING_CLASSES))
    visits = tuple(PredVisit(str(v), _objects(g, v, DIP.visitor), _objects(g, v, DIP.destination, DIP.location))
                   for v in _typed(g, [DIP.Visit]))
    quotes = tuple(PredQuote(str(q), s, normalize(t)) for q in _typed(g, [DIP.Quote])
                   for s in sorted(_objects(g, q, DIP.speaker)) for t in sorted(_objects(g, q, DIP.text)))
    rules: dict[str, set[str]] = {}
    for ann, body in g.subject_objects(OA.hasBody):
        for r in g.objects(ann, DIP.rule):
            rules.setdefault(str(body), set()).add(str(r))
    return Prediction(entities, _read_positions(g), meetings, visits, quotes, names,
                      {k: tuple(sorted(v)) for k, v in rules.items()})


# --- scores ---


@dataclass
class Counts:
    """Matches of one category. A duplicate (dup) is a prediction of something already matched."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    dup: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.dup += other.dup

    def record(self, outcome: str) -> str:
        """Count one prediction's outcome (tp, fp, dup; neutral counts nothing) and return it."""
        if outcome in ("tp", "fp", "dup"):
            setattr(self, outcome, getattr(self, outcome) + 1)
        return outcome

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Tally:
    """An attribute's accuracy over the matched items whose gold states it."""

    right: int = 0
    total: int = 0

    def count(self, ok: bool) -> bool:
        self.right += ok
        self.total += 1
        return ok

    @property
    def accuracy(self) -> float | None:
        return self.right / self.total if self.total else None


@dataclass(frozen=True)
class Miss:
    """One difference from the gold, for ``kg eval -v``: ``what`` is e.g. ``meeting FN``."""

    what: str
    detail: str


@dataclass
class DocScore:
    name: str
    counts: dict[str, Counts] = field(default_factory=lambda: {c: Counts() for c in CATEGORIES})
    attributes: dict[str, Tally] = field(default_factory=lambda: {a: Tally() for a in ATTRIBUTES})
    misses: list[Miss] = field(default_factory=list)
    seconds: float = 0.0
    by_rule: dict[str, Counts] = field(default_factory=dict)  # outcomes of the statements each rule read
    error: str | None = None       # the build failed: everything in the gold is missed
    warning: str | None = None     # e.g. the graph did not conform to the shapes (its conforming part is scored)

    def miss(self, what: str, *detail: object) -> None:
        self.misses.append(Miss(what, " ".join(_show(d) for d in detail if d not in ("", None))))

    def credit(self, rules: Iterable[str], outcome: str) -> None:
        """Count a prediction's outcome for each rule whose evidence it carries (kg eval --by-rule)."""
        for r in rules:
            self.by_rule.setdefault(r, Counts()).record(outcome)


def _show(x: object) -> str:
    if isinstance(x, list | tuple | set | frozenset):
        return "[" + ", ".join(sorted(_show(i) for i in x)) + "]"
    return str(x)


# --- matching ---


def type_matches(classes: frozenset[str], gold_type: str) -> bool:
    """An Official or a Person in the gold accepts either class (the text may not say the post)."""
    return bool(classes & PERSON_TYPES) if gold_type in PERSON_TYPES else gold_type in classes


def match_entities(pred: Prediction, gold: Gold, score: DocScore) -> dict[str, str]:
    """Match predicted entities to gold ids by shared names; return node -> gold id.

    An entity whose names hit exactly one gold entity matches it (the first in IRI order is the
    TP, the others are duplicates: FP and dup). One hitting several gold entities merges them: FP,
    unmapped. One hitting nothing is an FP, and one hitting only optional entities is neutral (but
    mapped, so that statements about it can still match).
    """
    counts, mapping, claimed = score.counts["entities"], {}, set()
    keys = {gid: e.keys for gid, e in gold.entities.items()}
    for e in pred.entities:
        hits = {gid for gid, k in keys.items() if e.labels & k}
        real = {gid for gid in hits if not gold.entities[gid].optional}
        if len(hits) > 1:
            if real:
                counts.fp += 1
                score.miss("entity MERGE", sorted(hits), pred.names[e.node])
            continue
        if not hits:
            counts.fp += 1
            score.miss("entity FP", pred.names[e.node], sorted(e.labels - {normalize(pred.names[e.node])}) or "")
            continue
        gid = hits.pop()
        mapping[e.node] = gid
        if not real:
            continue
        if gid in claimed:
            counts.fp += 1
            counts.dup += 1
            score.miss("entity SPLIT", gid, pred.names[e.node])
            continue
        claimed.add(gid)
        counts.tp += 1
        if not score.attributes["entity.type"].count(type_matches(e.classes, gold.entities[gid].type)):
            score.miss("entity type", gid, f"predicted {_show(e.classes)}, gold {gold.entities[gid].type}")
    for gid, ge in gold.entities.items():
        if not ge.optional and gid not in claimed:
            counts.fn += 1
            score.miss("entity FN", gid, ge.names[0])
    return mapping


def title_matches(title: str, gold_titles: Iterable[str]) -> bool:
    """A predicted title (normalised) matches when it equals or contains an accepted spelling:
    朝鮮労働党副委員長 answers to 副委員長."""
    return any(normalize(t) in title for t in gold_titles)


def position_matches(p: tuple[str | None, str, str | None], gp: GoldPosition) -> bool:
    """Same holder, one of the accepted states or organisations, an accepted title."""
    return p[0] == gp.holder and p[2] in gp.of and title_matches(p[1], gp.titles)


def score_positions(pred: Prediction, gold: Gold, mapping: dict[str, str], score: DocScore) -> None:
    """Each gold position takes the first unused matching prediction (by holder, title, of). A
    prediction left over is a duplicate when the gold gives its holder a post for the same state or
    organisation (another spelling, or a repeat), else an FP. Predictions equal once their nodes are
    mapped to gold ids count once."""
    counts = score.counts["positions"]
    preds = sorted({(mapping.get(p.holder), p.title, mapping.get(p.of) if p.of else None) for p in pred.positions},
                   key=lambda p: (p[0] or "", p[1], p[2] or ""))
    used: set[tuple[str | None, str, str | None]] = set()
    for gp in gold.positions:
        hit = next((p for p in preds if p not in used and position_matches(p, gp)), None)
        if hit is None:
            counts.fn += 1
            score.miss("position FN", gp.holder, gp.titles[0], sorted(gp.of))
        else:
            used.add(hit)
            counts.tp += 1
    for p in preds:
        if p in used:
            continue
        if any(p[0] == gp.holder and p[2] in gp.of for gp in gold.positions):
            counts.dup += 1
            score.miss("position dup", p[0], p[1], p[2])
        else:
            counts.fp += 1
            score.miss("position FP", p[0] or "(no gold entity)", p[1], p[2] or "(no gold entity)")


def split_parties(ids: Iterable[str], gold: Gold) -> tuple[set[str], set[str]]:
    """(persons, other parties) among gold entity ids."""
    ids = set(ids)
    persons = {i for i in ids if gold.entities[i].type in PERSON_TYPES}
    return persons, ids - persons


def meeting_matches(parties: set[str], gm: GoldMeeting, gold: Gold) -> bool:
    """Do a predicted meeting's parties (gold ids; unknown entities left out) match a gold meeting?

    Either the named persons match: every gold person is there, and no other person but the
    optional participants; or, when the gold meeting has states (among its participants or in
    ``states``), the predicted states are exactly those and no person is there beyond the gold
    persons and optional participants (a state-level report of the same event); an organization
    in the gold's parties (the EU in a Japan–EU summit) must be among the predicted parties.
    """
    persons, others = split_parties(parties, gold)
    states = {i for i in others if gold.entities[i].type == "State"}
    orgs = {i for i in others if gold.entities[i].type == "Organization"}
    gold_persons, gold_others = split_parties(gm.participants, gold)
    gold_states = gold_others | gm.states
    gold_orgs = {i for i in gold_states if gold.entities[i].type == "Organization"}
    allowed = gold_persons | gm.optional_participants
    if gold_persons and gold_persons <= persons <= allowed:
        return True
    if not gold_states or not persons <= allowed:
        return False
    # an organization (EU, UN, ASEAN) counts as a party only where the gold names one among its parties
    if gold_orgs:
        return states == gold_states - gold_orgs and gold_orgs <= orgs <= gold_orgs | gm.optional_participants
    return states == gold_states


def date_within(predicted: str | None, start: str, end: str | None = None) -> bool:
    """A predicted date is right when it is at least as precise as the gold's start and lies in the
    gold's span: 2018-05-31 is within 2018-05-30..2018-05-31 and within 2018-05, but 2018-05 is not
    right for a gold 2018-05-30."""
    if not predicted or len(predicted) < len(start):
        return False
    cut = len(start)
    return start <= predicted[:cut] <= (end or start)[:cut]


def take(candidates: list[int], matched: set[int], optional: Callable[[int], bool],
         agreement: Callable[[int], int] = lambda i: 0) -> tuple[str, int | None]:
    """What one prediction counts as, given the gold items it matches, marking the one it takes.

    It takes a gold item not yet taken: required items before optional ones, then the one it agrees
    with most (``agreement``: e.g. how many of date, place and status are right), then the first in
    the gold file. ``("tp", i)``, or ``("neutral", i)`` for an optional item; ``("dup", None)`` when
    all its candidates are already taken, ``("fp", None)`` when it matches none.
    """
    free = sorted((i for i in candidates if i not in matched), key=lambda i: (optional(i), -agreement(i), i))
    if free:
        matched.add(free[0])
        return ("neutral" if optional(free[0]) else "tp"), free[0]
    return ("dup" if candidates else "fp"), None


def _ids(nodes: Iterable[str], mapping: dict[str, str], pred: Prediction) -> list[str]:
    """Nodes as a report names them: their gold id, else their label (else the IRI)."""
    return [mapping.get(x) or pred.names.get(x, x) for x in nodes]


def _what(kind: str, outcome: str) -> str:
    """The heading of a miss line: ``meeting FP``, ``meeting dup``."""
    return f"{kind} {'FP' if outcome == 'fp' else outcome}"


def meeting_attributes(pm: PredMeeting, gm: GoldMeeting, mapping: dict[str, str]) -> dict[str, bool]:
    """Which of date, place and status are right, for those the gold meeting states."""
    right: dict[str, bool] = {}
    if gm.start:
        right["meeting.date"] = date_within(pm.start, gm.start, gm.end)
    if gm.place:
        right["meeting.place"] = gm.place in {mapping.get(x) for x in pm.locations}
    if gm.status:
        right["meeting.status"] = pm.status == gm.status
    return right


def _count_attributes(pm: PredMeeting, gm: GoldMeeting, mapping: dict[str, str], score: DocScore) -> None:
    predicted = {"meeting.date": pm.start or "(none)", "meeting.status": pm.status or "(none)",
                 "meeting.place": _show([mapping.get(x) or "(no gold entity)" for x in pm.locations])}
    wanted = {"meeting.date": gm.start + (f"..{gm.end}" if gm.end else "") if gm.start else "",
              "meeting.place": gm.place, "meeting.status": gm.status}
    for attribute, ok in meeting_attributes(pm, gm, mapping).items():
        if not score.attributes[attribute].count(ok):
            score.miss(attribute.replace(".", " "), "+".join(gm.participants),
                       f"predicted {predicted[attribute]}, gold {wanted[attribute]}")


def score_meetings(pred: Prediction, gold: Gold, mapping: dict[str, str], score: DocScore) -> None:
    """Meetings in IRI order each take a gold meeting their parties match (see meeting_matches),
    preferring among several the one whose date, place and status agree most."""
    counts, matched = score.counts["meetings"], set()
    gms = gold.meetings
    for pm in pred.meetings:
        parties = {mapping[x] for x in pm.participants if x in mapping}
        candidates = [i for i, gm in enumerate(gms) if meeting_matches(parties, gm, gold)]
        agreement = {i: sum(meeting_attributes(pm, gms[i], mapping).values()) for i in candidates}
        outcome, taken = take(candidates, matched, lambda i: gms[i].optional, agreement.__getitem__)
        counts.record(outcome)
        score.credit(pred.rules.get(pm.node, ()), outcome)
        if outcome == "tp" and taken is not None:
            _count_attributes(pm, gms[taken], mapping, score)
        elif outcome in ("fp", "dup"):
            score.miss(_what("meeting", outcome), _ids(pm.participants, mapping, pred), pm.start or "")
    for i, gm in enumerate(gms):
        if i not in matched and not gm.optional:
            counts.fn += 1
            score.miss("meeting FN", list(gm.participants), gm.start or "")


def visit_matches(visitors: set[str], destinations: set[str], gv: GoldVisit) -> bool:
    """The gold visitor is among the visitors, and the gold destination or place among the
    destinations and locations (gold ids; unknown entities match nothing)."""
    return gv.visitor in visitors and bool({gv.destination, gv.place} & destinations)


def score_visits(pred: Prediction, gold: Gold, mapping: dict[str, str], score: DocScore) -> None:
    """Visits in IRI order each take a gold visit they match (see visit_matches)."""
    counts, matched = score.counts["visits"], set()
    gvs = gold.visits
    for pv in pred.visits:
        visitors = {mapping[x] for x in pv.visitors if x in mapping}
        destinations = {mapping[x] for x in pv.destinations if x in mapping}
        candidates = [i for i, gv in enumerate(gvs) if visit_matches(visitors, destinations, gv)]
        outcome, _ = take(candidates, matched, lambda i: gvs[i].optional)
        score.credit(pred.rules.get(pv.node, ()), outcome)
        if counts.record(outcome) in ("fp", "dup"):
            score.miss(_what("visit", outcome), _ids(pv.visitors, mapping, pred), "->",
                       _ids(pv.destinations, mapping, pred))
    for i, gv in enumerate(gvs):
        if i not in matched and not gv.optional:
            counts.fn += 1
            score.miss("visit FN", gv.visitor, "->", gv.destination)


def quote_matches(speaker: str | None, text: str, gq: GoldQuote) -> bool:
    """Same speaker, and the predicted words (normalised) contain the gold's, or are a part of them
    covering at least QUOTE_MIN_SHARE of their length."""
    want = normalize(gq.text)
    return speaker == gq.speaker and (want in text or (text in want and len(text) >= QUOTE_MIN_SHARE * len(want)))


def score_quotes(pred: Prediction, gold: Gold, mapping: dict[str, str], score: DocScore) -> None:
    """Quotes (one per speaker and text of each Quote node, in IRI order) each take a gold quote they match."""
    counts, matched = score.counts["quotes"], set()
    for pq in pred.quotes:
        speaker = mapping.get(pq.speaker)
        candidates = [i for i, gq in enumerate(gold.quotes) if quote_matches(speaker, pq.text, gq)]
        outcome, _ = take(candidates, matched, lambda i: False)
        score.credit(pred.rules.get(pq.node, ()), outcome)
        if counts.record(outcome) in ("fp", "dup"):
            score.miss(_what("quote", outcome), _ids([pq.speaker], mapping, pred)[0], pq.text[:40])
    for i, gq in enumerate(gold.quotes):
        if i not in matched:
            counts.fn += 1
            score.miss("quote FN", gq.speaker, gq.text[:40])


def score_graph(g: Graph, gold: Gold, score: DocScore | None = None) -> DocScore:
    """Score one built graph against its gold."""
    score = score or DocScore(gold.name)
    pred = read_prediction(g)
    mapping = match_entities(pred, gold, score)
    for step in (score_positions, score_meetings, score_visits, score_quotes):
        step(pred, gold, mapping, score)
    return score


# --- running ---


def build_article(gold: Gold, workdir: Path) -> tuple[Graph, bool]:
    """Build the article alone, as ``kg build`` would with a sidecar giving the gold's ``published``;
    return its graph.ttl read back, and whether the graph conformed to the shapes."""
    from kg.build.pipeline import build

    inputs, out = workdir / "in", workdir / "out"
    inputs.mkdir()
    article = inputs / gold.text_path.name
    shutil.copyfile(gold.text_path, article)
    if gold.published:
        sidecar = article.with_name(article.stem + ".meta.json")
        sidecar.write_text(json.dumps({"published": gold.published}), encoding="utf-8")
    result = build([inputs], out, jobs=1, use_cache=False)
    return Graph().parse(out / "graph.ttl", format="turtle"), result.conforms


def evaluate_article(gold: Gold) -> DocScore:
    """Build and score one article. A build that fails scores nothing found, with the reason."""
    score = DocScore(gold.name)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="kg-eval-") as tmp:
            graph, conforms = build_article(gold, Path(tmp))
    except Exception as exc:  # one article's failure is a result, not the end of the evaluation
        score.error = str(exc) if isinstance(exc, KgError) else f"{type(exc).__name__}: {exc}"
        for category in CATEGORIES:
            score.counts[category].fn = gold.required(category)
        score.miss("build failed", score.error)
    else:
        score_graph(graph, gold, score)
        if not conforms:
            score.warning = "the graph did not conform to the shapes; its conforming part was scored"
    score.seconds = time.perf_counter() - started
    return score


def evaluate(golds: list[Gold], jobs: int = 1,
             progress: Callable[[int, int, DocScore], None] | None = None) -> EvalReport:
    """Score every gold article; ``jobs`` > 1 builds that many at once in worker processes (each
    loads the Japanese model once). ``progress(done, total, score)`` is called as each finishes."""
    scores: dict[str, DocScore] = {}

    def finished(score: DocScore) -> None:
        scores[score.name] = score
        if progress:
            progress(len(scores), len(golds), score)

    if jobs <= 1 or len(golds) <= 1:
        for gold in golds:
            finished(evaluate_article(gold))
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        pool = cf.ProcessPoolExecutor(max_workers=min(jobs, len(golds)), mp_context=ctx)
        try:
            for fut in cf.as_completed([pool.submit(evaluate_article, g) for g in golds]):
                finished(fut.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    return EvalReport([scores[g.name] for g in golds])


@dataclass
class EvalReport:
    """The scores of every article, and their sums."""

    docs: list[DocScore]

    def totals(self) -> dict[str, Counts]:
        totals = {c: Counts() for c in CATEGORIES}
        for d in self.docs:
            for c in CATEGORIES:
                totals[c].add(d.counts[c])
        return totals

    def by_rule(self) -> dict[str, Counts]:
        """TP, FP and duplicates of the meetings, visits and quotes each rule read, over all articles."""
        out: dict[str, Counts] = {}
        for d in self.docs:
            for r, n in d.by_rule.items():
                out.setdefault(r, Counts()).add(n)
        return dict(sorted(out.items()))

    def render_by_rule(self) -> str:
        """The table ``kg eval --by-rule`` prints: a rule that mostly errs shows at the top."""
        rows = sorted(self.by_rule().items(), key=lambda kv: (-kv[1].fp, kv[0]))
        lines = [f"{'rule':<28}{'TP':>5}{'FP':>5}{'dup':>5}{'P':>7}"]
        lines.extend(f"{r:<28}{n.tp:5d}{n.fp:5d}{n.dup:5d}{n.precision:7.3f}" for r, n in rows)
        return "\n".join(lines)

    def attributes(self) -> dict[str, Tally]:
        return {a: Tally(sum(d.attributes[a].right for d in self.docs), sum(d.attributes[a].total for d in self.docs))
                for a in ATTRIBUTES}

    @property
    def entity_f1(self) -> float:
        return round(self.totals()["entities"].f1, 3)

    @property
    def statement_f1(self) -> float:
        """The mean of the F1 of positions, meetings, visits and quotes (each rounded to 3 places
        first); a category with nothing in the gold and nothing predicted counts 0."""
        totals = self.totals()
        return round(sum(round(totals[c].f1, 3) for c in STATEMENT_CATEGORIES) / len(STATEMENT_CATEGORIES), 3)

    def summary(self) -> dict:
        """The JSON summary written by ``kg eval --json``."""
        out: dict = {c: _counts_json(n) for c, n in self.totals().items()}
        for a, t in self.attributes().items():
            out[a] = round(t.accuracy, 3) if t.accuracy is not None else None
        out["entity_f1"] = self.entity_f1
        out["statement_f1"] = self.statement_f1
        out["failures"] = [[d.name, d.error] for d in self.docs if d.error]
        out["per_doc"] = {d.name: {c: round(d.counts[c].f1, 3) for c in CATEGORIES} for d in self.docs}
        out["per_doc_counts"] = {d.name: {c: _counts_json(d.counts[c]) for c in CATEGORIES} for d in self.docs}
        out["by_rule"] = {r: {"tp": n.tp, "fp": n.fp, "dup": n.dup} for r, n in self.by_rule().items()}
        return out

    def render(self, verbose: bool = False) -> str:
        """The table ``kg eval`` prints; with ``verbose``, each document's misses first."""
        lines: list[str] = []
        if verbose:
            for d in self.docs:
                lines.append(f"== {d.name} ({d.seconds:.1f}s)")
                lines.extend(f"    {m.what:<15} {m.detail}" for m in d.misses)
        lines.append(f"{'category':<11}{'P':>7}{'R':>7}{'F1':>7}{'TP':>5}{'FP':>5}{'FN':>5}{'dup':>5}")
        for c, n in self.totals().items():
            lines.append(f"{c:<11}{n.precision:7.3f}{n.recall:7.3f}{n.f1:7.3f}{n.tp:5d}{n.fp:5d}{n.fn:5d}{n.dup:5d}")
        for a, t in self.attributes().items():
            acc = f"{t.accuracy:.3f}" if t.accuracy is not None else "-"
            lines.append(f"{a:<16}{f'{t.right}/{t.total}':>9}  {acc}")
        for d in self.docs:
            if d.error:
                lines.append(f"FAILED {d.name}: {d.error}")
            if d.warning:
                lines.append(f"WARNING {d.name}: {d.warning}")
        failed = sum(1 for d in self.docs if d.error)
        lines.append(f"docs={len(self.docs)} failed={failed} entity_f1={self.entity_f1:.3f} "
                     f"statement_f1={self.statement_f1:.3f}")
        return "\n".join(lines)


def _counts_json(n: Counts) -> dict[str, float | int]:
    return {"p": round(n.precision, 3), "r": round(n.recall, 3), "f1": round(n.f1, 3),
            "tp": n.tp, "fp": n.fp, "fn": n.fn, "dup": n.dup}
