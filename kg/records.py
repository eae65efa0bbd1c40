"""Typed records passed between pipeline stages.

Articles come in as :class:`Article`; extraction produces :class:`EntityRecord` and
statements (:class:`PositionStatement`, :class:`MeetingStatement`, :class:`VisitStatement`,
:class:`QuoteStatement`), each carrying :class:`Evidence`. Statements serialise to one JSON
object per line (``statements.jsonl``) and load back with :func:`statement_from_dict`, so
statements made by another extractor go through the same mapping, shapes and writers.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

ENTITY_TYPES = ("Person", "Official", "State", "Organization", "Place")
STATUSES = ("held", "planned", "possible", "cancelled")
MEETING_CLASSES = ("Meeting", "Summit", "PhoneCall")


@dataclass(frozen=True)
class Article:
    """One source article, decoded, with its metadata."""

    doc_id: str
    text: str
    published: str | None = None  # ISO date, the reference for relative dates
    url: str | None = None
    urls: tuple[str, ...] = ()
    title: str | None = None
    lang: str = "ja"
    source_path: str | None = None
    sha256: str | None = None
    sources: tuple[str, ...] = ()  # every file or corpus line this text was read from, when copies were merged


@dataclass(frozen=True)
class Evidence:
    """Where a statement was read: the document, the sentence and its character offsets."""

    doc_id: str
    start: int
    end: int
    sentence: str
    rule: str
    confidence: float = 0.8
    extractor_version: str = ""


@dataclass(frozen=True)
class EntityRecord:
    """An entity of a document after resolution: one per real entity."""

    key: str  # document-independent key: "person:Q473239", "state:US", "org:国務省", ...
    type: str  # one of ENTITY_TYPES
    label: str  # the preferred name
    alt_labels: tuple[str, ...] = ()
    wikidata: str | None = None
    iso: str | None = None
    part_of: str | None = None  # key of the parent organization or state
    located_in: str | None = None  # key of the state a place is in
    evidence: tuple[Evidence, ...] = ()

    kind: ClassVar[str] = "entity"


@dataclass(frozen=True)
class PositionStatement:
    holder: str  # entity key
    title: str  # the post as written
    post: str  # canonical post, e.g. 国務長官 for 長官 when the text shows which
    of: str | None  # entity key of the State or Organization
    titles: tuple[str, ...] = ()  # every spelling seen
    evidence: tuple[Evidence, ...] = ()

    kind: ClassVar[str] = "position"


@dataclass(frozen=True)
class MeetingStatement:
    participants: tuple[str, ...]  # entity keys
    event_class: str = "Meeting"  # Meeting | Summit | PhoneCall
    kind_word: str = "会談"
    start: str | None = None  # ISO date, YYYY-MM or YYYY
    end: str | None = None
    location: str | None = None  # entity key of a Place or State
    status: str = "held"
    doc_id: str = ""
    evidence: tuple[Evidence, ...] = ()

    kind: ClassVar[str] = "meeting"


@dataclass(frozen=True)
class VisitStatement:
    visitor: str  # entity key of a Person or State
    destination: str | None  # entity key of a State or Place
    location: str | None = None  # a Place within the destination
    start: str | None = None
    end: str | None = None
    status: str = "held"
    doc_id: str = ""
    evidence: tuple[Evidence, ...] = ()

    kind: ClassVar[str] = "visit"


@dataclass(frozen=True)
class QuoteStatement:
    text: str
    speaker: str | None  # entity key, or None when the speaker is only described
    speaker_description: str | None = None
    date: str | None = None
    doc_id: str = ""
    evidence: tuple[Evidence, ...] = ()

    kind: ClassVar[str] = "quote"


Statement = EntityRecord | PositionStatement | MeetingStatement | VisitStatement | QuoteStatement

_KINDS: dict[str, type] = {
    "entity": EntityRecord,
    "position": PositionStatement,
    "meeting": MeetingStatement,
    "visit": VisitStatement,
    "quote": QuoteStatement,
}


@dataclass(frozen=True)
class DocumentStatements:
    """Everything extracted from one article."""

    article: Article
    entities: tuple[EntityRecord, ...] = ()
    statements: tuple[Statement, ...] = field(default_factory=tuple)


def statement_to_dict(s: Statement) -> dict[str, Any]:
    """A JSON-ready dict with a ``kind`` field naming the record type."""
    d = dataclasses.asdict(s)
    d["kind"] = s.kind
    return d


def statement_from_dict(d: dict[str, Any]) -> Statement:
    """Rebuild a statement from :func:`statement_to_dict` output; raises ValueError when malformed."""
    if not isinstance(d, dict):
        raise ValueError("a statement must be a JSON object")
    kind = d.get("kind")
    cls = _KINDS.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown statement kind {kind!r} (expected one of {', '.join(_KINDS)})")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names - {"kind"}
    if unknown:
        raise ValueError(f"unknown field(s) for a {kind} statement: {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        if f.name == "evidence":
            v = tuple(Evidence(**e) for e in (v or ()))
        elif isinstance(v, list):
            v = tuple(v)
        kwargs[f.name] = v
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad {kind} statement: {exc}") from exc


def dumps_statement(s: Statement) -> str:
    return json.dumps(statement_to_dict(s), ensure_ascii=False, sort_keys=True)


def doc_header(article: Article) -> dict[str, Any]:
    """The ``document`` line that opens each document's block in statements.jsonl."""
    d = dataclasses.asdict(article)
    d.pop("text")
    d["kind"] = "document"
    return d
