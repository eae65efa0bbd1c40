"""``kg serve``: a read-only SPARQL 1.1 Protocol endpoint over a build output.

* ``GET /sparql?query=…``, ``POST /sparql`` with ``application/sparql-query`` or with a
  ``application/x-www-form-urlencoded`` form field ``query=``.
* Content negotiation on ``Accept`` (or a ``format=`` parameter, handy in a browser):
  SPARQL JSON (default), SPARQL XML, CSV and TSV for SELECT/ASK; Turtle (default),
  N-Triples and JSON-LD for CONSTRUCT/DESCRIBE.
* Refused: updates (403, whether sent as ``application/sparql-update``, as an ``update=``
  field, or as an update in ``query=``) and SERVICE (403); a malformed query is 400, an
  unacceptable ``Accept`` 406, other methods 405.
* Queries run in a small pool of worker processes, each holding its own copy of the graph,
  so a query that runs past ``--timeout`` is really stopped (its process is killed and
  replaced) and answered with 503. At most ``--max-rows`` rows (or triples) are returned;
  when more existed the response carries ``X-SPARQL-MaxRows``.
* Binds 127.0.0.1 unless told otherwise; one thread per connection; SIGINT or SIGTERM stop
  the server after the requests in flight are answered.
"""

from __future__ import annotations

import html
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kg.errors import KgError, QueryError
from kg.readers.query import (
    DEFAULT_ENGINE,
    QueryRefusedError,
    QueryResult,
    QuerySyntaxError,
    QueryTimeoutError,
    SparqlStore,
    query_form,
    resolve_graph_path,
    serialize,
)

#: How long a worker process may take to load the graph before the server gives up.
LOAD_TIMEOUT = 600.0

#: Media types offered for SELECT/ASK results and for CONSTRUCT/DESCRIBE results, in order of preference.
RESULT_MEDIA: tuple[tuple[str, str], ...] = (
    ("application/sparql-results+json", "json"),
    ("application/sparql-results+xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
    ("application/json", "json"),
    ("application/xml", "xml"),
)
GRAPH_MEDIA: tuple[tuple[str, str], ...] = (
    ("text/turtle", "turtle"),
    ("application/n-triples", "ntriples"),
    ("application/ld+json", "jsonld"),
)
_FORMAT_PARAM: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
}

_ERRORS: dict[str, type[QueryError]] = {
    cls.__name__: cls for cls in (QueryError, QuerySyntaxError, QueryRefusedError, QueryTimeoutError)
}


@dataclass(frozen=True)
class ServeConfig:
    """What ``kg serve`` was asked for."""

    graph: str | Path
    host: str = "127.0.0.1"
    port: int = 7878
    timeout: float = 30.0
    max_rows: int = 10000
    workers: int = 2
    engine: str = DEFAULT_ENGINE
    max_body: int = 1_000_000


# ---------------------------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------------------------


