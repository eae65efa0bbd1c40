"""Event data out (``kg export OUT --format plover|cameo``): one record per real event.

A record is one meeting, summit, phone call or visit node of the graph, so an event reported by
several articles (or by copies of one) is one record, with every report. Its codes are the
concepts the build linked it to (``dip:ploverEvent``, ``dip:ploverMode``, ``dip:cameoCode``,
kg/build/eventcodes.py; computed the same way for a graph that has none). Its parties get the
country codes of their state (``kg/data/codes.json``) and a sector and role read from the post
they held (``kg/data/sectors.json``).

* ``plover``: JSON Lines, one PLOVER record per event, with the field names of the PLOVER manual
  (chapter "Data Fields": ``id``, ``date``, ``enddate``, ``actor``, ``recipient``, ``event``,
  ``mode``, ``context``, ``event_loc``, ``event_text``, ``quad_code``, ``event_scale``,
  ``cite_info``, ``coder``; entity objects with ``code``, ``sector``, ``entity_text``,
  ``identifier_id``, ``identifier_text``, ``office``) and kg's own fields after them
  (``status``, ``num_reports``, ``reports``, ``iri``, ...). The JSON Schema is
  ``kg/data/plover.schema.json``.
* ``cameo``: tab-separated rows with ICEWS's column names (``Event ID``, ``Event Date``,
  ``Source Name``, ``Source Sectors``, ``Source Country``, ``Event Text``, ``CAMEO Code``,
  ``Target …``, ``City``, ``Country``, ``Latitude``, ``Longitude``) and kg's after them.

Events derived from another (``dip:partOf``) are part of that event and get no record of their
own. Cancelled events are left out unless asked for.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS
from rdflib.term import Node

from kg import __version__
from kg.build.eventcodes import (
    EVENT_CLASSES,
    EventCode,
    classify,
    codes,
    host_state,
    place_state,
    states_of,
)
from kg.build.mapping import iri_escape, norm_key
from kg.errors import WriteError
from kg.namespaces import CAMEO, DIP, OA, PLOVER, PROV, SCHEMA, WD
from kg.readers.export import atomic_write
from kg.readers.stats import class_name, date_of, label_of, node_class, nodes_of

__all__ = ["CAMEO_COLUMNS", "CAMEO_DTYPES", "EVENT_FORMATS", "EventRecord", "Party", "cameo_row", "event_records", "export_events",
           "plover_record"]

DATA = Path(__file__).resolve().parent.parent / "data"
EVENT_FORMATS: tuple[str, ...] = ("plover", "cameo")
STATUSES = ("held", "planned", "possible", "cancelled")

#: The columns of ``--format cameo``, in order: ICEWS's names first, then kg's.
CAMEO_COLUMNS: tuple[str, ...] = (
    "Event ID", "Event Date", "Source Name", "Source Sectors", "Source Country", "Event Text", "CAMEO Code",
    "Target Name", "Target Sectors", "Target Country", "City", "Country", "Latitude", "Longitude",
    "End Date", "Date Precision", "Date From", "Status", "Source Code", "Source COW", "Source GW", "Target Code",
    "Target COW", "Target GW", "Source Roles", "Target Roles", "PLOVER Event", "PLOVER Mode", "Quad Class",
    "PLOVER Score", "GeoNames ID", "Num Reports", "Source URLs", "Published", "Sentence", "Event IRI",
)

#: The pandas dtype of every column of ``--format cameo``: read it with
#: ``pandas.read_csv(path, sep="\t", dtype=CAMEO_DTYPES, keep_default_na=False, na_values=[""])``.
#: Codes stay strings (CAMEO ``040`` keeps its zero; several parties on one side are joined with ``;``).
CAMEO_DTYPES: dict[str, str] = {
    **dict.fromkeys(CAMEO_COLUMNS, "string"),
    "Latitude": "float64", "Longitude": "float64", "Quad Class": "int64", "PLOVER Score": "float64",
    "GeoNames ID": "Int64", "Num Reports": "int64",
}


@dataclass(frozen=True)
class Party:
    """One actor or recipient: a person, state or organization, with its codes."""

    iri: str
    name: str
    kind: str  # Official, Person, State, Organization
    code: str | None  # PLOVER country code: ISO alpha-3, or IGO / UNO / EUR / NGO
    sector: str | None  # PLOVER sector code (GOV, MIL, ...)
    role: str | None  # head_of_state, head_of_government, foreign_ministry, military, ...
    office: str | None  # the post's title as written
    wikidata: str | None
    state: str | None  # the state's ISO alpha-2, when the party has one
    country_name: str | None
    iso3: str | None
    cow: int | None
    gw: int | None


@dataclass(frozen=True)
class Report:
    """One article that reported the event."""

    doc_id: str
    title: str
    published: str | None
    urls: tuple[str, ...]
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Location:
    name: str
    iri: str
    resolved: str | None
    geonames: int | None
    lat: float | None
    lon: float | None
    state: str | None
    country_name: str | None
    iso3: str | None
    resolution: int | None  # PLOVER's: 4 a city, 1 a country; None for a place GeoNames did not resolve


@dataclass
class EventRecord:
    """Everything a PLOVER record or a CAMEO row says about one event."""

    iri: str
    cls: str
    status: str
    date: str | None
    enddate: str | None
    date_precision: str | None  # day, month, year; None without a date
    date_from: str | None  # event, or report (the first report's publication date)
    event: str
    modes: list[str]
    cameo: str
    actors: list[Party]
    recipients: list[Party]
    location: Location | None
    reports: list[Report]
    kinds: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "kg-" + self.iri.rstrip("/").rsplit("/", 2)[-2] + "-" + self.iri.rstrip("/").rsplit("/", 1)[-1]


@cache
def _sectors() -> dict[str, Any]:
    return json.loads((DATA / "sectors.json").read_text(encoding="utf-8"))


@cache
def _posts() -> dict[str, dict[str, Any]]:
    rows = json.loads((DATA / "posts.json").read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        for t in (r["title"], r["canonical"]):
            out.setdefault(t, r)
    return out


@cache
def _organizations() -> dict[str, dict[str, Any]]:
    """The gazetteer's organizations by the last segment of their IRI (kg/build/mapping.py's key rule)."""
    rows = json.loads((DATA / "organizations.json").read_text(encoding="utf-8"))
    return {iri_escape(norm_key(r["key"])): r for r in rows}


@cache
def _scheme() -> Graph:
    return Graph().parse(DATA / "plover.ttl", format="turtle")


def _scale(concept: URIRef) -> float | None:
    v = _scheme().value(concept, DIP.eventScale)
    return float(v) if isinstance(v, Literal) else None


def _cameo_label(code: str) -> str:
    return str(_scheme().value(CAMEO[code], SKOS.prefLabel) or "")


def _local(node: Node) -> str:
    return str(node).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _iso(state: Node | None, graph: Graph) -> str | None:
    if state is None:
        return None
    v = graph.value(state, DIP.isoCode)
    return str(v) if v is not None else _local(state)


def _state_fields(iso: str | None) -> dict[str, Any]:
    row = codes()["states"].get(iso or "", {})
    return {"code": row.get("plover"), "country_name": row.get("name"), "iso3": row.get("iso3"),
            "cow": row.get("cow"), "gw": row.get("gw"), "state": iso}


def _org_root(graph: Graph, org: Node) -> tuple[Node, dict[str, Any] | None]:
    """The outermost organization above ``org`` (国連安全保障理事会 -> 国際連合) and its gazetteer row."""
    seen: set[Node] = set()
    cur = org
    while cur not in seen:
        seen.add(cur)
        up = [o for o in graph.objects(cur, DIP.subOrganizationOf) if (o, RDF.type, DIP.Organization) in graph]
        if not up:
            break
        cur = sorted(up)[0]
    return cur, _organizations().get(_local(cur))


def _org_codes(graph: Graph, org: Node) -> tuple[str | None, str | None, str | None]:
    """(code, sector, role) of an organization: its state's code, or IGO / UNO / EUR / NGO."""
    data = _sectors()
    row = _organizations().get(_local(org))
    otype = (row or {}).get("type") or "other"
    sector = data["sector_by_org_type"].get(otype, "") or None
    base = re.sub(r"\(.*\)$", "", (row or {}).get("key", ""))
    role = data["ministry_roles"].get(base) or data["role_by_org_type"].get(otype)
    states = states_of(graph, org)
    if states:
        return _state_fields(_iso(sorted(states)[0], graph))["code"], sector, role
    root, root_row = _org_root(graph, org)
    code = data["code_by_org"].get((root_row or {}).get("key", "")) or data["code_by_org_type"].get(
        (root_row or row or {}).get("type", ""), "IGO")
    return code, sector, role


