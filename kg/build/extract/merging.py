"""Candidate events read by the trigger rules, and their merging into one event per real event.

An article often names one event several times (会談した … 会談では … 両外相の会談は): the candidates
of a meeting with the same parties and class, or of a visit by the same visitor to the same place,
whose dates agree, become one statement with the evidence of each mention.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from kg.records import Evidence, MeetingStatement, VisitStatement

STATUS_ORDER = ("held", "planned", "possible", "cancelled")
#: how many days apart two dated mentions of one event may be
SAME_EVENT_DAYS = {"meeting": 3, "visit": 7}


@dataclass
class EventCandidate:
    """A meeting (``parties`` = its participants) or a visit (``parties`` = the visitor) as one rule read it."""

    kind: str  # meeting | visit
    cls: str
    parties: frozenset[str]
    word: str = ""
    dest: str | None = None
    place: str | None = None
    start: str | None = None
    end: str | None = None
    status: str = "held"
    evidence: list[Evidence] = field(default_factory=list)


def merge_status(a: str, b: str) -> str:
    """The most advanced of two statuses (held before planned before possible before cancelled)."""
    return a if STATUS_ORDER.index(a) <= STATUS_ORDER.index(b) else b


def dates_compatible(a: str | None, b: str | None, days: int = 3) -> bool:
    """Two (possibly partial) dates that may be one event's: within ``days``, or one covering the other."""
    if not a or not b:
        return True
    if len(a) == 10 and len(b) == 10:
        return abs((dt.date.fromisoformat(a) - dt.date.fromisoformat(b)).days) <= days
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _same(x: EventCandidate, y: EventCandidate) -> bool:
    if x.kind != y.kind or x.parties != y.parties or not dates_compatible(x.start, y.start, SAME_EVENT_DAYS[x.kind]):
        return False
    if x.kind == "meeting":
        return x.cls == y.cls
    return x.dest == y.dest or (y.place is not None and x.place == y.place)


def _absorb(into: EventCandidate, c: EventCandidate) -> None:
    into.status = merge_status(into.status, c.status)
    if into.kind == "visit":
        into.place = into.place or c.place
        into.start, into.end = into.start or c.start, into.end or c.end
    else:
        into.place = into.place or c.place
        _widen_dates(into, c)
    for ev in c.evidence:
        if ev not in into.evidence:
            into.evidence.append(ev)


def _widen_dates(into: EventCandidate, c: EventCandidate) -> None:
    """The earliest most precise start; a later full date seen on the way is the end of a multi-day event."""
    s = c.start
    if s and (not into.start or (len(s) >= len(into.start) and s < into.start) or len(s) > len(into.start)):
        into.start = s
    for x in (c.end, c.start):
        if x and len(x) == 10 and into.start and len(into.start) == 10 and x > into.start and (
                not into.end or x > into.end):
            into.end = x


def merge_events(cands: list[EventCandidate]) -> list[EventCandidate]:
    """One event per real event, in the order first mentioned."""
    out: list[EventCandidate] = []
    for c in cands:
        hit = next((e for e in out if _same(e, c)), None)
        if hit is None:
            out.append(c)
        else:
            _absorb(hit, c)
    return out


def meeting_statement(e: EventCandidate, doc_id: str) -> MeetingStatement:
    return MeetingStatement(participants=tuple(sorted(e.parties)), event_class=e.cls, kind_word=e.word,
                            start=e.start, end=e.end if e.end and e.end != e.start else None, location=e.place,
                            status=e.status, doc_id=doc_id, evidence=tuple(e.evidence))


def visit_statement(e: EventCandidate, doc_id: str) -> VisitStatement:
    return VisitStatement(visitor=next(iter(e.parties)), destination=e.dest, location=e.place, start=e.start,
                          end=e.end, status=e.status, doc_id=doc_id, evidence=tuple(e.evidence))
