"""Build throughput, worker scaling, SHACL scaling, Neo4j load rate and peak memory, in one run.

Every figure is a ratio of two timings taken side by side in the same run on the same texts, so
a shared or noisy machine shifts both sides alike:

  (a) raw ja_ginza parse (nlp.pipe over the texts) vs the full build (kg.build.pipeline.build), chars/s,
      with as many processes on each side: one per core (the build's default), and one
  (b) the build with 1 vs 2 worker processes (build(..., jobs=N), i.e. kg build -j N: N parse
      workers, then N processes sharing SHACL; -j 1 runs in one process)
  (c) SHACL validation (kg.build.validate.validate_graph) of the built graph of 1x vs 10x the corpus
  (d) Neo4j load rate, batched UNWIND vs one transaction per row (needs a server: NEO4J_URI etc.
      in the environment, or --neo4j-local to start scripts/neo4j-local; else "skipped")
  (e) peak memory (max RSS) of `kg build -j 1` of 1x vs 10x the corpus, each in a fresh process

The corpus is the article in seeds/ and the .txt articles of ../shared/eval/dev (when that folder
exists), repeated under distinct ids to reach the size and written as a .jsonl corpus into a
temporary folder; published dates come from the sidecars or the gold files.

    .venv/bin/python bench/bench_build.py                  # 1x = 10 articles, about 9 minutes
    .venv/bin/python bench/bench_build.py --quick          # smoke run, well under a minute
    .venv/bin/python bench/bench_build.py --neo4j-local --json bench.json
    .venv/bin/python bench/bench_build.py --profile        # also cProfile one 1x build
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import inspect
import io
import json
import math
import os
import platform
import pstats
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEEDS = ROOT / "seeds"
DEV = ROOT.parent / "shared" / "eval" / "dev"
NEO4J_LOCAL = ROOT / "scripts" / "neo4j-local"

TARGET_PARSE_RATIO = 0.75  # full build >= 0.75x raw parse (chars/s)
TARGET_JOBS_RATIO = 1.7  # 2 workers >= 1.7x one
TARGET_VALIDATE_RATIO = 12.0  # 10x graph validates in <= 12x the 1x time
TARGET_MEMORY_RATIO = 1.5  # 10x build peaks at <= 1.5x the 1x build
TARGET_NEO4J_RATIO = 10.0  # batched UNWIND loads >= 10x the rows/s of one transaction per row


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the final table."""

    key: str
    measurement: str
    value: str
    target: str
    verdict: str  # pass | FAIL | info | skipped | n/a


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, measurement: str, value: str, target: str, verdict: str) -> None:
        self.rows.append(Row(key, measurement, value, target, verdict))

    def table(self) -> str:
        head = ("measurement", "value", "target", "result")
        cells = [head] + [(r.measurement, r.value, r.target, r.verdict) for r in self.rows]
        widths = [max(len(c[i]) for c in cells) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells[1:]]
        return "\n".join(lines)


def say(msg: str = "") -> None:
    print(msg, flush=True)


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


# ---------------------------------------------------------------------------------------------
# the corpus
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    text: str
    published: str | None
    url: str | None


def source_articles(use_dev: bool = True) -> list[Source]:
    """The seed article and the dev articles, each text once, shortest first."""
    from kg.build.ingest import read_articles

    folders = [SEEDS] + ([DEV] if use_dev and DEV.is_dir() else [])
    seen: set[str] = set()
    out: list[Source] = []
    for folder in folders:
        for art in read_articles([folder], skipped=[]):
            if art.text in seen:
                continue
            seen.add(art.text)
            published = art.published
            src = Path(art.source_path or "")
            gold = src.with_name(src.stem + ".gold.json")
            if published is None and gold.is_file():
                with contextlib.suppress(ValueError, OSError):
                    value = json.loads(gold.read_text(encoding="utf-8")).get("published")
                    published = value if isinstance(value, str) and value else None
            out.append(Source(art.doc_id, art.text, published, art.url))
    if not out:
        raise SystemExit(f"no articles found in {SEEDS}")
    return sorted(out, key=lambda s: (len(s.text), s.name))


