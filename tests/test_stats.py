"""Tests of kg.readers.stats and kg.readers.export: counts, co-meetings, rankings, JSON output, Gephi export."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph, URIRef

from kg.cli import main
from kg.errors import ReadError
from kg.namespaces import DIP, RDF
from kg.readers.export import export_graph, to_networkx
from kg.readers.stats import comeeting_graph, compute_stats, load_graph, render_text

ID = "https://w3id.org/dipkg/id/"

#: A small graph written by hand after docs/MODEL.md, with known answers:
#: Pompeo met Kim Yong Chol twice (dinner 30th, talks 31st), Lavrov met Kim Jong Un once and
#: phoned Pompeo once (2018-06, a partial date); a planned summit has only states as participants;
#: a cancelled meeting and a dinner that is part of the talks must not count twice.
MINI_TTL = """
@prefix dip: <https://w3id.org/dipkg/ontology#> .
@base <https://w3id.org/dipkg/id/> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <https://schema.org/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<doc/d1> a dip:Document ; rdfs:label "d1"@ja ; dcterms:identifier "d1" ;
    schema:url <https://d1021.hatenadiary.com> ; dcterms:issued "2018-06-01"^^xsd:date .

<state/US> a dip:State ; rdfs:label "アメリカ"@ja ; skos:altLabel "米国"@ja ; dip:isoCode "US" .
<state/KP> a dip:State ; rdfs:label "北朝鮮"@ja ; dip:isoCode "KP" .
<state/RU> a dip:State ; rdfs:label "ロシア"@ja ; dip:isoCode "RU" .
<org/朝鮮労働党> a dip:Organization ; rdfs:label "朝鮮労働党"@ja ; dip:subOrganizationOf <state/KP> .
<place/ニューヨーク> a dip:Place ; rdfs:label "ニューヨーク"@ja ; dip:locatedIn <state/US> .
<place/ピョンヤン> a dip:Place ; rdfs:label "ピョンヤン"@ja ; dip:locatedIn <state/KP> .

<person/Q473239> a dip:Official ; rdfs:label "ポンペオ"@ja ; skos:altLabel "ポンペイオ"@ja ;
    dip:holds <position/p1> ; dip:represents <state/US> ; dip:mentionedIn <doc/d1> .
<person/キムヨンチョル> a dip:Official ; rdfs:label "キム・ヨンチョル"@ja ;
    dip:holds <position/p2> ; dip:represents <state/KP> .
<person/ラブロフ> a dip:Official ; rdfs:label "ラブロフ"@ja ;
    dip:holds <position/p3> ; dip:represents <state/RU> .
<person/キムジョンウン> a dip:Official ; rdfs:label "金正恩"@ja ; dip:represents <state/KP> .
<person/アンドリューキム> a dip:Person ; rdfs:label "アンドリュー・キム"@ja .

<position/p1> a dip:Position ; rdfs:label "国務長官 (アメリカ)"@ja ; dip:title "国務長官"@ja ;
    dip:postIn <state/US> ; prov:wasDerivedFrom <doc/d1> .
<position/p2> a dip:Position ; rdfs:label "副委員長 (朝鮮労働党)"@ja ; dip:title "副委員長"@ja ;
    dip:postIn <org/朝鮮労働党> ; prov:wasDerivedFrom <doc/d1> .
<position/p3> a dip:Position ; rdfs:label "外相 (ロシア)"@ja ; dip:title "外相"@ja ;
    dip:postIn <state/RU> ; prov:wasDerivedFrom <doc/d1> .

<meeting/m1> a dip:Meeting ; rdfs:label "ポンペオ・キム・ヨンチョル 夕食会"@ja ; dip:kind "夕食会"@ja ;
    dip:participant <person/Q473239>, <person/キムヨンチョル> ;
    dip:startDate "2018-05-30"^^xsd:date ; dip:location <place/ニューヨーク> ; dip:status dip:Held ;
    prov:wasDerivedFrom <doc/d1> .
<meeting/m2> a dip:Meeting ; rdfs:label "ポンペオ・キム・ヨンチョル 会談"@ja ; dip:kind "会談"@ja ;
    dip:participant <person/Q473239>, <person/キムヨンチョル> ;
    dip:startDate "2018-05-31"^^xsd:date ; dip:location <place/ニューヨーク> ; dip:status dip:Held ;
    prov:wasDerivedFrom <doc/d1> .
