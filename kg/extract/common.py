"""Helpers shared by the event rules: status from the predicate, place, date, leaders of states."""

from __future__ import annotations

import datetime as dt
import re

from kg.extract.context import DocContext
from kg.recognize import Mention, Sentence
from kg.records import PositionStatement

STATUS_ORDER = ("held", "planned", "possible", "cancelled")


def status_near(ctx: DocContext, sent: Sentence, a: int, b: int) -> str:
    """The status of an event whose trigger spans [a, b): the first cue after it, else one just before it,
    else the tense of the sentence's last predicate."""
    cues: dict[str, list[str]] = ctx.lex.get("status_cues", {})
    text = ctx.text
    end = min(sent.end, b + 30)
    after = text[b:end]
    # stop at the next clause that starts another event or a quote
    cut = re.search(r"[「。]", after)
    if cut:
        after = after[: cut.start()]
    best: tuple[int, int, str] | None = None
    for status, words in cues.items():
        for w in words:
            i = after.find(w)
            if i >= 0:
                cand = (i, -len(w), status)
                if best is None or cand < best:
                    best = cand
    if best is not None:
        return best[2]
    before = text[max(sent.start, a - 15): a]
    for status in ("cancelled", "possible", "planned"):
        for w in cues.get(status, []):
            if len(w) >= 2 and w in before and w not in ("調整", "向け"):
                return status
    tail = re.sub(r"[。\s」]+$", "", sent.text)
    if re.search(r"(た|ました|だ|でした|ている|ています|ていた|という|ということです|とみられる|とみられます)$", tail):
        return "held"
    return "planned"


def place_near(ctx: DocContext, sent: Sentence, a: int, b: int) -> str | None:
    """The place of an event: a Place/State followed by で/での near the trigger, else a place of arrival
    in the same sentence."""
    text = ctx.text
    cands: list[tuple[int, Mention]] = []
    quoted = ctx.rec.in_quote(a)
    for m in ctx.mentions_between(sent.start, sent.end, quotes=quoted):
        if quoted and not ctx.rec.in_quote(m.start):
            continue
        if m.type not in ("Place", "State") or m.via_compound:
            continue
        nxt = text[m.ext_end: m.ext_end + 2]
        if nxt.startswith("で") and not nxt.startswith("でも"):
            cands.append((abs(m.start - a), m))
    if cands:
        return ctx.key(min(cands, key=lambda x: x[0])[1])
    for m in ctx.mentions_between(sent.start, a):
        if m.type in ("Place", "State") and re.match(r"(に到着|入り)", text[m.ext_end: m.ext_end + 3]):
            return ctx.key(m)
    return None


def date_near(ctx: DocContext, sent: Sentence, a: int, b: int) -> tuple[str | None, str | None]:
    """The date (and end date) closest to the trigger in its sentence, outside quotes."""
    quoted = ctx.rec.in_quote(a)
    ds = [d for d in ctx.dates.get(sent.idx, []) if d.value and ctx.rec.in_quote(d.start) == quoted]
    if not ds:
        if re.search(r"(午前|午後|同日|今夜|夜)", ctx.text[sent.start:b]):
            prev = [d for s in range(max(0, sent.idx - 2), sent.idx) for d in ctx.dates.get(s, []) if d.value]
            if prev:
                return prev[-1].value, prev[-1].end_value
        return None, None
    d = min(ds, key=lambda d: (abs(d.start - a), d.start > a))
    return d.value, d.end_value


def leaders(ctx: DocContext, positions: list[PositionStatement], state_key: str,
            domain: str | None = None, title: str | None = None) -> set[str]:
    """Holders in this document of a leader post (or of a post in ``domain``/``title``) of the state."""
    ranks = set(ctx.lex.get("leader_ranks", []))
    out: set[str] = set()
    for p in positions:
        if ctx.gaz.state_key_of(p.of) != state_key:
            continue
        post = ctx.gaz.post(p.post) or ctx.gaz.post(p.title)
        if title:
            want = ctx.gaz.post(title)
            ok = p.post == (want.canonical if want else title) or (
                want is not None and post is not None and want.domain and post.domain == want.domain
                and post.rank == want.rank)
        elif domain:
            ok = post is not None and post.domain == domain
        else:
            ok = post is not None and (post.leader or post.rank in ranks)
        if ok:
            out.add(p.holder)
    return out


def merge_status(a: str, b: str) -> str:
    return a if STATUS_ORDER.index(a) <= STATUS_ORDER.index(b) else b


def dates_compatible(a: str | None, b: str | None, days: int = 3) -> bool:
    if not a or not b:
        return True
    if len(a) == 10 and len(b) == 10:
        return abs((dt.date.fromisoformat(a) - dt.date.fromisoformat(b)).days) <= days
    n = min(len(a), len(b))
    return a[:n] == b[:n]