def write_corpus(path: Path, sources: list[Source], n: int) -> tuple[Path, list[str]]:
    """``n`` articles cycling through ``sources`` under distinct ids; returns the file and the texts."""
    rows, texts = [], []
    for k in range(n):
        s = sources[k % len(sources)]
        row: dict[str, Any] = {"id": f"b{k:05d}-{s.name}", "text": s.text}
        if s.published:
            row["published"] = s.published
        if s.url:
            row["url"] = s.url
        rows.append(json.dumps(row, ensure_ascii=False))
        texts.append(s.text)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path, texts


def parsed_texts(corpus: Path) -> list[str]:
    """The texts exactly as the build reads them from the corpus."""
    from kg.build.ingest import read_articles

    return [a.text for a in read_articles([corpus])]


# ---------------------------------------------------------------------------------------------
# what the pipeline offers (the jobs parameter may be missing in older trees)
# ---------------------------------------------------------------------------------------------


def build_kwargs(jobs: int | None) -> dict[str, Any] | None:
    """Keyword arguments for kg.build.pipeline.build: no cache, ``jobs`` workers; None if jobs is unsupported."""
    from kg.build.pipeline import build

    params = inspect.signature(build).parameters
    kw: dict[str, Any] = {}
    if "use_cache" in params:
        kw["use_cache"] = False
    if jobs is not None:
        if "jobs" not in params:
            return None
        kw["jobs"] = jobs
    return kw


def cli_flags() -> set[str]:
    """The options `kg build --help` lists (to pass -j 1 and --no-cache only when they exist)."""
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "build", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    return {f for f in ("--jobs", "--no-cache", "--quiet") if f in proc.stdout}


#: Where a build spends its time: (module, function, phase). Functions missing from the tree are skipped.
PHASE_HOOKS = (
    ("kg.build.pipeline", "_corpus_step", "post-parse"),
    ("kg.build.pipeline", "statements_jsonl", "serialize"),
    ("kg.build.pipeline", "write_outputs", "write"),
    ("kg.build.extract", "extract_document", "rules"),  # inside the extraction; in this process with 1 worker only
)


@contextlib.contextmanager
def phase_timer() -> Iterator[dict[str, float]]:
    """Wall time per build phase, from wrappers around the pipeline's functions while the block runs.

    ``extract`` is the time the build waits for parsed and extracted articles (GiNZA and the rules;
    with workers, the wait for them); ``rules`` the part of it spent in the extraction rules (1 worker).
    """
    import importlib

    acc: dict[str, float] = defaultdict(float)
    saved: list[tuple[Any, str, Any]] = []

    def timed_fn(fn: Callable[..., Any], phase: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[phase] += time.perf_counter() - t0
        return wrapper

    for mod_name, name, phase in PHASE_HOOKS:
        mod = importlib.import_module(mod_name)
        fn = getattr(mod, name, None)
        if fn is not None:
            saved.append((mod, name, fn))
            setattr(mod, name, timed_fn(fn, phase))
    pl = importlib.import_module("kg.build.pipeline")
    extract = getattr(pl, "extract_articles", None)
    if extract is not None:
        def timed_extract(*args: Any, **kwargs: Any) -> Iterator[Any]:
            it = extract(*args, **kwargs)
            while True:
                t0 = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    acc["extract"] += time.perf_counter() - t0
                    return
                acc["extract"] += time.perf_counter() - t0
                yield item
        saved.append((pl, "extract_articles", extract))
        pl.extract_articles = timed_extract
    try:
        yield acc
    finally:
        for mod, name, fn in reversed(saved):
            setattr(mod, name, fn)


def phase_text(phases: dict[str, float], total: float, jobs: int = 1) -> str:
    """``parse 5.9s 40%, rules ...`` for one build."""
    parts: list[tuple[str, float]] = []
    extract = phases.get("extract", 0.0)
    if jobs == 1 and "rules" in phases:
        parts += [("GiNZA parse", extract - phases["rules"]), ("extraction rules", phases["rules"])]
    else:
        parts.append(("parse+extract" + (f" ({jobs} workers)" if jobs > 1 else ""), extract))
    for name in ("to_rdf", "validate", "serialize", "write"):
        if name in phases:
            parts.append(({"to_rdf": "RDF mapping", "validate": "SHACL", "serialize": "serialising",
                           "write": "writing"}[name], phases[name]))
    parts.append(("other", total - extract - sum(phases.get(n, 0.0) for n in ("to_rdf", "validate", "serialize",
                                                                              "write"))))
    return ", ".join(f"{name} {sec:.2f}s ({100 * sec / total:.0f}%)" for name, sec in parts)


def run_build(corpus: Path, workdir: Path, jobs: int | None) -> tuple[float, Any, dict[str, float]]:
    """One in-process build into a fresh folder; (seconds, BuildResult, seconds per phase)."""
    from kg.build.pipeline import build

    kw = build_kwargs(jobs) or {}
    out = Path(tempfile.mkdtemp(prefix="out-", dir=workdir))
    with phase_timer() as phases:
        t0 = time.perf_counter()
        result = build([corpus], out, **kw)
        seconds = time.perf_counter() - t0
    _ = result.graph  # the build streams its files; its graph is read from graph.ttl before the folder goes
    shutil.rmtree(out, ignore_errors=True)
    return seconds, result, dict(phases)


class CpuMeter:
    """CPU seconds used by this process and its reaped children, and by the whole machine (/proc/stat),
    between start() and stop(): what other processes took from a shared machine meanwhile."""

    def __init__(self) -> None:
        self.wall = self.ours = self.machine = 0.0

    @staticmethod
    def _machine() -> float:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        except (OSError, ValueError, IndexError):
            return float("nan")
        # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
        busy = sum(fields[:8]) - fields[3] - fields[4]
        return busy / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _ours() -> float:
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def __enter__(self) -> CpuMeter:
        self._t, self._o, self._m = time.perf_counter(), self._ours(), self._machine()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._t
        self.ours += self._ours() - self._o
        self.machine += self._machine() - self._m

    @property
    def others_cores(self) -> float:
        """Cores used on average by other processes (busy CPU time not ours / wall time)."""
        return max(0.0, self.machine - self.ours) / self.wall if self.wall else float("nan")

    @property
    def our_cores(self) -> float:
        return self.ours / self.wall if self.wall else float("nan")


# ---------------------------------------------------------------------------------------------
# (a) raw parse vs full build
# ---------------------------------------------------------------------------------------------


def raw_parse(texts: list[str]) -> float:
    from kg.build.nlp import load_model

    nlp = load_model()
    t0 = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=8):
        pass
    return time.perf_counter() - t0


