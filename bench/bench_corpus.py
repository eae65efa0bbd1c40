"""Corpus scale on one machine: time and memory of `kg build` at 1k, 10k and 30k articles, in one run.

The synthetic corpora are made here from the articles the project ships (seeds/ and
tests/data/corpus/): they are built once with the real extractor, and their statements are
replicated under distinct document ids (r000001-000_a87ea…), every date of replica k (events,
quotes, publication) shifted by 20·k days, so events stay distinct from replica to replica while
officials and states recur in every one. Each corpus is built with
`kg build --statements FILE -o OUT -j JOBS` in a fresh process: everything after extraction.

Reported, side by side in the same run:

  * post-parse time per article (the build's wall time / articles) at 30k vs 1k   target <= 1.2x,
    and its CPU time per article (the build and its reaped workers, from wait4), which other jobs
    on a shared machine do not change
  * peak RSS of the build, all its processes together (sampled from /proc), 30k vs 1k   target <= 1.5x
  * post-parse time per article vs the ja_ginza parse time per article of the shipped
    articles, parsed with as many processes as the build uses (wall, and CPU)   target <= 25 %
  * a selective `kg query` (one official's meetings) on the 30k vs the 1k build   target <= 2x

    .venv/bin/python bench/bench_corpus.py                      # 1k, 10k, 30k; about 40 minutes
    .venv/bin/python bench/bench_corpus.py --sizes 200,2000     # smaller
    .venv/bin/python bench/bench_corpus.py --json corpus.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "seeds", ROOT / "tests" / "data" / "corpus"]
SHIFT_DAYS = 20
TARGET_TIME_RATIO = 1.2
TARGET_RSS_RATIO = 1.5
TARGET_PARSE_SHARE = 0.25
TARGET_QUERY_RATIO = 2.0
OFFICIAL = "https://w3id.org/dipkg/id/person/Q473239"  # Pompeo, in every replica
QUERY = ("SELECT ?m ?date WHERE { ?m dip:participant <%s> . OPTIONAL { ?m dip:startDate ?date } } "
         "ORDER BY ?date LIMIT 20")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def say(msg: str) -> None:
    print(msg, flush=True)


def base_statements(work: Path, jobs: int) -> Path:
    """The shipped articles, built once with the real extractor: their statements.jsonl."""
    out = work / "base"
    cmd = [sys.executable, "-m", "kg.cli", "build", *map(str, SOURCES), "-o", str(out), "-q", "--no-cache",
           "-j", str(jobs)]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return out / "statements.jsonl"


def shift(value: Any, days: int) -> Any:
    """A (partial) ISO date moved by ``days``, keeping its precision."""
    if not isinstance(value, str) or not _DATE.match(value):
        return value
    parts = value.split("-")
    d = dt.date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1)
    d += dt.timedelta(days=days)
    return d.isoformat()[: len(value)]


def replicate(base: Path, n: int, path: Path) -> int:
    """A statements file of ``n`` documents: the base documents over and over, replica k shifted 20·k days."""
    blocks: list[list[dict]] = []
    for line in base.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        if d["kind"] == "document":
            blocks.append([])
        blocks[-1].append(d)
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        k = 0
        while written < n:
            days = SHIFT_DAYS * k
            for block in blocks:
                if written >= n:
                    break
                doc_id = f"r{k:06d}-{block[0]['doc_id']}"
                for d in block:
                    d = json.loads(json.dumps(d))
                    if d["kind"] == "document":
                        d["doc_id"] = doc_id
                        d["published"] = shift(d.get("published"), days)
                        d["urls"], d["url"], d["source_path"], d["sha256"] = [], None, None, None
                    else:
                        for key in ("start", "end", "date"):
                            if key in d:
                                d[key] = shift(d[key], days)
                        if "doc_id" in d:
                            d["doc_id"] = doc_id
                        for ev in d.get("evidence", []):
                            ev["doc_id"] = doc_id
                    fh.write(json.dumps(d, ensure_ascii=False) + "\n")
                written += 1
            k += 1
    return written


# ---------------------------------------------------------------------------------------------
# memory of a process tree
# ---------------------------------------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """RSS in bytes of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(statm[1]) * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run_measured(cmd: list[str], interval: float = 0.25) -> tuple[float, float, int, subprocess.CompletedProcess]:
    """Wall time, CPU time (user + system of the build and of the worker processes it reaped, from
    wait4: what the build costs whatever else runs on the machine) and peak RSS of the whole process
    tree of ``cmd``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                done.wait(interval)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        th.join()
        out.seek(0)
        err.seek(0)
        return (wall, usage.ru_utime + usage.ru_stime, peak,
                subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read()))


# ---------------------------------------------------------------------------------------------
# parse time
# ---------------------------------------------------------------------------------------------


def _parse_share(texts: list[str], q: Any) -> None:
    from kg.build.nlp import parse_many

    t0 = time.perf_counter()
    for doc in parse_many(texts):
        del doc
    q.put(time.perf_counter() - t0)


def parse_time_per_article(jobs: int, copies: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds per article for ja_ginza to parse the shipped articles ``copies``
    times over, shared out among ``jobs`` forked processes (the model loaded once, before the clock
    starts)."""
    import multiprocessing as mp
    import resource

    from kg.build.ingest import read_articles
    from kg.build.nlp import load_model, parse_many

    texts = [a.text for a in read_articles(SOURCES)] * copies
    load_model()
    list(parse_many(texts[:2]))  # warm-up
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    shares = [texts[i::jobs] for i in range(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_parse_share, args=(s, q)) for s in shares]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall / len(texts), cpu / len(texts)


# ---------------------------------------------------------------------------------------------


