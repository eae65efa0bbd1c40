"""Visits: 訪問, 訪れる, 到着, X入り, 来日, 訪朝/訪米, 相互往来 -> visitor, destination, place, dates, status.

Each trigger word has one form, a rule registered under that name:

- ``object``: the destination marked by を (中国を訪問, ウクライナを電撃訪問), or glued before a noun
  form (ロシア外相の北朝鮮訪問);
- ``goal``: the destination marked by に (ピョンヤンに到着);
- ``suffix``: the destination glued before the word (日本入り);
- ``prefix``: a one-character state after 訪 (訪朝, 訪米);
- ``fixed``: the destination is in the word (来日, 来韓);
- ``after``: the place after 訪問先の / 訪問中の, the visit under way;
- ``mutual``: 相互往来 of two leaders, each to the other's state.

A place's state is its destination. The visitor is, in order: the person the verb's relative
clause describes (北韓を訪れた徐薫), the person or role in the genitive before a noun form
(ロシア外相の北朝鮮訪問), a state's delegation (北朝鮮の代表団が), or the clause's topic.
"""

from __future__ import annotations

import re

from kg.build.extract.clause import mentions_in
from kg.build.extract.common import date_near, negated, past_sentence, plausible_date, status_near
from kg.build.extract.context import DocContext
from kg.build.extract.listing import listed_with
from kg.build.extract.merging import EventCandidate, merge_events, visit_statement
from kg.build.extract.triggers import Trigger, apply_rules, rule
from kg.build.recognize import Mention, Sentence
from kg.records import VisitStatement

Dest = tuple[str | None, str | None]  # (destination state, place)


def extract_visits(ctx: DocContext) -> list[VisitStatement]:
    cands: list[EventCandidate] = []
    for t in ctx.triggers("visit"):
        if negated(ctx, t.end):
            continue  # 中国を訪問していない
        cands.extend(apply_rules(ctx, t, None))
    return [visit_statement(e, ctx.article.doc_id) for e in _without_tour_summaries(ctx, merge_events(cands))]


def _without_tour_summaries(ctx: DocContext, events: list[EventCandidate]) -> list[EventCandidate]:
    """A region the traveller visits beside two or more named states (アフリカの3か国を訪問: ケニア, ガーナ, …)
    sums up the tour: the states are the visits. A region alone (東南アジア4カ国を歴訪) stays."""
    def region(e: EventCandidate) -> bool:
        gz = ctx.gaz.entries.get(e.dest or "")
        return gz is not None and gz.type == "Place" and gz.place_kind == "region"

    states: dict[frozenset[str], set[str]] = {}
    for e in events:
        if e.dest and e.dest.startswith("state:"):
            states.setdefault(e.parties, set()).add(e.dest)
    return [e for e in events if not (region(e) and len(states.get(e.parties, ())) >= 2)]


def visits_to(ctx: DocContext, t: Trigger, dests: list[Dest], form: str) -> list[EventCandidate]:
    """The visits of the trigger's visitor to ``dests``: its dates and status."""
    dests = [d for d in dests if d[0] or d[1]]
    if not dests:
        return []
    sent = ctx.sentence(t.start)
    visitor, how = _visitor(ctx, sent, t)
    if visitor is None or (t.in_quote and how != "quoted"):
        return []  # in quoted speech, only a visitor named in the same words is read
    start, end = _visit_date(ctx, sent, t, how)
    if form == "after":
        status = "held" if past_sentence(ctx, sent) else "planned"  # 訪問先の…: the visit is under way
    else:
        status = status_near(ctx, sent, t.start, t.end)
    start, end = plausible_date(ctx, status, start, end)
    ev = ctx.evidence(sent, f"visit.{form}", 0.75)
    out = []
    for who in dict.fromkeys([visitor, *_companions(ctx, sent, t)]):
        for st, pl in dests:
            if st and ctx.gaz.state_key_of(who) == st:
                continue  # going home is not a visit
            out.append(EventCandidate("visit", "Visit", frozenset([who]), t.label, st, pl, start, end, status,
                                      [ev]))
    return out


