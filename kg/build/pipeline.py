"""The build: articles -> GiNZA -> statements -> RDF -> SHACL -> files in OUTDIR.

``build()`` is what ``kg build`` runs. Every output is streamed, article by article, into a
staging folder in OUTDIR and then becomes OUTDIR's by one atomic rename (kg.build.outdir), after
everything has been computed: an interrupted, killed or failed build never leaves a half-written
file or a mix of two builds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import gc
import hashlib
import itertools
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH

from kg import jsonio
from kg.build.events import EventCluster
from kg.build.ingest import (
    MAX_ARTICLE_BYTES,
    SkippedInput,
    check_apart,
    jsonl_lines,
    read_articles,
    text_fingerprint,
)
from kg.build.mapping import DEFAULT_BASE, Mapper, bind_instance_prefixes
from kg.build.outdir import STAGING_PREFIX, BuildOutdir  # noqa: F401  (STAGING_PREFIX: tests, bench)
from kg.build.procs import signals_deferred
from kg.build.validate import Violation
from kg.errors import IngestError, KgError, MappingError, WriteError
from kg.namespaces import DIP, OA, bind_prefixes
from kg.rdfio import (
    _RDF_TYPE,
    ArticleRDF,
    StreamedJsonLd,
    article_rdf,
    atomic_write_text,
    jsonld_nodes,
    prefix_header,
    strip_prefixes,
    turtle_bytes,
)
from kg.readers.store import STORE_DIR, write_store
from kg.records import (
    Article,
    DocumentStatements,
    EntityRecord,
    doc_header,
    dumps_statement,
    record_from_dict,
    statement_from_dict,
)

OUTPUTS = ("graph.ttl", "graph.trig", "graph.jsonld", "statements.jsonl", "validation.ttl", "skipped.json")


@dataclass
class BuildResult:
    outdir: Path
    documents: int
    statements: int
    conforms: bool
    class_counts: dict[str, int]
    violations: int
    summary_text: str = ""
    skipped: list[SkippedInput] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # IRIs left out because they did not conform
    merged: int = 0  # inputs that were copies of another article's text, merged into its document
    warnings: list[str] = field(default_factory=list)  # inputs read with a doubt (a date taken as unknown, ...)

    @functools.cached_property
    def graph(self) -> Graph:
        """The union graph, read from OUTDIR/graph.ttl when asked for (the build itself streams)."""
        return Graph().parse(self.outdir / "graph.ttl", format="turtle")

    def summary(self) -> str:
        """What was built (for stdout)."""
        lines = [f"built {self.outdir}: {self.documents} document(s), {self.statements} statement(s)"]
        for cls, n in sorted(self.class_counts.items()):
            lines.append(f"  {cls:<14}{n:>6}")
        lines.append("conforms to the shapes: " + ("yes" if self.conforms else f"NO ({self.violations} violation(s))"))
        if self.removed:
            lines.append(f"left out of graph.ttl (see validation.ttl): {len(self.removed)} node(s)")
        if self.merged:
            lines.append(f"copies of another article's text, merged into its document: {self.merged}")
        return "\n".join(lines)

    def problems(self) -> str:
        """Warnings and skipped inputs (for stderr), or an empty string."""
        lines = [f"Warning: {w}" for w in self.warnings]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} input(s) (see skipped.json):")
            lines.extend(f"  {s.reason if s.reason.startswith(s.source) else f'{s.source}: {s.reason}'}"
                         for s in self.skipped)
        return "\n".join(lines)


def _worker_init(parent: int) -> None:
    from kg.build.nlp import load_model
    from kg.build.procs import child_setup

    child_setup(parent)  # dies with the build, even on kill -9; leaves Ctrl-C to the build
    load_model()


def extract_one(article: Article, show_progress: bool = False) -> DocumentStatements | SkippedInput:
    """The article task: parse and extract one article in this process (kg.build.chunks.extract_article,
    chunk by chunk when it is long); an article whose extraction fails is returned as skipped, with
    the reason."""
    from kg.build.chunks import chunk_reporter, extract_article

    try:
        return extract_article(article, chunk_reporter() if show_progress else None)
    except KgError as exc:
        return SkippedInput(article.source_path or article.doc_id, str(exc))


def _extract_batch(batch: list[Article], show_progress: bool = False) -> list[DocumentStatements | SkippedInput]:
    """Parse and extract a batch of articles in this process (a long article chunk by chunk); an article
    whose extraction fails is returned as skipped, with the reason. One article is one article task
    (:func:`extract_one`); several go through the parser as one stream."""
    from kg.build.chunks import chunk_reporter, extract_batch

    if len(batch) == 1:
        return [extract_one(batch[0], show_progress)]
    return [SkippedInput(b.source_path or b.doc_id, str(r)) if isinstance(r, KgError) else r
            for b, r in zip(batch, extract_batch(batch, chunk_reporter() if show_progress else None), strict=True)]


def extract_articles(articles: Iterable[Article], progress: Callable[[int], None] | None = None,
                     batch_size: int | None = None, jobs: int = 1, chunk_progress: bool = False
                     ) -> Iterator[DocumentStatements | SkippedInput]:
    """Parse articles with GiNZA and extract their statements: in input order in one process, as they
    are finished with workers.

    With ``jobs`` > 1 the work is spread over that many worker processes, each loading the model
    once. Each article is a task of its own, handed to whichever worker is free, so a long article
    does not hold up the ones after it; at most a few tasks per worker are in flight, so memory
    stays bounded however long the input is (parsed Docs never leave the worker).
    """
    it = iter(articles)
    # in one process, batches feed nlp.pipe; across workers, one article per task balances the load
    batch_size = batch_size or (4 if jobs <= 1 else 1)

    def batches() -> Iterator[list[Article]]:
        while True:
            b = list(itertools.islice(it, batch_size))
            if not b:
                return
            yield b

    # a long article's chunks reported on stderr as they are done
    show: dict[str, bool] = {"show_progress": True} if chunk_progress else {}
    if jobs <= 1:
        for b in batches():
            for ds in _extract_batch(b, **show):
                yield ds
                if progress:
                    progress(1)
        return
    import concurrent.futures as cf
    import multiprocessing as mp

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                  initargs=(os.getpid(),))
    source = batches()
    pending: set[cf.Future[list[DocumentStatements | SkippedInput]]] = set()

    def fill() -> None:
        while len(pending) < jobs * 4:
            b = next(source, None)
            if b is None:
                return
            pending.add(pool.submit(_extract_batch, b, **show))

    try:
        with signals_deferred():  # the workers are forked here: a Ctrl-C in a fork handler would be lost
            fill()
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            pending.difference_update(done)
            fill()  # the workers get new work before the results are handed on
            for fut in done:
                for ds in fut.result():
                    yield ds
                    if progress:
                        progress(1)
    except BaseException:
        from kg.build.procs import stop_pool

        stop_pool(pool)  # an interrupt waits neither for queued work nor for the articles being parsed
        raise
    else:
        pool.shutdown()


def iter_statements(path: Path) -> Iterator[DocumentStatements]:
    """Statements produced elsewhere, in the statements.jsonl format, one document at a time: a
    ``document`` line opens each document's block; entity and statement lines follow."""
    cur: Article | None = None
    ents: list[EntityRecord] = []
    stmts: list = []
    any_doc = False
    for n, raw in jsonl_lines(path):
        try:
            d = jsonio.loads(raw, surrogates=False)
        except jsonio.JsonInputError as exc:
            raise IngestError(f"{path}:{n}: not valid JSON: {exc}") from exc
        if isinstance(d, dict) and d.get("kind") == "document":
            if cur is not None:
                yield DocumentStatements(cur, tuple(ents), tuple(stmts))
            fields = {k: v for k, v in d.items() if k != "kind"}
            fields["urls"] = tuple(fields.get("urls") or ())
            fields["sources"] = tuple(fields.get("sources") or ())
            try:
                cur = record_from_dict(Article, {"text": "", **fields}, "document")
            except (TypeError, ValueError) as exc:
                raise IngestError(f"{path}:{n}: bad document line: {exc}") from exc
            any_doc = True
            ents, stmts = [], []
            continue
        if cur is None:
            raise IngestError(f"{path}:{n}: a statement before any 'document' line")
        try:
            s = statement_from_dict(d)
        except ValueError as exc:
            raise IngestError(f"{path}:{n}: {exc}") from exc
        (ents if isinstance(s, EntityRecord) else stmts).append(s)
    if cur is not None:
        yield DocumentStatements(cur, tuple(ents), tuple(stmts))
    if not any_doc:
        raise IngestError(f"{path}: no documents in the statements file")


