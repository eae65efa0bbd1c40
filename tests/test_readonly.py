"""Read-only surfaces: `kg query` and `kg serve` neither write, nor read files, nor call the network.

tests/test_query.py and tests/test_serve.py cover updates, SERVICE, FROM <file>, time and row
limits; this adds what they leave out: the same refusals through the command line and over
HTTP, SERVICE spelled with SPARQL code point escapes (which rdflib expands before parsing), a
loopback listener that must see no request, the listening address, and a load smoke test.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

from kg.readers.query import ENGINES, QueryRefusedError, RdflibEngine, SparqlStore, load_store, run_query

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "sample.ttl"
sys.path.insert(0, str(ROOT / "bench"))

import load_serve  # noqa: E402


class Listener:
    """A loopback HTTP server that records every request (a remote endpoint or file host stand-in)."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(f"{self.command} {self.path}")
                body = b'{"head":{"vars":["s"]},"results":{"bindings":[{"s":{"type":"literal","value":"REMOTE"}}]}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sparql"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


def escaped_service(url: str) -> list[str]:
    return [
        f"SELECT * WHERE {{ SERV\\u0049CE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ \\u0053\\u0045\\u0052\\u0056\\u0049\\u0043\\u0045 <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?x ?y ?z . SERVI\\U00000043E SILENT <{url}> {{ ?s ?p ?o }} }}",
    ]


def remote_reads(url: str) -> list[str]:
    return [
        f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }} LIMIT 3",
        f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 3",
        f"CONSTRUCT {{ ?s ?p ?o }} FROM <{url}> WHERE {{ ?s ?p ?o }} LIMIT 3",
        f"DESCRIBE <{url}> FROM <{url}>",
    ]


# ------------------------------------------------------------------------------- the library


@pytest.mark.parametrize("engine", ENGINES)
def test_service_spelled_with_code_point_escapes_is_refused_and_calls_nothing(listener: Listener,
                                                                                engine: str) -> None:
    for q in escaped_service(listener.url):
        with pytest.raises(QueryRefusedError, match="SERVICE is refused"):
            run_query(SAMPLE, q, engine=engine)
    assert listener.hits == []


@pytest.mark.parametrize("engine", ENGINES)
def test_updates_spelled_with_code_point_escapes_are_refused(engine: str) -> None:
    for q in ["\\u0049NSERT DATA { <urn:a> <urn:b> <urn:c> }", "\\u004COAD <file:///etc/passwd>",
              "PREFIX x: <urn:x#>\n\\u0044ROP ALL"]:
        with pytest.raises(QueryRefusedError, match="updates are refused"):
            run_query(SAMPLE, q, engine=engine)


def test_the_rdflib_engine_itself_refuses_service_however_it_is_spelled(listener: Listener) -> None:
    """Behind the text check, the rdflib engine looks at the parsed query too."""
    engine = RdflibEngine.from_store(load_store(SAMPLE))
    for q in escaped_service(listener.url) + [f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"]:
        with pytest.raises(QueryRefusedError, match="SERVICE is refused"):
            engine.run(q, "SELECT", None, {})
    assert listener.hits == []


@pytest.mark.parametrize("engine", ENGINES)
def test_from_a_remote_or_a_file_reads_nothing(listener: Listener, engine: str) -> None:
    store = SparqlStore.open(SAMPLE, engine)
    for q in remote_reads(listener.url) + remote_reads("file:///etc/passwd"):
        res = store.query(q)
        text = " ".join(str(t) for row in res.rows for t in row) + " ".join(str(t) for tr in res.triples for t in tr)
        assert "REMOTE" not in text and "root:" not in text, q
    assert listener.hits == []


# ------------------------------------------------------------------------------ the command line


def kg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.mark.parametrize("engine", ENGINES)
def test_kg_query_refuses_updates_load_and_service_and_reads_no_file(tmp_path: Path, listener: Listener,
                                                                     engine: str) -> None:
    g = tmp_path / "graph.ttl"
    g.write_bytes(SAMPLE.read_bytes())
    before = g.read_bytes()
    for q, why in [
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "updates are refused"),
        ("LOAD <file:///etc/passwd>", "updates are refused"),
        (f"LOAD <{listener.url}> INTO GRAPH <urn:g>", "updates are refused"),
        ("CLEAR ALL", "updates are refused"),
        (f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}", "SERVICE is refused"),
        (escaped_service(listener.url)[0], "SERVICE is refused"),
    ]:
        proc = kg("query", str(tmp_path), q, "--engine", engine)
        assert proc.returncode == 2, (q, proc.stdout, proc.stderr)
        assert proc.stderr.startswith(f"Error: {why}") and proc.stdout == "", proc.stderr
    proc = kg("query", str(tmp_path), "SELECT ?o FROM <file:///etc/passwd> WHERE { ?s ?p ?o } LIMIT 5",
              "--engine", engine, "--format", "csv")
    assert proc.returncode == 0 and "root:" not in proc.stdout
    # the graph is unchanged; the only thing written is the store kg adds once to a folder that has none
    assert g.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["graph.ttl", "store"]
    assert listener.hits == []


