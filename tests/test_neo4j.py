"""kg.readers.neo4j against a real Neo4j 5.26 server (see tests/neo4j_fixtures.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from neo4j_fixtures import TEST_INSTANCE, KillableProxy, local_script
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS, SKOS

import neo4j
from kg.cli import main
from kg.errors import Neo4jError
from kg.namespaces import DIP, ID, OA, PROV
from kg.readers.neo4j import _KEY_CYPHER as KEY
from kg.readers.neo4j import Neo4jConfig, connect, counts, load_graph, read_graph
from kg.readers.neo4j_bulk import local_envfile
from kg.readers.projection import project

pytestmark = pytest.mark.neo4j

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "sample.ttl"
DOC0 = str(ID["doc/000_a87ea9164a9e83dc"])
DOC1 = str(ID["doc/001_5d2c0e8b1f3a4e67"])

PREFIXES = """
PREFIX dip: <https://w3id.org/dipkg/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX oa: <http://www.w3.org/ns/oa#>
"""


def expected_counts(g: Graph) -> tuple[int, int]:
    """Nodes and relationships the Turtle should give, counted with SPARQL (not with the projection)."""
    nodes = g.query(
        PREFIXES + "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c . "
        "FILTER(STRSTARTS(STR(?c), STR(dip:)) && ?c NOT IN (dip:Position)) }"
    )
    rels = 0
    for p in ("participant", "location", "visitor", "destination", "speaker", "partOf", "mentionedIn",
              "locatedIn", "subOrganizationOf", "represents"):
        rels += int(next(iter(g.query(PREFIXES + f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s dip:{p} ?o }}")))[0])
    rels += int(next(iter(g.query(PREFIXES + "SELECT (COUNT(*) AS ?n) WHERE { ?h dip:holds ?p . ?p dip:postIn ?o }")))[0])
    # one REPORTED_IN per evidence annotation, plus one per source without an annotation
    rels += int(next(iter(g.query(PREFIXES + """
        SELECT (COUNT(*) AS ?n) WHERE { ?a a oa:Annotation ; oa:hasBody ?b .
                                        FILTER NOT EXISTS { ?b a dip:Position } }""")))[0])
    rels += int(next(iter(g.query(PREFIXES + """
        SELECT (COUNT(*) AS ?n) WHERE { ?b prov:wasDerivedFrom ?d . FILTER NOT EXISTS { ?b a dip:Position }
            FILTER NOT EXISTS { ?a oa:hasBody ?b ; oa:hasTarget/oa:hasSource ?d } }""")))[0])
    return int(next(iter(nodes))[0]), rels


def run(cfg: Neo4jConfig, cypher: str, **params: object) -> list[dict]:
    driver = connect(cfg)
    try:
        return [r.data() for r in driver.execute_query(cypher, params, database_=cfg.database).records]
    finally:
        driver.close()


def snapshot(cfg: Neo4jConfig) -> tuple[list, list]:
    """Every node (labels, properties) and relationship (type, ends, properties), sorted."""
    nodes = run(cfg, "MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = run(cfg, "MATCH (a)-[r]->(b) RETURN type(r) AS t, a.iri AS a, b.iri AS b, properties(r) AS p")

    def norm(d: dict) -> str:  # a property map's key order is the store's, not part of the result
        return repr(sorted((k, sorted(v) if isinstance(v, list) and k in ("l", "sources") else
                            sorted(v.items()) if isinstance(v, dict) else v) for k, v in d.items()))

    return sorted(map(norm, nodes)), sorted(map(norm, rels))


# ---- loading -------------------------------------------------------------------------------------


def test_sample_counts_match_the_turtle(neo4j_db: Neo4jConfig) -> None:
    g = read_graph(SAMPLE)
    exp_nodes, exp_rels = expected_counts(g)
    assert (exp_nodes, exp_rels) == (21, 46)
    report = load_graph(g, neo4j_db)
    assert (report.nodes, report.relationships, report.documents) == (21, 46, 2)
    assert counts(neo4j_db) == (exp_nodes, exp_rels)
    per_label = {r["l"]: r["c"] for r in run(neo4j_db, "MATCH (n) UNWIND labels(n) AS l RETURN l, count(*) AS c")}
    assert per_label == {"Document": 2, "Official": 5, "Person": 5, "State": 3, "Organization": 2, "Place": 2,
                         "Meeting": 2, "Summit": 1, "Visit": 2, "Quote": 3}
    per_type = {r["t"]: r["c"] for r in run(neo4j_db, "MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS c")}
    assert per_type == {"MENTIONED_IN": 13, "REPORTED_IN": 7, "REPRESENTS": 5, "PARTICIPATED_IN": 4,
                        "HELD_IN": 3, "HOLDS_POST": 3, "TO": 2, "LOCATED_IN": 2, "SAID": 2, "PART_OF": 2,
                        "MADE_VISIT": 2, "PART_OF_EVENT": 1}


@pytest.mark.slow
def test_seed_counts_match_the_turtle(neo4j_db: Neo4jConfig, seed_build: Path) -> None:
    """The real build of seeds/: Neo4j holds as many nodes and relationships as the Turtle says."""
    g = read_graph(seed_build / "graph.ttl")
    exp_nodes, exp_rels = expected_counts(g)
    assert exp_nodes > 30 and exp_rels > 100
    load_graph(g, neo4j_db)
    assert counts(neo4j_db) == (exp_nodes, exp_rels)
    # per label: each node carries its class and the class's dip: superclasses
    supers = {"Official": ["Person"], "Summit": ["Meeting"], "PhoneCall": ["Meeting"]}
    want: dict[str, int] = {}
    for (c,) in g.query(PREFIXES + "SELECT ?c WHERE { ?s a ?c . FILTER(STRSTARTS(STR(?c), STR(dip:)) "
                                   "&& ?c NOT IN (dip:Position)) }"):
        for label in [str(c).rsplit("#", 1)[1], *supers.get(str(c).rsplit("#", 1)[1], [])]:
            want[label] = want.get(label, 0) + 1
    got = {r["l"]: r["c"] for r in run(neo4j_db, "MATCH (n) UNWIND labels(n) AS l RETURN l, count(*) AS c")}
    assert got == want
    # loading the seed again changes nothing
    before = snapshot(neo4j_db)
    load_graph(g, neo4j_db)
    assert snapshot(neo4j_db) == before


def test_shapes_labels_properties_and_directions(neo4j_db: Neo4jConfig) -> None:
    load_graph(read_graph(SAMPLE), neo4j_db)
    pompeo = run(neo4j_db, "MATCH (p {iri: $iri}) RETURN labels(p) AS l, p AS p", iri=str(ID["person/Q473239"]))[0]
    assert sorted(pompeo["l"]) == ["Official", "Person"]
    assert pompeo["p"]["name"] == "ポンペオ"
    assert set(pompeo["p"]["names"]) == {"ポンペオ", "Mike Pompeo", "ポンペイオ", "ポンペイ"}
    assert pompeo["p"]["wikidata"] == "Q473239"
    summit = run(neo4j_db, "MATCH (m:Summit) RETURN labels(m) AS l, m.startDate AS d, m.status AS s")[0]
    assert sorted(summit["l"]) == ["Meeting", "Summit"] and summit["d"] == "2018-06" and summit["s"] == "planned"
    dinner = run(neo4j_db, "MATCH (a:Official)-[:PARTICIPATED_IN]->(m:Meeting)-[:HELD_IN]->(pl:Place) "
                           "RETURN m.startDate AS d, collect(a.name) AS who, pl.name AS place")[0]
    assert dinner["d"] == neo4j.time.Date(2018, 5, 30)
    assert sorted(dinner["who"]) == ["キム・ヨンチョル", "ポンペオ"] and dinner["place"] == "ニューヨーク"
    types = run(neo4j_db, "MATCH (m:Meeting) RETURN m.name AS m, valueType(m.startDate) AS t ORDER BY m.name")
    assert [r["t"] for r in types] == ["STRING NOT NULL", "DATE NOT NULL"]
    post = run(neo4j_db, "MATCH (:Official {name: 'ポンペオ'})-[h:HOLDS_POST]->(s:State) RETURN properties(h) AS h, s.name AS s")[0]
    assert post["h"]["title"] == "国務長官" and sorted(post["h"]["titles"]) == ["国務長官", "長官"]
    assert post["s"] == "アメリカ"
    assert run(neo4j_db, "MATCH (:Person {name:'ラブロフ'})-[:MADE_VISIT]->(v:Visit)-[:TO]->(s:State) "
                         "RETURN s.name AS s")[0]["s"] == "北朝鮮"
    said = run(neo4j_db, "MATCH (:Person {name:'ラブロフ'})-[:SAID]->(q:Quote)-[e:REPORTED_IN]->(d:Document) "
                         "RETURN q.text AS t, e.sentence AS s, e.start AS a, e.end AS b, e.rule AS r, "
                         "e.confidence AS c, d.iri AS d")[0]
    assert said == {"t": "非核化は一度にはできず、段階的に進めるべきだ",
                    "s": "ラブロフ外相は北朝鮮のリ・ヨンホ外相と会談したあと記者団に対し、「非核化は一度にはできず、段階的に進めるべきだ」と述べました。",
                    "a": 35, "b": 98, "r": "quote.to_say", "c": 0.85, "d": DOC1}
    # evidence annotations and positions are not nodes; every node has iri and name
    assert run(neo4j_db, "MATCH (n) WHERE n.iri CONTAINS '/evidence/' OR n.iri CONTAINS '/position/' "
                         "RETURN count(n) AS c")[0]["c"] == 0
    assert run(neo4j_db, "MATCH (n) WHERE n.iri IS NULL OR n.name IS NULL RETURN count(n) AS c")[0]["c"] == 0


def test_uniqueness_constraint_on_iri_for_every_label(neo4j_db: Neo4jConfig) -> None:
    load_graph(read_graph(SAMPLE), neo4j_db)
    rows = run(neo4j_db, "SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties "
                         "WHERE type = 'UNIQUENESS' RETURN labelsOrTypes[0] AS l, properties AS p")
    have = {r["l"] for r in rows if r["p"] == ["iri"]}
    assert {"Document", "Official", "Person", "State", "Organization", "Place", "Meeting", "Summit", "Visit",
            "Quote"} <= have
    with pytest.raises(neo4j.exceptions.ConstraintError):
        run(neo4j_db, "CREATE (:Person {iri: $iri})", iri=str(ID["person/Q473239"]))


def test_loading_twice_changes_nothing(neo4j_db: Neo4jConfig) -> None:
    g = read_graph(SAMPLE)
    first_load = load_graph(g, neo4j_db)
    assert first_load.replaced == 0 and "already loaded" not in first_load.summary()
    first = snapshot(neo4j_db)
    again = load_graph(g, neo4j_db, batch_size=10)
    assert snapshot(neo4j_db) == first
    assert again.replaced == again.documents == 2 and "2 of the documents were already loaded" in again.summary()
    assert load_graph(g, neo4j_db, transaction_per_row=True).replaced == 2
    assert snapshot(neo4j_db) == first


def _reextracted_doc1(g: Graph) -> Graph:
    """Doc 001 re-extracted: the quote is gone and the visit went to ロシア instead."""
    h = Graph()
    for t in g:
        h.add(t)
    quote = ID["quote/5d750e25643f88f5"]
    for t in list(h.triples((quote, None, None))):
        h.remove(t)
    for ann in list(h.subjects(OA.hasBody, quote)):
        for t in list(h.triples((ann, None, None))):
            h.remove(t)
    visit = ID["visit/97cdfabc3ac308e1"]
    h.remove((visit, DIP.destination, None))
    h.add((visit, DIP.destination, ID["state/RU"]))
    return h


def test_reloading_a_reextracted_article_replaces_its_statements(neo4j_db: Neo4jConfig) -> None:
    g = read_graph(SAMPLE)
    load_graph(g, neo4j_db)
    doc0_before = run(neo4j_db, "MATCH (n)-[r]->() WHERE $d IN r.sources RETURN count(r) AS c", d=DOC0)[0]["c"]
    h = _reextracted_doc1(g)
    load_graph(h, neo4j_db)
    assert counts(neo4j_db) == expected_counts(h)
    assert run(neo4j_db, "MATCH (q:Quote {iri: $q}) RETURN count(q) AS c",
               q=str(ID["quote/5d750e25643f88f5"]))[0]["c"] == 0
    assert [r["s"] for r in run(neo4j_db, "MATCH (:Visit {iri: $v})-[:TO]->(s) RETURN s.name AS s",
                                v=str(ID["visit/97cdfabc3ac308e1"]))] == ["ロシア"]
    assert run(neo4j_db, "MATCH ()-[r:SAID]->() RETURN count(r) AS c")[0]["c"] == 1
    assert run(neo4j_db, "MATCH (n)-[r]->() WHERE $d IN r.sources RETURN count(r) AS c", d=DOC0)[0]["c"] == doc0_before


def test_reloading_only_one_article_keeps_the_others(neo4j_db: Neo4jConfig) -> None:
    """A graph holding only doc 001 (re-extracted) replaces doc 001's statements; doc 000's stay."""
    g = read_graph(SAMPLE)
    load_graph(g, neo4j_db)
    before = counts(neo4j_db)
    only1 = Graph()
    doc1 = ID["doc/001_5d2c0e8b1f3a4e67"]
    keep = {doc1} | set(g.subjects(PROV.wasDerivedFrom, doc1)) | set(g.subjects(DIP.mentionedIn, doc1))
    annotations = {a for a, b in g.subject_objects(OA.hasBody) if b in keep}
    for t in g:
        if t[0] in keep or URIRef(str(t[0]).split("#")[0]) in annotations:
            only1.add(t)
    quote = ID["quote/5d750e25643f88f5"]
    for t in list(only1.triples((quote, None, None))):
        only1.remove(t)
    assert load_graph(only1, neo4j_db).replaced == 1
    nodes, rels = counts(neo4j_db)
    # the quote node, its SAID and its REPORTED_IN are gone; nothing else changed
    assert (nodes, rels) == (before[0] - 1, before[1] - 2)
    assert run(neo4j_db, "MATCH (q:Quote) RETURN count(q) AS c")[0]["c"] == 2


# ---- the example queries ----------------------------------------------------------------------

QUERY_EXPECTATIONS: dict[str, tuple[dict, list[dict]]] = {
    "who_met_whom": ({}, [{"person": "ポンペオ", "other": "キム・ヨンチョル", "kind": "夕食会",
                           "date": neo4j.time.Date(2018, 5, 30), "place": "ニューヨーク", "status": "held",
                           "meeting": str(ID["meeting/5e80318c9632ed7b"])}]),
    "meetings_of_official": ({"name": "ポンペイオ", "from": "2018-05-01", "to": "2018-06-30"},
                             [{"official": "ポンペオ", "kind": "夕食会", "date": neo4j.time.Date(2018, 5, 30),
                               "status": "held", "with": ["キム・ヨンチョル"], "place": "ニューヨーク",
                               "meeting": str(ID["meeting/5e80318c9632ed7b"])}]),
    "shortest_path": ({"from": "ラブロフ", "to": "金英哲"},
                      [{"names": ["ラブロフ", "ラブロフ → 北朝鮮", "北朝鮮", "キム・ヨンチョル"],
                        "via": ["MADE_VISIT", "TO", "REPRESENTS"], "hops": 3}]),
    "quotes_of_speaker": ({"name": "ポンペイオ"},
                          [{"speaker": "ポンペオ", "quote": "とてもよかった", "date": neo4j.time.Date(2018, 5, 30),
                            "sentence": "会談初日の詳しい内容は明らかになっていませんが、ポンペイオ長官は記者団から"
                                        "会談の結果について問われると「とてもよかった」と答えました。",
                            "start": 654, "end": 721, "document": "000_a87ea9164a9e83dc",
                            "url": "https://d1021.hatenadiary.com"}]),
    "states_by_meetings": ({}, [{"state": "アメリカ", "iso": "US", "meetings": 2, "held": 1},
                                {"state": "北朝鮮", "iso": "KP", "meetings": 2, "held": 1}]),
    # the same rows as queries/dyad_months.rq on the sample (test_query.py); the sample has no alpha-3 codes
    "dyad_months": ({}, [{"month": "2018-05", "isoA": "KP", "isoB": "RU", "stateA": "北朝鮮", "stateB": "ロシア",
                          "events": 1},
                         {"month": "2018-05", "isoA": "KP", "isoB": "US", "stateA": "北朝鮮", "stateB": "アメリカ",
                          "events": 1}]),
}


def test_every_query_file_has_an_expectation() -> None:
    files = {p.stem for p in (ROOT / "queries").glob("*.cypher")}
    assert files == set(QUERY_EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(QUERY_EXPECTATIONS))
def test_query_answers(neo4j_db: Neo4jConfig, name: str) -> None:
    load_graph(read_graph(SAMPLE), neo4j_db)
    params, expected = QUERY_EXPECTATIONS[name]
    cypher = (ROOT / "queries" / f"{name}.cypher").read_text(encoding="utf-8")
    assert run(neo4j_db, cypher, **params) == expected


def test_dyad_months_in_cypher_answers_what_the_sparql_query_answers(neo4j_db: Neo4jConfig,
                                                                     corpus_build: Path) -> None:
    """queries/dyad_months.cypher on the loaded corpus build gives the rows of queries/dyad_months.rq
    on its RDF graph, with the PLOVER/CAMEO codes and the states' alpha-3 codes as properties."""
    from kg.readers.query import read_query_file
    from kg.readers.stats import load_graph as load_rdf

    g = load_rdf(corpus_build)
    load_graph(g, neo4j_db)
    sparql = [{"month": str(r.month), "isoA": str(r.isoA), "isoB": str(r.isoB), "stateA": str(r.stateA),
               "stateB": str(r.stateB), "events": int(r.events)}
              for r in g.query(read_query_file(ROOT / "queries" / "dyad_months.rq"))]
    cypher = run(neo4j_db, (ROOT / "queries" / "dyad_months.cypher").read_text(encoding="utf-8"))
    assert len(sparql) >= 3
    assert cypher == sparql
    codes = run(neo4j_db, "MATCH (e:Meeting {status: 'held'}) WHERE e.cameoCode IS NOT NULL "
                          "RETURN DISTINCT e.ploverEvent AS event, e.cameoCode AS cameo ORDER BY cameo")
    assert codes and {c["event"] for c in codes} == {"consult"}
    assert run(neo4j_db, "MATCH (s:State {isoCode: 'US'}) RETURN s.isoAlpha3 AS a3, s.cowCode AS cow")[0] == {
        "a3": "USA", "cow": 2}