def _worker_main(conn: Connection, graph: str, engine: str) -> None:
    """Load the graph once, then answer ``(query, max_rows)`` messages until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    try:
        store = SparqlStore.open(graph, engine)
    except KgError as exc:
        conn.send(("error", type(exc).__name__, str(exc)))
        return
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        text, max_rows = msg
        try:
            conn.send(("ok", store.query(text, max_rows=max_rows)))
        except KgError as exc:
            conn.send(("error", type(exc).__name__, str(exc)))
        except Exception as exc:
            conn.send(("error", "QueryError", f"the query failed: {type(exc).__name__}: {exc}"))


class _Worker:
    """One query process and the parent's end of its pipe."""

    def __init__(self, ctx: Any, graph: str, engine: str) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, graph, engine), daemon=True)
        self.proc.start()
        child.close()
        self.ready = False

    def wait_ready(self, timeout: float) -> None:
        """Wait until the graph is loaded; raises :class:`QueryError` if loading failed."""
        if self.ready:
            return
        if not self.conn.poll(timeout):
            raise QueryError(f"loading the graph took longer than {timeout:g} s")
        msg = self.conn.recv()
        if msg[0] != "ready":
            raise _ERRORS.get(msg[1], QueryError)(msg[2])
        self.ready = True

    def stop(self) -> None:
        """Kill the process at once (a timed-out query) and reap it."""
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class QueryPool:
    """Worker processes that each hold the graph; a query past its time limit kills its worker.

    ``run`` is thread-safe: HTTP threads take an idle worker, or wait for one within the
    query's time limit.
    """

    def __init__(self, graph: str | Path, engine: str = DEFAULT_ENGINE, size: int = 2) -> None:
        resolve_graph_path(graph)  # fail fast, in the parent, on a missing file
        self._graph = str(graph)
        self._engine = engine
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        workers = [self._spawn() for _ in range(max(1, size))]
        try:
            for w in workers:
                w.wait_ready(LOAD_TIMEOUT)
        except BaseException:
            self.close()
            raise
        for w in workers:
            self._idle.put(w)

    def _spawn(self) -> _Worker:
        w = _Worker(self._ctx, self._graph, self._engine)
        with self._lock:
            self._all.add(w)
        return w

    def _retire(self, w: _Worker) -> None:
        """Stop ``w`` and put a fresh worker in its place (it loads the graph in the background)."""
        w.stop()
        with self._lock:
            self._all.discard(w)
            closed = self._closed
        if not closed:
            self._idle.put(self._spawn())

    def run(self, text: str, *, timeout: float, max_rows: int | None) -> QueryResult:
        """Run one query in a worker; raises :class:`QueryTimeoutError` past ``timeout`` seconds."""
        try:
            w = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise QueryTimeoutError(
                f"the server is busy: no query process came free within {timeout:g} s; try again later"
            ) from None
        healthy = False
        try:
            w.wait_ready(LOAD_TIMEOUT)  # a replacement worker may still be loading
            start = time.monotonic()
            w.conn.send((text, max_rows))
            if not w.conn.poll(timeout):
                raise QueryTimeoutError(
                    f"the query was stopped after {time.monotonic() - start:.1f} s: the time limit is "
                    f"{timeout:g} s (kg serve --timeout); narrow it down or add a LIMIT"
                )
            msg = w.conn.recv()
            healthy = True
        except (EOFError, OSError) as exc:
            raise QueryError(f"the query process stopped unexpectedly ({exc}); try again") from exc
        finally:
            if healthy:
                self._idle.put(w)
            else:
                self._retire(w)
        if msg[0] == "ok":
            return msg[1]
        raise _ERRORS.get(msg[1], QueryError)(msg[2])

    def close(self) -> None:
        """Stop every worker process."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
            w.proc.join(2)
            w.stop()


# ---------------------------------------------------------------------------------------------
# Content negotiation
# ---------------------------------------------------------------------------------------------


def _parse_accept(header: str) -> list[tuple[str, float]]:
    """``[(media range, q)]`` from an Accept header; a malformed q counts as 0."""
    out = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for f in fields[1:]:
            name, _, value = f.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        out.append((media, q))
    return out


def negotiate(accept: str | None, form: str) -> tuple[str, str] | None:
    """The ``(media type, format)`` to answer a ``form`` query with, or None when nothing fits.

    The most specific matching range gives an offer its q; the highest q wins and ties go to
    the server's order of preference (JSON for results, Turtle for graphs).
    """
    offers = GRAPH_MEDIA if form in ("CONSTRUCT", "DESCRIBE") else RESULT_MEDIA
    if not accept or not accept.strip():
        return offers[0]
    ranges = _parse_accept(accept)
    best: tuple[float, int] | None = None
    chosen: tuple[str, str] | None = None
    for rank, (media, fmt) in enumerate(offers):
        kind = media.split("/")[0]
        q: float | None = None
        specificity = -1
        for rng, rq in ranges:
            if rng == media:
                s = 2
            elif rng == f"{kind}/*":
                s = 1
            elif rng == "*/*":
                s = 0
            else:
                continue
            if s > specificity:
                specificity, q = s, rq
        if q is None or q <= 0:
            continue
        if best is None or (q, -rank) > best:
            best, chosen = (q, -rank), (media, fmt)
    return chosen


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>kg SPARQL</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}textarea{{width:100%;font-family:monospace}}</style>
</head><body>
<h1>kg SPARQL endpoint</h1>
<p>Graph: <code>{source}</code>. Read-only: SELECT, ASK, CONSTRUCT and DESCRIBE. The prefixes
{prefixes} are pre-bound. At most {max_rows} rows; time limit {timeout:g} s.</p>
<form method="get" action="/sparql">
<textarea name="query" rows="12">SELECT ?name ?title ?stateName WHERE {{
  ?p dip:holds ?pos ; rdfs:label ?name .
  ?pos dip:title ?title ; dip:postIn ?state .
  ?state rdfs:label ?stateName .
}} ORDER BY ?name</textarea>
<p><label>Format <select name="format">
<option value="json">SPARQL JSON</option><option value="xml">SPARQL XML</option>
<option value="csv">CSV</option><option value="tsv">TSV</option>
<option value="turtle">Turtle (CONSTRUCT/DESCRIBE)</option>
<option value="ntriples">N-Triples (CONSTRUCT/DESCRIBE)</option>
</select></label> <button type="submit">Run</button></p>
</form>
<p>Protocol: <code>GET /sparql?query=…</code>, <code>POST /sparql</code> with
<code>application/sparql-query</code> or a form field <code>query=</code>.</p>
</body></html>
"""


