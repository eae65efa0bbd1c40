"""Meetings: 会談, 首脳会談, 電話会談, 夕食会, 面会 ... and who took part, when, where, with what status.

Participants come from, in order: a compound of state forms before the trigger (米朝首脳会談,
日米外相電話会談 -> the states, or their leaders/ministers when the article names exactly one for
each state); a comitative or coordinated phrase in the clause before the trigger (AはBと会談,
AとBが会談, AとBの会談); for "Bとの会談" the nearest other party before it; a pair word
(両外相, 2人) -> the pair of the previous meeting. Mentions of one real event in an article (same
participants and class, dates within a few days) become one meeting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from kg.build.extract.common import (
    date_near,
    dates_compatible,
    leaders,
    merge_status,
    negated,
    place_near,
    plausible_date,
    status_near,
)
from kg.build.extract.context import DocContext
from kg.build.recognize import Mention
from kg.records import Evidence, MeetingStatement, PositionStatement


@dataclass
class _Meeting:
    parts: frozenset[str]
    cls: str
    kind: str
    start: str | None
    end: str | None
    place: str | None
    status: str
    evidence: list[Evidence] = field(default_factory=list)


def _triggers(ctx: DocContext) -> list[tuple[int, int, str, str]]:
    words = sorted(ctx.lex.get("meeting_triggers", []), key=lambda w: -len(w["word"]))
    excl = ctx.lex.get("meeting_trigger_exclusions", [])
    text = ctx.text
    out: list[tuple[int, int, str, str]] = []
    taken: set[int] = set()
    for w in words:
        for m in re.finditer(re.escape(w["word"]), text):
            if m.start() in taken:
                continue
            if any(text.startswith(x, m.start() - k) for x in excl for k in range(len(x))
                   if text.startswith(x, m.start() - k) and m.start() - k >= 0 and
                   m.start() - k + len(x) >= m.end()):
                continue
            if w.get("after") and not text.endswith(w["after"], 0, m.start()) and not text.endswith(
                    w["after"] + "も", 0, m.start()):
                continue  # 会う and its forms are a meeting only with a partner: Bと会った
            taken.update(range(m.start(), m.end()))
            out.append((m.start(), m.end(), w["word"], w["class"]))
    return sorted(out)


def _compound_states(ctx: DocContext, a: int) -> tuple[list[str], str | None]:
    """State keys written as a compound right before position a (米朝, 日中韓3カ国), and a title between."""
    text = ctx.text
    pos = a
    title = None
    tm = None
    for t in ctx.gaz.titles_longest_first + list(ctx.lex.get("summit_title_words", [])):
        if text.endswith(t, 0, pos):
            tm = t
            break
    if tm:
        title = tm
        pos -= len(tm)
    m = re.search(r"(?:\d+|[二三四五])[カか力ヵケ]国$", text[max(0, pos - 6): pos])
    if m:
        pos -= len(m.group(0))
    states: list[str] = []
    comp = {x.start: x for x in ctx.rec.mentions if x.type == "State" and x.via_compound}
    while pos - 1 in comp:
        k = comp[pos - 1].key
        if k:
            states.insert(0, k)
        pos -= 1
    return list(dict.fromkeys(states)), title


def extract_meetings(ctx: DocContext, positions: list[PositionStatement]) -> list[MeetingStatement]:
    meetings: list[_Meeting] = []
    last_parts: frozenset[str] | None = None
    prev_end_in_sent: dict[int, int] = {}
    prev_parts_in_sent: dict[int, frozenset[str]] = {}
    prev_word_in_sent: dict[int, str] = {}
    triggers = _triggers(ctx)
    for i, (a, b, word, cls) in enumerate(triggers):
        sent = ctx.sentence(a)
        nxt = triggers[i + 1][0] if i + 1 < len(triggers) and triggers[i + 1][0] < sent.end else sent.end
        prv = triggers[i - 1][1] if i > 0 and triggers[i - 1][1] > sent.start else sent.start
        parts: set[str] = set()
        rule = ""
        states, title = _compound_states(ctx, a)
        in_quote = ctx.rec.in_quote(a)
        verbal = re.match(r"(?:し|する|した|して|を行|が行|を開|が開|に臨)", ctx.text[b: b + 2]) is not None
        if title is None and word[:-2] and word.endswith(("会談", "会合")):
            title = word[:-2]  # 外相会談: the post is in the word itself
        if len(states) < 2 and verbal:
            states, title = _compound_subject(ctx, sent.start, a) or (states, title)
        if in_quote and len(states) < 2:
            continue  # in quoted speech, only meetings named by their states are read
        if negated(ctx.text, b):
            continue  # 会談しなかった, 会談は行われず
        if len(states) >= 2:
            if cls == "Meeting" and title in ctx.lex.get("summit_title_words", []):
                cls = "Summit"
            persons: list[set[str]] = []
            for s in states:
                if cls == "Summit":
                    persons.append(leaders(ctx, positions, s))
                elif title:
                    persons.append(leaders(ctx, positions, s, title=title))
                else:
                    persons.append(set())
            if all(len(p) == 1 for p in persons):
                parts = {next(iter(p)) for p in persons}
                rule = "meeting.compound-persons"
            else:
                parts = set(states)
                rule = "meeting.compound-states"
        else:
            win_start = max(sent.start, prev_end_in_sent.get(sent.idx, sent.start))
            ms = [m for m in ctx.mentions_between(win_start, a) if _party(ctx, m)]
            partners = [m for m in ms if m.particle in ("と", "とも", "との")]
            subjects = [m for m in ms if m.particle in ("は", "が")]
            genitive = [m for m in ms if m.particle == "の" and re.fullmatch(r"の", ctx.text[m.ext_end: a])]
            if any(m.particle == "との" for m in partners) and re.fullmatch(r"との", ctx.text[
                    [m for m in partners if m.particle == "との"][-1].ext_end: a]):
                # Bとの会談: the other party is the clause's topic, else the source (から) or owner (の) before B
                p = [m for m in partners if m.particle == "との"][-1]
                before = [m for m in ctx.mentions_between(sent.start, p.start) if _party(ctx, m)
                          and ctx.key(m) != ctx.key(p)]
                other = [m for m in before if m.particle in ("は", "が", "としては", "として", "から")][-1:]
                people = [m for m in before if m.type in ("Person", "Role")]
                if not other and people:
                    # AとBとの会談 with the と dropped (ポンペイ国務長官北朝鮮のキム…との会談): A right before B
                    gap = ctx.text[people[-1].ext_end: p.start]
                    if len(gap) <= 8 and not re.search(r"[はがをにで。「」]", gap):
                        other = people[-1:]
                chosen = [p] + other
                rule = "meeting.noun-with"
            elif partners:
                partners = _listed_before(ctx, ms, partners)  # イランのライシ大統領、ロシアのプーチン大統領と
                chosen = partners + subjects + genitive
                rule = "meeting.comitative"
                if not subjects and not genitive:
                    before = [m for m in ms if m not in partners and m.type != "State"]
                    if before:
                        chosen.append(before[-1])
                    else:
                        # AはBと会談し、その後Cとも会談した / Aは…の合間に、Bと立ち話をした: the sentence's
                        # topic, written before an earlier event word of the same sentence
                        topic = [m for m in ctx.mentions_between(sent.start, win_start) if _party(ctx, m)
                                 and m.particle == "は" and m.type != "State"]
                        if topic and ctx.key(topic[0]) not in {ctx.key(m) for m in partners}:
                            chosen.append(topic[0])
                            rule = "meeting.comitative-topic"
            else:
                chosen = []
            for m in chosen:
                k = ctx.key(m)
                if k:
                    parts.add(k)
                elif m.type == "Pair" and last_parts and verbal:
                    parts |= set(last_parts)
            if (not parts and sent.idx in prev_parts_in_sent and not ms and verbal
                    and prev_word_in_sent.get(sent.idx) == word):
                parts = set(prev_parts_in_sent[sent.idx])
                rule = "meeting.same-clause"
            if any(m.type == "Pair" for m in ms) and not parts and last_parts and verbal:
                parts = set(last_parts)
                rule = "meeting.pair"
        if cls == "Meeting" and word == "首脳会談":
            cls = "Summit"
        if cls == "Meeting" and any(ctx.text.endswith(p, sent.start, a) or ctx.text.endswith(p + "の", sent.start, a)
                                    for p in ctx.lex.get("phone_prefixes", [])):
            cls = "PhoneCall"  # 電話で会談, オンラインで会談
        if cls == "Meeting" and len(parts) >= 2 and all(
                p.startswith("person:") and leaders(ctx, positions, _state_of(ctx, positions, p) or "", None)
                >= {p} for p in parts):
            cls = "Summit"  # a meeting of heads of state or government
        if cls == "Summit" and parts and all(p.startswith("state:") for p in parts):
            # a summit named by its states: its leaders, when the article names exactly one for each
            heads = [leaders(ctx, positions, p) for p in sorted(parts)]
            if all(len(h) == 1 for h in heads):
                parts = {next(iter(h)) for h in heads}
        prev_end_in_sent[sent.idx] = b
        prev_word_in_sent[sent.idx] = word
        if len(parts) < 2:
            continue
        if cls == "Meeting" and word == "首脳会談":
            cls = "Summit"
        start, end = date_near(ctx, sent, a, b, (prv, nxt))
        place = place_near(ctx, sent, a, b)
        status = status_near(ctx, sent, a, b, nxt)
        start, end = plausible_date(ctx, status, start, end)
        ev = ctx.evidence(sent, rule, 0.8 if "compound" in rule or rule == "meeting.comitative" else 0.65)
        fparts = frozenset(parts)
        prev_parts_in_sent[sent.idx] = fparts
        last_parts = fparts
        for mt in meetings:
            if mt.parts == fparts and mt.cls == cls and dates_compatible(mt.start, start):
                mt.status = merge_status(mt.status, status)
                if start and (not mt.start or (len(start) >= len(mt.start) and start < mt.start)):
                    mt.start = start
                if start and mt.start and len(start) > len(mt.start):
                    mt.start = start
                for x in (end, start):
                    if x and len(x) == 10 and mt.start and len(mt.start) == 10 and x > mt.start and (
                        not mt.end or x > mt.end
                    ):
                        mt.end = x
                mt.place = mt.place or place
                if ev not in mt.evidence:
                    mt.evidence.append(ev)
                break
        else:
            kind = "会う" if word in ("会い", "会っ", "会う") else word  # the dictionary form of a verb trigger
            meetings.append(_Meeting(fparts, cls, kind, start, end, place, status, [ev]))
    return [
        MeetingStatement(participants=tuple(sorted(m.parts)), event_class=m.cls, kind_word=m.kind, start=m.start,
                         end=m.end if m.end and m.end != m.start else None, location=m.place, status=m.status,
                         doc_id=ctx.article.doc_id, evidence=tuple(m.evidence))
        for m in meetings
    ]


@lru_cache(maxsize=4)
def _subject_re(titles: tuple[str, ...]) -> re.Pattern[str] | None:
    """(の) TITLE (ら) は|が: a post as the subject of a clause; compiled once per list of titles."""
    if not titles:
        return None
    return re.compile("(の)?(" + "|".join(re.escape(t) for t in titles) + ")(?:ら|たち)?(?:は|が)")


def _compound_subject(ctx: DocContext, lo: int, a: int) -> tuple[list[str], str | None] | None:
    """日米韓(3カ国)の外相は…会談した: the states of a compound that, with a post, is the subject of the
    meeting verb at a, when nobody is named as the partner (と) in between."""
    text = ctx.text
    subject_re = _subject_re((*ctx.gaz.titles_longest_first, *ctx.lex.get("summit_title_words", [])))
    if subject_re is None:
        return None
    subj = None
    for m in subject_re.finditer(text[lo:a]):
        subj = m
    if subj is None:
        return None
    b = lo + subj.end()
    if any(m.particle in ("と", "との", "とも") for m in ctx.mentions_between(b, a)):
        return None
    states, _ = _compound_states(ctx, lo + subj.start())
    return (states, subj.group(2)) if len(states) >= 2 else None


def _listed_before(ctx: DocContext, ms: list[Mention], partners: list[Mention]) -> list[Mention]:
    """The partners and the parties listed before each with a comma (A、B、Cと: A and B too); a state or
    organization owning the next name (ロシアのプーチン大統領) is part of that name, not an item."""
    out = list(partners)
    for p in partners:
        if p.particle not in ("と", "とも"):
            continue
        nxt = p
        for m in reversed(ms[: ms.index(p)]):
            if m.particle == "の" and m.ext_end + 1 == nxt.start and m.type in ("State", "Organization"):
                nxt = m  # the owner of the next item
                continue
            if (m.particle == "、" and m.type != "State" and m not in out
                    and re.fullmatch(r"[、，,]", ctx.text[m.ext_end: nxt.start])):
                out.insert(0, m)
                nxt = m
                continue
            break
    return out


def _party(ctx: DocContext, m: Mention) -> bool:
    """Persons, roles and pair words can take part in a meeting; states only when no one is named."""
    if m.type in ("Role", "Pair"):
        return m.type == "Pair" or ctx.entity(m) is not None
    if m.type == "Person":
        return ctx.entity(m) is not None
    return m.type == "State" and not m.via_compound


def _state_of(ctx: DocContext, positions: list[PositionStatement], holder: str) -> str | None:
    for p in positions:
        if p.holder == holder:
            st = ctx.gaz.state_key_of(p.of)
            if st:
                return st
    return None
