"""Visits: 訪問, 訪れる, 到着, X入り, 来日, 訪朝/訪米, 相互往来 -> visitor, destination, place, dates, status.

The destination is the state/place marked by を (訪問, 訪れる), に (到着) or glued to 入り / 訪;
a place's state is its destination. The visitor is, in order: the person the verb's relative
clause describes (北韓を訪れた徐薫), the person or role in the genitive before a noun form
(ロシア外相の北朝鮮訪問), a state's delegation (北朝鮮の代表団が), or the clause's topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.build.extract.common import (
    date_near,
    dates_compatible,
    merge_status,
    negated,
    past_sentence,
    plausible_date,
    status_near,
)
from kg.build.extract.context import DocContext
from kg.build.recognize import Mention
from kg.records import Evidence, VisitStatement


@dataclass
class _Visit:
    visitor: str
    dest: str | None
    place: str | None
    start: str | None
    end: str | None
    status: str
    evidence: list[Evidence] = field(default_factory=list)


def _dest_of(ctx: DocContext, m: Mention, text: str) -> tuple[str | None, str | None]:
    """(destination state, place) for a destination mention."""
    k = ctx.key(m)
    e = ctx.entity(m)
    if e is None:
        return None, None
    if e.type == "State":
        return k, None
    if e.type == "Place":
        st = ctx.gaz.state_key_of(k)
        if st is None:
            prev = [x for x in ctx.rec.mentions if x.end in (m.start - 1, m.start) and ctx.is_state(x)]
            if prev and text[prev[-1].end: m.start] in ("の", "・", "の首都", ""):
                st = ctx.key(prev[-1])
        return st or k, k
    return None, None


def extract_visits(ctx: DocContext) -> list[VisitStatement]:
    text = ctx.text
    visits: list[_Visit] = []
    triggers: list[tuple[int, int, str]] = []
    for w in ctx.lex.get("visit_triggers", []):
        for m in re.finditer(re.escape(w["word"]), text):
            triggers.append((m.start(), m.end(), w["form"]))
    for m in ctx.rec.mentions:
        if m.via_compound and text[m.start - 1: m.start] == "訪":
            triggers.append((m.start - 1, m.end, "prefix"))
    for m in re.finditer(r"訪問(?:先|中)の", text):  # 訪問先の北京で, 訪問中のニューヨークで
        triggers.append((m.start(), m.end(), "after"))
    excl = ctx.lex.get("visit_exclusions", [])
    for a, b, form in sorted(set(triggers)):
        if ctx.rec.in_quote(a):
            continue
        if form == "object" and any(text.startswith(x, a) for x in excl):
            continue
        if negated(text, b):
            continue  # 中国を訪問していない
        sent = ctx.sentence(a)
        dests: list[tuple[str | None, str | None]] = []
        before = [m for m in ctx.mentions_between(sent.start, a) if m.type in ("State", "Place")]
        if form == "prefix":
            comp = [m for m in ctx.rec.mentions if m.start == a + 1 and m.via_compound]
            dests = [(ctx.key(comp[0]), None)] if comp else []
        elif form == "fixed":
            w = next(x for x in ctx.lex["visit_triggers"] if text.startswith(x["word"], a))
            dests = [(f"state:{w['dest']}", None)]
        elif form == "after":
            after = [m for m in ctx.mentions_between(b, min(sent.end, b + 20)) if m.type in ("State", "Place")]
            if after and text.startswith("訪問中の", a) and after[0].start != b:
                after = []  # 訪問中の is followed by the place itself, else it qualifies someone (訪問中の岸田首相)
            if after:
                st, pl = _dest_of(ctx, after[0], text)
                if len(after) > 1 and ctx.entity(after[1]) and ctx.entity(after[1]).type == "Place":
                    pl = ctx.key(after[1])
                dests = [(st, pl)]
        elif form in ("object", "goal", "suffix"):
            # 中国を国賓として訪問 / 北朝鮮を初めて訪問: a short adverbial may stand between を and the verb
            adverbial = r"(?:[^、。「」をにでがはと]{1,8}として|初めて|正式に|公式に|非公式に|再び|改めて|電撃的に)?"
            # ... or a modifier glued to the noun: ウクライナを電撃訪問, インドを初訪問
            glued_mod = "(?:" + "|".join(re.escape(w) for w in ctx.lex.get("visit_modifiers", [])) + ")?"
            marker = {"object": r"(?:など)?(?:(?:\d+|[二三四五六七八九])[カか力ヵケ]国)?を(?:\d+日[にから]*)?" + adverbial
                      + glued_mod + "$",
                      "goal": r"に$", "suffix": r"$"}[form]
            chain: list[Mention] = []
            for m in reversed(before):
                gap = text[m.ext_end: (chain[0].start if chain else a)]
                if not chain:
                    if re.fullmatch(r"(?:\d+日から)?" + marker if form != "suffix" else "", gap) or (
                        form != "suffix" and re.fullmatch(marker, gap)
                    ):
                        chain.insert(0, m)
                        continue
                    break
                if re.fullmatch(r"[やと、・]|および|及び", gap):
                    chain.insert(0, m)
                    continue
                break
            for m in chain:
                dests.append(_dest_of(ctx, m, text))
            # 北朝鮮の首都ピョンヤンに到着 -> the state before the place
            if len(dests) == 1 and dests[0][1] and chain:
                prev = [x for x in before if x.end <= chain[0].start and ctx.is_state(x)]
                if prev and re.fullmatch(r"の(?:首都)?", text[prev[-1].ext_end: chain[0].start]):
                    dests = [(ctx.key(prev[-1]), dests[0][1])]
            if not dests and form == "object":
                # ロシア外相の北朝鮮訪問 : a noun form with the destination glued before it
                glued = [m for m in before if m.ext_end == a]
                if glued:
                    dests = [_dest_of(ctx, glued[-1], text)]
        elif form == "mutual":
            vis = _mutual(ctx, sent, a)
            for who, where in vis:
                _add(visits, who, where, None, None, None, status_near(ctx, sent, a, b),
                     ctx.evidence(sent, "visit.mutual", 0.6))
            continue
        dests = [d for d in dests if d[0] or d[1]]
        if not dests:
            continue
        visitor, rule = _visitor(ctx, sent, a, b, form, dests)
        if visitor is None:
            continue
        seg_start = max(sent.start, text.rfind("、", sent.start, a) + 1)
        seg_dates = [d for d in ctx.dates.get(sent.idx, []) if d.value and seg_start <= d.start < a]
        if seg_dates:
            start, end = seg_dates[-1].value, seg_dates[-1].end_value
        elif rule in ("visit.topic", "visit.subject"):
            start, end = date_near(ctx, sent, a, b)
            if start and not any(d.start < a and d.value == start for d in ctx.dates.get(sent.idx, [])):
                start = end = None  # a date after the trigger belongs to the next clause
        else:
            start = end = None
        status = status_near(ctx, sent, a, b) if form != "after" else (
            "held" if past_sentence(sent) else "planned")  # 訪問先の…: the visit is under way
        start, end = plausible_date(ctx, status, start, end)
        for st, pl in dests:
            if st and ctx.gaz.state_key_of(visitor) == st:
                continue  # going home is not a visit
            _add(visits, visitor, st, pl, start, end, status, ctx.evidence(sent, rule, 0.75))
    return [
        VisitStatement(visitor=v.visitor, destination=v.dest, location=v.place, start=v.start, end=v.end,
                       status=v.status, doc_id=ctx.article.doc_id, evidence=tuple(v.evidence))
        for v in visits
    ]


def _add(visits: list[_Visit], who: str, st: str | None, pl: str | None, start: str | None, end: str | None,
         status: str, ev: Evidence) -> None:
    for v in visits:
        if v.visitor == who and (v.dest == st or (pl and v.place == pl)) and dates_compatible(v.start, start, 7):
            v.status = merge_status(v.status, status)
            v.place = v.place or pl
            v.start = v.start or start
            v.end = v.end or end
            if ev not in v.evidence:
                v.evidence.append(ev)
            return
    visits.append(_Visit(who, st, pl, start, end, status, [ev]))


def _visitor(ctx: DocContext, sent, a: int, b: int, form: str, dests) -> tuple[str | None, str]:  # type: ignore[no-untyped-def]
    text = ctx.text
    # relative clause: 北韓を訪れた徐薫, 31日から訪問しているロシアのラブロフ外相
    tail = re.match(r"(?:し)?(?:た|ている|ていた|してい[るた]|中の|する|した)", text[b:])
    if tail and form in ("object", "goal", "fixed", "prefix"):  # … 来日中のチン首相, 来日した尹大統領
        pos = b + tail.end()
        after = [m for m in ctx.mentions_between(pos, min(sent.end, pos + 25))]
        for m in after:
            if ctx.is_person(m) or (m.type == "Role" and ctx.entity(m)):
                gap = text[pos: m.start]
                if re.fullmatch(r"(?:[^、。「」]{0,12}の)?", gap):
                    return ctx.key(m), "visit.relative"
                break
    # genitive: Xの北朝鮮訪問 / Xの訪米
    first = min([a] + [m.start for m in ctx.mentions_between(sent.start, a)
                       if m.ext_end == a and m.type in ("State", "Place")])
    mods = "|".join(re.escape(w) for w in ctx.lex.get("visit_modifiers", [])) or "(?!x)x"
    gen = [m for m in ctx.mentions_between(sent.start, first)
           if re.fullmatch(rf"の(?:{mods})?", text[m.ext_end: first])]  # 習主席の(国賓)来日
    if gen and (ctx.is_person(gen[-1]) or (gen[-1].type == "Role" and ctx.entity(gen[-1]))):
        return ctx.key(gen[-1]), "visit.genitive"
    if gen and gen[-1].type in ("Person", "Role"):
        return None, ""  # the visitor is named but cannot be resolved (キム氏 of several): no guess
    # a delegation: 北朝鮮の代表団が
    for w in ctx.lex.get("delegation_words", []):
        for m in re.finditer(rf"の?{re.escape(w)}", text[sent.start:a]):
            st = [x for x in ctx.mentions_between(sent.start, sent.start + m.start() + 1) if ctx.is_state(x)
                  and x.ext_end == sent.start + m.start()]
            if st:
                return ctx.key(st[-1]), "visit.delegation"
    # the clause's topic, unless another person is marked by が in the verb's own clause (no verb
    # between them): 林外相は、朴外相が来日する方向で調整 -> 朴外相 is who comes
    subj = [m for m in ctx.mentions_between(sent.start, a) if m.particle in ("は", "が")
            and (ctx.is_person(m) or (m.type == "Role" and ctx.entity(m)))]
    if subj:
        ga = [m for m in subj[1:] if m.particle == "が"]
        if ga and ctx.key(ga[-1]) != ctx.key(subj[0]) and not ctx.predicate_between(ga[-1].ext_end, a):
            return ctx.key(ga[-1]), "visit.subject"
        return ctx.key(subj[0]), "visit.topic"
    return None, ""


def _mutual(ctx: DocContext, sent, a: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """安倍首相と習主席の相互往来 -> each visits the other's state."""
    ms = [m for m in ctx.mentions_between(sent.start, a) if ctx.is_person(m)]
    pair = [m for m in ms if m.particle in ("と", "の")][-2:]
    if len(pair) != 2 or pair[0].particle != "と":
        return []
    out = []
    keys = [ctx.key(m) for m in pair]
    states = [ctx.gaz.state_key_of(k) or _state_from_positions(ctx, k) for k in keys]
    if all(keys) and all(states) and states[0] != states[1]:
        out = [(keys[0], states[1]), (keys[1], states[0])]
    return out  # type: ignore[return-value]


def _state_from_positions(ctx: DocContext, key: str | None) -> str | None:
    for m in ctx.rec.mentions:
        if m.type == "Person" and ctx.key(m) == key and m.of_key:
            return ctx.gaz.state_key_of(m.of_key)
    return None