def test_meetings_of_official_respects_the_date_range(neo4j_db: Neo4jConfig) -> None:
    load_graph(read_graph(SAMPLE), neo4j_db)
    cypher = (ROOT / "queries" / "meetings_of_official.cypher").read_text(encoding="utf-8")
    assert run(neo4j_db, cypher, name="ポンペオ", **{"from": "2018-05-31", "to": "2018-12-31"}) == []


# ---- awkward names -----------------------------------------------------------------------------


def test_names_with_quotes_backslashes_and_cypher_round_trip(neo4j_db: Neo4jConfig) -> None:
    g = read_graph(SAMPLE)
    tricky = [
        "O'Brien \"the\" \\ backslash",
        "x'}) DETACH DELETE n //",
        "`backtick` $param {a: 1} \\u0041",
        "改行\nと\tタブ",
    ]
    person = ID["person/Q473239"]
    g.remove((person, RDFS.label, None))
    g.add((person, RDFS.label, Literal(tricky[0], lang="ja")))
    for t in tricky[1:]:
        g.add((person, SKOS.altLabel, Literal(t, lang="ja")))
    load_graph(g, neo4j_db)
    row = run(neo4j_db, "MATCH (p {iri: $iri}) RETURN p.name AS name, p.names AS names", iri=str(person))[0]
    assert row["name"] == tricky[0]
    assert set(tricky) <= set(row["names"])
    assert counts(neo4j_db) == (21, 46)


