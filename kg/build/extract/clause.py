"""The dependency parse seen phrase by phrase (GiNZA's bunsetu): who depends on which predicate, marked how.

Japanese marks a phrase's role with the particles that close it (は/が topic and subject, と partner,
を object, に goal, で place), and a phrase depends on the predicate it belongs to. GiNZA's UD parse
and bunsetu spans give both: each :class:`Phrase` knows its text, the particles closing it and the
phrase it depends on, so a rule asks "the partners of this predicate" instead of scanning characters.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Doc

#: token tags that close a phrase without being its content: particles, punctuation, auxiliaries
_FUNCTION_POS = {"ADP", "PUNCT", "SCONJ", "AUX", "PART"}


@dataclass(frozen=True)
class Phrase:
    idx: int
    start: int  # character offsets in the document
    end: int
    text: str
    marker: str  # the particles and punctuation closing the phrase (と, との, は, が, を, に, で, 、 …)
    pos: str  # part of speech of the phrase's head word
    gov: int | None  # index of the phrase this one depends on (None for the root)
    dep: str  # the relation of the head word to that phrase


class Parse:
    """The phrases of a parsed document, with lookups by character offset."""

    def __init__(self, doc: Doc) -> None:
        self.phrases = _phrases(doc)
        self._starts = [p.start for p in self.phrases]

    def at(self, pos: int) -> Phrase | None:
        """The phrase covering character ``pos``."""
        i = bisect_right(self._starts, pos) - 1
        if i >= 0 and self.phrases[i].start <= pos < self.phrases[i].end:
            return self.phrases[i]
        return None

    def governor(self, p: Phrase) -> Phrase | None:
        return self.phrases[p.gov] if p.gov is not None else None

    @cached_property
    def _children(self) -> dict[int, list[Phrase]]:
        out: dict[int, list[Phrase]] = {}
        for p in self.phrases:
            if p.gov is not None:
                out.setdefault(p.gov, []).append(p)
        return out

    def dependents(self, p: Phrase) -> list[Phrase]:
        return self._children.get(p.idx, [])

    def chain_up(self, p: Phrase, steps: int) -> list[Phrase]:
        """``p`` and up to ``steps`` phrases it depends on, transitively."""
        out = [p]
        while len(out) <= steps and out[-1].gov is not None and out[-1].gov != out[-1].idx:
            out.append(self.phrases[out[-1].gov])
        return out

    def governs(self, upper: Phrase, lower: Phrase, steps: int = 8) -> bool:
        """Whether ``lower`` depends on ``upper``, directly or through other phrases."""
        return any(q.idx == upper.idx for q in self.chain_up(lower, steps)[1:])


def _phrases(doc: Doc) -> list[Phrase]:
    from ginza import bunsetu_spans

    spans = list(bunsetu_spans(doc))
    tok2phrase = {t.i: i for i, s in enumerate(spans) for t in s}
    out = []
    for i, s in enumerate(spans):
        inside = range(s.start, s.end)
        head = next((t for t in s if t.head.i not in inside or t.head.i == t.i), s.root)
        gov = tok2phrase.get(head.head.i) if head.head.i != head.i else None
        tail = []
        for t in reversed(s):
            if t.pos_ not in _FUNCTION_POS or t.i == head.i:
                break
            tail.append(t.text)
        end = s.end_char
        out.append(Phrase(i, s.start_char, end, s.text, "".join(reversed(tail)), head.pos_,
                          gov if gov != i else None, head.dep_))
    return out