def _companions(ctx: DocContext, sent: Sentence, t: Trigger) -> list[str]:
    """AやBとともにXを訪問: the people the traveller went with travel too."""
    if t.in_quote:
        return []
    marker = ctx.lex.regex("companion_markers")
    ms = [m for m in ctx.mentions_between(sent.start, t.start) if ctx.is_person(m)]
    out: list[str] = []
    for m in ms:
        if marker.match(ctx.text, m.ext_end):
            out.extend(k for k in (ctx.key(x) for x in listed_with(ctx, ms, m)) if k)
    return out


def _visit_date(ctx: DocContext, sent: Sentence, t: Trigger, how: str) -> tuple[str | None, str | None]:
    """The date in the trigger's own clause (after the last comma before it), or the clause's date when the
    visitor is the clause's subject."""
    seg_start = max(sent.start, ctx.text.rfind("、", sent.start, t.start) + 1)
    seg_dates = [d for d in ctx.dates.get(sent.idx, []) if d.value and seg_start <= d.start < t.start]
    if seg_dates:
        return seg_dates[-1].value, seg_dates[-1].end_value
    if how in ("topic", "subject"):
        start, end = date_near(ctx, sent, t.start, t.end)
        if start and any(d.start < t.start and d.value == start for d in ctx.dates.get(sent.idx, [])):
            return start, end
    return None, None  # a date after the trigger belongs to the next clause


def dest_of(ctx: DocContext, m: Mention) -> Dest:
    """(destination state, place) for a destination mention; a place's state is the destination."""
    e = ctx.entity(m)
    if e is None:
        return None, None
    k = ctx.key(m)
    if e.type == "State":
        return k, None
    if e.type != "Place":
        return None, None
    st = ctx.gaz.state_key_of(k)
    if st is None:
        prev = [x for x in ctx.rec.mentions if x.end in (m.start - 1, m.start) and ctx.is_state(x)]
        links = ("", "の", "・", *(f"の{c}" for c in ctx.lex["capital_links"]))
        if prev and ctx.text[prev[-1].end: m.start] in links:
            st = ctx.key(prev[-1])
    return st or k, k


# ---- forms ----------------------------------------------------------------------------------------

@rule("visit", "prefix")
def visit_prefix(ctx: DocContext, t: Trigger, scope: None) -> list[EventCandidate]:
    """訪朝, 訪米: the state after 訪."""
    comp = [m for m in ctx.rec.mentions if m.start == t.start + 1 and m.via_compound]
    return visits_to(ctx, t, [(ctx.key(comp[0]), None)] if comp else [], "prefix")


@rule("visit", "fixed")
def visit_fixed(ctx: DocContext, t: Trigger, scope: None) -> list[EventCandidate]:
    """来日, 来韓: the destination is in the word."""
    return visits_to(ctx, t, [(f"state:{t.dest}", None)], "fixed")


@rule("visit", "after")
def visit_after(ctx: DocContext, t: Trigger, scope: None) -> list[EventCandidate]:
    """訪問先の北京で, 訪問中のニューヨークで: the place named after, the visit under way."""
    sent = ctx.sentence(t.start)
    after = [m for m in ctx.mentions_between(t.end, min(sent.end, t.end + 20)) if m.type in ("State", "Place")]
    if after and ctx.text.startswith(ctx.lex["visit_during"], t.start) and after[0].start != t.end:
        return []  # 訪問中の is followed by the place itself, else it qualifies someone (訪問中の岸田首相)
    if not after:
        return []
    st, pl = dest_of(ctx, after[0])
    e1 = ctx.entity(after[1]) if len(after) > 1 else None
    if e1 is not None and e1.type == "Place":
        pl = ctx.key(after[1])
    return visits_to(ctx, t, [(st, pl)], "after")