def _position_rank(graph: Graph, pos: Node) -> tuple[int, str]:
    order = _sectors()["rank_order"]
    best = len(order)
    for t in graph.objects(pos, DIP.title):
        row = _posts().get(str(t))
        if row and row["rank"] in order:
            best = min(best, order.index(row["rank"]))
    return best, str(pos)


def _person(graph: Graph, person: URIRef, report_docs: set[Node]) -> Party:
    """A person with the post it held when the event was reported: the posts the event's own reports
    name first, else any post the graph knows; of several, the highest (kg/data/sectors.json)."""
    data = _sectors()
    positions = sorted(graph.objects(person, DIP.holds))
    reported = [p for p in positions if set(graph.objects(p, PROV.wasDerivedFrom)) & report_docs]
    chosen = min(reported or positions, key=lambda p: _position_rank(graph, p), default=None)
    office = sector = role = None
    iso = code = None
    if chosen is not None:
        titles = sorted(str(t) for t in graph.objects(chosen, DIP.title))
        row = next((_posts()[t] for t in titles if t in _posts()), None)
        office = (row or {}).get("canonical") or (titles[0] if titles else None)
        domain, rank = (row or {}).get("domain", ""), (row or {}).get("rank", "")
        sector = data["sector_by_domain"].get(domain, data["default_sector"]) or None
        role = data["role_by_rank"].get(rank) or data["role_by_domain"].get(domain) or data["default_role"]
        where = graph.value(chosen, DIP.postIn)
        if where is not None and (where, RDF.type, DIP.State) in graph:
            iso = _iso(where, graph)
        elif where is not None:
            code, org_sector, org_role = _org_codes(graph, where)
            if (ministry := data["ministry_roles"].get(re.sub(r"\(.*\)$", "", label_of(graph, where)))) and \
                    role == data["default_role"]:
                role = ministry
            states = states_of(graph, where)
            iso = _iso(sorted(states)[0], graph) if states else None
            if iso is None:  # an international organization's post
                sector, role = org_sector, org_role or role
    if iso is None and code is None:
        rep = sorted(graph.objects(person, DIP.represents))
        iso = _iso(rep[0], graph) if rep else None
    fields = _state_fields(iso)
    if code is not None and iso is None:
        fields["code"] = code
    wd = next((str(o)[len(str(WD)):] for o in graph.objects(person, OWL.sameAs) if str(o).startswith(str(WD))), None)
    return Party(str(person), label_of(graph, person), class_name(node_class(graph, person)), fields["code"],
                 sector, role, office, wd, fields["state"], fields["country_name"], fields["iso3"], fields["cow"],
                 fields["gw"])