# ---- connection failures -----------------------------------------------------------------------


def test_unreachable_server_is_a_clear_error(neo4j_db: Neo4jConfig) -> None:
    bad = Neo4jConfig(uri="bolt://127.0.0.1:1", user="neo4j", password="secret-pw", connection_timeout=2)
    with pytest.raises(Neo4jError, match=r"cannot reach Neo4j at bolt://127.0.0.1:1") as exc:
        load_graph(read_graph(SAMPLE), bad)
    assert "secret-pw" not in str(exc.value)


def test_wrong_password_is_a_clear_error_and_writes_nothing(neo4j_db: Neo4jConfig) -> None:
    bad = Neo4jConfig(uri=neo4j_db.uri, user=neo4j_db.user, password="not-the-password", database=neo4j_db.database)
    with pytest.raises(Neo4jError, match="refused the credentials of user 'neo4j'") as exc:
        load_graph(read_graph(SAMPLE), bad)
    assert "not-the-password" not in str(exc.value)
    assert counts(neo4j_db) == (0, 0)


def test_missing_database_is_a_clear_error(neo4j_db: Neo4jConfig) -> None:
    bad = Neo4jConfig(uri=neo4j_db.uri, user=neo4j_db.user, password=neo4j_db.password, database="nosuchdb")
    with pytest.raises(Neo4jError, match="has no database 'nosuchdb'"):
        load_graph(read_graph(SAMPLE), bad)
    assert counts(neo4j_db) == (0, 0)


