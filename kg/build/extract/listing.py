"""Lists of parties as the genre writes them: A、B、Cと / AやBと / A・B / トルコのBは, with the titles and
glosses that may stand between the items."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kg.build.extract.context import DocContext
    from kg.build.recognize import Mention

#: と between two listed parties, after the first one's gloss in brackets if any
JOINED_WITH_TO = re.compile(r"(?:[(（][^()（）]{0,80}[)）])?と(?:[^、。とはが]{1,12}の)?")
#: a gloss in brackets after a name: ブヤノビッチ大統領(H.E. Mr. Filip Vujanovic, President of Montenegro)
GLOSS = re.compile(r"[(（][^()（）]{0,200}[)）]")
#: what may stand between two listed names before the list word: a title the gazetteer does not know
#: (ポーター・豪首相付政務次官、), a gloss in brackets; never a particle, a verb or a sentence end
LIST_GAP = r"(?:[^\s、。,，はがをにでとの「」()（）]{0,14})?(?:" + GLOSS.pattern + ")?{}"


def items_of(ms: list[Mention]) -> list[Mention]:
    """Mentions as list items: a post or state written inside a named person's title (トゥイラエパ・サモア首相)
    is part of that person's item."""
    return [m for m in ms if not any(o is not m and o.type == "Person" and o.start <= m.start and m.end <= o.ext_end
                                     for o in ms)]


def listed_with(ctx: DocContext, ms: list[Mention], p: Mention) -> list[Mention]:
    """``p`` and the parties listed right before it with 、, や or と (A、Bと / A、トルコのBは), in text order;
    a state or organization owning the next name (トルコのB) is part of that name, not an item."""
    out = [p]
    joiner = ctx.lex.regex("list_joiners", LIST_GAP)
    nxt = p
    ms = items_of(ms)
    for m in reversed(ms[: ms.index(p)] if p in ms else []):
        if m.particle == "の" and m.ext_end + 1 == nxt.start and m.type in ("State", "Organization"):
            nxt = m
            continue
        if m.type == "State" and not m.particle:
            continue  # a state written into a title inside the list
        if (m.type != "State" or p.type == "State") and joiner.fullmatch(ctx.text, m.ext_end, nxt.start):
            out.insert(0, m)  # a list of states (日本とロシアの間で) has states for items
            nxt = m
            continue
        break
    return out
