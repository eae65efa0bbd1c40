"""The article as context: whose report it is.

Ministry summaries, travel reports and wire stories name their protagonist once, in the headline or
the first sentence (高村外務大臣は、…に出席した), and leave them the unstated subject of every later
section (ウルグアイではバスケス大統領と会談。 / ゲイツ米国防長官との立ち話). A report that never names
its author (a minister's own blog: …を訪問しました) has the narrator as its protagonist, who stands for
the state the report is written from (``narrator_state`` in the lexicon).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kg.build.extract.listing import listed_with

if TYPE_CHECKING:
    from kg.build.extract.context import DocContext
    from kg.build.recognize import Mention

#: how many of the article's first sentences that name anyone may name its protagonist
OPENING_SENTENCES = 3


def protagonist(ctx: DocContext) -> str | None:
    """The key of the party an article reports on, or None when it cannot be told."""
    opening = _opening_mentions(ctx)
    topics = [m for m in opening if m.particle in ("は", "が") and ctx.is_person(m) and not spokesperson(ctx, m)]
    if topics:
        return ctx.key(topics[0])
    companions = ctx.lex["companion_markers"]
    led = [m for m in opening if ctx.is_person(m) and ctx.text.startswith(tuple(companions), m.ext_end)]
    if led:
        # A・BとともにXを訪問してきました: the party the narrator went with, led by the first named
        return ctx.key(listed_with(ctx, [m for m in opening if ctx.is_person(m)], led[0])[0])
    persons = [m for m in opening if ctx.is_person(m) and m.particle in ("の", "")]
    if persons and not any(m.particle in ("は", "が") and ctx.is_person(m) for m in opening):
        return ctx.key(persons[0])  # a headline or lead naming its protagonist: 高村外務大臣の…会議出席, 王外相の来日が
    if re.search(ctx.lex["first_person_cues"], ctx.text) and not any(
            m.particle in ("は", "が") and ctx.is_person(m) for m in ctx.rec.mentions if not m.in_quote):
        return ctx.lex["narrator_state"]
    return None


def spokesperson(ctx: DocContext, m: Mention) -> bool:
    """A spokesperson (報道官) speaks of what others do: the topic of the announcement, not its party."""
    return ctx.lex.regex("spokesperson_titles", "(?:{})$").search(m.title or "") is not None


def _opening_mentions(ctx: DocContext) -> list[Mention]:
    """Mentions (outside quotes) of the first sentences that name anyone."""
    out: list[Mention] = []
    seen = 0
    for s in ctx.rec.sentences:
        ms = [m for m in ctx.mentions_between(s.start, s.end) if ctx.entity(m) is not None]
        if not ms:
            continue
        out.extend(ms)
        seen += 1
        if seen >= OPENING_SENTENCES:
            break
    return out