def test_password_is_not_in_repr() -> None:
    cfg = Neo4jConfig(uri="bolt://h:7687", password="hunter2")
    assert "hunter2" not in repr(cfg)


def test_bad_uri_scheme_is_refused() -> None:
    with pytest.raises(Neo4jError, match="bad Neo4j URI 'http://h:7474'"):
        Neo4jConfig.from_env(uri="http://h:7474", password="x")


def test_killed_connection_leaves_whole_articles_and_a_rerun_completes(neo4j_db: Neo4jConfig) -> None:
    """The proxy drops every connection part-way through the load (after the first batch was sent)."""
    g = read_graph(SAMPLE)
    host, port = neo4j_db.uri.split("://")[1].split(":")
    # measure how many bytes a full load sends, then drop the connection half-way on a fresh database
    probe = KillableProxy(host, int(port))
    via = Neo4jConfig(uri=f"bolt://127.0.0.1:{probe.port}", user=neo4j_db.user, password=neo4j_db.password,
                      database=neo4j_db.database, max_retry_time=1.0, connection_timeout=2.0)
    load_graph(g, via, batch_size=1)
    total = probe.sent
    probe.close()
    proj = project(g)
    mid_load_seen = False
    for fraction in (0.5, 0.65, 0.8, 0.9, 0.95):
        run(neo4j_db, "MATCH (n) DETACH DELETE n")
        proxy = KillableProxy(host, int(port), kill_after_bytes=int(total * fraction))
        via = Neo4jConfig(uri=f"bolt://127.0.0.1:{proxy.port}", user=neo4j_db.user, password=neo4j_db.password,
                          database=neo4j_db.database, max_retry_time=1.0, connection_timeout=2.0)
        try:
            with pytest.raises(Neo4jError, match="re-run the load") as exc:
                load_graph(g, via, batch_size=1)
            assert "stopped after" in str(exc.value)
            assert proxy.killed.is_set()
            # every document is either fully there or not there at all
            in_db_nodes = {r["i"] for r in run(neo4j_db, "MATCH (n) RETURN n.iri AS i")}
            in_db_rels = {r["k"] for r in run(neo4j_db, f"MATCH ()-[r]->() RETURN {KEY} AS k")}
            complete = []
            for doc in proj.documents:
                nodes = {n.iri for n in proj.nodes.values() if n.sources and n.sources[0] == doc}
                rels = {r.key for r in proj.rels.values() if r.sources and r.sources[0] == doc}
                here = (nodes & in_db_nodes, rels & in_db_rels)
                assert here in ((set(), set()), (nodes, rels)), f"{doc} is half-written at {fraction}"
                complete.append(bool(here[0]))
            mid_load_seen |= True in complete and False in complete
            proxy.revive()
            load_graph(g, via, batch_size=1)
            assert counts(neo4j_db) == (21, 46)
        finally:
            proxy.close()
    assert mid_load_seen, "no fault landed between two articles"


