"""Read articles: .txt files with optional NAME.meta.json sidecars, directories, and .jsonl corpora.

Text is decoded as UTF-8, else Shift_JIS / EUC-JP / other encodings found by charset-normalizer.
Leading URL lines of a .txt are source metadata, not text: they become ``Article.urls`` and are
blanked (kept as spaces) so character offsets still point into the file's text.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from kg.errors import IngestError
from kg.records import Article

URL_LINE = re.compile(r"^\s*(https?://\S+)\s*$")
DOC_ID_SAFE = re.compile(r"[^0-9A-Za-z_.\-\u3040-\u30ff\u3400-\u9fff]")
TEXT_SUFFIXES = {".txt", ".text", ".md"}
CORPUS_SUFFIXES = {".jsonl", ".ndjson"}
# Encodings tried in order before asking charset-normalizer: Japanese news comes in these.
JAPANESE_ENCODINGS = ("utf-8", "shift_jis", "cp932", "euc_jp", "iso2022_jp")


@dataclass(frozen=True)
class SkippedInput:
    """An input that could not be read, with the reason (reported, never dropped silently)."""

    source: str
    reason: str


def iter_inputs(paths: list[Path]) -> Iterator[Path]:
    """Expand directories into their article and corpus files, sorted for deterministic output."""
    for p in paths:
        if not p.exists():
            raise IngestError(f"{p}: no such file or directory")
        if p.is_dir():
            files = sorted(
                f for f in p.rglob("*")
                if f.is_file() and (f.suffix.lower() in TEXT_SUFFIXES | CORPUS_SUFFIXES)
                and not f.name.startswith(".")
            )
            yield from files
        else:
            yield p


def decode_bytes(data: bytes, source: str) -> str:
    """Decode article bytes; raise IngestError for binary or undecodable content."""
    if not data.strip():
        raise IngestError(f"{source}: the file is empty")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{source}: looks like a binary file (NUL bytes), not an article")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
        if _looks_textual(text):
            return text
    except UnicodeDecodeError:
        pass
    # several legacy encodings may decode the same bytes: keep the most Japanese-looking result
    candidates = []
    for enc in JAPANESE_ENCODINGS[1:]:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _looks_textual(text):
            candidates.append((_japanese_score(text), -len(candidates), text))
    if candidates:
        return max(candidates)[2]
    best = from_bytes(data).best()
    if best is not None:
        text = str(best)
        if _looks_textual(text):
            return text
    raise IngestError(
        f"{source}: cannot decode the text (tried UTF-8, Shift_JIS, EUC-JP and detection); "
        "convert it to UTF-8"
    )


def _japanese_score(text: str) -> float:
    """Share of hiragana, full-width katakana and kanji, less half-width katakana (a sign of a wrong guess)."""
    good = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or ch in "、。「」")
    bad = sum(1 for ch in text if "\uff61" <= ch <= "\uff9f")
    return (good - 2 * bad) / max(1, len(text))


def _looks_textual(text: str) -> bool:
    """Reject decodings that are mostly control or unassigned characters."""
    if not text:
        return False
    bad = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Cn", "Co") and ch not in "\n\r\t\f")
    return bad / len(text) < 0.01


def split_url_lines(text: str) -> tuple[str, tuple[str, ...]]:
    """Blank leading URL lines (and blank lines between them), returning the text and the URLs.

    The URL characters are replaced by spaces so that offsets into the returned text equal
    offsets into the original file's text.
    """
    urls: list[str] = []
    out: list[str] = []
    in_header = True
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if in_header:
            m = URL_LINE.match(body)
            if m:
                urls.append(m.group(1))
                out.append(" " * len(body) + line[len(body):])
                continue
            if not body.strip():
                out.append(line)
                continue
            in_header = False
        out.append(line)
    return "".join(out), tuple(urls)


def normalize_date(value: object, source: str) -> str | None:
    """An ISO date string (YYYY-MM-DD) from a sidecar/corpus field, or None."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise IngestError(f"{source}: 'published' must be a string like 2018-06-01, got {value!r}")
    s = value.strip()
    try:
        return _dt.date.fromisoformat(s[:10]).isoformat()
    except ValueError:
        pass
    try:
        return _dt.datetime.fromisoformat(s.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise IngestError(f"{source}: 'published' is not an ISO date: {value!r}") from None


def make_doc_id(name: str) -> str:
    """A document id from a file stem or corpus id: safe in IRIs and file names."""
    s = unicodedata.normalize("NFKC", name).strip()
    s = DOC_ID_SAFE.sub("_", s)
    return s or "doc"


def read_sidecar(path: Path) -> dict:
    meta_path = path.with_name(path.stem + ".meta.json")
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"{meta_path}: not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise IngestError(f"{meta_path}: must be a JSON object with 'published' and 'url'")
    return meta


_URL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(s: str) -> str:
    """Text with unpaired surrogates (not Unicode characters at all) replaced by U+FFFD, one for one,
    so offsets into it stay valid."""
    return _SURROGATE.sub("\ufffd", s)


def _metadata(meta: dict, where: str, text: str, default_id: str | None) -> dict:
    """Checked article fields from a sidecar or a corpus line; IngestError naming ``where`` when one is bad."""

    def string(key: str) -> str | None:
        v = meta.get(key)
        if v in (None, ""):
            return None
        if not isinstance(v, str):
            raise IngestError(f"{where}: {key!r} must be a string, got {type(v).__name__}")
        return clean_text(v)

    doc = meta.get("id", default_id)
    if isinstance(doc, bool) or not isinstance(doc, str | int) or str(doc).strip() == "":
        raise IngestError(f"{where}: missing or invalid 'id' (a string or a number)")
    body, urls = split_url_lines(clean_text(text).replace("\r\n", "\n"))
    if not body.strip():
        raise IngestError(f"{where}: no article text (only URL lines or blank)")
    url = string("url")
    extra = meta.get("urls") or []
    if not isinstance(extra, list) or not all(isinstance(u, str) for u in extra):
        raise IngestError(f"{where}: 'urls' must be a list of strings")
    for u in [url, *extra]:
        if u is not None and not _URL.match(u):
            raise IngestError(f"{where}: not an http(s) URL: {u!r}")
    url = url or (extra[0] if extra else None) or (urls[0] if urls else None)
    lang = string("lang") or "ja"
    if not _LANG.match(lang):
        raise IngestError(f"{where}: 'lang' must be a language tag such as ja or en, got {lang!r}")
    return {
        "doc_id": make_doc_id(clean_text(str(doc))),
        "text": body,
        "published": normalize_date(meta.get("published"), where),
        "url": url,
        "urls": tuple(dict.fromkeys(u for u in [url, *extra, *urls] if u)),
        "title": string("title"),
        "lang": lang,
    }


def read_text_file(path: Path) -> Article:
    """Read one .txt article and its NAME.meta.json sidecar."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror}") from exc
    raw = decode_bytes(data, str(path))
    meta = read_sidecar(path)
    where = str(path.with_name(path.stem + ".meta.json")) if meta else str(path)
    if not split_url_lines(raw)[0].strip():
        raise IngestError(f"{path}: no article text (only URL lines or blank)")
    fields = _metadata(meta, where, raw, path.stem)
    return Article(**fields, source_path=str(path), sha256=hashlib.sha256(data).hexdigest())


def jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a JSONL file with their line numbers; IngestError when it cannot be opened."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror}") from exc
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                yield lineno, raw


def read_jsonl(path: Path, skipped: list[SkippedInput] | None = None) -> Iterator[Article]:
    """Articles of a JSONL corpus: one object per line with id, text, optional published, url, lang, title.

    A malformed line raises IngestError naming the file and line, unless ``skipped`` is given,
    in which case it is recorded there and the rest of the corpus is read.
    """
    for lineno, raw in jsonl_lines(path):
        where = f"{path}:{lineno}"
        try:
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise IngestError(f"{where}: not a valid UTF-8 JSON line: {exc}") from exc
            if not isinstance(obj, dict):
                raise IngestError(f"{where}: each line must be a JSON object")
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise IngestError(f"{where}: missing or empty 'text'")
            if obj.get("id") in (None, ""):
                raise IngestError(f"{where}: missing 'id'")
            fields = _metadata(obj, where, text, None)
            yield Article(**fields, source_path=where, sha256=hashlib.sha256(raw).hexdigest())
        except IngestError as exc:
            if skipped is None:
                raise
            skipped.append(SkippedInput(where, _reason(exc, where)))


def read_articles(paths: list[Path], skipped: list[SkippedInput] | None = None,
                  exclude: Path | None = None) -> Iterator[Article]:
    """Every article under ``paths``. With ``skipped``, bad inputs are recorded there and skipped;
    without it, the first bad input raises IngestError. A document id used twice is an error for the
    second use. Files under ``exclude`` (the build's own output folder) are not read."""
    seen: dict[str, str] = {}
    excluded = exclude.resolve() if exclude is not None else None
    for path in iter_inputs(paths):
        if excluded is not None and (path.resolve() == excluded or excluded in path.resolve().parents):
            continue
        if path.name.endswith(".meta.json"):
            continue
        try:
            if path.suffix.lower() in CORPUS_SUFFIXES:
                articles: Iterator[Article] = read_jsonl(path, skipped)
            else:
                articles = iter([read_text_file(path)])
            for art in articles:
                if art.doc_id in seen:
                    exc = IngestError(
                        f"{art.source_path}: document id {art.doc_id!r} is already used by {seen[art.doc_id]}")
                    if skipped is None:
                        raise exc
                    skipped.append(SkippedInput(art.source_path or str(path), _reason(exc, art.source_path)))
                    continue
                seen[art.doc_id] = art.source_path or ""
                yield art
        except IngestError as exc:
            if skipped is None:
                raise
            skipped.append(SkippedInput(str(path), _reason(exc, str(path))))


def _reason(exc: Exception, source: str | None) -> str:
    """The error message (it names the file, and the line for a corpus)."""
    return str(exc)