def party(graph: Graph, node: URIRef, report_docs: set[Node]) -> Party:
    """The codes of one party of an event."""
    cls = node_class(graph, node)
    if cls in (DIP.Person, DIP.Official):
        return _person(graph, node, report_docs)
    wd = next((str(o)[len(str(WD)):] for o in graph.objects(node, OWL.sameAs) if str(o).startswith(str(WD))), None)
    if cls == DIP.State:
        f = _state_fields(_iso(node, graph))
        return Party(str(node), label_of(graph, node), "State", f["code"], None, "state", None, wd, f["state"],
                     f["country_name"], f["iso3"], f["cow"], f["gw"])
    code, sector, role = _org_codes(graph, node)
    states = states_of(graph, node)
    f = _state_fields(_iso(sorted(states)[0], graph)) if states else {
        "state": None, "country_name": None, "iso3": None, "cow": None, "gw": None}
    return Party(str(node), label_of(graph, node), class_name(cls) or "Organization", code, sector, role, None, wd,
                 f["state"], f["country_name"], f["iso3"], f["cow"], f["gw"])


def _reports(graph: Graph, event: URIRef) -> list[Report]:
    sentences: dict[Node, list[str]] = {}
    for ann in graph.subjects(OA.hasBody, event):
        target = graph.value(ann, OA.hasTarget)
        doc = graph.value(target, OA.hasSource) if target is not None else None
        if doc is None:
            continue
        for sel in graph.objects(target, OA.hasSelector):
            exact = graph.value(sel, OA.exact)
            if exact is not None:
                sentences.setdefault(doc, []).append(str(exact))
    out = []
    for doc in sorted(set(graph.objects(event, PROV.wasDerivedFrom)) | set(sentences)):
        published = date_of(graph, doc, DCTERMS.issued)
        ident = graph.value(doc, DCTERMS.identifier)
        out.append(Report(str(ident) if ident is not None else _local(doc), label_of(graph, doc), published,
                          tuple(sorted(str(u) for u in graph.objects(doc, SCHEMA.url))),
                          tuple(dict.fromkeys(sorted(sentences.get(doc, []))))))
    out.sort(key=lambda r: (r.published is None, r.published or "", r.doc_id))
    return out