# ---- command line ------------------------------------------------------------------------------


def _env(cfg: Neo4jConfig) -> dict[str, str]:
    return {"NEO4J_URI": cfg.uri, "NEO4J_USER": cfg.user, "NEO4J_PASSWORD": cfg.password,
            "NEO4J_DATABASE": cfg.database}


def test_cli_load_outdir_and_file(neo4j_db: Neo4jConfig, tmp_path: Path) -> None:
    (tmp_path / "graph.ttl").write_bytes(SAMPLE.read_bytes())
    res = CliRunner().invoke(main, ["load", str(tmp_path)], env=_env(neo4j_db))
    assert res.exit_code == 0, res.output
    assert "loaded 21 nodes and 46 relationships from 2 document(s)" in res.output
    res = CliRunner().invoke(main, ["load", str(SAMPLE), "--wipe", "--batch-size", "3"], env=_env(neo4j_db))
    assert res.exit_code == 0, res.output
    assert counts(neo4j_db) == (21, 46)


def test_cli_errors_exit_2_with_one_line(neo4j_db: Neo4jConfig, tmp_path: Path) -> None:
    env = _env(neo4j_db) | {"NEO4J_PASSWORD": "wrong-one"}
    res = CliRunner().invoke(main, ["load", str(SAMPLE)], env=env)
    assert res.exit_code == 2
    assert res.output.strip() == (f"Error: Neo4j at {neo4j_db.uri} refused the credentials of user 'neo4j' "
                                  "(check NEO4J_USER/NEO4J_PASSWORD)")
    res = CliRunner().invoke(main, ["load", str(SAMPLE), "--uri", "bolt://127.0.0.1:1"], env=_env(neo4j_db))
    assert res.exit_code == 2 and res.output.startswith("Error: cannot reach Neo4j at bolt://127.0.0.1:1")
    bad = tmp_path / "bad.ttl"
    bad.write_text("<a> <b> .", encoding="utf-8")
    res = CliRunner().invoke(main, ["load", str(bad)], env=_env(neo4j_db))
    assert res.exit_code == 2 and f"{bad}: not valid turtle" in res.output
    res = CliRunner().invoke(main, ["load", str(tmp_path)], env=_env(neo4j_db))
    assert res.exit_code == 2 and "not a kg build (no store/ and no graph.ttl in it)" in res.output
    assert counts(neo4j_db) == (0, 0)


