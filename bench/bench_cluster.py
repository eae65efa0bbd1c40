"""The build on a Dask cluster against the build on one machine, on the same articles, in one run.

The articles are the ones the project ships (seeds/ and tests/data/corpus/), each repeated under
its own id with a line of its own added (copies of one text would be one document), so every
one is parsed. Side by side, alternating, each from scratch (--no-cache) in a fresh process:

  * ``kg build ARTICLES -o OUT -j 2``
  * ``kg build ARTICLES -o OUT --scheduler local:2``  (a LocalCluster of 2 worker processes, started
    and stopped by the build: its start-up is counted)
  * ``kg build ARTICLES -o OUT --scheduler ADDRESS``  (2 workers of a cluster started once by this
    script, as a standing cluster would be): the build's own process then does only the client's
    part, whose CPU time per article (from wait4) is what a cluster of any size would still pay
    on one core

Reported: throughput (articles per second) of each, the ratio local:2 / -j 2 (target ≥ 0.9), the
client's CPU seconds per article, the workers' CPU seconds per article (getrusage on each), and
what those give for 10^6 articles on 64 workers.

    .venv/bin/python bench/bench_cluster.py                  # 60 articles, 2 rounds; about 10 minutes
    .venv/bin/python bench/bench_cluster.py --copies 40 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "seeds", ROOT / "tests" / "data" / "corpus"]
TARGET = 0.9
WORKERS_PROJECTED = 64
ARTICLES_PROJECTED = 10**6


def say(msg: str) -> None:
    print(msg, flush=True)


def make_corpus(path: Path, copies: int) -> int:
    from kg.build.ingest import read_articles

    arts = list(read_articles(SOURCES))
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(copies):
            for a in arts:
                fh.write(json.dumps({"id": f"c{i:04d}-{a.doc_id}", "text": f"{a.text}\n\n（第{i + 1}報）",
                                     "published": a.published}, ensure_ascii=False) + "\n")
                n += 1
    return n


def run_wait4(args: list[str]) -> tuple[float, float, int, bytes]:
    """Wall seconds, CPU seconds (user + system) of the kg process and of the children it reaped,
    exit code, stderr."""
    cmd = [sys.executable, "-m", "kg.cli", *args]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, proc.returncode, err.read()


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process (run on each worker)."""
    import resource

    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=20, help="copies of each shipped article")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each variant, alternating")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    work = Path(tempfile.mkdtemp(prefix="kg-bench-cluster-"))
    results: dict[str, Any] = {"runs": []}
    try:
        corpus = work / "corpus.jsonl"
        n = make_corpus(corpus, args.copies)
        say(f"{n} articles ({args.copies} copies of each shipped article, each its own text)")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=40) as lc, Client(lc) as client:
            address = lc.scheduler_address
            variants = {
                "-j 2": ["-j", "2"],
                "--scheduler local:2": ["--scheduler", "local:2"],
                "--scheduler ADDRESS (standing cluster)": ["--scheduler", address],
            }
            outs: dict[str, bytes] = {}
            for r in range(args.rounds):
                for name, extra in variants.items():
                    out = work / "out"
                    shutil.rmtree(out, ignore_errors=True)
                    before = sum(client.run(_cpu_seconds).values())
                    wall, cpu, code, err = run_wait4(["build", str(corpus), "-o", str(out), "-q", "--no-cache", *extra])
                    workers_cpu = sum(client.run(_cpu_seconds).values()) - before
                    if code != 0:
                        raise SystemExit(f"{name} failed ({code}): {err.decode()[-2000:]}")
                    outs[name] = (out / "graph.ttl").read_bytes()
                    results["runs"].append({"variant": name, "round": r, "wall_s": wall, "cpu_s": cpu,
                                            "standing_workers_cpu_s": workers_cpu})
                    say(f"  round {r + 1}: {name:<40} {wall:6.1f} s, {n / wall:5.2f} articles/s, "
                        f"CPU of the kg process (and children it reaped) {cpu:.1f} s")
            client.close()
        if len(set(outs.values())) != 1:
            raise SystemExit("the variants gave different graphs")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def best(name: str, key: str = "wall_s") -> float:
        return min(r[key] for r in results["runs"] if r["variant"] == name)

    j2, local2 = best("-j 2"), best("--scheduler local:2")
    standing = "--scheduler ADDRESS (standing cluster)"
    client_cpu = best(standing, "cpu_s") / n
    worker_s = best(standing, "standing_workers_cpu_s") / n  # CPU of the standing cluster's two workers
    ratio = j2 / local2
    say("")
    say("| build | best wall (s) | articles / s |")
    say("|---|---:|---:|")
    for name in ("-j 2", "--scheduler local:2", standing):
        say(f"| `{name}` | {best(name):.1f} | {n / best(name):.2f} |")
    say("")
    say(f"throughput, --scheduler local:2 / -j 2: {ratio:.2f} (target ≥ {TARGET}) "
        f"{'pass' if ratio >= TARGET else 'FAIL'}")
    # 10^6 articles on 64 workers: the workers' share scales out, the client's does not
    workers_part = ARTICLES_PROJECTED * worker_s / WORKERS_PROJECTED
    client_part = ARTICLES_PROJECTED * client_cpu
    say(f"worker CPU seconds per article (both steps, standing cluster): {worker_s:.3f}")
    say(f"client CPU seconds per article (the kg process with a standing cluster): {client_cpu:.3f}")
    say(f"10^6 articles on {WORKERS_PROJECTED} workers: workers {workers_part / 3600:.1f} h, "
        f"the client alone {client_part / 3600:.1f} h -> at least {max(workers_part, client_part) / 3600:.1f} h")
    results.update({"articles": n, "ratio_local2_over_j2": ratio, "client_cpu_s_per_article": client_cpu,
                    "worker_s_per_article": worker_s, "projected_workers_h": workers_part / 3600,
                    "projected_client_h": client_part / 3600})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
