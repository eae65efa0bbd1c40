"""Read articles: .txt files with optional NAME.meta.json sidecars, directories, and .jsonl corpora.

Text is decoded as UTF-8, else Shift_JIS / EUC-JP / other encodings found by charset-normalizer.
Leading URL lines of a .txt are source metadata, not text: they become ``Article.urls`` and are
blanked (kept as spaces) so character offsets still point into the file's text.

Limits (each bad input is skipped and named, or with --strict stops the build):

- an article (a .txt file or a .jsonl line) of more than ``max_bytes`` (MAX_ARTICLE_BYTES unless
  the caller says otherwise) is refused without being read whole;
- a file with NUL bytes in more than 1% of its bytes is binary; fewer NUL characters are removed
  from the text, with a warning;
- a ``published`` date outside PUBLISHED_RANGE is treated as unknown, with a warning (the
  article is built, its relative dates stay unresolved);
- a sidecar larger than MAX_SIDECAR_BYTES is refused; a broken or looping symbolic link is
  listed as skipped, with the reason.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from kg import jsonio
from kg.errors import IngestError
from kg.outputs import special_kind
from kg.records import Article

URL_LINE = re.compile(r"^\s*(https?://\S+)\s*$")
DOC_ID_SAFE = re.compile(r"[^0-9A-Za-z_.\-\u3040-\u30ff\u3400-\u9fff]")
TEXT_SUFFIXES = {".txt", ".text", ".md"}
CORPUS_SUFFIXES = {".jsonl", ".ndjson"}
# Encodings tried in order before asking charset-normalizer: Japanese news comes in these.
JAPANESE_ENCODINGS = ("utf-8", "shift_jis", "cp932", "euc_jp", "iso2022_jp")
#: The largest article (bytes of a .txt file or of a .jsonl line) read by default (kg build --max-article-size).
MAX_ARTICLE_BYTES = 5_000_000
#: The largest NAME.meta.json sidecar read.
MAX_SIDECAR_BYTES = 1_000_000
#: A file with NUL bytes in more than this share of its bytes is binary, not an article.
BINARY_NUL_SHARE = 0.01
#: ``published`` dates outside this range are treated as unknown (relative dates are counted from them).
PUBLISHED_RANGE = (_dt.date(1800, 1, 1), _dt.date(2199, 12, 31))


@dataclass(frozen=True)
class SkippedInput:
    """An input that could not be read, with the reason (reported, never dropped silently)."""

    source: str
    reason: str


def iter_inputs(paths: list[Path], skipped: list[SkippedInput] | None = None) -> Iterator[Path]:
    """Expand directories into their article and corpus files, sorted for deterministic output.

    Hidden files and folders (.git, a build's .kg-cache) are not read. What cannot be an article is
    recorded in ``skipped`` (or raises IngestError without it): a broken or looping symbolic link, a
    FIFO, device or socket under an article's name, a name that is not UTF-8, a folder that cannot be
    listed or a path longer than the system allows. A path given on the command line must exist and
    be a file or a folder.
    """

    def skip(exc: IngestError) -> None:
        if skipped is None:
            raise exc
        skipped.append(SkippedInput(exc.source, str(exc)))  # type: ignore[attr-defined]

    for p in paths:
        if not p.exists():
            raise IngestError(_missing(p))
        if p.is_dir():
            for f in _walk(p, skip):
                if f.suffix.lower() not in TEXT_SUFFIXES | CORPUS_SUFFIXES:
                    continue
                why = _not_an_article(f)
                if why is None:
                    yield f
                else:
                    skip(_input_error(f, why))
        elif p.is_file():
            why = _not_an_article(p)
            if why is None:
                yield p
            else:
                skip(_input_error(p, why))
        else:
            raise IngestError(f"{p}: not a regular file or a folder")


def check_apart(inputs: list[Path], outdir: Path) -> None:
    """IngestError when an input is OUTDIR or lies inside it: a build never reads what builds write
    there, so that input would give nothing. (OUTDIR inside an input folder is fine: it is left out.)"""
    out = Path(outdir).resolve()
    for p in inputs:
        real = Path(p).resolve()
        if real == out or out in real.parents:
            where = "is the output folder" if real == out else f"is inside the output folder {outdir}"
            raise IngestError(f"{p}: {where}; kg build does not read its own output folder, so give the "
                              "articles from another folder, or another -o OUTDIR")


def shown(path: Path | str) -> str:
    """``path`` as text that can be printed and written to JSON: bytes of a name that are not UTF-8
    as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _input_error(path: Path | str, why: str) -> IngestError:
    exc = IngestError(f"{shown(path)}: {why}")
    exc.source = shown(path)  # type: ignore[attr-defined]
    return exc


def _walk(top: Path, skip: Callable[[IngestError], None]) -> list[Path]:
    """The files below ``top`` (not in hidden folders, links to folders not followed), sorted; a folder
    that cannot be listed (a path too long, no permission) goes to ``skip``."""
    found: list[Path] = []

    def failed(exc: OSError) -> None:
        name = exc.filename if exc.filename is not None else top
        if exc.errno == errno.ENAMETOOLONG:
            why = f"the path is longer than the system allows ({len(os.fsencode(name)):,} bytes); nothing below it is read"
        else:
            why = f"cannot list the folder: {exc.strerror or exc}"
        skip(_input_error(name, why))

    for folder, dirs, files in os.walk(top, onerror=failed):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(folder, f) for f in files if not f.startswith("."))
        found.extend(Path(folder, d) for d in dirs if os.path.islink(os.path.join(folder, d)))
    return sorted(found)


