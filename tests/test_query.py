"""kg.readers.query and ``kg query``: read-only SPARQL over build outputs, on both engines."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import COPIES
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import XSD
from rdflib.query import Result

from kg.cli import main
from kg.errors import QueryError, ReadError
from kg.readers.query import (
    ENGINES,
    MAX_QUERY_CHARS,
    MAX_QUERY_DEPTH,
    Limits,
    QueryLimitError,
    QueryRefusedError,
    QueryResult,
    QuerySyntaxError,
    QueryTimeoutError,
    SparqlStore,
    _blank_out,
    _width,
    parse_binding,
    query_depth,
    query_form,
    read_query_file,
    resolve_graph_path,
    run_query,
    run_query_bounded,
    serialize,
    shorten,
    xml_safe,
)

ROOT = Path(__file__).resolve().parent.parent
QUERIES = sorted((ROOT / "queries").glob("*.rq"))
ID = "https://w3id.org/dipkg/id/"
DIP = "https://w3id.org/dipkg/ontology#"

# Two documents, each in its own named graph, as graph.trig is written (docs/MODEL.md).
TRIG = """\
@prefix dip: <https://w3id.org/dipkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@base <https://w3id.org/dipkg/id/> .

<doc/A> {
  <doc/A> a dip:Document .
  <person/Q473239> a dip:Official ; rdfs:label "ポンペオ"@ja ; dip:holds <position/p1> .
  <position/p1> a dip:Position ; dip:title "国務長官"@ja ; dip:postIn <state/US> ;
      prov:wasDerivedFrom <doc/A> .
  <state/US> a dip:State ; rdfs:label "アメリカ"@ja .
}
<doc/B> {
  <doc/B> a dip:Document .
  <person/ラブロフ> a dip:Official ; rdfs:label "ラブロフ"@ja ; dip:holds <position/p2> .
  <position/p2> a dip:Position ; dip:title "外相"@ja ; dip:postIn <state/RU> ;
      prov:wasDerivedFrom <doc/B> .
  <state/RU> a dip:State ; rdfs:label "ロシア"@ja .
  <state/US> a dip:State ; rdfs:label "アメリカ"@ja, "米国"@ja .
}
"""

# graph.ttl of those two documents: their merged graph, as the build writes it. The merged graph
# may say less than the union of the documents' graphs (here: document B's second label of the
# United States is not in it), so the default graph must be graph.ttl, not that union.
MERGED = """\
@prefix dip: <https://w3id.org/dipkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@base <https://w3id.org/dipkg/id/> .

