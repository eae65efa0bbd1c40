"""Corpus faults: unreadable inputs are skipped and reported by file (and line), never dropped silently.

Each test runs ``kg build`` in a real subprocess on a corpus where some inputs are bad: the rest
are built, each bad one is named on stderr/stdout and in OUTDIR/skipped.json with the reason,
and the exit code is 2.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import DCTERMS

ROOT = Path(__file__).resolve().parent.parent
LAVROV = "ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。\n"
POMPEO = "ポンペオ国務長官は30日、ニューヨークで金英哲副委員長と会談した。"
ABE = "安倍首相は来月、訪米する。"


def kg_build(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kg.cli", "build", *args, "-j", "1"],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def built_ids(out: Path) -> set[str]:
    g = Graph().parse(out / "graph.ttl", format="turtle")
    return {str(o) for o in g.objects(None, DCTERMS.identifier)}


def undecodable_bytes() -> bytes:
    """High bytes that are neither UTF-8, Shift_JIS, EUC-JP nor anything charset detection trusts."""
    rnd = random.Random(20180601)
    return bytes(rnd.randrange(0x80, 0x100) for _ in range(2000))


@pytest.fixture
def bad_corpus(tmp_path: Path) -> Path:
    src = tmp_path / "corpus"
    src.mkdir()
    (src / "good.txt").write_text(LAVROV, encoding="utf-8")
    (src / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 8)
    (src / "undecodable.txt").write_bytes(undecodable_bytes())
    (src / "empty.txt").write_bytes(b"")
    lines = [
        json.dumps({"id": "a1", "text": POMPEO, "published": "2018-05-31"}, ensure_ascii=False),
        '{"id": "a2", "text": broken',
        json.dumps({"id": "a3", "text": ABE}, ensure_ascii=False),
    ]
    (src / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


@pytest.mark.slow
def test_bad_inputs_are_skipped_reported_and_the_rest_is_built(bad_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = kg_build(str(bad_corpus), "-o", str(out))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    # the rest is built, and conforms
    assert built_ids(out) == {"good", "a1", "a3"}
    assert "conforms to the shapes: yes" in proc.stdout
    # every bad input is named, with the line for the corpus, on the terminal and in skipped.json
    expected = {
        str(bad_corpus / "binary.txt"): "binary",
        str(bad_corpus / "undecodable.txt"): "cannot decode",
        str(bad_corpus / "empty.txt"): "empty",
        f"{bad_corpus / 'news.jsonl'}:2": "not a valid UTF-8 JSON line",
    }
    skipped = json.loads((out / "skipped.json").read_text(encoding="utf-8"))
    assert {s["source"]: s["reason"] for s in skipped}.keys() == expected.keys()
    for s in skipped:
        assert expected[s["source"]] in s["reason"], s
        assert s["reason"].startswith(s["source"] + ":"), s
        assert s["source"] in proc.stdout + proc.stderr
    assert f"skipped {len(expected)} input(s)" in proc.stderr  # diagnostics on stderr, stdout says what was built
    # nothing dropped silently: every input file or corpus line is built or listed
    inputs = {str(p) for p in bad_corpus.iterdir() if p.suffix == ".txt"} | {
        f"{bad_corpus / 'news.jsonl'}:{n}" for n in (1, 2, 3)}
    built_sources = {str(bad_corpus / "good.txt"), f"{bad_corpus / 'news.jsonl'}:1", f"{bad_corpus / 'news.jsonl'}:3"}
    assert inputs == built_sources | expected.keys()
    # statements.jsonl names the sources of what was built
    docs = [json.loads(line) for line in (out / "statements.jsonl").read_text("utf-8").splitlines()
            if json.loads(line).get("kind") == "document"]
    assert {d["source_path"] for d in docs} == built_sources


@pytest.mark.slow
def test_a_later_clean_build_removes_the_stale_skipped_list(bad_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert kg_build(str(bad_corpus), "-o", str(out)).returncode == 2
    assert (out / "skipped.json").exists()
    for name in ("binary.txt", "undecodable.txt", "empty.txt"):
        (bad_corpus / name).unlink()
    (bad_corpus / "news.jsonl").write_text(json.dumps({"id": "a1", "text": POMPEO}, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    proc = kg_build(str(bad_corpus), "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (out / "skipped.json").exists()
    assert built_ids(out) == {"good", "a1"}


@pytest.mark.slow
def test_only_bad_inputs_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "corpus"
    src.mkdir()
    (src / "empty.txt").write_bytes(b"")
    (src / "undecodable.txt").write_bytes(undecodable_bytes())
    out = tmp_path / "out"
    proc = kg_build(str(src), "-o", str(out))
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: no readable article in the input"), proc.stderr
    assert str(src / "empty.txt") in err[0] and str(src / "undecodable.txt") in err[0]
    assert not (out / "graph.ttl").exists()


@pytest.mark.slow
def test_corpus_lines_with_hostile_fields_are_built_or_reported_by_line(tmp_path: Path) -> None:
    """Fields of the wrong type or form (title, url, lang, id, published) never crash the build."""
    rows: list[object] = [
        {"id": "ok", "text": LAVROV},
        {"id": "title-number", "text": POMPEO, "title": 123},
        {"id": "title-list", "text": POMPEO, "title": ["x"]},
        {"id": "url-number", "text": POMPEO, "url": 5},
        {"id": "url-script", "text": POMPEO, "url": "javascript:alert(1)"},
        {"id": "lang-number", "text": POMPEO, "lang": 5},
        {"id": "lang-not-a-tag", "text": POMPEO, "lang": "日本 語"},
        {"id": "title-surrogate", "text": POMPEO, "title": "\ud800"},
        {"id": {"nested": 1}, "text": POMPEO},
        {"id": "published-number", "text": POMPEO, "published": 20180601},
        ["not", "an", "object"],
        {"id": "no-text"},
    ]
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="ascii")
    out = tmp_path / "out"
    proc = kg_build(str(src), "-o", str(out))
    assert "Traceback" not in proc.stderr, proc.stderr[-800:]
    assert proc.returncode in (0, 2), proc.stderr[-800:]
    assert "conforms to the shapes: yes" in proc.stdout
    skipped = json.loads((out / "skipped.json").read_text("utf-8")) if (out / "skipped.json").exists() else []
    skipped_lines = {int(s["source"].rsplit(":", 1)[1]) for s in skipped}
    assert all(s["source"].startswith(f"{src}:") for s in skipped)
    docs = [json.loads(line) for line in (out / "statements.jsonl").read_text("utf-8").splitlines()]
    built_lines = {int(d["source_path"].rsplit(":", 1)[1]) for d in docs if d.get("kind") == "document"}
    assert built_lines.isdisjoint(skipped_lines)
    assert built_lines | skipped_lines == set(range(1, len(rows) + 1))
    assert {11, 12} <= skipped_lines and 1 in built_lines
