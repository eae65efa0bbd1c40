"""GiNZA (spaCy ja_ginza): loaded once per process, documents parsed in batches with nlp.pipe.

GiNZA's NER labels are Extended Named Entity (ENE) types (Person, Country, City, Government,
Position_Vocation, International_Organization, ...). They are kept as they are: the OntoNotes
mapping would throw away the distinctions recognition needs.

Sudachi refuses inputs over 49,149 bytes, and parsing time grows faster than sentence length,
so a text is parsed in chunks cut at line and sentence ends (a run-on sentence is cut at a comma,
or hard at a length limit), and the chunks are joined back into one Doc whose character offsets
are those of the text.
"""

from __future__ import annotations

import gc
import itertools
import re
import threading
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from kg.errors import NlpError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MODEL = "ja_ginza"
MAX_CHUNK_CHARS = 2000  # ~6 kB of UTF-8, far below Sudachi's limit
MAX_PIECE_CHARS = 250  # a sentence longer than this is cut at a comma (or hard), and parsed on its own
_lock = threading.Lock()
_nlp: Language | None = None


def load_model(name: str = MODEL) -> Language:
    """The spaCy pipeline, loaded on first use and then shared."""
    global _nlp
    with _lock:
        if _nlp is None:
            try:
                import spacy

                _nlp = spacy.load(name)
                # the model is hundreds of thousands of long-lived objects: keep them out of every later
                # garbage collection (which would otherwise scan them all each time the graph grows)
                gc.freeze()
            except OSError as exc:
                raise NlpError(
                    f"the Japanese model {name!r} is not installed: run `pip install ja-ginza ginza` "
                    f"(or `make install`) and try again ({exc})"
                ) from exc
        return _nlp


def _pieces(text: str) -> Iterator[tuple[str, bool]]:
    """Sentences and lines of ``text`` (they concatenate to it), each flagged True when it was cut out of a
    run-on sentence longer than MAX_PIECE_CHARS."""
    for m in re.finditer(r"[^。！？!?\n]*(?:[。！？!?]+|\n+|$)", text):
        s = m.group(0)
        cut_any = False
        while len(s) > MAX_PIECE_CHARS:
            cut = max(s.rfind("、", 0, MAX_PIECE_CHARS), s.rfind("，", 0, MAX_PIECE_CHARS))
            cut = cut + 1 if cut > MAX_PIECE_CHARS // 4 else MAX_PIECE_CHARS
            yield s[:cut], True
            s = s[cut:]
            cut_any = True
        if s:
            yield s, cut_any


def chunks(text: str) -> list[str]:
    """Consecutive slices of ``text`` (joined they give it back) of at most MAX_CHUNK_CHARS each; a piece
    of a run-on sentence is a chunk of its own, so no parse sees a sentence longer than MAX_PIECE_CHARS."""
    out: list[str] = []
    cur = ""
    for piece, was_cut in _pieces(text):
        if cur and (was_cut or len(cur) + len(piece) > MAX_CHUNK_CHARS):
            out.append(cur)
            cur = ""
        cur += piece
        if was_cut:
            out.append(cur)
            cur = ""
    if cur or not out:
        out.append(cur)
    return out


def parse(text: str) -> Doc:
    """Parse one text."""
    return next(parse_many([text]))


def parse_many(texts: Iterable[str], batch_size: int = 8) -> Iterator[Doc]:
    """Parse texts in batches; yields one Doc per text, in input order.

    The chunks of several texts go through one ``nlp.pipe`` call, so long and short texts alike
    are parsed in batches.
    """
    from spacy.tokens import Doc

    nlp = load_model()
    it = iter(texts)
    while True:
        group = list(itertools.islice(it, batch_size))
        if not group:
            return
        parts = [chunks(t) for t in group]
        flat = [c for p in parts for c in p]
        docs = iter(nlp.pipe(flat, batch_size=max(batch_size, 1)))
        for p in parts:
            mine = [next(docs) for _ in p]
            if len(mine) == 1:
                yield mine[0]
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GiNZA's per-token user data is carried over below
                merged = Doc.from_docs(mine, ensure_whitespace=False)
            _join_bunsetu(merged, mine)
            yield merged


def _join_bunsetu(merged: Doc, parts: list[Doc]) -> None:
    """GiNZA's phrase (bunsetu) boundaries of the chunks, carried into the joined Doc."""
    labels: list[str] = []
    heads: list[int] = []
    for d in parts:
        heads.extend(h + len(labels) for h in d.user_data.get("bunsetu_heads", ()))
        labels.extend(d.user_data.get("bunsetu_bi_labels") or ["B"] * len(d))
    merged.user_data["bunsetu_bi_labels"] = labels
    merged.user_data["bunsetu_heads"] = tuple(heads)