def read_statements(path: Path) -> list[DocumentStatements]:
    """All documents of a statements file (:func:`iter_statements`)."""
    return list(iter_statements(path))


def statements_jsonl(docs: Iterable[DocumentStatements]) -> str:
    lines: list[str] = []
    for ds in docs:
        lines.append(json.dumps(doc_header(ds.article), ensure_ascii=False, sort_keys=True))
        lines.extend(dumps_statement(e) for e in ds.entities)
        lines.extend(dumps_statement(s) for s in ds.statements)
    return "\n".join(lines) + ("\n" if lines else "")


def to_rdf(docs: list[DocumentStatements], base: str = DEFAULT_BASE) -> tuple[Graph, Dataset]:
    """The union graph and the dataset with one named graph per document, in memory (for small inputs
    and tests; ``build`` streams instead)."""
    from kg.build.events import cluster_events

    mapper = Mapper(base)
    clusters = cluster_events(docs)
    g = Graph()
    ds = Dataset()
    for x in (g, ds):
        bind_prefixes(x)
        bind_instance_prefixes(x, base)
    for d in docs:
        try:
            mapper.add_document(g, d, clusters)
            mapper.add_document(ds.graph(mapper.doc_iri(d.article.doc_id)), d, clusters)
        except MappingError as exc:
            raise MappingError(f"document {d.article.doc_id}: {exc}") from exc
    return g, ds


_STATEMENT_CLASSES = {DIP.Meeting, DIP.Summit, DIP.PhoneCall, DIP.Visit, DIP.Quote, DIP.Position}


def _drop_nonconforming(g: Graph, focus: set[str]) -> list[str]:
    """Remove statement nodes that violate the shapes (and their evidence) from ``g``."""
    removed: list[str] = []
    for f in sorted(focus):
        node = URIRef(f)
        kinds = set(g.objects(node, RDF.type))
        if not kinds & _STATEMENT_CLASSES:
            continue  # entities are kept: removing them would break other statements
        annotations = list(g.subjects(OA.hasBody, node))
        for target in [node, *annotations]:
            for extra in (URIRef(f"{target}-target"), URIRef(f"{target}-pos"), URIRef(f"{target}-quote")):
                g.remove((extra, None, None))
            g.remove((target, None, None))
            g.remove((None, None, target))
        removed.append(f)
    return removed


