"""Load timings into Neo4j: batched UNWIND/MERGE vs one transaction per row, same graph, same run.

The graph is the sample graph replicated N times under fresh IRIs (so it has N times as many
articles). Needs a server: NEO4J_URI/NEO4J_USER/NEO4J_PASSWORD (e.g. . ~/.cache/kg/neo4j/run/env).

    .venv/bin/python bench/bench_neo4j.py --copies 20
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rdflib import Graph, URIRef

from kg.readers.neo4j import Neo4jConfig, connect, counts, load_graph, read_graph
from kg.readers.projection import project

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "sample.ttl"
BASE = "https://w3id.org/dipkg/id/"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=5000)
    args = ap.parse_args()
    cfg = Neo4jConfig.from_env()
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