<doc/A> a dip:Document .
<doc/B> a dip:Document .
<person/Q473239> a dip:Official ; rdfs:label "ポンペオ"@ja ; dip:holds <position/p1> .
<position/p1> a dip:Position ; dip:title "国務長官"@ja ; dip:postIn <state/US> ; prov:wasDerivedFrom <doc/A> .
<person/ラブロフ> a dip:Official ; rdfs:label "ラブロフ"@ja ; dip:holds <position/p2> .
<position/p2> a dip:Position ; dip:title "外相"@ja ; dip:postIn <state/RU> ; prov:wasDerivedFrom <doc/B> .
<state/US> a dip:State ; rdfs:label "アメリカ"@ja .
<state/RU> a dip:State ; rdfs:label "ロシア"@ja .
"""


@pytest.fixture
def trig_dir(tmp_path: Path) -> Path:
    """A build directory as an older kg wrote it: graph.ttl (merged) and graph.trig (per document), no store."""
    (tmp_path / "graph.trig").write_text(TRIG, encoding="utf-8")
    (tmp_path / "graph.ttl").write_text(MERGED, encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module", params=ENGINES)
def sample(request: pytest.FixtureRequest) -> SparqlStore:
    """The hand-written sample graph, loaded once per engine."""
    return SparqlStore.open(ROOT / "tests" / "data" / "sample.ttl", request.param)


def _rows(result: QueryResult) -> list[tuple[str | None, ...]]:
    return [tuple(None if t is None else str(t) for t in row) for row in result.rows]


# --------------------------------------------------------------------------------- loading


def test_a_build_directory_is_read_from_its_store(trig_dir: Path) -> None:
    assert resolve_graph_path(trig_dir) == trig_dir  # an older build: its store is added on first open
    assert SparqlStore.open(trig_dir).source == trig_dir / "store"
    assert resolve_graph_path(trig_dir) == trig_dir / "store"


def test_an_empty_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match=rf"{tmp_path}: not a kg build \(no store/ and no graph.ttl in it\)"):
        resolve_graph_path(tmp_path)


def test_a_missing_path_and_an_unknown_file_type_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="no such file or directory"):
        SparqlStore.open(tmp_path / "nope.ttl")
    odd = tmp_path / "graph.xlsx"
    odd.write_text("x")
    with pytest.raises(ReadError, match=r"graph.xlsx: unknown RDF file type '.xlsx'"):
        SparqlStore.open(odd)


def test_bad_rdf_is_an_error_naming_the_file_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("<urn:a> <urn:b> .\n", encoding="utf-8")
    with pytest.raises(ReadError, match=rf"{bad}: not valid turtle RDF: .*"):
        SparqlStore.open(bad)


def test_an_unknown_engine_is_refused(trig_dir: Path) -> None:
    with pytest.raises(QueryError, match="unknown SPARQL engine 'jena'"):
        SparqlStore.open(trig_dir, "jena")


@pytest.mark.parametrize("suffix,text", [
    (".nt", f"<{ID}person/X> <{DIP}title> \"外相\"@ja .\n"),
    (".nq", f"<{ID}person/X> <{DIP}title> \"外相\"@ja <{ID}doc/A> .\n"),
    (".jsonld", json.dumps({"@id": f"{ID}person/X", f"{DIP}title": {"@value": "外相", "@language": "ja"}})),
])
@pytest.mark.parametrize("engine", ENGINES)
def test_single_files_of_each_format_can_be_queried(tmp_path: Path, suffix: str, text: str, engine: str) -> None:
    f = tmp_path / f"g{suffix}"
    f.write_text(text, encoding="utf-8")
    res = run_query(f, "SELECT ?t WHERE { ?p dip:title ?t }", engine=engine)
    assert res.rows == ((Literal("外相", lang="ja"),),)


# ------------------------------------------------------------------------- query semantics


@pytest.mark.parametrize("engine", ENGINES)
def test_prefixes_are_pre_bound_and_the_default_graph_is_the_merged_graph(trig_dir: Path, engine: str) -> None:
    res = run_query(
        trig_dir, "SELECT ?name ?title WHERE { ?p rdfs:label ?name ; dip:holds/dip:title ?title } ORDER BY ?name",
        engine=engine,
    )
    assert res.variables == ("name", "title")
    assert _rows(res) == [("ポンペオ", "国務長官"), ("ラブロフ", "外相")]
    # each triple once, though both documents hold it; the label of graph.ttl only
    res = run_query(trig_dir, "SELECT ?s ?l WHERE { ?s a dip:State ; rdfs:label ?l } ORDER BY ?l", engine=engine)
    assert _rows(res) == [(f"{ID}state/US", "アメリカ"), (f"{ID}state/RU", "ロシア")]


@pytest.mark.parametrize("engine", ENGINES)
def test_graph_doc_selects_the_named_graph_of_each_document(trig_dir: Path, engine: str) -> None:
    res = run_query(
        trig_dir, "SELECT ?doc ?label WHERE { GRAPH ?doc { ?s a dip:State ; rdfs:label ?label } } ORDER BY ?doc ?label",
        engine=engine,
    )
    assert _rows(res) == [(f"{ID}doc/A", "アメリカ"), (f"{ID}doc/B", "アメリカ"), (f"{ID}doc/B", "ロシア"),
                          (f"{ID}doc/B", "米国")]


def test_ask_construct_and_describe(sample: SparqlStore) -> None:
    assert sample.query("ASK { ?p dip:holds ?pos }").boolean is True
    assert sample.query("ASK { ?p dip:holds dip:Nothing }").boolean is False
    c = sample.query("CONSTRUCT { ?p dip:represents ?s } WHERE { ?p dip:represents ?s }")
    assert c.form == "CONSTRUCT" and len(c.triples) == 5
    assert (URIRef(f"{ID}person/Q473239"), URIRef(f"{DIP}represents"), URIRef(f"{ID}state/US")) in c.triples
    d = sample.query(f"DESCRIBE <{ID}place/ピョンヤン>")
    assert d.form == "DESCRIBE"
    assert {(str(p), str(o)) for _, p, o in d.triples} >= {
        (f"{DIP}locatedIn", f"{ID}state/KP"),
        ("http://www.w3.org/2004/02/skos/core#altLabel", "平壌"),
    }


def test_bindings_are_passed_as_values_not_pasted_into_the_text(sample: SparqlStore) -> None:
    q = "SELECT ?p ?label WHERE { ?p rdfs:label|skos:altLabel ?label FILTER(STR(?label) = STR(?label)) }"
    hostile = Literal('x" } ; DROP ALL ; #')
    res = sample.query(q, bindings={"label": hostile})
    assert res.rows == ()
    res = sample.query(q, bindings={"label": Literal("平壌", lang="ja")})
    assert _rows(res) == [(f"{ID}place/ピョンヤン", "平壌")]


def test_max_rows_keeps_the_first_rows_and_says_it_truncated(sample: SparqlStore) -> None:
    res = sample.query("SELECT ?s WHERE { ?s a dip:Official } ORDER BY ?s", max_rows=2)
    assert len(res.rows) == 2 and res.truncated
    res = sample.query("SELECT ?s WHERE { ?s a dip:Official }", max_rows=5)
    assert len(res.rows) == 5 and not res.truncated


# ------------------------------------------------------------------------ refused queries


@pytest.mark.parametrize("update", [
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "DELETE WHERE { ?s ?p ?o }",
    "delete { ?s ?p ?o } where { ?s ?p ?o }",
    "LOAD <file:///etc/passwd>",
    "CLEAR ALL",
    "DROP GRAPH <urn:g>",
    "CREATE GRAPH <urn:g>",
    "ADD DEFAULT TO <urn:g>",
    "MOVE DEFAULT TO <urn:g>",
    "COPY DEFAULT TO <urn:g>",
    "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://example.org/#>\n# a comment with SELECT in it\nBASE <http://x/>\nINSERT DATA { ex:a ex:b ex:c }",
])
def test_updates_are_refused_and_change_nothing(sample: SparqlStore, update: str) -> None:
    before = sample.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows
    with pytest.raises(QueryRefusedError, match="updates are refused"):
        sample.query(update)
    assert sample.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows == before


@pytest.mark.parametrize("q", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o . service silent <http://example.org/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o.SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
])
def test_service_calls_are_refused(sample: SparqlStore, q: str) -> None:
    with pytest.raises(QueryRefusedError, match="SERVICE is refused"):
        sample.query(q)


def test_keywords_inside_strings_iris_comments_and_names_are_not_mistaken(sample: SparqlStore) -> None:
    q = (
        "# INSERT DATA { } SERVICE\n"
        "SELECT ?service WHERE { ?service rdfs:label ?l "
        "FILTER(?l != \"SERVICE <x> { }\" && ?service != <urn:SERVICE>) } LIMIT 1"
    )
    assert query_form(q) == "SELECT"
    assert len(sample.query(q).rows) == 1


def test_from_does_not_read_files(sample: SparqlStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside.ttl"
    outside.write_text("<urn:secret> <urn:p> \"leaked\" .\n", encoding="utf-8")
    res = sample.query("SELECT ?o WHERE { ?s ?p ?o }".replace("WHERE", f"FROM <{outside.as_uri()}> WHERE"))
    assert all(str(o) != "leaked" for (o,) in res.rows)


@pytest.mark.parametrize("bad", ["SELECT ?x WHERE { ?x ?y }", "SELECT ?x WHERE { ?x nope:p ?y }"])
def test_a_malformed_query_is_a_query_error_with_the_parser_message(sample: SparqlStore, bad: str) -> None:
    with pytest.raises(QueryError, match="malformed query|the query failed") as info:
        sample.query(bad)
    assert len(str(info.value)) > len("malformed query: ")


@pytest.mark.parametrize("text", ["", "   # only a comment\n", "HELLO { }"])
def test_text_that_is_not_a_query_is_a_syntax_error(text: str) -> None:
    with pytest.raises(QuerySyntaxError, match="not a SPARQL query"):
        query_form(text)


# ------------------------------------------------------------------------ engines agree


def _canonical(result: QueryResult) -> object:
    if result.is_graph:
        g = Graph()
        for t in result.triples:
            g.add(t)
        return g
    if result.form == "ASK":
        return result.boolean
    return (result.variables, sorted(result.rows, key=repr))


EXTRA_QUERIES = [
    "SELECT ?type (COUNT(?s) AS ?n) WHERE { ?s a ?type } GROUP BY ?type",
    "SELECT ?m ?d WHERE { ?m dip:startDate ?d FILTER(DATATYPE(?d) = xsd:date && ?d >= \"2018-05-31\"^^xsd:date) }",
    "SELECT ?s ?conf WHERE { ?s dip:confidence ?conf FILTER(?conf > 0.8) }",
    "SELECT ?p (COUNT(?alt) AS ?n) WHERE { ?p a dip:Official OPTIONAL { ?p skos:altLabel ?alt } } GROUP BY ?p",
    "SELECT ?s ?l WHERE { ?s rdfs:label ?l FILTER(REGEX(?l, \"^キム\") || CONTAINS(STR(?s), \"Q47\")) }",
    "SELECT ?v ?dest WHERE { ?v a dip:Visit ; dip:destination ?dest MINUS { ?v dip:kind ?k } }",
    "ASK { ?q dip:speakerDescription \"国務省の高官\"@ja }",
    "CONSTRUCT { ?p dip:represents ?s } WHERE { ?p dip:represents ?s }",
    f"DESCRIBE <{ID}person/Q473239>",
]


@pytest.mark.parametrize("query", [q.name for q in QUERIES] + EXTRA_QUERIES)
def test_oxigraph_and_rdflib_give_the_same_results(query: str) -> None:
    text = (ROOT / "queries" / query).read_text(encoding="utf-8") if query.endswith(".rq") else query
    sample_ttl = ROOT / "tests" / "data" / "sample.ttl"
    ox_res = SparqlStore.open(sample_ttl, "oxigraph").query(text)
    rd_res = SparqlStore.open(sample_ttl, "rdflib").query(text)
    a, b = _canonical(ox_res), _canonical(rd_res)
    if isinstance(a, Graph):
        assert isomorphic(a, b)  # type: ignore[arg-type]
    else:
        assert a == b
    if "ORDER BY" in text:
        assert ox_res.rows == rd_res.rows


# ---------------------------------------------------------------- the example queries


def test_every_example_query_has_a_comment_header() -> None:
    assert {q.name for q in QUERIES} >= {"meetings.rq", "posts.rq", "quotes.rq", "quotes_by_speaker.rq"}
    for q in QUERIES:
        first = q.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# ") and len(first) > 20, q.name


def test_meetings_says_who_met_whom_when_and_where(sample: SparqlStore) -> None:
    res = sample.query(read_query_file(ROOT / "queries" / "meetings.rq"))
    got = {
        (r["kind"], r["aName"], r["bName"], r["start"], r["placeName"], r["status"])
        for r in (dict(zip(res.variables, (None if t is None else str(t) for t in row), strict=True))
                  for row in res.rows)
    }
    assert got == {
        ("夕食会", "ポンペオ", "キム・ヨンチョル", "2018-05-30", "ニューヨーク", f"{DIP}Held"),
        ("首脳会談", "北朝鮮", "アメリカ", "2018-06", None, f"{DIP}Planned"),
    }


def test_posts_lists_each_post_held_with_its_state_or_organization(sample: SparqlStore) -> None:
    res = sample.query(read_query_file(ROOT / "queries" / "posts.rq"))
    got = [tuple(str(t) for t in row[:3]) for row in res.rows]
    assert got == [
        ("キム・ヨンチョル", "副委員長", "朝鮮労働党"),
        ("ポンペオ", "国務長官", "アメリカ"),
        ("ポンペオ", "長官", "アメリカ"),
        ("ラブロフ", "外相", "ロシア"),
    ]


def test_quotes_lists_everything_said_with_the_sentence(sample: SparqlStore) -> None:
    res = sample.query(read_query_file(ROOT / "queries" / "quotes.rq"))
    by_text = {str(r[2]): r for r in res.rows}
    assert set(by_text) == {
        "とてもよかった",
        "非核化は一度にはできず、段階的に進めるべきだ",
        "この2人で、2週間先の首脳会談に向けて必要なことは何か確認している",
    }
    assert str(by_text["とてもよかった"][0]) == "ポンペオ"
    assert "「とてもよかった」" in str(by_text["とてもよかった"][5])
    unattributed = by_text["この2人で、2週間先の首脳会談に向けて必要なことは何か確認している"]
    assert unattributed[0] is None and str(unattributed[1]) == "国務省の高官"


@pytest.mark.parametrize("name", ["ポンペオ", "ポンペイオ", "ポンペイ"])
def test_quotes_by_speaker_finds_a_person_by_any_spelling(sample: SparqlStore, name: str) -> None:
    res = sample.query(read_query_file(ROOT / "queries" / "quotes_by_speaker.rq"), bindings={"name": Literal(name)})
    assert [(str(r[1]), str(r[2])) for r in res.rows] == [("ポンペオ", "とてもよかった")]


def test_quotes_by_speaker_finds_nothing_for_an_unknown_name(sample: SparqlStore) -> None:
    res = sample.query(read_query_file(ROOT / "queries" / "quotes_by_speaker.rq"), bindings={"name": Literal("誰か")})
    assert res.rows == ()


# ----------------------------------------------------------------------- output formats


def test_shorten_uses_the_longest_matching_prefix() -> None:
    assert shorten(f"{ID}person/Q473239") == "id:person/Q473239"
    assert shorten(f"{DIP}holds") == "dip:holds"
    assert shorten("http://example.org/x") == "<http://example.org/x>"


def test_table_aligns_wide_characters_and_shows_terms_plainly(sample: SparqlStore) -> None:
    res = sample.query("SELECT ?p ?name ?d WHERE { ?p rdfs:label ?name ; dip:represents ?s "
                       "OPTIONAL { ?q dip:speaker ?p ; dip:date ?d } FILTER(LANG(?name) = \"ja\") } ORDER BY ?name")
    text = serialize(res, "table")
    lines = text.splitlines()
    assert lines[0].split() == ["p", "name", "d"]
    assert re.search(r"^id:person/Q473239 +ポンペオ +2018-05-30$", text, re.MULTILINE)
    assert "@ja" not in text and "^^" not in text and "<https" not in text
    col = lines[0].index("name")  # the header is ASCII: characters are columns
    for (p, name, _), line in zip(_rows(res), lines[2:-1], strict=True):
        shown_p = shorten(p)
        assert line.startswith(shown_p)
        # the name starts at the same display column in every row (wide characters count 2)
        assert _width(line[: line.index(name, len(shown_p))]) == col
    assert lines[-1] == "(5 rows)"


def test_csv_tsv_json_xml_are_the_sparql_result_formats(sample: SparqlStore) -> None:
    res = sample.query("SELECT ?p ?name ?d WHERE { ?p rdfs:label ?name FILTER(LANG(?name) = \"ja\") "
                       "OPTIONAL { ?q dip:speaker ?p ; dip:date ?d } } ORDER BY ?name")
    rows = list(csv.reader(io.StringIO(serialize(res, "csv"))))
    assert rows[0] == ["p", "name", "d"]
    assert [f"{ID}person/Q473239", "ポンペオ", "2018-05-30"] in rows
    tsv = serialize(res, "tsv").splitlines()
    assert tsv[0] == "?p\t?name\t?d"
    assert f'<{ID}person/Q473239>\t"ポンペオ"@ja\t"2018-05-30"^^<{XSD.date}>' in tsv
    doc = json.loads(serialize(res, "json"))
    assert doc["head"]["vars"] == ["p", "name", "d"]
    pompeo = next(b for b in doc["results"]["bindings"] if b["name"]["value"] == "ポンペオ")
    assert pompeo["name"] == {"type": "literal", "value": "ポンペオ", "xml:lang": "ja"}
    assert pompeo["d"] == {"type": "literal", "value": "2018-05-30", "datatype": str(XSD.date)}
    no_date = next(b for b in doc["results"]["bindings"] if b["name"]["value"] == "アメリカ")
    assert "d" not in no_date
    root = ET.fromstring(serialize(res, "xml"))
    ns = "{http://www.w3.org/2005/sparql-results#}"
    assert [v.get("name") for v in root.iter(f"{ns}variable")] == ["p", "name", "d"]
    assert len(list(root.iter(f"{ns}result"))) == len(res.rows)
    # rdflib's own parsers read our output back to the same rows
    for fmt in ("json", "xml", "csv", "tsv"):
        back = Result.parse(io.StringIO(serialize(res, fmt)), format=fmt)
        assert len(list(back)) == len(res.rows), fmt


def test_ask_and_graph_results_in_each_format(sample: SparqlStore) -> None:
    ask = sample.query("ASK { ?s a dip:Summit }")
    assert serialize(ask, "table") == "true\n"
    assert json.loads(serialize(ask, "json")) == {"head": {}, "boolean": True}
    c = sample.query("CONSTRUCT { ?p dip:represents ?s } WHERE { ?p dip:represents ?s }")
    turtle = serialize(c, "table")
    assert isomorphic(Graph().parse(data=turtle, format="turtle"), c.graph())
    nt = serialize(c, "ntriples")
    assert len(nt.splitlines()) == 5
    assert isomorphic(Graph().parse(data=serialize(c, "json"), format="json-ld"), c.graph())
    with pytest.raises(QueryError, match="--format turtle needs a CONSTRUCT or DESCRIBE"):
        serialize(ask, "turtle")


safe_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(text=safe_text, lang=st.sampled_from([None, "ja", "en-US"]))
def test_literals_round_trip_through_json_xml_and_tsv(text: str, lang: str | None) -> None:
    lit = Literal(text, lang=lang)
    res = QueryResult(form="SELECT", variables=("x",), rows=((lit,),))
    for fmt in ("json", "xml", "tsv"):
        back = list(Result.parse(io.StringIO(serialize(res, fmt)), format=fmt))
        # XML 1.0 cannot carry most C0 controls at all: they come back as U+FFFD, the rest exactly
        want = Literal(xml_safe(text), lang=lang) if fmt == "xml" else lit
        assert back[0][0] == want, fmt


# ------------------------------------------------------------------------- bindings parse


def test_parse_binding_reads_iris_prefixed_names_and_literals() -> None:
    assert parse_binding("speaker=id:person/Q473239") == ("speaker", URIRef(f"{ID}person/Q473239"))
    assert parse_binding("s=<http://example.org/a>") == ("s", URIRef("http://example.org/a"))
    assert parse_binding("name=ポンペイオ") == ("name", Literal("ポンペイオ"))
    assert parse_binding('?name="ポンペオ"@ja') == ("name", Literal("ポンペオ", lang="ja"))
    assert parse_binding('x="id:not-an-iri"') == ("x", Literal("id:not-an-iri"))
    with pytest.raises(QueryError, match="bad binding 'oops'"):
        parse_binding("oops")
    with pytest.raises(QueryError, match="bad binding"):
        parse_binding("1x=2")


# ---------------------------------------------------------------------------------- CLI


def test_cli_query_prints_a_table(trig_dir: Path) -> None:
    r = CliRunner().invoke(main, ["query", str(trig_dir), "SELECT ?t WHERE { ?p dip:title ?t } ORDER BY ?t"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[2:4] == ["国務長官", "外相"]


def test_cli_query_from_a_file_with_a_binding_as_csv(sample_ttl: Path) -> None:
    r = CliRunner().invoke(main, ["query", str(sample_ttl), "-f", str(ROOT / "queries" / "quotes_by_speaker.rq"),
                                  "--bind", "name=ポンペイ", "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.output)))
    assert rows[0][:3] == ["name", "speakerName", "text"] and rows[1][:3] == ["ポンペイ", "ポンペオ", "とてもよかった"]


def test_cli_query_json_and_construct(sample_ttl: Path) -> None:
    r = CliRunner().invoke(main, ["query", str(sample_ttl), "ASK { ?s a dip:Visit }", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["boolean"] is True
    r = CliRunner().invoke(main, ["query", str(sample_ttl), "CONSTRUCT WHERE { ?s dip:isoCode ?c }"])
    assert r.exit_code == 0
    assert len(Graph().parse(data=r.output, format="turtle")) == 3


def test_cli_query_refuses_an_update_with_exit_code_2(sample_ttl: Path) -> None:
    r = CliRunner().invoke(main, ["query", str(sample_ttl), "DROP ALL"])
    assert r.exit_code == 2
    assert "Error: updates are refused" in r.output


def test_cli_query_reports_a_malformed_query_and_a_missing_graph(sample_ttl: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["query", str(sample_ttl), "SELECT ?x WHERE { ?x }"])
    assert r.exit_code == 2 and "Error: malformed query: error at 1:" in r.output
    r = CliRunner().invoke(main, ["query", str(tmp_path / "none"), "SELECT * {}"])
    assert r.exit_code == 2 and "no such file or directory" in r.output


def test_cli_query_needs_exactly_one_query(sample_ttl: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["query", str(sample_ttl)])
    assert r.exit_code == 2 and "exactly one" in r.output
    q = tmp_path / "q.rq"
    q.write_text("ASK {}")
    r = CliRunner().invoke(main, ["query", str(sample_ttl), "ASK {}", "-f", str(q)])
    assert r.exit_code == 2 and "exactly one" in r.output
    r = CliRunner().invoke(main, ["query", str(sample_ttl), "-f", str(tmp_path / "missing.rq")])
    assert r.exit_code == 2 and "missing.rq: cannot read the query file" in r.output


def test_cli_query_warns_when_rows_were_cut(sample_ttl: Path) -> None:
    r = CliRunner().invoke(main, ["query", str(sample_ttl), "SELECT ?s WHERE { ?s a dip:Official }",
                                  "--max-rows", "2", "--format", "tsv"])
    assert r.exit_code == 0
    assert len(r.stdout.splitlines()) == 3
    assert "only the first 2 results" in r.stderr


#: A label as an article could carry it: an escape sequence that clears the screen and sets the
#: terminal's title, a bell, a carriage return that would overwrite the line, a C1 control, a
#: right-to-left override, and characters XML 1.0 cannot hold (NUL, form feed, U+FFFF).
HOSTILE = "\x1b[2J\x1b]0;pwned\x07名前\r上書き\x9b31m\u202eabc\x00\x0c\uffff"
HOSTILE_TTL = ('@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
               '<https://w3id.org/dipkg/id/person/X> rdfs:label "'
               + "".join(f"\\u{ord(c):04X}" for c in HOSTILE) + '"@ja .\n')


def _kg_query(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "kg.cli", "query", *args], capture_output=True, timeout=120,
                          cwd=ROOT, check=False)


def test_control_characters_in_the_data_are_shown_escaped_in_the_table(tmp_path: Path) -> None:
    graph = tmp_path / "hostile.ttl"
    graph.write_text(HOSTILE_TTL, encoding="utf-8")
    proc = _kg_query(str(graph), "SELECT ?p ?name WHERE { ?p rdfs:label ?name }")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]", out), repr(out)
    assert r"\x1b[2J\x1b]0;pwned\x07名前\x0d上書き\x9b31m\u202eabc\x00\x0c" in out
    assert out.splitlines()[-1] == "(1 row)"
    # a graph result shown as Turtle: the same characters as \\u escapes, which read back as they were
    proc = _kg_query(str(graph), "CONSTRUCT WHERE { ?p rdfs:label ?name }")
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 0 and not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]", out), repr(out)
    assert str(next(iter(Graph().parse(data=out, format="turtle").objects()))) == HOSTILE
    # the machine formats keep the data as it is
    proc = _kg_query(str(graph), "SELECT ?name WHERE { ?p rdfs:label ?name }", "--format", "json")
    assert json.loads(proc.stdout)["results"]["bindings"][0]["name"]["value"] == HOSTILE


@pytest.mark.parametrize("query", ["SELECT ?p ?name WHERE { ?p rdfs:label ?name }", "CONSTRUCT WHERE { ?p rdfs:label ?name }"])
def test_xml_answers_stay_well_formed_whatever_the_data_holds(tmp_path: Path, query: str) -> None:
    graph = tmp_path / "hostile.ttl"
    graph.write_text(HOSTILE_TTL, encoding="utf-8")
    proc = _kg_query(str(graph), query, "--format", "xml")
    assert proc.returncode == 0, proc.stderr
    doc = ET.fromstring(proc.stdout)  # well-formed
    texts = [e.text for e in doc.iter() if e.text and "pwned" in e.text]
    assert texts == [xml_safe(HOSTILE)]
    assert "\ufffd" in texts[0] and "\r上書き" in texts[0]  # NUL, form feed, U+FFFF replaced; CR kept


def test_query_and_serve_help_show_an_example() -> None:
    for cmd in ("query", "serve"):
        r = CliRunner().invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Example" in r.output and f"kg {cmd}" in r.output


# --------------------------------------------------------------- the real seed build


@pytest.mark.slow
def test_example_queries_answer_on_the_seed_build(seed_build: Path) -> None:
    store = SparqlStore.open(seed_build)
    assert store.source == seed_build / "store"
    meetings = store.query(read_query_file(ROOT / "queries" / "meetings.rq"))
    names = {(str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[6]), str(r[7])) for r in meetings.rows}
    assert ("夕食会", "ポンペオ", "金英哲", "2018-05-30", "ニューヨーク", f"{DIP}Held") in names
    posts = {tuple(str(t) for t in r[:3]) for r in store.query(read_query_file(ROOT / "queries" / "posts.rq")).rows}
    assert ("ポンペオ", "国務長官", "アメリカ") in posts
    said = store.query(read_query_file(ROOT / "queries" / "quotes_by_speaker.rq"), bindings={"name": Literal("ポンペイオ")})
    assert "とてもよかった" in {str(r[2]) for r in said.rows}
    docs = store.query("SELECT DISTINCT ?doc WHERE { GRAPH ?doc { ?m a dip:Meeting } }")
    assert _rows(docs) == [(f"{ID}doc/000_a87ea9164a9e83dc",)]


@pytest.mark.slow
@pytest.mark.parametrize("name", [q.name for q in QUERIES])
def test_engines_agree_on_the_seed_build(seed_build: Path, name: str) -> None:
    text = read_query_file(ROOT / "queries" / name)
    bindings = {"name": Literal("ポンペイオ")} if name == "quotes_by_speaker.rq" else {}
    ox_res = SparqlStore.open(seed_build, "oxigraph").query(text, bindings=bindings)
    rd_res = SparqlStore.open(seed_build, "rdflib").query(text, bindings=bindings)
    assert ox_res.rows and ox_res.rows == rd_res.rows


# ------------------------------------------------- multi-article builds: graph.ttl's answers, once


def _bindings_for(name: str) -> dict[str, Literal]:
    return {"name": Literal("ポンペイオ")} if name == "quotes_by_speaker.rq" else {}


def _rdflib_rows(graph: Graph, text: str, bindings: dict[str, Literal]) -> list[tuple[object, ...]]:
    """The rows rdflib's own engine gives on a graph (the reference the store must agree with)."""
    from kg.namespaces import PREFIXES

    res = graph.query(text, initNs=PREFIXES, initBindings=bindings)
    return [tuple(row) for row in res]


