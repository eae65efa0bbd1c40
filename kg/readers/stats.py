"""Network analytics over a built graph (``kg stats``).

Reads the validated RDF graph (a build's store, see :func:`kg.readers.store.open_build`, or any RDF file) and answers the questions a
reader of diplomacy news asks first: what is in the graph, who met whom (how often, first and
last), who is central, which groups form, which states are most active, and when things happened.
The RDF graph stays the source of truth; networkx graphs are built from it on the fly.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import networkx as nx
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import KgError
from kg.namespaces import DIP, RDF, RDFS
from kg.readers.store import open_build

__all__ = [
    "ENTITY_CLASSES",
    "EVENT_CLASSES",
    "MEETING_CLASSES",
    "PERSON_CLASSES",
    "AnalysisError",
    "CoMeeting",
    "GraphStats",
    "Ranked",
    "StateActivity",
    "class_counts",
    "class_name",
    "comeeting_graph",
    "communities",
    "compute_stats",
    "date_of",
    "label_of",
    "load_graph",
    "node_class",
    "nodes_of",
    "render_text",
    "state_activity",
    "timeline",
]


class AnalysisError(KgError):
    """A graph given to ``kg stats``/``export``/``view`` cannot be read."""


#: The meeting classes (a Summit and a PhoneCall are Meetings).
MEETING_CLASSES: tuple[URIRef, ...] = (DIP.Meeting, DIP.Summit, DIP.PhoneCall)
#: Classes whose members are people.
PERSON_CLASSES: tuple[URIRef, ...] = (DIP.Official, DIP.Person)
#: Named things (not events).
ENTITY_CLASSES: tuple[URIRef, ...] = (DIP.Official, DIP.Person, DIP.State, DIP.Organization, DIP.Place)
#: Things that happen (quotes included: they are said at a time by someone).
EVENT_CLASSES: tuple[URIRef, ...] = (*MEETING_CLASSES, DIP.Visit, DIP.Quote)

# Most specific first: used when a node carries more than one dip: type (e.g. an inferred graph).
_CLASS_PRIORITY: tuple[URIRef, ...] = (
    DIP.Summit,
    DIP.PhoneCall,
    DIP.Meeting,
    DIP.Visit,
    DIP.Quote,
    DIP.Official,
    DIP.Person,
    DIP.State,
    DIP.Organization,
    DIP.Place,
    DIP.Position,
    DIP.Document,
    DIP.EventStatus,
)



# --------------------------------------------------------------------------- reading


def load_graph(path: str | Path) -> Graph:
    """The merged graph of a ``kg build`` output directory (its store) or of one RDF file, opened by
    :func:`kg.readers.store.open_build` (named graphs of TriG / N-Quads files are merged).

    Raises :class:`kg.errors.ReadError` naming the path when it is missing, not a build, damaged
    or not valid RDF.
    """
    with open_build(path) as build:
        return build.graph()


def node_class(graph: Graph, node: Node) -> URIRef | None:
    """The most specific dip: class of ``node`` (its explicit rdf:type), or None."""
    types = set(graph.objects(node, RDF.type))
    for cls in _CLASS_PRIORITY:
        if cls in types:
            return cls
    return None


def class_name(cls: URIRef | None) -> str:
    """The local name of a dip: class (``Official``), or ``""``."""
    if cls is None:
        return ""
    return str(cls).rsplit("#", 1)[-1]


def label_of(graph: Graph, node: Node, lang: str = "ja") -> str:
    """The preferred label of ``node``: rdfs:label in ``lang``, else any label, else the IRI's last segment."""
    labels = list(graph.objects(node, RDFS.label))
    for wanted in (lang, None, ""):
        for label in labels:
            if isinstance(label, Literal) and (label.language == wanted or wanted == ""):
                return str(label)
    text = str(node)
    return text.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def nodes_of(graph: Graph, classes: Iterable[URIRef]) -> list[URIRef]:
    """IRIs whose most specific class is one of ``classes``, sorted for stable output."""
    wanted = set(classes)
    found = {s for cls in wanted for s in graph.subjects(RDF.type, cls) if isinstance(s, URIRef)}
    return sorted(n for n in found if node_class(graph, n) in wanted)


def date_of(graph: Graph, node: Node, prop: URIRef = DIP.startDate) -> str | None:
    """The lexical form of a date property (``2018-05-30``, ``2018-05``, ``2018``), or None."""
    values = sorted(str(v) for v in graph.objects(node, prop) if isinstance(v, Literal))
    return values[0] if values else None