def _location(graph: Graph, event: URIRef) -> Location | None:
    where = next(iter(sorted(graph.objects(event, DIP.location))), None)
    if where is None and (event, RDF.type, DIP.Visit) in graph:
        where = next(iter(sorted(graph.objects(event, DIP.destination))), None)
    if where is None:
        return None
    state = place_state(graph, where)
    f = _state_fields(_iso(state, graph))
    gid, lat, lon = (graph.value(where, p) for p in (DIP.geonamesId, DIP.latitude, DIP.longitude))
    city = (where, RDF.type, DIP.Place) in graph
    resolved = codes()["places"].get(_local(where), {}).get("name") if gid is not None else (
        f["country_name"] if not city else None)
    return Location(label_of(graph, where), str(where), resolved, int(gid) if gid is not None else None,
                    float(lat) if lat is not None else None, float(lon) if lon is not None else None,
                    f["state"], f["country_name"], f["iso3"], 4 if gid is not None else (None if city else 1))


def _codes_of(graph: Graph, event: URIRef) -> tuple[str, list[str], str]:
    """(PLOVER category, modes, CAMEO code): the concepts the build linked the event to (every mode its
    reports gave, the most specific CAMEO code), or, in a graph without them, computed the same way."""
    cats = sorted(_local(o) for o in graph.objects(event, DIP.ploverEvent))
    if not cats:
        code: EventCode = classify(graph, event)
        return code.event, [code.mode] if code.mode else [], code.cameo
    modes = sorted(_local(o) for o in graph.objects(event, DIP.ploverMode))
    cameos = sorted(_local(o) for o in graph.objects(event, DIP.cameoCode))
    specific = [c for c in cameos if c != "040"]
    return cats[0], modes, (specific or cameos or ["040"])[0]


def _roles(graph: Graph, event: URIRef, modes: list[str]) -> tuple[list[URIRef], list[URIRef]]:
    """(actors, recipients) as the PLOVER manual codes CONSULT: the visitor acts and the host receives;
    where no side hosts, every party is an actor and there is no recipient."""
    if (event, RDF.type, DIP.Visit) in graph:
        # the host is the state visited (the state a visited place lies in)
        hosts = {place_state(graph, o) for o in graph.objects(event, DIP.destination)} - {None}
        return (sorted(o for o in graph.objects(event, DIP.visitor) if isinstance(o, URIRef)),
                sorted(h for h in hosts if isinstance(h, URIRef)))
    ps = sorted(o for o in graph.objects(event, DIP.participant) if isinstance(o, URIRef))
    host = host_state(graph, event)
    if host is not None and "third-party" not in modes and "multilateral" not in modes:
        home = [p for p in ps if host in states_of(graph, p)]
        away = [p for p in ps if p not in home]
        if home and away:
            return away, home
    return ps, []


