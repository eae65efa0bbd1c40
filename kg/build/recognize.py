"""Recognition: find mentions of persons, states, organizations, places and posts in a parsed article.

Sources, in order of trust: bylines and datelines (【北京=菊池敏也】, (アスンシオン=長崎潤一郎)), a
name with its reading in brackets, the gazetteer (kg/data), compounds of one-character state forms
(米朝, 日米韓), structural patterns (a name followed by a post title or an honorific), and GiNZA's
ENE labels and person-name token tags. A title is never part of a name: ポンペイオ長官 is the name
ポンペイオ plus the title 長官. A name not in the gazetteer needs structural evidence (a title, an
honorific, a reading or a byline), so GiNZA's stray Person labels do not become people; it is an
entity of its own with a deterministic key, never merged with a gazetteer entry by guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from kg.build.gazetteer import Gazetteer, load
from kg.build.names import NameFinder, longest_alternation
from kg.build.titles import KANJI, KATA, Titles

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["KANJI", "KATA", "Mention", "longest_alternation", "Recognized", "Recognizer", "Sentence", "find_quotes", "sentences_of"]


@dataclass
class Mention:
    """A span of the document text that names (or stands for) an entity."""

    start: int
    end: int  # end of the name itself
    text: str
    type: str  # Person | State | Organization | Place | Role | Pair
    key: str | None = None  # gazetteer key when known
    sent: int = 0
    title: str | None = None
    title_start: int | None = None
    title_end: int | None = None
    of_key: str | None = None  # the state/org written inside the title (朝鮮労働党副委員長)
    ctx_of: str | None = None  # a state/org with の right before the name (ロシアのラブロフ外相)
    reading: str | None = None
    honorific: bool = False
    ext_end: int = 0  # end of name + reading + title/honorific
    particle: str = ""
    in_quote: bool = False
    source: str = "gazetteer"
    entity: int | None = None  # filled by resolution
    via_compound: bool = False
    more_titles: list[str] = field(default_factory=list)  # further posts joined by 兼 or listed with 、
    title_of: dict[str, str] = field(default_factory=dict)  # whose a further post is, when written with it

    def __post_init__(self) -> None:
        if not self.ext_end:
            self.ext_end = self.end


@dataclass
class Sentence:
    idx: int
    start: int
    end: int
    text: str


@dataclass
class Recognized:
    text: str
    sentences: list[Sentence]
    mentions: list[Mention]
    quotes: list[tuple[int, int]]  # (start, end) of the text inside 「」, outermost only
    person_token_spans: list[tuple[int, int]] = field(default_factory=list)

    def sentence_of(self, pos: int) -> Sentence:
        for s in self.sentences:
            if s.start <= pos < s.end:
                return s
        return self.sentences[-1]

    def in_quote(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.quotes)


def find_quotes(text: str) -> list[tuple[int, int]]:
    """Outermost 「…」 spans (inner text offsets), tolerant of unbalanced brackets."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "「":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "」" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i))
        elif ch == "\n" and depth and text[i + 1: i + 2] == "\n":
            depth = 0  # an unclosed quote never runs across paragraphs
    return spans


def sentences_of(doc: Doc | None, text: str) -> list[Sentence]:
    """Sentences: split after 。！？ outside 「」 and at line breaks.

    Japanese news punctuates reliably, and GiNZA's own boundaries sometimes fall after a
    closing bracket in mid-sentence, so the split is made on the text itself.
    """
    out: list[Sentence] = []
    depth = 0
    a = 0
    n = len(text)
    for i, ch in enumerate(text):
        if ch == "「":
            depth += 1
        elif ch == "」" and depth:
            depth -= 1
        cut = None
        if ch == "\n":
            cut, depth = i, 0
        elif ch in "。！？!?" and depth == 0:
            cut = i + 1
        if cut is not None or i == n - 1:
            b = cut if cut is not None else n
            seg = text[a:b]
            if seg.strip():
                lead = len(seg) - len(seg.lstrip())
                out.append(Sentence(len(out), a + lead, a + len(seg.rstrip()), seg.strip()))
            a = i + 1
    return out or [Sentence(0, 0, n, text)]


@lru_cache(maxsize=1)
def particle_re() -> re.Pattern[str]:
    """The particle after a mention (and after a gloss in brackets or ら/など): its role in the clause."""
    lex = load().lexicon
    return re.compile(r"(?:[(（][^()（）]{0,80}[)）])?" + lex.alternation("mention_suffixes") + "?("
                      + lex.alternation("clause_particles").removeprefix("(?:").removesuffix(")") + ")")


class Recognizer:
    """Find mentions in one parsed document."""

    def __init__(self, gaz: Gazetteer | None = None) -> None:
        self.g = gaz or load()
        self.titles = Titles(self.g)

    def recognize(self, doc: Doc, text: str, published: str | None = None) -> Recognized:
        """The mentions of a parsed text; ``published`` (the article's date) tells which office holder a
        known surname with a title stands for."""
        rec = Recognized(text, sentences_of(doc, text), [], find_quotes(text))
        finder = NameFinder(self.g, self.titles, doc, text, published)
        rec.person_token_spans = finder.person_tokens
        mentions = finder.find()
        named = finder.attach_titles(mentions)  # organizations and places named between a name and its title
        mentions = sorted([*(m for m in mentions if not any(a.start <= m.start and m.end <= a.end for a in named)),
                           *named], key=lambda x: x.start)
        mentions = finder.drop_orgs_inside_titles(mentions)
        self._set_particles(text, mentions)
        rec.mentions = [m for m in mentions if _keep(m)]
        roles = finder.role_mentions(rec)
        self._set_particles(text, roles)
        rec.mentions = sorted([*rec.mentions, *roles], key=lambda x: x.start)
        for m in rec.mentions:
            m.sent = rec.sentence_of(m.start).idx
            m.in_quote = rec.in_quote(m.start)
        return rec

    @staticmethod
    def _set_particles(text: str, mentions: list[Mention]) -> None:
        pat = particle_re()
        for m in mentions:
            pm = pat.match(text, m.ext_end)
            m.particle = pm.group(1) if pm else ""


def _keep(m: Mention) -> bool:
    """A person not in the gazetteer is kept only with structural evidence of being one."""
    if m.type != "Person" or m.key:
        return True
    if m.source == "surname":
        return bool(m.title or m.honorific)
    return bool(m.title or m.honorific or m.reading or m.source == "byline")