def _status(graph: Graph, node: Node) -> URIRef | None:
    value = graph.value(node, DIP.status)
    return value if isinstance(value, URIRef) else None


def _root_event(graph: Graph, event: URIRef) -> URIRef:
    """Follow dip:partOf to the outermost event of the same kind, so a dinner within talks counts once.

    A meeting that is part of a visit stays a meeting of its own (the visit is another kind).
    """
    kinds = (
        set(MEETING_CLASSES) if node_class(graph, event) in MEETING_CLASSES else {node_class(graph, event)}
    )
    seen = {event}
    current = event
    while True:
        parent = graph.value(current, DIP.partOf)
        if not isinstance(parent, URIRef) or parent in seen or node_class(graph, parent) not in kinds:
            return current
        seen.add(parent)
        current = parent


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CoMeeting:
    """Two persons who took part in the same meeting(s)."""

    a: str
    a_label: str
    b: str
    b_label: str
    count: int
    first: str | None
    last: str | None
    meetings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Ranked:
    """One row of a centrality ranking."""

    iri: str
    label: str
    value: float
    meetings: int


@dataclass(frozen=True)
class StateActivity:
    """How much diplomacy a state did: meetings and visits it or its officials took part in."""

    iri: str
    label: str
    meetings: int
    visits: int
    received: int
    total: int


@dataclass(frozen=True)
class GraphStats:
    """Everything ``kg stats`` reports; :meth:`to_dict` is the ``--format json`` output."""

    source: str
    triples: int
    classes: dict[str, int]
    comeetings: list[CoMeeting]
    degree: list[Ranked]
    betweenness: list[Ranked]
    components: list[list[str]]
    communities: list[list[str]]
    states: list[StateActivity]
    timeline: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (labels inline, IRIs as strings)."""
        return asdict(self)

    def to_json(self) -> str:
        """Pretty JSON, non-ASCII kept readable."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


# --------------------------------------------------------------------------- analytics


def class_counts(graph: Graph) -> dict[str, int]:
    """Number of nodes per class, as prefixed names (``dip:Official``), largest first."""
    counts: Counter[str] = Counter()
    for _, cls in graph.subject_objects(RDF.type):
        if isinstance(cls, URIRef):
            counts[graph.namespace_manager.normalizeUri(cls)] += 1
    return dict(sorted(counts.items(), key=lambda kv: (not kv[0].startswith("dip:"), -kv[1], kv[0])))


def comeeting_graph(graph: Graph, *, include_cancelled: bool = False) -> nx.Graph:
    """The co-meeting network: persons linked when they took part in the same meeting.

    Nodes are person IRIs (``label``, ``cls`` and ``meetings`` = number of meetings attended);
    edges carry ``weight`` (meetings together), ``first``/``last`` (dip:startDate lexical forms)
    and ``meetings`` (event IRIs). Sub-events (dip:partOf) count with their outermost event.
    Cancelled meetings are left out unless ``include_cancelled``.
    """
    people = set(nodes_of(graph, PERSON_CLASSES))
    groups: dict[URIRef, list[URIRef]] = defaultdict(list)
    for event in nodes_of(graph, MEETING_CLASSES):
        if not include_cancelled and _status(graph, event) == DIP.Cancelled:
            continue
        groups[_root_event(graph, event)].append(event)

    net = nx.Graph()
    pair_dates: dict[tuple[str, str], list[str]] = defaultdict(list)
    pair_events: dict[tuple[str, str], set[str]] = defaultdict(set)
    for root, events in sorted(groups.items()):
        attendees: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        dates: list[str] = []
        for event in events:
            present = sorted(str(p) for p in graph.objects(event, DIP.participant) if p in people)
            attendees.update(present)
            pairs.update(combinations(present, 2))
            if (d := date_of(graph, event)) is not None:
                dates.append(d)
        for person in attendees:
            if person not in net:
                node = URIRef(person)
                net.add_node(
                    person, label=label_of(graph, node), cls=class_name(node_class(graph, node)), meetings=0
                )
            net.nodes[person]["meetings"] += 1
        for pair in pairs:
            pair_events[pair].add(str(root))
            pair_dates[pair].extend(dates)
    for (a, b), events in pair_events.items():
        dates = sorted(pair_dates[(a, b)])
        net.add_edge(
            a,
            b,
            weight=len(events),
            first=dates[0] if dates else None,
            last=dates[-1] if dates else None,
            meetings=sorted(events),
        )
    return net


