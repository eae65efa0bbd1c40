"""The ``kg`` command line: a thin layer over the library.

Each command is a few lines over a library call; a :class:`kg.errors.KgError` becomes a
one-line error on stderr and its exit code (2 for bad input, config or connection;
1 when the graph does not conform to the shapes).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from kg import __version__
from kg.errors import KgError
from kg.outputs import check_output_file


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a KgError into a one-line message on stderr and its exit code.

    Any other failure is one ``Error:`` line too, exit 2: an OSError names its file, anything else
    its type (KG_DEBUG=1 shows the traceback as well).
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KgError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Error: interrupted; no output was left half-written (run the command again to finish)",
                       err=True)
            sys.exit(130)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except MemoryError:
            _debug()
            click.echo("Error: out of memory; give kg more memory, or less work at once (see README, "
                       "\"Limits\")", err=True)
            sys.exit(2)
        except OSError as exc:
            _debug()
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"Error: {where}{exc.strerror or exc}", err=True)
            sys.exit(2)
        except Exception as exc:
            _debug()
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            click.echo(f"Error: {type(exc).__name__}: {first} (an internal error; KG_DEBUG=1 shows where)", err=True)
            sys.exit(2)

    return wrapper


def _debug() -> None:
    if os.environ.get("KG_DEBUG"):
        traceback.print_exc()


def parse_size(value: str) -> int:
    """``5000000``, ``500KB``, ``20MB``, ``1GB`` (decimal units) as a number of bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*", value, flags=re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise click.BadParameter(f"{value!r} is not a size such as 5000000, 500KB or 20MB")
    return int(float(m.group(1)) * {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}[m.group(2).upper()])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kg")
