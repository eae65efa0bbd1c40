"""Whole builds: reproducible files, named graphs, statement round trips, non-conforming input, safe writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import RDF, SH

from kg.build.mapping import DEFAULT_BASE, Mapper
from kg.build.outdir import CURRENT, GENERATIONS
from kg.build.pipeline import build, read_statements
from kg.cli import main
from kg.namespaces import DIP
from kg.records import statement_from_dict

ROOT = Path(__file__).resolve().parent.parent
KG = Path(sys.executable).with_name("kg")
GRAPH_FILES = ("graph.ttl", "graph.trig", "graph.jsonld", "statements.jsonl")
OUTPUTS = {"graph.ttl", "graph.trig", "graph.jsonld", "statements.jsonl", "validation.ttl", "store"}
CACHE = ".kg-cache"  # extracted statements per article, reused by the next build


def listing(folder: Path) -> set[str]:
    """The files of a build folder, less the statement cache and the generations its names point into
    (kg.build.outdir); every name listed must be readable."""
    names = set(os.listdir(folder)) - {CACHE, CURRENT, GENERATIONS}
    assert all((folder / n).exists() for n in names), "a name of OUTDIR points nowhere"
    return names

LAVROV = "ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。\n"
POMPEO = "アメリカのポンペイオ国務長官は30日、ニューヨークで北朝鮮のキム・ヨンチョル副委員長と会談しました。\n"


def write_article(folder: Path, name: str, text: str, published: str = "2018-06-01",
                  url: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    meta = {"published": published, **({"url": url} if url else {})}
    (folder / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of ``folder`` (the outputs, through their links into the current generation) with its
    bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()}


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def two_articles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUTDIR built from two small articles (real GiNZA)."""
    src = tmp_path_factory.mktemp("two-articles")
    write_article(src / "in", "lavrov", LAVROV)
    write_article(src / "in", "pompeo", "https://example.org/news/1\n\n" + POMPEO,
                  url="https://example.org/news/pompeo")
    out = src / "out"
    result = build([src / "in"], out)
    assert result.conforms, result.summary_text
    assert result.documents == 2
    return out