def _comeetings(net: nx.Graph) -> list[CoMeeting]:
    rows = []
    for a, b, data in net.edges(data=True):
        a, b = sorted((a, b), key=lambda n: (net.nodes[n]["label"], n))
        rows.append(
            CoMeeting(
                a=a,
                a_label=net.nodes[a]["label"],
                b=b,
                b_label=net.nodes[b]["label"],
                count=data["weight"],
                first=data["first"],
                last=data["last"],
                meetings=list(data["meetings"]),
            )
        )
    rows.sort(key=lambda r: (-r.count, r.first is None, r.first or "", r.a_label, r.b_label))
    return rows


def _ranking(net: nx.Graph, values: dict[str, float]) -> list[Ranked]:
    rows = [
        Ranked(iri=n, label=net.nodes[n]["label"], value=round(v, 6), meetings=net.nodes[n]["meetings"])
        for n, v in values.items()
    ]
    rows.sort(key=lambda r: (-r.value, -r.meetings, r.label, r.iri))
    return rows


def _groups(net: nx.Graph, groups: Iterable[Iterable[str]]) -> list[list[str]]:
    """Node sets as sorted IRI lists, largest group first, deterministic."""
    out = [sorted(g) for g in groups]
    out.sort(key=lambda g: (-len(g), g))
    return out


def communities(net: nx.Graph) -> list[list[str]]:
    """Communities of the co-meeting network by greedy modularity (weighted, deterministic)."""
    if net.number_of_edges() == 0:
        return _groups(net, ([n] for n in net.nodes))
    found = nx.community.greedy_modularity_communities(net, weight="weight")
    return _groups(net, found)


def _state_of(graph: Graph, actor: Node) -> set[URIRef]:
    """The state(s) an actor stands for: itself if a State, else its dip:represents."""
    if (actor, RDF.type, DIP.State) in graph:
        return {actor} if isinstance(actor, URIRef) else set()
    return {s for s in graph.objects(actor, DIP.represents) if isinstance(s, URIRef)}


def state_activity(graph: Graph, *, include_cancelled: bool = False) -> list[StateActivity]:
    """States ranked by meetings and visits they (or officials who dip:represents them) took part in.

    ``meetings`` counts distinct meetings with the state or one of its officials as participant,
    ``visits`` distinct visits where it or one of its officials was the visitor; ``received``
    (visits whose destination is the state, shown but not ranked on) is informational.
    """
    meetings: dict[URIRef, set[URIRef]] = defaultdict(set)
    visits: dict[URIRef, set[URIRef]] = defaultdict(set)
    received: dict[URIRef, set[URIRef]] = defaultdict(set)

    def live(event: URIRef) -> bool:
        return include_cancelled or _status(graph, event) != DIP.Cancelled

    for event in nodes_of(graph, MEETING_CLASSES):
        if live(event):
            for actor in graph.objects(event, DIP.participant):
                for state in _state_of(graph, actor):
                    meetings[state].add(_root_event(graph, event))
    for visit in nodes_of(graph, (DIP.Visit,)):
        if not live(visit):
            continue
        for actor in graph.objects(visit, DIP.visitor):
            for state in _state_of(graph, actor):
                visits[state].add(visit)
        for dest in graph.objects(visit, DIP.destination):
            states = (
                {dest} if (dest, RDF.type, DIP.State) in graph else set(graph.objects(dest, DIP.locatedIn))
            )
            for state in states:
                if isinstance(state, URIRef):
                    received[state].add(visit)
    rows = []
    for state in nodes_of(graph, (DIP.State,)):
        m, v, r = len(meetings[state]), len(visits[state]), len(received[state])
        rows.append(StateActivity(str(state), label_of(graph, state), m, v, r, m + v))
    rows.sort(key=lambda r: (-r.total, -r.received, r.label, r.iri))
    return rows


def timeline(graph: Graph, *, include_cancelled: bool = False) -> list[dict[str, Any]]:
    """Meetings and visits per month of dip:startDate (``2018-05``; a year-only date stays ``2018``).

    Undated events are counted under ``"unknown"`` (listed last); a sub-event (dip:partOf)
    counts with its outermost event, as in the co-meeting network.
    """
    buckets: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, classes in (("meetings", MEETING_CLASSES), ("visits", (DIP.Visit,))):
        for event in nodes_of(graph, classes):
            if not include_cancelled and _status(graph, event) == DIP.Cancelled:
                continue
            if _root_event(graph, event) != event:
                continue
            start = date_of(graph, event)
            buckets[start[:7] if start else "unknown"][kind] += 1
    keys = sorted(buckets, key=lambda k: (k == "unknown", k))
    return [
        {
            "month": k,
            "meetings": buckets[k]["meetings"],
            "visits": buckets[k]["visits"],
            "total": buckets[k]["meetings"] + buckets[k]["visits"],
        }
        for k in keys
    ]


