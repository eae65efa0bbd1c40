"""The Neo4j password never appears in output, error messages, logs or OUTDIR.

`kg load` and `kg build --neo4j` run in subprocesses against the real server with a wrong
password, with the right one, with an unreachable URI and with malformed URIs (the password given
by option, by environment, or inside the URI); stdout, stderr and every file written are searched
for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "sample.ttl"
WRONG = "Wr0ng-pw-7f3c9e21"
ARTICLE = "ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。\n"


def kg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**base, **env}, timeout=180)


def assert_not_shown(secret: str, proc: subprocess.CompletedProcess[str], *folders: Path) -> None:
    assert secret not in proc.stdout and secret not in proc.stderr, (proc.stdout, proc.stderr)
    for folder in folders:
        for f in folder.rglob("*"):
            if f.is_file():
                assert secret.encode() not in f.read_bytes(), f"the password is in {f}"


def env_of(cfg, **over: str) -> dict[str, str]:
    return {"NEO4J_URI": cfg.uri, "NEO4J_USER": cfg.user, "NEO4J_PASSWORD": cfg.password,
            "NEO4J_DATABASE": cfg.database, **over}


@pytest.mark.neo4j
def test_kg_load_never_shows_the_password(neo4j_db, tmp_path: Path) -> None:
    right = neo4j_db.password
    assert len(right) >= 6
    # the right password, by environment and by option
    proc = kg("load", str(SAMPLE), env=env_of(neo4j_db))
    assert proc.returncode == 0 and proc.stdout.startswith("loaded "), proc.stderr
    assert_not_shown(right, proc)
    proc = kg("load", str(SAMPLE), "--password", right, env=env_of(neo4j_db, NEO4J_PASSWORD=""))
    assert proc.returncode == 0, proc.stderr
    assert_not_shown(right, proc)
    # a wrong password, by environment and by option
    proc = kg("load", str(SAMPLE), env=env_of(neo4j_db, NEO4J_PASSWORD=WRONG))
    assert proc.returncode == 2 and "refused the credentials" in proc.stderr
    assert_not_shown(WRONG, proc)
    proc = kg("load", str(SAMPLE), "--password", WRONG, env=env_of(neo4j_db))
    assert proc.returncode == 2 and "refused the credentials" in proc.stderr
    assert_not_shown(WRONG, proc)
    assert_not_shown(right, proc)
    # an unreachable server
    proc = kg("load", str(SAMPLE), "--uri", "bolt://127.0.0.1:1", env=env_of(neo4j_db, NEO4J_PASSWORD=WRONG))
    assert proc.returncode == 2 and "cannot reach Neo4j at bolt://127.0.0.1:1" in proc.stderr
    assert_not_shown(WRONG, proc)
    # help text shows the variable's name, not its value
    proc = kg("load", "--help", env=env_of(neo4j_db, NEO4J_PASSWORD=WRONG))
    assert proc.returncode == 0 and "NEO4J_PASSWORD" in proc.stdout
    assert_not_shown(WRONG, proc)


@pytest.mark.neo4j
@pytest.mark.parametrize("uri", [
    f"bolt://neo4j:{WRONG}@127.0.0.1:1",
    f"neo4j://neo4j:{WRONG}@127.0.0.1:1",
    f"bolt://neo4j:{WRONG}@[::1",
    f"http://neo4j:{WRONG}@127.0.0.1:7474",
])
def test_a_password_inside_the_uri_is_not_echoed(neo4j_db, uri: str) -> None:
    proc = kg("load", str(SAMPLE), "--uri", uri, env=env_of(neo4j_db, NEO4J_PASSWORD=WRONG))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("Error: ") and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert_not_shown(WRONG, proc)


@pytest.mark.neo4j
@pytest.mark.slow
def test_kg_build_neo4j_never_shows_the_password(neo4j_db, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(ARTICLE, encoding="utf-8")
    right = neo4j_db.password
    for name, env, args, code in [
        ("wrong", env_of(neo4j_db, NEO4J_PASSWORD=WRONG), [], 2),
        ("unreachable", env_of(neo4j_db, NEO4J_PASSWORD=WRONG), ["--uri", "bolt://127.0.0.1:1"], 2),
        ("right", env_of(neo4j_db), ["--password", right], 0),
    ]:
        out = tmp_path / f"out-{name}"
        proc = kg("build", str(src), "-o", str(out), "-j", "1", "--neo4j", *args, env=env)
        assert proc.returncode == code, proc.stderr[-2000:]
        assert (out / "graph.ttl").is_file()  # the files are written before the load
        assert_not_shown(WRONG, proc, out)
        assert_not_shown(right, proc, out)
    assert "loaded " in proc.stdout