class _HttpError(Exception):
    """An HTTP error answer: status and a one-line message."""

    def __init__(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


_STATUS: dict[type[QueryError], HTTPStatus] = {
    QuerySyntaxError: HTTPStatus.BAD_REQUEST,
    QueryRefusedError: HTTPStatus.FORBIDDEN,
    QueryTimeoutError: HTTPStatus.SERVICE_UNAVAILABLE,
}


class SparqlHandler(BaseHTTPRequestHandler):
    """The SPARQL 1.1 Protocol (query operation only) and the query form page."""

    server: SparqlServer
    server_version = "kg-sparql"

    # --- plumbing ---------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} - {format % args}")

    def _send(self, status: HTTPStatus, body: str, ctype: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _fail(self, err: _HttpError) -> None:
        self._send(err.status, f"Error: {err.message}\n", "text/plain; charset=utf-8", err.headers)

    # --- methods ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        """The form page at /, queries at /sparql."""
        try:
            url = urlsplit(self.path)
            if url.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, self.server.page(), "text/html; charset=utf-8")
                return
            self._check_path(url.path)
            params = parse_qs(url.query, keep_blank_values=True)
            self._answer(params)
        except _HttpError as err:
            self._fail(err)

    def do_POST(self) -> None:
        """A query in the body (application/sparql-query) or in a form field."""
        try:
            url = urlsplit(self.path)
            self._check_path(url.path)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype == "application/sparql-update":
                raise _HttpError(HTTPStatus.FORBIDDEN, "updates are refused: this endpoint is read-only")
            body = self._read_body()
            params = parse_qs(url.query, keep_blank_values=True)
            if ctype == "application/sparql-query":
                if "query" in params:
                    raise _HttpError(HTTPStatus.BAD_REQUEST, "give the query either in the body or as query=, not both")
                params["query"] = [self._decode(body)]
            elif ctype == "application/x-www-form-urlencoded":
                form = parse_qs(self._decode(body), keep_blank_values=True)
                for k, v in form.items():
                    params.setdefault(k, []).extend(v)
            else:
                raise _HttpError(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"Content-Type {ctype or '(none)'} is not accepted; send application/sparql-query "
                    "or application/x-www-form-urlencoded with query=",
                )
            self._answer(params)
        except _HttpError as err:
            self._fail(err)

    def _not_allowed(self) -> None:
        self._fail(
            _HttpError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{self.command} is not allowed; use GET or POST",
                {"Allow": "GET, POST"},
            )
        )

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _not_allowed

    # --- helpers ----------------------------------------------------------------------------

    def _check_path(self, path: str) -> None:
        if path != "/sparql":
            raise _HttpError(HTTPStatus.NOT_FOUND, f"nothing at {path}; the endpoint is /sparql")

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise _HttpError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length header")
        try:
            n = int(length)
        except ValueError:
            raise _HttpError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {length!r}") from None
        if n < 0:
            raise _HttpError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {length!r}")
        if n > self.server.config.max_body:
            raise _HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request body is {n} bytes; at most {self.server.config.max_body} are accepted",
            )
        return self.rfile.read(n)

    @staticmethod
    def _decode(body: bytes) -> str:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise _HttpError(HTTPStatus.BAD_REQUEST, "the request body is not UTF-8") from None

    def _answer(self, params: dict[str, list[str]]) -> None:
        """Check, negotiate, run and write one query."""
        if "update" in params:
            raise _HttpError(HTTPStatus.FORBIDDEN, "updates are refused: this endpoint is read-only")
        for name in ("default-graph-uri", "named-graph-uri"):
            if name in params:
                raise _HttpError(
                    HTTPStatus.BAD_REQUEST,
                    f"{name} is not supported; the default graph is the union of all graphs, "
                    "use GRAPH ?g { … } in the query to pick documents",
                )
        queries = params.get("query", [])
        if len(queries) != 1:
            raise _HttpError(
                HTTPStatus.BAD_REQUEST,
                "give exactly one query: GET /sparql?query=…, or POST it" if not queries
                else "give exactly one query parameter",
            )
        text = queries[0]
        try:
            form = query_form(text)
        except QueryError as exc:
            raise _HttpError(_STATUS.get(type(exc), HTTPStatus.BAD_REQUEST), str(exc)) from None
        fmt_param = params.get("format", [None])[-1]
        if fmt_param:
            if fmt_param not in _FORMAT_PARAM:
                raise _HttpError(
                    HTTPStatus.BAD_REQUEST, f"unknown format={fmt_param}; use one of {', '.join(_FORMAT_PARAM)}"
                )
            accept: str | None = _FORMAT_PARAM[fmt_param]
        else:
            accept = self.headers.get("Accept")
        chosen = negotiate(accept, form)
        if chosen is None:
            offers = GRAPH_MEDIA if form in ("CONSTRUCT", "DESCRIBE") else RESULT_MEDIA
            raise _HttpError(
                HTTPStatus.NOT_ACCEPTABLE,
                f"cannot answer a {form} query as {accept}; acceptable: {', '.join(m for m, _ in offers)}",
            )
        media, fmt = chosen
        cfg = self.server.config
        try:
            result = self.server.pool.run(text, timeout=cfg.timeout, max_rows=cfg.max_rows)
        except QueryError as exc:
            raise _HttpError(_STATUS.get(type(exc), HTTPStatus.INTERNAL_SERVER_ERROR), str(exc)) from None
        headers = {"X-SPARQL-MaxRows": str(cfg.max_rows)} if result.truncated else {}
        charset = "" if media == "application/n-triples" else "; charset=utf-8"
        self._send(HTTPStatus.OK, serialize(result, fmt), media + charset, headers)