def _parse_share(texts: list[str]) -> None:
    from kg.build.nlp import load_model

    for _ in load_model().pipe(texts, batch_size=8):
        pass


def raw_parse_parallel(texts: list[str], processes: int) -> float:
    """Wall time of raw nlp.pipe over ``texts`` shared out (longest first) among forked processes."""
    import multiprocessing as mp

    from kg.build.nlp import load_model

    load_model()  # loaded before the fork, as the build's workers have it
    shares: list[list[str]] = [[] for _ in range(processes)]
    loads = [0] * processes
    for t in sorted(texts, key=len, reverse=True):
        i = loads.index(min(loads))
        shares[i].append(t)
        loads[i] += len(t)
    ctx = mp.get_context("fork")
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_parse_share, args=(share,)) for share in shares]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    return time.perf_counter() - t0


def measure_parse_vs_build(rep: Report, corpus: Path, texts: list[str], workdir: Path, repeat: int) -> Any:
    """Raw parsing vs the full build with the same number of processes: the build's default (one per
    core, against raw parsing shared out among as many forked processes) is the target; one process
    each (kg build -j 1, which then also validates and writes in that process) is reported beside it."""
    chars = sum(len(t) for t in texts)
    cores = os.cpu_count() or 1
    result = None
    data: dict[str, Any] = {"articles": len(texts), "chars": chars}
    for procs in ((cores, 1) if cores > 1 else (1,)):
        parse_s: list[float] = []
        builds: list[tuple[float, dict[str, float]]] = []
        for r in range(repeat):  # alternate the order so drift hits both sides
            order = ("parse", "build") if r % 2 == 0 else ("build", "parse")
            for what in order:
                if what == "parse":
                    parse_s.append(raw_parse(texts) if procs == 1 else raw_parse_parallel(texts, procs))
                else:
                    sec, res, phases = run_build(corpus, workdir, jobs=procs)
                    result = res
                    builds.append((sec, phases))
        p = min(parse_s)
        b, phases = min(builds, key=lambda x: x[0])
        ratio = (chars / b) / (chars / p)
        setting = f"kg build -j {procs}" + (" (the default here)" if procs == cores else "")
        say(f"(a) raw ja_ginza parse in {procs} process(es) vs {setting} ({len(texts)} articles, {chars} chars): "
            f"parse {chars / p:,.0f} chars/s ({p:.2f}s), build {chars / b:,.0f} chars/s ({b:.2f}s), "
            f"build/parse {ratio:.2f}x")
        say(f"    the build's time: {phase_text(phases, b, jobs=procs)}")
        if procs == cores:
            rep.add("a", f"(a) full build / raw parse throughput, {procs} process(es) each", f"{ratio:.2f}x "
                    f"({chars / b:,.0f} vs {chars / p:,.0f} chars/s)", f">= {TARGET_PARSE_RATIO}x",
                    verdict(ratio >= TARGET_PARSE_RATIO))
        else:
            rep.add("a", "(a) the same, 1 process each (-j 1)", f"{ratio:.2f}x ({chars / b:,.0f} vs "
                    f"{chars / p:,.0f} chars/s)", "report", "info")
        data[f"processes_{procs}"] = {"parse_seconds": parse_s, "build_seconds": [x[0] for x in builds],
                                      "parse_chars_per_s": chars / p, "build_chars_per_s": chars / b,
                                      "ratio": ratio, "phases_of_best_build": phases}
        if procs == cores:
            data["ratio"] = ratio
    rep.data["a"] = data
    return result


