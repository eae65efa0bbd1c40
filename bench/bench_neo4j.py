"""Load timings into Neo4j, side by side in one run.

Two measurements, each on a server of its own (``scripts/neo4j-local`` instance ``bench``: the
developer's database is never touched; it is emptied before each load and stopped at the end):

* default: batched UNWIND/MERGE vs one transaction per row, on the sample graph replicated N
  times under fresh IRIs (``--copies``);
* ``--bulk``: ``kg load --bulk`` (neo4j-admin import, with the server's stop and start) vs the
  batched ``kg load``, in rows (nodes + relationships) per second, on a synthetic build: the
  statements of the seed and tests/data/corpus replicated under distinct document ids with
  dates shifted (``--bulk-copies``), mapped by ``kg build --statements``. Reading the build and
  the projection are the same for both and timed apart.

    .venv/bin/python bench/bench_neo4j.py --copies 20
    .venv/bin/python bench/bench_neo4j.py --bulk --bulk-copies 400
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from rdflib import Graph, URIRef

from kg.readers.neo4j import Neo4jConfig, connect, counts, load_graph, load_projection, read_graph
from kg.readers.projection import project

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "sample.ttl"
SCRIPT = ROOT / "scripts" / "neo4j-local"
KG = Path(sys.executable).parent / "kg"
BASE = "https://w3id.org/dipkg/id/"
INSTANCE = "bench"
_FULL = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")


def replicate(g: Graph, copies: int) -> Graph:
    """``copies`` disjoint copies of ``g``: every instance IRI gets a copy prefix."""
    out = Graph()
    for i in range(copies):
        def re(t: object, i: int = i) -> object:
            if isinstance(t, URIRef) and str(t).startswith(BASE):
                return URIRef(f"{BASE}c{i}-{str(t)[len(BASE):]}")
            return t
        for s, p, o in g:
            out.add((re(s), p, re(o)))
    return out


def shift(value: str, i: int) -> str:
    """A date moved by ``i`` days (``2018-05-30``), months (``2018-06``) or years (``2018``)."""
    if _FULL.match(value):
        return (date.fromisoformat(value) + timedelta(days=i)).isoformat()
    if _MONTH.match(value):
        y, m = divmod(int(value[:4]) * 12 + int(value[5:]) - 1 + i, 12)
        return f"{y:04d}-{m + 1:02d}"
    if _YEAR.match(value):
        return str(int(value) + i)
    return value


def synthetic_statements(src: Path, copies: int) -> list[str]:
    """The statements of ``src`` ``copies`` times, each copy under its own document ids and with its
    dates shifted, so its events are new ones while its officials, states and places recur."""
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: list[str] = []
    for i in range(copies):
        for row in rows:
            r = json.loads(json.dumps(row))
            if r.get("doc_id"):
                r["doc_id"] = f"{r['doc_id']}-c{i}"
            for ev in r.get("evidence") or []:
                ev["doc_id"] = f"{ev['doc_id']}-c{i}"
            for key in ("published", "start", "end", "date"):
                if isinstance(r.get(key), str):
                    r[key] = shift(r[key], i)
            if r.get("kind") == "document":
                r["url"] = f"{r['url']}#c{i}" if r.get("url") else r.get("url")
                r["urls"] = [f"{u}#c{i}" for u in r.get("urls") or []]
            out.append(json.dumps(r, ensure_ascii=False))
    return out


def local(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """scripts/neo4j-local on the benchmark's own instance."""
    env = {**os.environ, "KG_NEO4J_INSTANCE": INSTANCE}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False, env=env)


def bench_server() -> Neo4jConfig:
    """Start the benchmark's own server (instance ``bench``) and return its settings."""
    os.environ["KG_NEO4J_INSTANCE"] = INSTANCE  # kg load --bulk imports into this instance
    started = local("start")
    if started.returncode != 0:
        sys.exit("scripts/neo4j-local start failed:\n" + started.stderr[-2000:])
    return Neo4jConfig.from_env_file(Path(local("envfile").stdout.strip()))


def empty(cfg: Neo4jConfig) -> None:
    """Delete everything, in batches, and drop the constraints (the database is the benchmark's own)."""
    drv = connect(cfg)
    try:
        # relationships first, then nodes, in small transactions (the server's transaction memory is 256 MB)
        for cypher in ("MATCH ()-[r]->() WITH r LIMIT 20000 DELETE r RETURN count(*) AS c",
                       "MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c"):
            while drv.execute_query(cypher, database_=cfg.database).records[0]["c"]:
                pass
        for rec in drv.execute_query("SHOW CONSTRAINTS YIELD name", database_=cfg.database).records:
            drv.execute_query(f"DROP CONSTRAINT `{rec['name']}`", database_=cfg.database)
    finally:
        drv.close()