# --------------------------------------------------------------------------------------- serve


@pytest.fixture(scope="module", params=ENGINES)
def served(request: pytest.FixtureRequest) -> Iterator[load_serve.Server]:
    """`kg serve` in a subprocess with its defaults (host, limits), on a free port."""
    server = load_serve.Server(SAMPLE, workers=1, extra=["--engine", request.param, "--max-rows", "3"])
    yield server
    assert server.stop() == 0


def http_get(url: str, query: str) -> tuple[int, str]:
    try:
        with urlopen(f"{url}?{urlencode({'query': query})}", timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8")
    except HTTPError as err:
        return err.code, err.read().decode("utf-8")


def test_kg_serve_listens_on_loopback_only_by_default(served: load_serve.Server) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    port = int(served.url.rsplit(":", 1)[1].split("/")[0])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                listening.append(local.rsplit(":", 1)[0])
    assert listening == ["0100007F"], listening  # 127.0.0.1 only, no wildcard and no IPv6 socket


def test_kg_serve_refuses_escaped_service_and_fetches_nothing(served: load_serve.Server, listener: Listener) -> None:
    for q in escaped_service(listener.url):
        status, body = http_get(served.url, q)
        assert status == 403 and "SERVICE is refused" in body
    for q in remote_reads(listener.url) + remote_reads("file:///etc/passwd"):
        status, body = http_get(served.url, q)
        assert status == 200 and "REMOTE" not in body and "root:" not in body, (q, body)
    assert listener.hits == []


def test_kg_serve_refuses_a_query_nested_too_deeply_and_keeps_serving(served: load_serve.Server) -> None:
    """A query pyoxigraph's parser would crash on (5,000 nested braces) is refused before a worker sees it."""
    deep = "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000
    status, body = http_get(served.url, deep)
    assert status == 400 and body.startswith("Error: the query is nested 5000 levels deep"), (status, body[:200])
    status, body = http_get(served.url, "ASK { ?s ?p ?o }")
    assert status == 200 and "true" in body


def test_kg_serve_limits_rows_for_construct_and_describe_too(served: load_serve.Server) -> None:
    with urlopen(f"{served.url}?{urlencode({'query': 'CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }'})}",
                 timeout=30) as resp:
        lines = [x for x in resp.read().decode().splitlines() if x.strip() and not x.startswith("@prefix")]
        assert resp.headers["X-SPARQL-MaxRows"] == "3"
    assert 0 < len([x for x in lines if x.rstrip().endswith(".")]) <= 3


# ----------------------------------------------------------------------------------------- load


@pytest.mark.slow
def test_load_smoke_five_clients_three_seconds(served: load_serve.Server) -> None:
    res = load_serve.run_load(served.url, clients=5, seconds=3, pid=served.pid)
    assert res.failed == 0, res.errors
    assert res.requests >= 20, res.summary()
    assert res.p95_ms < 2000, res.summary()
    assert res.peak_rss_mb is not None and 0 < res.peak_rss_mb < 1500, res.summary()


def test_the_load_script_targets_loopback_only_and_is_bounded() -> None:
    for url in ("http://10.0.0.1:7878/sparql", "https://127.0.0.1:7878/sparql", "http://example.org:80/sparql"):
        with pytest.raises(SystemExit, match="loopback"):
            load_serve.check_loopback(url)
    with pytest.raises(SystemExit, match="--clients"):
        load_serve.run_load("http://127.0.0.1:1/sparql", clients=1000, seconds=1)
    with pytest.raises(SystemExit, match="--seconds"):
        load_serve.run_load("http://127.0.0.1:1/sparql", clients=1, seconds=3600)


def test_the_load_script_counts_failures(tmp_path: Path) -> None:
    """Against a port nobody listens on, every request fails and is counted (no exception escapes)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    res = load_serve.run_load(f"http://127.0.0.1:{port}/sparql", clients=2, seconds=0.5, timeout=1)
    assert res.requests > 0 and res.failed == res.requests and res.errors
    out = json.loads(json.dumps(res.__dict__))
    assert out["failed"] == res.failed