def test_dates_are_neo4j_dates(neo4j_db: Neo4jConfig) -> None:
    load_graph(read_graph(SAMPLE), neo4j_db)
    issued = run(neo4j_db, "MATCH (d:Document {iri: $d}) RETURN d.issued AS i", d=DOC0)[0]["i"]
    assert issued.to_native() == dt.date(2018, 6, 1)


# ---- the tests' own server, Neo4j Browser and the HTTP API -------------------------------------


def _http_url(cfg: Neo4jConfig) -> str:
    """The HTTP address of the tests' server (scripts/neo4j-local writes it next to the Bolt URI)."""
    if os.environ.get("KG_TEST_NEO4J_URI"):
        url = os.environ.get("KG_TEST_NEO4J_HTTP_URL", "")
        if not url:
            pytest.fail("KG_TEST_NEO4J_URI is set: give its HTTP address with KG_TEST_NEO4J_HTTP_URL", pytrace=False)
        return url.rstrip("/")
    env = Path(local_script("envfile").stdout.strip()).read_text(encoding="utf-8")
    return next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("export NEO4J_HTTP_URL="))


def test_the_tests_use_a_database_of_their_own(neo4j_config: Neo4jConfig) -> None:
    """No NEO4J_* setting of the developer's shell reaches the tests; the server is the tests' instance."""
    assert not [k for k in os.environ if k.startswith("NEO4J_")]
    if not os.environ.get("KG_TEST_NEO4J_URI"):
        envfile = Path(local_script("envfile").stdout.strip())
        assert envfile.parts[-4:-2] == ("instances", TEST_INSTANCE)
        assert Neo4jConfig.from_env_file(envfile).uri == neo4j_config.uri