def _precision(value: str | None) -> str | None:
    if value is None:
        return None
    return {10: "day", 7: "month", 4: "year"}.get(len(value), "day")


def event_records(graph: Graph, *, include_cancelled: bool = False) -> list[EventRecord]:
    """One record per meeting or visit node of ``graph`` (not those that are part of another event),
    sorted by date and IRI; cancelled ones only when ``include_cancelled``."""
    out = []
    for e in nodes_of(graph, EVENT_CLASSES):
        if any(True for _ in graph.objects(e, DIP.partOf)):
            continue
        status = _local(graph.value(e, DIP.status) or DIP.Held).lower()
        if status == "cancelled" and not include_cancelled:
            continue
        event, modes, cameo = _codes_of(graph, e)
        reports = _reports(graph, e)
        docs: set[Node] = {d for d in graph.objects(e, PROV.wasDerivedFrom)}
        actors, recipients = _roles(graph, e, modes)
        start, end = date_of(graph, e, DIP.startDate), date_of(graph, e, DIP.endDate)
        date_from = "event" if start else None
        if start is None:
            first = next((r.published for r in reports if r.published), None)
            if first is not None:
                start, date_from = first, "report"
        out.append(EventRecord(
            str(e), class_name(node_class(graph, e)), status, start, end, _precision(start), date_from,
            event, modes, cameo, [party(graph, a, docs) for a in actors], [party(graph, r, docs) for r in recipients],
            _location(graph, e), reports, sorted({str(k) for k in graph.objects(e, DIP.kind)}),
        ))
    out.sort(key=lambda r: (r.date or "9999", r.iri))
    return out


def _entity(p: Party) -> dict[str, Any]:
    return {
        "code": p.code, "sector": p.sector, "entity_text": p.name,
        "identifier_id": p.wikidata, "identifier_text": p.name if p.wikidata else None, "office": p.office,
        "country_name": p.country_name, "iso3": p.iso3, "cow": p.cow, "gw": p.gw, "role": p.role,
        "kg_class": p.kind, "iri": p.iri,
    }


def plover_record(r: EventRecord) -> dict[str, Any]:
    """The PLOVER record of one event (field names of the PLOVER manual, then kg's own)."""
    scale = _scale(PLOVER[r.modes[0]]) if len(r.modes) == 1 else None
    if scale is None:
        scale = _scale(PLOVER[r.event])
    loc = r.location
    first = r.reports[0] if r.reports else None
    return {
        "id": r.id,
        "date": r.date,
        "enddate": r.enddate,
        "actor": [_entity(p) for p in r.actors],
        "recipient": [_entity(p) for p in r.recipients],
        "event": [r.event],
        "mode": r.modes,
        "context": ["diplomatic"] + (["negation"] if r.status == "cancelled" else []),
        "event_loc": None if loc is None else {
            "extracted_place": loc.name, "resolved_place": loc.resolved, "geonameid": loc.geonames,
            "lat": loc.lat, "lon": loc.lon, "country": loc.country_name, "country_code": loc.iso3,
            "resolution": loc.resolution, "iri": loc.iri,
        },
        "event_text": sorted({s for rep in r.reports for s in rep.sentences}),
        "quad_code": 1,
        "event_scale": scale,
        "cite_info": None if first is None else {
            "url": first.urls[0] if first.urls else None, "title": first.title, "language": "ja",
            "coder": f"kg {__version__}", "codebook": "PLOVER manual (openeventdata/PLOVER)",
        },
        "coder": f"kg {__version__}",
        "cameo_code": r.cameo,
        "status": r.status,
        "date_precision": r.date_precision,
        "date_from": r.date_from,
        "num_reports": len(r.reports),
        "reports": [{"doc_id": rep.doc_id, "title": rep.title, "published": rep.published, "urls": list(rep.urls),
                     "sentences": list(rep.sentences)} for rep in r.reports],
        "kg_class": r.cls,
        "kind": r.kinds,
        "iri": r.iri,
    }


