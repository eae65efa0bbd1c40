"""``kg serve``: a read-only SPARQL 1.1 Protocol endpoint over a build output.

* ``GET /sparql?query=…``, ``POST /sparql`` with ``application/sparql-query`` or with a
  ``application/x-www-form-urlencoded`` form field ``query=``; ``HEAD`` as ``GET`` without a body.
  ``GET /sparql`` without a query is the SPARQL 1.1 Service Description (Turtle, RDF/XML,
  JSON-LD, N-Triples …, negotiated like results; a browser is sent to the query page).
* Content negotiation on ``Accept`` with q-values and wildcards: SPARQL JSON (default), SPARQL
  XML, CSV and TSV for SELECT/ASK; Turtle (default), N-Triples, N-Quads, TriG, RDF/XML,
  JSON-LD and N3 for CONSTRUCT/DESCRIBE. The ``format=`` / ``output=`` / ``results=``
  parameters that clients such as SPARQLWrapper send (words like ``json``, ``rdf+xml``,
  ``json-ld`` or media types, sometimes repeated) override ``Accept`` when one of their values
  fits the query form; values that do not are ignored and ``Accept`` decides.
* Refused: updates (403, whether sent as ``application/sparql-update``, as an ``update=``
  field, or as an update in ``query=``) and SERVICE (403); a malformed query is 400, an
  unacceptable ``Accept`` 406, methods other than GET, HEAD, POST and OPTIONS 405.
* Queries run in a small pool of worker processes, each holding its own copy of the graph,
  so a query that runs past ``--timeout`` is really stopped (its process is killed and
  replaced) and answered with 503. Results are written in the worker too, so the HTTP threads
  only move bytes. All workers read one build generation for the server's life (a replacement
  opens the generation the others read); only when it is gone do they all move on together.
  At most ``--max-rows`` rows (or triples) are returned; when more existed the response
  carries ``X-SPARQL-MaxRows``.
* The page at ``/`` is YASGUI (bundled in ``kg/static``, no network needed) with the example
  queries of ``queries/*.rq``.
* Connections: HTTP/1.1 keep-alive, one thread each, at most ``max_connections`` at once (the
  rest wait in a listen backlog of ``backlog``); a connection silent for ``idle_timeout``
  seconds is closed, and a request must arrive whole within ``request_timeout`` seconds of its
  first byte. When every slot is taken, the connection idle longest (between requests, or still
  sending its request) is hung up on for the newcomer, so slow sockets cannot keep ordinary
  requests out. HTTP/1.0 keep-alive is answered with ``Connection: keep-alive``. SIGINT or
  SIGTERM closes idle connections at once, lets requests in flight finish for up to
  ``stop_grace`` seconds and exits. One access line per request; a client that hangs up
  mid-answer is not an error worth a traceback.
* Only requests whose ``Host`` names the server (127.0.0.1, localhost, [::1], ``host``,
  ``allow_hosts``) are answered, others get 421: no DNS rebinding. CORS headers are sent only
  for the origins of ``cors``.
"""

from __future__ import annotations

import html
import io
import ipaddress
import json
import multiprocessing
import queue
import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from kg.errors import KgError, QueryError
from kg.readers.query import (
    DEFAULT_ENGINE,
    QueryRefusedError,
    QueryResult,
    QuerySyntaxError,
    QueryTimeoutError,
    SparqlStore,
    query_form,
    rdf_xml,
    resolve_graph_path,
    serialize,
)
from kg.readers.store import STORE_DIR

#: When every connection slot is taken, a connection idle (between requests, or still sending its
#: request) at least this many seconds is hung up on to make room for a new one.
HANG_UP_IDLE_AFTER = 0.5
#: How long a worker process may take to load the graph before the server gives up.
LOAD_TIMEOUT = 600.0
#: The example queries offered in the page: ``queries/*.rq`` of the source tree.
DEFAULT_EXAMPLES = Path(__file__).resolve().parents[2] / "queries"
#: At most this many example files, each at most this many bytes, are read.
MAX_EXAMPLES = 50
MAX_EXAMPLE_BYTES = 64_000