@pytest.mark.slow
@pytest.mark.parametrize("name", [q.name for q in QUERIES])
def test_example_queries_give_the_rows_of_graph_ttl_on_a_multi_article_build(corpus_build: Path, name: str) -> None:
    text = read_query_file(ROOT / "queries" / name)
    bindings = _bindings_for(name)
    reference = _rdflib_rows(Graph().parse(corpus_build / "graph.ttl"), text, bindings)
    for engine in ENGINES:
        rows = list(SparqlStore.open(corpus_build, engine).query(text, bindings=bindings).rows)
        assert sorted(rows, key=repr) == sorted(reference, key=repr), engine
        assert rows and len(set(rows)) == len(rows), engine  # no row twice


@pytest.mark.slow
def test_counts_are_those_of_graph_ttl_and_graph_doc_finds_each_document(corpus_build: Path) -> None:
    graph = Graph().parse(corpus_build / "graph.ttl")
    officials = len(set(graph.subjects(URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                                       URIRef(f"{DIP}Official"))))
    for engine in ENGINES:
        store = SparqlStore.open(corpus_build, engine)
        (n,) = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?p a dip:Official }").rows[0]
        assert int(n) == officials > 0, engine  # type: ignore[arg-type]
        (n,) = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows[0]
        assert int(n) == len(graph), engine  # type: ignore[arg-type]
        docs = store.query("SELECT DISTINCT ?doc WHERE { GRAPH ?doc { ?s a dip:Document } }").rows
        assert len(docs) == 3, engine