def _not_an_article(f: Path) -> str | None:
    """Why ``f`` (found in a folder, named like an article) cannot be read, or None when it can."""
    try:
        os.fsencode(f).decode("utf-8")
    except UnicodeDecodeError:
        return "the file name is not valid UTF-8; rename it"
    try:
        st = os.stat(f)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return f"the path is longer than the system allows ({len(os.fsencode(f)):,} bytes)"
        if f.is_symlink():
            return _missing(f).split(": ", 1)[1]
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return "a folder named like an article, reached through a symbolic link; not followed"
    return f"{special_kind(f) or 'not a regular file'}, not an article file"


def _missing(p: Path) -> str:
    """Why ``p`` cannot be opened: no such file, a broken symbolic link, or a loop of links."""
    if p.is_symlink():
        try:
            os.stat(p)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return f"{p}: a loop of symbolic links"
            return f"{p}: a broken symbolic link (its target {os.readlink(p)} does not exist)"
    return f"{p}: no such file or directory"


def decode_bytes(data: bytes, source: str) -> str:
    """Decode article bytes; raise IngestError for binary or undecodable content. A few NUL bytes are
    removed before decoding (outside UTF-16), so one inside a multibyte character does not spoil it."""
    if not data.strip():
        raise IngestError(f"{source}: the file is empty")
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if data.count(b"\x00") > BINARY_NUL_SHARE * len(data) and not utf16:
        raise IngestError(f"{source}: looks like a binary file (NUL bytes), not an article")
    if not utf16:  # a NUL is no part of a character in these encodings, even inside a multibyte one
        data = data.replace(b"\x00", b"")
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
        if _looks_textual(text) and (score := _japanese_score(text)) > 0:  # else noise read as half-width kana
            candidates.append((score, -len(candidates), text))
    if candidates:
        return max(candidates)[2]
    best = from_bytes(data).best()
    if best is not None:
        text = str(best)
        if _looks_textual(text) and _looks_like_language(text):
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


#: Scripts written without spaces between words.
_UNSPACED = frozenset(["CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN"])


def _looks_like_language(text: str) -> bool:
    """Whether a detected decoding reads as writing rather than noise: its letters in at most three
    scripts (random bytes decoded as UTF-16 mix a dozen), few symbols, and, in scripts that separate
    words, spaces between them (random bytes decoded as a Cyrillic or Latin code page have almost none).
    Fewer than 32 letters are too few to tell."""
    scripts: dict[str, int] = {}
    symbols = spaces = 0
    for ch in text:
        if ch.isalpha():
            script = unicodedata.name(ch, "? ?").split(" ", 1)[0]
            scripts[script] = scripts.get(script, 0) + 1
        elif ch.isspace():
            spaces += 1
        elif unicodedata.category(ch) in ("So", "Sk", "Sm", "Co", "Cn", "Cs"):
            symbols += 1
    letters = sum(scripts.values())
    if letters < 32 or letters < 0.5 * (len(text) - spaces):  # too short to tell, or mostly not letters
        return False
    top = sorted(scripts.values(), reverse=True)
    if sum(top[:3]) < 0.95 * letters or symbols > 0.05 * len(text):
        return False
    unspaced = sum(n for sc, n in scripts.items() if sc in _UNSPACED)
    return unspaced >= 0.5 * letters or spaces >= 0.05 * len(text)


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


_YEAR_OUT_OF_REACH = re.compile(r"[+-]?(?:0000|\d{5,})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])")


