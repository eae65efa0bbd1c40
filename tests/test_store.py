"""kg.readers.store: the store a build writes (OUTDIR/store) and open_build, the one way every reader
opens a build — on real builds (the seed with the corpus articles), real pyoxigraph and pyshacl."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph, URIRef

from kg.build.pipeline import build
from kg.build.validate import validate_graph
from kg.cli import main
from kg.errors import ReadError
from kg.rdfio import rdflib_term
from kg.readers.neo4j import read_graph
from kg.readers.query import run_query
from kg.readers.stats import load_graph
from kg.readers.store import STORE_DIR, STORE_FORMAT, check_build, open_build, write_store

ROOT = Path(__file__).resolve().parent.parent


def ttl_graph(outdir: Path) -> Graph:
    return Graph().parse(outdir / "graph.ttl", format="turtle")


def triples_of(store: ox.Store, graph: object) -> set[tuple[object, object, object]]:
    return {(rdflib_term(q.subject), rdflib_term(q.predicate), rdflib_term(q.object))
            for q in store.quads_for_pattern(None, None, None, graph)}  # type: ignore[arg-type]


@pytest.fixture
def older_build(tmp_path: Path, corpus_build: Path) -> Path:
    """A build directory as kg wrote it before the store: graph files only."""
    out = tmp_path / "older"
    out.mkdir()
    for name in ("graph.ttl", "graph.trig", "graph.jsonld", "statements.jsonl", "validation.ttl"):
        shutil.copy(corpus_build / name, out / name)
    return out


@pytest.fixture
def copied_build(tmp_path: Path, corpus_build: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(corpus_build, out)
    return out


# ----------------------------------------------------------------------------- what a build writes


def test_a_build_writes_its_store_with_a_manifest(corpus_build: Path) -> None:
    manifest = json.loads((corpus_build / STORE_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == STORE_FORMAT
    assert manifest["triples"] == len(ttl_graph(corpus_build))
    assert manifest["named_graphs"] == 3  # one per document
    assert manifest["graph_file_bytes"] == (corpus_build / "graph.ttl").stat().st_size
    assert manifest["prefixes"]["person"] == "https://w3id.org/dipkg/id/person/"
    assert not list(corpus_build.glob(".kg-build-*"))  # no staging folder left


def test_the_default_graph_is_graph_ttl_and_each_document_is_a_named_graph(corpus_build: Path) -> None:
    ds = Dataset()
    ds.parse(corpus_build / "graph.trig", format="trig")
    with open_build(corpus_build) as b:
        assert b.on_disk and b.source == corpus_build / STORE_DIR
        assert triples_of(b.store, ox.DefaultGraph()) == set(ttl_graph(corpus_build))
        names = {str(g.value) for g in b.store.named_graphs()}  # type: ignore[attr-defined]
        expected = {str(g.identifier) for g in ds.graphs() if len(g) and isinstance(g.identifier, URIRef)
                    and str(g.identifier).startswith("https://")}
        assert names == expected and len(names) == 3
        for name in names:
            assert triples_of(b.store, ox.NamedNode(name)) == set(ds.graph(URIRef(name)))


def test_files_loaded_in_many_batches_give_the_same_store(corpus_build: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader's memory is bounded by its batch, so a large build is loaded in many batches: with a
    batch of 97 quads the default graph and every named graph hold exactly what the files hold."""
    import kg.readers.store as store_mod

    calls: list[int] = []
    real = ox.Store

    class Counting:  # the real store, with its batches counted
        def __init__(self, path: str) -> None:
            self._store = real(path)

        def bulk_extend(self, quads: list[ox.Quad]) -> None:
            calls.append(len(quads))
            self._store.bulk_extend(quads)

        def __len__(self) -> int:
            return len(self._store)

        def __getattr__(self, name: str) -> object:
            return getattr(self._store, name)

    monkeypatch.setattr(store_mod, "LOAD_BATCH", 97)
    monkeypatch.setattr(store_mod.ox, "Store", Counting)
    src = corpus_build / STORE_DIR / "manifest.json"
    manifest = write_store(tmp_path / "store", corpus_build / "graph.ttl", [corpus_build / "graph.trig"])
    monkeypatch.undo()
    assert max(calls) == 97 and sum(calls) == manifest["quads"] > 97 * 10
    assert {k: manifest[k] for k in ("triples", "named_graphs", "quads")} == \
        {k: json.loads(src.read_text(encoding="utf-8"))[k] for k in ("triples", "named_graphs", "quads")}
    batched = ox.Store.read_only(str(tmp_path / "store" / "oxigraph"))
    whole = ox.Store.read_only(str(corpus_build / STORE_DIR / "oxigraph"))
    assert set(batched) == set(whole)