@rule("visit", "object")
def visit_object(ctx: DocContext, t: Trigger, scope: None) -> list[EventCandidate]:
    """中国を訪問 / 北朝鮮を初めて訪問 / ウクライナを電撃訪問, or a noun form with the destination glued
    before it (ロシア外相の北朝鮮訪問)."""
    dests = (_marked_destinations(ctx, t, _object_marker(ctx)) or [dest_of(ctx, m) for m in glued_destinations(ctx, t)]
             or _generic_object(ctx, t))
    return visits_to(ctx, t, dests, "object")


def glued_destinations(ctx: DocContext, t: Trigger) -> list[Mention]:
    """States or places written right before a noun form, listed with 、 or や (ロシア、中国、韓国訪問)."""
    before = [m for m in ctx.mentions_between(ctx.sentence(t.start).start, t.start) if m.type in ("State", "Place")]
    chain: list[Mention] = []
    joiner = ctx.lex.regex("list_joiners")
    for m in reversed(before):
        gap = ctx.text[m.ext_end: chain[0].start if chain else t.start]
        if (not chain and gap == "") or (chain and joiner.fullmatch(gap)):
            chain.insert(0, m)
            continue
        break
    return chain


def _generic_object(ctx: DocContext, t: Trigger) -> list[Dest]:
    """UAEやカタールなど中東の一部の国を訪問: the states that qualify a generic destination (国, 都市)."""
    ph = ctx.parse.at(t.start) if ctx.parse else None
    if ph is None:
        return []
    nouns = ctx.lex.regex("generic_destination_nouns", "{}を$")
    objs = [q for q in ctx.parse.dependents(ph) if nouns.search(ctx.text, q.start, q.end)]
    if not objs:
        return []
    inside = [q for q in ctx.parse.phrases if q.end <= objs[-1].start and ctx.parse.governs(objs[-1], q)]
    ms = [m for q in inside for m in mentions_in(ctx, q) if m.type == "State" and not m.via_compound]
    return [dest_of(ctx, m) for m in ms]


@rule("visit", "toward")
def visit_toward(ctx: DocContext, t: Trigger, scope: None) -> list[EventCandidate]:
    """インドに向けて羽田空港を出発した / ソウルへ向かった: the state or place the traveller leaves for."""
    ph = ctx.parse.at(t.start) if ctx.parse else None
    if ph is None:
        return []
    marker = ctx.lex.regex("toward_markers")
    near = [q for q in ctx.parse.phrases if q.end <= t.start and ctx.parse.governs(ph, q, steps=2)]
    goals = [m for q in near for m in mentions_in(ctx, q) if m.type in ("State", "Place") and not m.via_compound
             and marker.match(ctx.text, m.ext_end)]
    return visits_to(ctx, t, [dest_of(ctx, goals[-1])] if goals else [], "toward")


@rule("visit", "goal")
def visit_goal(ctx: DocContext, t: Trigger, scope: None) -> list[EventCandidate]:
    """ピョンヤンに到着: the destination marked by に."""
    return visits_to(ctx, t, _marked_destinations(ctx, t, "に$"), "goal")


@rule("visit", "suffix")
def visit_suffix(ctx: DocContext, t: Trigger, scope: None) -> list[EventCandidate]:
    """日本入り: the destination glued before the word."""
    return visits_to(ctx, t, _marked_destinations(ctx, t, "$"), "suffix")


@rule("visit", "mutual")
def visit_mutual(ctx: DocContext, t: Trigger, scope: None) -> list[EventCandidate]:
    """安倍首相と習主席の相互往来 -> each visits the other's state."""
    sent = ctx.sentence(t.start)
    ms = [m for m in ctx.mentions_between(sent.start, t.start) if ctx.is_person(m)]
    pair = [m for m in ms if m.particle in ("と", "の")][-2:]
    if len(pair) != 2 or pair[0].particle != "と":
        return []
    keys = [ctx.key(m) for m in pair]
    states = [ctx.gaz.state_key_of(k) or _state_from_positions(ctx, k) for k in keys]
    if not all(keys) or not all(states) or states[0] == states[1]:
        return []
    status = status_near(ctx, sent, t.start, t.end)
    ev = ctx.evidence(sent, "visit.mutual", 0.6)
    return [EventCandidate("visit", "Visit", frozenset([k]), t.label, st, None, None, None, status, [ev])
            for k, st in ((keys[0], states[1]), (keys[1], states[0]))]


