"""Long articles, parsed and extracted in pieces so that memory and time stay proportional to length.

An article longer than :data:`CHUNK_CHARS` characters is cut into consecutive chunks at paragraph
ends (else line ends, else sentence ends, else a comma, else hard at the limit). Each chunk is
parsed and extracted on its own, as an article of its own text, and the offsets of its evidence
are moved by the chunk's start, so they point into the whole article. The chunks' entities are
merged by key, and their statements too when they say the same thing (a post by its holder, post
and state; anything else when all but the evidence is equal), with the evidence of each: what a
reader gets is one article's :class:`DocumentStatements`. References across a chunk boundary (同氏, a surname alone, 同長官) are
not resolved; an article of ordinary length is one chunk, extracted exactly as before.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Iterator
from itertools import groupby

from kg.errors import ExtractError
from kg.records import Article, DocumentStatements, EntityRecord, Evidence, PositionStatement, Statement

#: Articles longer than this (characters) are parsed and extracted chunk by chunk.
CHUNK_CHARS = 20_000
#: A chunk is not cut before this share of CHUNK_CHARS when it looks for a good place to cut.
_MIN_SHARE = 0.5
#: Where a chunk may end, best first: a paragraph, a line, a sentence, a clause.
_CUTS = ("\n\n", "\n", "。", "！", "？", "!", "?", "、")

Progress = Callable[[Article, int, int], None]


def split_article(text: str, limit: int | None = None) -> list[tuple[int, str]]:
    """``(offset, chunk)`` pairs: consecutive slices of ``text`` (joined, they give it back), each at most
    ``limit`` (default CHUNK_CHARS) characters, cut at the best boundary in the second half of the window."""
    limit = limit or CHUNK_CHARS
    out: list[tuple[int, str]] = []
    start, n = 0, len(text)
    while n - start > limit:
        window_end = start + limit
        low = start + int(limit * _MIN_SHARE)
        cut = window_end
        for sep in _CUTS:
            i = text.rfind(sep, low, window_end)
            if i >= 0:
                cut = i + len(sep)
                break
        out.append((start, text[start:cut]))
        start = cut
    out.append((start, text[start:]))
    return out


def _shift(ev: Evidence, offset: int) -> Evidence:
    return dataclasses.replace(ev, start=ev.start + offset, end=ev.end + offset)


def _shifted(record: Statement, offset: int) -> Statement:
    if offset == 0:
        return record
    return dataclasses.replace(record, evidence=tuple(_shift(e, offset) for e in record.evidence))  # type: ignore[arg-type]


_TYPE_RANK = {"Official": 0, "Person": 1}


def _merge_entities(records: list[EntityRecord]) -> EntityRecord:
    """One record per key across chunks: the most specific type (an Official is also a Person), the
    preferred label by the rule extraction uses (a full katakana name, then the longest), every name."""
    if len(records) == 1:
        return records[0]
    first = records[0]
    etype = min((r.type for r in records), key=lambda t: (_TYPE_RANK.get(t, 2), t != first.type))
    labels = list(dict.fromkeys(r.label for r in records))
    label = first.label if len(labels) == 1 or first.wikidata else max(labels, key=lambda n: ("・" in n, len(n)))
    names = dict.fromkeys(n for r in records for n in (r.label, *r.alt_labels))
    return dataclasses.replace(
        first, type=etype, label=label, alt_labels=tuple(n for n in names if n != label),
        wikidata=next((r.wikidata for r in records if r.wikidata), None),
        iso=next((r.iso for r in records if r.iso), None),
        part_of=next((r.part_of for r in records if r.part_of), None),
        located_in=next((r.located_in for r in records if r.located_in), None),
    )


def merge_chunks(article: Article, parts: list[tuple[int, DocumentStatements]]) -> DocumentStatements:
    """One article's statements from those of its chunks (``(offset, statements)`` in text order)."""
    if len(parts) == 1 and parts[0][0] == 0:
        ds = parts[0][1]
        return ds if ds.article is article else DocumentStatements(article, ds.entities, ds.statements)
    by_key: dict[str, list[EntityRecord]] = {}
    statements: dict[tuple, Statement] = {}
    for offset, ds in parts:
        for e in ds.entities:
            by_key.setdefault(e.key, []).append(_shifted(e, offset))  # type: ignore[arg-type]
        for st in ds.statements:
            st = _shifted(st, offset)
            key = _identity(st)
            seen = statements.get(key)
            statements[key] = st if seen is None else _joined(seen, st)
    entities = tuple(_merge_entities(rs) for rs in by_key.values())
    return DocumentStatements(article, entities, tuple(statements.values()))