<meeting/m2a> a dip:Meeting ; rdfs:label "会談の昼食会"@ja ; dip:kind "昼食会"@ja ;
    dip:participant <person/Q473239>, <person/キムヨンチョル> ; dip:partOf <meeting/m2> ;
    dip:startDate "2018-05-31"^^xsd:date ; dip:status dip:Held ; prov:wasDerivedFrom <doc/d1> .
<meeting/m3> a dip:Meeting ; rdfs:label "ラブロフ・金正恩 会談"@ja ; dip:kind "会談"@ja ;
    dip:participant <person/ラブロフ>, <person/キムジョンウン> ;
    dip:startDate "2018-05-31"^^xsd:date ; dip:location <place/ピョンヤン> ; dip:status dip:Held ;
    prov:wasDerivedFrom <doc/d1> .
<meeting/m4> a dip:PhoneCall ; rdfs:label "ポンペオ・ラブロフ 電話会談"@ja ; dip:kind "電話会談"@ja ;
    dip:participant <person/Q473239>, <person/ラブロフ> ;
    dip:startDate "2018-06"^^xsd:gYearMonth ; dip:status dip:Held ; prov:wasDerivedFrom <doc/d1> .
<meeting/s1> a dip:Summit ; rdfs:label "米朝首脳会談"@ja ; dip:kind "首脳会談"@ja ;
    dip:participant <state/US>, <state/KP> ;
    dip:startDate "2018-06-12"^^xsd:date ; dip:status dip:Planned ; prov:wasDerivedFrom <doc/d1> .
<meeting/x1> a dip:Meeting ; rdfs:label "中止された会談"@ja ; dip:kind "会談"@ja ;
    dip:participant <person/アンドリューキム>, <person/Q473239> ;
    dip:startDate "2018-05-20"^^xsd:date ; dip:status dip:Cancelled ; prov:wasDerivedFrom <doc/d1> .

<visit/v1> a dip:Visit ; rdfs:label "ラブロフ → 北朝鮮"@ja ;
    dip:visitor <person/ラブロフ> ; dip:destination <state/KP> ; dip:location <place/ピョンヤン> ;
    dip:startDate "2018-05-31"^^xsd:date ; dip:status dip:Held ; prov:wasDerivedFrom <doc/d1> .
<visit/v2> a dip:Visit ; rdfs:label "ポンペオ → 北朝鮮"@ja ;
    dip:visitor <person/Q473239> ; dip:destination <state/KP> ;
    dip:startDate "2018-05"^^xsd:gYearMonth ; dip:status dip:Held ; prov:wasDerivedFrom <doc/d1> .

<quote/q1> a dip:Quote ; rdfs:label "「とてもよかった」"@ja ; dip:speaker <person/Q473239> ;
    dip:text "とてもよかった"@ja ; dip:date "2018-05-31"^^xsd:date ; prov:wasDerivedFrom <doc/d1> .

<evidence/e1> a oa:Annotation ; oa:hasBody <meeting/m1> ;
    oa:hasTarget <evidence/e1#target> ;
    dip:rule "meeting.comitative" ; dip:confidence 0.85 ; dip:extractorVersion "0.1.0" .
<evidence/e1#target> a oa:SpecificResource ; oa:hasSource <doc/d1> ;
    oa:hasSelector <evidence/e1#pos>, <evidence/e1#quote> .
<evidence/e1#pos> a oa:TextPositionSelector ; oa:start 0 ; oa:end 60 .
<evidence/e1#quote> a oa:TextQuoteSelector ;
    oa:exact "アメリ国務省は、30日に行われたポンペイ国務長官とキム・ヨンチョル朝鮮労働党副委員長の夕食会の写真を公表しました。"@ja .

<evidence/e2> a oa:Annotation ; oa:hasBody <quote/q1> ;
    oa:hasTarget <evidence/e2#target> ;
    dip:rule "quote.kagikakko" ; dip:confidence 0.9 ; dip:extractorVersion "0.1.0" .
<evidence/e2#target> a oa:SpecificResource ; oa:hasSource <doc/d1> ;
    oa:hasSelector <evidence/e2#quote> .
<evidence/e2#quote> a oa:TextQuoteSelector ;
    oa:exact "ポンペイオ長官は「とてもよかった」と述べました。"@ja .
"""

POMPEO = ID + "person/Q473239"
KIM_YC = ID + "person/キムヨンチョル"
LAVROV = ID + "person/ラブロフ"
KIM_JU = ID + "person/キムジョンウン"


@pytest.fixture()
def mini_out(tmp_path: Path) -> Path:
    """A `kg build`-shaped output directory holding MINI_TTL as graph.ttl."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "graph.ttl").write_text(MINI_TTL, encoding="utf-8")
    return out