def query_time(outdir: Path, repeat: int = 3) -> tuple[float, int]:
    """Best wall time of a selective `kg query` (one official's meetings) on OUTDIR, and its rows."""
    best, rows = float("inf"), 0
    for _ in range(repeat):
        cmd = [sys.executable, "-m", "kg.cli", "query", str(outdir), QUERY % OFFICIAL, "--format", "json"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"kg query failed on {outdir}: {proc.stderr.strip()}")
        try:
            rows = len(json.loads(proc.stdout)["results"]["bindings"])
        except (ValueError, KeyError):
            rows = proc.stdout.count("\n")
    return best, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,30000", help="articles per corpus, comma separated")
    ap.add_argument("--jobs", type=int, default=2, help="kg build -j for every build (and parse processes)")
    ap.add_argument("--parse-copies", type=int, default=6, help="copies of the shipped articles to parse")
    ap.add_argument("--keep", type=Path, help="build into this folder and keep the outputs")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="kg-bench-corpus-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"jobs": args.jobs, "sizes": sizes, "builds": {}}
    try:
        say(f"statements of the shipped articles ({', '.join(str(p.relative_to(ROOT)) for p in SOURCES)})")
        base = base_statements(work, args.jobs)
        say(f"parse time per article (ja_ginza, {args.jobs} processes)")
        parse, parse_cpu = parse_time_per_article(args.jobs, args.parse_copies)
        results["parse_s_per_article"] = parse
        results["parse_cpu_s_per_article"] = parse_cpu
        say(f"  {parse * 1000:.0f} ms per article (CPU {parse_cpu * 1000:.0f} ms per article)")
        for n in sizes:
            corpus = work / f"corpus-{n}.jsonl"
            replicate(base, n, corpus)
            out = work / f"out-{n}"
            shutil.rmtree(out, ignore_errors=True)
            cmd = [sys.executable, "-m", "kg.cli", "build", "--statements", str(corpus), "-o", str(out), "-q",
                   "-j", str(args.jobs)]
            say(f"build of {n} articles: {' '.join(cmd[2:])}")
            load = os.getloadavg()[0]
            wall, cpu, peak, proc = run_measured(cmd)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"build failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
            sizes_mb = {p.name: p.stat().st_size / 2**20 for p in out.iterdir() if p.is_file()}
            q, rows = query_time(out)
            results["builds"][n] = {"wall_s": wall, "per_article_ms": wall / n * 1000, "cpu_s": cpu,
                                    "cpu_per_article_ms": cpu / n * 1000, "peak_rss_mb": peak / 2**20,
                                    "query_s": q, "query_rows": rows, "files_mb": sizes_mb, "exit": proc.returncode,
                                    "load_before": load, "load_after": os.getloadavg()[0]}
            say(f"  {wall:.1f} s, {wall / n * 1000:.1f} ms/article (CPU {cpu / n * 1000:.1f} ms/article), "
                f"peak RSS {peak / 2**20:.0f} MiB, query {q:.2f} s ({rows} rows), "
                f"graph.ttl {sizes_mb.get('graph.ttl', 0):.0f} MiB, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
            if n != sizes[-1] and n != sizes[0] and args.keep is None:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    small, big = results["builds"][sizes[0]], results["builds"][sizes[-1]]
    hi, lo = f"{sizes[-1] / 1000:g}k", f"{sizes[0] / 1000:g}k"
    rows = [
        (f"post-parse time per article, {hi} / {lo}",
         big["per_article_ms"] / small["per_article_ms"], TARGET_TIME_RATIO, "≤"),
        (f"post-parse CPU time per article, {hi} / {lo}",
         big["cpu_per_article_ms"] / small["cpu_per_article_ms"], TARGET_TIME_RATIO, "≤"),
        (f"peak RSS of the build, all processes, {hi} / {lo}",
         big["peak_rss_mb"] / small["peak_rss_mb"], TARGET_RSS_RATIO, "≤"),
        (f"post-parse / parse time per article, at {hi}",
         big["per_article_ms"] / 1000 / results["parse_s_per_article"], TARGET_PARSE_SHARE, "≤"),
        (f"post-parse / parse CPU time per article, at {hi}",
         big["cpu_per_article_ms"] / 1000 / results["parse_cpu_s_per_article"], TARGET_PARSE_SHARE, "≤"),
        (f"selective kg query, {hi} / {lo} build",
         big["query_s"] / small["query_s"], TARGET_QUERY_RATIO, "≤"),
    ]
    say("")
    say("| articles | build (s) | ms / article | CPU ms / article | peak RSS (MiB) | kg query (s) | graph.ttl (MiB) "
        "| load average |")
    say("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        b = results["builds"][n]
        say(f"| {n:,} | {b['wall_s']:.0f} | {b['per_article_ms']:.1f} | {b['cpu_per_article_ms']:.1f} | "
            f"{b['peak_rss_mb']:.0f} | {b['query_s']:.2f} | {b['files_mb'].get('graph.ttl', 0):.0f} | "
            f"{b['load_before']:.1f}–{b['load_after']:.1f} |")
    say("")
    say("| measurement | value | target | result |")
    say("|---|---|---|---|")
    for name, value, target, _ in rows:
        say(f"| {name} | {value:.2f} | ≤ {target} | {'pass' if value <= target else 'FAIL'} |")
    results["ratios"] = {name: value for name, value, _, _ in rows}
    # the one-process target (`--jobs 1 --sizes 500,4000`): peak RSS per added article
    growth = (big["peak_rss_mb"] - small["peak_rss_mb"]) * 1024 / (sizes[-1] - sizes[0])
    results["peak_rss_kb_per_added_article"] = growth
    say(f"\npeak RSS per added article, {lo} -> {hi}: {growth:.1f} KB (target with --jobs 1: <= 2 KB)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0 if all(v <= t for _, v, t, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
