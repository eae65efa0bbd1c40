"""Helpers shared by the event rules: status from the predicate, place, date, leaders of states."""

from __future__ import annotations

import datetime as dt
import re

from kg.build.extract.context import DocContext
from kg.build.recognize import Mention, Sentence
from kg.records import PositionStatement

STATUS_ORDER = ("held", "planned", "possible", "cancelled")


def status_near(ctx: DocContext, sent: Sentence, a: int, b: int, window_end: int | None = None) -> str:
    """The status of an event whose trigger spans [a, b).

    A past predicate attached to the trigger (会談した, 訪れた, 会談が行われ) makes it held; then,
    in the trigger's clause after it (up to the next event trigger), a cancellation (中止), a
    modality cue (可能性, 見方, 焦点 …: possible) or a plan (予定, 見通し, 向け …: planned); failing
    those, a cue just before the trigger (30日に行われた…, 直近の…, 来年にも…), else its tense.
    """
    cues: dict[str, list[str]] = ctx.lex.get("status_cues", {})
    text = ctx.text
    end = min(sent.end, window_end if window_end is not None else b + 40, b + 40)
    after = text[b:end]
    cut = re.search(r"[「。]", after)
    if cut:
        after = after[: cut.start()]
    if ctx.rec.in_quote(a):
        qend = next((qb for qa, qb in ctx.rec.quotes if qa <= a < qb), len(text))
        after = after[: max(0, qend - b)]
    held = re.match(ctx.lex.get("held_attached", r"^(?!x)x"), after)
    # a te-form (会談し、) carries no tense of its own: the sentence's last predicate decides
    if (held and not any(w in after[:12] for w in cues.get("cancelled", []))
            and (not re.fullmatch(r"し?[、,]", held.group(0)) or past_sentence(sent))):
        return "held"
    if re.match(r"^[がは][^。「」]{0,30}?(?:(?:行われ|開かれ|開催され)(?:た|ました)|終了|閉幕|終わっ|決裂|物別れ)", after):
        return "held"  # 会談が5月30日から2日間の日程で、ニューヨークで行われました / 会談は28日、…終了した
    for status in ("cancelled", "possible", "planned"):
        if any(w in after for w in cues.get(status, [])):
            return status
    clause = text[max(sent.start, a - 40): a]
    if any(w in clause.rsplit("、", 1)[-1] for w in ("行われた", "開かれた", "行った")):
        return "held"  # 30日に行われた…の夕食会
    before = text[max(sent.start, a - 20): a]
    for status in ("cancelled", "possible", "planned"):
        for w in cues.get(status, []):
            if len(w) >= 2 and w in before and w not in ("調整", "向け"):
                return status
    if any(w in clause.rsplit("、", 1)[-1] for w in ctx.lex.get("held_before", [])):
        return "held"  # 直近の…との会談
    # 会談し、…た: a connective form takes the sentence's tense; a plain する before a past predicate
    # (来日すると発表した) is still to come
    if re.match(r"し(?!な)", text[b: b + 2]) and past_sentence(sent):
        return "held"
    return "planned"


_NEGATED = re.compile(r"(?:し|せ|さ|を行わ|は行わ|が行われ|は行われ)(?:てい)?(?:な(?:い|かっ|く)|ません|ず)")


def negated(text: str, b: int) -> bool:
    """Whether the predicate attached to an event word ending at ``b`` is negated (訪問していない,
    会談しなかった, 会談は行われず): no such event is stated."""
    return _NEGATED.match(text, b) is not None


def past_sentence(sent: Sentence) -> bool:
    tail = re.sub(r"[。\s」]+$", "", sent.text)
    return re.search(r"(た|ました|でした|ていた|という|ということです|とみられる|とみられます)$", tail) is not None


_PLACE_MARK = re.compile(r"(?:[都府県州市区]?内|近郊|郊外)?(?:で(?!も)|において|にて)")


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
        # 東京で / ソウル市内で / 東京都内で / ワシントン近郊で / ジュネーブにおいて
        if _PLACE_MARK.match(text, m.ext_end):
            cands.append((abs(m.start - a), m))
    if cands:
        return ctx.key(min(cands, key=lambda x: x[0])[1])
    for m in reversed(ctx.mentions_between(sent.start, a)):
        if m.type in ("Place", "State") and not m.via_compound and re.match(
                r"(?:に到着|入り|を(?:\d+日(?:から)?)?(?:訪問|訪れ))", text[m.ext_end: m.ext_end + 10]):
            return ctx.key(m)  # the place the party had travelled to
    return None


def date_near(ctx: DocContext, sent: Sentence, a: int, b: int,
              window: tuple[int, int] | None = None) -> tuple[str | None, str | None]:
    """The date (and end date) of an event whose trigger spans [a, b).

    A date counts when it is in the trigger's clause (no 、 between it and the trigger, or after
    the trigger up to the next event), or when it is a sentence adverbial before the trigger
    (31日午前、… ; 13日、…) rather than the date of another verb (29日に平壌を出発し、…).
    """
    quoted = ctx.rec.in_quote(a)
    lo, hi = window or (sent.start, sent.end)
    text = ctx.text
    ds = [d for d in ctx.dates.get(sent.idx, []) if d.value and ctx.rec.in_quote(d.start) == quoted]
    # 13日(日本時間14日): the date in brackets restates the one before it in another time zone; the
    # local one counts (日本時間14日(現地時間13日): the one in brackets)
    restated = set()
    for o in ds:
        for d in ds:
            gap = text[o.end: d.start] if o is not d and o.end <= d.start else ""
            if re.fullmatch(r"[(（][^()（）、。]{0,8}", gap):
                restated.add(id(o) if gap[1:].startswith("現地") else id(d))
    ds = [d for d in ds if id(d) not in restated]
    own = []
    for d in ds:
        if d.start >= b and d.start < hi and "、" not in text[b: d.start].replace("、ニ", ""):
            own.append((d.start - b, d))
        elif d.end <= a and d.start >= lo:
            between = text[d.end: a]
            # the trigger's own clause, or a sentence adverbial: 31日午前、/ 本22日午後5時頃から約3時間、
            if "、" not in between or re.match(r"(?:[(（][^)）]*[)）]|[^、。をにでがは(（])*、", between):
                own.append((a - d.end, d))
    if own:
        d = min(own, key=lambda x: x[0])[1]
        return d.value, d.end_value
    if re.search(r"(午前|午後|同日|今夜|夜)", text[sent.start:b]):
        # the discourse date: the last full date written before this sentence
        prev = [d for s in range(sent.idx) for d in ctx.dates.get(s, [])
                if d.value and len(d.value) == 10 and not ctx.rec.in_quote(d.start)]
        if prev:
            return prev[-1].value, prev[-1].end_value
    return None, None


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


def plausible_date(ctx: DocContext, status: str, start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """A planned or possible event does not start before the article was written: such a date belongs
    to the statement about the event (トランプ大統領は8日、…首脳会談に応じる考えを示した), not to it."""
    pub = ctx.article.published
    if start and pub and status in ("planned", "possible") and start < pub[: len(start)]:
        return None, None
    return start, end


def merge_status(a: str, b: str) -> str:
    return a if STATUS_ORDER.index(a) <= STATUS_ORDER.index(b) else b


def dates_compatible(a: str | None, b: str | None, days: int = 3) -> bool:
    if not a or not b:
        return True
    if len(a) == 10 and len(b) == 10:
        return abs((dt.date.fromisoformat(a) - dt.date.fromisoformat(b)).days) <= days
    n = min(len(a), len(b))
    return a[:n] == b[:n]