def bench_bulk(copies: int, work: Path, batch_size: int) -> None:
    """kg load --bulk vs batched kg load on a synthetic build of ``copies`` copies of the corpus."""
    from kg.readers.neo4j_bulk import load_bulk

    base, big = work / "base", work / f"big-{copies}"
    if not (base / "statements.jsonl").is_file():
        subprocess.run([str(KG), "build", str(ROOT / "seeds"), str(ROOT / "tests" / "data" / "corpus"),
                        "-o", str(base)], check=True)
    if not (big / "graph.ttl").is_file():
        stmts = work / f"statements-{copies}.jsonl"
        stmts.write_text("\n".join(synthetic_statements(base / "statements.jsonl", copies)) + "\n",
                         encoding="utf-8")
        t = time.perf_counter()
        subprocess.run([str(KG), "build", "--statements", str(stmts), "-o", str(big)], check=True)
        print(f"kg build --statements ({copies} copies): {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    graph = read_graph(big)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    proj = project(graph)
    t_proj = time.perf_counter() - t
    rows = len(proj.nodes) + len(proj.rels)
    print(f"build: {len(proj.documents)} documents, {len(graph)} triples -> {len(proj.nodes)} nodes + "
          f"{len(proj.rels)} relationships = {rows} rows; read {t_read:.1f}s, projection {t_proj:.1f}s "
          "(the same for both loads)")
    del graph
    cfg = bench_server()
    try:
        empty(cfg)
        load_graph(read_graph(base), cfg)  # warm up: query plans, JIT, as on a server that has run for a while
        empty(cfg)
        t = time.perf_counter()
        rep = load_projection(proj, cfg, batch_size=batch_size)
        t_batched = time.perf_counter() - t
        got_batched = counts(cfg)
        empty(cfg)
        rep_bulk = load_bulk(proj, cfg, work / "csv")
        t_bulk = rep_bulk.seconds
        got_bulk = counts(cfg)
        assert rep_bulk.imported and got_bulk == got_batched == (len(proj.nodes), len(proj.rels)), (got_bulk,
                                                                                                   got_batched)
        print(f"{'batched kg load':46s} {t_batched:8.1f}s {rows / t_batched:10.0f} rows/s  "
              f"({rep.transactions} transactions)")
        print(f"{'kg load --bulk (CSV + stop, import, start)':46s} {t_bulk:8.1f}s {rows / t_bulk:10.0f} rows/s  "
              f"(CSV {rep_bulk.seconds_csv:.1f}s, stop + neo4j-admin + start {rep_bulk.seconds_import:.1f}s)")
        log = Path(local("envfile").stdout.strip()).parents[1] / "home" / "logs" / "import.log"
        done = re.search(r"IMPORT DONE in (?:(\d+)m )?(\d+)s (\d+)ms", log.read_text(encoding="utf-8"))
        if done:
            t_admin = int(done.group(1) or 0) * 60 + int(done.group(2)) + int(done.group(3)) / 1000
            print(f"{'  of which neo4j-admin import itself':46s} {t_admin:8.1f}s {rows / t_admin:10.0f} rows/s  "
                  f"(the rest is the server's stop and start and the JVMs' start-up)")
        print(f"ratio (rows/s, --bulk / batched): {t_batched / t_bulk:.1f}x   "
              f"including the reading and projection both need: "
              f"{(t_batched + t_read + t_proj) / (t_bulk + t_read + t_proj):.1f}x")
    finally:
        empty(cfg)
        local("stop")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--bulk", action="store_true", help="kg load --bulk vs batched kg load")
    ap.add_argument("--bulk-copies", type=int, default=400, help="copies of the corpus in the synthetic build")
    ap.add_argument("--work", type=Path, default=None, help="folder for the synthetic builds (kept between runs)")
    args = ap.parse_args()
    if args.bulk:
        work = args.work or Path(tempfile.mkdtemp(prefix="kg-bench-bulk-"))
        work.mkdir(parents=True, exist_ok=True)
        bench_bulk(args.bulk_copies, work, args.batch_size)
        return
    cfg = bench_server()
    try:
        _bench_rows(cfg, args)
    finally:
        local("stop")


def _bench_rows(cfg: Neo4jConfig, args: argparse.Namespace) -> None:
    g = replicate(read_graph(SAMPLE), args.copies)
    proj = project(g)
    print(f"graph: {len(g)} triples -> {len(proj.nodes)} nodes, {len(proj.rels)} relationships, "
          f"{len(proj.documents)} documents")
    drv = connect(cfg)
    drv.execute_query("MATCH (n) DETACH DELETE n", database_=cfg.database)
    drv.close()
    load_graph(g, cfg)  # warm up: constraints, query plans, JIT
    results = {}
    for name, kwargs in (
        ("batched (UNWIND, whole articles per transaction)", {"batch_size": args.batch_size}),
        ("one transaction per row", {"transaction_per_row": True}),
        ("batched again (idempotent reload)", {"batch_size": args.batch_size}),
    ):
        t0 = time.perf_counter()
        rep = load_graph(g, cfg, **kwargs)
        results[name] = (time.perf_counter() - t0, rep.transactions, counts(cfg))
    for name, (sec, tx, (n, r)) in results.items():
        print(f"{name:52s} {sec:8.2f}s  {tx:6d} transactions  -> {n} nodes, {r} relationships")


if __name__ == "__main__":
    main()
