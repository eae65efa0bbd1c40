"""The build: articles -> GiNZA -> statements -> RDF -> SHACL -> files in OUTDIR.

``build()`` is what ``kg build`` runs. Outputs are first written into a staging folder in
OUTDIR and then become OUTDIR's by one atomic rename (kg.build.outdir), after everything has been
computed: an interrupted, killed or failed build never leaves a half-written file or a mix of two
builds.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import RDF

from kg.build.ingest import MAX_ARTICLE_BYTES, SkippedInput, jsonl_lines, read_articles
from kg.build.mapping import DEFAULT_BASE, Mapper, bind_instance_prefixes
from kg.build.outdir import STAGING_PREFIX, BuildOutdir  # noqa: F401  (STAGING_PREFIX: tests, bench)
from kg.build.procs import signals_deferred
from kg.errors import IngestError, KgError, MappingError, WriteError
from kg.namespaces import DIP, OA, bind_prefixes
from kg.rdfio import atomic_write_bytes, atomic_write_text, graph_files, trig_bytes, turtle_bytes
from kg.readers.store import STORE_DIR, write_store
from kg.records import (
    Article,
    DocumentStatements,
    EntityRecord,
    doc_header,
    dumps_statement,
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
    graph: Graph | None = None
    warnings: list[str] = field(default_factory=list)  # inputs read with a doubt (a date taken as unknown, ...)

    def summary(self) -> str:
        """What was built (for stdout)."""
        lines = [f"built {self.outdir}: {self.documents} document(s), {self.statements} statement(s)"]
        for cls, n in sorted(self.class_counts.items()):
            lines.append(f"  {cls:<14}{n:>6}")
        lines.append("conforms to the shapes: " + ("yes" if self.conforms else f"NO ({self.violations} violation(s))"))
        if self.removed:
            lines.append(f"left out of graph.ttl (see validation.ttl): {len(self.removed)} node(s)")
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


def _extract_batch(batch: list[Article], show_progress: bool = False) -> list[DocumentStatements | SkippedInput]:
    """Parse and extract a batch of articles in this process (a long article chunk by chunk); an article
    whose extraction fails is returned as skipped, with the reason."""
    from kg.build.chunks import extract_batch, report_progress

    return [SkippedInput(b.source_path or b.doc_id, str(r)) if isinstance(r, KgError) else r
            for b, r in zip(batch, extract_batch(batch, report_progress if show_progress else None), strict=True)]


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


def read_statements(path: Path) -> list[DocumentStatements]:
    """Statements produced elsewhere, in the statements.jsonl format: a ``document`` line opens each
    document's block; entity and statement lines follow."""
    docs: list[DocumentStatements] = []
    cur: Article | None = None
    ents: list[EntityRecord] = []
    stmts: list = []

    def flush() -> None:
        if cur is not None:
            docs.append(DocumentStatements(cur, tuple(ents), tuple(stmts)))

    for n, raw in jsonl_lines(path):
        try:
            d = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IngestError(f"{path}:{n}: not valid JSON: {exc}") from exc
        if isinstance(d, dict) and d.get("kind") == "document":
            flush()
            fields = {k: v for k, v in d.items() if k != "kind"}
            fields["urls"] = tuple(fields.get("urls") or ())
            try:
                cur = Article(text="", **fields)
            except TypeError as exc:
                raise IngestError(f"{path}:{n}: bad document line: {exc}") from exc
            ents, stmts = [], []
            continue
        if cur is None:
            raise IngestError(f"{path}:{n}: a statement before any 'document' line")
        try:
            s = statement_from_dict(d)
        except ValueError as exc:
            raise IngestError(f"{path}:{n}: {exc}") from exc
        (ents if isinstance(s, EntityRecord) else stmts).append(s)
    flush()
    if not docs:
        raise IngestError(f"{path}: no documents in the statements file")
    return docs


def statements_jsonl(docs: Iterable[DocumentStatements]) -> str:
    lines: list[str] = []
    for ds in docs:
        lines.append(json.dumps(doc_header(ds.article), ensure_ascii=False, sort_keys=True))
        lines.extend(dumps_statement(e) for e in ds.entities)
        lines.extend(dumps_statement(s) for s in ds.statements)
    return "\n".join(lines) + ("\n" if lines else "")


def to_rdf(docs: list[DocumentStatements], base: str = DEFAULT_BASE) -> tuple[Graph, Dataset]:
    """The union graph and the dataset with one named graph per document."""
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


def _drop_nonconforming(g: Graph, ds: Dataset, focus: set[str]) -> list[str]:
    """Remove statement nodes that violate the shapes (and their evidence) from the output graphs."""
    removed: list[str] = []
    for f in sorted(focus):
        node = URIRef(f)
        if not any(True for _ in g.triples((node, RDF.type, None))):
            continue
        kinds = set(g.objects(node, RDF.type))
        if not kinds & {DIP.Meeting, DIP.Summit, DIP.PhoneCall, DIP.Visit, DIP.Quote, DIP.Position}:
            continue  # entities are kept: removing them would break other statements
        annotations = list(g.subjects(OA.hasBody, node))
        for target in [node, *annotations]:
            for graph in (g, *ds.graphs()):
                for extra in (URIRef(f"{target}-target"), URIRef(f"{target}-pos"), URIRef(f"{target}-quote")):
                    graph.remove((extra, None, None))
                graph.remove((target, None, None))
                graph.remove((None, None, target))
        removed.append(f)
    return removed


