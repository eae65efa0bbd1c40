"""Event frames: one argument finder for every meeting word.

A meeting word (会談, 表敬, 立ち話, 食事, お会いし …) opens a frame whose parties are found the same
way whatever the word: its partners are the parties marked as the word's row says (と by default; を
for 表敬, に for お目にかかる, から for a call received), attached to its predicate in the parse,
with the items listed before each (A、B、Cと / AやBと); its subject is the topic or subject of the
clause, else the one of the sentence, else the article's protagonist (kg.build.extract.article).

One subject with several partners listed is one meeting per partner (a minister's round of bilateral
talks: 中根政務官は…A首相、B首相、C外相と二国間会談等を行いました), unless the word or a party count
says the meeting is one of several parties (三者協議, 3カ国外相会合).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kg.build.extract.article import spokesperson
from kg.build.extract.clause import attached, clause_subjects
from kg.build.extract.listing import LIST_GAP
from kg.build.extract.meetings import (
    MeetingScope,
    is_party,
    joined_with_to,
    listed_with,
    meeting,
    parties_before,
    split_or_one,
    verbal,
)
from kg.build.extract.triggers import Trigger, rule

if TYPE_CHECKING:
    from kg.build.extract.context import DocContext
    from kg.build.extract.merging import EventCandidate
    from kg.build.recognize import Mention


@rule("meeting", "frame")
def meeting_frame(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """The parties of any meeting word: partners marked as its row says, the clause's subject or the
    article's protagonist, one meeting per partner where one subject meets several in turn."""
    return fill_frame(ctx, t, scope, "frame")


@rule("meeting", "frame-verb")
def meeting_frame_verb(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """A word that names a meeting only when something is done with it (Bと意見交換を行った, Bと食事をした,
    Bと対話した), not as a topic (Bとの対話を重視する): the frame of a verbal use."""
    return fill_frame(ctx, t, scope, "frame-verb") if verbal(ctx, t) else []


def fill_frame(ctx: DocContext, t: Trigger, scope: MeetingScope, form: str) -> list[EventCandidate]:
    """The frame of trigger ``t``: its partners, its subject, and one meeting or one per partner."""
    if t.in_quote:
        return []
    ms = parties_before(ctx, t, scope) + unnamed_roles(ctx, t, scope)
    ms.sort(key=lambda m: m.start)
    between = _between(ctx, ms)
    if len(between) >= 2:
        return meeting(ctx, t, scope, set(between), "frame-between")
    partners = frame_partners(ctx, t, ms)
    keys = [k for k in dict.fromkeys(party_key(ctx, m) for m in partners) if k]
    subject = frame_subject(ctx, t, ms, set(keys))
    if not keys:
        # AとBは…意見交換を行った / A、Bは会談した: the subjects meet each other
        return meeting(ctx, t, scope, set(subject), "frame-mutual") if len(subject) >= 2 and (
            verbal(ctx, t) or ctx.lex.regex("event_noun_uses").match(ctx.text, t.end)) else []
    if not subject:
        return []
    return split_or_one(ctx, t, scope, subject, keys, form, joined_with_to(ctx, partners))


def frame_partners(ctx: DocContext, t: Trigger, ms: list[Mention]) -> list[Mention]:
    """The parties marked as the trigger's partners, and those listed before each with 、 or や."""
    marked = [m for m in ms if _marked(ctx, t, m) and attached(ctx, m, t.start)]
    out: list[Mention] = []
    for p in marked:
        out.extend(x for x in listed_with(ctx, ms, p) if x not in out)
    return sorted(out, key=lambda m: m.start)


def party_key(ctx: DocContext, m: Mention) -> str | None:
    """The key of a party: its entity's, or for a post whose holder is not named (ポーランドの外相) its state."""
    k = ctx.key(m)
    if k or m.type != "Role":
        return k
    own = [x for x in ctx.rec.mentions if x.start == m.start and x is not m and ctx.is_state(x)]
    return ctx.key(own[0]) if own else None


def unnamed_roles(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[Mention]:
    """Posts named with their state but not their holder, before the trigger in its sentence: parties as
    their states (a party known only by a title is its state)."""
    sent = ctx.sentence(t.start)
    last = scope.in_sentence.get(sent.idx)
    lo = max(sent.start, last.end if last else sent.start)
    return [m for m in ctx.mentions_between(lo, t.start) if m.type == "Role" and ctx.entity(m) is None
            and party_key(ctx, m)]


def _between(ctx: DocContext, ms: list[Mention]) -> list[str]:
    """AとBの間で(の)…協議: the parties listed before a between-marker are the meeting's parties."""
    marker = ctx.lex.regex("between_markers")
    ends = [m for m in ms if marker.match(ctx.text, m.ext_end) and m.particle in ("の", "との")]
    if not ends or ends[-1].particle == "との":
        return []  # Bとの間で marks a partner: the frame reads it
    items = listed_with(ctx, ms, ends[-1])
    return [k for k in dict.fromkeys(party_key(ctx, m) for m in items) if k]


def _marked(ctx: DocContext, t: Trigger, m: Mention) -> bool:
    if m.particle in t.marks and m.particle:
        return True
    if not m.particle and [x for x in t.marks if x]:
        # ルクシッチ副首相兼外務・欧州統合相(H.E. …)と: a title the gazetteer does not know, then the marker
        marks = "|".join(re.escape(x) for x in sorted(t.marks, key=len, reverse=True) if x)
        if re.match(LIST_GAP.replace("{}", f"(?:{marks})(?![はがをにで])"), ctx.text[m.ext_end: t.start]):
            return True
    # パロリン国務長官表敬: the partner written right before a word that takes it with no particle
    return "" in t.marks and m.ext_end == t.start


def frame_subject(ctx: DocContext, t: Trigger, ms: list[Mention], partners: set[str]) -> list[str]:
    """Who meets the partners: the clause's topic or subject, the person a relative clause describes
    (Bと会談したA氏は), the sentence's topic, else the article's protagonist."""
    ph = ctx.parse.at(t.start) if ctx.parse else None
    found = [m for m in clause_subjects(ctx, ph) if m.end <= t.start] if ph else []
    found = [m for m in found if (is_party(ctx, m) or party_key(ctx, m)) and party_key(ctx, m) not in partners
             and not spokesperson(ctx, m)]
    if found:
        sent = ctx.sentence(t.start)
        around = [m for m in ctx.mentions_between(sent.start, sent.end) if is_party(ctx, m)]
        found = [x for m in found for x in listed_with(ctx, around, m)]
    else:
        found = _relative_head(ctx, t, partners)
    if not found:
        found = [m for m in ms if m.particle in ("は", "が") and party_key(ctx, m) not in partners
                 and not spokesperson(ctx, m)]
    keys = [k for k in dict.fromkeys(party_key(ctx, m) for m in found) if k]
    if keys:
        return keys
    sent = ctx.sentence(t.start)
    if any(m.particle in ("は", "が") for m in ctx.mentions_between(sent.start, t.start)):
        return []  # the clause has a subject the rules cannot name: no guess
    p = ctx.protagonist
    return [p] if p and p not in partners else []


def _relative_head(ctx: DocContext, t: Trigger, partners: set[str]) -> list[Mention]:
    """…Bと会談したA氏は: the person the trigger's relative clause describes."""
    tail = ctx.lex.regex("meeting_relative_tail").match(ctx.text, t.end)
    if tail is None:
        return []
    head = [m for m in ctx.rec.mentions if m.start == tail.end() and is_party(ctx, m) and not m.in_quote]
    return [m for m in head if party_key(ctx, m) not in partners]

