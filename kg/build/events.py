"""Cross-article event identity: the same meeting or visit reported by several articles is one event.

Two reports are one event when they name the same participants (for a visit: the same visitor
and destination), are of the same kind (a phone call is never merged with talks in person),
their dates overlap (a partial date covers its month or year), and their places are compatible
(equal, or one unknown). Two reports without a date are one event when, besides the same
parties and kind, they name the same class (summit, talks) and the same place (or both none),
and their articles were published at most :data:`UNDATED_WINDOW_DAYS` days apart: a syndicated
story and its rewrites appear within a day or two, while a recurring pairing (two ministers who
talk every month) is more than a few days apart. A report with a date is never merged with one
without. The event keeps one value for each detail (the most precise date, then the most
reported; held over planned over possible over cancelled); a report that said something else
keeps its own value on its evidence (dip:reportedStartDate, dip:reportedStatus), so conflicting
details are kept with their sources, never overwritten.

The reports are grouped by parties and kind, and each group is swept in date order, so the work
grows with the number of reports, not with its square (a report is compared with those still
open at its start date only).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kg.records import DocumentStatements, MeetingStatement, VisitStatement

STATUS_ORDER = ("held", "planned", "possible", "cancelled")

#: Reports without a date, of the same parties, kind, class and place, are one event when their
#: articles were published at most this many days apart.
UNDATED_WINDOW_DAYS = 3


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


@dataclass(frozen=True)
class EventReport:
    """What clustering needs of one meeting or visit statement (not its evidence): a small record, so
    the reports of a whole corpus fit in memory."""

    doc_id: str
    index: int  # the statement's position in its document
    family: tuple[str, ...]
    event_class: str | None
    start: str | None
    end: str | None
    location: str | None
    status: str
    published: str | None  # the article's publication date


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


def _family(s: MeetingStatement | VisitStatement) -> tuple[str, ...]:
    if isinstance(s, MeetingStatement):
        kind = "call" if s.event_class == "PhoneCall" else "meeting"
        return ("meeting", kind, *sorted(set(s.participants)))
    return ("visit", s.visitor, s.destination or "", )


def event_reports(ds: DocumentStatements) -> list[EventReport]:
    """The meeting and visit statements of one document as clustering records."""
    out = []
    for i, s in enumerate(ds.statements):
        if isinstance(s, MeetingStatement | VisitStatement):
            out.append(EventReport(ds.article.doc_id, i, _family(s),
                                   s.event_class if isinstance(s, MeetingStatement) else None,
                                   s.start, s.end, s.location, s.status, ds.article.published))
    return out


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


def _sweep(items: list[EventReport], spans: list[tuple[dt.date, dt.date]],
           compatible: Callable[[EventReport, EventReport], bool]) -> Iterator[tuple[int, int]]:
    """The pairs of reports of different articles whose spans overlap and that are ``compatible``,
    visiting them in start order and comparing each with the reports still open at its start only."""
    order = sorted(range(len(items)), key=lambda i: (spans[i][0], spans[i][1], i))
    open_: list[int] = []
    for i in order:
        start = spans[i][0]
        open_ = [j for j in open_ if spans[j][1] >= start]
        for j in open_:
            if items[j].doc_id != items[i].doc_id and compatible(items[i], items[j]):
                yield j, i
        open_.append(i)


def _dated_ok(a: EventReport, b: EventReport) -> bool:
    return not (a.location and b.location and a.location != b.location)


def _undated_ok(a: EventReport, b: EventReport) -> bool:
    return a.event_class == b.event_class and a.location == b.location


def _cluster_family(fam: tuple[str, ...], items: list[EventReport]) -> Iterator[tuple[EventReport, EventCluster]]:
    """The reports of one family (same parties and kind) that are one event with reports of other
    articles, each with its cluster."""
    if len({r.doc_id for r in items}) < 2:
        return
    window = dt.timedelta(days=UNDATED_WINDOW_DAYS)
    parent = list(range(len(items)))
    find = _finder(parent)
    dated = [i for i, r in enumerate(items) if _span(r.start, r.end) is not None]
    spans = [_span(items[i].start, items[i].end) for i in dated]
    pairs = [(dated[a], dated[b]) for a, b in _sweep([items[i] for i in dated], spans, _dated_ok)]  # type: ignore[arg-type]
    # undated reports: their articles' publication dates, widened by the window, stand for their spans
    undated = [i for i, r in enumerate(items) if _span(r.start, r.end) is None and date_range(r.published)]
    spans = []
    for i in undated:
        d = date_range(items[i].published)[0]  # type: ignore[index]
        spans.append((d, d + window))
    pairs += [(undated[a], undated[b]) for a, b in _sweep([items[i] for i in undated], spans, _undated_ok)]
    for a, b in pairs:
        parent[find(b)] = find(a)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(items)):
        clusters[find(i)].append(i)
    for members in clusters.values():
        docs_in = {items[i].doc_id for i in members}
        if len(docs_in) < 2:
            continue
        stmts = [items[i] for i in members]
        start = _pick_date([s.start for s in stmts if s.start])
        ends = [s.end for s in stmts if s.end and date_range(s.end) and start and s.end > start]
        end = max(ends) if ends else None
        locs = Counter(s.location for s in stmts if s.location)
        location = min(locs, key=lambda k: (-locs[k], not k.startswith("place:"), k)) if locs else None
        status = min((s.status for s in stmts), key=STATUS_ORDER.index)
        cls = None
        if fam[0] == "meeting":
            classes = {s.event_class for s in stmts if s.event_class}
            cls = "Summit" if "Summit" in classes else sorted(classes)[0]
        # an undated event is named by its first article too: two such events of the same parties
        # in different weeks must not share an IRI
        key = (*fam, start or "") if start else (*fam, "", min(docs_in))
        cl = EventCluster(key, cls, start, end, location, status, tuple(sorted(docs_in)))
        for s in stmts:
            yield s, cl


def cluster_reports(reports: Iterable[EventReport]) -> dict[tuple[str, int], EventCluster]:
    """(doc_id, statement index) -> the cluster of reports it belongs to, for events reported by 2+ articles."""
    groups: dict[tuple[str, ...], list[EventReport]] = defaultdict(list)
    for r in reports:
        groups[r.family].append(r)
    return {(s.doc_id, s.index): cl for fam in sorted(groups) for s, cl in _cluster_family(fam, groups[fam])}


class EventTable:
    """The event records of a whole corpus in an on-disk table (sqlite3), not in memory.

    The build adds each article's records as it reads the articles (:meth:`add`), clusters them one
    family (parties and kind) at a time (:meth:`cluster`), and asks for one article's clusters when
    it maps that article (:meth:`clusters_of`): memory holds the reports of one family and the
    clusters of one article, whatever the size of the corpus. The clusters are those
    :func:`cluster_reports` gives for the same records.
    """

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000;"
            "CREATE TABLE report (family TEXT NOT NULL, doc_id TEXT NOT NULL, idx INTEGER NOT NULL,"
            " event_class TEXT, start TEXT, end_ TEXT, location TEXT, status TEXT NOT NULL, published TEXT);"
            "CREATE TABLE member (doc_id TEXT NOT NULL, idx INTEGER NOT NULL, cluster INTEGER NOT NULL);"
            "CREATE TABLE cluster (id INTEGER PRIMARY KEY, value TEXT NOT NULL);")

    def add(self, reports: Iterable[EventReport]) -> None:
        """One article's records (:func:`event_reports`)."""
        self.db.executemany(
            "INSERT INTO report VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(json.dumps(r.family, ensure_ascii=False), r.doc_id, r.index, r.event_class, r.start, r.end,
              r.location, r.status, r.published) for r in reports])

    def cluster(self) -> int:
        """Cluster every family's records and keep each member's cluster; returns how many reports
        belong to an event reported by several articles."""
        db = self.db
        db.execute("CREATE INDEX report_family ON report (family)")
        rows = db.execute("SELECT family, doc_id, idx, event_class, start, end_, location, status, published "
                          "FROM report ORDER BY family, rowid")
        write = self.db.cursor()
        n_members = 0
        cluster_ids: dict[int, tuple[int, EventCluster]] = {}  # id() of a family's clusters -> row id (kept alive)

        def flush(fam: str | None, items: list[EventReport]) -> None:
            nonlocal n_members
            if fam is None:
                return
            members = []
            for s, cl in _cluster_family(items[0].family, items):
                known = cluster_ids.get(id(cl))
                if known is None:
                    write.execute("INSERT INTO cluster (value) VALUES (?)", (_cluster_json(cl),))
                    known = cluster_ids[id(cl)] = (write.lastrowid, cl)  # type: ignore[assignment]
                members.append((s.doc_id, s.index, known[0]))
            write.executemany("INSERT INTO member VALUES (?, ?, ?)", members)
            n_members += len(members)
            cluster_ids.clear()

        fam: str | None = None
        items: list[EventReport] = []
        for row in rows:
            if row[0] != fam:
                flush(fam, items)
                fam, items = row[0], []
            items.append(EventReport(row[1], row[2], tuple(json.loads(row[0])), *row[3:]))
        flush(fam, items)
        db.execute("CREATE INDEX member_doc ON member (doc_id)")
        db.commit()
        return n_members

    def clusters_of(self, doc_id: str) -> dict[int, EventCluster]:
        """Statement index -> cluster, for the statements of ``doc_id`` that report an event other
        articles report too."""
        rows = self.db.execute("SELECT member.idx, cluster.value FROM member JOIN cluster ON cluster.id = member.cluster "
                               "WHERE member.doc_id = ?", (doc_id,))
        return {i: _cluster_from_json(v) for i, v in rows}

    def close(self) -> None:
        self.db.close()


def _cluster_json(c: EventCluster) -> str:
    return json.dumps([list(c.key), c.event_class, c.start, c.end, c.location, c.status, list(c.documents)],
                      ensure_ascii=False)


def _cluster_from_json(value: str) -> EventCluster:
    key, cls, start, end, location, status, docs = json.loads(value)
    return EventCluster(tuple(key), cls, start, end, location, status, tuple(docs))


def cluster_events(docs: Iterable[DocumentStatements]) -> dict[tuple[str, int], EventCluster]:
    """(doc_id, statement index) -> the cluster of reports it belongs to, for events reported by 2+ articles."""
    return cluster_reports(r for ds in docs for r in event_reports(ds))