def _without_per_document_iris(variables: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> set[tuple[object, ...]]:
    """Rows less the columns naming per-document nodes (documents, quotes, undated meetings)."""
    keep = [i for i, v in enumerate(variables) if v not in ("doc", "quote", "meeting")]
    return {tuple(row[i] for i in keep) for row in rows}


@pytest.mark.slow
@pytest.mark.parametrize("name", [q.name for q in QUERIES])
def test_twenty_copies_answer_what_one_copy_answers(corpus_build: Path, corpus_copies_build: Path,
                                                      name: str) -> None:
    """A corpus of 20 copies of the articles says what one copy says: the same rows, once the nodes
    made per document are left out, and never a row more than graph.ttl holds."""
    text = read_query_file(ROOT / "queries" / name)
    bindings = _bindings_for(name)
    one = SparqlStore.open(corpus_build).query(text, bindings=bindings)
    many = SparqlStore.open(corpus_copies_build).query(text, bindings=bindings)
    assert _without_per_document_iris(many.variables, many.rows) == _without_per_document_iris(one.variables, one.rows)
    assert len(set(many.rows)) == len(many.rows)
    if name == "posts.rq":  # posts are not per document: exactly the rows of one copy
        assert many.rows == one.rows
    reference = SparqlStore.open(corpus_copies_build / "graph.ttl").query(text, bindings=bindings)
    assert sorted(many.rows, key=repr) == sorted(reference.rows, key=repr)


@pytest.fixture(scope="module")
def text_copies_build(tmp_path_factory: pytest.TempPathFactory, corpus_inputs: list[Path]) -> Path:
    """A build (``out``) of 20 copies of every text of the multi-article corpus, as a syndicated story
    arrives: each copy under a file name of its own in a folder of its own, half of them without a
    sidecar; and (``one``) a build of the first copy alone."""
    from kg.build.pipeline import build

    tmp = tmp_path_factory.mktemp("text-copies")
    texts = sorted(p for folder in corpus_inputs for p in folder.glob("*.txt"))
    for k in range(COPIES):
        folder = tmp / "in" / f"outlet{k:02d}"
        folder.mkdir(parents=True)
        for t in texts:
            (folder / f"k{k:02d}_{t.name}").write_bytes(t.read_bytes())
            meta = t.with_suffix(".meta.json")
            if k % 2 == 0 and meta.exists():
                (folder / f"k{k:02d}_{meta.name}").write_bytes(meta.read_bytes())
    # the first copy of each text has its sidecar, so every document keeps the date one copy gives
    out = tmp / "out"
    result = build([tmp / "in"], out)
    assert result.conforms, result.summary_text
    assert result.documents == len(texts) == 3
    one = tmp / "one"  # the first copy alone: the same file names, so the same document ids
    assert build([tmp / "in" / "outlet00"], one).documents == 3
    return tmp


@pytest.mark.slow
@pytest.mark.parametrize("name", [q.name for q in QUERIES])
def test_twenty_copies_of_the_texts_answer_exactly_what_one_copy_answers(corpus_build: Path,
                                                                          text_copies_build: Path,
                                                                          name: str) -> None:
    """Copies of one text are one document: every example query gives the rows of one copy, row for
    row, through the store and through graph.ttl."""
    text = read_query_file(ROOT / "queries" / name)
    bindings = _bindings_for(name)
    one = SparqlStore.open(text_copies_build / "one").query(text, bindings=bindings)
    many = SparqlStore.open(text_copies_build / "out").query(text, bindings=bindings)
    assert one.rows, name
    assert many.variables == one.variables
    assert sorted(many.rows, key=repr) == sorted(one.rows, key=repr)
    assert len(one.rows) == len(SparqlStore.open(corpus_build).query(text, bindings=bindings).rows)
    in_memory = SparqlStore.open(text_copies_build / "out" / "graph.ttl").query(text, bindings=bindings)
    assert sorted(in_memory.rows, key=repr) == sorted(one.rows, key=repr)


@pytest.mark.slow
@pytest.mark.parametrize("name", [q.name for q in QUERIES])
def test_kg_query_on_twenty_copies_stays_under_one_gigabyte(corpus_copies_build: Path, name: str) -> None:
    """The whole command, its query process included: the largest resident memory among the children of
    a fresh interpreter that runs `kg query` (measured by the kernel)."""
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "sys.stderr.buffer.write(p.stderr)\n"
        "print(p.returncode, len(p.stdout.splitlines()), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    args = [sys.executable, "-c", probe, sys.executable, "-m", "kg.cli", "query", str(corpus_copies_build),
            "-f", str(ROOT / "queries" / name), "--format", "csv"]
    if name == "quotes_by_speaker.rq":
        args += ["--bind", "name=ポンペイオ"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT)
    code, lines, max_rss_kb = (int(x) for x in proc.stdout.split())
    assert code == 0, proc.stderr
    assert lines > 1
    assert max_rss_kb * 1024 < 2**30, f"{max_rss_kb // 1024} MB"


