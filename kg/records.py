"""Typed records passed between pipeline stages.

Articles come in as :class:`Article`; extraction produces :class:`EntityRecord` and
statements (:class:`PositionStatement`, :class:`MeetingStatement`, :class:`VisitStatement`,
:class:`QuoteStatement`), each carrying :class:`Evidence`. Statements serialise to one JSON
object per line (``statements.jsonl``) and load back with :func:`statement_from_dict`, so
statements made by another extractor go through the same mapping, shapes and writers.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import json
import math
import re
import types
import typing
from collections.abc import Callable
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
            if not isinstance(v, list | None) or not all(isinstance(e, dict) for e in v or ()):
                raise ValueError(f"{kind}: 'evidence' must be a list of objects")
            try:
                v = tuple(record_from_dict(Evidence, e, f"{kind} evidence") for e in (v or ()))
            except TypeError as exc:
                raise ValueError(f"bad {kind} evidence: {exc}") from exc
        elif isinstance(v, list):
            v = tuple(v)
        kwargs[f.name] = v
    try:
        return record_from_dict(cls, kwargs, kind)
    except TypeError as exc:
        raise ValueError(f"bad {kind} statement: {exc}") from exc


_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
#: Fields holding an ISO date, a year-month or a year.
_DATE_FIELDS = frozenset({"start", "end", "date", "published"})


def record_from_dict(cls: type, d: dict[str, Any], what: str) -> Any:
    """``cls(**d)`` after checking each value against the field's type (str, int, float, None, tuples of
    them) and dates that exist; ValueError naming the field otherwise. Lists are taken as tuples. (What
    the shapes check, a confidence between 0 and 1 for one, is left to them.)"""
    hints = _hints(cls)
    unknown = set(d) - set(hints)
    if unknown:
        raise ValueError(f"unknown field(s) for {what}: {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    for name, v in values.items():
        hint = hints[name]
        if not _fits(v, hint):
            raise ValueError(f"{what}: {name!r} must be {_describe(hint)}, got {_show(v)}")
        if name in _DATE_FIELDS and isinstance(v, str) and cls is not Evidence:
            _check_date(v, what, name)
    return cls(**values)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The types of the dataclass fields of ``cls`` (ClassVars left out)."""
    types_ = typing.get_type_hints(cls)
    return {f.name: types_[f.name] for f in dataclasses.fields(cls)}


def _fits(v: Any, hint: Any) -> bool:
    return _checker(hint)(v)


@functools.cache
def _checker(hint: Any) -> Callable[[Any], bool]:
    """A test of whether a value is of type ``hint`` (made once per type: the cache's statements are read
    through it too)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [_checker(h) for h in typing.get_args(hint)]
        return lambda v: any(p(v) for p in parts)
    if hint is type(None):
        return lambda v: v is None
    if origin is tuple:
        item = _checker(typing.get_args(hint)[0])
        return lambda v: isinstance(v, tuple) and all(item(x) for x in v)
    if hint is str:
        return lambda v: isinstance(v, str) and (v.isascii() or not _SURROGATE.search(v))
    if hint is int:
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if hint is float:
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    return lambda v: isinstance(v, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    if origin is tuple:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return {str: "a string", int: "an integer", float: "a finite number", type(None): "null"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _show(v: Any) -> str:
    if isinstance(v, str) and _SURROGATE.search(v):
        return "a string with a lone surrogate (\\ud800-\\udfff), which is no character"
    text = json.dumps(v, ensure_ascii=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_date(v: str, what: str, name: str) -> None:
    if not _DATE.fullmatch(v):
        raise ValueError(f"{what}: {name!r} must be an ISO date, year-month or year, got {_show(v)}")
    try:
        _dt.date.fromisoformat(v if len(v) == 10 else f"{v}-01-01"[:10] if len(v) == 4 else f"{v}-01")
    except ValueError:
        raise ValueError(f"{what}: {name!r} is no date: {_show(v)}") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_statement(s: Statement) -> str:
    return json.dumps(statement_to_dict(s), ensure_ascii=False, sort_keys=True)


def doc_header(article: Article) -> dict[str, Any]:
    """The ``document`` line that opens each document's block in statements.jsonl."""
    d = dataclasses.asdict(article)
    d.pop("text")
    d["kind"] = "document"
    return d