@pytest.fixture()
def mini_graph(mini_out: Path) -> Graph:
    return load_graph(mini_out)


# --------------------------------------------------------------------------- loading


def test_load_graph_from_dir_and_file(mini_out: Path) -> None:
    assert len(load_graph(mini_out)) == len(load_graph(mini_out / "graph.ttl")) > 100


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's own TriG code
def test_load_graph_trig_named_graphs_are_merged(mini_graph: Graph, tmp_path: Path) -> None:
    out = tmp_path / "trig-only"
    out.mkdir()
    ds = Dataset()
    named = ds.graph(URIRef(ID + "doc/d1"))
    for triple in mini_graph:
        named.add(triple)
    ds.serialize(out / "graph.trig", format="trig")
    assert len(load_graph(out / "graph.trig")) == len(mini_graph)


def test_load_graph_missing_graph_names_directory(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"not a kg build \(no store/ and no graph\.ttl in it\)") as info:
        load_graph(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_load_graph_bad_turtle_names_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ttl"
    bad.write_text("@prefix dip: <https://w3id.org/dipkg/ontology#> .\ndip:a dip:b .\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"broken\.ttl: not valid turtle RDF"):
        load_graph(bad)


def test_load_graph_unknown_extension(tmp_path: Path) -> None:
    odd = tmp_path / "graph.csv"
    odd.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"graph\.csv: unknown RDF file type '\.csv'"):
        load_graph(odd)


# --------------------------------------------------------------------------- analytics


def test_class_counts(mini_graph: Graph) -> None:
    classes = compute_stats(mini_graph).classes
    assert classes["dip:Official"] == 4
    assert classes["dip:Person"] == 1
    assert classes["dip:State"] == 3
    assert classes["dip:Meeting"] == 5
    assert classes["dip:Summit"] == 1
    assert classes["dip:PhoneCall"] == 1
    assert classes["dip:Visit"] == 2
    assert classes["dip:Quote"] == 1
    assert classes["oa:Annotation"] == 2
    assert next(iter(classes)).startswith("dip:")  # dip: classes are listed first


def test_comeeting_pairs_counts_and_dates(mini_graph: Graph) -> None:
    rows = compute_stats(mini_graph).comeetings
    pairs = {frozenset((r.a, r.b)): r for r in rows}
    assert set(pairs) == {
        frozenset((POMPEO, KIM_YC)),
        frozenset((LAVROV, KIM_JU)),
        frozenset((POMPEO, LAVROV)),
    }
    pk = pairs[frozenset((POMPEO, KIM_YC))]
    # dinner m1 + talks m2 (its lunch m2a is part of m2 and does not count again)
    assert (pk.count, pk.first, pk.last) == (2, "2018-05-30", "2018-05-31")
    assert pk.meetings == [ID + "meeting/m1", ID + "meeting/m2"]
    assert {pk.a_label, pk.b_label} == {"ポンペオ", "キム・ヨンチョル"}
    pl = pairs[frozenset((POMPEO, LAVROV))]
    assert (pl.count, pl.first, pl.last) == (1, "2018-06", "2018-06")
    assert rows[0] is pk  # most frequent pair first


def test_cancelled_meetings_only_on_request(mini_graph: Graph) -> None:
    andrew = ID + "person/アンドリューキム"
    assert andrew not in comeeting_graph(mini_graph)
    net = comeeting_graph(mini_graph, include_cancelled=True)
    assert net.has_edge(andrew, POMPEO)


def test_centrality_rankings(mini_graph: Graph) -> None:
    stats = compute_stats(mini_graph)
    degree = {r.iri: r.value for r in stats.degree}
    # path KimYC - Pompeo - Lavrov - KimJU: the two middle persons bridge everything
    assert degree == pytest.approx({POMPEO: 2 / 3, LAVROV: 2 / 3, KIM_YC: 1 / 3, KIM_JU: 1 / 3})
    assert [r.iri for r in stats.degree[:2]] == [POMPEO, LAVROV]  # Pompeo attended more meetings
    assert stats.degree[0].meetings == 3
    between = {r.iri: r.value for r in stats.betweenness}
    assert between == pytest.approx({POMPEO: 2 / 3, LAVROV: 2 / 3, KIM_YC: 0.0, KIM_JU: 0.0})


def test_components_and_communities(mini_graph: Graph) -> None:
    stats = compute_stats(mini_graph)
    assert stats.components == [sorted([POMPEO, KIM_YC, LAVROV, KIM_JU])]
    # the twice-met pair sticks together; the other pair forms the second community
    assert sorted(stats.communities) == sorted([sorted([POMPEO, KIM_YC]), sorted([LAVROV, KIM_JU])])


def test_states_ranked_by_activity(mini_graph: Graph) -> None:
    states = [(s.label, s.meetings, s.visits, s.total, s.received) for s in compute_stats(mini_graph).states]
    assert states == [
        # US: m1, m2, m4 via Pompeo + the summit itself; Pompeo's visit
        ("アメリカ", 4, 1, 5, 0),
        # KP: m1, m2 via Kim Yong Chol, m3 via Kim Jong Un, the summit; received both visits
        ("北朝鮮", 4, 0, 4, 2),
        ("ロシア", 2, 1, 3, 0),
    ]


def test_timeline_per_month(mini_graph: Graph) -> None:
    assert compute_stats(mini_graph).timeline == [
        {"month": "2018-05", "meetings": 3, "visits": 2, "total": 5},  # m1, m2 (with m2a), m3; v1, v2
        {"month": "2018-06", "meetings": 2, "visits": 0, "total": 2},  # m4, s1
    ]


def test_render_text_tables(mini_graph: Graph) -> None:
    text = render_text(compute_stats(mini_graph, source="out"))
    assert "Who met whom" in text
    line = next(ln for ln in text.splitlines() if "キム・ヨンチョル" in ln and "2018-05-30" in ln)
    assert line.split() == [
        "ポンペオ",
        "キム・ヨンチョル",
        "2",
        "2018-05-30",
        "2018-05-31",
    ] or line.split() == ["キム・ヨンチョル", "ポンペオ", "2", "2018-05-30", "2018-05-31"]
    assert "アメリカ" in text and "2018-06" in text


# --------------------------------------------------------------------------- CLI


def test_cli_stats_json(mini_out: Path) -> None:
    result = CliRunner().invoke(main, ["stats", str(mini_out), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {
        "classes",
        "comeetings",
        "degree",
        "betweenness",
        "components",
        "communities",
        "states",
        "timeline",
    }
    assert data["classes"]["dip:Official"] == 4
    assert data["states"][0]["label"] == "アメリカ"
    assert data["comeetings"][0]["count"] == 2


def test_cli_stats_text(mini_out: Path) -> None:
    result = CliRunner().invoke(main, ["stats", str(mini_out), "--top", "1"])
    assert result.exit_code == 0, result.output
    assert "States by diplomatic activity" in result.output
    assert "ロシア" not in result.output.split("States by diplomatic activity")[1].split("Timeline")[0]


def test_cli_stats_missing_graph_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["stats", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output == (f"Error: {tmp_path}: not a kg build (no store/ and no graph.ttl in it); build one with "
                             f"`kg build ARTICLES -o {tmp_path}`, or give an RDF file\n")


# --------------------------------------------------------------------------- export


def test_to_networkx_nodes_and_edges(mini_graph: Graph) -> None:
    g = to_networkx(mini_graph)
    classes = nx.get_node_attributes(g, "cls")
    assert classes[POMPEO] == "Official"
    assert classes[ID + "quote/q1"] == "Quote"
    assert ID + "doc/d1" not in g and ID + "position/p1" not in g  # documents/positions are not nodes
    assert g.nodes[POMPEO]["label"] == "ポンペオ"
    kinds = {(u, v, d["relation"]) for u, v, d in g.edges(data=True)}
    assert (POMPEO, ID + "state/US", "HOLDS_POST") in kinds
    assert (ID + "person/キムヨンチョル", ID + "org/朝鮮労働党", "HOLDS_POST") in kinds
    assert (ID + "meeting/m1", POMPEO, "PARTICIPANT") in kinds
    assert (ID + "visit/v1", LAVROV, "VISITOR") in kinds
    assert (ID + "visit/v1", ID + "state/KP", "DESTINATION") in kinds
    assert (ID + "quote/q1", POMPEO, "SPEAKER") in kinds
    assert (POMPEO, ID + "state/US", "REPRESENTS") in kinds
    holds = [d for u, v, d in g.edges(data=True) if d["relation"] == "HOLDS_POST" and u == POMPEO]
    assert holds[0]["label"] == "国務長官"


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_export_round_trip(mini_graph: Graph, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"g.{fmt}"
    export_graph(mini_graph, fmt, out)
    reread = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
    expected = to_networkx(mini_graph)
    assert reread.number_of_nodes() == expected.number_of_nodes()
    assert reread.number_of_edges() == expected.number_of_edges()
    assert reread.nodes[POMPEO]["label"] == "ポンペオ"
    assert reread.nodes[POMPEO]["cls"] == "Official"
    assert reread.nodes[ID + "meeting/m1"]["startDate"] == "2018-05-30"
    types = {d["relation"] for _, _, d in reread.edges(data=True)}
    assert {
        "PARTICIPANT",
        "VISITOR",
        "DESTINATION",
        "LOCATION",
        "SPEAKER",
        "HOLDS_POST",
        "REPRESENTS",
    } <= types
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, nothing left behind


def test_cli_export(mini_out: Path, tmp_path: Path) -> None:
    target = tmp_path / "gephi.gexf"
    result = CliRunner().invoke(main, ["export", str(mini_out), "--format", "gexf", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert nx.read_gexf(target).number_of_nodes() == to_networkx(load_graph(mini_out)).number_of_nodes()


def test_cli_export_unwritable_target(mini_out: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "g.graphml"
    result = CliRunner().invoke(main, ["export", str(mini_out), "--format", "graphml", "-o", str(target)])
    assert result.exit_code == 2
    assert "missing-dir" in result.output


# --------------------------------------------------------------------------- the shared sample graph


def test_sample_graph_stats_agree_with_rdf(sample_ttl: Path) -> None:
    """On the hand-written sample graph, the counts and pairs agree with what the RDF says."""
    assert sample_ttl.is_file(), f"{sample_ttl} is missing"
    graph = load_graph(sample_ttl)
    stats = compute_stats(graph)
    officials = len(set(graph.subjects(RDF.type, DIP.Official)))
    assert stats.classes.get("dip:Official", 0) == officials > 0
    people = set(graph.subjects(RDF.type, DIP.Official)) | set(graph.subjects(RDF.type, DIP.Person))
    for row in stats.comeetings:
        a, b = URIRef(row.a), URIRef(row.b)
        shared = [m for m in graph.subjects(DIP.participant, a) if (m, DIP.participant, b) in graph]
        assert shared, f"{row.a_label} and {row.b_label} share no meeting"
        assert row.count <= len(shared)
        assert {a, b} <= people
    meetings = {DIP.Meeting, DIP.Summit, DIP.PhoneCall}

    def counted(event: URIRef, kinds: set[URIRef]) -> bool:
        parent = graph.value(event, DIP.partOf)
        nested = parent is not None and bool(set(graph.objects(parent, RDF.type)) & kinds)
        return (event, DIP.status, DIP.Cancelled) not in graph and not nested

    expected = sum(
        counted(e, kinds)
        for kinds in (meetings, {DIP.Visit})
        for cls in kinds
        for e in graph.subjects(RDF.type, cls)
    )
    assert sum(t["total"] for t in stats.timeline) == expected > 0
    # the sample's dinner of Pompeo and Kim Yong Chol (a meeting within a visit) is a co-meeting
    assert {(r.a_label, r.b_label) for r in stats.comeetings} >= {("キム・ヨンチョル", "ポンペオ")}


# --------------------------------------------------------------------------- a multi-article build


@pytest.mark.slow
def test_stats_of_a_multi_article_build_count_what_graph_ttl_holds(corpus_build: Path) -> None:
    """Read from the store, the graph is graph.ttl: each node and each meeting counted once, though
    several documents report it."""
    reference = Graph().parse(corpus_build / "graph.ttl")
    graph = load_graph(corpus_build)
    assert set(graph) == set(reference)
    stats = compute_stats(graph)
    for cls in ("Official", "State", "Meeting", "Summit", "Visit", "Quote", "Document"):
        assert stats.classes.get(f"dip:{cls}", 0) == len(set(reference.subjects(RDF.type, DIP[cls]))), cls
    assert stats.classes["dip:Document"] == 3
    result = CliRunner().invoke(main, ["stats", str(corpus_build), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["classes"] == stats.classes


@pytest.mark.slow
def test_export_of_a_multi_article_build_has_each_node_once(corpus_build: Path, tmp_path: Path) -> None:
    reference = to_networkx(Graph().parse(corpus_build / "graph.ttl"))
    target = tmp_path / "corpus.graphml"
    result = CliRunner().invoke(main, ["export", str(corpus_build), "--format", "graphml", "-o", str(target)])
    assert result.exit_code == 0, result.output
    net = nx.read_graphml(target)
    assert set(net.nodes) == set(reference.nodes) and net.number_of_edges() == reference.number_of_edges()