def serialise(g: Graph, ds: Dataset) -> dict[str, bytes]:
    """graph.ttl, graph.trig and graph.jsonld."""
    files = graph_files(g)
    return {"graph.ttl": files["ttl"], "graph.trig": trig_bytes(ds), "graph.jsonld": files["jsonld"]}


class _Serialiser:
    """The RDF files made in a forked child process (it shares the graphs copy-on-write) while SHACL
    runs in this one."""

    def __init__(self, g: Graph, ds: Dataset, tmp_root: Path) -> None:
        import multiprocessing as mp

        self.tmp = Path(tempfile.mkdtemp(prefix="kg-serialise-", dir=tmp_root))
        self.proc = None
        if "fork" in mp.get_all_start_methods():
            self.proc = mp.get_context("fork").Process(target=self._run, args=(g, ds, self.tmp, os.getpid()),
                                                       daemon=True)
            with signals_deferred():  # a Ctrl-C in a fork handler would be lost
                self.proc.start()

    @staticmethod
    def _run(g: Graph, ds: Dataset, tmp: Path, parent: int) -> None:
        from kg.build.procs import child_setup

        child_setup(parent)
        gc.freeze()  # the inherited graphs are never garbage: collecting them would only copy their pages
        for name, data in serialise(g, ds).items():
            (tmp / name).write_bytes(data)

    def collect(self) -> dict[str, bytes] | None:
        """The serialised files, or None when the child failed (the caller then serialises itself)."""
        if self.proc is None:
            return None
        self.proc.join()
        names = ("graph.ttl", "graph.trig", "graph.jsonld")
        if self.proc.exitcode != 0 or not all((self.tmp / n).exists() for n in names):
            return None
        return {n: (self.tmp / n).read_bytes() for n in names}

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.terminate()
            self.proc.join()
        shutil.rmtree(self.tmp, ignore_errors=True)


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
    """Extracted statements per article in OUTDIR/.kg-cache, keyed by content and extractor version."""

    def __init__(self, outdir: Path) -> None:
        self.dir = outdir / CACHE_DIR

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

    def prune(self, keep: set[str]) -> None:
        if not self.dir.is_dir():
            return
        for f in self.dir.glob("*.jsonl"):
            if f.stem not in keep:
                f.unlink(missing_ok=True)


def build(inputs: list[Path], outdir: Path, *, statements_file: Path | None = None, base: str = DEFAULT_BASE,
          progress: bool = False, keep_going: bool = True, validate: bool = True, jobs: int | None = 1,
          use_cache: bool = True, max_article_bytes: int = MAX_ARTICLE_BYTES) -> BuildResult:
    """Build OUTDIR from articles (or from a statements file). Raises KgError on bad input.

    ``jobs``: how many processes work at once (None: one per core): that many parse workers, then as
    many (at most four) sharing SHACL validation while one more writes the files; 1 does everything
    in this process. With ``use_cache``, articles whose text and metadata (and the extractor) are
    unchanged since the last build into OUTDIR are not parsed again; the result is the graph a build
    from scratch gives. An article of more than ``max_article_bytes`` is skipped (kg.build.ingest);
    a long one is parsed chunk by chunk (kg.build.chunks). OUTDIR is checked and locked first and
    switched to the new outputs at once at the end (kg.build.outdir).
    """
    with BuildOutdir(outdir) as out:  # checked and locked before any input is read
        return _build(inputs, out, statements_file=statements_file, base=base, progress=progress,
                      keep_going=keep_going, validate=validate, jobs=jobs, use_cache=use_cache,
                      max_article_bytes=max_article_bytes)