# ---- what the forms share ---------------------------------------------------------------------------

def _object_marker(ctx: DocContext) -> str:
    """を between the destination and the verb, with what may stand there: 2カ国を, を5日から, を国賓として,
    を初めて, を電撃(訪問)."""
    lex = ctx.lex
    return (f"(?:など)?(?:の?{lex.alternation('state_count')})?{lex.alternation('object_markers')}"
            f"(?:{lex.alternation('day_from')})?"
            f"{lex.alternation('visit_adverbials')}?{lex.alternation('visit_modifiers')}?$")


def _bulleted_start(ctx: DocContext, sent: Sentence) -> int:
    """Where a list written one item a line (▽A / ▽B / ▽Cの3か国を訪れた) begins: the sentence's start, or the
    start of the bulleted lines right before it."""
    bullet = ctx.lex.regex("list_bullets", "^\\s*{}")
    lo = sent.start
    for prev in reversed(ctx.rec.sentences[: sent.idx]):
        if not bullet.match(prev.text) or len(prev.text.strip()) > 30:
            break
        lo = prev.start
    return lo


def _marked_destinations(ctx: DocContext, t: Trigger, marker: str) -> list[Dest]:
    """The destinations right before the trigger, each joined to the next by a list word (AやB、Cを)."""
    sent = ctx.sentence(t.start)
    before = [m for m in ctx.mentions_between(_bulleted_start(ctx, sent), t.start) if m.type in ("State", "Place")]
    joiner = ctx.lex.regex("list_joiners")
    day_from = ctx.lex.alternation("day_from")
    bullets = ctx.lex.regex("list_bullets", "(?:\\s|{})+")  # items one a line: ▽A ▽B ▽Cの3か国
    chain: list[Mention] = []
    for m in reversed(before):
        gap = ctx.text[m.ext_end: (chain[0].start if chain else t.start)]
        if not chain:
            if re.fullmatch(f"(?:{day_from})?{marker}", gap):
                chain.insert(0, m)
                continue
            break
        if joiner.fullmatch(gap) or not bullets.sub("", gap):
            chain.insert(0, m)
            continue
        break
    dests = [dest_of(ctx, m) for m in chain]
    # 北朝鮮の首都ピョンヤンに到着 -> the state before the place
    if len(dests) == 1 and dests[0][1] and chain:
        prev = [x for x in before if x.end <= chain[0].start and ctx.is_state(x)]
        if prev and ctx.lex.regex("capital_links", "の{}?").fullmatch(ctx.text, prev[-1].ext_end, chain[0].start):
            dests = [(ctx.key(prev[-1]), dests[0][1])]
    return dests


def _visitor(ctx: DocContext, sent: Sentence, t: Trigger) -> tuple[str | None, str]:
    """Who visits, and how that was read (relative, genitive, delegation, subject, topic, quoted)."""
    if t.in_quote:
        qa = next(a for a, b in ctx.rec.quotes if a <= t.start < b)
        subj = [m for m in ctx.mentions_between(qa, t.start, quotes=True) if m.particle in ("は", "が")
                and ctx.is_person(m)]
        return (ctx.key(subj[-1]), "quoted") if subj else (None, "")
    if t.forms[0] in ("object", "goal", "fixed", "prefix"):
        rel = _relative_visitor(ctx, sent, t)
        if rel:
            return rel, "relative"
    decided, who = _genitive_visitor(ctx, sent, t)
    if decided:
        return who, "genitive"
    who = _delegation(ctx, sent, t)
    if who:
        return who, "delegation"
    who, how = _subject_visitor(ctx, sent, t)
    if who is None and t.forms[0] in ("object", "goal", "fixed", "prefix"):
        who, how = _later_subject(ctx, sent, t)
    if who is None and not any(m.particle in ("は", "が") for m in ctx.mentions_between(sent.start, t.start)):
        # a sentence with no subject at all continues the report's protagonist
        who, how = (ctx.protagonist, "protagonist") if ctx.protagonist else (None, "")
    return who, how