# ---------------------------------------------------------------------------------------------
# (b) 1 vs 2 workers
# ---------------------------------------------------------------------------------------------


def measure_jobs(rep: Report, corpus: Path, texts: list[str], workdir: Path, repeat: int) -> None:
    if build_kwargs(2) is None:
        say("(b) build with 1 vs 2 workers: not available yet (kg.build.pipeline.build has no jobs parameter)")
        rep.add("b", "(b) build, 2 workers / 1 worker", "not available yet", f">= {TARGET_JOBS_RATIO}x", "n/a")
        rep.data["b"] = None
        return
    chars = sum(len(t) for t in texts)
    runs: dict[int, list[tuple[float, dict[str, float]]]] = {1: [], 2: []}
    meters = {1: CpuMeter(), 2: CpuMeter()}
    raw: dict[int, list[float]] = {1: [], 2: []}
    for r in range(repeat):
        for jobs in ((1, 2) if r % 2 == 0 else (2, 1)):
            with meters[jobs]:
                sec, _, phases = run_build(corpus, workdir, jobs=jobs)
            runs[jobs].append((sec, phases))
            raw[jobs].append(raw_parse_parallel(texts, jobs))
    (t1, ph1), (t2, ph2) = min(runs[1], key=lambda x: x[0]), min(runs[2], key=lambda x: x[0])
    r1, r2 = min(raw[1]), min(raw[2])
    speedup = t1 / t2
    e1, e2 = ph1.get("extract", 0.0), ph2.get("extract", 0.0)
    amdahl = t1 / ((t1 - e1) + e1 / 2)  # the best 2 workers can do with the 1-worker serial part
    cores = os.cpu_count() or 1
    say(f"(b) build with 1 vs 2 workers ({len(texts)} articles, {chars} chars): 1 worker {t1:.2f}s "
        f"({chars / t1:,.0f} chars/s), 2 workers {t2:.2f}s ({chars / t2:,.0f} chars/s), speed-up {speedup:.2f}x")
    say(f"    parse+extract phase {e1:.2f}s -> {e2:.2f}s ({e1 / e2 if e2 else float('nan'):.2f}x); the rest (mapping in "
        f"one process, SHACL and writing in 1 / 2+1) {t1 - e1:.2f}s -> {t2 - e2:.2f}s; sharing out the parsing alone "
        f"could give at most {amdahl:.2f}x")
    say(f"    CPU: this benchmark used {meters[1].our_cores:.2f} cores with 1 worker, {meters[2].our_cores:.2f} with 2; "
        f"other processes used {meters[1].others_cores:.2f} / {meters[2].others_cores:.2f} of {cores} cores meanwhile")
    say(f"    raw ja_ginza parse of the same texts in 1 vs 2 forked processes: {r1:.2f}s -> {r2:.2f}s "
        f"({r1 / r2:.2f}x): what this machine gives two parsers at once")
    say(f"    1 worker: {phase_text(ph1, t1)}")
    say(f"    2 workers: {phase_text(ph2, t2, jobs=2)}")
    rep.add("b", "(b) build, 2 workers / 1 worker", f"{speedup:.2f}x ({t1:.1f}s -> {t2:.1f}s)",
            f">= {TARGET_JOBS_RATIO}x", verdict(speedup >= TARGET_JOBS_RATIO))
    rep.add("b", "(b) parse+extract phase alone, 2 / 1 workers", f"{e1 / e2 if e2 else float('nan'):.2f}x "
            f"(Amdahl bound of the build {amdahl:.2f}x)", "report", "info")
    rep.add("b", "(b) raw ja_ginza parse, 2 / 1 processes", f"{r1 / r2:.2f}x ({r1:.1f}s -> {r2:.1f}s)", "report",
            "info")
    rep.data["b"] = {"articles": len(texts), "chars": chars, "seconds_1": [x[0] for x in runs[1]],
                     "seconds_2": [x[0] for x in runs[2]], "speedup": speedup, "phases_1": ph1, "phases_2": ph2,
                     "extract_speedup": e1 / e2 if e2 else None, "amdahl_bound": amdahl,
                     "raw_parse_seconds_1": raw[1], "raw_parse_seconds_2": raw[2], "raw_parse_speedup": r1 / r2,
                     "our_cores": [meters[1].our_cores, meters[2].our_cores],
                     "other_processes_cores": [meters[1].others_cores, meters[2].others_cores]}


