"""Read-only SPARQL over a build output (``kg query``; also the engine behind ``kg serve``).

A build directory is opened from its on-disk store (:func:`kg.readers.store.open_build`): the
default graph is the merged graph (the triples of ``graph.ttl``, each once) and every document
is a named graph, so ``GRAPH ?doc { … }`` works. A single RDF file (.ttl, .trig, .nq, .nt,
.jsonld, .rdf) can be queried too; its default graph is the merge of all its graphs.

Two engines give the same answers: pyoxigraph (the default, measured several times faster,
see ``bench/bench_query.py``) and rdflib's own SPARQL engine. Both read the same store, and no
parser fetches anything remote.

Only queries are run. Updates (INSERT, DELETE, LOAD, CLEAR, DROP, CREATE, ADD, MOVE, COPY)
and ``SERVICE`` (a remote call) are refused with :class:`QueryRefusedError`, so a query can
read neither files nor the network. Results are engine-neutral :class:`QueryResult` records
holding rdflib terms; :func:`serialize` writes them as a table, CSV, TSV, SPARQL JSON or XML,
Turtle, N-Triples or JSON-LD.

Bounds: a query nested deeper than :data:`MAX_QUERY_DEPTH` or longer than
:data:`MAX_QUERY_CHARS` is refused before any engine sees it. :func:`run_query_bounded` (what
``kg query`` runs) evaluates the query in a child process that is killed at once past a time
limit, past a memory limit, or when the user interrupts; rows and bytes of the answer are
bounded too (:class:`Limits`).
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import re
import signal
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox
import rdflib.plugins.sparql
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Identifier

from kg.errors import KgError, QueryError, ReadError
from kg.namespaces import PREFIXES, bind_prefixes
from kg.rdfio import rdflib_term
from kg.readers.store import Build, check_build, open_build

ENGINES: tuple[str, ...] = ("oxigraph", "rdflib")
#: The faster engine on the 100x sample graph (bench/bench_query.py); both give the same results.
DEFAULT_ENGINE = "oxigraph"

#: Output formats of SELECT/ASK results, and of CONSTRUCT/DESCRIBE results.
RESULT_FORMATS: tuple[str, ...] = ("table", "csv", "tsv", "json", "xml")
GRAPH_FORMATS: tuple[str, ...] = ("turtle", "ntriples", "jsonld")
FORMATS: tuple[str, ...] = RESULT_FORMATS + GRAPH_FORMATS

QUERY_FORMS: tuple[str, ...] = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS: frozenset[str] = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
)

#: Brackets ``{ ( [`` nested in a query, plus prefix operators ``! ^ - +`` in a row, at most:
#: the parsers recurse per level and overflow the stack past a few thousand (a crash), and
#: nested lists take time cubic in the depth; real queries stay under ten.
MAX_QUERY_DEPTH = 32
#: Characters of query text at most.
MAX_QUERY_CHARS = 1_000_000


class QuerySyntaxError(QueryError):
    """The query text is not valid SPARQL 1.1 (the message is the parser's)."""


class QueryRefusedError(QueryError):
    """The query is valid but not allowed: an update, or a SERVICE call to another endpoint."""


class QueryTimeoutError(QueryError):
    """The query did not finish within the time limit."""


class QueryLimitError(QueryError):
    """The query is past one of the bounds: nesting depth, length, or memory while it ran."""


# ---------------------------------------------------------------------------------------------
# Looking at the query text before running it
# ---------------------------------------------------------------------------------------------

# Strings, IRIs and comments, left to right, so that keywords inside them are never seen.
_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""|$)'
    r"|'''(?:[^'\\]|\\.|'(?!''))*(?:'''|$)"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\x00-\x20]*>"
    r"|#[^\n]*",
    re.DOTALL,
)
_PROLOGUE = re.compile(r"\A\s*(?:(?:BASE\s*<>|PREFIX\s*[^\s:]*:\s*<>)\s*)*", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
_SERVICE_REFUSED = "SERVICE is refused: queries run on the local graph only and may not call other endpoints"
# SERVICE as a keyword: not part of a variable, a prefixed name or another word.
_SERVICE = re.compile(r"(?<![\w:?$\-])SERVICE(?![\w:\-])", re.IGNORECASE)
# SPARQL code point escapes (\u0053, \U00000053), which a parser may expand anywhere in the text
# before it reads keywords: SERV\u0049CE is SERVICE to rdflib.
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _expand_codepoints(query: str) -> str:
    """``query`` with its ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes replaced by the characters they stand for."""

    def repl(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF else m.group(0)

    return _CODEPOINT.sub(repl, query)


def _blank_out(query: str) -> str:
    """The query with comments removed and the insides of strings and IRIs emptied."""

    def repl(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok.startswith("#"):
            return " "
        if tok.startswith("<"):
            return "<>"
        return '""'

    return _OPAQUE.sub(repl, query)


_OPEN, _CLOSE, _PREFIX_OPS = "{([", "})]", "!^-+"


def query_depth(text: str) -> int:
    """How deep a query (with strings, IRIs and comments blanked out) nests: open brackets plus the
    prefix operators in a row at any point. Linear, and it never recurses."""
    depth = deepest = run = 0
    for c in text:
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth = max(0, depth - 1)
        if c in _PREFIX_OPS:
            run += 1
        elif not c.isspace():
            run = 0
        deepest = max(deepest, depth + run)
    return deepest


def query_form(query: str) -> str:
    """Check that ``query`` may run here and return its form: SELECT, ASK, CONSTRUCT or DESCRIBE.

    Raises :class:`QueryRefusedError` for an update or a SERVICE call, :class:`QueryLimitError`
    for a query nested deeper than :data:`MAX_QUERY_DEPTH` or longer than :data:`MAX_QUERY_CHARS`,
    and :class:`QuerySyntaxError` when the text does not start like a query. Full syntax checking
    is left to the engine's parser.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise QueryLimitError(
            f"the query is {len(query)} characters long; at most {MAX_QUERY_CHARS} are accepted"
        )
    text = _blank_out(query)
    # what a parser that expands code point escapes first reads (rdflib does)
    expanded = _blank_out(_expand_codepoints(query)) if _CODEPOINT.search(query) else text
    depth = max(query_depth(text), query_depth(expanded))
    if depth > MAX_QUERY_DEPTH:
        raise QueryLimitError(
            f"the query is nested {depth} levels deep (brackets {{ ( [ and prefix operators ! ^ - + in a "
            f"row); at most {MAX_QUERY_DEPTH} are accepted"
        )
    forms = []
    for t in (text, expanded):
        m = _FIRST_WORD.match(t[_PROLOGUE.match(t).end() :])  # type: ignore[union-attr]
        forms.append(m.group(0).upper() if m else "")
    for word in forms:
        if word in UPDATE_KEYWORDS:
            raise QueryRefusedError(
                f"updates are refused: the graph is read-only (the request starts with {word}); "
                "run SELECT, ASK, CONSTRUCT or DESCRIBE queries only"
            )
    word = forms[0]
    if word not in QUERY_FORMS:
        rest = text[_PROLOGUE.match(text).end() :]  # type: ignore[union-attr]
        found = f"found {rest.strip()[:30]!r}" if rest.strip() else "the query is empty"
        raise QuerySyntaxError(
            "not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE after the "
            f"PREFIX/BASE lines, {found}"
        )
    if _SERVICE.search(text) or _SERVICE.search(expanded):
        raise QueryRefusedError(_SERVICE_REFUSED)
    return word


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

Row = tuple[Identifier | None, ...]
Triple = tuple[Identifier, Identifier, Identifier]


@dataclass(frozen=True)
class QueryResult:
    """The answer to one query, independent of the engine that computed it.

    ``form`` is SELECT, ASK, CONSTRUCT or DESCRIBE. SELECT fills ``variables`` and ``rows``
    (``None`` for an unbound value); ASK fills ``boolean``; CONSTRUCT and DESCRIBE fill
    ``triples``. ``truncated`` is true when more rows (or triples) existed than were kept;
    ``cut_by`` says which bound cut them: ``"rows"`` (``max_rows``) or ``"bytes"`` (``max_bytes``).
    """

    form: str
    variables: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    boolean: bool | None = None
    triples: tuple[Triple, ...] = ()
    truncated: bool = False
    cut_by: str = ""

    @property
    def is_graph(self) -> bool:
        """True for CONSTRUCT and DESCRIBE results (a set of triples)."""
        return self.form in ("CONSTRUCT", "DESCRIBE")

    def graph(self) -> Graph:
        """The triples of a CONSTRUCT/DESCRIBE result as an rdflib graph with the project prefixes."""
        g = bind_prefixes(Graph())
        for t in self.triples:
            g.add(t)
        return g


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def resolve_graph_path(path: Path | str) -> Path:
    """What is read for ``path``: a build directory's store (``OUTDIR/store``; the directory itself for
    an older build whose store is added on first open), or the RDF file.

    Raises :class:`QueryError` with :func:`kg.readers.store.check_build`'s message when there is
    nothing to read.
    """
    try:
        return check_build(path)
    except ReadError as exc:
        raise QueryError(str(exc)) from None


def load_store(path: Path | str) -> ox.Store:
    """The pyoxigraph store of a build directory (on disk, read-only) or of an RDF file (in memory);
    its default graph is the merged graph. Raises :class:`kg.errors.ReadError`."""
    return open_build(path).store


def _from_ox(term: object) -> Identifier:
    """An rdflib term for a pyoxigraph term (literals keep their exact lexical form)."""
    try:
        return rdflib_term(term)  # type: ignore[return-value]
    except ValueError as exc:
        raise QueryError(f"unsupported RDF term in a result: {term!r}") from exc


def _to_ox(term: Identifier) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """A pyoxigraph term for an rdflib term (used for variable bindings)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise QueryError(f"cannot bind a variable to {term!r}")


# ---------------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------------


class Engine(Protocol):
    """What a SPARQL engine offers: run one (already checked) query."""

    def run(
        self, query: str, form: str, max_rows: int | None, bindings: Mapping[str, Identifier],
        max_bytes: int | None = None,
    ) -> QueryResult: ...


def _size(item: object) -> int:
    """Roughly how many bytes a row or triple takes when written out (its terms' text)."""
    return sum(len(str(t)) + 4 for t in item if t is not None) + 2  # type: ignore[attr-defined]


def _take(
    items: Iterable[object],
    max_rows: int | None,
    max_bytes: int | None = None,
    convert: Callable[[Any], Any] = lambda x: x,
) -> tuple[list[object], str]:
    """Up to ``max_rows`` items of at most ``max_bytes`` in all (each ``convert``-ed), and which bound
    cut them (``""``: none). Stops pulling from lazy iterators as soon as a bound is reached."""
    out: list[object] = []
    used = 0
    it: Iterator[object] = iter(items)
    for item in it:
        if max_rows is not None and len(out) >= max_rows:
            return out, "rows"
        row = convert(item)
        if max_bytes is not None:
            used += _size(row)
            if used > max_bytes:
                return out, "bytes"
        out.append(row)
    return out, ""


class OxigraphEngine:
    """pyoxigraph's engine; the default graph is the store's default graph (the merged graph)."""

    def __init__(self, store: ox.Store, build: Build | None = None) -> None:
        self.store = store
        self.build = build

    def run(
        self, query: str, form: str, max_rows: int | None, bindings: Mapping[str, Identifier],
        max_bytes: int | None = None,
    ) -> QueryResult:
        """Run a checked query; a parser error becomes :class:`QuerySyntaxError`."""
        subs = {ox.Variable(k): _to_ox(v) for k, v in bindings.items()}
        try:
            res = self.store.query(query, prefixes=PREFIXES, substitutions=subs or None)
            if isinstance(res, ox.QueryBoolean):
                return QueryResult(form=form, boolean=bool(res))
            if isinstance(res, ox.QueryTriples):
                triples, cut = _take(
                    res, max_rows, max_bytes,
                    lambda t: (_from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object)),
                )
                return QueryResult(form=form, triples=tuple(triples), truncated=bool(cut), cut_by=cut)  # type: ignore[arg-type]
            names = tuple(v.value for v in res.variables)
            rows, cut = _take(
                res, max_rows, max_bytes,
                lambda sol: tuple(None if sol[n] is None else _from_ox(sol[n]) for n in names),
            )
            return QueryResult(form=form, variables=names, rows=tuple(rows), truncated=bool(cut), cut_by=cut)  # type: ignore[arg-type]
        except SyntaxError as exc:
            raise QuerySyntaxError(f"malformed query: {exc}") from exc
        except (OSError, RuntimeError) as exc:
            if self.build is not None and (isinstance(exc, OSError) or str(exc).startswith("Corruption")):
                raise ReadError(self.build.damaged(f"reading it failed: {_one_line(exc)}")) from exc
            raise QueryError(f"the query failed: {_one_line(exc)}") from exc
        except (ValueError, TypeError) as exc:
            raise QueryError(f"the query failed: {_one_line(exc)}") from exc


class RdflibEngine:
    """rdflib's engine over a Dataset: the default graph is the merged graph, the named graphs are
    the documents'.

    Graphs named in FROM are never fetched: ``SPARQL_LOAD_GRAPHS`` is switched off.
    """

    def __init__(self, dataset: Dataset) -> None:
        rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
        self.dataset = dataset

    @classmethod
    def from_store(cls, store: ox.Store) -> RdflibEngine:
        """Copy the quads of a pyoxigraph store into an rdflib Dataset (graph for graph)."""
        ds = bind_prefixes(Dataset(default_union=False))  # type: ignore[assignment]
        graphs: dict[object, Graph] = {}
        for q in store:
            g = q.graph_name
            if g not in graphs:
                graphs[g] = (
                    ds.default_graph if isinstance(g, ox.DefaultGraph) else ds.graph(_from_ox(g))
                )
            graphs[g].add((_from_ox(q.subject), _from_ox(q.predicate), _from_ox(q.object)))
        return cls(ds)  # type: ignore[arg-type]

    def run(
        self, query: str, form: str, max_rows: int | None, bindings: Mapping[str, Identifier],
        max_bytes: int | None = None,
    ) -> QueryResult:
        """Run a checked query; a parser error becomes :class:`QuerySyntaxError`, any other failure of
        rdflib's engine (while parsing, evaluating or reading results) a :class:`QueryError`."""
        from pyparsing import ParseException
        from rdflib.plugins.sparql import prepareQuery

        try:
            prepared = prepareQuery(query, initNs=PREFIXES)
        except ParseException as exc:
            raise QuerySyntaxError(f"malformed query: {_one_line(exc)}") from exc
        except Exception as exc:  # rdflib raises bare Exceptions for e.g. unknown prefixes
            raise QueryError(f"the query failed: {_one_line(exc)}") from exc
        if _calls_service(prepared.algebra):  # however it was spelled, rdflib would call the endpoint
            raise QueryRefusedError(_SERVICE_REFUSED)
        try:
            res = self.dataset.query(prepared, initBindings=dict(bindings))
            if res.type == "ASK":
                return QueryResult(form=form, boolean=bool(res.askAnswer))
            if res.type in ("CONSTRUCT", "DESCRIBE"):
                got, cut = _take(res.graph or (), max_rows, max_bytes)  # type: ignore[arg-type]
                return QueryResult(form=form, triples=tuple(got), truncated=bool(cut), cut_by=cut)  # type: ignore[arg-type]
            names = tuple(str(v) for v in res.vars or ())
            got, cut = _take(res, max_rows, max_bytes, lambda row: tuple(row[i] for i in range(len(names))))
            return QueryResult(form=form, variables=names, rows=tuple(got), truncated=bool(cut), cut_by=cut)  # type: ignore[arg-type]
        except ParseException as exc:
            raise QuerySyntaxError(f"malformed query: {_one_line(exc)}") from exc
        except RecursionError as exc:
            raise QueryLimitError("the query is nested too deeply for the rdflib engine; simplify it") from exc
        except Exception as exc:  # rdflib raises many types while it evaluates (lazily, as rows are read)
            raise QueryError(f"the query failed: {type(exc).__name__}: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _calls_service(node: object, depth: int = 0) -> bool:
    """Whether an rdflib query algebra holds a SERVICE pattern anywhere."""
    if depth > 200:
        return True  # deeper than any real query: refuse rather than guess
    if getattr(node, "name", None) == "ServiceGraphPattern":
        return True
    if isinstance(node, dict):
        return any(_calls_service(v, depth + 1) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_calls_service(v, depth + 1) for v in node)
    return False


class SparqlStore:
    """An opened build (or RDF file) that answers read-only SPARQL queries with the chosen engine."""

    def __init__(self, source: Path, engine: Engine, engine_name: str, build: Build | None = None) -> None:
        self.source = source
        self.engine = engine
        self.engine_name = engine_name
        self.build = build

    @classmethod
    def open(cls, path: Path | str, engine: str = DEFAULT_ENGINE) -> SparqlStore:
        """Open a build directory or RDF file (:func:`kg.readers.store.open_build`) for ``engine``."""
        if engine not in ENGINES:
            raise QueryError(f"unknown SPARQL engine {engine!r}; choose one of {', '.join(ENGINES)}")
        build = open_build(path)
        try:
            impl: Engine = (
                OxigraphEngine(build.store, build) if engine == "oxigraph" else RdflibEngine.from_store(build.store)
            )
        except (OSError, RuntimeError) as exc:
            raise ReadError(build.damaged(f"reading it failed: {_one_line(exc)}")) from exc
        return cls(build.source, impl, engine, build)

    def query(
        self,
        query: str,
        *,
        max_rows: int | None = None,
        bindings: Mapping[str, Identifier] | None = None,
        max_bytes: int | None = None,
    ) -> QueryResult:
        """Check and run ``query``; at most ``max_rows`` rows (or triples) of about ``max_bytes`` are kept.

        ``bindings`` give variables a value before evaluation (never pasted into the text).
        Raises :class:`QueryRefusedError` for updates and SERVICE, :class:`QuerySyntaxError`
        for a malformed query, :class:`QueryLimitError` for one nested too deeply.
        """
        form = query_form(query)
        return self.engine.run(query, form, max_rows, dict(bindings or {}), max_bytes)


def run_query(
    path: Path | str,
    query: str,
    *,
    engine: str = DEFAULT_ENGINE,
    max_rows: int | None = None,
    bindings: Mapping[str, Identifier] | None = None,
) -> QueryResult:
    """Open ``path`` and run one query on it in this process (no time or memory bound; ``kg query``
    runs :func:`run_query_bounded`)."""
    return SparqlStore.open(path, engine).query(query, max_rows=max_rows, bindings=bindings)


# ---------------------------------------------------------------------------------------------
# Bounded evaluation in a child process (kg query)
# ---------------------------------------------------------------------------------------------

#: Defaults of ``kg query`` (each overridable on the command line; 0 there means no bound).
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_ROWS = 100_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_MEMORY = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds of one query: seconds, rows (or triples), bytes of output, memory of the query process
    (bytes of resident memory). None: no bound."""

    timeout: float | None = DEFAULT_TIMEOUT
    max_rows: int | None = DEFAULT_MAX_ROWS
    max_bytes: int | None = DEFAULT_MAX_BYTES
    max_memory: int | None = DEFAULT_MAX_MEMORY


@dataclass(frozen=True)
class Answer:
    """The written-out answer of :func:`run_query_bounded` and what it cost.

    ``rows`` counts rows or triples written; ``cut_by`` is ``"rows"`` or ``"bytes"`` when the answer
    was cut at that bound; ``peak_memory`` is the most memory of its own the query process was
    seen to use, in bytes (see :func:`_memory`).
    """

    output: bytes
    form: str
    rows: int
    cut_by: str
    peak_memory: int

    @property
    def truncated(self) -> bool:
        return bool(self.cut_by)


_ERRORS: dict[str, type[KgError]] = {
    cls.__name__: cls
    for cls in (QueryError, QuerySyntaxError, QueryRefusedError, QueryTimeoutError, QueryLimitError, ReadError)
}


def run_query_bounded(
    path: Path | str,
    query: str,
    *,
    fmt: str = "table",
    engine: str = DEFAULT_ENGINE,
    bindings: Mapping[str, Identifier] | None = None,
    limits: Limits = Limits(),
) -> Answer:
    """Run one query on ``path`` in a child process and return its answer written in ``fmt``.

    The query is checked here first (updates, SERVICE, depth); the child opens the build, runs
    the query and writes at most ``limits.max_rows`` rows of about ``limits.max_bytes`` bytes. The
    child is killed at once when the query runs past ``limits.timeout`` seconds
    (:class:`QueryTimeoutError`), its own memory passes ``limits.max_memory``
    (:class:`QueryLimitError`), it crashes (:class:`QueryError`), or this process is interrupted
    (the ``KeyboardInterrupt`` goes on, nothing is left running).
    """
    if engine not in ENGINES:
        raise QueryError(f"unknown SPARQL engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if fmt not in FORMATS:
        raise QueryError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    form = query_form(query)
    if fmt in GRAPH_FORMATS and form in ("SELECT", "ASK"):
        raise QueryError(
            f"--format {fmt} needs a CONSTRUCT or DESCRIBE query; "
            f"{form} results come as {', '.join(RESULT_FORMATS)}"
        )
    check_build(path)  # a missing or foreign path is reported without starting a process
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    args = (sender, str(path), query, fmt, engine, dict(bindings or {}), limits.max_rows, limits.max_bytes,
            os.getpid())
    proc = ctx.Process(target=_answer_in_child, args=args, daemon=True, name="kg-query")
    try:
        _start(proc)  # an interrupt held back during the start is raised here, the child known
        sender.close()
        head, output, peak = _wait_for_answer(receiver, proc, limits)
    finally:
        sender.close()
        if proc.pid is not None:
            if proc.is_alive():
                proc.kill()
            proc.join()
        receiver.close()
    if head[0] == "error":
        raise _ERRORS.get(head[1], QueryError)(head[2])
    _, got_form, rows, cut_by, child_peak = head
    return Answer(output, got_form, rows, cut_by, max(peak, child_peak))


def _context() -> Any:
    """spawn: each query process is a fresh interpreter and this process's direct child. Not fork: a
    process that has opened a store has RocksDB's and pyoxigraph's threads, and a forked copy of it
    can hang on a lock one of them held."""
    return multiprocessing.get_context("spawn")


def _start(proc: Any) -> None:
    """Start ``proc`` with SIGINT and SIGTERM held back until its pid is known (then they act as
    usual), so an interrupt can never leave a query process behind unknown to the caller."""
    if threading.current_thread() is not threading.main_thread():
        proc.start()
        return
    received: list[int] = []
    sigs = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.getsignal(s) for s in sigs}
    for s in sigs:
        if old[s] is not signal.SIG_IGN:
            signal.signal(s, lambda signum, frame: received.append(signum))
    try:
        proc.start()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if received:
        raise KeyboardInterrupt


def _exit_with(parent: int) -> None:
    """In a query process: end it when the process that started it is gone (killed with SIGKILL, say)."""
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def _memory(pid: int) -> int:
    """Memory of process ``pid`` in bytes that is its own (private pages, not the shared libraries it
    maps with other processes); its resident memory where Linux's /proc/PID/smaps_rollup is missing;
    0 when neither can be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as fh:
            return sum(int(line.split()[1]) * 1024 for line in fh if line.startswith(("Private_Clean:", "Private_Dirty:")))
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


_POLL = 0.05  # seconds between looks at the child's clock and memory


def _wait_for_answer(conn: Connection, proc: Any, limits: Limits) -> tuple[tuple[Any, ...], bytes, int]:
    """The child's answer (head, output bytes, peak memory seen), or the error that stopped it."""
    start = time.monotonic()
    peak = 0
    while True:
        if conn.poll(_POLL):
            try:
                head = conn.recv()
                output = conn.recv_bytes() if head[0] == "ok" else b""
            except (EOFError, OSError):
                head = None
            if head is not None:
                return head, output, peak
        elif proc.is_alive():
            used = _memory(proc.pid)
            peak = max(peak, used)
            if limits.max_memory is not None and used > limits.max_memory:
                raise QueryLimitError(
                    f"the query was stopped: it used more than {limits.max_memory // 2**20} MB of memory "
                    "(kg query --max-memory); narrow it down (fewer variables, a LIMIT, no ORDER BY over "
                    "everything) or raise the limit"
                )
            elapsed = time.monotonic() - start
            if limits.timeout is not None and elapsed > limits.timeout:
                raise QueryTimeoutError(
                    f"the query was stopped after {elapsed:.1f} s: the time limit is {limits.timeout:g} s "
                    "(kg query --timeout); narrow it down or add a LIMIT, or raise the limit"
                )
            continue
        proc.join(1)
        code = proc.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            raise QueryError(
                f"the query process died ({name}) before answering; the engine could not run this query "
                "(simplify it)"
            )
        raise QueryError(f"the query process stopped (exit code {code}) before answering")


def _answer_in_child(
    conn: Connection, path: str, query: str, fmt: str, engine: str, bindings: dict[str, Identifier],
    max_rows: int | None, max_bytes: int | None, parent: int,
) -> None:
    """The child's side: open, run, write, send ``("ok", form, rows, cut_by, memory)`` and the bytes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    try:
        store = SparqlStore.open(path, engine)
        result = store.query(query, max_rows=max_rows, bindings=bindings, max_bytes=max_bytes)
        output, result = _write_within(result, fmt, max_bytes)
        n = len(result.triples) if result.is_graph else len(result.rows)
        head: tuple[Any, ...] = ("ok", result.form, n, result.cut_by, _memory(os.getpid()))
    except KgError as exc:
        head, output = ("error", type(exc).__name__, str(exc)), b""
    except RecursionError:
        head, output = ("error", "QueryLimitError", "the query is nested too deeply for the engine; simplify it"), b""
    except MemoryError:
        head, output = ("error", "QueryLimitError", "the query ran out of memory; narrow it down"), b""
    except Exception as exc:  # an engine's own failure: reported as one line, never a traceback
        head, output = ("error", "QueryError", f"the query failed: {type(exc).__name__}: {_one_line(exc)}"), b""
    try:
        conn.send(head)
        if head[0] == "ok":
            conn.send_bytes(output)
    except (BrokenPipeError, OSError):
        pass  # the parent stopped waiting
    finally:
        conn.close()


def _write_within(result: QueryResult, fmt: str, max_bytes: int | None) -> tuple[bytes, QueryResult]:
    """``result`` written in ``fmt``, with rows dropped from the end until it fits in ``max_bytes``
    (a table pads every row to its widest cell, so the text can outgrow the terms)."""
    from dataclasses import replace

    while True:
        data = serialize(result, fmt).encode("utf-8")
        n = len(result.triples) if result.is_graph else len(result.rows)
        if max_bytes is None or len(data) <= max_bytes or n == 0:
            return data, result
        keep = min(n - 1, int(n * max_bytes / len(data) * 0.9))
        if result.is_graph:
            result = replace(result, triples=result.triples[:keep], truncated=True, cut_by="bytes")
        else:
            result = replace(result, rows=result.rows[:keep], truncated=True, cut_by="bytes")


_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r'"(.*)"(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*))?', re.DOTALL)


def parse_binding(text: str) -> tuple[str, Identifier]:
    """``NAME=VALUE`` from the command line as a variable binding.

    VALUE is an IRI when written ``<iri>`` or as a prefixed name with a bound prefix
    (``id:person/Q473239``), a literal when quoted (``"ポンペオ"``, ``"ポンペオ"@ja``), else a
    plain literal. Raises :class:`QueryError` when there is no ``=`` or the name is not a
    SPARQL variable name.
    """
    name, sep, value = text.partition("=")
    name = name.strip().lstrip("?$")
    if not sep or not _VAR_NAME.fullmatch(name):
        raise QueryError(f"bad binding {text!r}: write NAME=VALUE, e.g. speaker=id:person/Q473239")
    if value.startswith("<") and value.endswith(">") and len(value) > 2:
        return name, URIRef(value[1:-1])
    m = _QUOTED.fullmatch(value)
    if m:
        return name, Literal(m.group(1), lang=m.group(2))
    prefix, colon, local = value.partition(":")
    if colon and prefix in PREFIXES:
        return name, URIRef(PREFIXES[prefix] + local)
    return name, Literal(value)


def read_query_file(path: Path | str) -> str:
    """The text of a ``.rq`` file; raises :class:`QueryError` naming the file when unreadable."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryError(f"{p}: cannot read the query file: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Writing results
# ---------------------------------------------------------------------------------------------

_PREFIX_ORDER = sorted(PREFIXES.items(), key=lambda kv: -len(kv[1]))


def shorten(iri: str) -> str:
    """``iri`` as a prefixed name when it starts with a bound namespace (longest match), else ``<iri>``."""
    for prefix, ns in _PREFIX_ORDER:
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"


def _plain(term: Identifier | None) -> str:
    """A term for people: IRIs shortened, literals as their text, blank nodes as ``_:id``."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return shorten(str(term))
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


#: Characters that would act on a terminal instead of being shown: C0 and C1 controls and DEL
#: (escape sequences, carriage return, backspace, bell) and the bidirectional overrides and
#: isolates (which reorder what follows them on the line).
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: Characters XML 1.0 cannot carry, not even as character references.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape_control(m: re.Match[str]) -> str:
    c = m.group(0)
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def terminal_safe(text: str) -> str:
    """``text`` for a terminal: line breaks and tabs as spaces, other control characters (an
    escape sequence from an article, a carriage return) and bidirectional overrides written as
    ``\\x1b`` / ``\\u202e``, so that what is shown is what the data holds."""
    return _TERMINAL_CONTROLS.sub(_escape_control, text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def _turtle_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04X}"


def terminal_safe_turtle(text: str) -> str:
    """Turtle for a terminal: control characters and bidirectional overrides (which can only be
    inside strings and IRIs) written as ``\\uXXXX`` escapes, which Turtle reads back as the same
    characters; line breaks and tabs are left as the layout."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]",
                  _turtle_escape, text)


def xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold (most C0 controls, U+FFFE, U+FFFF) replaced
    by U+FFFD, so that an XML answer stays well-formed; SPARQL JSON, CSV and TSV carry them exactly."""
    return _NOT_XML.sub("\ufffd", text)


def _xml_text(text: str) -> str:
    """Character data for an XML element: escaped, XML-safe, and a carriage return kept as ``&#13;``
    (parsers turn a raw one into a line feed)."""
    return escape(xml_safe(text)).replace("\r", "&#13;")


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(result: QueryResult) -> str:
    """Aligned columns with a header rule and a row count, for reading in a terminal."""
    if result.form == "ASK":
        return ("true" if result.boolean else "false") + "\n"
    cells = [[terminal_safe(_plain(t)) for t in row] for row in result.rows]
    heads = list(result.variables)
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(heads)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    n = len(cells)
    lines.append(f"({n} row{'s' if n != 1 else ''}{', truncated' if result.truncated else ''})")
    return "\n".join(lines) + "\n"


def format_csv(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results CSV: plain values, CRLF line ends; ASK gives ``true``/``false``."""
    if result.form == "ASK":
        return ("true" if result.boolean else "false") + "\r\n"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(result.variables)
    for row in result.rows:
        w.writerow(["" if t is None else (f"_:{t}" if isinstance(t, BNode) else str(t)) for t in row])
    return buf.getvalue()


def _tsv_term(term: Identifier | None) -> str:
    """A term in SPARQL TSV (Turtle-like) syntax."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    assert isinstance(term, Literal)
    text = (
        str(term)
        .replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    if term.language:
        return f'"{text}"@{term.language}'
    if term.datatype is not None and term.datatype != XSD.string:
        return f'"{text}"^^<{term.datatype}>'
    return f'"{text}"'


def format_tsv(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results TSV: ``?var`` headers and terms in Turtle syntax."""
    if result.form == "ASK":
        return ("true" if result.boolean else "false") + "\n"
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    lines += ["\t".join(_tsv_term(t) for t in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def _json_term(term: Identifier) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    assert isinstance(term, Literal)
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype is not None and term.datatype not in (XSD.string, RDF.langString):
        out["datatype"] = str(term.datatype)
    return out


def format_json(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results JSON (unbound variables are left out of a binding)."""
    if result.form == "ASK":
        doc: dict[str, object] = {"head": {}, "boolean": bool(result.boolean)}
    else:
        bindings = [
            {v: _json_term(t) for v, t in zip(result.variables, row, strict=True) if t is not None}
            for row in result.rows
        ]
        doc = {"head": {"vars": list(result.variables)}, "results": {"bindings": bindings}}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def format_xml(result: QueryResult) -> str:
    """SPARQL Query Results XML Format, always well-formed: characters XML 1.0 cannot hold are
    written as U+FFFD (see :func:`xml_safe`)."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if result.form == "ASK":
        out += ["<head/>", f"<boolean>{'true' if result.boolean else 'false'}</boolean>"]
    else:
        out.append("<head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in result.variables) + "</head>")
        out.append("<results>")
        for row in result.rows:
            out.append("<result>")
            for v, t in zip(result.variables, row, strict=True):
                if t is None:
                    continue
                if isinstance(t, URIRef):
                    val = f"<uri>{_xml_text(str(t))}</uri>"
                elif isinstance(t, BNode):
                    val = f"<bnode>{_xml_text(str(t))}</bnode>"
                else:
                    assert isinstance(t, Literal)
                    attr = ""
                    if t.language:
                        attr = f" xml:lang={quoteattr(t.language)}"
                    elif t.datatype is not None and t.datatype != XSD.string:
                        attr = f" datatype={quoteattr(str(t.datatype))}"
                    val = f"<literal{attr}>{_xml_text(str(t))}</literal>"
                out.append(f"<binding name={quoteattr(v)}>{val}</binding>")
            out.append("</result>")
        out.append("</results>")
    out.append("</sparql>")
    return "\n".join(out) + "\n"


def rdf_xml(graph: Graph) -> str:
    """``graph`` as RDF/XML, always well-formed: characters XML 1.0 cannot hold (which rdflib writes
    as they are) are written as U+FFFD (see :func:`xml_safe`)."""
    return xml_safe(graph.serialize(format="xml"))


def serialize(result: QueryResult, fmt: str = "table") -> str:
    """Write ``result`` in ``fmt`` (one of :data:`FORMATS`).

    CONSTRUCT/DESCRIBE results are written as Turtle for ``table``, ``csv`` and ``tsv``, as
    JSON-LD for ``json``; SELECT/ASK results cannot be written as an RDF format.
    """
    if fmt not in FORMATS:
        raise QueryError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if result.is_graph:
        graph = result.graph()
        if fmt == "ntriples":
            return "".join(sorted(graph.serialize(format="nt").splitlines(keepends=True)))
        if fmt in ("json", "jsonld"):
            return graph.serialize(format="json-ld", indent=1, ensure_ascii=False)
        if fmt == "xml":
            return rdf_xml(graph)
        if fmt == "table":  # for reading in a terminal
            return terminal_safe_turtle(graph.serialize(format="turtle"))
        return graph.serialize(format="turtle")
    if fmt in GRAPH_FORMATS:
        raise QueryError(
            f"--format {fmt} needs a CONSTRUCT or DESCRIBE query; "
            f"{result.form} results come as {', '.join(RESULT_FORMATS)}"
        )
    writers = {
        "table": format_table,
        "csv": format_csv,
        "tsv": format_tsv,
        "json": format_json,
        "xml": format_xml,
    }
    return writers[fmt](result)


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "FORMATS",
    "GRAPH_FORMATS",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_DEPTH",
    "RESULT_FORMATS",
    "Answer",
    "Limits",
    "OxigraphEngine",
    "QueryLimitError",
    "QueryRefusedError",
    "QueryResult",
    "QuerySyntaxError",
    "QueryTimeoutError",
    "RdflibEngine",
    "SparqlStore",
    "format_csv",
    "format_json",
    "format_table",
    "format_tsv",
    "format_xml",
    "load_store",
    "parse_binding",
    "query_depth",
    "query_form",
    "rdf_xml",
    "read_query_file",
    "resolve_graph_path",
    "run_query",
    "run_query_bounded",
    "serialize",
    "shorten",
    "terminal_safe",
    "xml_safe",
]