def _names(ps: list[Party], attr: str) -> str:
    return ";".join(str(getattr(p, attr)) if getattr(p, attr) is not None else "" for p in ps) if any(
        getattr(p, attr) is not None for p in ps) else ""


def cameo_row(r: EventRecord) -> dict[str, str]:
    """The CAMEO row of one event (ICEWS's column names, then kg's). Several parties on one side are
    joined with ``;`` in the same order in every column of that side."""
    loc = r.location
    scale = _scale(PLOVER[r.modes[0]]) if len(r.modes) == 1 else _scale(PLOVER[r.event])
    return {
        "Event ID": r.id, "Event Date": r.date or "",
        "Source Name": _names(r.actors, "name"), "Source Sectors": _names(r.actors, "sector"),
        "Source Country": _names(r.actors, "country_name"),
        "Event Text": _cameo_label(r.cameo), "CAMEO Code": r.cameo,
        "Target Name": _names(r.recipients, "name"), "Target Sectors": _names(r.recipients, "sector"),
        "Target Country": _names(r.recipients, "country_name"),
        "City": "" if loc is None or loc.resolution == 1 else (loc.resolved or loc.name),
        "Country": (loc.country_name or "") if loc else "",
        "Latitude": "" if not loc or loc.lat is None else f"{loc.lat}",
        "Longitude": "" if not loc or loc.lon is None else f"{loc.lon}",
        "End Date": r.enddate or "", "Date Precision": r.date_precision or "", "Date From": r.date_from or "",
        "Status": r.status,
        "Source Code": _names(r.actors, "code"), "Source COW": _names(r.actors, "cow"),
        "Source GW": _names(r.actors, "gw"),
        "Target Code": _names(r.recipients, "code"), "Target COW": _names(r.recipients, "cow"),
        "Target GW": _names(r.recipients, "gw"),
        "Source Roles": _names(r.actors, "role"), "Target Roles": _names(r.recipients, "role"),
        "PLOVER Event": r.event, "PLOVER Mode": ";".join(r.modes), "Quad Class": "1",
        "PLOVER Score": "" if scale is None else f"{scale:g}",
        "GeoNames ID": "" if not loc or loc.geonames is None else str(loc.geonames),
        "Num Reports": str(len(r.reports)),
        "Source URLs": " ".join(u for rep in r.reports for u in rep.urls),
        "Published": " ".join(rep.published or "" for rep in r.reports),
        "Sentence": " | ".join(sorted({s for rep in r.reports for s in rep.sentences})),
        "Event IRI": r.iri,
    }


def _one_line(value: str) -> str:
    """A TSV cell: tabs and line breaks inside a value become spaces, so every row is one line."""
    return re.sub(r"[\t\r\n]+", " ", value)


def write_plover(records: Iterable[EventRecord], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(json.dumps(plover_record(r), ensure_ascii=False, sort_keys=False) + "\n")


def write_cameo(records: Iterable[EventRecord], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CAMEO_COLUMNS, delimiter="\t", lineterminator="\n",
                           quoting=csv.QUOTE_MINIMAL)
        w.writeheader()
        for r in records:
            w.writerow({k: _one_line(v) for k, v in cameo_row(r).items()})


def export_events(graph: Graph, fmt: str, target: str | Path, *, include_cancelled: bool = False) -> list[EventRecord]:
    """Write the events of ``graph`` to ``target`` as ``plover`` (JSON Lines) or ``cameo`` (TSV);
    the file is replaced in one rename. Returns the records written."""
    if fmt not in EVENT_FORMATS:
        raise WriteError(f"{target}: unknown event-data format {fmt!r}; use one of {', '.join(EVENT_FORMATS)}")
    records = event_records(graph, include_cancelled=include_cancelled)
    writer = write_plover if fmt == "plover" else write_cameo
    atomic_write(Path(target), lambda tmp: writer(records, tmp))
    return records


def status_counts(records: Iterable[EventRecord]) -> dict[str, int]:
    """How many records per status, in the order held, planned, possible, cancelled."""
    counts = dict.fromkeys(STATUSES, 0)
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {k: v for k, v in counts.items() if v}