# ---------------------------------------------------------------------------------------------
# (c) SHACL validation 1x vs 10x
# ---------------------------------------------------------------------------------------------


def read_built(outdir: Path) -> tuple[Any, Any]:
    """The graph and the per-document dataset a build wrote."""
    from rdflib import Dataset, Graph

    g = Graph().parse(outdir / "graph.ttl", format="turtle")
    ds = Dataset()
    ds.parse(outdir / "graph.trig", format="trig")
    return g, ds


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def per_document_validation(ds: Any) -> tuple[float, int]:
    """Validate every named graph (one per article) on its own; (total seconds, documents)."""
    from rdflib import Graph

    from kg.build.validate import validate_graph

    graphs = []
    for ctx in ds.graphs():
        if len(ctx) == 0:
            continue
        g = Graph()
        for t in ctx:
            g.add(t)
        graphs.append(g)
    return sum(timed(lambda g=g: validate_graph(g)) for g in graphs), len(graphs)


def measure_validation(rep: Report, small: Path, big: Path, factor: int, repeat: int) -> None:
    from kg.build.validate import load_shapes, validate_graph

    load_shapes()
    g1, ds1 = read_built(small)
    g10, ds10 = read_built(big)
    validate_graph(g1)  # warm up: imports, shapes, caches
    t1s, t10s = [], []
    for r in range(repeat):
        for which in (("1", "10") if r % 2 == 0 else ("10", "1")):
            (t1s if which == "1" else t10s).append(timed(lambda w=which: validate_graph(g1 if w == "1" else g10)))
    t1, t10 = min(t1s), min(t10s)
    ratio = t10 / t1
    size = len(g10) / len(g1)
    exponent = math.log(ratio) / math.log(size) if size > 1 and ratio > 0 else float("nan")
    superlinear = ratio > size * 1.1
    say(f"(c) SHACL validation 1x vs {factor}x: 1x {len(g1)} triples {t1:.2f}s, {factor}x {len(g10)} triples "
        f"({size:.1f}x the triples) {t10:.2f}s, time ratio {ratio:.2f}x "
        f"(grows as size^{exponent:.2f}; {'worse than linear' if superlinear else 'linear or better'})")
    target = TARGET_VALIDATE_RATIO * factor / 10
    rep.add("c", f"(c) SHACL validation, {factor}x / 1x graph", f"{ratio:.2f}x ({t1:.2f}s -> {t10:.2f}s)",
            f"<= {target:g}x", verdict(ratio <= target))
    data: dict[str, Any] = {"triples_1": len(g1), f"triples_{factor}": len(g10), "seconds_1": t1s,
                            f"seconds_{factor}": t10s, "ratio": ratio, "triple_ratio": size, "exponent": exponent,
                            "superlinear": superlinear}
    if superlinear:
        per_s, docs = per_document_validation(ds10)
        say(f"    pySHACL grows worse than linearly on this graph; per-article validation of the {factor}x "
            f"graph: {docs} articles in {per_s:.2f}s ({per_s / t10:.2f}x the whole-graph time)")
        rep.add("c", f"(c) per-article validation, {factor}x graph", f"{per_s:.2f}s for {docs} articles "
                f"({per_s / t10:.2f}x whole graph)", "report", "info")
        data["per_article_seconds"] = per_s
        data["per_article_documents"] = docs
    rep.data["c"] = data