def _relative_visitor(ctx: DocContext, sent: Sentence, t: Trigger) -> str | None:
    """北韓を訪れた徐薫, 31日から訪問しているロシアのラブロフ外相, 来日中のチン首相."""
    tail = ctx.lex.regex("visit_relative_tail").match(ctx.text, t.end)
    if not tail:
        return None
    pos = tail.end()
    for m in ctx.mentions_between(pos, min(sent.end, pos + 25)):
        if ctx.is_person(m) or (m.type == "Role" and ctx.entity(m)):
            if re.fullmatch(r"(?:[^、。「」]{0,12}の)?", ctx.text[pos: m.start]):
                return ctx.key(m)
            return None
    return None


def _genitive_visitor(ctx: DocContext, sent: Sentence, t: Trigger) -> tuple[bool, str | None]:
    """Xの北朝鮮訪問 / Xの訪米 / 習主席の国賓来日: (True, the person in the genitive); (True, None) when the
    person is named but cannot be resolved (キム氏 of several): no guess; (False, None) when none."""
    glued = glued_destinations(ctx, t)
    first = glued[0].start if glued else t.start
    link = ctx.lex.regex("visit_modifiers", "(?:の|による)?{}?")
    gen = [m for m in ctx.mentions_between(sent.start, first) if link.fullmatch(ctx.text, m.ext_end, first)
           and (m.ext_end < first or m.type in ("Person", "Role"))]  # 安倍総理訪米: a person glued to the word
    if not gen:
        return False, None
    if ctx.is_person(gen[-1]) or (gen[-1].type == "Role" and ctx.entity(gen[-1])):
        return True, ctx.key(gen[-1])
    return gen[-1].type in ("Person", "Role"), None


def _delegation(ctx: DocContext, sent: Sentence, t: Trigger) -> str | None:
    """北朝鮮の代表団が: the state whose delegation travels."""
    for w in ctx.lex["delegation_words"]:
        for m in re.finditer(f"の?{re.escape(w)}", ctx.text[sent.start: t.start]):
            at = sent.start + m.start()
            st = [x for x in ctx.mentions_between(sent.start, at + 1) if ctx.is_state(x) and x.ext_end == at]
            if st:
                return ctx.key(st[-1])
    return None


def _later_subject(ctx: DocContext, sent: Sentence, t: Trigger) -> tuple[str | None, str]:
    """北朝鮮を訪問し、…会談したラブロフ氏は: a verb in its connective form shares the subject written after
    it, in the same sentence, when nothing before names one."""
    if ctx.lex.regex("connective_forms").match(ctx.text, t.end) is None:
        return None, ""
    later = [m for m in ctx.mentions_between(t.end, sent.end) if m.particle in ("は", "が")]
    if later and (ctx.is_person(later[0]) or (later[0].type == "Role" and ctx.entity(later[0]))):
        return ctx.key(later[0]), "subject"
    return None, ""


def _subject_visitor(ctx: DocContext, sent: Sentence, t: Trigger) -> tuple[str | None, str]:
    """The clause's topic, unless another person is marked by が in the verb's own clause (no verb between
    them): 林外相は、朴外相が来日する方向で調整 -> 朴外相 is who comes."""
    subj = [m for m in ctx.mentions_between(sent.start, t.start) if m.particle in ("は", "が")
            and (ctx.is_person(m) or (m.type == "Role" and ctx.entity(m)))]
    if not subj:
        return None, ""
    ga = [m for m in subj[1:] if m.particle == "が"]
    if ga and ctx.key(ga[-1]) != ctx.key(subj[0]) and not ctx.predicate_between(ga[-1].ext_end, t.start):
        return ctx.key(ga[-1]), "subject"
    return ctx.key(subj[0]), "topic"


def _state_from_positions(ctx: DocContext, key: str | None) -> str | None:
    for m in ctx.rec.mentions:
        if m.type == "Person" and ctx.key(m) == key and m.of_key:
            return ctx.gaz.state_key_of(m.of_key)
    return None
