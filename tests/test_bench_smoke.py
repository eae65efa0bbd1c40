"""Smoke tests of bench/bench_build.py and bench/bench_query.py: a tiny run prints every measurement and exits 0.

Only that the benchmark runs is checked here; its speed targets are checked by the benchmark
itself, never by timed tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "bench_build.py"


def test_quick_benchmark_prints_every_measurement(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}  # (d) says "skipped: no server"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--scale", "1", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    for key in ("a", "b", "c", "d", "e"):
        assert any(line.startswith(f"({key}) ") for line in lines), f"no ({key}) line in:\n{proc.stdout}"
    assert any(line.startswith("(d) ") and "skipped: no server" in line for line in lines), proc.stdout
    header = next(i for i, line in enumerate(lines) if line.startswith("measurement"))
    table = lines[header + 2:]
    for key in ("a", "b", "c", "d", "e"):
        assert any(line.startswith(f"({key}) ") for line in table), f"({key}) missing from the table:\n{proc.stdout}"
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {"a", "b", "c", "d", "e"} <= set(data["measurements"])
    assert data["scale"] == 1


def test_query_benchmark_runs_and_the_ways_agree() -> None:
    """bench/bench_query.py on 2 copies: both tables printed, no "RESULTS DIFFER"."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_query.py"), "--copies", "2", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "(1) one official's meetings" in proc.stdout and "open OUTDIR/store, query (now)" in proc.stdout
    assert "all queries" in proc.stdout and "RESULTS DIFFER" not in proc.stdout