def compute_stats(graph: Graph, *, source: str = "", include_cancelled: bool = False) -> GraphStats:
    """All ``kg stats`` analytics for ``graph``."""
    net = comeeting_graph(graph, include_cancelled=include_cancelled)
    degree = nx.degree_centrality(net) if len(net) > 1 else {n: 0.0 for n in net}
    betweenness = nx.betweenness_centrality(net, normalized=True)
    return GraphStats(
        source=source,
        triples=len(graph),
        classes=class_counts(graph),
        comeetings=_comeetings(net),
        degree=_ranking(net, degree),
        betweenness=_ranking(net, betweenness),
        components=_groups(net, nx.connected_components(net)),
        communities=communities(net),
        states=state_activity(graph, include_cancelled=include_cancelled),
        timeline=timeline(graph, include_cancelled=include_cancelled),
    )


# --------------------------------------------------------------------------- text output


def _width(text: str) -> int:
    """Display width in a terminal: East Asian wide characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _table(headers: list[str], rows: list[list[Any]], right: set[int] | None = None) -> Iterator[str]:
    """Plain aligned columns that stay aligned with Japanese text."""
    right = right or set()
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        parts = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            parts.append(pad + cell if i in right else cell + pad)
        return "  ".join(parts).rstrip()

    yield fmt(cells[0])
    yield "  ".join("-" * w for w in widths)
    for row in cells[1:]:
        yield fmt(row)


def render_text(stats: GraphStats, *, top: int = 10) -> str:
    """The human-readable report: one aligned table per question."""
    labels: dict[str, str] = {}
    for row in stats.comeetings:
        labels[row.a], labels[row.b] = row.a_label, row.b_label
    for r in stats.degree:
        labels[r.iri] = r.label

    def names(group: list[str]) -> str:
        return "、".join(sorted(labels.get(n, n) for n in group))

    out: list[str] = [f"Graph: {stats.source}  ({stats.triples} triples)", ""]
    out += [
        "Nodes per class",
        *_table(["class", "count"], [[k, v] for k, v in stats.classes.items()], {1}),
        "",
    ]
    out += ["Who met whom (co-meeting network of persons)"]
    if stats.comeetings:
        rows = [[r.a_label, r.b_label, r.count, r.first, r.last] for r in stats.comeetings[:top]]
        out += _table(["person", "person", "meetings", "first", "last"], rows, {2})
    else:
        out.append("(no meeting with two named persons)")
    out.append("")
    for title, ranking in (
        ("Degree centrality", stats.degree),
        ("Betweenness centrality", stats.betweenness),
    ):
        out.append(title)
        if ranking:
            rows = [[i, r.label, f"{r.value:.3f}", r.meetings] for i, r in enumerate(ranking[:top], 1)]
            out += _table(["#", "person", "value", "meetings"], rows, {0, 2, 3})
        else:
            out.append("(empty network)")
        out.append("")
    for title, groups in (
        ("Connected components", stats.components),
        ("Communities (greedy modularity)", stats.communities),
    ):
        out.append(title)
        out += [f"{i:>3}. {names(g)}" for i, g in enumerate(groups[:top], 1)] or ["(none)"]
        out.append("")
    out.append("States by diplomatic activity (meetings + visits by the state or its officials)")
    if stats.states:
        rows = [
            [i, s.label, s.meetings, s.visits, s.total, s.received]
            for i, s in enumerate(stats.states[:top], 1)
        ]
        out += _table(["#", "state", "meetings", "visits", "total", "received"], rows, {0, 2, 3, 4, 5})
    else:
        out.append("(no state)")
    out.append("")
    out.append("Timeline (events per month of dip:startDate)")
    if stats.timeline:
        rows = [[t["month"], t["meetings"], t["visits"], "#" * min(t["total"], 60)] for t in stats.timeline]
        out += _table(["month", "meetings", "visits", ""], rows, {1, 2})
    else:
        out.append("(no meeting or visit)")
    return "\n".join(out) + "\n"
