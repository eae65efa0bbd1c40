"""Hostile inputs, hostile outputs and hostile ends: nothing gets through, nothing hangs, nothing is lost.

Each test is a fault a user can cause: a date far out of range, an article too large, a NUL byte,
a broken link; a build killed with ``kill -9`` while it parses, validates or switches its outputs;
two builds into one OUTDIR; an OUTDIR or output file that cannot be written; Ctrl-C while SHACL
is shared out. Real ``kg`` processes are started, signalled and killed; their worker processes
are found in /proc.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import Graph
from rdflib.namespace import DCTERMS

from kg.build import chunks
from kg.build.ingest import MAX_ARTICLE_BYTES, SkippedInput, read_articles, read_jsonl
from kg.build.outdir import CURRENT, GENERATIONS, LOCK, STAGING_PREFIX, BuildOutdir
from kg.build.pipeline import OUTPUTS, build
from kg.cli import main
from kg.records import Article

ROOT = Path(__file__).resolve().parent.parent
LAVROV = "ロシアのラブロフ外相は31日、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。"
POMPEO = "アメリカのポンペイオ国務長官は30日、ニューヨークで北朝鮮のキム・ヨンチョル副委員長と会談しました。"
ABE = "安倍首相は来年、訪米する予定です。"


# ------------------------------------------------------------------------------------------ helpers


def kg(*args: str) -> Result:
    res = CliRunner().invoke(main, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def kg_run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, **(env or {})})


def kg_popen(*args: str, wrapper: str | None = None, env: dict[str, str] | None = None,
             new_session: bool = False) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", wrapper, *args] if wrapper else [sys.executable, "-m", "kg.cli", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, **(env or {})}, start_new_session=new_session,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    """SIGINT acted on in the child even when the tests run in the background (a shell starts background
    jobs with SIGINT ignored, and a process keeps ignoring what it was started ignoring)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    out = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(entry.name))
    return out


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaps counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(cond: Callable[[], bool], proc: subprocess.Popen[str] | None = None, timeout: float = 120,
             interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        if proc is not None and proc.poll() is not None:
            return cond()
        time.sleep(interval)
    return False


def outputs(outdir: Path) -> dict[str, bytes]:
    """The outputs a reader finds in OUTDIR by their usual names."""
    return {n: (outdir / n).read_bytes() for n in OUTPUTS if (outdir / n).is_file()}


def leftovers(outdir: Path) -> list[str]:
    """What a finished build must not leave: staging folders, temp files, a lock, more than two generations."""
    if not outdir.exists():
        return []
    found = [p.name for p in outdir.iterdir() if p.name.startswith(STAGING_PREFIX) or p.name.endswith((".tmp", ".kg-link"))
             or p.name in (LOCK, CURRENT + ".new")]
    gens = outdir / GENERATIONS
    if gens.is_dir() and len(list(gens.iterdir())) > 2:
        found.append(f"{GENERATIONS}: {sorted(p.name for p in gens.iterdir())}")
    return sorted(found)


def kg_temp_files(tmpdir: Path) -> list[str]:
    return sorted(p.name for p in tmpdir.iterdir() if p.name.startswith("kg-"))


def statements_file(path: Path, n: int, word: str = "有意義だった") -> Path:
    """A statements.jsonl of one document and ``n`` quotes (no parsing needed to build it)."""
    rows: list[dict] = [{"kind": "document", "doc_id": "d1", "published": "2018-06-01"}]
    s0 = "ラブロフ外相は「有意義だった」と述べました。"
    rows.append({"kind": "entity", "key": "person:ラブロフ", "type": "Person", "label": "ラブロフ",
                 "evidence": [{"doc_id": "d1", "start": 0, "end": len(s0), "sentence": s0, "rule": "entity.name"}]})
    for i in range(n):
        s = f"ラブロフ外相は「{word}{i}」と述べました。"
        rows.append({"kind": "quote", "text": f"{word}{i}", "speaker": "person:ラブロフ", "doc_id": "d1",
                     "evidence": [{"doc_id": "d1", "start": i * 40, "end": i * 40 + len(s), "sentence": s,
                                   "rule": "quote.say"}]})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def seed_corpus(path: Path, n: int) -> Path:
    """``n`` articles, each the seed article's text under its own id."""
    seed = next((ROOT / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    text = "\n".join(p for p in seed.split("\n") if p.strip() and not p.startswith("http"))
    path.write_text("".join(json.dumps({"id": f"n{i}", "text": text, "published": "2018-06-01"},
                                       ensure_ascii=False) + "\n" for i in range(n)), encoding="utf-8")
    return path


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """An existing folder this process cannot create files in: read-only for a user; immutable for root
    (chattr +i); /sys where neither works."""
    d = tmp_path / "read-only"
    d.mkdir()
    if os.geteuid() != 0:
        d.chmod(0o555)
        yield d
        d.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode == 0:
        yield d
        subprocess.run(["chattr", "-i", str(d)], check=True)
        return
    yield Path("/sys")


# ------------------------------------------------------------------------- 2: dates out of range


@pytest.mark.slow
def test_published_dates_out_of_range_are_unknown_with_a_warning_and_the_corpus_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "far.txt").write_text(ABE + "ポンペイオ国務長官は30日に訪朝した。\n", encoding="utf-8")
    (src / "far.meta.json").write_text('{"published": "9999-12-31"}', encoding="utf-8")
    (src / "good.txt").write_text(LAVROV + "\n", encoding="utf-8")
    (src / "good.meta.json").write_text('{"published": "2018-06-01"}', encoding="utf-8")
    (src / "c.jsonl").write_text(json.dumps({"id": "early", "text": POMPEO, "published": "0001-01-01"},
                                            ensure_ascii=False) + "\n", encoding="utf-8")
    (src / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    proc = kg_run("build", str(src), "-o", str(out), "-j", "1")
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 2, proc.stderr[-2000:]  # 2: the empty file was skipped
    ids = {str(o) for o in Graph().parse(out / "graph.ttl").objects(None, DCTERMS.identifier)}
    assert ids == {"far", "good", "early"}
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 2, proc.stderr
    assert f"{src / 'far.meta.json'}: 'published' 9999-12-31 is outside" in warnings[0] + warnings[1]
    assert f"{src / 'c.jsonl'}:1: 'published' 0001-01-01 is outside" in warnings[0] + warnings[1]
    docs = {d["doc_id"]: d for d in map(json.loads, (out / "statements.jsonl").read_text("utf-8").splitlines())
            if d["kind"] == "document"}
    assert docs["far"]["published"] is None and docs["early"]["published"] is None
    assert docs["good"]["published"] == "2018-06-01"
    # the skip list is on stderr with the warnings; stdout says what was built
    assert "skipped 1 input(s)" in proc.stderr and str(src / "empty.txt") in proc.stderr
    assert "skipped" not in proc.stdout and str(src / "empty.txt") not in proc.stdout


def test_a_date_in_range_is_kept_and_one_out_of_range_is_dropped(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": ABE, "published": "1800-01-01"}, {"id": "b", "text": ABE, "published": "2199-12-31"},
            {"id": "c", "text": ABE, "published": "1799-12-31T23:00:00+09:00"}, {"id": "d", "text": ABE,
                                                                                 "published": "2200-01-01"}]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    warnings: list[str] = []
    arts = list(read_jsonl(path, warnings=warnings))
    assert [a.published for a in arts] == ["1800-01-01", "2199-12-31", None, None]
    assert [w.split(":")[1] for w in warnings] == ["3", "4"]


# ---------------------------------------------------------------------------- 3: large articles


@pytest.mark.slow
def test_an_article_over_the_size_limit_is_skipped_and_listed(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text(LAVROV + "\n", encoding="utf-8")
    big = (POMPEO + "\n") * 30  # ~4.4 KB
    (src / "big.txt").write_text(big, encoding="utf-8")
    # the line's text is not the file's: copies of one text would be built as one document
    (src / "c.jsonl").write_text(json.dumps({"id": "big-line", "text": big + ABE}, ensure_ascii=False) + "\n"
                                 + json.dumps({"id": "small-line", "text": ABE}, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
    out = tmp_path / "out"
    proc = kg_run("build", str(src), "-o", str(out), "-j", "1", "--max-article-size", "2KB")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    skipped = {s["source"]: s["reason"] for s in json.loads((out / "skipped.json").read_text("utf-8"))}
    assert set(skipped) == {str(src / "big.txt"), f"{src / 'c.jsonl'}:1"}
    for reason in skipped.values():
        assert "more than the 2,000 an article may have" in reason and "--max-article-size" in reason
    ids = {str(o) for o in Graph().parse(out / "graph.ttl").objects(None, DCTERMS.identifier)}
    assert ids == {"good", "small-line"}
    # the same inputs under a raised limit are all built
    result = build([src], out, jobs=1, max_article_bytes=1_000_000)
    assert result.skipped == [] and result.documents == 4
    assert not (out / "skipped.json").exists()


def test_a_file_over_the_default_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as fh:  # sparse: its size says what it is before a byte is read
        fh.truncate(MAX_ARTICLE_BYTES + 1)
    skipped: list[SkippedInput] = []
    tracemalloc.start()
    try:
        assert list(read_articles([huge], skipped)) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [s.source for s in skipped] == [str(huge)]
    assert f"{MAX_ARTICLE_BYTES + 1:,} bytes, more than the {MAX_ARTICLE_BYTES:,}" in skipped[0].reason
    assert peak < 1_000_000


def test_a_huge_jsonl_line_is_skipped_in_bounded_memory_and_the_next_line_read(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "a", "text": ABE}, ensure_ascii=False) + "\n")
        fh.write('{"id": "huge", "text": "' + "あ" * 10_000_000 + '"}\n')  # 30 MB of UTF-8
        fh.write(json.dumps({"id": "b", "text": ABE}, ensure_ascii=False) + "\n")
    skipped: list[SkippedInput] = []
    tracemalloc.start()
    try:
        arts = list(read_articles([path], skipped))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [a.doc_id for a in arts] == ["a", "b"]
    assert [s.source for s in skipped] == [f"{path}:2"]
    assert "the line is 30,000," in skipped[0].reason
    # bounded by the limit (a read of at most twice it, and its copy), never the whole 30 MB line
    assert peak < 2.5 * (2 * MAX_ARTICLE_BYTES) < 30_000_000


def test_split_article_cuts_at_paragraphs_then_sentences_and_gives_the_text_back() -> None:
    text = "一文目です。二文目です。\n\n三段落目の文です。四文目です。\n五行目の文です。" * 40
    parts = chunks.split_article(text, 100)
    assert "".join(c for _, c in parts) == text
    assert all(len(c) <= 100 for _, c in parts)
    assert all(text[off:off + len(c)] == c for off, c in parts)
    assert all(c.endswith(("\n\n", "\n", "。")) for _, c in parts[:-1])
    hard = chunks.split_article("あ" * 250, 100)  # no boundary at all: cut at the limit
    assert [len(c) for _, c in hard] == [100, 100, 50]


@pytest.mark.slow
def test_a_long_article_is_extracted_chunk_by_chunk_with_offsets_into_the_article(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    text = "\n\n".join([LAVROV, POMPEO, "ラブロフ外相は記者団に対し「会談は有意義だった」と述べました。", LAVROV]) + "\n"
    article = Article(doc_id="long", text=text, published="2018-06-01", source_path="long.txt")
    whole = chunks.extract_article(article)  # one chunk: as before
    monkeypatch.setattr(chunks, "CHUNK_CHARS", 60)
    assert len(chunks.split_article(text)) == 4
    parts = chunks.extract_article(article, progress=chunks.report_progress)
    assert [line.strip() for line in capfd.readouterr().err.replace("\r", "\n").splitlines() if line.strip()] == [
        f"long.txt: {len(text):,} characters, chunk {i} of 4" for i in range(1, 5)]
    assert parts.article is article
    # every piece of evidence points into the whole article
    evidence = [e for r in (*parts.entities, *parts.statements) for e in r.evidence]
    assert evidence and all(text[e.start:e.end] == e.sentence for e in evidence)
    starts = [0] + [i + 2 for i in range(len(text)) if text.startswith("\n\n", i)]  # the paragraphs
    assert {e.start for e in evidence} == set(starts)
    # one record per entity, and the same statements as a whole-article extraction of these
    # self-contained paragraphs
    keys = [e.key for e in parts.entities]
    assert len(keys) == len(set(keys)) and set(keys) == {e.key for e in whole.entities}

    def facts(ds: object) -> set[tuple]:
        return {(type(s).__name__, *(v for k, v in sorted(vars(s).items()) if k != "evidence"),
                 tuple((e.start, e.end) for e in s.evidence)) for s in ds.statements}  # type: ignore[attr-defined]

    assert facts(parts) == facts(whole)
    # the build takes the same path: its graph has the fourth paragraph's evidence offsets
    out = tmp_path / "out"
    (tmp_path / "long.txt").write_text(text, encoding="utf-8")
    result = build([tmp_path / "long.txt"], out, jobs=1)
    assert result.conforms and result.documents == 1
    assert f"oa:start {text.rindex(LAVROV)} " in (out / "graph.ttl").read_text("utf-8")  # xsd:integer, bare


@pytest.mark.slow
def test_an_article_whose_extraction_fails_is_skipped_and_the_corpus_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault simulated in the extraction of one article (the real faults, dates, are tested above)."""
    import kg.build.extract as extract

    real = extract.extract_document

    def faulty(article: Article, doc: object) -> object:
        if article.doc_id == "bad":
            raise ValueError("year 0 is out of range")
        return real(article, doc)  # type: ignore[arg-type]

    monkeypatch.setattr(extract, "extract_document", faulty)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
                              for i, t in (("good", LAVROV), ("bad", POMPEO))), encoding="utf-8")
    result = build([corpus], tmp_path / "out", jobs=1)
    assert result.documents == 1 and result.conforms
    assert [s.source for s in result.skipped] == [f"{corpus}:2"]
    assert "extraction failed" in result.skipped[0].reason and "ValueError: year 0" in result.skipped[0].reason


# -------------------------------------------------------------------- 5: kill -9 and its leftovers


@pytest.mark.slow
def test_kill_9_while_workers_parse_takes_the_workers_along_and_keeps_the_previous_build(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert build([], out, statements_file=statements_file(tmp_path / "prev.jsonl", 3)).conforms
    before = outputs(out)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    corpus = seed_corpus(tmp_path / "c.jsonl", 6)
    proc = kg_popen("build", str(corpus), "-o", str(out), "-j", "2", env={"TMPDIR": str(tmp)})
    cache = out / ".kg-cache"
    assert wait_for(lambda: len(children(proc.pid)) >= 2 and cache.is_dir() and any(cache.iterdir()), proc), \
        proc.communicate()[1][-2000:]
    workers = children(proc.pid)
    proc.kill()
    proc.communicate()
    assert wait_for(lambda: not any(alive(w) for w in workers), timeout=10), \
        f"workers outlived the build: {[w for w in workers if alive(w)]}"
    assert outputs(out) == before
    assert kg_temp_files(tmp) == []
    # the next build removes what the killed one left, and finishes
    assert build([], out, statements_file=statements_file(tmp_path / "new.jsonl", 4)).conforms
    assert leftovers(out) == []


@pytest.mark.slow
def test_kill_9_during_shared_validation_leaves_no_process_and_no_copy_of_the_graph(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert build([], out, statements_file=statements_file(tmp_path / "prev.jsonl", 3)).conforms
    before = outputs(out)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    big = statements_file(tmp_path / "big.jsonl", 3000)
    proc = kg_popen("build", "--statements", str(big), "-o", str(out), "-j", "2", env={"TMPDIR": str(tmp)})
    # the RDF writer and the SHACL shares are forked once the graph is made
    assert wait_for(lambda: len(children(proc.pid)) >= 2, proc, interval=0.01), proc.communicate()[1][-2000:]
    forked = children(proc.pid)
    proc.kill()
    proc.communicate()
    assert wait_for(lambda: not any(alive(p) for p in forked), timeout=10), "forked processes outlived the build"
    assert outputs(out) == before
    assert kg_temp_files(tmp) == []
    assert build([], out, statements_file=statements_file(tmp_path / "new.jsonl", 4)).conforms
    assert leftovers(out) == []


# A build whose every rename, replace and new link in OUTDIR (not in its staging folder, which no reader
# sees) says so on stderr and then waits, so that it can be killed between any two of them.
SLOW_SWITCH = textwrap.dedent("""
    import os, sys, time
    for name in ("rename", "replace", "symlink"):
        real = getattr(os, name)
        def slow(*args, _real=real, _name=name, **kwargs):
            result = _real(*args, **kwargs)
            if not os.path.basename(os.path.dirname(str(args[1]))).startswith(".kg-build-"):
                print("kg-test: step", _name, file=sys.stderr, flush=True)
                time.sleep(0.2)
            return result
        setattr(os, name, slow)
    from kg.cli import main
    sys.argv[0] = "kg"
    main()
""")


def _steps(out: Path, new: Path) -> int:
    proc = kg_popen("build", "--statements", str(new), "-o", str(out), wrapper=SLOW_SWITCH)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return err.count("kg-test: step")


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["generations", "plain files"])
def test_kill_9_at_any_step_of_the_switch_leaves_the_previous_or_the_new_build(tmp_path: Path, layout: str) -> None:
    """``plain files``: OUTDIR written before generations existed (or copied with its links followed)."""
    prev_stmts = statements_file(tmp_path / "prev.jsonl", 2, "前の")
    new_stmts = statements_file(tmp_path / "new.jsonl", 3, "新しい")
    ref_prev, ref_new = tmp_path / "ref-prev", tmp_path / "ref-new"
    build([], ref_prev, statements_file=prev_stmts)
    build([], ref_new, statements_file=new_stmts)
    prev, new = outputs(ref_prev), outputs(ref_new)
    assert all(prev[n] != new[n] for n in ("graph.ttl", "graph.trig", "graph.jsonld", "statements.jsonl"))

    def previous(where: Path) -> Path:
        if layout == "plain files":
            shutil.copytree(ref_prev, where)  # links followed: every output a plain file
            assert not (where / "graph.ttl").is_symlink()
        else:
            build([], where, statements_file=prev_stmts)
        return where

    n = _steps(previous(tmp_path / "count"), new_stmts)
    assert n >= 3
    seen = set()
    for k in range(1, n + 1):
        out = previous(tmp_path / f"out{k}")
        proc = kg_popen("build", "--statements", str(new_stmts), "-o", str(out), wrapper=SLOW_SWITCH)
        assert proc.stderr is not None
        steps = 0
        while steps < k:
            line = proc.stderr.readline()
            assert line, f"the build ended before step {k}"
            steps += "kg-test: step" in line
        proc.kill()
        proc.communicate()
        now = outputs(out)
        assert now in (prev, new), f"killed after step {k}: a mix of two builds " + str(
            {name: "previous" if data == prev.get(name) else "new" if data == new.get(name) else "other"
             for name, data in now.items()})
        seen.add("previous" if now == prev else "new")
        # the next build finishes the job
        assert build([], out, statements_file=new_stmts).conforms
        assert outputs(out) == new and leftovers(out) == []
    assert seen == {"previous", "new"}


# ------------------------------------------------------------------------------ 6: one OUTDIR, two builds


@pytest.mark.slow
def test_a_second_build_into_the_same_outdir_stops_at_once_and_the_first_finishes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = kg_popen("build", str(ROOT / "seeds"), "-o", str(out), "-j", "1")
    assert wait_for(lambda: (out / LOCK).is_file() and (out / LOCK).read_text().strip() == str(first.pid), first)
    second = kg_run("build", "--statements", str(statements_file(tmp_path / "s.jsonl", 2)), "-o", str(out),
                    timeout=60)
    assert second.returncode == 2
    assert second.stderr.splitlines() == [
        f"Error: another build is writing {out} (pid {first.pid}); wait for it to finish or give another "
        "output folder"]
    rc = first.wait(timeout=300)
    assert rc == 0, first.communicate()[1][-2000:]
    ids = {str(o) for o in Graph().parse(out / "graph.ttl").objects(None, DCTERMS.identifier)}
    assert ids == {"000_a87ea9164a9e83dc"}  # the first build's, whole
    assert leftovers(out) == []
    # once it is done, the second can run
    assert kg_run("build", "--statements", str(tmp_path / "s.jsonl"), "-o", str(out)).returncode == 0


def test_a_lock_left_by_a_dead_build_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / LOCK).write_text(f"{dead.pid}\n")
    res = kg("build", "--statements", str(statements_file(tmp_path / "s.jsonl", 2)), "-o", str(out))
    assert res.exit_code == 0, res.stderr
    assert (out / "graph.ttl").is_file() and leftovers(out) == []


def test_a_build_does_not_remove_the_staging_folder_of_the_build_holding_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with BuildOutdir(out) as holder:
        staged = holder.staging
        (staged / "graph.ttl").write_text("being written", encoding="utf-8")
        res = kg("build", "--statements", str(statements_file(tmp_path / "s.jsonl", 2)), "-o", str(out))
        assert res.exit_code == 2 and f"(pid {os.getpid()})" in res.stderr
        assert (staged / "graph.ttl").read_text(encoding="utf-8") == "being written"
        holder.commit()
    assert (out / "graph.ttl").read_text(encoding="utf-8") == "being written"


# --------------------------------------------------------------- 7: outputs that cannot be written


def test_an_outdir_that_is_a_file_is_refused_before_any_input_is_read(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.build.pipeline as pipeline

    read: list[object] = []
    real = pipeline.read_articles
    monkeypatch.setattr(pipeline, "read_articles", lambda *a, **k: read.append(a) or real(*a, **k))
    src = tmp_path / "a.txt"
    src.write_text(LAVROV, encoding="utf-8")
    target = tmp_path / "out"
    target.write_text("keep me", encoding="utf-8")
    for outdir in (target, target / "sub"):
        res = kg("build", str(src), "-o", str(outdir))
        assert res.exit_code == 2 and res.stdout == ""
        assert res.stderr.splitlines()[0].startswith(f"Error: {outdir}: ")
        assert len(res.stderr.splitlines()) == 1
    assert read == [] and target.read_text(encoding="utf-8") == "keep me"


def test_an_outdir_that_cannot_be_written_is_refused_before_any_input_is_read(
        tmp_path: Path, unwritable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.build.pipeline as pipeline

    read: list[object] = []
    real = pipeline.read_articles
    monkeypatch.setattr(pipeline, "read_articles", lambda *a, **k: read.append(a) or real(*a, **k))
    src = tmp_path / "a.txt"
    src.write_text(LAVROV, encoding="utf-8")
    for outdir in (unwritable, unwritable / "out"):
        res = kg("build", str(src), "-o", str(outdir))
        assert res.exit_code == 2, res.stderr
        assert len(res.stderr.splitlines()) == 1 and res.stderr.startswith(f"Error: {outdir}: cannot "), res.stderr
    assert read == []


def test_view_and_validate_outputs_that_cannot_be_written_are_one_error_line(
        unwritable: Path, sample_ttl: Path) -> None:
    for args in (["view", str(sample_ttl), "-o", str(unwritable / "graph.html")],
                 ["validate", str(sample_ttl), "--report", str(unwritable / "report.ttl")],
                 ["export", str(sample_ttl), "--format", "gexf", "-o", str(unwritable / "g.gexf")],
                 ["view", str(sample_ttl), "-o", str(unwritable / "missing" / "graph.html")]):
        proc = kg_run(*args, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("Error: "), (args, proc.stderr)
        assert args[-1] in proc.stderr


# ----------------------------------------------------------------------- 10: NULs, Ctrl-C, links


@pytest.mark.parametrize("where", [10, 6000], ids=["in the first 4 KB", "after 4 KB"])
def test_a_few_nul_bytes_are_removed_with_a_warning_wherever_they_are(tmp_path: Path, where: int) -> None:
    text = (LAVROV + "\n") * 60
    data = text.encode("utf-8")
    cut = data.index("。".encode(), where) + 3  # between two characters
    f = tmp_path / "a.txt"
    f.write_bytes(data[:cut] + b"\x00" + data[cut:])
    warnings: list[str] = []
    (art,) = read_articles([f], warnings=warnings)
    assert art.text == text
    assert warnings == [f"{f}: 1 NUL character(s) removed from the text"]


def test_a_jsonl_text_with_nul_characters_is_read_the_same_way(tmp_path: Path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps({"id": "a", "text": LAVROV[:5] + "\x00" + LAVROV[5:]}, ensure_ascii=False) + "\n",
                 encoding="utf-8")
    warnings: list[str] = []
    (art,) = read_articles([f], warnings=warnings)
    assert art.text == LAVROV and warnings == [f"{f}:1: 1 NUL character(s) removed from the text"]


def test_mostly_nul_bytes_is_still_a_binary_file(tmp_path: Path) -> None:
    f = tmp_path / "b.txt"
    f.write_bytes(b"\x89PNG\r\n\x1a\n" + (b"IHDR\x00\x00\x01\x00" * 100) + LAVROV.encode())
    skipped: list[SkippedInput] = []
    assert list(read_articles([f], skipped)) == []
    assert "looks like a binary file (NUL bytes)" in skipped[0].reason


def test_broken_and_looping_links_are_listed_as_skipped(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text(LAVROV, encoding="utf-8")
    (src / "dangling.txt").symlink_to(src / "gone.txt")
    (src / "loop.txt").symlink_to(src / "loop.txt")
    (src / "fine-link.txt").symlink_to(src / "good.txt")
    skipped: list[SkippedInput] = []
    arts = list(read_articles([src], skipped))
    assert sorted(a.source_path for a in arts) == [str(src / "fine-link.txt"), str(src / "good.txt")]
    reasons = {s.source: s.reason for s in skipped}
    assert reasons[str(src / "dangling.txt")] == (
        f"{src / 'dangling.txt'}: a broken symbolic link (its target {src / 'gone.txt'} does not exist)")
    assert reasons[str(src / "loop.txt")] == f"{src / 'loop.txt'}: a loop of symbolic links"
    with pytest.raises(Exception, match="a broken symbolic link"):
        list(read_articles([src / "dangling.txt"]))


@pytest.mark.slow
def test_ctrl_c_during_validation_is_one_line_and_stops_every_process(tmp_path: Path) -> None:
    out = tmp_path / "out"
    big = statements_file(tmp_path / "big.jsonl", 3000)
    # its own session, so that the signal goes to the whole process group, as a terminal's Ctrl-C does
    proc = kg_popen("build", "--statements", str(big), "-o", str(out), "-j", "2", new_session=True)
    # the build validates article by article in its -j workers: both are started, one validating the document
    assert wait_for(lambda: len(children(proc.pid)) >= 2, proc, interval=0.01), proc.communicate()[1][-2000:]
    forked = children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.splitlines() == [
        "Error: interrupted; no output was left half-written (run the command again to finish)"], err
    assert wait_for(lambda: not any(alive(p) for p in forked), timeout=10)
    assert outputs(out) == {} and leftovers(out) == []


def test_a_folder_among_the_outputs_switches_with_the_files_and_an_older_plain_one_is_adopted(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "store").mkdir()  # as an older build left it: a plain folder and a plain file
    (out / "store" / "data").write_text("old", encoding="utf-8")
    (out / "graph.ttl").write_text("old graph", encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with BuildOutdir(out) as o:
        (o.staging / "store").mkdir()
        (o.staging / "store" / "data").write_text("new", encoding="utf-8")
        (o.staging / "graph.ttl").write_text("new graph", encoding="utf-8")
        o.commit(known=OUTPUTS)
    assert (out / "store" / "data").read_text(encoding="utf-8") == "new"
    assert (out / "graph.ttl").read_text(encoding="utf-8") == "new graph"
    assert os.readlink(out / "store") == f"{CURRENT}/store" and os.readlink(out / "graph.ttl") == f"{CURRENT}/graph.ttl"
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # not an output: left alone
    # the previous build (the adopted plain files) is kept until the next one
    kept = sorted(p for p in (out / GENERATIONS).iterdir())
    assert len(kept) == 2 and any((g / "store" / "data").read_text(encoding="utf-8") == "old" for g in kept)
    with BuildOutdir(out) as o:
        (o.staging / "graph.ttl").write_text("newer", encoding="utf-8")
        o.commit(known=OUTPUTS)
    assert not (out / "store").exists() and not (out / "store").is_symlink()  # the new build has no store
    assert (out / "graph.ttl").read_text(encoding="utf-8") == "newer" and leftovers(out) == []


# ==================================================================================================
# Round two: no open cluster, no clobbered files, one bad input never stops a corpus.


def special_files(tmp_path: Path) -> list[tuple[Path, Callable[[Path], bool]]]:
    """A FIFO, and (as root) a character device of the test's own (1, 3: what /dev/null is), each with
    the check that it is still what it was."""
    import stat as st

    made = []
    fifo = tmp_path / "fifo.out"
    os.mkfifo(fifo)
    made.append((fifo, lambda p: st.S_ISFIFO(os.lstat(p).st_mode)))
    if os.geteuid() == 0:
        dev = tmp_path / "null.out"
        os.mknod(dev, 0o666 | st.S_IFCHR, os.makedev(1, 3))
        made.append((dev, lambda p: st.S_ISCHR(os.lstat(p).st_mode)))
    return made


# ------------------------------------------------------------------ 3: outputs that are no files


def test_an_output_that_is_a_device_or_a_fifo_is_refused_and_left_alone(tmp_path: Path, sample_ttl: Path) -> None:
    for node, still in special_files(tmp_path):
        link = tmp_path / f"{node.name}.link"
        link.symlink_to(node)
        for target in (node, link):
            for args in (["view", str(sample_ttl), "-o", str(target)],
                         ["export", str(sample_ttl), "--format", "gexf", "-o", str(target)],
                         ["validate", str(sample_ttl), "--report", str(target)]):
                res = kg(*args)
                assert res.exit_code == 2, (args, res.stderr)
                assert res.stderr.splitlines() == [res.stderr.strip()] and res.stderr.startswith(f"Error: {target}: is a "), \
                    res.stderr
                assert still(node) and link.is_symlink(), args
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_fifo_made_while_the_output_is_written_is_not_replaced(tmp_path: Path) -> None:
    from kg.errors import WriteError
    from kg.outputs import atomic_write

    target = tmp_path / "out.html"
    with pytest.raises(WriteError, match="is a FIFO"):
        atomic_write(target, lambda tmp: (tmp.write_text("page", encoding="utf-8"), os.mkfifo(target)))
    assert not target.is_file() and [p.name for p in tmp_path.iterdir()] == ["out.html"]


# ------------------------------------------------------------------ 4: a link planted as the lock


def test_a_symbolic_link_planted_as_the_lock_is_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.conf"
    victim.write_text("precious\n", encoding="utf-8")
    (out / LOCK).symlink_to(victim)
    res = kg("build", "--statements", str(statements_file(tmp_path / "s.jsonl", 2)), "-o", str(out))
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr == f"Error: {out / LOCK}: is a symbolic link, not the lock file of a build; " \
                         "remove it and build again\n"
    assert victim.read_text(encoding="utf-8") == "precious\n" and (out / LOCK).is_symlink()
    assert outputs(out) == {}
    for node, _ in special_files(tmp_path):  # nor a FIFO or a device put there
        (out / LOCK).unlink()
        os.rename(node, out / LOCK)
        res = kg("build", "--statements", str(statements_file(tmp_path / "s.jsonl", 2)), "-o", str(out))
        assert res.exit_code == 2 and "is not a regular file" in res.stderr, res.stderr


# --------------------------------------------------- 8, 9: one bad input never stops a corpus


def deep_json(levels: int) -> str:
    return '{"id": "deep", "text": "会談しました。", "x": ' + "[" * levels + "]" * levels + "}"


def long_path_below(folder: Path, name: str, data: bytes) -> None:
    """``folder``/d…/d…/…/``name`` longer than PATH_MAX (4096), made one level at a time."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(20):
            os.mkdir("d" * 250, dir_fd=fd)
            nfd = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        f = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(f, data)
        os.close(f)
    finally:
        os.close(fd)


def test_each_bad_input_is_skipped_and_listed_and_the_rest_is_built(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text(LAVROV, encoding="utf-8")
    # deep JSON: a corpus line and a sidecar
    (src / "c.jsonl").write_text(deep_json(5000) + "\n" + json.dumps({"id": "line2", "text": POMPEO},
                                                                      ensure_ascii=False) + "\n", encoding="utf-8")
    (src / "side.txt").write_text(ABE, encoding="utf-8")
    (src / "side.meta.json").write_text('{"published": ' + "[" * 5000 + "]" * 5000 + "}", encoding="utf-8")
    # a name that is not UTF-8, a path longer than PATH_MAX, a FIFO named like an article
    (src / os.fsdecode(b"caf\xe9.txt")).write_text(LAVROV, encoding="utf-8")
    long_path_below(src, "deep.txt", LAVROV.encode())
    os.mkfifo(src / "fifo.txt")
    # random bytes: no article, whatever a detector guesses
    (src / "random.txt").write_bytes(os.urandom(4096).replace(b"\x00", b"\x01"))
    # NULs inside multibyte characters: removed, the article built, with a warning
    utf8 = (POMPEO + "\n" + ABE * 4).encode("utf-8")  # 3 NULs in 400 bytes: under the 1 % of a binary file
    (src / "nul.txt").write_bytes(utf8[:1] + b"\x00" + utf8[1:4] + b"\x00\x00" + utf8[4:])
    # a sidecar dated year 0000: the documented warning and an unknown date, the article built
    (src / "zero.txt").write_text(LAVROV.replace("31日", "30日"), encoding="utf-8")
    (src / "zero.meta.json").write_text('{"published": "0000-01-01"}', encoding="utf-8")
    out = tmp_path / "out"
    proc = kg_run("build", str(src), "-o", str(out), "-j", "1", "-q")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    skipped = {s["source"]: s["reason"] for s in json.loads((out / "skipped.json").read_text("utf-8"))}
    assert skipped[f"{src / 'c.jsonl'}:1"].endswith("nested more than 64 levels deep")
    assert skipped[str(src / "side.txt")].endswith("nested more than 64 levels deep")
    assert skipped[f"{src}/caf\\xe9.txt"] == f"{src}/caf\\xe9.txt: the file name is not valid UTF-8; rename it"
    too_long = [s for s in skipped if s.startswith(str(src / ("d" * 250)))]
    assert len(too_long) == 1 and "longer than the system allows" in skipped[too_long[0]]
    assert skipped[str(src / "fifo.txt")] == f"{src / 'fifo.txt'}: a FIFO, not an article file"
    assert skipped[str(src / "random.txt")].startswith(f"{src / 'random.txt'}: cannot decode the text")
    assert len(skipped) == 6, skipped
    assert f"{src / 'nul.txt'}: 3 NUL character(s) removed from the text" in proc.stderr
    assert f"{src / 'zero.meta.json'}: 'published' 0000-01-01 is outside 1800-01-01 to 2199-12-31; " \
           "taken as unknown" in proc.stderr
    ids = {str(o) for o in Graph().parse(out / "graph.ttl").objects(None, DCTERMS.identifier)}
    assert ids == {"good", "line2", "nul", "zero"}
    nul_doc = [json.loads(line) for line in (out / "statements.jsonl").read_text("utf-8").splitlines()
               if '"document"' in line and '"nul"' in line]
    assert nul_doc and nul_doc[0]["published"] is None


# ------------------------------------------------------------------------ 12: messages


@pytest.mark.parametrize("change, message", [
    ({"date": "2018-02-30"}, "quote: 'date' is no date: \"2018-02-30\""),
    ({"text": "\ud800"}, "not valid JSON: holds a lone surrogate (\\ud800-\\udfff), which is no character"),
    ({"evidence": [{"doc_id": "d1", "start": 0, "end": 5, "sentence": "s", "rule": "r", "confidence": "high"}]},
     "quote evidence: 'confidence' must be a finite number, got \"high\""),
    ({"evidence": [{"doc_id": "d1", "start": 0, "end": 5, "sentence": "s", "rule": "r", "confidence": float("nan")}]},
     "quote evidence: 'confidence' must be a finite number, got NaN"),
    ({"kind": "position", "holder": None, "title": "外相", "post": "外相", "of": None, "text": None,
      "speaker": None, "doc_id": None}, "position: 'holder' must be a string, got null"),
    ({"text": "[" * 3000 + "]" * 3000}, "not valid JSON: nested more than 64 levels deep"),
], ids=["impossible date", "lone surrogate", "confidence high", "confidence NaN", "null holder",
        "deep nesting"])
def test_a_bad_value_in_a_statements_file_is_one_line_naming_file_and_line(
        tmp_path: Path, change: dict, message: str) -> None:
    path = statements_file(tmp_path / "s.jsonl", 1)
    lines = path.read_text(encoding="utf-8").splitlines()
    row = {**json.loads(lines[2]), **change}
    row = {k: v for k, v in row.items() if v is not None or k in ("holder", "of")}
    text = json.dumps(row)  # a lone surrogate as \ud800, as another program would write it
    if str(change.get("text")).startswith("["):
        text = text.replace(json.dumps(change["text"]), change["text"])
    path.write_text("\n".join([*lines[:2], text]) + "\n", encoding="utf-8")
    proc = kg_run("build", "--statements", str(path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr == f"Error: {path}:3: {message}\n"
    assert not (tmp_path / "out").exists()


def test_a_deeply_nested_gold_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(LAVROV, encoding="utf-8")
    gold = tmp_path / "a.gold.json"
    gold.write_text('{"entities": ' + "[" * 5000 + "]" * 5000 + "}", encoding="utf-8")
    res = kg("eval", str(tmp_path))
    assert res.exit_code == 2
    assert res.stderr == f"Error: {gold}: not valid UTF-8 JSON: nested more than 64 levels deep\n"


# ---------------------------------------------- 13: progress of one long article in a log


@pytest.mark.slow
def test_a_long_article_shows_progress_lines_when_stderr_is_not_a_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    text = "\n\n".join([LAVROV, POMPEO, ABE, LAVROV]) + "\n"
    (tmp_path / "long.txt").write_text(text, encoding="utf-8")
    monkeypatch.setattr(chunks, "CHUNK_CHARS", 60)
    monkeypatch.setattr(chunks, "LINE_EVERY", 0.0)  # a chunk takes a second here, minutes in a long article
    capfd.readouterr()
    result = build([tmp_path / "long.txt"], tmp_path / "out", jobs=1, progress=True)
    assert result.documents == 1
    err = capfd.readouterr().err
    assert "\r" not in err
    lines = [line.strip() for line in err.splitlines() if "chunk" in line]
    assert lines == [f"{tmp_path / 'long.txt'}: {len(text):,} characters, chunk {i} of 4" for i in range(1, 5)]
    # in a log, at most a line every LINE_EVERY seconds
    monkeypatch.setattr(chunks, "LINE_EVERY", 3600.0)
    monkeypatch.setattr(chunks, "_last_line", [float("-inf")])
    chunks.report_progress_lines(Article(doc_id="x", text="x"), 1, 3)
    chunks.report_progress_lines(Article(doc_id="x", text="x"), 2, 3)
    assert capfd.readouterr().err.count("chunk") == 1


def test_an_outdir_that_is_the_input_folder_is_refused_for_that_reason(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(LAVROV, encoding="utf-8")
    for given in (src, src / "a.txt"):
        res = kg("build", str(given), "-o", str(src))
        assert res.exit_code == 2 and res.stdout == ""
        where = "is the output folder" if given == src else f"is inside the output folder {src}"
        assert res.stderr == (f"Error: {given}: {where}; kg build does not read its own output folder, so give "
                              "the articles from another folder, or another -o OUTDIR\n")
    assert sorted(p.name for p in src.iterdir()) == ["a.txt"]


def test_a_deleted_store_link_is_put_back_and_a_damaged_store_names_the_folder_to_delete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert kg("build", "--statements", str(statements_file(tmp_path / "s.jsonl", 2)), "-o", str(out),
              "-q").exit_code == 0
    before = kg("stats", str(out), "--format", "json").stdout
    (out / "store").unlink()  # rm -rf OUTDIR/store: the link goes, the build's store stays
    res = kg("stats", str(out), "--format", "json")
    assert res.exit_code == 0 and res.stdout == before, res.stderr
    assert (out / "store").is_symlink()
    real = (out / "store").resolve()
    for f in real.iterdir():  # rm -rf OUTDIR/store/*: the store is damaged
        shutil.rmtree(f) if f.is_dir() else f.unlink()
    res = kg("stats", str(out))
    assert res.exit_code == 2
    assert f"or delete {real} (where {out / 'store'} points) and kg makes it again" in res.stderr
    shutil.rmtree(real)  # as the message says: the store is made again
    res = kg("stats", str(out), "--format", "json")
    assert res.exit_code == 0 and res.stdout == before, res.stderr


# ---------------------------------------------------------- 11: a file too large to validate


def _address_space(limit: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def test_validating_a_file_larger_than_memory_allows_is_refused_at_once(tmp_path: Path, sample_ttl: Path) -> None:
    big = tmp_path / "big.ttl"
    with big.open("w", encoding="utf-8") as fh:
        line = '<https://w3id.org/dipkg/id/x/{0}> <http://www.w3.org/2000/01/rdf-schema#label> "名前{0}"@ja .\n'
        fh.writelines(line.format(i) for i in range(300_000))  # 30 MB: about 0.9 GB to validate
    # ulimit -v: what kg takes once started (its address space), and 600 MB more
    probe = "import kg.cli, kg.build.validate, pyshacl; print(open('/proc/self/status').read())"
    status = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT).stdout
    vm = int(next(line for line in status.splitlines() if line.startswith("VmSize:")).split()[1]) * 1024
    limit = vm + 600_000_000
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "validate", str(big)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, preexec_fn=_address_space(limit))
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"Error: {big}: {big.stat().st_size / 1e6:,.0f} MB; validating it takes about ")
    assert "more than the " in proc.stderr
    assert time.monotonic() - started < 60  # refused before it is parsed
    # a file that fits is validated under the same limit
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "validate", str(sample_ttl)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, preexec_fn=_address_space(limit))
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------- 10: the disk full during a build


def many_documents(path: Path, docs: int, quotes: int = 20) -> Path:
    """A statements file of ``docs`` documents (no parsing needed; a few MB of outputs for 300)."""
    rows: list[dict] = []
    for d in range(docs):
        doc = f"d{d}"
        s0 = "ラブロフ外相は「有意義だった」と述べました。"
        rows += [{"kind": "document", "doc_id": doc, "published": "2018-06-01"},
                 {"kind": "entity", "key": "person:ラブロフ", "type": "Person", "label": "ラブロフ",
                  "evidence": [{"doc_id": doc, "start": 0, "end": len(s0), "sentence": s0, "rule": "entity.name"}]}]
        for i in range(quotes):
            s = f"ラブロフ外相は「有意義{d}だった{i}」と述べました。"
            rows.append({"kind": "quote", "text": f"有意義{d}だった{i}", "speaker": "person:ラブロフ", "doc_id": doc,
                         "evidence": [{"doc_id": doc, "start": i * 40, "end": i * 40 + len(s), "sentence": s,
                                       "rule": "quote.say"}]})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 3 MB file system of the test's own (tmpfs, as root), or None where none can be mounted."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


# a fault injected where no small file system can be mounted: the writer's 50th article fails as a full disk would
_DISK_FULL = """
import errno, os, sys
import kg.build.merge as merge
real = merge.SharedNodes.add
calls = [0]
def add(self, *a, **k):
    calls[0] += 1
    if calls[0] == 50:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return real(self, *a, **k)
merge.SharedNodes.add = add
from kg.cli import main
sys.argv = ["kg", *sys.argv[1:]]
main()
"""


def test_a_disk_full_during_a_build_is_one_error_line_and_never_hangs(tmp_path: Path,
                                                                      small_disk: Path | None) -> None:
    big = many_documents(tmp_path / "many.jsonl", 300)
    out = (small_disk or tmp_path) / "out"
    proc = kg_run("build", "--statements", str(statements_file(tmp_path / "s.jsonl", 2)), "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    before = outputs(out)
    for _ in range(8):  # the hang came 1 run in 20: the mapping workers were left to the interpreter's exit
        started = time.monotonic()
        if small_disk is not None:
            proc = kg_run("build", "--statements", str(big), "-o", str(out), "-j", "2", "-q", timeout=120)
        else:
            proc = subprocess.run([sys.executable, "-c", _DISK_FULL, "build", "--statements", str(big), "-o",
                                   str(out), "-j", "2", "-q"], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.splitlines() == [proc.stderr.strip()], proc.stderr
        assert "no space left on the device" in proc.stderr and f"{out} still holds the previous build" in proc.stderr
        assert time.monotonic() - started < 60
        assert outputs(out) == before and leftovers(out) == []