# ---------------------------------------------------------------------------- bounds of kg query

CARTESIAN_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CARTESIAN_SORTED = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f"


def kg(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


@pytest.mark.slow
def test_a_query_past_the_time_limit_is_stopped(corpus_build: Path) -> None:
    start = time.monotonic()
    r = CliRunner().invoke(main, ["query", str(corpus_build), CARTESIAN_COUNT, "--timeout", "1"])
    assert r.exit_code == 2
    assert r.output.startswith("Error: the query was stopped after 1.") and "--timeout" in r.output
    assert time.monotonic() - start < 30
    with pytest.raises(QueryTimeoutError):
        run_query_bounded(corpus_build, CARTESIAN_COUNT, limits=Limits(timeout=0.5))


@pytest.mark.slow
def test_a_query_past_the_memory_limit_is_stopped(corpus_build: Path) -> None:
    r = CliRunner().invoke(main, ["query", str(corpus_build), CARTESIAN_SORTED, "--max-memory", "150"])
    assert r.exit_code == 2, r.output
    assert r.output == ("Error: the query was stopped: it used more than 150 MB of memory (kg query --max-memory); "
                        "narrow it down (fewer variables, a LIMIT, no ORDER BY over everything) or raise the limit\n")


@pytest.mark.slow
def test_a_cartesian_select_is_cut_at_the_row_and_byte_bounds(corpus_build: Path) -> None:
    answer = run_query_bounded(corpus_build, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }", fmt="csv",
                               limits=Limits(max_rows=1000))
    assert answer.cut_by == "rows" and answer.rows == 1000
    assert len(answer.output.splitlines()) == 1001
    answer = run_query_bounded(corpus_build, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }",
                               limits=Limits(max_rows=None, max_bytes=100_000))
    assert answer.cut_by == "bytes" and 0 < len(answer.output) <= 100_000
    assert answer.peak_memory < 2**30
    r = CliRunner().invoke(main, ["query", str(corpus_build), "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }",
                                  "--max-bytes", "20000", "--format", "tsv"])
    assert r.exit_code == 0 and len(r.stdout.encode()) <= 20000
    assert "Warning: only the first" in r.stderr and "(--max-bytes 20000)" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_kg_query_stops_at_once_on_sigint_and_sigterm(corpus_build: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "query", str(corpus_build), CARTESIAN_COUNT],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            preexec_fn=_with_sigint)
    try:
        deadline = time.monotonic() + 60
        while not _query_processes(proc.pid) and time.monotonic() < deadline:  # the query is running
            time.sleep(0.1)
        time.sleep(1.0)
        workers = _children(proc.pid)
        assert _query_processes(proc.pid)
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert time.monotonic() - sent < 10
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.startswith("Error: interrupted") and "Traceback" not in err
    time.sleep(0.5)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"]