def main() -> None:
    """kg builds a diplomacy knowledge graph from news articles.

    \b
    Example:
      kg build seeds -o out
      kg query out 'SELECT ?p ?title WHERE { ?p dip:holds/dip:title ?title }'
    """
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a command the way Ctrl-C does: cleanup runs, outputs stay whole."""
    raise KeyboardInterrupt


# --- build / validate commands ---


@main.command("build")
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--out", "outdir", required=True, type=click.Path(path_type=Path),
              help="output folder: graph.ttl, graph.trig, graph.jsonld, statements.jsonl, validation.ttl, store/")
@click.option("--statements", "statements_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="map statements from this JSONL file (statements.jsonl format) instead of reading articles")
@click.option("--base", default="https://w3id.org/dipkg/id/", show_default=True,
              help="base IRI of instance nodes")
@click.option("--strict", is_flag=True, help="stop at the first unreadable input instead of skipping it")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="processes working at once: parse workers, then workers mapping and validating each "
                   "article; 1 runs all in one process [default: one per core]")
@click.option("--no-cache", is_flag=True,
              help="parse every article again instead of reusing OUTDIR/.kg-cache for unchanged ones")
@click.option("--neo4j", "to_neo4j", is_flag=True, help="also load the graph into Neo4j (see kg load for the options)")
@click.option("--uri", envvar="NEO4J_URI", help="with --neo4j: Bolt URI [env NEO4J_URI]")
@click.option("--user", envvar="NEO4J_USER", help="with --neo4j: user [env NEO4J_USER]")
@click.option("--password", envvar="NEO4J_PASSWORD", help="with --neo4j: password [env NEO4J_PASSWORD]")
@click.option("--database", envvar="NEO4J_DATABASE", help="with --neo4j: database [env NEO4J_DATABASE]")
@click.option("--max-article-size", "max_article_size", default="5MB", show_default=True, metavar="SIZE",
              help="skip (and list in skipped.json) an article larger than this: bytes of a .txt file or of the "
                   "text of a .jsonl line; 500KB, 20MB, ...")
@click.option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", metavar="ADDRESS",
              help="run each article as a Dask task on the scheduler at ADDRESS (tcp://host:8786), or on a "
                   "LocalCluster of N processes started for the build (local:N) [env DASK_SCHEDULER_ADDRESS]")
@click.option("-q", "--quiet", is_flag=True, help="no progress (bar or lines) and no summary")
@handle_errors
def build_command(inputs: tuple[Path, ...], outdir: Path, statements_file: Path | None, base: str, strict: bool,
                  jobs: int | None, no_cache: bool, to_neo4j: bool, uri: str | None, user: str | None, password: str | None,
                  database: str | None, max_article_size: str, scheduler: str | None, quiet: bool) -> None:
    """Build the knowledge graph from articles.

    INPUTS are .txt articles (with optional NAME.meta.json sidecars holding "published" and
    "url"), folders of them, or .jsonl corpora (one article per line: id, text, optional
    published, url, lang). Unreadable inputs are skipped and listed in OUTDIR/skipped.json
    (exit 2; --strict stops at the first instead). If the graph does not conform to the shapes,
    the conforming part is still written, validation.ttl says why, and the exit code is 1.

    Each article is parsed, then mapped and SHACL-validated on its own, by -j worker processes (-j 1
    does everything in one process); the files are written article by article, so memory does not
    grow with the corpus. A rebuild into the same OUTDIR redoes only new or changed articles
    (OUTDIR/.kg-cache) and gives the graph a build from scratch gives. The same meeting or visit
    reported by several articles becomes one event with several sources; copies of one text
    become one document with every source.

    Progress goes to stderr: a bar on a terminal, else a plain line every 10 seconds (CI logs);
    --quiet shows neither.

    With --scheduler, each article is parsed, extracted, mapped and validated as Dask tasks on a
    cluster (the workers need the same kg installed; they get the articles from this process and
    send back their results); this process keeps the cache, clusters the events and writes OUTDIR.
    The graph is byte-identical to -j 1. An article whose task fails on every try is skipped and
    listed in skipped.json.

    An article longer than 20,000 characters is parsed in chunks; one larger than
    --max-article-size is skipped. OUTDIR is locked while a build writes it (a second build into it
    stops at once) and switches from the previous build to the new one in one step, whatever
    happens to the build. Warnings and skipped inputs are listed on stderr.

    \b
    Examples:
      kg build seeds -o out
      kg build corpus.jsonl more/ -o out -j 2 --neo4j
      kg build --statements other-extractor.jsonl -o out
      kg build books.jsonl -o out --max-article-size 20MB
      kg build corpus.jsonl -o out --scheduler local:2
      kg build corpus.jsonl -o out --scheduler tcp://scheduler.example.org:8786
    """
    from kg.build.pipeline import build

    if not inputs and statements_file is None:
        raise click.UsageError("give at least one INPUT (file or folder), or --statements FILE")
    max_bytes = parse_size(max_article_size)
    result = build(list(inputs), outdir, statements_file=statements_file, base=base,
                   progress=not quiet, keep_going=not strict, jobs=jobs,
                   use_cache=not no_cache, max_article_bytes=max_bytes, scheduler=scheduler)
    if not quiet:
        click.echo(result.summary())
        if not result.conforms:
            click.echo(result.summary_text, err=True)
    if result.problems():
        click.echo(result.problems(), err=True)
    if to_neo4j and result.graph is not None:
        from kg.readers.neo4j import Neo4jConfig, load_graph

        config = Neo4jConfig.from_env(uri=uri, user=user, password=password, database=database)
        report = load_graph(result.graph, config, progress=not quiet and sys.stderr.isatty())
        if not quiet:
            click.echo(report.summary())
    if not result.conforms:
        sys.exit(1)
    if result.skipped:
        sys.exit(2)


@main.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--report", type=click.Path(path_type=Path), help="also write the SHACL report graph (Turtle) here")
@handle_errors
def validate_command(file: Path, report: Path | None) -> None:
    """Validate an RDF file (Turtle, TriG, N-Quads, N-Triples, JSON-LD, RDF/XML) against the shapes.

    Exit code 0 when it conforms, 1 when it does not, 2 when it cannot be read. Nothing the file
    names is fetched: a JSON-LD context given by IRI or path, and XML external entities, are
    refused; XML entity expansion is bounded. A file that would need more memory than this process
    may have (about 30 times its size) is refused at once. --report is never a device or FIFO.

    \b
    Example:
      kg validate out/graph.ttl
    """
    from kg.build.validate import read_graph, summarize, validate_file, validation_processes
    from kg.rdfio import atomic_write_bytes, turtle_bytes

    if file.is_dir():
        file = file / "graph.ttl"
    if report is not None:
        check_output_file(report)
    result = validate_file(file, processes=validation_processes())
    if report is not None:
        atomic_write_bytes(report, turtle_bytes(result.report_graph))
    if result.conforms:
        warnings = sum(1 for v in result.violations if v.severity != "Violation")
        click.echo(f"{file}: conforms" + (f" ({warnings} warning(s))" if warnings else ""))
        return
    click.echo(summarize(result, read_graph(file)))
    sys.exit(1)

# --- query / serve commands ---


@main.command("query")
@click.argument("graph", type=click.Path(exists=False))
@click.argument("sparql", required=False)
@click.option("-f", "--file", "query_file", type=click.Path(dir_okay=False), help="Read the query from a .rq file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "tsv", "json", "xml", "turtle", "ntriples", "jsonld"]),
    default="table",
    show_default=True,
    help="Output format; CONSTRUCT/DESCRIBE give Turtle unless ntriples or json(ld) is asked.",
)
@click.option(
    "--bind",
    "binds",
    multiple=True,
    metavar="NAME=VALUE",
    help="Give ?NAME a value before the query runs: <iri>, prefix:local, or a literal.",
)
@click.option("--engine", type=click.Choice(["oxigraph", "rdflib"]), default="oxigraph", show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True, metavar="SECONDS",
              help="Stop the query after this long (0: no limit).")
@click.option("--max-rows", type=click.IntRange(min=0), default=100_000, show_default=True,
              help="Keep at most N rows or triples (0: no limit).")
@click.option("--max-bytes", type=click.IntRange(min=0), default=64 * 2**20, show_default=True,
              help="Keep at most about N bytes of output (0: no limit).")
@click.option("--max-memory", type=click.IntRange(min=0), default=1024, show_default=True, metavar="MB",
              help="Stop the query when its process uses more memory than this (0: no limit).")
@handle_errors
def query_cmd(
    graph: str,
    sparql: str | None,
    query_file: str | None,
    fmt: str,
    binds: tuple[str, ...],
    engine: str,
    timeout: float,
    max_rows: int,
    max_bytes: int,
    max_memory: int,
) -> None:
    """Run a read-only SPARQL query on GRAPH (a build directory or an RDF file).

    The prefixes dip, id, rdfs, rdf, owl, xsd, skos, schema, org, sem, prov, oa, wd, dcterms,
    plover and cameo are pre-bound. A build directory is read from its store (OUTDIR/store): the default
    graph is the merged graph (graph.ttl), and each document is a named graph (GRAPH ?doc { … }).
    Updates and SERVICE are refused.

    The query runs in its own process, stopped at once by Ctrl-C or SIGTERM (exit 130), after
    --timeout seconds or past --max-memory (exit 2); at most --max-rows rows and about --max-bytes
    bytes are printed (a warning on stderr says when the answer was cut). Queries nested deeper
    than 32 levels are refused.

    \b
    Examples:
      kg query out 'SELECT ?p ?title WHERE { ?p dip:holds/dip:title ?title }'
      kg query out -f queries/meetings.rq --format csv
      kg query out -f queries/quotes_by_speaker.rq --bind name=ポンペイオ
      kg query out -f big.rq --timeout 600 --max-rows 0 --max-memory 4096
    """
    from kg.errors import QueryError
    from kg.readers.query import Limits, parse_binding, read_query_file, run_query_bounded

    if (sparql is None) == (query_file is None):
        raise QueryError("give the query either as an argument or with -f FILE.rq (exactly one of them)")
    text = read_query_file(query_file) if query_file is not None else str(sparql)
    bindings = dict(parse_binding(b) for b in binds)
    limits = Limits(timeout=timeout or None, max_rows=max_rows or None, max_bytes=max_bytes or None,
                    max_memory=max_memory * 2**20 or None)
    answer = run_query_bounded(graph, text, fmt=fmt, engine=engine, bindings=bindings, limits=limits)
    click.echo(answer.output, nl=False)
    if answer.cut_by == "rows":
        click.echo(f"Warning: only the first {answer.rows} results are shown (--max-rows {max_rows}).", err=True)
    elif answer.cut_by == "bytes":
        click.echo(f"Warning: only the first {answer.rows} results are shown, about {max_bytes} bytes "
                   f"(--max-bytes {max_bytes}).", err=True)


def _check_allow_hosts(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from kg.readers.serve import check_host_name

    try:
        return tuple(check_host_name(v) for v in value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _check_cors(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from kg.readers.serve import check_origin

    try:
        return tuple(check_origin(v) for v in value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command("serve")
@click.argument("outdir", type=click.Path(exists=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=7878, show_default=True)
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
    help="Seconds a query may run before it is stopped (503).",
)
@click.option("--max-rows", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Rows (or triples) returned at most per query.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Query processes running side by side.")
@click.option("--engine", type=click.Choice(["oxigraph", "rdflib"]), default="oxigraph", show_default=True)
@click.option("--max-connections", type=click.IntRange(min=1, max=4096), default=256, show_default=True,
              help="Client connections served at once; when all are taken the one idle longest makes "
                   "room, and more wait in the listen backlog (1024).")
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True), default=20.0, show_default=True,
              help="Seconds a connection may stay silent (between requests or inside one) before it is closed.")
@click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Seconds a request (line, headers, body) may take to arrive once it started.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME", callback=_check_allow_hosts,
              help="Answer requests whose Host header is NAME too (repeatable; '*' for any). "
                   "127.0.0.1, localhost, [::1] and --host are always answered; others get 421.")
@click.option("--cors", "cors", multiple=True, metavar="ORIGIN", callback=_check_cors,
              help="Let web pages of ORIGIN (e.g. http://localhost:3000, or '*' for any) read the "
                   "endpoint (repeatable). Off by default.")
@click.option("--examples", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of .rq files offered in the query page [default: queries/ of the source tree].")
@click.option("-q", "--quiet", is_flag=True, help="No access line per request (start and stop are still said).")
@handle_errors
def serve_cmd(
    outdir: str, host: str, port: int, timeout: float, max_rows: int, workers: int, engine: str,
    max_connections: int, idle_timeout: float, request_timeout: float, allow_hosts: tuple[str, ...],
    cors: tuple[str, ...], examples: Path | None, quiet: bool,
) -> None:
    """Serve OUTDIR (or an RDF file) as a read-only SPARQL 1.1 endpoint at /sparql.

    GET /sparql?query=..., POST application/sparql-query, or POST a form with query=; HEAD
    too. SELECT/ASK as SPARQL JSON (default), XML, CSV or TSV; CONSTRUCT/DESCRIBE as Turtle
    (default), N-Triples, N-Quads, TriG, RDF/XML, JSON-LD or N3, chosen by Accept (q-values
    honoured) or by a format=/output= parameter (json, xml, csv, tsv, turtle, rdf+xml, json-ld,
    or a media type). GET /sparql without a query gives the service description. Updates and
    SERVICE are refused (403). The query page at / is YASGUI with the example queries.

    Only requests addressed to 127.0.0.1, localhost, [::1], --host or an --allow-host name
    are answered (others: 421), so pages of other sites cannot reach it by DNS rebinding; no
    CORS header is sent unless --cors allows a page's origin.

    SIGINT/SIGTERM: idle connections are closed at once, requests in flight get 5 s, exit 0.

    \b
    Example:
      kg serve out                          # then open http://127.0.0.1:7878/
      kg serve out --port 8000 --timeout 10 --max-rows 5000 --workers 2 --quiet
      kg serve out --cors http://localhost:3000 --allow-host kg.internal
      curl -H 'Accept: text/csv' --data-urlencode 'query=SELECT * WHERE { ?s a dip:Official }' \\
           http://127.0.0.1:7878/sparql
      curl -H 'Accept: application/rdf+xml' \\
           --data-urlencode 'query=DESCRIBE <https://w3id.org/dipkg/id/person/Q473239>' \\
           http://127.0.0.1:7878/sparql
      curl -H 'Accept: text/turtle' http://127.0.0.1:7878/sparql   # service description
    """
    from kg.readers.serve import DEFAULT_EXAMPLES, ServeConfig, serve

    serve(
        ServeConfig(
            graph=outdir, host=host, port=port, timeout=timeout, max_rows=max_rows,
            workers=workers, engine=engine, max_connections=max_connections,
            idle_timeout=idle_timeout, request_timeout=request_timeout, allow_hosts=allow_hosts,
            cors=cors, access_log=not quiet,
            examples=examples if examples is not None else DEFAULT_EXAMPLES,
        ),
        announce=lambda msg: click.echo(msg, err=True),
    )

# --- stats / export / view commands ---


@main.command("stats")
@click.argument("graph_path", metavar="OUTDIR", type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Aligned tables for reading, or JSON for programs.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Rows per table (text format).")
@click.option("--include-cancelled", is_flag=True, help="Count meetings and visits whose status is dip:Cancelled.")
@handle_errors
def stats_command(graph_path: str, fmt: str, top: int, include_cancelled: bool) -> None:
    """Network statistics of a built graph (a build directory, read from its store, or an RDF file).

    Counts per class, who met whom (how often, first and last), degree and betweenness
    centrality, components and communities, states ranked by meetings and visits, and a
    timeline of events per month.

    \b
    Example:
      kg stats out
      kg stats out/graph.ttl --format json > stats.json
    """
    from kg.readers.stats import compute_stats, load_graph, render_text

    result = compute_stats(load_graph(graph_path), source=graph_path, include_cancelled=include_cancelled)
    click.echo(result.to_json() if fmt == "json" else render_text(result, top=top), nl=fmt == "json")


@main.command("export")
@click.argument("graph_path", metavar="OUTDIR", type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["graphml", "gexf", "plover", "cameo"]), required=True,
              help="graphml or gexf: the network, for Gephi. plover: one PLOVER JSON record per event "
                   "(JSON Lines). cameo: one tab-separated row per event, ICEWS columns and CAMEO codes.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), required=True,
              help="File to write (replaced atomically; a device node or FIFO is refused).")
@click.option("--include-cancelled", is_flag=True,
              help="plover, cameo: also write the meetings and visits whose status is cancelled.")
@handle_errors
def export_command(graph_path: str, fmt: str, output: str, include_cancelled: bool) -> None:
    """Export the network for Gephi, or the events as event data (PLOVER, CAMEO).

    graphml, gexf: nodes carry label (Japanese) and cls (dip: class); edges are typed
    PARTICIPANT, VISITOR, DESTINATION, LOCATION, SPEAKER, HOLDS_POST, REPRESENTS, ...
    (attribute relation). Every edge has its own id and its relation as Gephi's edge type,
    so Gephi keeps every edge, parallel ones of different relations included.

    plover, cameo: one record per real event (a meeting or visit several articles report is
    one record, with every report's URL, date and sentence). CONSULT with its mode (visit,
    third-party, multilateral, phone; CAMEO 040-044); planned and possible meetings are AGREE
    (CAMEO 036). Parties carry their country's ISO alpha-3, COW and Gleditsch-Ward codes and a
    sector read from their post; places their GeoNames id and coordinates. docs/EVENT-DATA.md
    describes every field.

    \b
    Examples:
      kg export out --format gexf -o diplomacy.gexf
      kg export out --format plover -o events.jsonl
      kg export out --format cameo -o events.tsv --include-cancelled
    """
    from kg.readers.stats import load_graph

    check_output_file(Path(output))
    if fmt in ("plover", "cameo"):
        from kg.readers.eventdata import export_events, status_counts

        records = export_events(load_graph(graph_path), fmt, output, include_cancelled=include_cancelled)
        per = ", ".join(f"{n} {k}" for k, n in status_counts(records).items())
        click.echo(f"Wrote {output}: {len(records)} events" + (f" ({per})" if per else ""), err=True)
        return
    from kg.readers.export import export_graph

    net = export_graph(load_graph(graph_path), fmt, output)
    click.echo(f"Wrote {output}: {net.number_of_nodes()} nodes, {net.number_of_edges()} edges", err=True)


@main.command("view")
@click.argument("graph_path", metavar="OUTDIR", type=click.Path(path_type=str))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), default="graph.html",
              show_default=True, help="HTML file to write (replaced atomically; a device node or FIFO is refused).")
@click.option("--title", default=None, help="Page title (default: kg: OUTDIR).")
@handle_errors
def view_command(graph_path: str, output: str, title: str | None) -> None:
    """Write one self-contained HTML page to explore the graph offline.

    Officials, states, organizations, places, meetings, visits and quotes with Japanese
    captions, a legend, class and date filters, and on click the node's properties, its
    evidence sentences and source URLs. No network access is needed to open it.

    \b
    Example:
      kg view out -o graph.html
    """
    from kg.readers.stats import load_graph
    from kg.readers.view import write_view

    check_output_file(Path(output))
    data = write_view(load_graph(graph_path), output, source=graph_path, title=title)
    click.echo(f"Wrote {output}: {data['meta']['nodes']} nodes, {data['meta']['edges']} edges", err=True)


# --- eval command ---


@main.command("eval")
@click.argument("gold_dir", type=click.Path(path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="also list, per article, each miss: FN, FP, duplicates, wrong attributes")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the summary as JSON to this file (replaced atomically)")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="articles built at once, each in its own process with its own model")
@click.option("--min-f1", type=click.FloatRange(0.0, 1.0), default=None,
              help="exit 3 when the statement F1 is below this")
@click.option("--by-rule", is_flag=True,
              help="also print TP, FP and duplicates per extraction rule (meetings, visits, quotes), most FP first")
@handle_errors
def eval_command(gold_dir: Path, verbose: bool, json_file: Path | None, jobs: int, min_f1: float | None,
                 by_rule: bool) -> None:
    """Measure extraction against annotated articles (see docs/EVAL.md).

    GOLD_DIR holds NAME.txt articles, each with a NAME.gold.json annotation beside it. Each
    article is built on its own (its gold 'published' is the article's date) and what the graph
    states is matched to the gold: P/R/F1 and TP/FP/FN/duplicates per category (entities,
    positions, meetings, visits, quotes), the accuracy of entity types and of meeting dates,
    places and statuses, and the overall entity F1 and statement F1 (the mean F1 of positions,
    meetings, visits and quotes). Progress goes to stderr.

    Exit codes: 0 evaluated; 2 a gold file is malformed or its article is missing (nothing is
    built); 3 the statement F1 is below --min-f1.

    \b
    Examples:
      kg eval docs/examples/eval
      kg eval my-gold/ -v -j 2 --json scores.json
      kg eval my-gold/ --min-f1 0.8     # exit 3 when statement F1 < 0.8
      kg eval my-gold/ --by-rule        # which rules read the false positives
    """
    from kg.eval import DocScore, evaluate, find_golds
    from kg.rdfio import atomic_write_text

    golds = find_golds(gold_dir)

    def progress(done: int, total: int, score: DocScore) -> None:
        click.echo(f"[{done}/{total}] {score.name} ({score.seconds:.1f}s)", err=True)

    report = evaluate(golds, jobs=jobs, progress=progress)
    click.echo(report.render(verbose=verbose))
    if by_rule:
        click.echo(report.render_by_rule())
    if json_file is not None:
        atomic_write_text(json_file, json.dumps(report.summary(), ensure_ascii=False, indent=1) + "\n")
    if min_f1 is not None and report.statement_f1 < min_f1:
        click.echo(f"statement F1 {report.statement_f1:.3f} is below --min-f1 {min_f1}", err=True)
        sys.exit(3)


# --- neo4j commands ---


@main.command("load")
@click.argument("source", type=click.Path(exists=True, dir_okay=True))
@click.option("--uri", envvar="NEO4J_URI", help="Bolt URI: bolt://, neo4j:// or neo4j+s:// [env NEO4J_URI]")
@click.option("--user", envvar="NEO4J_USER", help="user name [env NEO4J_USER, default neo4j]")
@click.option("--password", envvar="NEO4J_PASSWORD", help="password [env NEO4J_PASSWORD]")
@click.option("--database", envvar="NEO4J_DATABASE", help="database [env NEO4J_DATABASE, default neo4j]")
@click.option("--wipe", is_flag=True, help="first delete every node with an ontology label")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(min=1),
              help="rows (nodes + relationships) per transaction; articles are never split")
@click.option("--bulk", is_flag=True,
              help="into an EMPTY database with neo4j-admin's importer: write CSV files, and on the server of "
                   "scripts/neo4j-local stop it, import, start it; for another server print the command")
@click.option("--csv-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where --bulk writes the CSV files [default: OUTDIR/neo4j-import]")
@handle_errors
def load_command(
    source: str,
    uri: str | None,
    user: str | None,
    password: str | None,
    database: str | None,
    wipe: bool,
    batch_size: int,
    bulk: bool,
    csv_dir: Path | None,
) -> None:
    """Load a built graph (a build directory, read from its store, or an RDF file) into Neo4j.

    Re-loading replaces the statements of each article in the graph; loading the same
    graph twice changes nothing.

    --bulk is for a first load of a large build into an empty database: the same nodes,
    relationships and typed properties, written by neo4j-admin database import (many times
    faster); a database that holds anything is refused. The local server of
    scripts/neo4j-local is stopped, imported into and started again on the same ports; for
    any other server the CSV files are written and the neo4j-admin command to run there is
    printed.

    \b
    Example:
      scripts/neo4j-local start && . ~/.cache/kg/neo4j/run/env
      kg load out
      kg load out/graph.ttl --uri neo4j+s://xxxx.databases.neo4j.io --user neo4j --wipe
      kg load out --bulk                      # an empty database, with neo4j-admin
    """
    from kg.readers.neo4j import Neo4jConfig, load_path

    config = Neo4jConfig.from_env(uri=uri, user=user, password=password, database=database)
    if bulk:
        from kg.readers.neo4j import read_graph
        from kg.readers.neo4j_bulk import load_bulk
        from kg.readers.projection import project

        if wipe:
            raise click.UsageError("--wipe and --bulk do not go together: --bulk needs an empty database")
        path = Path(source)
        target = csv_dir or (path / "neo4j-import" if path.is_dir() else path.parent / f"{path.stem}-neo4j-import")
        bulk_report = load_bulk(project(read_graph(path)), config, target)
        click.echo(bulk_report.summary())
        for line in bulk_report.skipped:
            click.echo(f"skipped: {line}", err=True)
        return
    if csv_dir is not None:
        raise click.UsageError("--csv-dir goes with --bulk")
    report = load_path(Path(source), config, wipe=wipe, batch_size=batch_size, progress=sys.stderr.isatty())
    click.echo(report.summary())
    for line in report.skipped:
        click.echo(f"skipped: {line}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