# ---------------------------------------------------------------------------------------------
# (e) peak memory of a build, in a fresh process
# ---------------------------------------------------------------------------------------------


def build_subprocess(corpus: Path, outdir: Path, flags: set[str]) -> tuple[int, float, int]:
    """`kg build` of ``corpus`` in a fresh process: (max RSS in KiB, seconds, exit code).

    The peak is the child's own ru_maxrss, read from os.wait4 (-j 1: one process does everything).
    """
    cmd = [sys.executable, "-m", "kg.cli", "build", str(corpus), "-o", str(outdir)]
    if "--quiet" in flags:
        cmd.append("-q")
    if "--jobs" in flags:
        cmd += ["-j", "1"]
    if "--no-cache" in flags:
        cmd.append("--no-cache")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    log = outdir.with_suffix(".log")
    with log.open("wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: built, but something did not conform
        raise SystemExit(f"`{shlex.join(cmd)}` failed with exit code {proc.returncode}:\n"
                         + log.read_text(encoding="utf-8", errors="replace")[-3000:])
    return usage.ru_maxrss, seconds, proc.returncode


def measure_memory(rep: Report, small: Path, big: Path, out_small: Path, out_big: Path, factor: int,
                   flags: set[str]) -> None:
    rss1, s1, rc1 = build_subprocess(small, out_small, flags)
    rss10, s10, rc10 = build_subprocess(big, out_big, flags)
    ratio = rss10 / rss1
    say(f"(e) peak memory of `kg build -j 1`, fresh process each: 1x {rss1 / 1024:.0f} MiB ({s1:.1f}s), "
        f"{factor}x {rss10 / 1024:.0f} MiB ({s10:.1f}s), ratio {ratio:.2f}x")
    target = TARGET_MEMORY_RATIO
    rep.add("e", f"(e) peak RSS of kg build, {factor}x / 1x corpus",
            f"{ratio:.2f}x ({rss1 / 1024:.0f} -> {rss10 / 1024:.0f} MiB)", f"<= {target:g}x", verdict(ratio <= target))
    rep.data["e"] = {"maxrss_kib_1": rss1, f"maxrss_kib_{factor}": rss10, "seconds_1": s1,
                     f"seconds_{factor}": s10, "exit_codes": [rc1, rc10], "ratio": ratio}


# ---------------------------------------------------------------------------------------------
# (d) Neo4j
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def neo4j_server(local: bool) -> Iterator[tuple[Any, str]]:
    """(config, where) of a reachable server, or (None, reason). A server started here is stopped after."""
    from kg.readers.neo4j import Neo4jConfig, connect

    if os.environ.get("NEO4J_URI"):
        try:
            cfg = Neo4jConfig.from_env()
            connect(cfg).close()
        except Exception as exc:  # a bad or unreachable server is reported, not fatal
            yield None, f"NEO4J_URI set but not usable: {exc}"
            return
        yield cfg, "NEO4J_URI"
        return
    if not local:
        yield None, "no server"
        return
    running = subprocess.run([str(NEO4J_LOCAL), "status"], capture_output=True, text=True, check=False).returncode == 0
    started = False
    if not running:
        say("    starting scripts/neo4j-local ...")
        proc = subprocess.run([str(NEO4J_LOCAL), "start"], capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            yield None, "no server (scripts/neo4j-local start failed: " + proc.stderr.strip()[-300:] + ")"
            return
        started = True
    try:
        envfile = subprocess.run([str(NEO4J_LOCAL), "envfile"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        yield Neo4jConfig.from_env_file(Path(envfile)), "scripts/neo4j-local"
    finally:
        if started:
            subprocess.run([str(NEO4J_LOCAL), "stop"], capture_output=True, text=True, timeout=180, check=False)


def remove_documents(cfg: Any, documents: list[str]) -> None:
    """Take the benchmark's documents out of the database again (what only they support goes)."""
    from kg.readers import neo4j as w

    drv = w.connect(cfg)
    try:
        for cypher in (w._STALE_RELS, w._STALE_NODES):
            drv.execute_query(cypher, {"docs": documents, "keep": {}}, database_=cfg.database)
    finally:
        drv.close()


def _load_timings(graph: Any, cfg: Any, repeat: int) -> tuple[dict[str, list[float]], dict[str, int], int, Any]:
    """Batched and per-row reloads of ``graph`` (after three warm-up loads), alternating the order."""
    from kg.readers.neo4j import load_graph
    from kg.readers.projection import project

    proj = project(graph)
    times: dict[str, list[float]] = {"batched": [], "per_row": []}
    tx: dict[str, int] = {}
    try:
        for _ in range(3):  # warm up: constraints, query plans, the JVM; every run below then reloads
            load_graph(graph, cfg)
        for r in range(repeat):
            for kind in (("batched", "per_row") if r % 2 == 0 else ("per_row", "batched")):
                t0 = time.perf_counter()
                report = load_graph(graph, cfg, transaction_per_row=kind == "per_row")
                times[kind].append(time.perf_counter() - t0)
                tx[kind] = report.transactions
    finally:
        with contextlib.suppress(Exception):
            remove_documents(cfg, list(proj.documents))
    return times, tx, len(proj.nodes) + len(proj.rels), proj


def measure_neo4j(rep: Report, graphs: list[tuple[str, Any]], local: bool, repeat: int) -> None:
    """(d) on each graph: the first is the headline (the largest), the others are reported for scale."""
    with neo4j_server(local) as (cfg, where):
        if cfg is None:
            say(f"(d) Neo4j load, batched UNWIND vs one transaction per row: skipped: {where}")
            rep.add("d", "(d) Neo4j load, batched / per-row rate", f"skipped: {where}", ">= 10x", "skipped")
            rep.data["d"] = {"skipped": where}
            return
        rep.data["d"] = {"server": where, "graphs": {}}
        for i, (name, graph) in enumerate(graphs):
            times, tx, rows, proj = _load_timings(graph, cfg, min(repeat, 2))
            b, p = min(times["batched"]), min(times["per_row"])
            ratio = p / b
            say(f"(d) Neo4j load ({where}), {name} graph, {rows} rows ({len(proj.nodes)} nodes, {len(proj.rels)} "
                f"relationships): batched UNWIND {rows / b:,.0f} rows/s ({b:.2f}s, {tx['batched']} transaction(s)), "
                f"one transaction per row {rows / p:,.0f} rows/s ({p:.2f}s, {tx['per_row']} transactions), "
                f"batched {ratio:.1f}x faster")
            value = f"{ratio:.1f}x ({rows / b:,.0f} vs {rows / p:,.0f} rows/s, {rows} rows)"
            if i == 0:
                rep.add("d", f"(d) Neo4j load, batched / per-row rate ({name})", value, f">= {TARGET_NEO4J_RATIO:g}x",
                        verdict(ratio >= TARGET_NEO4J_RATIO))
            else:  # a small graph: the per-load costs (connection, constraints, query set-up) weigh more
                rep.add("d", f"(d) same on the {name} graph", value, "report", "info")
            rep.data["d"]["graphs"][name] = {
                "rows": rows, "nodes": len(proj.nodes), "relationships": len(proj.rels),
                "seconds_batched": times["batched"], "seconds_per_row": times["per_row"], "transactions": tx,
                "ratio": ratio}


# ---------------------------------------------------------------------------------------------
# profile
# ---------------------------------------------------------------------------------------------


def profile_build(corpus: Path, workdir: Path, top: int = 30) -> str:
    """cProfile of one single-process build: where the time goes beyond the parse."""
    prof = cProfile.Profile()
    prof.enable()
    run_build(corpus, workdir, jobs=1)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": mem, "python": platform.python_version(),
            "tree": source_tree()}


def source_tree() -> str:
    """The commit measured, and whether the code under kg/ differed from it."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=30)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "kg", "pyproject.toml")
    return commit + (" + uncommitted changes in kg/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=None, help="articles in the 1x corpus (default 10; --quick: 2)")
    ap.add_argument("--factor", type=int, default=None, help="size of the large corpus in (c) and (e), in multiples "
                    "of 1x (default 10; --quick: 2)")
    ap.add_argument("--jobs-scale", type=int, default=None, help="size of the corpus of (b), in multiples of 1x "
                    "(default 3; --quick: 2)")
    ap.add_argument("--repeat", type=int, default=None, help="timings per side (best counts; default 3, --quick 1; (d) "
                    "at most 2)")
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run (figures are not meaningful)")
    ap.add_argument("--seeds-only", action="store_true", help="use seeds/ only, not ../shared/eval/dev")
    ap.add_argument("--neo4j-local", action="store_true", help="start scripts/neo4j-local for (d) when NEO4J_URI is "
                    "not set (stopped again afterwards if it was started here)")
    ap.add_argument("--profile", action="store_true", help="also cProfile one 1x build and print the top functions")
    ap.add_argument("--json", type=Path, help="write every timing and the table to this JSON file")
    args = ap.parse_args(argv)
    scale = args.scale or (2 if args.quick else 10)
    factor = args.factor or (2 if args.quick else 10)
    jobs_scale = args.jobs_scale or (2 if args.quick else 3)
    repeat = args.repeat or (1 if args.quick else 3)
    if scale < 1 or factor < 2 or jobs_scale < 1 or repeat < 1:
        ap.error("--scale, --jobs-scale and --repeat must be >= 1, --factor >= 2")

    rep = Report()
    info = machine()
    sources = source_articles(use_dev=not args.seeds_only)
    say(f"machine: {info['nproc']} cores, {info['cpu']}, {info['ram_gib']} GiB RAM, Python {info['python']}; "
        f"code at {info['tree']}")
    say(f"corpus: {len(sources)} distinct article(s) ({', '.join(s.name for s in sources)}); 1x = {scale} articles, "
        f"large = {factor}x, (b) on {jobs_scale}x; best of {repeat}")
    t_start = time.perf_counter()
    flags = cli_flags()
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmp:
        work = Path(tmp)
        small, texts1 = write_corpus(work / "corpus-1x.jsonl", sources, scale)
        big, _ = write_corpus(work / f"corpus-{factor}x.jsonl", sources, scale * factor)
        mid, _ = write_corpus(work / f"corpus-{jobs_scale}x.jsonl", sources, scale * jobs_scale)
        texts1 = parsed_texts(small)

        # (e) first: the fresh processes also write the 1x and 10x graphs that (c) validates
        measure_memory(rep, small, big, work / "out-1x", work / f"out-{factor}x", factor, flags)

        from kg.build.nlp import load_model

        t0 = time.perf_counter()
        load_model()
        warm, _ = write_corpus(work / "warm-up.jsonl", sources, 1)
        run_build(warm, work, jobs=1)  # one-time set-up of the rules, dates and shapes
        say(f"    (ja_ginza loaded and one article built in {time.perf_counter() - t0:.1f}s; not counted)")
        result = measure_parse_vs_build(rep, small, texts1, work, repeat)
        measure_jobs(rep, mid, parsed_texts(mid), work, repeat)
        measure_validation(rep, work / "out-1x", work / f"out-{factor}x", factor, repeat)
        measure_neo4j(rep, [(f"{factor}x", read_built(work / f"out-{factor}x")[0]), ("1x", result.graph)],
                      args.neo4j_local, repeat)
        if args.profile:
            say("\nprofile of one 1x build (1 process):")
            say(profile_build(small, work))
    total = time.perf_counter() - t_start
    order = "abcde"
    rep.rows.sort(key=lambda r: order.index(r.key))
    say("")
    say(rep.table())
    say(f"\ntotal {total:.0f}s")
    if args.json:
        payload = {"machine": info, "scale": scale, "factor": factor, "jobs_scale": jobs_scale, "repeat": repeat,
                   "sources": [s.name for s in sources], "seconds": total, "measurements": rep.data,
                   "table": [r.__dict__ for r in rep.rows]}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