def test_a_construct_of_the_whole_graph_keeps_every_term_and_conforms_to_the_shapes(corpus_build: Path) -> None:
    """Datatypes and lexical forms survive the store (xsd:integer offsets, canonical decimals)."""
    result = run_query(corpus_build, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
    constructed = result.graph()
    reference = ttl_graph(corpus_build)
    assert set(constructed) == set(reference)  # term equality: datatype and lexical form included
    report = validate_graph(constructed)
    assert report.conforms, [v.message for v in report.violations][:5]


def test_every_reader_reads_the_store_not_the_graph_files(copied_build: Path, tmp_path: Path) -> None:
    before = load_graph(copied_build)
    for name in ("graph.ttl", "graph.trig", "graph.jsonld"):
        (copied_build / name).unlink()
    assert set(load_graph(copied_build)) == set(before)  # kg stats, kg export and kg view read it so
    assert set(read_graph(copied_build)) == set(before)  # kg load
    assert run_query(copied_build, "ASK { ?p a dip:Official }").boolean is True
    runner = CliRunner()
    assert runner.invoke(main, ["stats", str(copied_build)]).exit_code == 0
    assert runner.invoke(main, ["view", str(copied_build), "-o", str(tmp_path / "g.html")]).exit_code == 0
    res = runner.invoke(main, ["export", str(copied_build), "--format", "gexf", "-o", str(tmp_path / "g.gexf")])
    assert res.exit_code == 0, res.output


# -------------------------------------------------------------------------- builds without a store


def test_an_older_build_gets_its_store_on_first_open(older_build: Path, corpus_build: Path) -> None:
    assert check_build(older_build) == older_build  # nothing written yet
    assert not (older_build / STORE_DIR).exists()
    with open_build(older_build) as b:
        assert triples_of(b.store, ox.DefaultGraph()) == set(ttl_graph(corpus_build))
        assert len(list(b.store.named_graphs())) == 3
    manifest = older_build / STORE_DIR / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    assert not list(older_build.glob(".kg-build-*"))  # the staging folder is gone
    open_build(older_build).close()
    assert manifest.stat().st_mtime_ns == stamp  # made once


def test_a_build_without_a_store_in_generations_gets_one_in_its_generation(tmp_path: Path,
                                                                           corpus_build: Path) -> None:
    """A build by a kg that kept generations (OUTDIR's names are links) but wrote no store."""
    out = tmp_path / "gens"
    shutil.copytree(corpus_build, out, symlinks=True)
    assert (out / "graph.ttl").is_symlink()
    shutil.rmtree((out / STORE_DIR).resolve())
    (out / STORE_DIR).unlink()
    with open_build(out) as b:
        assert len(list(b.store.named_graphs())) == 3
    assert os.readlink(out / STORE_DIR) == os.path.join(os.path.dirname(os.readlink(out / "graph.ttl")), STORE_DIR)
    assert (out / STORE_DIR).resolve().parent == (out / "graph.ttl").resolve().parent
    statements = tmp_path / "all.jsonl"
    shutil.copy(corpus_build / "statements.jsonl", statements)
    build([], out, statements_file=statements)  # the next build switches the store with its files
    with open_build(out) as b:
        assert triples_of(b.store, ox.DefaultGraph()) == set(ttl_graph(out))
    assert (out / STORE_DIR).resolve().parent == (out / "graph.ttl").resolve().parent
    assert not list(out.glob(".kg-build-*")) and not list(out.glob(".*.kg-link"))


def _open_and_count(path: str) -> int:
    with open_build(path) as b:
        return len(b.store)


def test_readers_adding_the_store_at_the_same_time_all_succeed(older_build: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        counts = pool.map(_open_and_count, [str(older_build)] * 4)
    assert len(set(counts)) == 1 and counts[0] > 0
    assert [p.name for p in older_build.iterdir() if p.name.startswith((".kg", "store"))] == [STORE_DIR]


def test_when_the_store_cannot_be_added_the_error_says_to_rebuild(older_build: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> str:  # a read-only OUTDIR (tests run as root: simulated)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(ReadError, match=rf"{older_build}: built by an older kg without a query store, and one "
                                        r"cannot be added here \(Permission denied\); rebuild with `kg build"):
        open_build(older_build)


# ---------------------------------------------------------------------------------------- errors


def _damage(kind: str, out: Path) -> str:
    """Break ``out`` in one way; return the message expected."""
    store = out / STORE_DIR
    manifest = store / "manifest.json"
    if kind == "empty":
        shutil.rmtree(out)
        out.mkdir()
        return rf"{out}: not a kg build \(no store/ and no graph.ttl in it\); build one with `kg build ARTICLES -o {out}`"
    if kind in ("older", "newer"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        data["format"] = STORE_FORMAT - 1 if kind == "older" else STORE_FORMAT + 1
        manifest.write_text(json.dumps(data), encoding="utf-8")
        if kind == "older":
            return rf"{out}: built by an older kg \(.*store format {STORE_FORMAT - 1}.*\); rebuild it with `kg build"
        return rf"{out}: built by a newer kg .*upgrade kg, or rebuild it"
    if kind == "unfinished":
        manifest.unlink()
        return rf"{store} is damaged \(no manifest.json: it was not finished\); rebuild with .*or delete {store}"
    if kind == "no-database":
        (store / "oxigraph" / "CURRENT").unlink()
        return rf"{store} is damaged \(the database does not open: .*\); rebuild with `kg build ARTICLES -o {out}`"
    if kind == "corrupt":
        for sst in (store / "oxigraph").glob("*.sst"):
            sst.write_bytes(b"\0" * 100)
        return rf"{store} is damaged \(the database does not open: Corruption.*\); rebuild"
    if kind == "stale":
        with (out / "graph.ttl").open("a", encoding="utf-8") as fh:
            fh.write("<urn:x> <urn:y> <urn:z> .\n")
        return rf"{store} does not match {out}/graph.ttl \(they were written by different builds\); rebuild"
    raise AssertionError(kind)


KINDS = ["empty", "older", "newer", "unfinished", "no-database", "corrupt", "stale"]


@pytest.mark.parametrize("kind", KINDS)
def test_open_build_says_what_is_wrong_and_how_to_fix_it(copied_build: Path, kind: str) -> None:
    expected = _damage(kind, copied_build)
    with pytest.raises(ReadError, match=expected):
        open_build(copied_build)


@pytest.mark.parametrize("command", ["query", "stats", "view", "export"])
@pytest.mark.parametrize("kind", ["older", "corrupt", "stale"])
def test_every_reader_reports_a_bad_build_in_one_line_with_exit_2(copied_build: Path, tmp_path: Path,
                                                                   command: str, kind: str) -> None:
    _damage(kind, copied_build)
    args = {
        "query": ["query", str(copied_build), "ASK { ?s ?p ?o }"],
        "stats": ["stats", str(copied_build)],
        "view": ["view", str(copied_build), "-o", str(tmp_path / "g.html")],
        "export": ["export", str(copied_build), "--format", "graphml", "-o", str(tmp_path / "g.graphml")],
    }[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert "rebuild" in result.output
    assert not (tmp_path / "g.html").exists() and not (tmp_path / "g.graphml").exists()


def test_missing_paths_and_unknown_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=rf"{tmp_path}/nope: no such file or directory; give a build directory"):
        open_build(tmp_path / "nope")
    odd = tmp_path / "graph.xlsx"
    odd.write_text("x")
    with pytest.raises(ReadError, match=r"graph.xlsx: unknown RDF file type '.xlsx'"):
        open_build(odd)
    bad = tmp_path / "bad.ttl"
    bad.write_text("<urn:a> <urn:b> .\n", encoding="utf-8")
    with pytest.raises(ReadError, match=rf"{bad}: not valid turtle RDF: .*line 1"):
        open_build(bad)


# -------------------------------------------------------------------------------------- rebuilds


def test_a_rebuild_replaces_the_store_and_an_open_reader_keeps_reading_its_own(tmp_path: Path,
                                                                                corpus_build: Path) -> None:
    statements = (corpus_build / "statements.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    first_doc = next(i for i, line in enumerate(statements[1:], 1) if '"kind": "document"' in line)
    one = tmp_path / "one.jsonl"
    one.write_text("".join(statements[:first_doc]), encoding="utf-8")  # the first document only
    everything = tmp_path / "all.jsonl"
    everything.write_text("".join(statements), encoding="utf-8")
    out = tmp_path / "out"
    build([], out, statements_file=one)
    old = open_build(out)
    old_count = len(old.store)
    build([], out, statements_file=everything)
    assert len(old.store) == old_count  # the reader that had it open still reads the old store
    with open_build(out) as new:
        assert len(list(new.store.named_graphs())) == 3 and len(new.store) > old_count
        assert triples_of(new.store, ox.DefaultGraph()) == set(ttl_graph(out))
    old.close()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith((".kg-build", "store"))) == [STORE_DIR]


def test_write_store_refuses_triples_outside_named_graphs_in_article_files(tmp_path: Path) -> None:
    merged = tmp_path / "graph.ttl"
    merged.write_text("<urn:a> <urn:p> <urn:b> .\n", encoding="utf-8")
    articles = tmp_path / "graph.trig"
    articles.write_text("<urn:c> <urn:p> <urn:d> .\n<urn:doc> { <urn:a> <urn:p> <urn:b> . }\n", encoding="utf-8")
    with pytest.raises(ValueError, match="triples outside named graphs"):
        write_store(tmp_path / "store", merged, [articles])
    assert not (tmp_path / "store" / "manifest.json").exists()


def test_write_store_counts_as_it_loads(tmp_path: Path) -> None:
    """The manifest's counts come from the load, not from reading the store again: they equal what the
    store holds; a per-article triple outside named graphs that the merged graph has is accepted."""
    merged = tmp_path / "graph.ttl"
    merged.write_text("<urn:a> <urn:p> <urn:b> .\n<urn:a> <urn:p> <urn:c> .\n", encoding="utf-8")
    articles = tmp_path / "graph.trig"
    articles.write_text("<urn:a> <urn:p> <urn:b> .\n<urn:d1> { <urn:a> <urn:p> <urn:b> . }\n"
                        "<urn:d2> { <urn:a> <urn:p> <urn:c> . <urn:x> <urn:p> <urn:y> . }\n", encoding="utf-8")
    manifest = write_store(tmp_path / "store", merged, [articles])
    store = ox.Store.read_only(str(tmp_path / "store" / "oxigraph"))
    assert manifest["triples"] == len(list(store.quads_for_pattern(None, None, None, ox.DefaultGraph()))) == 2
    assert manifest["quads"] == len(store) == 5
    assert manifest["named_graphs"] == len(list(store.named_graphs())) == 2
    del store