def test_neo4j_browser_and_the_http_api(neo4j_db: Neo4jConfig) -> None:
    """Browser is served at /browser/, and a Cypher query through the HTTP API reads what kg load wrote."""
    base = _http_url(neo4j_db)
    with urllib.request.urlopen(f"{base}/browser/", timeout=30) as resp:
        assert resp.status == 200
        assert "<title>Neo4j Browser</title>" in resp.read().decode("utf-8")
    load_graph(read_graph(SAMPLE), neo4j_db)
    body = json.dumps({"statements": [{"statement": "MATCH (p:Official) WHERE $name IN p.names "
                                                    "RETURN p.name AS name, p.wikidata AS wd",
                                       "parameters": {"name": "ポンペイオ"}}]}).encode("utf-8")
    token = base64.b64encode(f"{neo4j_db.user}:{neo4j_db.password}".encode()).decode()
    req = urllib.request.Request(f"{base}/db/{neo4j_db.database}/tx/commit", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Accept": "application/json",
                                          "Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer = json.loads(resp.read().decode("utf-8"))
    assert answer["errors"] == []
    assert answer["results"][0]["data"] == [{"row": ["ポンペオ", "Q473239"], "meta": [None, None]}]



def _off_host(url: str) -> bool:
    """A request that would leave this machine: anything but 127.0.0.1 and the page's own data."""
    return not url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:"))


@pytest.mark.browser
def test_neo4j_browser_sends_nothing_outside_127_0_0_1(neo4j_db: Neo4jConfig) -> None:
    """Browser loads, connects and runs a query in headless Chromium; every request goes to 127.0.0.1 (the
    web fonts its page names are refused by the server's content security policy before they are sent), and
    the server tells Browser not to send product analytics."""
    from playwright.sync_api import sync_playwright
    from test_view import CHROMIUM_ARGS, _chromium

    chromium = _chromium()
    base = _http_url(neo4j_db)
    sent: list[str] = []
    refused: dict[str, str | None] = {}
    with tempfile.TemporaryDirectory(prefix="kg-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        # a request to another host is stopped here too, so that the test itself never sends one
        context.route("**/*", lambda route: route.abort() if _off_host(route.request.url) else route.continue_())
        try:
            page = context.new_page()
            page.on("request", lambda r: sent.append(r.url))
            page.on("websocket", lambda ws: sent.append(ws.url))
            page.on("requestfailed", lambda r: refused.__setitem__(r.url, r.failure))
            bolt = neo4j_db.uri.replace("bolt://", f"bolt://{neo4j_db.user}@")
            page.goto(f"{base}/browser/?dbms={bolt}")
            page.fill("input[type=password]", neo4j_db.password, timeout=60_000)
            page.keyboard.press("Enter")
            page.wait_for_selector("text=You are connected", timeout=90_000)
            page.keyboard.type("RETURN 40 + 2 AS answer")
            page.keyboard.press("Control+Enter")
            page.wait_for_selector("text=42", timeout=30_000)
        finally:
            context.close()
    assert any(u.startswith(f"{base}/browser/") for u in sent)
    off_host = sorted({u for u in sent if _off_host(u)})
    assert {u: refused.get(u) for u in off_host} == {u: "csp" for u in off_host}  # blocked before sending
    body = json.dumps({"statements": [{"statement": "CALL dbms.clientConfig() YIELD name, value "
                                                    "RETURN name, value"}]}).encode("utf-8")
    token = base64.b64encode(f"{neo4j_db.user}:{neo4j_db.password}".encode()).decode()
    req = urllib.request.Request(f"{base}/db/system/tx/commit", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Accept": "application/json",
                                          "Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        rows = dict(r["row"] for r in json.loads(resp.read().decode("utf-8"))["results"][0]["data"])
    assert rows["client.allow_telemetry"] is False or rows["client.allow_telemetry"] == "false", rows


def test_the_env_file_says_which_local_server_it_is(neo4j_config: Neo4jConfig, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """After sourcing a named instance's env file in a shell that knows nothing of it, kg load --bulk
    recognises the server as scripts/neo4j-local's (and would import into it)."""
    if os.environ.get("KG_TEST_NEO4J_URI"):
        pytest.fail("this test needs the local server: unset KG_TEST_NEO4J_URI", pytrace=False)
    envfile = Path(local_script("envfile").stdout.strip())
    clean = {k: v for k, v in os.environ.items() if k not in ("KG_NEO4J_INSTANCE", "KG_CACHE")}
    clean["HOME"] = str(tmp_path)  # nor a default cache that could hold a server of its own
    for name in ("KG_NEO4J_INSTANCE", "KG_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local_envfile(neo4j_config) is None  # without the instance's name, another server
    shell = subprocess.run(["bash", "-c", '. "$1" && env -0', "-", str(envfile)], env=clean,
                           capture_output=True, text=True, check=True)
    sourced = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert sourced["KG_NEO4J_INSTANCE"] == TEST_INSTANCE
    for name in ("KG_NEO4J_INSTANCE", "KG_CACHE", "NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        monkeypatch.setenv(name, sourced[name])
    assert local_envfile(Neo4jConfig.from_env()) == envfile

# ---- kg load --bulk ----------------------------------------------------------------------------


def typed_snapshot(cfg: Neo4jConfig) -> tuple[list[str], list[str], list[str]]:
    """Every node and relationship with its properties and their Cypher types, and the constraints."""
    nodes = run(cfg, "MATCH (n) RETURN labels(n) AS l, properties(n) AS p, "
                     "[k IN keys(n) | [k, valueType(n[k])]] AS t")
    rels = run(cfg, "MATCH (a)-[r]->(b) RETURN type(r) AS l, a.iri AS a, b.iri AS b, properties(r) AS p, "
                    "[k IN keys(r) | [k, valueType(r[k])]] AS t")
    constraints = run(cfg, "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
                           "RETURN name, type, labelsOrTypes AS l, properties AS p")

    def norm(d: dict) -> str:
        return repr(sorted((k, sorted(v.items()) if isinstance(v, dict) else sorted(v) if k in ("l", "t") and
                            isinstance(v, list) else v) for k, v in d.items()))

    return sorted(map(norm, nodes)), sorted(map(norm, rels)), sorted(map(norm, constraints))


@pytest.fixture()
def local_neo4j_db(neo4j_db: Neo4jConfig) -> Neo4jConfig:
    """The tests' own scripts/neo4j-local server, empty: kg load --bulk imports into it."""
    if os.environ.get("KG_TEST_NEO4J_URI"):
        pytest.fail("kg load --bulk imports with scripts/neo4j-local: unset KG_TEST_NEO4J_URI to run this test",
                    pytrace=False)
    return neo4j_db


@pytest.mark.slow
def test_bulk_load_equals_kg_load(local_neo4j_db: Neo4jConfig, corpus_build: Path, tmp_path: Path) -> None:
    """On a three-article build: same labels, properties with their types, relationships and constraints
    as kg load; the database is refused once it holds data; kg load on top changes nothing."""
    cfg = local_neo4j_db
    env = _env(cfg)
    res = CliRunner().invoke(main, ["load", str(corpus_build)], env=env)
    assert res.exit_code == 0, res.output
    batched = typed_snapshot(cfg)
    run(cfg, "MATCH (n) DETACH DELETE n")
    for name in [r["name"] for r in run(cfg, "SHOW CONSTRAINTS YIELD name")]:
        run(cfg, f"DROP CONSTRAINT `{name}`")
    assert typed_snapshot(cfg) == ([], [], [])

    csv = tmp_path / "csv"
    res = CliRunner().invoke(main, ["load", str(corpus_build), "--bulk", "--csv-dir", str(csv)], env=env)
    assert res.exit_code == 0, res.output
    proj = project(read_graph(corpus_build))
    assert f"imported {len(proj.nodes)} nodes and {len(proj.rels)} relationships from 3 document(s)" in res.output
    assert typed_snapshot(cfg) == batched
    files = sorted(p.name for p in csv.iterdir())
    assert "import.args" in files and "constraints.cypher" in files
    assert "nodes-Official-Person-1.csv" in files and "relationships-HOLDS_POST-1.csv" in files
    # a partial date (a string) and a full date of one property keep their types (in two files)
    mixed = run(cfg, "MATCH (n) UNWIND keys(n) AS k WITH k, collect(DISTINCT valueType(n[k])) AS ts "
                     "WHERE size(ts) > 1 RETURN k, ts")
    assert {r["k"]: sorted(r["ts"]) for r in mixed}["startDate"] == ["DATE NOT NULL", "STRING NOT NULL"]

    res = CliRunner().invoke(main, ["load", str(corpus_build), "--bulk", "--csv-dir", str(csv)], env=env)
    assert res.exit_code == 2
    assert res.output.strip() == (
        f"Error: database 'neo4j' at {cfg.uri} holds {len(proj.nodes)} nodes; kg load --bulk writes only into an "
        "empty database (use kg load without --bulk, or empty the database first: scripts/neo4j-local reset for "
        "the local server)")
    res = CliRunner().invoke(main, ["load", str(corpus_build)], env=env)
    assert res.exit_code == 0 and "3 of the documents were already loaded" in res.output
    assert typed_snapshot(cfg) == batched


def test_bulk_load_for_another_server_writes_the_files_and_prints_the_command(neo4j_db: Neo4jConfig,
                                                                              tmp_path: Path) -> None:
    """A server that is not scripts/neo4j-local's (here the same server behind a relay on another port):
    the CSV files and the exact neo4j-admin command, nothing imported."""
    host, port = neo4j_db.uri.split("://")[1].split(":")
    proxy = KillableProxy(host, int(port))
    try:
        env = _env(neo4j_db) | {"NEO4J_URI": f"bolt://127.0.0.1:{proxy.port}"}
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "graph.ttl").write_bytes(SAMPLE.read_bytes())
        res = CliRunner().invoke(main, ["load", str(tmp_path / "out"), "--bulk"], env=env)
    finally:
        proxy.close()
    assert res.exit_code == 0, res.output
    csv = tmp_path / "out" / "neo4j-import"
    args = (csv / "import.args").read_text(encoding="utf-8").splitlines()
    command = next(line.strip() for line in res.output.splitlines() if line.strip().startswith("neo4j-admin "))
    assert command == " ".join(["neo4j-admin database import full --overwrite-destination=true", *args, "neo4j"])
    listed = sorted(a.split("=")[-1] for a in args if a.startswith(("--nodes=", "--relationships=")))
    assert listed == sorted(p.name for p in csv.glob("*.csv"))
    assert "wrote 21 nodes and 46 relationships from 2 document(s)" in res.output
    assert "constraints.cypher" in res.output
    assert counts(neo4j_db) == (0, 0)
    # a folder that kg did not write is never replaced
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep", encoding="utf-8")
    res = CliRunner().invoke(main, ["load", str(tmp_path / "out"), "--bulk", "--csv-dir", str(other)],
                             env=_env(neo4j_db))
    assert res.exit_code == 2 and "is not a folder written by kg load --bulk" in res.output
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep"
