"""Compare the two SPARQL engines of ``kg query`` on a graph 100 times the sample's size.

The sample graph (tests/data/sample.ttl) is copied COPIES times, each copy with its own
instance IRIs (``id:r{k}/person/…``), so joins grow with the data as in a real corpus.
Each query runs REPEAT times per engine; the best time counts. The script checks that both
engines give the same rows and prints the times and the rdflib/oxigraph ratio.

    .venv/bin/python bench/bench_query.py [--copies 100] [--repeat 1] [GRAPH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
from rdflib import Literal

from kg.namespaces import ID
from kg.readers.query import ENGINES, SparqlStore, load_store

ROOT = Path(__file__).resolve().parent.parent

QUERIES: dict[str, tuple[str, dict[str, Literal]]] = {
    "meetings.rq": ((ROOT / "queries" / "meetings.rq").read_text(encoding="utf-8"), {}),
    "posts.rq": ((ROOT / "queries" / "posts.rq").read_text(encoding="utf-8"), {}),
    "quotes.rq": ((ROOT / "queries" / "quotes.rq").read_text(encoding="utf-8"), {}),
    "quotes_by_speaker.rq": (
        (ROOT / "queries" / "quotes_by_speaker.rq").read_text(encoding="utf-8"),
        {"name": Literal("ポンペイオ")},
    ),
    "count by class": ("SELECT ?c (COUNT(?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY ?c", {}),
    "label lookup": (
        'SELECT ?s WHERE { ?s rdfs:label|skos:altLabel ?l FILTER(STR(?l) = "平壌") } ORDER BY ?s',
        {},
    ),
    "evidence of meetings": (
        ("SELECT ?m ?exact WHERE { ?m a dip:Meeting . ?a oa:hasBody ?m ; oa:hasTarget/oa:hasSelector ?sel . "
        "?sel oa:exact ?exact } ORDER BY ?m"),
        {},
    ),
}


def replicate(source: Path, copies: int, out: Path) -> int:
    """Write ``copies`` copies of ``source`` to ``out`` (N-Triples), instance IRIs made distinct."""
    store = load_store(source)
    base = str(ID)

    def term(t: object, k: int) -> object:
        if isinstance(t, ox.NamedNode) and t.value.startswith(base):
            return ox.NamedNode(f"{base}r{k}/{t.value[len(base):]}")
        return t

    quads = list(store)
    with out.open("wb") as fh:
        for k in range(copies):
            triples = [ox.Triple(term(q.subject, k), q.predicate, term(q.object, k)) for q in quads]
            ox.serialize(triples, fh, ox.RdfFormat.N_TRIPLES)
    return len(quads) * copies


def best_time(store: SparqlStore, text: str, bindings: dict[str, Literal], repeat: int) -> tuple[float, object]:
    """The fastest of ``repeat`` runs (seconds) and the result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = store.query(text, bindings=bindings)
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    """Run the comparison and print one table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graph", nargs="?", default=str(ROOT / "tests" / "data" / "sample.ttl"))
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.nt"
        n = replicate(Path(args.graph), args.copies, path)
        print(f"graph: {args.copies} copies of {args.graph}, {n} triples")
        stores = {}
        for engine in ENGINES:
            t0 = time.perf_counter()
            stores[engine] = SparqlStore.open(path, engine)
            print(f"load {engine:<8} {time.perf_counter() - t0:8.3f} s")

    print(f"\n{'query':<22}{'rows':>6}{'oxigraph ms':>14}{'rdflib ms':>12}{'rdflib/oxigraph':>17}")
    total = dict.fromkeys(ENGINES, 0.0)
    for name, (text, bindings) in QUERIES.items():
        times, results = {}, {}
        for engine in ENGINES:
            times[engine], results[engine] = best_time(stores[engine], text, bindings, args.repeat)
            total[engine] += times[engine]
        ox_rows = sorted(map(repr, results["oxigraph"].rows))  # type: ignore[attr-defined]
        rd_rows = sorted(map(repr, results["rdflib"].rows))  # type: ignore[attr-defined]
        same = "" if ox_rows == rd_rows else "  RESULTS DIFFER"
        print(
            f"{name:<22}{len(ox_rows):>6}{times['oxigraph'] * 1000:>14.1f}{times['rdflib'] * 1000:>12.1f}"
            f"{times['rdflib'] / times['oxigraph']:>16.1f}x{same}"
        )
    print(
        f"{'all queries':<22}{'':>6}{total['oxigraph'] * 1000:>14.1f}{total['rdflib'] * 1000:>12.1f}"
        f"{total['rdflib'] / total['oxigraph']:>16.1f}x"
    )


if __name__ == "__main__":
    main()
