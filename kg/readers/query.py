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
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox
import rdflib.plugins.sparql
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Identifier

from kg.errors import QueryError, ReadError
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


def query_form(query: str) -> str:
    """Check that ``query`` may run here and return its form: SELECT, ASK, CONSTRUCT or DESCRIBE.

    Raises :class:`QueryRefusedError` for an update or a SERVICE call, and
    :class:`QuerySyntaxError` when the text does not start like a query. Full syntax checking
    is left to the engine's parser.
    """
    text = _blank_out(query)
    # what a parser that expands code point escapes first reads (rdflib does)
    expanded = _blank_out(_expand_codepoints(query)) if _CODEPOINT.search(query) else text
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
    """Open ``path`` and run one query on it (the library call behind ``kg query``)."""
    return SparqlStore.open(path, engine).query(query, max_rows=max_rows, bindings=bindings)


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


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(result: QueryResult) -> str:
    """Aligned columns with a header rule and a row count, for reading in a terminal."""
    if result.form == "ASK":
        return ("true" if result.boolean else "false") + "\n"
    cells = [[_plain(t).replace("\n", " ") for t in row] for row in result.rows]
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
    """SPARQL Query Results XML Format."""
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
                    val = f"<uri>{escape(str(t))}</uri>"
                elif isinstance(t, BNode):
                    val = f"<bnode>{escape(str(t))}</bnode>"
                else:
                    assert isinstance(t, Literal)
                    attr = ""
                    if t.language:
                        attr = f" xml:lang={quoteattr(t.language)}"
                    elif t.datatype is not None and t.datatype != XSD.string:
                        attr = f" datatype={quoteattr(str(t.datatype))}"
                    val = f"<literal{attr}>{escape(str(t))}</literal>"
                out.append(f"<binding name={quoteattr(v)}>{val}</binding>")
            out.append("</result>")
        out.append("</results>")
    out.append("</sparql>")
    return "\n".join(out) + "\n"


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
            return graph.serialize(format="xml")
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
    "RESULT_FORMATS",
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
    "query_form",
    "read_query_file",
    "resolve_graph_path",
    "run_query",
    "serialize",
    "shorten",
]