def normalize_date(value: object, source: str, warnings: list[str] | None = None) -> str | None:
    """An ISO date string (YYYY-MM-DD) from a sidecar/corpus field, or None.

    A date outside PUBLISHED_RANGE (9999-12-31, 0001-01-01) is no reference for relative dates: it is
    treated as unknown, and a warning naming ``source`` goes to ``warnings``.
    """
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise IngestError(f"{source}: 'published' must be a string like 2018-06-01, got {value!r}")
    s = value.strip()
    low, high = PUBLISHED_RANGE
    try:
        day = _dt.date.fromisoformat(s[:10])
    except ValueError:
        try:
            day = _dt.datetime.fromisoformat(s.replace("Z", "+00:00")).date()
        except (ValueError, OverflowError):
            y = _YEAR_OUT_OF_REACH.match(s)
            if y is None:
                raise IngestError(f"{source}: 'published' is not an ISO date: {value!r}") from None
            # an ISO date whose year Python has no date for (0000, 10000): as out of range as 9999-12-31
            if warnings is not None:
                warnings.append(f"{source}: 'published' {s[:y.end()]} is outside {low.isoformat()} to "
                                f"{high.isoformat()}; taken as unknown (relative dates stay unresolved)")
            return None
    if not low <= day <= high:
        if warnings is not None:
            warnings.append(f"{source}: 'published' {day.isoformat()} is outside {low.isoformat()} to "
                            f"{high.isoformat()}; taken as unknown (relative dates stay unresolved)")
        return None
    return day.isoformat()


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
        with meta_path.open("rb") as fh:
            raw = fh.read(MAX_SIDECAR_BYTES + 1)
    except OSError as exc:
        raise IngestError(f"{meta_path}: cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_SIDECAR_BYTES:
        raise IngestError(f"{meta_path}: larger than {MAX_SIDECAR_BYTES:,} bytes; a sidecar holds a few fields")
    try:
        meta = jsonio.loads(raw)
    except jsonio.JsonInputError as exc:
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


def drop_nuls(text: str, source: str, warnings: list[str] | None) -> str:
    """``text`` without NUL characters (never part of an article: left by broken converters), with a
    warning naming ``source`` when there were any. Offsets are those of the text without them."""
    n = text.count("\x00")
    if not n:
        return text
    if warnings is not None:
        warnings.append(f"{source}: {n} NUL character(s) removed from the text")
    return text.replace("\x00", "")


def _metadata(meta: dict, where: str, text: str, default_id: str | None,
              warnings: list[str] | None = None, text_source: str | None = None) -> dict:
    """Checked article fields from a sidecar or a corpus line; IngestError naming ``where`` when one is bad.
    Warnings (a date taken as unknown, NULs removed) go to ``warnings``."""
    text = drop_nuls(text, text_source or where, warnings)

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
        "published": normalize_date(meta.get("published"), where, warnings),
        "url": url,
        "urls": tuple(dict.fromkeys(u for u in [url, *extra, *urls] if u)),
        "title": string("title"),
        "lang": lang,
    }


def too_large(source: str, size: int, max_bytes: int, more: bool = False, what: str = "the article") -> IngestError:
    return IngestError(f"{source}: {what} is {size:,}{'+' if more else ''} bytes, more than the "
                       f"{max_bytes:,} an article may have (raise the limit with --max-article-size)")


def read_text_file(path: Path, max_bytes: int = MAX_ARTICLE_BYTES, warnings: list[str] | None = None) -> Article:
    """Read one .txt article and its NAME.meta.json sidecar (at most ``max_bytes`` of text)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise too_large(str(path), size, max_bytes)
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)  # a file that grows while read is not read without end
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise too_large(str(path), len(data), max_bytes, more=True)
    raw = decode_bytes(data, str(path))  # without NUL bytes
    nuls = 0 if data.startswith((b"\xff\xfe", b"\xfe\xff")) else data.count(b"\x00")
    if nuls and warnings is not None:
        warnings.append(f"{path}: {nuls} NUL character(s) removed from the text")
    meta = read_sidecar(path)
    where = str(path.with_name(path.stem + ".meta.json")) if meta else str(path)
    if not split_url_lines(raw.replace("\x00", ""))[0].strip():
        raise IngestError(f"{path}: no article text (only URL lines or blank)")
    fields = _metadata(meta, where, raw, path.stem, warnings, text_source=str(path))
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


def bounded_lines(path: Path, max_bytes: int) -> Iterator[tuple[int, bytes | int]]:
    """The non-blank lines of a file with their numbers; a line longer than ``max_bytes`` is not kept
    in memory: its length is given instead of its bytes."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror}") from exc
    with fh:
        lineno = 0
        while True:
            raw = fh.readline(max_bytes + 2)
            if not raw:
                return
            lineno += 1
            if len(raw) > max_bytes + 1 or (len(raw) == max_bytes + 1 and not raw.endswith(b"\n")):
                size = len(raw)
                while not raw.endswith(b"\n"):
                    raw = fh.readline(1 << 20)
                    if not raw:
                        break
                    size += len(raw)
                yield lineno, size - (1 if raw.endswith(b"\n") else 0)
            elif raw.strip():
                yield lineno, raw


