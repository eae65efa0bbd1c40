"""Every example query (queries/*.rq) gives the same rows, in the same order, in three SPARQL stacks:
``kg query`` (Oxigraph, on the build's store), Apache Jena's ``arq`` (its own engine, on ``graph.ttl``;
scripts/jena-local) and rdflib's ``SPARQLStore`` over ``kg serve`` (a client that sends a binding as a
VALUES block after the query). So the queries are portable: a total order (dates compared as written,
names as strings, IRIs last), and every variable a client binds is bound in a pattern."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from kg.cli import main

ROOT = Path(__file__).resolve().parent.parent
QUERIES = sorted((ROOT / "queries").glob("*.rq"))
#: what each query needs bound (a name is given as a binding, never pasted into the text)
BINDINGS = {"quotes_by_speaker.rq": {"name": "ポンペイオ"}}

Cell = tuple[str, ...] | None


def _values_block(bindings: dict[str, str]) -> str:
    """The VALUES block a SPARQL client appends for bindings (what rdflib's SPARQLStore sends)."""
    if not bindings:
        return ""
    names = " ".join(f"?{k}" for k in bindings)
    values = " ".join(json.dumps(v, ensure_ascii=False) for v in bindings.values())
    return f"\nVALUES ({names}) {{ ({values}) }}\n"


def _json_cell(cell: dict[str, str] | None) -> Cell:
    """A SPARQL JSON term as (kind, value, language or datatype); xsd:string is a plain string."""
    if cell is None:
        return None
    if cell["type"] == "uri":
        return ("uri", cell["value"])
    if cell["type"] == "bnode":
        return ("bnode",)
    datatype = cell.get("datatype", "")
    return ("literal", cell["value"], cell.get("xml:lang", ""), "" if datatype == str(XSD.string) else datatype)


def _rdflib_cell(term: object) -> Cell:
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("uri", str(term))
    if isinstance(term, BNode):
        return ("bnode",)
    assert isinstance(term, Literal)
    datatype = "" if term.datatype in (None, XSD.string) else str(term.datatype)
    return ("literal", str(term), term.language or "", datatype)


def _json_rows(text: str) -> tuple[list[str], list[tuple[Cell, ...]]]:
    doc = json.loads(text)
    variables = doc["head"]["vars"]
    return variables, [tuple(_json_cell(b.get(v)) for v in variables) for b in doc["results"]["bindings"]]


def kg_rows(build: Path, query: Path) -> tuple[list[str], list[tuple[Cell, ...]]]:
    args = ["query", str(build), "-f", str(query), "--format", "json"]
    for name, value in BINDINGS.get(query.name, {}).items():
        args += ["--bind", f"{name}={value}"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    return _json_rows(res.stdout)


def arq_rows(build: Path, query: Path, tmp_path: Path) -> tuple[list[str], list[tuple[Cell, ...]]]:
    """Jena arq over ``build``'s graph.ttl (or ``build`` itself, an RDF file)."""
    data = build / "graph.ttl" if build.is_dir() else build
    text = tmp_path / query.name
    text.write_text(query.read_text(encoding="utf-8") + _values_block(BINDINGS.get(query.name, {})), encoding="utf-8")
    proc = subprocess.run([str(ROOT / "scripts" / "jena-local"), "arq", "--data", str(data),
                           "--query", str(text), "--results", "json"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _json_rows(proc.stdout)


def sparqlstore_rows(endpoint: str, query: Path) -> tuple[list[str], list[tuple[Cell, ...]]]:
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        store = SPARQLStore(endpoint, returnFormat="json")
        bindings = {k: Literal(v) for k, v in BINDINGS.get(query.name, {}).items()}
        res = store.query(query.read_text(encoding="utf-8"), initBindings=bindings or None)
    variables = [str(v) for v in res.vars]
    return variables, [tuple(_rdflib_cell(row[v]) for v in variables) for row in res]


@contextmanager
def serving(graph: Path) -> Iterator[str]:
    """``kg serve GRAPH`` as a process of its own on a free port; the URL of its /sparql."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", str(graph), "--port", str(port),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}/sparql"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "kg serve did not answer within 120 s"
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def kg_serve(corpus_copies_build: Path) -> Iterator[str]:
    """``kg serve`` of the build of 60 documents."""
    with serving(corpus_copies_build) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_kg_jena_and_sparqlstore_give_the_same_rows_in_the_same_order(
        corpus_copies_build: Path, kg_serve: str, query: Path, tmp_path: Path) -> None:
    kg_vars, kg = kg_rows(corpus_copies_build, query)
    assert len(kg) >= 2, kg  # an order to compare
    assert len(set(kg)) == len(kg)  # no row twice, so the order is total
    arq_vars, arq = arq_rows(corpus_copies_build, query, tmp_path)
    store_vars, store = sparqlstore_rows(kg_serve, query)
    assert arq_vars == kg_vars and store_vars == kg_vars
    assert arq == kg
    assert store == kg


@pytest.mark.slow
def test_quotes_by_speaker_finds_the_speaker_by_any_spelling_in_every_stack(
        corpus_copies_build: Path, kg_serve: str, tmp_path: Path) -> None:
    """A binding given before the query runs (kg query --bind) and a VALUES block after it (Jena,
    SPARQLStore) select the same quotes; every row names one speaker."""
    query = ROOT / "queries" / "quotes_by_speaker.rq"
    variables, rows = kg_rows(corpus_copies_build, query)
    speaker = variables.index("speaker")
    assert rows and len({r[speaker] for r in rows}) == 1
    assert arq_rows(corpus_copies_build, query, tmp_path)[1] == rows == sparqlstore_rows(kg_serve, query)[1]


#: meetings dated as articles date them: a day, a month, a year, and none
MIXED_DATES = """
@prefix dip: <https://w3id.org/dipkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/dipkg/id/person/a> rdfs:label "トランプ"@ja .
<https://w3id.org/dipkg/id/person/b> rdfs:label "金正恩"@ja .
<https://w3id.org/dipkg/id/meeting/1> a dip:Summit ; dip:participant <https://w3id.org/dipkg/id/person/a>, <https://w3id.org/dipkg/id/person/b> ; dip:startDate "2018-06-12"^^xsd:date .
<https://w3id.org/dipkg/id/meeting/2> a dip:Summit ; dip:participant <https://w3id.org/dipkg/id/person/a>, <https://w3id.org/dipkg/id/person/b> ; dip:startDate "2018-06"^^xsd:gYearMonth .
<https://w3id.org/dipkg/id/meeting/3> a dip:Meeting ; dip:participant <https://w3id.org/dipkg/id/person/a>, <https://w3id.org/dipkg/id/person/b> ; dip:startDate "2018-05-30"^^xsd:date .
<https://w3id.org/dipkg/id/meeting/4> a dip:Meeting ; dip:participant <https://w3id.org/dipkg/id/person/a>, <https://w3id.org/dipkg/id/person/b> ; dip:startDate "2018"^^xsd:gYear .
<https://w3id.org/dipkg/id/meeting/5> a dip:PhoneCall ; dip:participant <https://w3id.org/dipkg/id/person/a>, <https://w3id.org/dipkg/id/person/b> ; dip:startDate "2018-07-01"^^xsd:date .
<https://w3id.org/dipkg/id/meeting/6> a dip:Meeting ; dip:participant <https://w3id.org/dipkg/id/person/a>, <https://w3id.org/dipkg/id/person/b> .
"""


def test_meetings_with_full_and_partial_dates_come_in_one_order(tmp_path: Path) -> None:
    """xsd:date, xsd:gYearMonth and xsd:gYear do not compare with each other, and engines order them
    differently (Jena put 2018-06 before 2018-05-30); meetings.rq orders by the date as written."""
    data = tmp_path / "graph.ttl"
    data.write_text(MIXED_DATES, encoding="utf-8")
    query = ROOT / "queries" / "meetings.rq"
    variables, rows = kg_rows(data, query)
    start = variables.index("start")
    assert [r[start][1] if r[start] else None for r in rows] == [
        None, "2018", "2018-05-30", "2018-06", "2018-06-12", "2018-07-01"]
    assert arq_rows(data, query, tmp_path) == (variables, rows)