def _build(inputs: list[Path], out: BuildOutdir, *, statements_file: Path | None, base: str, progress: bool,
           keep_going: bool, validate: bool, jobs: int | None, use_cache: bool,
           max_article_bytes: int) -> BuildResult:
    from kg.build.validate import summarize, validate_graph, validation_processes

    outdir = out.path
    procs = max(1, jobs or os.cpu_count() or 1)
    skipped: list[SkippedInput] = []
    warnings: list[str] = []
    cache = StatementCache(outdir) if use_cache and statements_file is None else None
    keys: dict[str, str] = {}
    if statements_file is not None:
        docs = read_statements(statements_file)
    else:
        if not inputs:
            raise IngestError("no input: give article files, folders or .jsonl corpora")
        articles = list(read_articles(inputs, skipped if keep_going else None, exclude=outdir,
                                      max_bytes=max_article_bytes, warnings=warnings))
        if not articles:
            reasons = "; ".join(s.reason for s in skipped) or "no .txt or .jsonl files found"
            raise IngestError(f"no readable article in the input ({reasons})")
        cached: dict[str, DocumentStatements] = {}
        if cache is not None:
            for a in articles:
                keys[a.doc_id] = cache_key(a)
                hit = cache.get(keys[a.doc_id])
                if hit is not None and hit.article.doc_id == a.doc_id:
                    # the statements are reused; the article's record (where it was read) is today's
                    cached[a.doc_id] = DocumentStatements(a, hit.entities, hit.statements)
        todo = [a for a in articles if a.doc_id not in cached]
        n_jobs = max(1, min(procs, max(1, len(todo) // 2)))
        bar = None
        if progress and len(todo) > 3:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), unit="article", desc="extracting")
        fresh: dict[str, DocumentStatements] = {}
        try:
            if n_jobs > 1:  # longest first: the workers finish together instead of one waiting on a long text
                todo.sort(key=lambda a: len(a.text), reverse=True)
            for ds in extract_articles(todo, bar.update if bar else None, jobs=n_jobs, chunk_progress=progress):
                if isinstance(ds, SkippedInput):
                    skipped.append(ds)
                    continue
                fresh[ds.article.doc_id] = ds
                if cache is not None:
                    cache.put(keys[ds.article.doc_id], ds)
        finally:
            if bar:
                bar.close()
        docs = [d for a in articles if (d := cached.get(a.doc_id) or fresh.get(a.doc_id)) is not None]
        if not docs:
            raise IngestError("no article could be extracted (" + "; ".join(s.reason for s in skipped) + ")")
    with _gc_paused():  # the graph is built once and kept: collecting it over and over only costs time
        g, ds = to_rdf(docs, base)
        conforms, violations, summary_text, removed = True, 0, "", []
        report = Graph()
        # with more than one process, the RDF files are serialised in a forked process while SHACL runs
        # (itself shared out among forked processes); if the graph does not conform, they are made again
        # from its conforming part
        ahead = _Serialiser(g, ds, out.tmpdir()) if procs > 1 and validate else None
        try:
            if validate:
                result = validate_graph(g, processes=min(procs, validation_processes()), tmpdir=out.tmpdir())
                report = result.report_graph
                conforms = result.conforms
                violations = sum(1 for v in result.violations if v.severity == "Violation")
                if not conforms:
                    summary_text = summarize(result, g)
                    removed = _drop_nonconforming(g, ds, {v.focus_node for v in result.violations
                                                          if v.severity == "Violation"})
            files = ahead.collect() if ahead is not None and conforms else None
        finally:
            if ahead is not None:
                ahead.close()
        if files is None:
            files = serialise(g, ds)
        outputs = {
            **files,
            "statements.jsonl": statements_jsonl(docs).encode("utf-8"),
            "validation.ttl": turtle_bytes(report),
        }
        write_outputs(out, outputs, skipped)
    if cache is not None:
        cache.prune(set(keys.values()))
    counts: Counter[str] = Counter()
    for _, cls in g.subject_objects(RDF.type):
        if str(cls).startswith(str(DIP)):
            counts[str(cls)[len(str(DIP)):]] += 1
    n_statements = sum(len(d.statements) for d in docs)
    return BuildResult(outdir, len(docs), n_statements, conforms, dict(counts), violations, summary_text,
                       skipped, removed, g, warnings)


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


_signals_deferred = signals_deferred  # the name this module used before kg.build.outdir held it


def write_outputs(outdir: Path | BuildOutdir, outputs: dict[str, bytes], skipped: list[SkippedInput]) -> None:
    """Write every output into OUTDIR's staging folder, then make them OUTDIR's in one switch.

    An interrupt while the files are written leaves OUTDIR as it was (the staging folder is
    removed); once the switch starts, SIGINT and SIGTERM wait until it is done (kg.build.outdir):
    OUTDIR holds the previous build or this one, never a mix. Without skipped inputs, OUTDIR has
    no skipped.json.
    """
    if not isinstance(outdir, BuildOutdir):
        with BuildOutdir(outdir) as out:
            write_outputs(out, outputs, skipped)
        return
    staging = outdir.staging
    for name, data in outputs.items():
        atomic_write_bytes(staging / name, data)
    if skipped:
        atomic_write_text(staging / "skipped.json", json.dumps(
            [{"source": s.source, "reason": s.reason} for s in skipped], ensure_ascii=False,
            indent=1) + "\n")
    _write_store(staging, outputs)
    outdir.commit(known=(*OUTPUTS, STORE_DIR))


def _write_store(staging: Path, outputs: dict[str, bytes]) -> None:
    """Bulk-load the query store (kg.readers.store) from the graph files written into ``staging``."""
    if "graph.ttl" not in outputs:
        return
    articles = [staging / "graph.trig"] if "graph.trig" in outputs else []
    try:
        write_store(staging / STORE_DIR, staging / "graph.ttl", articles)
    except (OSError, SyntaxError, ValueError) as exc:
        raise WriteError(f"{staging / STORE_DIR}: cannot write the query store: {exc}") from exc

