"""Reading articles: encodings, URL header lines, sidecars, JSONL corpora, folders and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.build.ingest import SkippedInput, read_articles, read_jsonl, read_text_file
from kg.errors import IngestError
from kg.records import Article

ARTICLE = (
    "ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。\n"
    "ロシアのインターファクス通信によりますと、両外相は2国間関係や朝鮮半島情勢などをめぐって意見を交わしたということです。\n"
)
# a one-sentence article in kana only: easy to mistake for another Japanese encoding
SHORT_QUOTE = "「とてもよかった」と述べました。\n"
HEADLINE = "米朝首脳会談　シンガポールで開催へ\n"


def _read_one(path: Path) -> Article:
    (art,) = list(read_articles([path]))
    return art


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "shift_jis", "cp932", "euc_jp"])
@pytest.mark.parametrize("text", [ARTICLE, SHORT_QUOTE, HEADLINE], ids=["article", "short-quote", "headline"])
def test_japanese_encodings_decode_to_the_same_text(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(text.encode(encoding))
    art = _read_one(path)
    assert art.text == text
    assert art.doc_id == "article"


def test_crlf_line_ends_become_newlines(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(ARTICLE.replace("\n", "\r\n").encode("shift_jis"))
    assert _read_one(path).text == ARTICLE


def test_leading_url_lines_become_urls_and_are_blanked(tmp_path: Path) -> None:
    header = "https://d1021.hatenadiary.com\nhttp://d1021.hatenablog.com\n\n\n"
    raw = header + ARTICLE + "出典 https://example.org/in-the-text\n"
    path = tmp_path / "with-urls.txt"
    path.write_text(raw, encoding="utf-8")
    art = _read_one(path)
    assert art.urls == ("https://d1021.hatenadiary.com", "http://d1021.hatenablog.com")
    assert art.url == "https://d1021.hatenadiary.com"
    assert len(art.text) == len(raw)
    assert "http" not in art.text[: len(header)]
    assert art.text[: len(header)].strip() == ""
    # offsets into the text are offsets into the file's text
    start = raw.index("ラブロフ")
    assert art.text[start:start + 4] == "ラブロフ"
    assert art.text[len(header):] == raw[len(header):]
    # a URL inside the body is text, not metadata
    assert "https://example.org/in-the-text" in art.text
    assert "https://example.org/in-the-text" not in art.urls


def test_url_lines_after_the_text_starts_are_kept(tmp_path: Path) -> None:
    raw = ARTICLE + "https://example.org/footer\n"
    path = tmp_path / "footer.txt"
    path.write_text(raw, encoding="utf-8")
    art = _read_one(path)
    assert art.text == raw
    assert art.urls == ()


def test_sidecar_gives_date_and_url(tmp_path: Path) -> None:
    path = tmp_path / "000_lavrov.txt"
    path.write_text("https://example.org/from-text\n" + ARTICLE, encoding="utf-8")
    (tmp_path / "000_lavrov.meta.json").write_text(
        json.dumps({"published": "2018-06-01", "url": "https://example.org/from-sidecar"}), encoding="utf-8")
    art = _read_one(path)
    assert art.published == "2018-06-01"
    assert art.url == "https://example.org/from-sidecar"
    assert art.urls == ("https://example.org/from-sidecar", "https://example.org/from-text")
    assert art.doc_id == "000_lavrov"
    assert art.source_path == str(path)


def test_sidecar_datetime_is_reduced_to_a_date(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "a.meta.json").write_text('{"published": "2018-06-01T09:30:00+09:00"}', encoding="utf-8")
    assert _read_one(path).published == "2018-06-01"


def test_without_sidecar_there_is_no_date(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    art = _read_one(path)
    assert art.published is None
    assert art.url is None


def test_bad_sidecar_json_names_the_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    meta = tmp_path / "a.meta.json"
    meta.write_text('{"published": "2018-06-01",', encoding="utf-8")
    with pytest.raises(IngestError, match="not valid UTF-8 JSON") as info:
        read_text_file(path)
    assert str(info.value).startswith(f"{meta}: ")


def test_sidecar_that_is_not_an_object_names_the_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    meta = tmp_path / "a.meta.json"
    meta.write_text('["2018-06-01"]', encoding="utf-8")
    with pytest.raises(IngestError) as info:
        read_text_file(path)
    assert str(info.value).startswith(f"{meta}: must be a JSON object")


def test_sidecar_with_a_bad_date_names_the_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    meta = tmp_path / "a.meta.json"
    meta.write_text('{"published": "6月1日"}', encoding="utf-8")
    with pytest.raises(IngestError) as info:
        read_text_file(path)
    assert str(info.value) == f"{meta}: 'published' is not an ISO date: '6月1日'"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "the file is empty"),
        ("blank.txt", b" \n\n\t\n", "the file is empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "looks like a binary file (NUL bytes)"),
        ("garbage.txt", bytes(range(0x80, 0x100)) * 4, "cannot decode the text"),
        ("urls-only.txt", b"https://example.org/a\nhttps://example.org/b\n", "no article text"),
    ],
    ids=["empty", "blank", "binary", "undecodable", "urls-only"],
)
def test_unreadable_files_raise_naming_the_file(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(IngestError) as info:
        list(read_articles([path]))
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    assert message in text


def test_unreadable_files_are_recorded_when_skipping(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"")
    (tmp_path / "c.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "d.txt").write_text(SHORT_QUOTE, encoding="utf-8")
    skipped: list[SkippedInput] = []
    arts = list(read_articles([tmp_path], skipped))
    assert [a.doc_id for a in arts] == ["a", "d"]
    assert [s.source for s in skipped] == [str(tmp_path / "b.txt"), str(tmp_path / "c.txt")]
    assert "the file is empty" in skipped[0].reason
    assert "NUL bytes" in skipped[1].reason


def _jsonl(path: Path, rows: list[object | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_corpus(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "corpus.jsonl", [
        {"id": "n1", "text": ARTICLE, "published": "2018-06-01", "url": "https://example.org/n1"},
        {"id": "n2", "text": "https://example.org/n2\n" + SHORT_QUOTE},
    ])
    arts = list(read_articles([path]))
    assert [a.doc_id for a in arts] == ["n1", "n2"]
    assert arts[0].text == ARTICLE
    assert arts[0].published == "2018-06-01"
    assert arts[0].url == "https://example.org/n1"
    assert arts[0].source_path == f"{path}:1"
    assert arts[1].published is None
    assert arts[1].urls == ("https://example.org/n2",)
    assert arts[1].text.strip() == SHORT_QUOTE.strip()
    assert len(arts[1].text) == len("https://example.org/n2\n" + SHORT_QUOTE)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"id": "n2", "text": ', "not a valid UTF-8 JSON line"),
        ('["n2", "text"]', "each line must be a JSON object"),
        ('{"id": "n2"}', "missing or empty 'text'"),
        ('{"text": "会談しました。"}', "missing 'id'"),
        ('{"id": "n2", "text": "会談しました。", "published": "31日"}', "'published' is not an ISO date"),
    ],
    ids=["truncated", "not-object", "no-text", "no-id", "bad-date"],
)
def test_malformed_jsonl_line_names_file_and_line(tmp_path: Path, bad: str, message: str) -> None:
    path = _jsonl(tmp_path / "corpus.jsonl", [{"id": "n1", "text": ARTICLE}, bad, {"id": "n3", "text": ARTICLE}])
    with pytest.raises(IngestError) as info:
        list(read_articles([path]))
    assert str(info.value).startswith(f"{path}:2: ")
    assert message in str(info.value)


def test_malformed_jsonl_line_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "corpus.jsonl", [
        {"id": "n1", "text": ARTICLE}, '{"id": "n2", "text": ', "", {"id": "n4", "text": SHORT_QUOTE}])
    skipped: list[SkippedInput] = []
    arts = list(read_articles([path], skipped))
    assert [(a.doc_id, a.source_path) for a in arts] == [("n1", f"{path}:1"), ("n4", f"{path}:4")]
    assert len(skipped) == 1
    assert skipped[0].source == f"{path}:2"
    assert skipped[0].reason.startswith(f"{path}:2: not a valid UTF-8 JSON line")


def test_read_jsonl_records_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"id": "a", "text": "\xe4\xbc\x9a\xe8\xab\x87"}\n\xff\xfe\n{"id": "b", "text": "x"}\n')
    skipped: list[SkippedInput] = []
    assert [a.doc_id for a in read_jsonl(path, skipped)] == ["a", "b"]
    assert [s.source for s in skipped] == [f"{path}:2"]


def test_duplicate_document_ids_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    first = tmp_path / "a.txt"
    second = tmp_path / "x" / "a.txt"
    first.write_text(ARTICLE, encoding="utf-8")
    second.write_text(SHORT_QUOTE, encoding="utf-8")
    with pytest.raises(IngestError) as info:
        list(read_articles([tmp_path]))
    assert str(info.value) == f"{second}: document id 'a' is already used by {first}"


def test_duplicate_ids_inside_a_corpus_are_an_error(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [{"id": "n1", "text": ARTICLE}, {"id": "n1", "text": SHORT_QUOTE}])
    with pytest.raises(IngestError, match=r"c\.jsonl:2: document id 'n1' is already used by .*c\.jsonl:1"):
        list(read_articles([path]))


def test_duplicate_corpus_line_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [
        {"id": "n1", "text": ARTICLE}, {"id": "n1", "text": SHORT_QUOTE}, {"id": "n3", "text": HEADLINE}])
    skipped: list[SkippedInput] = []
    arts = list(read_articles([path], skipped))
    assert [a.doc_id for a in arts] == ["n1", "n3"]
    assert len(skipped) == 1
    assert "document id 'n1' is already used" in skipped[0].reason


def test_directories_are_expanded_in_sorted_order(tmp_path: Path) -> None:
    # created out of order, with a sub-folder, a sidecar, a hidden file and an unrelated file
    for rel in ["c.txt", "a/z.txt", "b.txt", "a/m.txt", ".hidden.txt"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.meta.json").write_text('{"published": "2018-06-01"}', encoding="utf-8")
    (tmp_path / "notes.csv").write_text("a,b\n", encoding="utf-8")
    _jsonl(tmp_path / "d.jsonl", [{"id": "d1", "text": ARTICLE}])
    arts = list(read_articles([tmp_path]))
    assert [a.doc_id for a in arts] == ["m", "z", "b", "c", "d1"]
    assert [a.published for a in arts] == [None, None, "2018-06-01", None, None]


def test_inputs_are_read_in_the_order_given(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(ARTICLE, encoding="utf-8")
    arts = list(read_articles([tmp_path / "b.txt", tmp_path / "a.txt"]))
    assert [a.doc_id for a in arts] == ["b", "a"]


def test_nonexistent_path_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-article.txt"
    with pytest.raises(IngestError) as info:
        list(read_articles([missing]))
    assert str(info.value) == f"{missing}: no such file or directory"


def test_nonexistent_path_is_an_error_even_when_skipping(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    missing = tmp_path / "missing"
    with pytest.raises(IngestError, match="no such file or directory"):
        list(read_articles([tmp_path / "a.txt", missing], []))


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    import hashlib

    data = ARTICLE.encode("shift_jis")
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    assert _read_one(path).sha256 == hashlib.sha256(data).hexdigest()