# ---------------------------------------------------------------------------------------------
# the article task: map one article into its own graph, validate it, serialise it
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleResult:
    """What the corpus step needs of one mapped and validated article (picklable, bytes and small records)."""

    doc_id: str
    rdf: ArticleRDF
    counts: dict[str, int]  # dip: classes of the subjects only this article has
    violations: tuple[Violation, ...] = ()
    report_nt: bytes = b""  # the SHACL report as N-Triples, when it has results
    summary_lines: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@functools.lru_cache(maxsize=8)
def instance_prefixes(base: str = DEFAULT_BASE) -> dict[str, str]:
    """Every prefix the graph files declare, in a fixed order."""
    g = Graph(bind_namespaces="none")
    bind_prefixes(g)
    bind_instance_prefixes(g, base)
    return dict(sorted((p, str(ns)) for p, ns in g.namespaces()))


def _shared_test(base: str) -> Callable[[str], bool]:
    """Subjects several articles may share: entities, positions, meetings and visits (by IRI)."""
    kinds = tuple(base + k for k in ("person/", "state/", "org/", "place/", "position/", "meeting/", "visit/"))
    return lambda iri: iri.startswith(kinds)


def map_article(ds: DocumentStatements, clusters: dict[int, EventCluster], base: str = DEFAULT_BASE,
                validate: bool = True) -> ArticleResult:
    """One article: its statements mapped into its own graph (events several articles report named by
    their cluster, kg.build.events), SHACL-validated, the statement nodes that do not conform left out,
    and the graph serialised for every output. A plain function of picklable values, so it can run in
    any process. Raises MappingError naming the document."""
    from kg.build.validate import evidence_lines, validate_graph

    mapper = Mapper(base)
    g = Graph(bind_namespaces="none")
    doc_id = ds.article.doc_id
    try:
        mapper.add_document(g, ds, {(doc_id, i): c for i, c in clusters.items()})
    except MappingError as exc:
        raise MappingError(f"document {doc_id}: {exc}") from exc
    violations: tuple[Violation, ...] = ()
    report_nt, lines, removed = b"", (), []
    if validate:
        result = validate_graph(g)
        violations = result.violations
        if violations:
            report_nt = result.report_graph.serialize(format="nt", encoding="utf-8")
            lines = tuple(evidence_lines(result, g))
        if not result.conforms:
            removed = _drop_nonconforming(g, {v.focus_node for v in violations if v.severity == "Violation"})
    shared = _shared_test(base)
    counts: Counter[str] = Counter()
    dip = str(DIP)
    for s, cls in g.subject_objects(RDF.type):
        if not shared(str(s)) and str(cls).startswith(dip):
            counts[str(cls)[len(dip):]] += 1
    rdf = article_rdf(g, str(mapper.doc_iri(doc_id)), instance_prefixes(base), shared)
    return ArticleResult(doc_id, rdf, dict(counts), violations, report_nt, lines, tuple(removed))


CACHE_DIR = ".kg-cache"


