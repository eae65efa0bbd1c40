"""Post titles after a name: known titles, and compounds ending with one.

A title is a post from ``kg/data/posts.json`` (国務長官, 外相, 報道官 …), possibly preceded by the
words that make it specific (軍参謀総長, アジア局長, 外交安全保障上級代表, 大統領府顧問), or a
minister written as a field plus 相 (経済相). What it stands for is the gazetteer's post of the known
title it ends with (:meth:`kg.build.gazetteer.Gazetteer.post`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.build.gazetteer import Gazetteer

KATA = "\u30a1-\u30f4\u30fc"  # katakana letters and the long-vowel mark
KANJI = "\u4e00-\u9fa5\u3005\u3006"  # CJK ideographs and the iteration marks
#: how many characters of modifying words a compound title may have before its known title
MAX_MODIFIER = 12
_LONGEST_TITLE = 16


@dataclass(frozen=True)
class TitleMatch:
    start: int
    end: int
    title: str  # the title as written, compound included (軍参謀総長)
    base: int = -1  # where the known title it ends with starts (参謀総長 in 軍参謀総長)


class Titles:
    """Finds the title written at a position of a text."""

    def __init__(self, gaz: Gazetteer) -> None:
        self.g = gaz
        self._field = re.compile(gaz.lexicon["field_minister"])

    def match(self, text: str, pos: int, bounds: set[int] | None = None) -> TitleMatch | None:
        """The longest title starting at ``pos``: a compound ending with a known title (the words before
        it short, naming no state, organization or person, and whole words when ``bounds``, the token
        edges of the parse, are given), a known title, or a field minister."""
        run = re.match(rf"[{KANJI}{KATA}0-9\uff10-\uff19]{{2,{MAX_MODIFIER + _LONGEST_TITLE}}}", text[pos:])
        if not run:
            return None
        for e in range(pos + run.end(), pos + 1, -1):
            a = self._known_ending_at(text, pos, e)
            if a is not None and a > pos and bounds is not None and (a not in bounds or pos not in bounds):
                a = None  # 米国|務長官 is not a title: the words of a compound are the parse's words
            if a is not None and self._plain_modifier(text[pos:a]):
                return TitleMatch(pos, e, text[pos:e], a)
            if self._field.fullmatch(text, pos, e):
                return TitleMatch(pos, e, text[pos:e])
        return None

    def known_at(self, text: str, pos: int) -> TitleMatch | None:
        """A known title starting exactly at ``pos`` (the longest)."""
        for e in range(min(len(text), pos + _LONGEST_TITLE), pos + 1, -1):
            if text[pos:e] in self.g.posts:
                return TitleMatch(pos, e, text[pos:e], pos)
        return None

    def _known_ending_at(self, text: str, pos: int, e: int) -> int | None:
        """The start of the longest known title that ends at ``e``, no more than MAX_MODIFIER after pos."""
        for a in range(max(pos, e - _LONGEST_TITLE), e - 1):
            if a - pos <= MAX_MODIFIER and text[a:e] in self.g.posts:
                return a
        return None

    def _plain_modifier(self, s: str) -> bool:
        """Words that may specify a post (軍, アジア, 外交安全保障上級): no name of a state, organization
        or person, no joined second post."""
        if not s:
            return True
        e = self.g.lookup(s)
        if (e is not None and e.type != "Place") or s.startswith(tuple(self.g.lexicon["not_title_modifiers"])):
            return False
        return not any(j in s for j in self.g.lexicon["title_joiners"])
