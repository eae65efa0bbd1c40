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

* ``--scale``: where ``--bulk`` pays. neo4j-admin's own rate on synthetic import CSVs of 1M and
  5M rows (``--import-rows``; the CSV files ``kg load --bulk`` writes for the shipped articles,
  their rows replicated under fresh IRIs into one gzip file per file, with the server's stop and
  start around each import, as ``kg load --bulk`` runs it), the batched ``kg load`` rate at 200k
  rows (``--batched-rows``: the same projection replicated the same way, loaded by
  ``load_projection``), and the CSV writer's rate; from those, the size at which ``--bulk``
  overtakes the batched load and the ratio at 10^6 and 10^7 rows. No build of that size is made.

    .venv/bin/python bench/bench_neo4j.py --copies 20
    .venv/bin/python bench/bench_neo4j.py --bulk --bulk-copies 400
    .venv/bin/python bench/bench_neo4j.py --scale --import-rows 1000000,5000000 --batched-rows 200000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from rdflib import Graph, URIRef

from kg.readers.neo4j import Neo4jConfig, connect, counts, load_graph, load_projection, read_graph
from kg.readers.projection import NodeRow, Projection, RelRow, project

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


def replicate_projection(proj: Projection, rows: int) -> Projection:
    """Copies of ``proj`` under fresh IRIs (``…/id/r{k}/…``) until it holds at least ``rows`` rows."""
    def fresh(iri: str, k: int) -> str:
        return f"{BASE}r{k}/{iri[len(BASE):]}" if iri.startswith(BASE) else iri

    out = Projection()
    k = 0
    while len(out.nodes) + len(out.rels) < rows:
        for n in proj.nodes.values():
            out.nodes[fresh(n.iri, k)] = NodeRow(fresh(n.iri, k), n.labels, n.merge_label,
                                                 {**n.props, "iri": fresh(n.iri, k)},
                                                 tuple(fresh(x, k) for x in n.sources))
        for r in proj.rels.values():
            row = RelRow(r.type, fresh(r.start, k), fresh(r.end, k), dict(r.props),
                         tuple(fresh(x, k) for x in r.sources), fresh(r.iri, k) if r.iri else "")
            out.rels[row.key] = row
        out.documents.extend(fresh(d, k) for d in proj.documents)
        k += 1
    return out