# ---- reproducible ------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_builds_in_two_processes_are_byte_identical(tmp_path: Path, seed_build: Path) -> None:
    assert KG.exists(), KG
    procs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        procs.append(subprocess.Popen([str(KG), "build", "seeds", "-o", str(tmp_path / f"out{seed}"), "-q"],
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    a, b = tmp_path / "out1", tmp_path / "out4242"
    for name in GRAPH_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert (a / name).stat().st_size > 1000
    # the same graph as the in-process build (statements.jsonl differs only in the source path given)
    for name in ("graph.ttl", "graph.trig", "graph.jsonld"):
        assert (a / name).read_bytes() == (seed_build / name).read_bytes(), name
    assert "seeds/000_a87ea9164a9e83dc.txt" in (a / "statements.jsonl").read_text(encoding="utf-8")


@pytest.mark.slow
def test_seed_output_conforms(seed_build: Path) -> None:
    for target in (seed_build, seed_build / "graph.trig", seed_build / "graph.jsonld"):
        code, out, err = run("validate", str(target))
        assert code == 0, out + err
        assert "conforms" in out
    assert listing(seed_build) == OUTPUTS
    report = Graph().parse(seed_build / "validation.ttl")
    assert (None, SH.conforms, None) in report
    assert not list(report.subjects(RDF.type, SH.ValidationResult))


@pytest.mark.slow
def test_seed_build_has_the_expected_statements(seed_build: Path) -> None:
    g = Graph().parse(seed_build / "graph.ttl")
    pompeo, kim = URIRef(DEFAULT_BASE + "person/Q473239"), URIRef(DEFAULT_BASE + "person/金英哲")
    meetings = [m for m in g.subjects(DIP.participant, pompeo) if (m, DIP.participant, kim) in g]
    assert meetings, "the Pompeo / Kim Yong-chol talks are in the graph"
    lines = (seed_build / "statements.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["kind"] == "document"
    assert json.loads(lines[0])["published"] == "2018-06-01"
    kinds = {json.loads(x)["kind"] for x in lines}
    assert kinds == {"document", "entity", "position", "meeting", "visit", "quote"}


# ---- named graphs ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_trig_has_one_named_graph_per_document(two_articles: Path) -> None:
    ds = Dataset()
    ds.parse(two_articles / "graph.trig", format="trig")
    m = Mapper()
    lavrov_doc, pompeo_doc = m.doc_iri("lavrov"), m.doc_iri("pompeo")
    named = {g.identifier for g in ds.graphs() if len(g) and g.identifier != ds.default_graph.identifier}
    assert named == {lavrov_doc, pompeo_doc}
    assert len(ds.default_graph) == 0
    lg, pg = ds.graph(lavrov_doc), ds.graph(pompeo_doc)
    assert (lavrov_doc, RDF.type, DIP.Document) in lg and (lavrov_doc, None, None) not in pg
    assert (pompeo_doc, RDF.type, DIP.Document) in pg and (pompeo_doc, None, None) not in lg
    # every statement node sits in the graph of the document it was derived from
    from kg.namespaces import PROV

    for gr, doc in ((lg, lavrov_doc), (pg, pompeo_doc)):
        derived = set(gr.subjects(PROV.wasDerivedFrom, None))
        assert derived, doc
        assert set(gr.objects(None, PROV.wasDerivedFrom)) == {doc}
    assert set(lg.subjects(RDF.type, DIP.Meeting)).isdisjoint(pg.subjects(RDF.type, DIP.Meeting))
    # the union of the named graphs is graph.ttl
    union = Graph()
    for s, p, o, _ in ds.quads((None, None, None, None)):
        union.add((s, p, o))
    assert set(union) == set(Graph().parse(two_articles / "graph.ttl"))


# ---- statements.jsonl round trip ----------------------------------------------------------------


@pytest.mark.slow
def test_statements_round_trip(seed_build: Path, tmp_path: Path) -> None:
    out2 = tmp_path / "out2"
    code, out, err = run("build", "--statements", str(seed_build / "statements.jsonl"), "-o", str(out2))
    assert code == 0, out + err
    assert (out2 / "graph.ttl").read_bytes() == (seed_build / "graph.ttl").read_bytes()
    assert (out2 / "graph.trig").read_bytes() == (seed_build / "graph.trig").read_bytes()
    assert (out2 / "statements.jsonl").read_bytes() == (seed_build / "statements.jsonl").read_bytes()
    assert "1 document(s)" in out


def test_read_statements_errors_name_file_and_line(tmp_path: Path) -> None:
    from kg.errors import IngestError

    path = tmp_path / "s.jsonl"
    path.write_text('{"kind": "quote", "text": "x", "speaker": null}\n', encoding="utf-8")
    with pytest.raises(IngestError, match=r"s\.jsonl:1: a statement before any 'document' line"):
        read_statements(path)
    path.write_text(DOC_LINE + "\n{oops\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"s\.jsonl:2: not valid JSON"):
        read_statements(path)
    path.write_text(DOC_LINE + '\n{"kind": "rumour"}\n', encoding="utf-8")
    with pytest.raises(IngestError, match=r"s\.jsonl:2: unknown statement kind 'rumour'"):
        read_statements(path)


# ---- statements that do not conform ---------------------------------------------------------------

DOC_LINE = json.dumps({"kind": "document", "doc_id": "d1", "published": "2018-06-01", "url": None, "urls": [],
                       "title": None, "lang": "ja", "source_path": None, "sha256": None}, ensure_ascii=False)
S_QUOTE = "北朝鮮は「対話を続ける」と表明しました。"
S_POST = "ラブロフ外相は平壌で会見しました。"
S_GOOD = "ラブロフ外相は「有意義だった」と述べました。"


def _ev(sentence: str, start: int, rule: str) -> dict:
    return {"doc_id": "d1", "start": start, "end": start + len(sentence), "sentence": sentence, "rule": rule}


BAD_QUOTE = {"kind": "quote", "text": "対話を続ける", "speaker": "state:KP", "doc_id": "d1",
             "evidence": [_ev(S_QUOTE, 0, "quote.say")]}
BAD_POSITION = {"kind": "position", "holder": "person:ラブロフ", "title": "外相", "post": "外務大臣",
                "of": "place:平壌", "evidence": [_ev(S_POST, 20, "position.title-context")]}
GOOD_QUOTE = {"kind": "quote", "text": "有意義だった", "speaker": "person:ラブロフ", "doc_id": "d1",
              "evidence": [_ev(S_GOOD, 37, "quote.say")]}
STATE_KP = {"kind": "entity", "key": "state:KP", "type": "State", "label": "北朝鮮", "iso": "KP",
            "evidence": [_ev(S_QUOTE, 0, "entity.gazetteer")]}


def write_statements(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join([DOC_LINE, *(json.dumps(r, ensure_ascii=False) for r in rows)]) + "\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])  # files written in this process / by a forked one, then made again
def test_nonconforming_statements_are_reported_and_left_out(tmp_path: Path, jobs: str) -> None:
    stmts = write_statements(tmp_path / "s.jsonl", [STATE_KP, BAD_QUOTE, BAD_POSITION, GOOD_QUOTE])
    out = tmp_path / "out"
    code, stdout, stderr = run("build", "--statements", str(stmts), "-o", str(out), "-j", jobs)
    assert code == 1, stdout + stderr
    assert "conforms to the shapes: NO (2 violation(s))" in stdout
    assert "left out of graph.ttl (see validation.ttl): 2 node(s)" in stdout
    m = Mapper()
    bad_quote = m.quote_iri(statement_from_dict(BAD_QUOTE))  # type: ignore[arg-type]
    bad_pos = m.position_iri(statement_from_dict(BAD_POSITION))  # type: ignore[arg-type]
    good_quote = m.quote_iri(statement_from_dict(GOOD_QUOTE))  # type: ignore[arg-type]
    # stderr names each offending node and shows its evidence sentence
    short_q = "id:" + str(bad_quote)[len(DEFAULT_BASE):]
    short_p = "id:" + str(bad_pos)[len(DEFAULT_BASE):]
    assert f"[Violation] {short_q} dip:speaker" in stderr
    assert f"evidence d1 [0-{len(S_QUOTE)}]: {S_QUOTE}" in stderr
    assert f"[Violation] {short_p} dip:postIn" in stderr
    assert f"evidence d1 [20-{20 + len(S_POST)}]: {S_POST}" in stderr
    assert S_GOOD not in stderr
    # validation.ttl says why
    report = Graph().parse(out / "validation.ttl")
    results = [r for rep in report.subjects(RDF.type, SH.ValidationReport) for r in report.objects(rep, SH.result)]
    assert {report.value(r, SH.focusNode) for r in results} == {bad_quote, bad_pos}
    assert (None, SH.conforms, None) in report
    # the offending nodes and their evidence are left out of every graph file; the rest is kept
    for name in ("graph.ttl", "graph.jsonld"):
        g = Graph().parse(out / name)
        assert (bad_quote, None, None) not in g and (None, None, bad_quote) not in g, name
        assert (bad_pos, None, None) not in g and (None, None, bad_pos) not in g, name
        assert (good_quote, RDF.type, DIP.Quote) in g, name
        assert S_QUOTE not in {str(o) for o in g.objects()}, name
    ds = Dataset()
    ds.parse(out / "graph.trig", format="trig")
    assert not list(ds.quads((bad_quote, None, None, None)))
    assert not list(ds.quads((None, None, bad_quote, None)))
    assert list(ds.quads((good_quote, RDF.type, DIP.Quote, None)))
    # what is written conforms
    code, vout, verr = run("validate", str(out))
    assert code == 0, vout + verr
    # the statements are kept as read, so the problem can be fixed at its source
    kinds = [json.loads(x)["kind"] for x in (out / "statements.jsonl").read_text(encoding="utf-8").splitlines()]
    assert kinds == ["document", "entity", "quote", "position", "quote"]
    assert listing(out) == OUTPUTS


def test_jobs_bound_the_processes_that_map_and_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-j 1 maps and validates every article in the build's process; -j 2 in two worker processes; the
    files are the same."""
    import os

    import kg.build.pipeline as pipeline

    doc = json.loads(DOC_LINE)
    lines = []
    for i in range(6):  # six articles, each its own document
        d = f"d{i}"
        lines.append(json.dumps({**doc, "doc_id": d}, ensure_ascii=False))
        q = {**GOOD_QUOTE, "text": f"有意義だった{i}", "doc_id": d,
             "evidence": [{**GOOD_QUOTE["evidence"][0], "doc_id": d}]}
        lines.append(json.dumps(q, ensure_ascii=False))
    stmts = tmp_path / "s.jsonl"
    stmts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = tmp_path / "pids"
    real = pipeline.map_article

    def spy(*args: object, **kw: object) -> object:
        with log.open("a") as fh:  # forked workers inherit the spy and append here too
            fh.write(f"{os.getpid()}\n")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "map_article", spy)
    files, pids = {}, {}
    for jobs in (1, 2):
        log.write_text("")
        result = build([], tmp_path / f"out{jobs}", statements_file=stmts, jobs=jobs)
        assert result.conforms and result.documents == 6
        files[jobs] = {n: (tmp_path / f"out{jobs}" / n).read_bytes() for n in GRAPH_FILES}
        pids[jobs] = [int(x) for x in log.read_text().split()]
    assert pids[1] == [os.getpid()] * 6
    assert len(pids[2]) == 6 and os.getpid() not in pids[2] and len(set(pids[2])) <= 2
    assert files[1] == files[2]


def test_statement_that_cannot_be_mapped_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    one = {"kind": "meeting", "participants": ["person:ラブロフ"], "doc_id": "d1",
           "evidence": [_ev(S_POST, 20, "meeting.comitative")]}
    stmts = write_statements(tmp_path / "s.jsonl", [one])
    out = tmp_path / "out"
    code, stdout, stderr = run("build", "--statements", str(stmts), "-o", str(out))
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("Error: document d1: meeting '会談': needs at least two participants")
    assert not out.exists()


# ---- failed builds leave the previous output alone --------------------------------------------


@pytest.fixture()
def previous(tmp_path: Path) -> Path:
    """An OUTDIR holding a previous (statements) build."""
    stmts = write_statements(tmp_path / "prev.jsonl", [GOOD_QUOTE])
    out = tmp_path / "out"
    code, stdout, stderr = run("build", "--statements", str(stmts), "-o", str(out))
    assert code == 0, stdout + stderr
    assert listing(out) == OUTPUTS
    return out


def test_strict_build_of_an_empty_file_leaves_the_previous_build(previous: Path, tmp_path: Path) -> None:
    before = snapshot(previous)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, stdout, stderr = run("build", "--strict", str(empty), "-o", str(previous))
    assert code == 2
    assert stdout == ""
    assert stderr == f"Error: {empty}: the file is empty\n"
    assert snapshot(previous) == before


def test_build_with_no_readable_article_leaves_the_previous_build(previous: Path, tmp_path: Path) -> None:
    before = snapshot(previous)
    (tmp_path / "in").mkdir()
    binary = tmp_path / "in" / "photo.txt"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    code, stdout, stderr = run("build", str(tmp_path / "in"), "-o", str(previous))
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("Error: no readable article in the input (")
    assert str(binary) in stderr
    assert snapshot(previous) == before


def test_bad_statements_file_leaves_the_previous_build(previous: Path, tmp_path: Path) -> None:
    before = snapshot(previous)
    bad = write_statements(tmp_path / "bad.jsonl", [GOOD_QUOTE])
    bad.write_text(bad.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    code, stdout, stderr = run("build", "--statements", str(bad), "-o", str(previous))
    assert code == 2
    assert stdout == ""
    assert stderr.startswith(f"Error: {bad}:3: not valid JSON")
    assert snapshot(previous) == before


def test_outdir_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    stmts = write_statements(tmp_path / "s.jsonl", [GOOD_QUOTE])
    target = tmp_path / "out"
    target.write_text("keep me", encoding="utf-8")
    code, stdout, stderr = run("build", "--statements", str(stmts), "-o", str(target))
    assert code == 2
    assert stdout == ""
    assert stderr == f"Error: {target}: exists and is not a directory\n"
    assert target.read_text(encoding="utf-8") == "keep me"


def test_rebuild_replaces_outputs_and_leaves_no_temp_files(previous: Path, tmp_path: Path) -> None:
    old = (previous / "graph.ttl").read_bytes()
    (previous / "notes.txt").write_text("mine", encoding="utf-8")
    stmts = write_statements(tmp_path / "new.jsonl", [STATE_KP, GOOD_QUOTE])
    code, stdout, stderr = run("build", "--statements", str(stmts), "-o", str(previous))
    assert code == 0, stdout + stderr
    assert (previous / "graph.ttl").read_bytes() != old
    assert "北朝鮮" in (previous / "graph.ttl").read_text(encoding="utf-8")
    # only the outputs (and the user's own file) remain: no staging folder, no .tmp file
    assert listing(previous) == OUTPUTS | {"notes.txt"}
    assert (previous / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.slow
def test_skipped_json_is_removed_by_a_later_clean_build(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_article(src, "lavrov", LAVROV)
    (src / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    result = build([src], out)
    assert [s.source for s in result.skipped] == [str(src / "empty.txt")]
    assert listing(out) == OUTPUTS | {"skipped.json"}
    result = build([src / "lavrov.txt"], out)
    assert result.skipped == []
    assert listing(out) == OUTPUTS


@pytest.mark.slow
def test_rebuild_into_an_outdir_inside_the_input_folder(tmp_path: Path) -> None:
    # `kg build . -o out` run twice: the first build's statements.jsonl is output, not a corpus to read
    src = tmp_path / "articles"
    write_article(src, "lavrov", LAVROV)
    out = src / "out"
    code, stdout, stderr = run("build", str(src), "-o", str(out))
    assert code == 0, stdout + stderr
    first = (out / "graph.ttl").read_bytes()
    code, stdout, stderr = run("build", str(src), "-o", str(out))
    assert code == 0, stdout + stderr
    assert "skipped" not in stdout
    assert (out / "graph.ttl").read_bytes() == first
    assert listing(out) == OUTPUTS
