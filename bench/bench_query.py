"""Time ``kg query``'s ways of answering, side by side in one run, on a graph COPIES times the sample's.

The sample graph (tests/data/sample.ttl) is copied COPIES times, each copy with its own instance
IRIs (``id:r{k}/person/…``) and its own named graph, and written as a build would: graph.ttl (the
merged graph), graph.trig (one graph per copy) and OUTDIR/store (kg.readers.store.write_store).

(1) store: a selective query — one official's meetings — opened from the on-disk store (what
    ``kg query`` does now) against re-reading graph.trig into memory first (what it did before),
    REPEAT times each, interleaved; best and median times and the ratio.
(2) engines: each example query on pyoxigraph over the store, on pyoxigraph over graph.ttl in
    memory, and on rdflib's engine; the script checks that all give the same rows.

    .venv/bin/python bench/bench_query.py [--copies 100] [--repeat 5] [--skip-engines] [GRAPH | OUTDIR]

Given a build directory (OUTDIR of ``kg build``), (1) and (2) run on it as it is, for the official
who took part in most meetings.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
from rdflib import Literal, URIRef

from kg.namespaces import ID, PREFIXES
from kg.readers.query import SparqlStore
from kg.readers.store import STORE_DIR, write_store

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

#: One official's meetings: selective, the question a reader asks most.
SELECTIVE = """
SELECT ?who ?meeting ?kind ?start ?other WHERE {
  VALUES ?type { dip:Meeting dip:Summit dip:PhoneCall }
  ?meeting a ?type ; dip:participant ?who, ?other .
  FILTER(?other != ?who)
  OPTIONAL { ?meeting dip:kind ?kind }
  OPTIONAL { ?meeting dip:startDate ?start }
} ORDER BY ?start ?meeting ?other
"""


def write_build(source: Path, copies: int, out: Path) -> int:
    """An OUTDIR holding ``copies`` copies of ``source``: graph.ttl, graph.trig and the store; its triples."""
    base = str(ID)
    triples = [(q.subject, q.predicate, q.object) for q in ox.parse(path=str(source), base_iri=source.as_uri())]

    def term(t: object, k: int) -> object:
        if isinstance(t, ox.NamedNode) and t.value.startswith(base):
            return ox.NamedNode(f"{base}r{k}/{t.value[len(base):]}")
        return t

    out.mkdir(parents=True)
    merged: list[ox.Triple] = []
    quads: list[ox.Quad] = []
    for k in range(copies):
        graph = ox.NamedNode(f"{base}r{k}/doc")
        for s, p, o in triples:
            s2, o2 = term(s, k), term(o, k)
            merged.append(ox.Triple(s2, p, o2))  # type: ignore[arg-type]
            quads.append(ox.Quad(s2, p, o2, graph))  # type: ignore[arg-type]
    prefixes = {p: ns for p, ns in PREFIXES.items() if p != "id"}
    ox.serialize(merged, str(out / "graph.ttl"), ox.RdfFormat.TURTLE, prefixes=prefixes)
    ox.serialize(quads, str(out / "graph.trig"), ox.RdfFormat.TRIG, prefixes=prefixes)
    write_store(out / STORE_DIR, out / "graph.ttl", [out / "graph.trig"])
    return len(merged)


def from_store(outdir: Path, official: URIRef) -> int:
    """What kg query does now (in its query process): open the store read-only, run the query."""
    return len(SparqlStore.open(outdir).query(SELECTIVE, bindings={"who": official}).rows)


def reread_trig(outdir: Path, official: URIRef) -> int:
    """The cost kg query paid at every start before the store: parse graph.trig into memory."""
    store = ox.Store()
    store.bulk_load(path=str(outdir / "graph.trig"), format=ox.RdfFormat.TRIG)
    return 0


def from_trig(outdir: Path, official: URIRef) -> int:
    """What kg query did before: parse graph.trig into memory, query the union of its graphs."""
    store = ox.Store()
    store.bulk_load(path=str(outdir / "graph.trig"), format=ox.RdfFormat.TRIG)
    res = store.query(SELECTIVE, prefixes=PREFIXES, use_default_graph_as_union=True,
                      substitutions={ox.Variable("who"): ox.NamedNode(str(official))})
    return len(list(res))  # type: ignore[arg-type]


WAYS = {
    "store": ("open OUTDIR/store, query (now)", from_store),
    "reread": ("re-read graph.trig into memory (no query)", reread_trig),
    "trig": ("re-read graph.trig, query its union (before)", from_trig),
}


def bench_store(outdir: Path, official: URIRef, repeat: int) -> None:
    """(1): the ways side by side, interleaved so that the machine's noise hits them alike; a way whose
    run takes over 10 s is not repeated."""
    times: dict[str, list[float]] = {name: [] for name in WAYS}
    rows: dict[str, int] = {}
    for i in range(repeat):
        for name, (_, fn) in WAYS.items():
            if i and times[name][0] > 10:
                continue
            t0 = time.perf_counter()
            rows[name] = fn(outdir, official)
            times[name].append(time.perf_counter() - t0)
    print(f"\n(1) one official's meetings ({official}), up to {repeat} runs each, interleaved")
    print(f"{'way':<50}{'rows':>8}{'best ms':>10}{'median ms':>11}")
    for name, (label, _) in WAYS.items():
        shown = str(rows[name]) if name != "reread" else ""
        print(f"{label:<50}{shown:>8}{min(times[name]) * 1000:>10.1f}{statistics.median(times[name]) * 1000:>11.1f}")
    store = statistics.median(times["store"])
    print(f"re-read only / store: {statistics.median(times['reread']) / store:.1f}x; "
          f"before / store: {statistics.median(times['trig']) / store:.1f}x (medians)"
          + ("" if rows["store"] == rows["trig"] else
             f"; before, the union of the graphs gave {rows['trig']} rows instead of {rows['store']}"))


def best_time(store: SparqlStore, text: str, bindings: dict[str, Literal], repeat: int) -> tuple[float, object]:
    """The fastest of ``repeat`` runs (seconds) and the result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = store.query(text, bindings=bindings)
        best = min(best, time.perf_counter() - t0)
    return best, result


