"""A long article builds in time proportional to its length, in bounded memory.

Makes articles of 100 KB and 1 MB (UTF-8 bytes) by repeating the articles the project ships
(seeds/ and tests/data/corpus/, URL lines left out), builds each with ``kg build -j 1`` in a fresh
process, and reports, in one run on the same machine:

- seconds per 100 KB at each size, and their ratio (target: the 1 MB article costs no more per
  100 KB than 1.3 times what the 100 KB one does);
- the peak resident memory of each build, and their ratio (target: under 2x).

    .venv/bin/python bench/bench_long_article.py            # 100 KB and 1 MB
    .venv/bin/python bench/bench_long_article.py --sizes 50,500 --repeat 2
    .venv/bin/python bench/bench_long_article.py --kg-root ../other-checkout   # its kg, same articles
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "seeds").glob("*.txt")), *sorted((ROOT / "tests" / "data" / "corpus").glob("*.txt"))]
TIME_TARGET = 1.3
MEMORY_TARGET = 2.0


def paragraphs() -> list[str]:
    """The paragraphs of the shipped articles, without their source URL lines."""
    out = []
    for f in SOURCES:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith(("http://", "https://")):
                out.append(line.strip())
    return out


def long_article(size: int) -> str:
    """Paragraphs of the shipped articles, repeated in turn until the text is ``size`` bytes of UTF-8."""
    paras = paragraphs()
    parts: list[str] = []
    n = 0
    i = 0
    while True:
        p = paras[i % len(paras)] + "\n\n"
        b = len(p.encode("utf-8"))
        if n + b > size:
            break
        parts.append(p)
        n += b
        i += 1
    return "".join(parts)


def build(article: Path, out: Path, kg_root: Path = ROOT) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of ``kg build article -o out -j 1`` in a fresh process (the kg of
    ``kg_root``, run by its .venv's Python)."""
    python = kg_root / ".venv" / "bin" / "python" if kg_root != ROOT else Path(sys.executable)
    cmd = [str(python), "-m", "kg.cli", "build", str(article), "-o", str(out), "-j", "1", "-q", "--no-cache"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=kg_root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"kg build failed on {article} (exit {proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_maxrss * 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000", help="two article sizes in KB (default 100,1000)")
    ap.add_argument("--repeat", type=int, default=1, help="builds per size; the fastest and smallest are kept")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    ap.add_argument("--kg-root", type=Path, default=ROOT, help="build with the kg of this checkout (its .venv)")
    args = ap.parse_args()
    small_kb, large_kb = (int(x) for x in args.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-long-") as tmp:
        work = Path(tmp)
        results: dict[int, tuple[float, int, int]] = {}
        files = {}
        for kb in (small_kb, large_kb):
            f = work / f"long_{kb}kb.txt"
            f.write_text(long_article(kb * 1000), encoding="utf-8")
            (work / f"long_{kb}kb.meta.json").write_text(json.dumps({"published": "2018-06-01"}), encoding="utf-8")
            files[kb] = f
        for r in range(args.repeat):
            for kb in (small_kb, large_kb):
                wall, rss = build(files[kb], work / f"out_{kb}_{r}", args.kg_root.resolve())
                size = files[kb].stat().st_size
                best = results.get(kb)
                results[kb] = (min(wall, best[0]) if best else wall, min(rss, best[1]) if best else rss, size)
                print(f"  {kb:>5} KB ({size:,} bytes): {wall:7.1f} s, peak {rss / 2**20:7.0f} MB", flush=True)
    (t_s, m_s, b_s), (t_l, m_l, b_l) = results[small_kb], results[large_kb]
    per_s, per_l = t_s / (b_s / 100_000), t_l / (b_l / 100_000)
    time_ratio, mem_ratio = per_l / per_s, m_l / m_s
    print(f"seconds per 100 KB: {per_s:.1f} at {small_kb} KB, {per_l:.1f} at {large_kb} KB "
          f"-> {time_ratio:.2f}x (target <= {TIME_TARGET}x)")
    print(f"peak memory: {m_s / 2**20:.0f} MB at {small_kb} KB, {m_l / 2**20:.0f} MB at {large_kb} KB "
          f"-> {mem_ratio:.2f}x (target < {MEMORY_TARGET}x)")
    if args.json:
        print(json.dumps({"sizes_kb": [small_kb, large_kb], "s_per_100kb": [per_s, per_l], "time_ratio": time_ratio,
                          "peak_bytes": [m_s, m_l], "memory_ratio": mem_ratio}))
    return 0 if time_ratio <= TIME_TARGET and mem_ratio < MEMORY_TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