def _identity(st: Statement) -> tuple:
    """What makes two chunks' statements one, as extraction does within a text: a post by its holder, post
    and state or organization; anything else when every field but the evidence is the same."""
    if isinstance(st, PositionStatement):
        return ("position", st.holder, st.post, st.of)
    return (type(st).__name__, *(getattr(st, f.name) for f in dataclasses.fields(st) if f.name != "evidence"))


def _joined(a: Statement, b: Statement) -> Statement:
    """``a`` with the evidence of ``b`` (and, for a post, the titles it was written with) added."""
    evidence = tuple(dict.fromkeys((*a.evidence, *b.evidence)))
    if isinstance(a, PositionStatement) and isinstance(b, PositionStatement):
        return dataclasses.replace(a, titles=tuple(dict.fromkeys((*a.titles, *b.titles))), evidence=evidence)
    return dataclasses.replace(a, evidence=evidence)  # type: ignore[arg-type]


def extract_batch(articles: list[Article], progress: Progress | None = None
                  ) -> list[DocumentStatements | ExtractError]:
    """Parse and extract ``articles`` in this process, each long one chunk by chunk.

    The chunks of all the articles go through the parser as one stream (short articles are still
    parsed in batches), and each chunk is extracted as soon as it is parsed, so at most a chunk's
    parse is held at a time. ``progress(article, done, total)`` is called after each chunk of an
    article of more than one chunk. An article whose extraction fails gives an ExtractError naming
    it, in its place: the other articles are not affected.
    """
    from kg.build.extract import extract_document
    from kg.build.nlp import parse_many

    plan = [(i, off, text) for i, a in enumerate(articles) for off, text in split_article(a.text)]
    totals = {i: sum(1 for p in plan if p[0] == i) for i in range(len(articles))}
    docs = parse_many(text for _, _, text in plan)

    def extracted() -> Iterator[tuple[int, int, DocumentStatements | ExtractError]]:
        done: dict[int, int] = {}
        failed: set[int] = set()
        for (i, off, text), doc in zip(plan, docs, strict=True):
            if i in failed:
                continue
            art = articles[i]
            sub = art if off == 0 and len(text) == len(art.text) else dataclasses.replace(art, text=text)
            try:
                ds: DocumentStatements | ExtractError = extract_document(sub, doc)
            except Exception as exc:  # a fault in one article must not stop the corpus
                failed.add(i)
                where = art.source_path or art.doc_id
                why = (str(exc).strip().splitlines() or [""])[0][:200]
                ds = ExtractError(f"{where}: extraction failed at character {off}: {type(exc).__name__}: {why}")
            del doc
            done[i] = done.get(i, 0) + 1
            if progress is not None and totals[i] > 1:
                progress(art, done[i], totals[i])
            yield i, off, ds

    out: list[DocumentStatements | ExtractError] = []
    for i, group in groupby(extracted(), key=lambda x: x[0]):
        parts = [(off, ds) for _, off, ds in group]
        error = next((ds for _, ds in parts if isinstance(ds, ExtractError)), None)
        out.append(error if error is not None else
                   merge_chunks(articles[i], [(off, ds) for off, ds in parts if isinstance(ds, DocumentStatements)]))
    return out


def extract_article(article: Article, progress: Progress | None = None) -> DocumentStatements:
    """Entities and statements of one article, parsed and extracted chunk by chunk when it is long.
    Raises ExtractError naming the article when extraction fails."""
    result = extract_batch([article], progress)[0]
    if isinstance(result, ExtractError):
        raise result
    return result


def report_progress(article: Article, done: int, total: int) -> None:
    """Progress of a long article on stderr: one line, rewritten in place on a terminal."""
    name = article.source_path or article.doc_id
    end = "\n" if done == total or not sys.stderr.isatty() else "\r"
    print(f"  {name}: {len(article.text):,} characters, chunk {done} of {total}", end=end, file=sys.stderr,
          flush=True)


#: Seconds between two lines of :func:`report_progress_lines` (stderr not a terminal: CI logs).
LINE_EVERY = 10.0
_last_line = [float("-inf")]


def report_progress_lines(article: Article, done: int, total: int) -> None:
    """:func:`report_progress` for a log rather than a terminal: a line at most every LINE_EVERY seconds
    (per process), so that an article that takes minutes shows it is being worked on, and a corpus of
    two-chunk articles does not fill the log."""
    now = time.monotonic()
    if now - _last_line[0] >= LINE_EVERY:
        _last_line[0] = now
        report_progress(article, done, total)


def chunk_reporter() -> Progress:
    """How this process reports the chunks of long articles: rewritten in place on a terminal, else a
    line now and then."""
    return report_progress if sys.stderr.isatty() else report_progress_lines