def bench_engines(outdir: Path, repeat: int) -> None:
    """(2): the example queries on pyoxigraph over the store, on pyoxigraph over graph.ttl parsed into
    memory (the same triples), and on rdflib's engine; all three must give the same rows."""
    ways = {"store": (outdir, "oxigraph"), "memory": (outdir / "graph.ttl", "oxigraph"), "rdflib": (outdir, "rdflib")}
    stores = {}
    print()
    for way, (path, engine) in ways.items():
        t0 = time.perf_counter()
        stores[way] = SparqlStore.open(path, engine)
        print(f"(2) open {way:<8} {time.perf_counter() - t0:8.3f} s")
    print(f"\n{'query':<22}{'rows':>6}{'store ms':>11}{'memory ms':>11}{'rdflib ms':>12}{'memory/store':>14}"
          f"{'rdflib/store':>14}")
    total = dict.fromkeys(ways, 0.0)
    for name, (text, bindings) in QUERIES.items():
        times, results = {}, {}
        for way in ways:
            times[way], results[way] = best_time(stores[way], text, bindings, repeat)
            total[way] += times[way]
        rows = {way: sorted(map(repr, results[way].rows)) for way in ways}  # type: ignore[attr-defined]
        same = "" if rows["store"] == rows["memory"] == rows["rdflib"] else "  RESULTS DIFFER"
        print(f"{name:<22}{len(rows['store']):>6}{times['store'] * 1000:>11.1f}{times['memory'] * 1000:>11.1f}"
              f"{times['rdflib'] * 1000:>12.1f}{times['memory'] / times['store']:>13.2f}x"
              f"{times['rdflib'] / times['store']:>13.1f}x{same}")
    print(f"{'all queries':<22}{'':>6}{total['store'] * 1000:>11.1f}{total['memory'] * 1000:>11.1f}"
          f"{total['rdflib'] * 1000:>12.1f}{total['memory'] / total['store']:>13.2f}x"
          f"{total['rdflib'] / total['store']:>13.1f}x")


def main() -> None:
    """Write the build, run (1) and (2), print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graph", nargs="?", default=str(ROOT / "tests" / "data" / "sample.ttl"))
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-engines", action="store_true", help="only (1)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        given = Path(args.graph)
        if given.is_dir():
            outdir = given
            (row,) = SparqlStore.open(outdir).query(
                "SELECT ?p (COUNT(?m) AS ?n) WHERE { ?m dip:participant ?p . ?p a dip:Official } "
                "GROUP BY ?p ORDER BY DESC(?n) ?p LIMIT 1").rows
            official = URIRef(str(row[0]))
            print(f"build: {outdir}")
        else:
            outdir = Path(tmp) / "out"
            t0 = time.perf_counter()
            n = write_build(given, args.copies, outdir)
            print(f"graph: {args.copies} copies of {given}, {n} triples (written in {time.perf_counter() - t0:.1f} s)")
            official = URIRef(f"{ID}r{args.copies // 2}/person/Q473239")
        size = sum(f.stat().st_size for f in (outdir / STORE_DIR).rglob("*") if f.is_file())
        print(f"graph.trig {(outdir / 'graph.trig').stat().st_size / 2**20:.1f} MB, store {size / 2**20:.1f} MB")
        bench_store(outdir, official, args.repeat)
        if not args.skip_engines:
            bench_engines(outdir, max(1, args.repeat // 5))


if __name__ == "__main__":
    main()