def extractor_fingerprint() -> str:
    """A hash of everything extraction depends on (code and data), so a cached result is reused only
    while both are unchanged."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        here = Path(__file__).resolve().parent
        h = hashlib.sha256()
        files = sorted([*here.glob("extract/*.py"), *here.parent.glob("data/*.json"), here.parent / "records.py",
                        *(here / n for n in ("recognize.py", "resolve.py", "gazetteer.py", "nlp.py", "names.py",
                                             "titles.py", "chunks.py"))])
        for f in files:
            h.update(f.name.encode())
            h.update(f.read_bytes())
        try:
            from importlib.metadata import version

            h.update(version("ja-ginza").encode())
        except Exception:  # the model version only sharpens the key
            pass
        _FINGERPRINT = h.hexdigest()
    return _FINGERPRINT


_FINGERPRINT: str | None = None


def cache_key(art: Article) -> str:
    h = hashlib.sha256(extractor_fingerprint().encode())
    h.update(json.dumps([art.doc_id, art.text, art.published, art.url, list(art.urls), art.title, art.lang],
                        ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


class StatementCache:
    """Per article in OUTDIR/.kg-cache, keyed by content and extractor version: its extracted statements
    (KEY.jsonl), and its mapped, validated and serialised graph (KEY.rdf, valid for one context: the
    clusters of its events, the mapping, the shapes)."""

    def __init__(self, outdir: Path) -> None:
        self.dir = outdir / CACHE_DIR

    def has(self, key: str, doc_id: str) -> bool:
        hit = self.get(key)
        return hit is not None and hit.article.doc_id == doc_id

    def get(self, key: str) -> DocumentStatements | None:
        f = self.dir / f"{key}.jsonl"
        if not f.exists():
            return None
        try:
            docs = read_statements(f)
        except KgError:
            return None  # a damaged entry is re-extracted
        return docs[0] if len(docs) == 1 else None

    def put(self, key: str, ds: DocumentStatements) -> None:
        atomic_write_text(self.dir / f"{key}.jsonl", statements_jsonl([ds]))

    _PARTS = ("trig", "nquads", "local_ttl", "local_jsonld", "shared_nt")

    def get_result(self, key: str, context: str) -> ArticleResult | None:
        f = self.dir / f"{key}.rdf"
        try:
            data = f.read_bytes()
            head, _, body = data.partition(b"\n")
            meta = json.loads(head)
            if meta.get("context") != context:
                return None
            sizes = meta["sizes"]
            parts, at = [], 0
            for n in sizes:
                parts.append(body[at:at + n])
                at += n
            if at != len(body):
                return None
            return ArticleResult(meta["doc_id"], ArticleRDF(*parts[:5]), meta["counts"],
                                 tuple(Violation(**v) for v in meta["violations"]), parts[5],
                                 tuple(meta["summary_lines"]), tuple(meta["removed"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: mapped again

    def put_result(self, key: str, context: str, res: ArticleResult) -> None:
        parts = [getattr(res.rdf, n) for n in self._PARTS] + [res.report_nt]
        meta = {"context": context, "doc_id": res.doc_id, "counts": res.counts, "sizes": [len(p) for p in parts],
                "violations": [dataclasses.asdict(v) for v in res.violations],
                "summary_lines": list(res.summary_lines), "removed": list(res.removed)}
        from kg.rdfio import atomic_write_bytes

        atomic_write_bytes(self.dir / f"{key}.rdf",
                           json.dumps(meta, ensure_ascii=False).encode() + b"\n" + b"".join(parts))

    def prune(self, keep: set[str]) -> None:
        if not self.dir.is_dir():
            return
        for f in [*self.dir.glob("*.jsonl"), *self.dir.glob("*.rdf")]:
            if f.stem not in keep:
                f.unlink(missing_ok=True)


#: Seconds between two plain progress lines when stderr is not a terminal.
PROGRESS_EVERY = 10.0


class Progress:
    """Progress of one phase on stderr: a bar on a terminal, else a plain line every PROGRESS_EVERY
    seconds (CI logs), and nothing when ``enabled`` is false."""

    def __init__(self, enabled: bool, desc: str, total: int | None, unit: str = "article",
                 every: float | None = None) -> None:
        import time

        self.desc, self.total, self.unit, self.n = desc, total, unit, 0
        self.every = PROGRESS_EVERY if every is None else every
        self.bar = None
        self.enabled = enabled
        self.clock = time.monotonic
        self.started = self.last = self.clock()
        self.err = sys.stderr
        if enabled and self.err.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit, desc=desc, leave=False)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and self.clock() - self.last >= self.every:
            self.last = self.clock()
            self._line()

    def _line(self, done: bool = False) -> None:
        of = f"/{self.total}" if self.total is not None else ""
        pct = f" ({100 * self.n // self.total} %)" if self.total else ""
        print(f"{self.desc}: {self.n}{of} {self.unit}(s){pct}, {self.clock() - self.started:.0f} s"
              + (", done" if done else ""), file=self.err, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.clock() - self.started >= self.every:
            self._line(done=True)


def merge_copies(articles: list[Article]) -> tuple[list[Article], int]:
    """Copies of one text (see :func:`text_fingerprint`) become one document, the first one read, with
    every source: its urls are all the copies' URLs and ``sources`` every file or corpus line it was
    read from; a missing publication date or title is taken from the next copy that has one. Returns
    the documents in input order and how many copies were merged."""
    groups: dict[str, list[Article]] = {}
    for a in articles:
        groups.setdefault(text_fingerprint(a.text), []).append(a)
    if len(groups) == len(articles):
        return articles, 0
    out = []
    for a in articles:
        copies = groups[text_fingerprint(a.text)]
        if copies[0] is not a:
            continue
        if len(copies) == 1:
            out.append(a)
            continue
        urls = tuple(dict.fromkeys(u for c in copies for u in (c.urls or ((c.url,) if c.url else ()))))
        out.append(dataclasses.replace(
            a, published=next((c.published for c in copies if c.published), None),
            title=next((c.title for c in copies if c.title), None),
            url=a.url or (urls[0] if urls else None), urls=urls,
            sources=tuple(c.source_path or c.doc_id for c in copies)))
    return out, len(articles) - len(out)


class LocalRunner:
    """The two article steps of a build on this machine: ``procs`` worker processes (forked, each
    dying with the build), or this process alone for 1. kg.build.cluster.DaskRunner does the same on
    a Dask cluster."""

    def __init__(self, procs: int) -> None:
        self.procs = procs
        self._pool: Any = None
        self._mapping: Any = None

    def prepare(self) -> None:
        """Fork the mapping workers now, before the corpus step reads the documents: a worker forked
        later would start with a copy of whatever the build's process holds by then."""
        if self.procs > 1 and self._pool is None:
            self._pool = _new_pool(self.procs)

    def discard(self, graceful: bool = False) -> None:
        """Stop the mapping workers, whatever happened: those forked by :meth:`prepare` that no mapping
        took over (the build failed first), and those of a mapping the build stopped consuming (a write
        failed: a full disk), which nothing else would stop before the interpreter's exit waits for them.
        ``graceful`` (a failure, not an interrupt): the tasks running finish first (kg.build.procs.stop_pool)."""
        pools = [p for p in (self._pool, self._mapping) if p is not None]
        self._pool = self._mapping = None
        if pools:
            from kg.build.procs import stop_pool

            for pool in pools:
                stop_pool(pool, graceful=graceful)

    def extract(self, articles: list[Article], progress: Callable[[int], None] | None = None,
                chunk_progress: bool = False) -> Iterator[DocumentStatements | SkippedInput]:
        """Each article parsed and extracted (a failure its SkippedInput), as they are done."""
        n_jobs = max(1, min(self.procs, max(1, len(articles) // 2)))
        if n_jobs > 1:  # longest first: the workers finish together instead of one waiting on a long text
            articles = sorted(articles, key=lambda a: len(a.text), reverse=True)
        return extract_articles(articles, progress, jobs=n_jobs, chunk_progress=chunk_progress)

    def map_in_order(self, tasks: Iterator[tuple], fn: Callable[[tuple], ArticleResult | None]
                     ) -> Iterator[ArticleResult | None]:
        """``fn`` over ``tasks``, the results in the tasks' order."""
        pool, self._pool = self._pool, None
        if pool is None and self.procs > 1:
            pool = _new_pool(self.procs)
        self._mapping = pool
        return _in_order(tasks, fn, self.procs, pool)  # type: ignore[arg-type]


def _map_task(args: tuple[DocumentStatements, dict[int, EventCluster], str, bool]) -> ArticleResult:
    return map_article(*args)


def _new_pool(jobs: int) -> Any:
    """``jobs`` forked worker processes that die with this one, all started now."""
    import concurrent.futures as cf
    import multiprocessing as mp

    from kg.build.procs import child_setup

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=child_setup,
                                  initargs=(os.getpid(),))
    with signals_deferred():  # the first task forks every worker: a Ctrl-C in a fork handler would be lost
        pool.submit(int).result()
    return pool


def _in_order(tasks: Iterator[tuple], fn: Callable[[tuple], ArticleResult], jobs: int,
              pool: Any = None) -> Iterator[ArticleResult]:
    """``fn`` over ``tasks``, results in the tasks' order: here with one job, else in ``jobs`` forked
    worker processes (``pool``'s, if given: this function stops it) with a few tasks per worker in
    flight, so memory stays bounded."""
    if jobs <= 1:
        for t in tasks:
            yield fn(t)
        return
    import collections
    import concurrent.futures as cf

    from kg.build.procs import stop_pool

    if pool is None:
        pool = _new_pool(jobs)
    window: collections.deque[cf.Future[ArticleResult]] = collections.deque()
    try:
        for t in tasks:
            with signals_deferred():  # a worker may be forked here: a Ctrl-C in a fork handler would be lost
                window.append(pool.submit(fn, t))
            if len(window) >= jobs * 8:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    except BaseException:
        stop_pool(pool)  # an interrupt waits neither for queued work nor for the articles being mapped
        raise
    else:
        pool.shutdown()


def _write_store(staging: Path, graph_ttl: Path, nquads: Path) -> None:
    """Bulk-load the query store (kg.readers.store) into ``staging``: the merged graph as the default
    graph, each article's named graph from the N-Quads streamed beside the other files."""
    try:
        write_store(staging / STORE_DIR, graph_ttl, [nquads])
    except (OSError, SyntaxError, ValueError) as exc:
        raise WriteError(f"{staging / STORE_DIR}: cannot write the query store: {exc}") from exc


def build(inputs: list[Path], outdir: Path, *, statements_file: Path | None = None, base: str = DEFAULT_BASE,
          progress: bool = False, keep_going: bool = True, validate: bool = True, jobs: int | None = 1,
          use_cache: bool = True, max_article_bytes: int = MAX_ARTICLE_BYTES,
          scheduler: str | None = None) -> BuildResult:
    """Build OUTDIR from articles (or from a statements file). Raises KgError on bad input.

    The article is the unit of work: it is parsed and its statements extracted (a long one chunk by
    chunk, kg.build.chunks; cached in OUTDIR/.kg-cache by its text, metadata and the extractor), then
    mapped into its own graph, validated and serialised (cached too, with the events it shares with
    other articles). The corpus step works on small records and on disk: events are clustered from
    their records, kept in a table on disk (kg.build.events.EventTable), the nodes several articles
    share are merged by an external sort (kg.build.merge), and every file is written article by
    article into OUTDIR's staging folder. Its Python objects therefore do not grow with the corpus.

    ``jobs``: how many processes work at once (None: one per core), for parsing and for mapping and
    validation; 1 does everything in this process. With ``use_cache``, a rebuild redoes only the
    articles that changed and gives the files a build from scratch gives. An article of more than
    ``max_article_bytes`` is skipped (kg.build.ingest). OUTDIR is checked and locked before any input
    is read and switched to the new outputs at once at the end (kg.build.outdir).

    ``scheduler``: run the article steps as Dask tasks on the scheduler at that address, or on a
    LocalCluster of N processes for ``local:N`` (kg.build.cluster); ``jobs`` is then not used. The
    corpus step, the cache and OUTDIR stay here: the outputs are those of a local build.
    """
    Mapper(base)  # a bad base is bad input, before any work
    check_apart(inputs, outdir)
    had_build = Path(outdir).is_dir() and any(Path(outdir).iterdir())
    try:
        return _build_in(inputs, outdir, statements_file=statements_file, base=base, progress=progress,
                         keep_going=keep_going, validate=validate, jobs=jobs, use_cache=use_cache,
                         max_article_bytes=max_article_bytes, scheduler=scheduler)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = exc.filename or outdir
        kept = f"{outdir} still holds the previous build" if had_build else "nothing was written"
        raise WriteError(f"{where}: no space left on the device (or over the disk quota) while writing the build; "
                         f"{kept}: free some space and build again") from exc


def _build_in(inputs: list[Path], outdir: Path, *, statements_file: Path | None, base: str, progress: bool,
              keep_going: bool, validate: bool, jobs: int | None, use_cache: bool, max_article_bytes: int,
              scheduler: str | None) -> BuildResult:
    with BuildOutdir(outdir) as out, contextlib.ExitStack() as stack:  # checked and locked before any input is read
        runner: LocalRunner | Any = LocalRunner(max(1, jobs or os.cpu_count() or 1))
        if scheduler:
            from kg.build.cluster import DaskRunner, connect

            scratch = str(out.scratch()) if scheduler.startswith("local:") else None  # not in $TMPDIR
            runner = DaskRunner(stack.enter_context(connect(scheduler, scratch)))
        return _build(inputs, out, runner, statements_file=statements_file, base=base, progress=progress,
                      keep_going=keep_going, validate=validate, use_cache=use_cache,
                      max_article_bytes=max_article_bytes)


def _build(inputs: list[Path], out: BuildOutdir, runner: Any, *, statements_file: Path | None, base: str,
           progress: bool, keep_going: bool, validate: bool, use_cache: bool, max_article_bytes: int) -> BuildResult:
    outdir = out.path
    skipped: list[SkippedInput] = []
    warnings: list[str] = []
    merged_copies = 0
    if statements_file is not None:
        iter_statements(statements_file).__next__()  # a bad file fails before anything is written

        def documents() -> Iterator[DocumentStatements]:
            return iter_statements(statements_file)
        cache = None
    else:
        if not inputs:
            raise IngestError("no input: give article files, folders or .jsonl corpora")
        articles = list(read_articles(inputs, skipped if keep_going else None, exclude=outdir,
                                      max_bytes=max_article_bytes, warnings=warnings))
        if not articles:
            reasons = "; ".join(s.reason for s in skipped) or "no .txt or .jsonl files found"
            raise IngestError(f"no readable article in the input ({reasons})")
        articles, merged_copies = merge_copies(articles)
        # without the cache, the extracted statements are kept in the staging folder's temporary files
        cache = StatementCache(outdir if use_cache else out.tmpdir())
        documents = _extract_all(articles, cache, progress, runner, skipped)
    if hasattr(runner, "prepare"):
        runner.prepare()
    try:
        result = _corpus_step(documents, out, cache, runner, base=base, validate=validate, progress=progress)
    except BaseException as exc:
        if hasattr(runner, "discard"):
            runner.discard(graceful=not isinstance(exc, KeyboardInterrupt))
        raise
    if hasattr(runner, "discard"):
        runner.discard()
    write_outputs(out, skipped)
    if cache is not None and use_cache:
        cache.prune(result.keys)
    return BuildResult(outdir, result.documents, result.statements, result.conforms, result.counts,
                       result.violations, result.summary_text, skipped, result.removed, merged=merged_copies,
                       warnings=warnings)


def _extract_all(articles: list[Article], cache: StatementCache, progress: bool, runner: Any,
                 skipped: list[SkippedInput]) -> Callable[[], Iterator[DocumentStatements]]:
    """Parse and extract the articles the cache does not hold, putting each into the cache as it comes
    (an article whose extraction fails goes to ``skipped``); returns the documents' statements in
    input order, read back from the cache one at a time."""
    keys = [cache_key(a) for a in articles]
    todo = [a for a, k in zip(articles, keys, strict=True) if not cache.has(k, a.doc_id)]
    key_of = dict(zip((a.doc_id for a in articles), keys, strict=True))
    bar = Progress(progress and len(todo) > 3, "extracting", len(todo))
    failed: set[str] = set()
    try:
        by_source = {a.source_path or a.doc_id: a.doc_id for a in todo}
        # a long article's chunks: in place on a terminal, a line every 10 s in a log (kg.build.chunks)
        chunks_shown = progress
        for ds in runner.extract(todo, bar.update, chunk_progress=chunks_shown):
            if isinstance(ds, SkippedInput):
                skipped.append(ds)
                failed.add(by_source.get(ds.source, ds.source))
                continue
            cache.put(key_of[ds.article.doc_id], ds)
    finally:
        bar.close()
    if len(failed) == len(articles):
        raise IngestError("no article could be extracted (" + "; ".join(s.reason for s in skipped) + ")")
    kept = [(a, k) for a, k in zip(articles, keys, strict=True) if a.doc_id not in failed]

    def documents() -> Iterator[DocumentStatements]:
        for a, k in kept:
            hit = cache.get(k)
            if hit is None or hit.article.doc_id != a.doc_id:
                raise KgError(f"{cache.dir}: the cached statements of {a.doc_id} vanished during the build")
            # the statements are reused; the article's record (where it was read) is today's
            yield DocumentStatements(dataclasses.replace(a, text=""), hit.entities, hit.statements)

    documents.keys = {k for _, k in kept}  # type: ignore[attr-defined]
    # the documents come without their text: their cache keys are those of the articles as read
    documents.key_of = {a.doc_id: k for a, k in kept}  # type: ignore[attr-defined]
    return documents


@dataclass
class _CorpusResult:
    documents: int
    statements: int
    conforms: bool
    counts: dict[str, int]
    violations: int
    summary_text: str
    removed: list[str]
    keys: set[str]


def _corpus_step(documents: Callable[[], Iterator[DocumentStatements]], out: BuildOutdir,
                 cache: StatementCache | None, runner: Any, *, base: str, validate: bool,
                 progress: bool) -> _CorpusResult:
    """Everything after extraction, streamed: statements.jsonl and the event records (first pass over
    the documents), then each article mapped, validated and written (second pass), then the shared
    nodes merged and the union graph written."""
    from kg.build.events import EventTable, event_reports
    from kg.build.merge import SharedNodes
    from kg.build.validate import merge_reports, report_results, summary_of

    staging = out.staging
    tmp = out.tmpdir()
    # pass 1: statements.jsonl as read, and the records clustering needs, in a table on disk
    events = EventTable(tmp / "events.sqlite")
    n_docs = n_statements = 0
    with (staging / "statements.jsonl").open("wb") as fh:
        for ds in documents():
            fh.write(statements_jsonl([ds]).encode("utf-8"))
            events.add(event_reports(ds))
            n_docs += 1
            n_statements += len(ds.statements)
    events.cluster()

    # pass 2: each article mapped and validated (cached with its clusters), written as it comes, in order
    prefixes = instance_prefixes(base)
    header = prefix_header(prefixes)
    shared = SharedNodes(tmp)
    counts: Counter[str] = Counter()
    report_parts: list[bytes] = []
    violations: list[Violation] = []
    lines: list[str] = []
    removed: list[str] = []
    ctx = _context_fingerprint(base, validate)

    def tasks() -> Iterator[tuple]:
        for ds in documents():
            yield ds, events.clusters_of(ds.article.doc_id), base, validate

    def results() -> Iterator[ArticleResult]:
        if cache is None:
            yield from runner.map_in_order(tasks(), _map_task)
            return
        pending: list[tuple] = []  # articles whose result is not cached, mapped in order with the rest
        key_of: dict[str, str] = getattr(documents, "key_of", {})

        def fresh() -> Iterator[tuple]:
            for t in tasks():
                ds, cl = t[0], t[1]
                key = key_of.get(ds.article.doc_id) or cache_key(ds.article)
                context = hashlib.sha256(f"{ctx}|{_clusters_text(cl)}".encode()).hexdigest()
                hit = cache.get_result(key, context)
                pending.append((hit, key, context))
                if hit is None:
                    yield t
                else:
                    yield ()  # a placeholder keeps the order

        mapped = runner.map_in_order(fresh(), _maybe_map_task)
        for res in mapped:
            hit, key, context = pending.pop(0)
            if res is None:
                res = hit
            else:
                cache.put_result(key, context, res)
            yield res

    bar = Progress(progress, "mapping and validating", n_docs)
    with (staging / "graph.trig").open("wb") as trig, (tmp / "local.ttl").open("wb") as ttl, \
            (tmp / "local.jsonld").open("wb") as jsonld, \
            (tmp / "graph.nq").open("wb") as nq:
        trig.write(header)
        for seq, res in enumerate(results()):
            trig.write(res.rdf.trig)
            ttl.write(res.rdf.local_ttl)
            jsonld.write(res.rdf.local_jsonld)
            nq.write(res.rdf.nquads)
            shared.add(seq, res.rdf.shared_nt)
            counts.update(res.counts)
            if res.report_nt:
                report_parts.append(res.report_nt)
                violations.extend(res.violations)
                lines.extend(res.summary_lines)
            removed.extend(res.removed)
            bar.update()
    bar.close()
    events.close()

    # the shared nodes, merged; the union graph: shared nodes first, then each article's own subjects
    bar = Progress(progress, "merging shared nodes", None, unit="node")
    merged_check: list[list] = []
    corpus_report = []
    with (staging / "graph.ttl").open("wb") as ttl_out, (staging / "graph.jsonld").open("wb") as jl_out:
        ttl_out.write(header)
        jl = StreamedJsonLd(jl_out, prefixes)
        chunk: list = []

        def flush() -> None:
            if chunk:
                ttl_out.write(strip_prefixes(ox.serialize(chunk, format=ox.RdfFormat.TURTLE, prefixes=prefixes)))
                jl.write(jsonld_nodes(chunk, prefixes))
                chunk.clear()

        n_chunk = 0
        for node in shared.subjects():
            # a node named by every article: its dip:mentionedIn triples come from disk as they are
            # written, and a node of more than _SUBJECT_TRIPLES triples is written in parts
            part: list = []
            for t in node.triples():
                part.append(t)
                if len(part) >= _SUBJECT_TRIPLES:
                    chunk.extend(part)
                    part.clear()
                    flush()
            chunk.extend(part)
            n_chunk += 1
            for t in node.head:
                if t.predicate.value == _RDF_TYPE and t.object.value.startswith(str(DIP)):
                    counts[t.object.value[len(str(DIP)):]] += 1
            if validate and node.articles > 1:
                # only what the corpus shapes read
                merged_check.append([t for t in node.head if t.predicate.value in _CORPUS_PREDICATES])
                if len(merged_check) >= 2000:
                    corpus_report.append(_check_merged(merged_check))
                    merged_check = []
            if n_chunk >= 2000 or len(chunk) >= _CHUNK_TRIPLES:
                flush()
                n_chunk = 0
            bar.update()
        flush()
        if merged_check:
            corpus_report.append(_check_merged(merged_check))
        with (tmp / "local.ttl").open("rb") as fh:
            shutil.copyfileobj(fh, ttl_out, 1 << 20)
        with (tmp / "local.jsonld").open("rb") as fh:
            for block in iter(lambda: fh.readlines(1 << 20), []):
                jl.write(b"".join(block))
        jl.close()
    bar.close()
    for part in corpus_report:
        if part:
            report_parts.append(part)
            violations.extend(report_results(merge_reports([part])))
    report = merge_reports(report_parts) if report_parts else None
    n_violations = sum(1 for v in violations if v.severity == "Violation")
    conforms = n_violations == 0
    (staging / "validation.ttl").write_bytes(turtle_bytes(report if report is not None else _empty_report()))
    bar = Progress(progress, "loading the store", None, unit="step")
    _write_store(staging, staging / "graph.ttl", tmp / "graph.nq")
    bar.close()
    shutil.rmtree(tmp, ignore_errors=True)
    summary_text = summary_of(violations, lines) if not conforms else ""
    keys = getattr(documents, "keys", set())
    return _CorpusResult(n_docs, n_statements, conforms, dict(counts), n_violations, summary_text,
                         sorted(removed), keys)


def _maybe_map_task(t: tuple) -> ArticleResult | None:
    return map_article(*t) if t else None


def _clusters_text(cl: dict[int, EventCluster]) -> str:
    return json.dumps(sorted((i, list(c.key), c.event_class, c.start, c.end, c.location, c.status)
                             for i, c in cl.items()), ensure_ascii=False)


def _context_fingerprint(base: str, validate: bool) -> str:
    """What a mapped article depends on besides its statements and clusters: the mapping (with the
    event-data codes and their table), the shapes, the writers, the base IRI."""
    h = hashlib.sha256(f"{base}|{validate}".encode())
    here = Path(__file__).resolve().parent
    from kg.build.validate import SHAPES_DIR

    for f in [here / "mapping.py", here / "eventcodes.py", here.parent / "data" / "codes.json", here / "pipeline.py",
              here.parent / "rdfio.py", here.parent / "records.py", *sorted(SHAPES_DIR.glob("*.ttl"))]:
        h.update(f.read_bytes())
    return h.hexdigest()


def _check_merged(nodes: list[list]) -> bytes:
    """Validate merged shared nodes against the corpus-level shapes (shapes/corpus/); the report as
    N-Triples when it has results, else empty."""
    from kg.build.validate import SHAPES_DIR, _pyshacl, load_shapes

    g = Graph(bind_namespaces="none")
    keep = _CORPUS_PREDICATES
    for triples in nodes:
        for t in triples:
            if t.predicate.value in keep:
                s, p, o = t.subject, t.predicate, t.object
                obj = (Literal(o.value, lang=o.language) if o.language else
                       Literal(o.value, datatype=URIRef(o.datatype.value))) if isinstance(o, ox.Literal) \
                    else URIRef(o.value)
                g.add((URIRef(s.value), URIRef(p.value), obj))
    report, _ = _pyshacl(g, load_shapes(SHAPES_DIR / "corpus"))
    if (None, SH.result, None) not in report:
        return b""
    return report.serialize(format="nt", encoding="utf-8")


def _empty_report() -> Graph:
    from rdflib import BNode

    g = Graph()
    n = BNode()
    g.add((n, RDF.type, SH.ValidationReport))
    g.add((n, SH.conforms, Literal(True)))
    bind_prefixes(g)
    g.bind("sh", SH)
    return g


_CORPUS_PREDICATES = {str(p) for p in (RDF.type, RDFS.label, DIP.isoCode, DIP.startDate, DIP.endDate, DIP.status,
                                        DIP.isoAlpha3, DIP.cowCode, DIP.gwCode, DIP.geonamesId, DIP.latitude,
                                        DIP.longitude, DIP.ploverEvent)}
#: Merged triples serialised at a time (also fewer than 2,000 subjects when some are large).
_CHUNK_TRIPLES = 10_000
#: A merged node with more triples than this (its dip:mentionedIn, one per article that names it) is
#: written in parts of this size: in Turtle the subject opens each part again, in JSON-LD each part is
#: a node object with the same @id.
_SUBJECT_TRIPLES = 10_000


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection in the block (reference counting still frees memory).

    Mapping and validation create a few hundred thousand objects that all live until the build ends;
    the collector would scan them again and again while they are made, for nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_signals_deferred = signals_deferred  # the name this module used before kg.build.procs held it


def write_outputs(out: BuildOutdir, skipped: list[SkippedInput]) -> None:
    """Make the files streamed into OUTDIR's staging folder OUTDIR's, in one switch (kg.build.outdir).

    The files are flushed to disk first; once the switch starts, SIGINT and SIGTERM wait until it is
    done: OUTDIR holds the previous build or this one, never a mix. Without skipped inputs, OUTDIR
    has no skipped.json.
    """
    staging = out.staging
    if skipped:
        atomic_write_text(staging / "skipped.json", json.dumps(
            [{"source": s.source, "reason": s.reason} for s in skipped], ensure_ascii=False,
            indent=1) + "\n")
    for f in staging.iterdir():
        if f.is_file():
            with f.open("rb+") as fh:
                os.fsync(fh.fileno())
    out.commit(known=(*OUTPUTS, STORE_DIR))