#: Media types offered for SELECT/ASK results, in order of preference, with the writer of each.
RESULT_MEDIA: tuple[tuple[str, str], ...] = (
    ("application/sparql-results+json", "json"),
    ("application/sparql-results+xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
    ("application/json", "json"),
    ("application/xml", "xml"),
    ("text/xml", "xml"),
)
#: Media types offered for CONSTRUCT/DESCRIBE results (and the service description).
#: N-Quads and TriG of a graph without names are its N-Triples and Turtle; Turtle is valid N3.
GRAPH_MEDIA: tuple[tuple[str, str], ...] = (
    ("text/turtle", "turtle"),
    ("application/n-triples", "ntriples"),
    ("application/ld+json", "jsonld"),
    ("application/rdf+xml", "rdfxml"),
    ("application/n-quads", "nquads"),
    ("application/trig", "trig"),
    ("text/n3", "n3"),
    ("application/x-turtle", "turtle"),
    ("application/turtle", "turtle"),
    ("text/rdf+n3", "n3"),
    ("application/n3", "n3"),
    ("application/json", "jsonld"),
    ("application/xml", "rdfxml"),
    ("text/xml", "rdfxml"),
)
_HTML = "text/html"

#: Parameters in which clients name the result format they want (SPARQLWrapper sends all three).
FORMAT_PARAMS: tuple[str, ...] = ("format", "output", "results")
#: Words clients put in those parameters -> media type for SELECT/ASK ("results") and for
#: CONSTRUCT/DESCRIBE ("graph").
_FORMAT_WORDS: dict[str, dict[str, str]] = {
    "json": {"results": "application/sparql-results+json", "graph": "application/ld+json"},
    "srj": {"results": "application/sparql-results+json"},
    "xml": {"results": "application/sparql-results+xml", "graph": "application/rdf+xml"},
    "srx": {"results": "application/sparql-results+xml"},
    "csv": {"results": "text/csv"},
    "tsv": {"results": "text/tab-separated-values"},
    "turtle": {"graph": "text/turtle"},
    "ttl": {"graph": "text/turtle"},
    "n3": {"graph": "text/n3"},
    "nt": {"graph": "application/n-triples"},
    "ntriples": {"graph": "application/n-triples"},
    "n-triples": {"graph": "application/n-triples"},
    "nq": {"graph": "application/n-quads"},
    "nquads": {"graph": "application/n-quads"},
    "n-quads": {"graph": "application/n-quads"},
    "trig": {"graph": "application/trig"},
    "jsonld": {"graph": "application/ld+json"},
    "json-ld": {"graph": "application/ld+json"},
    "rdf": {"graph": "application/rdf+xml"},
    "rdfxml": {"graph": "application/rdf+xml"},
    "rdf+xml": {"graph": "application/rdf+xml"},
    "rdf/xml": {"graph": "application/rdf+xml"},
}

#: Files of kg/static the server hands out under /static/, with their media types.
STATIC_FILES: dict[str, str] = {
    "yasgui.min.js": "text/javascript; charset=utf-8",
    "yasgui.min.css": "text/css; charset=utf-8",
    "yasgui.LICENSE.txt": "text/plain; charset=utf-8",
    "query.js": "text/javascript; charset=utf-8",
    "query.css": "text/css; charset=utf-8",
}

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS_NS = Namespace("http://www.w3.org/ns/formats/")
#: sd:resultFormat values for what the endpoint writes.
_SD_FORMATS = (
    "SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
    "Turtle", "N-Triples", "N-Quads", "TriG", "RDF_XML", "JSON-LD", "N3",
)  # fmt: skip


class ServiceUnavailableError(QueryError):
    """No query process came free in time, or the server is stopping (HTTP 503)."""


_ERRORS: dict[str, type[QueryError]] = {
    cls.__name__: cls
    for cls in (QueryError, QuerySyntaxError, QueryRefusedError, QueryTimeoutError, ServiceUnavailableError)
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
    #: seconds a connection may stay silent (between requests or inside one) before it is closed
    idle_timeout: float = 20.0
    #: seconds a request may take to arrive whole (request line, headers, body) once its first
    #: byte came: a client that trickles its headers is hung up on
    request_timeout: float = 10.0
    #: Host names answered besides 127.0.0.1, localhost, [::1] and ``host`` ("*": any)
    allow_hosts: tuple[str, ...] = ()
    #: origins whose pages may read the endpoint (CORS); "*" for any; none by default
    cors: tuple[str, ...] = ()
    #: connections served at once; when all are taken, the one idle longest (between requests, or
    #: still sending its request) is hung up on for a new one; the rest wait in the listen backlog
    max_connections: int = 256
    #: the listen backlog (the kernel caps it at net.core.somaxconn)
    backlog: int = 1024
    #: seconds requests in flight may take to finish once SIGINT/SIGTERM arrived
    stop_grace: float = 5.0
    #: one access line per request on the log
    access_log: bool = True
    #: folder of example ``.rq`` files offered in the page (None: none)
    examples: Path | None = DEFAULT_EXAMPLES


# ---------------------------------------------------------------------------------------------
# Writing results (runs in the worker processes)
# ---------------------------------------------------------------------------------------------


def render(result: QueryResult, fmt: str) -> bytes:
    """``result`` written in ``fmt`` (a format of :data:`RESULT_MEDIA` or :data:`GRAPH_MEDIA`).

    Graphs are written as ``kg query`` writes them (sorted N-Triples, Turtle with the project's
    prefixes); N-Quads and TriG of a graph without names are its N-Triples and Turtle.
    """
    if result.form == "ASK" and fmt in ("csv", "tsv"):
        # SPARQL's CSV/TSV formats define no boolean; this one-column table is what Jena writes
        # and what CSV/TSV result parsers (rdflib's, Jena's) read back
        answer = "true" if result.boolean else "false"
        text = f"_askResult\r\n{answer}\r\n" if fmt == "csv" else f"?_askResult\n{answer}\n"
    elif fmt in ("turtle", "n3", "trig"):
        text = serialize(result, "turtle")
    elif fmt in ("ntriples", "nquads"):
        text = serialize(result, "ntriples")
    elif fmt == "rdfxml":
        text = rdf_xml(result.graph())
    else:
        text = serialize(result, fmt)
    return text.encode("utf-8")


def write_graph(graph: Graph, fmt: str) -> bytes:
    """An rdflib graph (with its own prefixes) written in a format of :data:`GRAPH_MEDIA`."""
    rdflib_format = {
        "turtle": "turtle", "n3": "turtle", "trig": "turtle",
        "ntriples": "nt", "nquads": "nt", "rdfxml": "xml", "jsonld": "json-ld",
    }[fmt]  # fmt: skip
    if rdflib_format == "json-ld":
        return graph.serialize(format="json-ld", indent=1, ensure_ascii=False).encode("utf-8")
    return graph.serialize(format=rdflib_format, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------------------------


def _worker_main(conn: Connection, graph: str, engine: str) -> None:
    """Load the graph once, then answer ``(query, max_rows, fmt)`` messages until the pipe closes.

    The answer is the written result (``fmt``) with its truncation flag, or the
    :class:`QueryResult` itself when ``fmt`` is None.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
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
        text, max_rows, fmt = msg
        try:
            result = store.query(text, max_rows=max_rows)
            conn.send(("ok", result) if fmt is None else ("ok", render(result, fmt), result.truncated))
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
        self.reload = 0  # the pool's reload count when this worker was started
        self._stop_lock = threading.Lock()
        self._stopped = False

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
        """Kill the process at once (a timed-out query) and reap it. Safe to call from two threads
        (the pool closing while the request that holds the worker gives up on it): the pipe is
        closed once, never a descriptor that another file may have taken since."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
            self.conn.close()


@dataclass(frozen=True)
class Rendered:
    """A query's answer as bytes in the negotiated format."""

    body: bytes
    truncated: bool


def _file_id(path: Path) -> tuple[int, ...] | None:
    """What tells one version of a file or folder from the next (None: it is gone)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class Generation:
    """The build generation a pool serves: what its workers open (``target``), and the folder or
    file (``watched``) whose identity (``ident``) says whether that generation is still there."""

    target: str
    watched: Path
    ident: tuple[int, ...] | None

    @classmethod
    def of(cls, graph: str | Path) -> Generation:
        """The generation ``graph`` shows now. A build directory in kg build's layout
        (``OUTDIR/store`` a link into ``.kg-generations/<id>/``) is pinned to that generation folder,
        which opens like OUTDIR and which later builds leave alone until the one after next; an
        older, plain build directory or an RDF file is watched for being replaced."""
        p = Path(graph)
        store = p / STORE_DIR
        if p.is_dir() and store.is_symlink():
            real = store.resolve()
            return cls(str(real.parent), real, _file_id(real))
        watched = store if p.is_dir() else p
        return cls(str(p), watched, _file_id(watched))

    def still_there(self) -> bool:
        """True while workers opening ``target`` read this same generation."""
        return _file_id(self.watched) == self.ident


class QueryPool:
    """Worker processes that each hold the graph; a query past its time limit kills its worker.

    ``run`` and ``render`` are thread-safe: HTTP threads take an idle worker, or wait for one
    within the query's time limit.

    One pool serves one build generation (:class:`Generation`): a worker started to replace one
    that was stopped opens the generation the others read, not what OUTDIR shows since a later
    build. Only when that generation is gone (two builds later, or an older plain build directory
    or an RDF file replaced) does the pool move every worker at once to what OUTDIR shows: a full
    set of new workers opens it while the old ones go on answering, then the pool switches to the
    new set (idle old workers are stopped, busy ones as they finish), so no query starts on the
    old generation after one started on the new.
    """

    def __init__(
        self,
        graph: str | Path,
        engine: str = DEFAULT_ENGINE,
        size: int = 2,
        log: Callable[[str], None] | None = None,
    ) -> None:
        resolve_graph_path(graph)  # fail fast, in the parent, on a missing file
        self._source = str(graph)
        self._size = max(1, size)
        self._log = log
        self._engine = engine
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._generation = Generation.of(graph)
        #: how many times every worker was moved to a new generation
        self.reloads = 0
        self._reloading = False
        workers = [self._spawn() for _ in range(self._size)]
        try:
            for w in workers:
                w.wait_ready(LOAD_TIMEOUT)
        except BaseException:
            self.close()
            raise
        if self._generation.ident is None:  # an older build whose store the first worker just added
            self._generation = Generation.of(graph)
        for w in workers:
            self._idle.put(w)

    def _spawn(self) -> _Worker:
        with self._lock:
            target, reload = self._generation.target, self.reloads
        w = _Worker(self._ctx, target, self._engine)
        w.reload = reload
        with self._lock:
            self._all.add(w)
        return w

    def _current(self, w: _Worker) -> bool:
        return w.reload == self.reloads

    def _retire(self, w: _Worker) -> None:
        """Stop ``w`` and put a fresh worker in its place (it loads the graph in the background);
        when the generation served is gone, every worker is moved to what OUTDIR shows now instead."""
        w.stop()
        with self._lock:
            self._all.discard(w)
            closed = self._closed
        if closed or not self._current(w):
            return
        if not self._generation.still_there():
            self._start_reload()
            return
        self._idle.put(self._spawn())

    def _start_reload(self) -> None:
        with self._lock:
            if self._reloading or self._closed:
                return
            self._reloading = True
        threading.Thread(target=self._reload, name="kg-serve-reload", daemon=True).start()

    def _reload(self) -> None:
        """Start a full set of workers on the generation OUTDIR shows now; once every one of them
        has opened it, switch to them at once (the old workers answer meanwhile, then idle ones
        stop, busy ones as they finish). See the class docstring."""
        try:
            generation = Generation.of(self._source)
            if self._closed:
                return
            fresh = [_Worker(self._ctx, generation.target, self._engine) for _ in range(self._size)]
            with self._lock:
                self._all.update(fresh)
                closed = self._closed
            if closed:  # close() may have missed them
                for w in fresh:
                    w.stop()
                return
            try:
                for w in fresh:
                    w.wait_ready(LOAD_TIMEOUT)
            except Exception as exc:  # any failure: the old workers go on
                for w in fresh:
                    w.stop()
                with self._lock:
                    self._all.difference_update(fresh)
                if self._log is not None and not self._closed:
                    self._log(f"{self._source}: the build served was replaced and is gone, and the one it shows "
                              f"now cannot be read ({exc}); the query processes left go on")
                return
            with self._lock:
                if self._closed:
                    return
                self._generation = generation
                self.reloads += 1
                for w in fresh:
                    w.reload = self.reloads
            while True:  # idle workers of the old generation stop now; busy ones when they are done
                try:
                    old = self._idle.get_nowait()
                except queue.Empty:
                    break
                old.stop()
                with self._lock:
                    self._all.discard(old)
            for w in fresh:
                self._idle.put(w)
            if self._log is not None:
                self._log(f"{self._source}: the build served was replaced and is gone; every query process now "
                          "reads the build it shows now")
        finally:
            with self._lock:
                self._reloading = False

    def _call(self, text: str, max_rows: int | None, fmt: str | None, timeout: float) -> tuple[Any, ...]:
        """Send one query to an idle worker and return its answer message."""
        if self._closed:
            raise ServiceUnavailableError("the server is stopping; try again later")
        if not self._all:  # every worker stopped and none could be started yet: try again
            self._start_reload()
        try:
            w = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise ServiceUnavailableError(
                f"the server is busy: no query process came free within {timeout:g} s; try again later"
            ) from None
        healthy = False
        try:
            if not self._current(w):  # of a generation that is gone: every worker was moved on
                w.stop()
                with self._lock:
                    self._all.discard(w)
                return self._call(text, max_rows, fmt, timeout)
            w.wait_ready(LOAD_TIMEOUT)  # a replacement worker may still be loading
            start = time.monotonic()
            w.conn.send((text, max_rows, fmt))
            if not w.conn.poll(timeout):
                raise QueryTimeoutError(
                    f"the query was stopped after {time.monotonic() - start:.1f} s: the time limit is "
                    f"{timeout:g} s (kg serve --timeout); narrow it down or add a LIMIT"
                )
            msg = w.conn.recv()
            healthy = True
        except (EOFError, OSError) as exc:
            if self._closed:
                raise ServiceUnavailableError("the server is stopping; try again later") from None
            raise QueryError(f"the query process stopped unexpectedly ({exc}); try again") from exc
        finally:
            if healthy and self._current(w):
                self._idle.put(w)
            elif healthy:  # every worker was moved on while this one answered
                w.stop()
                with self._lock:
                    self._all.discard(w)
            elif self._current(w):
                self._retire(w)
        if msg[0] == "ok":
            return msg
        raise _ERRORS.get(msg[1], QueryError)(msg[2])

    def run(self, text: str, *, timeout: float, max_rows: int | None) -> QueryResult:
        """Run one query in a worker; raises :class:`QueryTimeoutError` past ``timeout`` seconds."""
        result: QueryResult = self._call(text, max_rows, None, timeout)[1]
        return result

    def render(self, text: str, fmt: str, *, timeout: float, max_rows: int | None) -> Rendered:
        """Run one query in a worker and have the worker write the result in ``fmt``."""
        msg = self._call(text, max_rows, fmt, timeout)
        return Rendered(msg[1], msg[2])

    def close(self, wait: float = 2.0) -> None:
        """Stop every worker process: idle ones at once, busy ones after at most ``wait`` seconds."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        for w in workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            w.stop()


# ---------------------------------------------------------------------------------------------
# Content negotiation
# ---------------------------------------------------------------------------------------------


def _parse_accept(header: str) -> list[tuple[str, float]]:
    """``[(media range, q)]`` from an Accept header; a malformed q counts as 0, q is kept in [0, 1]."""
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
                    q = min(1.0, max(0.0, float(value)))
                except ValueError:
                    q = 0.0
        out.append((media, q))
    return out


def offers_for(form: str) -> tuple[tuple[str, str], ...]:
    """The ``(media type, format)`` pairs a ``form`` query can be answered with."""
    return GRAPH_MEDIA if form in ("CONSTRUCT", "DESCRIBE") else RESULT_MEDIA


def _choose(accept: str | None, offers: tuple[tuple[str, str], ...]) -> tuple[str, str] | None:
    """The offer the Accept header likes best; ties go to the order of ``offers``."""
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


def negotiate(accept: str | None, form: str) -> tuple[str, str] | None:
    """The ``(media type, format)`` to answer a ``form`` query with, or None when nothing fits.

    The most specific matching range gives an offer its q; the highest q wins and ties go to
    the server's order of preference (JSON for results, Turtle for graphs).
    """
    return _choose(accept, offers_for(form))


def format_from_params(params: dict[str, list[str]], form: str) -> tuple[str, str] | None:
    """The ``(media type, format)`` named by ``format=``/``output=``/``results=``, or None.

    Values are words (``json``, ``rdf+xml``, ``json-ld`` …, read for the query form: ``xml`` is
    SPARQL XML for SELECT and RDF/XML for CONSTRUCT) or media types. The first value that fits
    ``form`` wins; values that do not fit (or are unknown) are ignored.
    """
    offers = dict(offers_for(form))
    kind = "graph" if form in ("CONSTRUCT", "DESCRIBE") else "results"
    for name in FORMAT_PARAMS:
        for value in params.get(name, []):
            # "rdf+xml" sent unencoded in a URL arrives as "rdf xml"
            v = value.strip().lower().replace(" ", "+")
            media = v.split(";")[0].strip() if "/" in v else _FORMAT_WORDS.get(v, {}).get(kind, "")
            if media in offers:
                return media, offers[media]
    return None


# ---------------------------------------------------------------------------------------------
# The service description and the page
# ---------------------------------------------------------------------------------------------


def service_description(endpoint: str, named_graphs: list[str], title: str) -> Graph:
    """The SPARQL 1.1 Service Description of the endpoint at ``endpoint``."""
    g = Graph()
    g.bind("sd", SD)
    g.bind("formats", FORMATS_NS)
    g.bind("dcterms", DCTERMS)
    svc = URIRef(endpoint)
    g.add((svc, RDF.type, SD.Service))
    g.add((svc, SD.endpoint, svc))
    g.add((svc, DCTERMS.title, Literal(title)))
    g.add((svc, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((svc, SD.feature, SD.UnionDefaultGraph))
    g.add((svc, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    for name in _SD_FORMATS:
        g.add((svc, SD.resultFormat, FORMATS_NS[name]))
    dataset = BNode("dataset")
    g.add((svc, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode("defaultGraph")
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    for i, name in enumerate(named_graphs):
        ng = BNode(f"namedGraph{i}")
        g.add((dataset, SD.namedGraph, ng))
        g.add((ng, RDF.type, SD.NamedGraph))
        g.add((ng, SD.name, URIRef(name)))
    return g


def _embed_json(data: Any) -> str:
    """JSON that cannot end a ``<script>`` element (``<``, ``>``, ``&`` and line separators escaped)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for c in ("<", ">", "&", "\u2028", "\u2029"):
        text = text.replace(c, f"\\u{ord(c):04x}")
    return text


def read_examples(folder: Path | None) -> list[dict[str, str]]:
    """``[{"name", "title", "query"}]`` for the ``.rq`` files of ``folder`` (sorted, bounded).

    The title is the first comment line of the file. Unreadable or oversized files are left out.
    """
    if folder is None or not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.rq"))[:MAX_EXAMPLES]:
        try:
            if path.stat().st_size > MAX_EXAMPLE_BYTES:
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        title = first.lstrip("#").strip() if first.lstrip().startswith("#") else path.stem
        out.append({"name": path.name, "title": title, "query": text})
    return out


def _static(name: str) -> bytes:
    return resources.files("kg").joinpath("static", name).read_bytes()


DEFAULT_QUERY = """PREFIX dip: <https://w3id.org/dipkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

# Who holds which post, in which state or organization
SELECT ?name ?title ?placeName WHERE {
  ?person dip:holds ?post ; rdfs:label ?name .
  ?post dip:title ?title .
  OPTIONAL { ?post dip:postIn/rdfs:label ?placeName }
}
ORDER BY ?name ?title
LIMIT 100
"""


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


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
    ServiceUnavailableError: HTTPStatus.SERVICE_UNAVAILABLE,
}
_ALLOW = "GET, HEAD, POST, OPTIONS"
_TOKEN_LIST = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Host names every server answers to: the loopback addresses and name (see :func:`host_names`).
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
#: Connection-level failures of a client that went away: no traceback, no error line.
_GONE = (ConnectionError, TimeoutError)


_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


def check_host_name(name: str) -> str:
    """``name`` if it can be a ``Host`` name (a DNS name, an IP address, IPv6 in brackets or not,
    or ``*``); raises ValueError otherwise."""
    n = name.strip()
    if n == "*" or re.fullmatch(r"[A-Za-z0-9.\-]+", n) or _is_ip_literal(n):
        return n
    raise ValueError(f"{name!r} is not a host name (give a name such as myhost.example, an address, or *)")


def check_origin(origin: str) -> str:
    """``origin`` if it is a web origin (``http://host[:port]``, ``https://…``) or ``*``; raises
    ValueError otherwise."""
    o = origin.strip().rstrip("/")
    if o == "*" or _ORIGIN.fullmatch(o):
        return o
    raise ValueError(f"{origin!r} is not an origin (give scheme://host[:port] such as http://localhost:3000, or *)")


def host_names(config: ServeConfig) -> frozenset[str]:
    """The ``Host`` names (without port, lower case, IPv6 in brackets) the server answers to: the
    loopback ones, ``--host`` itself and ``--allow-host`` names. Any other name is refused, so a
    page of another site cannot reach the endpoint by pointing its own name at 127.0.0.1 (DNS
    rebinding)."""
    names = set(LOOPBACK_HOSTS)
    for name in (config.host, *config.allow_hosts):
        name = name.strip().lower().rstrip(".")
        if ":" in name and not name.startswith("["):
            name = f"[{name}]"
        if name and name not in ("0.0.0.0", "[::]"):  # "every address" is no name to be reached by
            names.add(name)
    return frozenset(names)


def _host_name(header: str) -> str | None:
    """The name in a ``Host`` header (lower case, without port, IPv6 in brackets); None when malformed."""
    header = header.strip()
    if not _HOST.fullmatch(header):
        return None
    if header.startswith("["):
        name = header[: header.index("]") + 1]
    else:
        name = header.rsplit(":", 1)[0] if ":" in header else header
    return name.lower().rstrip(".") or None


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


class _TimedReader(io.RawIOBase):
    """The reading side of a connection with a deadline: each ``recv`` waits at most the idle
    timeout, and once :attr:`deadline` is set no longer than what is left of it. A request line
    and headers sent a byte at a time therefore cannot hold a connection longer than the
    deadline (a socket timeout alone restarts with every byte)."""

    def __init__(self, sock: socket.socket, idle: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wait = self._idle
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request did not arrive in time")
            wait = min(wait, left)
        self._sock.settimeout(wait)
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self._idle)  # writes wait the idle timeout


class SparqlHandler(BaseHTTPRequestHandler):
    """The SPARQL 1.1 Protocol (query operation only), the service description and the page."""

    server: SparqlServer
    server_version = "kg-sparql"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive
    default_request_version = "HTTP/1.0"  # a garbled request line still gets a status line
    disable_nagle_algorithm = True
    error_message_format = "Error: %(message)s\n"
    error_content_type = "text/plain; charset=utf-8"

    # --- plumbing ---------------------------------------------------------------------------

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        self.timeout = self.server.config.idle_timeout  # a read timeout on the connection
        super().setup()
        self.rfile.close()  # the plain reader is replaced by one with a deadline per request
        self._reader = _TimedReader(self.connection, self.server.config.idle_timeout)
        self.rfile = io.BufferedReader(self._reader, 65536)

    def handle_one_request(self) -> None:
        """Read and answer one request.

        The connection counts as busy (see :meth:`SparqlServer.stop`) from the end of the
        request's headers until its answer is written: a client that is still sending its
        request line or headers when the server stops is simply hung up on.
        """
        self._status: int | None = None
        self._sent = 0
        self._reader.deadline = None
        try:
            # wait (up to the idle timeout) for the first byte; from then on the whole request
            # must arrive within the request timeout
            if not self.rfile.peek(1):
                self.close_connection = True
                return
            self._reader.deadline = time.monotonic() + self.server.config.request_timeout
            self.raw_requestline = self.rfile.readline(65537)
        except _GONE:
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        started = time.monotonic()
        try:
            if len(self.raw_requestline) > 65536:
                self.requestline = self.command = ""
                self.request_version = self.default_request_version
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, "the request line is too long; POST the query")
                return
            if not self.parse_request():  # reads the headers; answers 400 itself
                return
            refused = self._check_host()
            if refused is not None:
                self.close_connection = True
                self._fail(refused)
                return
            if not self.server.begin_request(self.connection):
                self.close_connection = True  # stopping: the request is not answered
                return
            try:
                method = getattr(self, f"do_{self.command}", None)
                if method is None:
                    self.close_connection = True
                    self._fail(_HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not allowed",
                                          {"Allow": _ALLOW}))
                    return
                method()
                self.wfile.flush()
            finally:
                self._reader.deadline = None
                if self.server.end_request(self.connection):
                    self.close_connection = True
        except _GONE:
            self.close_connection = True
        finally:
            self._log_access(started)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Remember the status; the access line is written when the answer is out."""
        self._status = int(code) if isinstance(code, int) else None

    def log_error(self, format: str, *args: Any) -> None:
        """Errors are answered to the client; the access line says the status."""

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")

    def _log_access(self, started: float) -> None:
        if self._status is None or self.server.log is None or not self.server.config.access_log:
            return
        line = getattr(self, "requestline", "") or ""
        method, _, rest = line.partition(" ")
        target = rest.rsplit(" ", 1)[0] if " " in rest else rest
        if len(target) > 120:
            target = target[:119] + "…"
        target = _UNPRINTABLE.sub("?", f"{method} {target}".strip())
        ms = (time.monotonic() - started) * 1000
        self.server.log(f'{self.client_address[0]} "{target}" {self._status} {self._sent} {ms:.0f}ms')

    def _send(
        self,
        status: HTTPStatus,
        body: bytes | str,
        ctype: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        if "Cache-Control" not in (headers or {}):
            self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self._end_headers()
        if self.command != "HEAD":
            self._headers_buffer.append(data)  # type: ignore[attr-defined]
            self._sent = len(data)
        self.flush_headers()  # headers and body in one write

    def _end_headers(self) -> None:
        """CORS headers when the request's Origin may read the answer, then ``Connection``: close
        when the connection ends here, keep-alive for an HTTP/1.0 client that asked to keep it."""
        for k, v in self._cors_headers().items():
            self.send_header(k, v)
        if self.close_connection or self.server.stopping:
            self.close_connection = True
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            # an HTTP/1.0 client keeps the connection only when told so; parse_request left it
            # open because the client asked for keep-alive
            self.send_header("Connection", "keep-alive")
        self._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]

    def _cors_headers(self) -> dict[str, str]:
        """``Access-Control-Allow-Origin`` (and ``Vary: Origin``) for an Origin ``--cors`` allows."""
        allowed = self.server.config.cors
        if not allowed:
            return {}
        origin = self.headers.get("Origin") if getattr(self, "headers", None) is not None else None
        out = {"Vary": "Origin"} if "*" not in allowed else {}
        if origin is None:
            return out
        if "*" in allowed:
            out["Access-Control-Allow-Origin"] = "*"
        elif origin.strip().rstrip("/").lower() in self.server.cors_origins:
            out["Access-Control-Allow-Origin"] = origin.strip()
        else:
            return out
        out["Access-Control-Expose-Headers"] = "X-SPARQL-MaxRows, Content-Type, Content-Length"
        return out

    def _check_host(self) -> _HttpError | None:
        """A refusal when the request names a host this server does not answer to (DNS rebinding)."""
        target = self.path
        if not (target.startswith("/") or (target == "*" and self.command == "OPTIONS")):
            return _HttpError(HTTPStatus.BAD_REQUEST,
                              f"the request target must be a path such as /sparql, not {target[:60]!r}")
        values = self.headers.get_all("Host") or []
        if len(values) > 1:
            return _HttpError(HTTPStatus.BAD_REQUEST, "the request has more than one Host header")
        if not values:
            if self.request_version == "HTTP/1.0":
                return None  # HTTP/1.0 needs none; no browser leaves it out
            return _HttpError(HTTPStatus.BAD_REQUEST, "an HTTP/1.1 request needs a Host header")
        if self.server.host_allowed(values[0]):
            return None
        shown = _UNPRINTABLE.sub("?", values[0].strip()[:100])
        return _HttpError(
            HTTPStatus.MISDIRECTED_REQUEST,
            f"Host {shown} is not served here; this server answers to {', '.join(sorted(self.server.hosts))} "
            "(kg serve --allow-host NAME adds a name)",
        )

    def _fail(self, err: _HttpError) -> None:
        self._send(err.status, f"Error: {err.message}\n", "text/plain; charset=utf-8", err.headers)

    # --- methods ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        """The page at /, its files under /static/, the protocol and the service description at /sparql."""
        try:
            self._discard_body()
            url = urlsplit(self.path)
            if url.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, self.server.page(), "text/html; charset=utf-8")
                return
            if url.path.startswith("/static/"):
                self._static(url.path[len("/static/") :])
                return
            self._check_path(url.path)
            params = parse_qs(url.query, keep_blank_values=True)
            self._answer(params)
        except _HttpError as err:
            self._fail(err)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        """A query in the body (application/sparql-query) or in a form field."""
        try:
            url = urlsplit(self.path)
            body = self._read_body()
            self._check_path(url.path)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype == "application/sparql-update":
                raise _HttpError(HTTPStatus.FORBIDDEN, "updates are refused: this endpoint is read-only")
            params = parse_qs(url.query, keep_blank_values=True)
            if ctype == "application/sparql-query":
                if "query" in params:
                    raise _HttpError(HTTPStatus.BAD_REQUEST, "give the query either in the body or as query=, not both")
                params["query"] = [self._decode(body)]
            elif ctype == "application/x-www-form-urlencoded":
                form = parse_qs(self._decode(body), keep_blank_values=True)
                for k, v in form.items():
                    params.setdefault(k, []).extend(v)
                if "query" not in params and "update" not in params:
                    raise _HttpError(HTTPStatus.BAD_REQUEST, "the form has no query= field")
            else:
                raise _HttpError(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"Content-Type {ctype or '(none)'} is not accepted; send application/sparql-query "
                    "or application/x-www-form-urlencoded with query=",
                )
            self._answer(params)
        except _HttpError as err:
            self._fail(err)

    def do_OPTIONS(self) -> None:
        """The methods allowed; for an origin ``--cors`` allows, the answer to a CORS preflight
        (methods, request headers, how long to remember). Without ``--cors`` no CORS header is
        sent, so pages of other origins cannot read the endpoint."""
        self._discard_body()
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Allow", _ALLOW)
        self.send_header("Content-Length", "0")
        if self._cors_headers().get("Access-Control-Allow-Origin"):
            self.send_header("Access-Control-Allow-Methods", _ALLOW)
            asked = self.headers.get("Access-Control-Request-Headers")
            if asked and _TOKEN_LIST.fullmatch(asked.strip()):
                self.send_header("Access-Control-Allow-Headers", asked.strip())
            self.send_header("Access-Control-Max-Age", "600")
        self._end_headers()
        self.flush_headers()

    def _not_allowed(self) -> None:
        self.close_connection = True  # a body, if any, is not read
        self._fail(_HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not allowed; use GET or POST",
                              {"Allow": _ALLOW}))

    do_PUT = do_DELETE = do_PATCH = do_TRACE = do_CONNECT = _not_allowed

    # --- helpers ----------------------------------------------------------------------------

    def _check_path(self, path: str) -> None:
        if path != "/sparql":
            raise _HttpError(HTTPStatus.NOT_FOUND, f"nothing at {path}; the endpoint is /sparql, the query page /")

    def _static(self, name: str) -> None:
        if name not in STATIC_FILES:
            raise _HttpError(HTTPStatus.NOT_FOUND, f"nothing at /static/{name}")
        self._send(HTTPStatus.OK, self.server.static(name), STATIC_FILES[name], {"Cache-Control": "no-cache"})

    def _discard_body(self) -> None:
        """A GET/HEAD/OPTIONS with a body: the body is not read, so the connection cannot be reused."""
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get("Transfer-Encoding"):
            self.close_connection = True

    def _read_body(self) -> bytes:
        """The request body (Content-Length or chunked), at most ``max_body`` bytes."""
        limit = self.server.config.max_body
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise _HttpError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length header")
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0:
            self.close_connection = True
            raise _HttpError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {length!r}")
        if n > limit:
            self.close_connection = True  # the body is not read
            raise _HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request body is {n} bytes; at most {limit} are accepted",
            )
        data = self.rfile.read(n)
        if len(data) < n:
            self.close_connection = True
            raise _HttpError(HTTPStatus.BAD_REQUEST, "the request body ended early")
        return data

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise _HttpError(HTTPStatus.BAD_REQUEST, "bad chunked request body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                self.close_connection = True
                raise _HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                 f"the request body is over {limit} bytes; at most {limit} are accepted")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    @staticmethod
    def _decode(body: bytes) -> str:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise _HttpError(HTTPStatus.BAD_REQUEST, "the request body is not UTF-8") from None

    def _choose_format(self, params: dict[str, list[str]], form: str) -> tuple[str, str]:
        chosen = format_from_params(params, form) or negotiate(self.headers.get("Accept"), form)
        if chosen is None:
            offers = offers_for(form)
            raise _HttpError(
                HTTPStatus.NOT_ACCEPTABLE,
                f"cannot answer a {form} query as {self.headers.get('Accept')}; "
                f"acceptable: {', '.join(dict(offers))}",
            )
        return chosen

    def _answer(self, params: dict[str, list[str]]) -> None:
        """Check, negotiate, run and write one query (or the service description)."""
        if "update" in params:
            raise _HttpError(HTTPStatus.FORBIDDEN, "updates are refused: this endpoint is read-only")
        if "query" not in params:
            self._describe(params)
            return
        for name in ("default-graph-uri", "named-graph-uri"):
            if name in params:
                raise _HttpError(
                    HTTPStatus.BAD_REQUEST,
                    f"{name} is not supported; the default graph is the union of all graphs, "
                    "use GRAPH ?g { … } in the query to pick documents",
                )
        queries = params["query"]
        if len(queries) != 1:
            raise _HttpError(HTTPStatus.BAD_REQUEST, "give exactly one query parameter")
        text = queries[0]
        try:
            form = query_form(text)
        except QueryError as exc:
            raise _HttpError(_STATUS.get(type(exc), HTTPStatus.BAD_REQUEST), str(exc)) from None
        media, fmt = self._choose_format(params, form)
        cfg = self.server.config
        try:
            answer = self.server.pool.render(text, fmt, timeout=cfg.timeout, max_rows=cfg.max_rows)
        except QueryError as exc:
            raise _HttpError(_STATUS.get(type(exc), HTTPStatus.INTERNAL_SERVER_ERROR), str(exc)) from None
        headers = {"Vary": "Accept"}
        if answer.truncated:
            headers["X-SPARQL-MaxRows"] = str(cfg.max_rows)
        charset = "" if media == "application/n-triples" else "; charset=utf-8"
        self._send(HTTPStatus.OK, answer.body, media + charset, headers)

    def _describe(self, params: dict[str, list[str]]) -> None:
        """The service description, in a negotiated RDF format; a browser goes to the page."""
        chosen = format_from_params(params, "DESCRIBE") or _choose(
            self.headers.get("Accept"), (*GRAPH_MEDIA, (_HTML, "html"))
        )
        if chosen is None:
            raise _HttpError(
                HTTPStatus.NOT_ACCEPTABLE,
                f"the service description is RDF; acceptable: {', '.join(dict(GRAPH_MEDIA))}",
            )
        media, fmt = chosen
        if fmt == "html":
            self._send(HTTPStatus.SEE_OTHER, "See the query page at /\n", "text/plain; charset=utf-8",
                       {"Location": "/", "Vary": "Accept"})
            return
        host = self.headers.get("Host", "")
        endpoint = f"http://{host}/sparql" if _HOST.fullmatch(host) else self.server.url
        try:
            graph = self.server.description(endpoint)
        except QueryError as exc:
            raise _HttpError(_STATUS.get(type(exc), HTTPStatus.INTERNAL_SERVER_ERROR), str(exc)) from None
        body = write_graph(graph, fmt)
        charset = "" if media == "application/n-triples" else "; charset=utf-8"
        self._send(HTTPStatus.OK, body, media + charset, {"Vary": "Accept"})


class SparqlServer(ThreadingHTTPServer):
    """A threading HTTP server holding the config and the query pool.

    One daemon thread per connection, at most ``config.max_connections`` at once; the listen
    backlog is ``config.backlog``. :meth:`stop` closes idle keep-alive connections at once and
    gives requests in flight ``config.stop_grace`` seconds.
    """

    daemon_threads = True
    block_on_close = False

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
        self.request_queue_size = config.backlog
        self.examples = read_examples(config.examples)
        self.hosts = host_names(config)
        self._any_host = "*" in config.allow_hosts
        self._any_ip = config.host.strip() in _WILDCARD_HOSTS  # bound to every address
        self.cors_origins = frozenset(o.strip().rstrip("/").lower() for o in config.cors)
        self._slots = threading.BoundedSemaphore(config.max_connections)
        self._cond = threading.Condition()
        # open connection -> None while it is answering a request, else since when it is idle
        # (between requests, or still sending its request line and headers)
        self._conns: dict[socket.socket, float | None] = {}
        self._stopping = False
        self._page: bytes | None = None
        self._named_graphs: list[str] | None = None
        self._named_graphs_of = 0  # the pool's reload count they were listed at
        super().__init__((config.host, config.port), SparqlHandler)

    @property
    def url(self) -> str:
        """The endpoint's address, e.g. ``http://127.0.0.1:7878/sparql``."""
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/sparql"

    # --- connections ------------------------------------------------------------------------

    def host_allowed(self, header: str) -> bool:
        """True when a request's ``Host`` header names this server (see :func:`host_names`).

        Bound to every address (``--host 0.0.0.0`` or ``::``), any IP address is answered too: a
        page can reach the server by an address only from an origin that is that address, so only
        names can rebind."""
        if self._any_host:
            return True
        name = _host_name(header)
        if name is None:
            return False
        return name in self.hosts or (self._any_ip and _is_ip_literal(name))

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start a thread for the connection once a slot is free. When every slot is taken, the
        connection idle longest is hung up on to make room (a keep-alive client between requests
        reconnects; a client trickling its headers is the one that should go), so slow or silent
        sockets cannot keep ordinary requests out. The accept loop waits meanwhile."""
        if not self._slots.acquire(blocking=False):
            while True:
                self._hang_up_idlest()
                if self._slots.acquire(timeout=0.1):
                    break
                if self._stopping:
                    self.shutdown_request(request)
                    return
        with self._cond:
            refused = self._stopping
            if not refused:
                self._conns[request] = time.monotonic()
        if refused:
            self._slots.release()
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request: Any) -> None:
        with self._cond:
            if request not in self._conns:
                return
            del self._conns[request]
            self._cond.notify_all()
        self._slots.release()

    def _hang_up_idlest(self) -> None:
        """Shut down the connection idle longest, if one has been idle :data:`HANG_UP_IDLE_AFTER`
        seconds (its thread then ends); one just accepted is given the time to send its request."""
        oldest = time.monotonic() - HANG_UP_IDLE_AFTER
        with self._cond:
            idle = [(since, id(c), c) for c, since in self._conns.items() if since is not None and since <= oldest]
            if not idle:
                return
            _, _, conn = min(idle)
            self._conns[conn] = None  # not picked twice; its thread forgets it as it ends
        _hang_up(conn)

    def begin_request(self, conn: socket.socket) -> bool:
        """Mark ``conn`` busy; False when the server is stopping or hung up on it (the request is not answered)."""
        with self._cond:
            if self._stopping or self._conns.get(conn, 0.0) is None:
                return False
            self._conns[conn] = None
            return True

    def end_request(self, conn: socket.socket) -> bool:
        """Mark ``conn`` idle; True when the server is stopping (the connection should close)."""
        with self._cond:
            if conn in self._conns:
                self._conns[conn] = time.monotonic()
            self._cond.notify_all()
            return self._stopping

    def _busy(self) -> bool:
        return any(since is None for since in self._conns.values())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is no error; anything else is one line on the log."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # ConnectionError, TimeoutError: the client went away
            return
        if self.log is not None:
            self.log(f"{client_address[0]} internal error: {type(exc).__name__}: {exc}")

    @property
    def stopping(self) -> bool:
        """True once the server was asked to stop."""
        return self._stopping

    def request_stop(self) -> None:
        """Stop taking connections (safe to call from a signal handler's thread)."""
        with self._cond:
            self._stopping = True
        threading.Thread(target=self.shutdown, daemon=True).start()

    def stop(self) -> None:
        """Close the listening socket and idle connections, let requests in flight finish, stop the workers.

        Call after ``serve_forever`` has returned (or was never started).
        """
        with self._cond:
            self._stopping = True
            idle = [c for c, since in self._conns.items() if since is not None]
        self.server_close()
        for c in idle:
            _hang_up(c)
        deadline = time.monotonic() + self.config.stop_grace
        with self._cond:
            while self._busy() and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
        self.pool.close(wait=0.5)  # a query still running is cut short; its client gets 503
        deadline = time.monotonic() + 1.0
        with self._cond:
            while self._busy() and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            rest = list(self._conns)
        for c in rest:
            _hang_up(c)

    # --- what the handler serves --------------------------------------------------------------

    def page(self) -> bytes:
        """The query page (YASGUI with the examples)."""
        if self._page is None:
            from kg.namespaces import PREFIXES

            config = {
                "endpoint": "/sparql",
                "defaultQuery": DEFAULT_QUERY,
                "examples": self.examples,
                "prefixes": PREFIXES,
            }
            text = _static("query.html").decode("utf-8")
            for key, value in {
                "{{source}}": html.escape(str(self.source)),
                "{{prefixes}}": html.escape(" ".join(PREFIXES)),
                "{{max_rows}}": str(self.config.max_rows),
                "{{timeout}}": f"{self.config.timeout:g}",
                "{{config}}": _embed_json(config),
            }.items():
                text = text.replace(key, value)
            self._page = text.encode("utf-8")
        return self._page

    def static(self, name: str) -> bytes:
        """One of :data:`STATIC_FILES`."""
        return _static(name)

    def description(self, endpoint: str) -> Graph:
        """The service description, with the named graphs of the data (listed once, bounded)."""
        if self._named_graphs is None or self._named_graphs_of != self.pool.reloads:
            self._named_graphs_of = self.pool.reloads
            res = self.pool.run(
                "SELECT DISTINCT ?g WHERE { GRAPH ?g { } } ORDER BY ?g",
                timeout=self.config.timeout, max_rows=self.config.max_rows,
            )
            self._named_graphs = [str(row[0]) for row in res.rows if row and row[0] is not None]
        return service_description(endpoint, self._named_graphs, f"kg SPARQL endpoint over {self.source.name}")


def _hang_up(conn: socket.socket) -> None:
    """Shut a connection down so a thread blocked reading it wakes up and ends."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def start_server(config: ServeConfig, log: Callable[[str], None] | None = None) -> SparqlServer:
    """Load the graph into the worker pool and bind the server (not yet serving).

    Raises :class:`QueryError` when the graph cannot be loaded or the address cannot be bound.
    """
    pool = QueryPool(config.graph, config.engine, config.workers, log=log)
    try:
        return SparqlServer(config, pool, log)
    except OSError as exc:
        pool.close()
        raise QueryError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from exc
    except BaseException:
        pool.close()
        raise


def stop_server(server: SparqlServer) -> None:
    """Close the socket and the connections (requests in flight get ``stop_grace``) and stop the workers."""
    server.stop()


def serve(config: ServeConfig, announce: Callable[[str], None] = print) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly (the library call behind ``kg serve``)."""
    server = start_server(config, log=announce)

    def on_signal(signum: int, _frame: object) -> None:
        announce(f"{signal.Signals(signum).name}: stopping")
        server.request_stop()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        announce(f"Serving {server.source} at {server.url} (query page at {server.url[: -len('sparql')]}; Ctrl-C to stop)")
        server.serve_forever(poll_interval=0.1)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        stop_server(server)
        announce("stopped")


__all__ = [
    "FORMAT_PARAMS",
    "GRAPH_MEDIA",
    "RESULT_MEDIA",
    "QueryPool",
    "Rendered",
    "ServeConfig",
    "ServiceUnavailableError",
    "SparqlHandler",
    "SparqlServer",
    "format_from_params",
    "negotiate",
    "read_examples",
    "render",
    "write_graph",
    "serve",
    "service_description",
    "start_server",
    "stop_server",
]