class SparqlServer(ThreadingHTTPServer):
    """A threading HTTP server holding the config and the query pool."""

    daemon_threads = False  # server_close() waits for requests in flight
    block_on_close = True

    def __init__(
        self,
        config: ServeConfig,
        pool: QueryPool,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.log = log
        self.source = resolve_graph_path(config.graph)
        super().__init__((config.host, config.port), SparqlHandler)

    @property
    def url(self) -> str:
        """The endpoint's address, e.g. ``http://127.0.0.1:7878/sparql``."""
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/sparql"

    def page(self) -> str:
        """The HTML query form."""
        from kg.namespaces import PREFIXES

        return _PAGE.format(
            source=html.escape(str(self.source)),
            prefixes=html.escape(", ".join(PREFIXES)),
            max_rows=self.config.max_rows,
            timeout=self.config.timeout,
        )


def start_server(config: ServeConfig, log: Callable[[str], None] | None = None) -> SparqlServer:
    """Load the graph into the worker pool and bind the server (not yet serving).

    Raises :class:`QueryError` when the graph cannot be loaded or the address cannot be bound.
    """
    pool = QueryPool(config.graph, config.engine, config.workers)
    try:
        return SparqlServer(config, pool, log)
    except OSError as exc:
        pool.close()
        raise QueryError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from exc
    except BaseException:
        pool.close()
        raise


def stop_server(server: SparqlServer) -> None:
    """Close the socket (after the requests in flight) and stop the worker processes."""
    server.server_close()
    server.pool.close()


def serve(config: ServeConfig, announce: Callable[[str], None] = print) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly (the library call behind ``kg serve``)."""
    server = start_server(config, log=announce)

    def on_signal(signum: int, _frame: object) -> None:
        announce(f"{signal.Signals(signum).name}: stopping")
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        announce(f"Serving {server.source} at {server.url} (Ctrl-C to stop)")
        server.serve_forever()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        stop_server(server)
        announce("stopped")


__all__ = [
    "GRAPH_MEDIA",
    "RESULT_MEDIA",
    "QueryPool",
    "ServeConfig",
    "SparqlHandler",
    "SparqlServer",
    "negotiate",
    "serve",
    "start_server",
    "stop_server",
]
