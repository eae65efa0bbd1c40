"""kg.readers.serve and ``kg serve``: the SPARQL 1.1 Protocol over real HTTP on loopback."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest
from rdflib import Graph

from kg.errors import QueryError
from kg.readers.serve import ServeConfig, SparqlServer, negotiate, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "sample.ttl"
ID = "https://w3id.org/dipkg/id/"
OFFICIALS = "SELECT ?p WHERE { ?p a dip:Official } ORDER BY ?p"
# Four copies of every triple joined with each other: far more than a second of work.
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def _run(server: SparqlServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return t


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A real server on a free loopback port, max 4 rows, two worker processes."""
    server = start_server(ServeConfig(graph=SAMPLE, port=0, max_rows=4, timeout=20, workers=2))
    t = _run(server)
    yield server.url
    server.shutdown()
    t.join(10)
    stop_server(server)


def fetch(
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, dict[str, str], str]:
    """Status, headers and body text of one request (HTTP errors included)."""
    req = Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read().decode("utf-8")
    except HTTPError as err:
        return err.code, dict(err.headers), err.read().decode("utf-8")


def get(url: str, query: str, accept: str | None = None, **params: str) -> tuple[int, dict[str, str], str]:
    qs = urlencode({"query": query, **params})
    return fetch(f"{url}?{qs}", headers={"Accept": accept} if accept else {})


# ----------------------------------------------------------------------------- the protocol


def test_get_answers_with_sparql_json_by_default(endpoint: str) -> None:
    status, headers, body = get(endpoint, OFFICIALS)
    assert status == 200
    assert headers["Content-Type"] == "application/sparql-results+json; charset=utf-8"
    doc = json.loads(body)
    assert doc["head"]["vars"] == ["p"]
    assert doc["results"]["bindings"][0]["p"] == {"type": "uri", "value": f"{ID}person/Q473239"}


def test_post_sparql_query_body(endpoint: str) -> None:
    status, _, body = fetch(
        endpoint,
        data="ASK { ?p skos:altLabel \"金正恩\"@ja }".encode(),
        headers={"Content-Type": "application/sparql-query; charset=utf-8"},
    )
    assert status == 200 and json.loads(body) == {"head": {}, "boolean": True}


