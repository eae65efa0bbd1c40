"""Cross-article event identity: the same meeting or visit reported by several articles is one event.

Two reports are one event when they name the same participants (for a visit: the same visitor
and destination), are of the same kind (a phone call is never merged with talks in person),
their dates overlap (a partial date covers its month or year), and their places are compatible
(equal, or one unknown). Reports without a date are not merged across articles: nothing says
they are the same occasion. The event keeps one value for each detail (the most precise date,
then the most reported; held over planned over possible over cancelled); a report that said
something else keeps its own value on its evidence (dip:reportedStartDate, dip:reportedStatus),
so conflicting details are kept with their sources, never overwritten.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kg.records import DocumentStatements, MeetingStatement, VisitStatement

STATUS_ORDER = ("held", "planned", "possible", "cancelled")


@dataclass(frozen=True)
class EventCluster:
    """The agreed details of an event reported by several articles."""

    key: tuple[str, ...]  # identity used to mint the event's IRI
    event_class: str | None
    start: str | None
    end: str | None
    location: str | None
    status: str
    documents: tuple[str, ...]


def date_range(value: str | None) -> tuple[dt.date, dt.date] | None:
    """The days a (possibly partial) ISO date covers."""
    if not value:
        return None
    try:
        if len(value) == 4:
            y = int(value)
            return dt.date(y, 1, 1), dt.date(y, 12, 31)
        if len(value) == 7:
            y, m = int(value[:4]), int(value[5:7])
            return dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])
        d = dt.date.fromisoformat(value[:10])
        return d, d
    except ValueError:
        return None


def _span(start: str | None, end: str | None) -> tuple[dt.date, dt.date] | None:
    a, b = date_range(start), date_range(end)
    if a is None:
        return None
    return a[0], (b[1] if b else a[1])


def _overlap(x: tuple[dt.date, dt.date], y: tuple[dt.date, dt.date]) -> bool:
    return x[0] <= y[1] and y[0] <= x[1]


def _family(s: MeetingStatement | VisitStatement) -> tuple[str, ...]:
    if isinstance(s, MeetingStatement):
        kind = "call" if s.event_class == "PhoneCall" else "meeting"
        return ("meeting", kind, *sorted(set(s.participants)))
    return ("visit", s.visitor, s.destination or "", )


def _pick_date(values: list[str]) -> str | None:
    if not values:
        return None
    best_len = max(len(v) for v in values)
    precise = [v for v in values if len(v) == best_len]
    counts = Counter(precise)
    return min(counts, key=lambda v: (-counts[v], v))


def _finder(parent: list[int]) -> Callable[[int], int]:
    """Union-find's find over ``parent``, with path halving."""

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    return find


def cluster_events(docs: Iterable[DocumentStatements]) -> dict[tuple[str, int], EventCluster]:
    """(doc_id, statement index) -> the cluster of reports it belongs to, for events reported by 2+ articles."""
    groups: dict[tuple[str, ...], list[tuple[str, int, MeetingStatement | VisitStatement]]] = defaultdict(list)
    for ds in docs:
        for i, s in enumerate(ds.statements):
            if isinstance(s, MeetingStatement | VisitStatement):
                groups[_family(s)].append((ds.article.doc_id, i, s))
    out: dict[tuple[str, int], EventCluster] = {}
    for fam, items in groups.items():
        if len({d for d, _, _ in items}) < 2:
            continue
        parent = list(range(len(items)))
        find = _finder(parent)

        for i, (di, _, si) in enumerate(items):
            for j in range(i + 1, len(items)):
                dj, _, sj = items[j]
                if di == dj:
                    continue
                ri, rj = _span(si.start, si.end), _span(sj.start, sj.end)
                if ri is None or rj is None or not _overlap(ri, rj):
                    continue
                if si.location and sj.location and si.location != sj.location:
                    continue
                parent[find(j)] = find(i)
        clusters: dict[int, list[int]] = defaultdict(list)
        for i in range(len(items)):
            clusters[find(i)].append(i)
        for members in clusters.values():
            docs_in = {items[i][0] for i in members}
            if len(docs_in) < 2:
                continue
            stmts = [items[i][2] for i in members]
            start = _pick_date([s.start for s in stmts if s.start])
            ends = [s.end for s in stmts if s.end and date_range(s.end) and start and s.end > start]
            end = max(ends) if ends else None
            locs = Counter(s.location for s in stmts if s.location)
            location = min(locs, key=lambda k: (-locs[k], not k.startswith("place:"), k)) if locs else None
            status = min((s.status for s in stmts), key=STATUS_ORDER.index)
            cls = None
            if fam[0] == "meeting":
                classes = {s.event_class for s in stmts if isinstance(s, MeetingStatement)}
                cls = "Summit" if "Summit" in classes else sorted(classes)[0]
            key = (*fam, start or "")
            cl = EventCluster(key, cls, start, end, location, status, tuple(sorted(docs_in)))
            for i in members:
                out[(items[i][0], items[i][1])] = cl
    return out