def synthetic_import(base_csv: Path, rows: int, dest: Path) -> int:
    """neo4j-admin import files of at least ``rows`` rows: each CSV file of ``base_csv`` (written by
    ``kg load --bulk``) as one gzip file, its rows repeated under fresh IRIs; returns the rows."""
    import gzip
    import shutil

    files = sorted(base_csv.glob("*.csv"))
    bodies = {f: f.read_text(encoding="utf-8").split("\n", 1) for f in files}
    per_copy = sum(body.count("\n") for _, body in bodies.values())
    copies = -(-rows // per_copy)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for f, (header, body) in bodies.items():
        with gzip.open(dest / (f.name + ".gz"), "wt", encoding="utf-8", compresslevel=1, newline="") as fh:
            fh.write(header + "\n")
            for k in range(copies):
                fh.write(body.replace(BASE, f"{BASE}r{k}/"))
    args = (base_csv / "import.args").read_text(encoding="utf-8")
    (dest / "import.args").write_text(re.sub(r"=([^=\n]+\.csv)$", r"=\1.gz", args, flags=re.M), encoding="utf-8")
    return per_copy * copies


_PHASE = re.compile(r"^\s*(Node import|Relationship import|Relationship linking[^\n]*|Post processing|"
                    r"Flush stores|IMPORT DONE)[^\n]*?(?:in|took)?\s*((?:\d+m )?\d+s \d+ms)", re.M)


def _seconds(text: str) -> float:
    m = re.match(r"(?:(\d+)m )?(\d+)s (\d+)ms", text)
    return int(m.group(1) or 0) * 60 + int(m.group(2)) + int(m.group(3)) / 1000 if m else float("nan")


def bench_scale(work: Path, import_rows: list[int], batched_rows: int, batch_size: int) -> dict:
    """The importer's rate at ``import_rows``, the batched load's at ``batched_rows``, the crossover."""
    from kg.readers.neo4j_bulk import write_import_csv

    base = work / "base"
    if not (base / "statements.jsonl").is_file():
        subprocess.run([str(KG), "build", str(ROOT / "seeds"), str(ROOT / "tests" / "data" / "corpus"),
                        "-o", str(base), "-q"], check=True)
    t = time.perf_counter()
    graph = read_graph(base)
    proj = project(graph)
    t_proj = (time.perf_counter() - t) / len(graph)
    base_rows = len(proj.nodes) + len(proj.rels)
    big = replicate_projection(proj, batched_rows)
    rows_b = len(big.nodes) + len(big.rels)
    t = time.perf_counter()
    write_import_csv(big, work / "csv-batched-size")
    r_csv = rows_b / (time.perf_counter() - t)
    write_import_csv(proj, work / "csv-base")
    out: dict = {"base_rows": base_rows, "batched_rows": rows_b, "csv_rows_per_s": r_csv,
                 "read_and_project_s_per_triple": t_proj, "imports": {}}
    print(f"base: {len(proj.nodes)} nodes + {len(proj.rels)} relationships = {base_rows} rows "
          f"({len(graph)} triples); kg's CSV writer: {r_csv:,.0f} rows/s on {rows_b:,} rows", flush=True)
    cfg = bench_server()
    log = Path(local("envfile").stdout.strip()).parents[1] / "home" / "logs" / "import.log"
    try:
        empty(cfg)
        load_projection(proj, cfg)  # warm-up: query plans, JIT
        empty(cfg)
        load = os.getloadavg()[0]
        t = time.perf_counter()
        rep = load_projection(big, cfg, batch_size=batch_size)
        t_b = time.perf_counter() - t
        assert counts(cfg) == (len(big.nodes), len(big.rels))
        out["batched"] = {"rows": rows_b, "seconds": t_b, "rows_per_s": rows_b / t_b,
                          "transactions": rep.transactions, "load": [load, os.getloadavg()[0]]}
        print(f"batched kg load, {rows_b:,} rows: {t_b:.1f} s, {rows_b / t_b:,.0f} rows/s "
              f"({rep.transactions} transactions; load average {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
        del big
        empty(cfg)
        for n in import_rows:
            d = work / f"import-{n}"
            t = time.perf_counter()
            got_rows = synthetic_import(work / "csv-base", n, d)
            t_gen = time.perf_counter() - t
            load = os.getloadavg()[0]
            t = time.perf_counter()
            done = local("import", str(d), timeout=7200)
            t_all = time.perf_counter() - t
            if done.returncode != 0:
                raise SystemExit(f"import of {n} rows failed: {done.stderr[-2000:]}")
            text = log.read_text(encoding="utf-8")
            phases = {m.group(1).split(" ")[0] + " " + m.group(1).split(" ")[1] if " " in m.group(1) else m.group(1):
                      _seconds(m.group(2)) for m in _PHASE.finditer(text)}
            t_imp = phases.get("IMPORT DONE", float("nan"))
            nodes, rels = counts(cfg)
            assert nodes + rels == got_rows, (nodes, rels, got_rows)
            size = sum(f.stat().st_size for f in d.glob("*.gz"))
            out["imports"][got_rows] = {"seconds_stop_import_start": t_all, "seconds_importer": t_imp,
                                        "rows_per_s_importer": got_rows / t_imp, "rows_per_s_with_restart": got_rows / t_all,
                                        "phases": phases, "gz_mb": size / 2**20, "generated_s": t_gen,
                                        "load": [load, os.getloadavg()[0]]}
            print(f"neo4j-admin import, {got_rows:,} rows ({size / 2**20:.0f} MiB gzip): importer {t_imp:.1f} s, "
                  f"{got_rows / t_imp:,.0f} rows/s; with the server's stop and start {t_all:.1f} s, "
                  f"{got_rows / t_all:,.0f} rows/s (load average {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
            print(f"  importer phases: {', '.join(f'{k} {v:.1f} s' for k, v in phases.items())}", flush=True)
            shutil.rmtree(d, ignore_errors=True)
        out.update(crossover(out))
    finally:
        local("reset")  # the benchmark's own database: deleting millions of rows with Cypher would take longer
    return out


def crossover(out: dict) -> dict:
    """From the measured rates: seconds of each way for n rows, the crossover, ratios at 10^6, 10^7.

    batched(n) = n / r_batched; bulk(n) = n / r_csv + fixed + a + b·n, where the importer's time is
    a + b·n fitted through the two largest imports and ``fixed`` is the server's stop and start
    (the import's wall time minus the importer's own, averaged)."""
    imps = sorted(out["imports"].items())
    (n1, i1), (n2, i2) = imps[-2], imps[-1]
    b = (i2["seconds_importer"] - i1["seconds_importer"]) / (n2 - n1)
    a = i2["seconds_importer"] - b * n2
    fixed = sum(i["seconds_stop_import_start"] - i["seconds_importer"] for _, i in imps) / len(imps)
    r_b, r_csv = out["batched"]["rows_per_s"], out["csv_rows_per_s"]

    def bulk(n: float) -> float:
        return n / r_csv + fixed + a + b * n

    per_row_gain = 1 / r_b - 1 / r_csv - b
    n_star = (fixed + a) / per_row_gain if per_row_gain > 0 else float("inf")
    model = {"importer_fixed_s": a, "importer_s_per_row": b, "restart_s": fixed, "crossover_rows": n_star}
    print(f"model: importer {a:.1f} s + {b * 1e6:.2f} s per million rows; server stop + start {fixed:.1f} s; "
          f"CSV {1e6 / r_csv:.1f} s per million rows; batched {1e6 / r_b:.1f} s per million rows")
    print(f"--bulk overtakes the batched load at {n_star:,.0f} rows")
    for n in (1e6, 5e6, 1e7):
        model[f"ratio_{n:.0e}"] = (n / r_b) / bulk(n)
        print(f"  {n:,.0f} rows: batched {n / r_b:,.0f} s, --bulk {bulk(n):,.0f} s: {(n / r_b) / bulk(n):.1f}x")
    return {"model": model}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--bulk", action="store_true", help="kg load --bulk vs batched kg load")
    ap.add_argument("--bulk-copies", type=int, default=400, help="copies of the corpus in the synthetic build")
    ap.add_argument("--work", type=Path, default=None, help="folder for the synthetic builds (kept between runs)")
    ap.add_argument("--scale", action="store_true", help="the importer at --import-rows vs batched at --batched-rows")
    ap.add_argument("--import-rows", default="1000000,5000000", help="rows of the synthetic import files")
    ap.add_argument("--batched-rows", type=int, default=200_000, help="rows of the batched load")
    ap.add_argument("--json", type=Path, help="--scale: also write the results here")
    args = ap.parse_args()
    if args.scale:
        work = args.work or Path(tempfile.mkdtemp(prefix="kg-bench-scale-"))
        work.mkdir(parents=True, exist_ok=True)
        res = bench_scale(work, [int(x) for x in args.import_rows.split(",")], args.batched_rows, args.batch_size)
        if args.json:
            args.json.write_text(json.dumps(res, indent=1, default=str) + "\n", encoding="utf-8")
        return
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