def test_post_form_urlencoded_query(endpoint: str) -> None:
    status, _, body = fetch(
        endpoint,
        data=urlencode({"query": "SELECT ?t WHERE { ?x dip:title ?t } ORDER BY ?t"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/csv"},
    )
    assert status == 200
    assert list(csv.reader(io.StringIO(body))) == [["t"], ["副委員長"], ["国務長官"], ["外相"], ["長官"]]


@pytest.mark.parametrize("accept,ctype", [
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ("text/*", "text/csv"),
    ("*/*", "application/sparql-results+json"),
    ("application/json", "application/json"),
])
def test_content_negotiation_for_select(endpoint: str, accept: str, ctype: str) -> None:
    status, headers, body = get(endpoint, OFFICIALS, accept)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == ctype
    if ctype.endswith("xml"):
        ns = "{http://www.w3.org/2005/sparql-results#}"
        assert len(list(ET.fromstring(body).iter(f"{ns}result"))) == 4
    elif ctype == "text/csv":
        assert body.splitlines()[0] == "p" and len(body.splitlines()) == 5
    elif ctype == "text/tab-separated-values":
        assert body.splitlines()[1] == f"<{ID}person/Q473239>"
    else:
        assert len(json.loads(body)["results"]["bindings"]) == 4


@pytest.mark.parametrize("accept,ctype,fmt", [
    (None, "text/turtle", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("text/turtle;q=0.2, application/n-triples", "application/n-triples", "nt"),
])
def test_construct_and_describe_as_turtle_or_ntriples(endpoint: str, accept: str | None, ctype: str, fmt: str) -> None:
    q = "CONSTRUCT { ?s dip:isoCode ?c } WHERE { ?s dip:isoCode ?c }"
    status, headers, body = get(endpoint, q, accept)
    assert status == 200 and headers["Content-Type"].split(";")[0] == ctype
    assert len(Graph().parse(data=body, format=fmt)) == 3
    status, headers, body = get(endpoint, f"DESCRIBE <{ID}state/RU>", accept)
    assert status == 200
    assert "ロシア" in body and len(Graph().parse(data=body, format=fmt)) >= 4


def test_format_parameter_overrides_accept(endpoint: str) -> None:
    status, headers, body = get(endpoint, OFFICIALS, "application/sparql-results+json", format="tsv")
    assert status == 200 and headers["Content-Type"].startswith("text/tab-separated-values")
    assert body.startswith("?p\n")


def test_an_unacceptable_accept_is_406(endpoint: str) -> None:
    status, _, body = get(endpoint, OFFICIALS, "image/png")
    assert status == 406 and "acceptable: application/sparql-results+json" in body
    status, _, _ = get(endpoint, "CONSTRUCT WHERE { ?s dip:isoCode ?c }", "text/csv")
    assert status == 406


def test_max_rows_cuts_the_result_and_says_so_in_a_header(endpoint: str) -> None:
    status, headers, body = get(endpoint, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    assert status == 200
    assert len(json.loads(body)["results"]["bindings"]) == 4
    assert headers["X-SPARQL-MaxRows"] == "4"
    status, headers, _ = get(endpoint, "SELECT ?s WHERE { ?s a dip:State }")
    assert status == 200 and "X-SPARQL-MaxRows" not in headers


# ------------------------------------------------------------------------------- refusals


def test_updates_are_403_in_every_form(endpoint: str) -> None:
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    answers = [
        fetch(endpoint, data=update.encode(), headers={"Content-Type": "application/sparql-update"}),
        fetch(endpoint, data=urlencode({"update": update}).encode(),
              headers={"Content-Type": "application/x-www-form-urlencoded"}),
        get(endpoint, update),
        get(endpoint, "PREFIX ex: <http://e/>\nDROP ALL"),
        fetch(f"{endpoint}?{urlencode({'update': update})}"),
    ]
    for status, _, body in answers:
        assert status == 403, body
        assert "updates are refused" in body
    assert get(endpoint, "ASK { <urn:a> <urn:b> <urn:c> }")[2].count("false") == 1


def test_service_is_403(endpoint: str) -> None:
    status, _, body = get(endpoint, "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }")
    assert status == 403 and "SERVICE is refused" in body


def test_a_malformed_query_is_400_with_the_parser_message(endpoint: str) -> None:
    status, headers, body = get(endpoint, "SELECT ?x WHERE { ?x }")
    assert status == 400
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert re.match(r"Error: malformed query: error at 1:\d+", body)


def test_missing_or_repeated_query_is_400(endpoint: str) -> None:
    assert fetch(endpoint)[0] == 400
    assert fetch(f"{endpoint}?query=ASK%7B%7D&query=ASK%7B%7D")[0] == 400
    status, _, body = fetch(f"{endpoint}?query={quote('ASK {}')}&default-graph-uri=urn:g")
    assert status == 400 and "default-graph-uri is not supported" in body


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_other_methods_are_405(endpoint: str, method: str) -> None:
    status, headers, _ = fetch(endpoint, method=method, data=b"" if method in ("PUT", "PATCH") else None)
    assert status == 405 and headers["Allow"] == "GET, POST"


def test_other_paths_content_types_and_big_bodies(endpoint: str) -> None:
    base = endpoint.rsplit("/", 1)[0]
    assert fetch(f"{base}/nowhere?query=ASK%7B%7D")[0] == 404
    status, _, body = fetch(endpoint, data=b"ASK {}", headers={"Content-Type": "text/plain"})
    assert status == 415 and "application/sparql-query" in body
    # the size is judged from Content-Length before any of the body is read
    parts = urlsplit(endpoint)
    conn = HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("POST", "/sparql")
        conn.putheader("Content-Type", "application/sparql-query")
        conn.putheader("Content-Length", "1000001")
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 413
        assert "at most 1000000 are accepted" in resp.read().decode()
    finally:
        conn.close()


def test_the_front_page_is_a_query_form(endpoint: str) -> None:
    status, headers, body = fetch(endpoint.rsplit("/", 1)[0] + "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<form method="get" action="/sparql">' in body and 'name="query"' in body
    assert "sample.ttl" in body


def test_queries_run_side_by_side(endpoint: str) -> None:
    with ThreadPoolExecutor(max_workers=6) as ex:
        answers = list(ex.map(lambda _: get(endpoint, OFFICIALS), range(12)))
    assert all(a[0] == 200 for a in answers)
    assert len({a[2] for a in answers}) == 1


# ---------------------------------------------------------------------------- time limits


def test_a_query_past_the_time_limit_is_stopped_with_503_and_the_server_recovers() -> None:
    server = start_server(ServeConfig(graph=SAMPLE, port=0, timeout=1.0, workers=1))
    t = _run(server)
    try:
        pids_before = {w.proc.pid for w in server.pool._all}
        start = time.monotonic()
        status, _, body = get(server.url, HEAVY)
        elapsed = time.monotonic() - start
        assert status == 503
        assert "the time limit is 1 s" in body
        assert elapsed < 5
        # the worker that ran it was killed and replaced; the next query is answered
        for pid in pids_before:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        status, _, body = get(server.url, OFFICIALS)
        assert status == 200 and len(json.loads(body)["results"]["bindings"]) == 5
    finally:
        server.shutdown()
        t.join(10)
        stop_server(server)


# ------------------------------------------------------------------------ starting, stopping


def test_negotiate_prefers_json_and_turtle_and_honours_q() -> None:
    assert negotiate(None, "SELECT") == ("application/sparql-results+json", "json")
    assert negotiate("", "CONSTRUCT") == ("text/turtle", "turtle")
    assert negotiate("text/csv;q=0, */*;q=0.1", "SELECT") == ("application/sparql-results+json", "json")
    assert negotiate("text/csv;q=0", "SELECT") is None
    assert negotiate("application/*", "DESCRIBE") == ("application/n-triples", "ntriples")
    assert negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "SELECT") == (
        "application/xml", "xml")


def test_a_bad_graph_or_a_taken_port_is_a_query_error(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="no graph.trig or graph.ttl"):
        start_server(ServeConfig(graph=tmp_path, port=0))
    bad = tmp_path / "graph.ttl"
    bad.write_text("not turtle at all", encoding="utf-8")
    with pytest.raises(QueryError, match=r"graph.ttl: not valid RDF"):
        start_server(ServeConfig(graph=tmp_path, port=0, workers=1))
    first = start_server(ServeConfig(graph=SAMPLE, port=0, workers=1))
    try:
        port = first.server_address[1]
        with pytest.raises(QueryError, match=f"cannot listen on 127.0.0.1:{port}"):
            start_server(ServeConfig(graph=SAMPLE, port=port, workers=1))
    finally:
        stop_server(first)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_kg_serve_stops_cleanly_on_a_signal(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", str(SAMPLE), "--port", "0", "--workers", "1"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"at (http://127\.0\.0\.1:\d+/sparql)", line)
        assert m, line
        status, _, body = get(m.group(1), OFFICIALS, "text/csv")
        assert status == 200 and len(body.splitlines()) == 6
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0
        rest = proc.stderr.read()
        assert f"{sig.name}: stopping" in rest and "stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kg_serve_with_a_missing_directory_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", str(tmp_path / "missing")],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2
    assert "missing: no such file or directory" in proc.stderr


@pytest.mark.slow
def test_serving_the_seed_build(seed_build: Path) -> None:
    server = start_server(ServeConfig(graph=seed_build, port=0, workers=1))
    t = _run(server)
    try:
        q = (ROOT / "queries" / "meetings.rq").read_text(encoding="utf-8")
        status, _, body = get(server.url, q, "text/csv")
        assert status == 200
        rows = list(csv.DictReader(io.StringIO(body)))
        assert any(r["kind"] == "夕食会" and r["placeName"] == "ニューヨーク" for r in rows)
        status, _, body = get(server.url, "SELECT DISTINCT ?doc WHERE { GRAPH ?doc { ?s a dip:Quote } }")
        assert [b["doc"]["value"] for b in json.loads(body)["results"]["bindings"]] == [
            f"{ID}doc/000_a87ea9164a9e83dc"
        ]
    finally:
        server.shutdown()
        t.join(10)
        stop_server(server)