def _children(pid: int) -> list[int]:
    """The live descendants of ``pid`` (Linux /proc)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            out += [k, *_children(k)]
    return out


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


@pytest.mark.slow
def test_a_crash_of_the_query_process_is_a_clean_error(corpus_build: Path) -> None:
    """A query process that dies (here: killed with SIGSEGV from outside) is reported, never a crash."""
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "query", str(corpus_build), CARTESIAN_COUNT],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        found: list[int] = []
        while not found and time.monotonic() < deadline:
            time.sleep(0.2)
            found = _query_processes(proc.pid)
        (query_process,) = found
        time.sleep(0.5)
        os.kill(query_process, signal.SIGSEGV)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 2
    assert err == "Error: the query process died (SIGSEGV) before answering; the engine could not run this query " \
                  "(simplify it)\n"


def _query_processes(pid: int) -> list[int]:
    """The query processes ``kg query`` (process ``pid``) started (multiprocessing's spawned children)."""
    out = []
    for child in _children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.append(child)
        except OSError:
            pass
    return out


def _with_sigint() -> None:
    """In a child about to run kg: Ctrl-C as at a terminal (a shell starting background jobs ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --------------------------------------------------------------------------------- query depth


def _nested(depth: int) -> list[str]:
    return [
        "SELECT * WHERE " + "{" * depth + " ?s ?p ?o " + "}" * depth,
        "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * depth + "?o" + ")" * depth + ") }",
        "SELECT * WHERE { ?s ?p ?o FILTER(" + "STR(" * depth + "?o" + ")" * depth + ") }",
        "SELECT * WHERE { ?s ?p " + "( " * depth + ")" * depth + " }",
        "SELECT * WHERE { ?s ?p ?o FILTER(" + "!" * depth + "?o) }",
        "SELECT * WHERE { ?s ?p ?o FILTER(" + "- " * depth + "?o) }",
        "SELECT * WHERE \\u007B" * 1 + " ?s ?p ?o " + "}",  # one level, escaped: fine
    ]


@pytest.mark.parametrize("query", _nested(5000)[:-1] + _nested(40)[:-1])
def test_a_query_nested_too_deeply_is_refused_before_any_engine_sees_it(query: str) -> None:
    with pytest.raises(QueryLimitError, match=rf"the query is nested \d+ levels deep .*at most {MAX_QUERY_DEPTH}"):
        query_form(query)


@pytest.mark.parametrize("engine", ENGINES)
def test_kg_query_refuses_a_query_nested_5000_deep_with_exit_2_never_a_crash(sample_ttl: Path, engine: str) -> None:
    for q in _nested(5000)[:2]:  # both engines crashed (exit 139) or hung on these
        proc = kg("query", str(sample_ttl), q, "--engine", engine)
        assert proc.returncode == 2, (q[:40], proc.returncode, proc.stderr[-300:])
        assert proc.stderr.startswith("Error: the query is nested 5") and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_queries_nested_within_the_limit_still_run(sample_ttl: Path, engine: str) -> None:
    store = SparqlStore.open(sample_ttl, engine)
    assert query_depth(_blank_out(_nested(MAX_QUERY_DEPTH)[0])) == MAX_QUERY_DEPTH
    assert store.query(_nested(20)[0] + " LIMIT 1").rows
    assert store.query("SELECT * WHERE { ?s ?p ?o FILTER(?o != 1 && !BOUND(?x)) } LIMIT 1").rows


def test_a_query_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(QueryLimitError, match=f"at most {MAX_QUERY_CHARS} are accepted"):
        query_form("ASK {}" + " " * MAX_QUERY_CHARS)


# ------------------------------------------------------------ the rdflib engine's own failures


@pytest.mark.parametrize("query", [
    "SELECT (SUM(?o) AS ?x) WHERE { ?s ?p ?o }",
    'SELECT * WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), "(")) }',
])
def test_rdflib_engine_failures_are_one_line_errors(sample_ttl: Path, query: str) -> None:
    r = CliRunner().invoke(main, ["query", str(sample_ttl), query, "--engine", "rdflib"])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: the query failed: ") and r.output.count("\n") == 1
    assert "Traceback" not in r.output


# ---------------------------------------------------------- RDF files that ask for other files


@pytest.mark.parametrize("context", ["http://127.0.0.1:9/context.jsonld", "file:///dev/zero", "/etc/passwd"])
def test_a_jsonld_file_naming_a_context_elsewhere_is_refused_and_nothing_is_read(tmp_path: Path, context: str) -> None:
    f = tmp_path / "g.jsonld"
    f.write_text(json.dumps({"@context": context, "@id": "urn:a", "urn:p": "x"}), encoding="utf-8")
    r = CliRunner().invoke(main, ["query", str(f), "ASK { ?s ?p ?o }"])
    assert r.exit_code == 2
    assert r.output.startswith(f"Error: {f}: the JSON-LD context <{context}> is not loaded")
