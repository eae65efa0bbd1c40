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
    from spacy.tokens import Doc, Span

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


def _spans(doc: Doc) -> list[Span]:
    """The bunsetu of the parse, from GiNZA's B/I labels (a content word and the particles after it when
    they are missing)."""
    labels = doc.user_data.get("bunsetu_bi_labels")
    if not labels or len(labels) != len(doc):
        labels = ["B" if t.i == 0 or (t.pos_ not in _FUNCTION_POS and doc[t.i - 1].pos_ in _FUNCTION_POS) else "I"
                  for t in doc]
    starts = [i for i, lab in enumerate(labels) if lab == "B"] or [0]
    if starts[0] != 0:
        starts.insert(0, 0)
    return [doc[a:b] for a, b in zip(starts, [*starts[1:], len(doc)], strict=True) if b > a]


def _phrases(doc: Doc) -> list[Phrase]:
    spans = _spans(doc)
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


def mentions_in(ctx, phrase: Phrase) -> list:  # type: ignore[no-untyped-def]
    """The mentions whose name ends inside ``phrase``."""
    return [m for m in ctx.rec.mentions if phrase.start <= m.end - 1 < phrase.end]


def clause_subjects(ctx, phrase: Phrase, markers: tuple[str, ...] = ("は", "が", "も")) -> list:  # type: ignore[no-untyped-def]
    """The topic or subject of the clause ``phrase`` belongs to: the mentions in phrases marked は/が/も that
    depend on ``phrase`` or on a predicate it depends on, nearest first (the topic of a sentence is
    shared by the clauses it governs: 岸田首相は…インドに向けて…出発した)."""
    parse = ctx.parse
    chain = parse.chain_up(phrase, 6)
    for p in chain:
        subj = [q for q in parse.dependents(p) if q.idx != phrase.idx and q.marker.startswith(markers)]
        found = [m for q in subj for m in mentions_in(ctx, q)]
        if found:
            return found
    # the parser often hangs the topic on the first verb of a chain (河野外相は…を訪問し、…に出席した):
    # a topic (は) opening the sentence, governed by the same root, is the topic of its later clauses too
    sent = ctx.sentence(phrase.start)
    top = {q.idx for q in chain}
    for q in parse.phrases:
        if sent.start <= q.start < phrase.start and q.marker.startswith("は") and top & {
                x.idx for x in parse.chain_up(q, 8)}:
            found = mentions_in(ctx, q)
            if found:
                return found
    return []


_PREDICATE_POS = {"VERB", "ADJ"}


def predicate_phrases(ctx, start: int) -> list[Phrase]:  # type: ignore[no-untyped-def]
    """The phrase of the event word at ``start`` and the light verbs that carry it (首脳会談を|行う,
    会談の|開催を|延期する): the predicate its arguments attach to."""
    parse = ctx.parse
    ph = parse.at(start) if parse else None
    if ph is None:
        return []
    out = [ph]
    light = ctx.lex.regex("light_verbs")
    for up in parse.chain_up(ph, 2)[1:]:
        if not out[-1].marker.startswith(("を", "が", "は", "の")):
            break
        out.append(up)
        if light.match(up.text):
            return out
    return out[:1]


def attached(ctx, m, start: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether mention ``m`` is an argument of the event word at ``start`` rather than of another predicate
    written between them (イスラエルと国交を正常化した…外相会合: イスラエル is no party to the meeting).
    Without a parse, or when the parse attaches it beyond the event, it is taken to be one."""
    parse = ctx.parse
    mine = parse.at(m.end - 1) if parse else None
    targets = {p.idx for p in predicate_phrases(ctx, start)}
    if mine is None or not targets:
        return True
    for up in parse.chain_up(mine, 8)[1:]:
        if up.idx in targets:
            return True
        if up.pos in _PREDICATE_POS and up.end <= start:
            return False
    return True