def read_jsonl(path: Path, skipped: list[SkippedInput] | None = None, max_bytes: int = MAX_ARTICLE_BYTES,
               warnings: list[str] | None = None) -> Iterator[Article]:
    """Articles of a JSONL corpus: one object per line with id, text, optional published, url, lang, title.

    A malformed line, or one longer than ``max_bytes``, raises IngestError naming the file and line,
    unless ``skipped`` is given, in which case it is recorded there and the rest of the corpus is read.
    """
    # JSON may escape each character of the text as \uXXXX: twice its UTF-8 size, plus the other fields
    for lineno, raw in bounded_lines(path, 2 * max_bytes + 65536):
        where = f"{path}:{lineno}"
        try:
            if isinstance(raw, int):
                raise too_large(where, raw, max_bytes, what="the line")
            try:
                obj = jsonio.loads(raw)
            except jsonio.JsonInputError as exc:
                raise IngestError(f"{where}: not a valid UTF-8 JSON line: {exc}") from exc
            if not isinstance(obj, dict):
                raise IngestError(f"{where}: each line must be a JSON object")
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise IngestError(f"{where}: missing or empty 'text'")
            if len(text) * 3 > max_bytes and (size := len(text.encode("utf-8", "surrogatepass"))) > max_bytes:
                raise too_large(where, size, max_bytes)
            if obj.get("id") in (None, ""):
                raise IngestError(f"{where}: missing 'id'")
            fields = _metadata(obj, where, text, None, warnings)
            yield Article(**fields, source_path=where, sha256=hashlib.sha256(raw).hexdigest())
        except IngestError as exc:
            if skipped is None:
                raise
            skipped.append(SkippedInput(where, _reason(exc, where)))


def read_articles(paths: list[Path], skipped: list[SkippedInput] | None = None,
                  exclude: Path | None = None, *, max_bytes: int = MAX_ARTICLE_BYTES,
                  warnings: list[str] | None = None) -> Iterator[Article]:
    """Every article under ``paths``. With ``skipped``, bad inputs are recorded there and skipped;
    without it, the first bad input raises IngestError. A document id used twice is an error for the
    second use. Files under ``exclude`` (the build's own output folder) are not read. An article of
    more than ``max_bytes`` is a bad input; what is read with a doubt goes to ``warnings``. A copy of
    an article's text under the same id is not a second use: it is read (merged later)."""
    seen: dict[str, tuple[str, str]] = {}
    excluded = exclude.resolve() if exclude is not None else None
    for path in iter_inputs(paths, skipped):
        if excluded is not None and (path.resolve() == excluded or excluded in path.resolve().parents):
            continue
        if path.name.endswith(".meta.json"):
            continue
        try:
            if path.suffix.lower() in CORPUS_SUFFIXES:
                articles: Iterator[Article] = read_jsonl(path, skipped, max_bytes, warnings)
            else:
                articles = iter([read_text_file(path, max_bytes, warnings)])
            for art in articles:
                if art.doc_id in seen and seen[art.doc_id][1] == text_fingerprint(art.text):
                    yield art  # a copy of the same text (kg.build.pipeline.merge_copies makes them one document)
                    continue
                if art.doc_id in seen:
                    exc = IngestError(
                        f"{art.source_path}: document id {art.doc_id!r} is already used by {seen[art.doc_id][0]}")
                    if skipped is None:
                        raise exc
                    skipped.append(SkippedInput(art.source_path or str(path), _reason(exc, art.source_path)))
                    continue
                seen[art.doc_id] = (art.source_path or "", text_fingerprint(art.text))
                yield art
        except IngestError as exc:
            if skipped is None:
                raise
            skipped.append(SkippedInput(str(path), _reason(exc, str(path))))


_NOT_TEXT = frozenset(["Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "Zs", "Zl", "Zp", "Cc", "Cf"])


def text_fingerprint(text: str) -> str:
    """The identity of an article's text for finding copies: SHA-256 of its NFKC form without white
    space, punctuation and control characters, so a copy that differs only in line breaks, spaces,
    full- or half-width forms or punctuation (、。「」・) is the same text."""
    norm = unicodedata.normalize("NFKC", text)
    kept = "".join(ch for ch in norm if unicodedata.category(ch) not in _NOT_TEXT) or norm  # all punctuation: as is
    return hashlib.sha256(kept.encode("utf-8", "surrogatepass")).hexdigest()


def _reason(exc: Exception, source: str | None) -> str:
    """The error message (it names the file, and the line for a corpus)."""
    return str(exc)
