"""Helpers shared by the event rules: status from the predicate, place, date, leaders of states.

Every word they look for is a list in ``kg/data/lexicon.json``; the code holds the particles and
the order in which the cues are weighed.
"""

from __future__ import annotations

import re

from kg.build.extract.clause import predicate_phrases
from kg.build.extract.context import DocContext
from kg.build.extract.dates import DateMention
from kg.build.recognize import KANJI, KATA, Mention, Sentence
from kg.records import PositionStatement

_CUE_ORDER = ("cancelled", "possible", "planned")


def status_near(ctx: DocContext, sent: Sentence, a: int, b: int, window_end: int | None = None) -> str:
    """The status of an event whose trigger spans [a, b).

    A past predicate attached to the trigger (会談した, 訪れた, 会談が行われ) makes it held; then,
    in the trigger's clause after it (up to the next event trigger), a cancellation (中止), a
    modality cue (可能性, 見方, 焦点 …: possible) or a plan (予定, 見通し, 向け …: planned); failing
    those, a cue just before the trigger (30日に行われた…, 直近の…, 来年にも…), else its tense.
    """
    if ctx.text.startswith(("。", "\n"), b) and not ctx.rec.in_quote(a) and re.match(f"[{KANJI}{KATA}]", ctx.text[b - 1]):
        return "held"  # …ケリー米国務長官と会談。/ a heading ゲイツ長官との立ち話: a report naming what happened
    after = _clause_after(ctx, sent, a, b, window_end)
    found = _held_after(ctx, sent, after) or _cue(ctx, after) or _before(ctx, sent, a)
    if found:
        return found
    # 会談し、…た: a connective form takes the sentence's tense; a plain する before a past predicate
    # (来日すると発表した) is still to come
    if ctx.lex.regex("connective_suru").match(ctx.text, b) and past_sentence(ctx, sent):
        return "held"
    if _governed_by_past(ctx, a):
        return "held"  # 大統領主催の昼食会に出席した: the verb that takes the event is past
    return "planned"


def _governed_by_past(ctx: DocContext, a: int) -> bool:
    """The event noun at ``a`` is an argument (に, で, を) of a verb in the past tense."""
    ph = ctx.parse.at(a) if ctx.parse else None
    if ph is None or ph.pos == "VERB" or not ph.marker.startswith(("に", "で", "を")):
        return False
    verb = ctx.parse.governor(ph)
    if verb is None or verb.pos != "VERB":
        return False
    tail = re.sub(r"[。、\s」]+$", "", verb.text)
    return ctx.lex.regex("past_endings", "{}$").search(tail) is not None


def _clause_after(ctx: DocContext, sent: Sentence, a: int, b: int, window_end: int | None) -> str:
    """The text after the trigger, up to the next event, a quote or the sentence end (40 characters at most)."""
    end = min(sent.end, window_end if window_end is not None else b + 40, b + 40)
    after = ctx.text[b:end]
    cut = re.search(r"[「。]", after)
    if cut:
        after = after[: cut.start()]
    if ctx.rec.in_quote(a):
        qend = next((qb for qa, qb in ctx.rec.quotes if qa <= a < qb), len(ctx.text))
        after = after[: max(0, qend - b)]
    return after


def _held_after(ctx: DocContext, sent: Sentence, after: str) -> str | None:
    held = ctx.lex.regex("held_attached").match(after)
    # a te-form (会談し、) carries no tense of its own: the sentence's last predicate decides
    if (held and not any(w in after[:12] for w in ctx.lex["status_cues"]["cancelled"])
            and (not ctx.lex.regex("connective_forms").fullmatch(held.group(0)) or past_sentence(ctx, sent))):
        return "held"
    if ctx.lex.regex("held_later", "^[がは][^。「」]{0,30}?{}").match(after):
        return "held"  # 会談が5月30日から2日間の日程で、ニューヨークで行われました / 会談は28日、…終了した
    if ctx.lex.regex("at_event", "^{}[^。「」]{0,30}?" + ctx.lex.alternation("past_predicate")).match(after):
        return "held"  # 首脳会談で…合意した: what was done at the meeting
    if ctx.lex.regex("event_noun_uses", "^(?:{})").match(after):
        return "held"  # 会談を受け, 会談後: what followed the meeting
    return None


def _cue(ctx: DocContext, after: str) -> str | None:
    cues = ctx.lex["status_cues"]
    return next((s for s in _CUE_ORDER if any(w in after for w in cues[s])), None)


def _before(ctx: DocContext, sent: Sentence, a: int) -> str | None:
    """A cue in the clause before the trigger: 30日に行われた…の夕食会, 来年にも…, 直近の…との会談."""
    text = ctx.text
    clause = text[max(sent.start, a - 40): a].rsplit("、", 1)[-1]
    if any(w in clause for w in ctx.lex["held_in_clause_before"]):
        return "held"
    before = text[max(sent.start, a - 20): a]
    weak = set(ctx.lex["cues_only_after"])
    for status in _CUE_ORDER:
        if any(len(w) >= 2 and w in before and w not in weak for w in ctx.lex["status_cues"][status]):
            return status
    if any(w in clause for w in ctx.lex["held_before"]):
        return "held"
    return None


def negated(ctx: DocContext, b: int) -> bool:
    """Whether the predicate attached to an event word ending at ``b`` is negated (訪問していない,
    会談しなかった, 会談は行われず): no such event is stated."""
    return ctx.lex.regex("negation_after").match(ctx.text, b) is not None


def past_sentence(ctx: DocContext, sent: Sentence) -> bool:
    """The sentence ends on a past predicate (…会談した。, …ということです。)."""
    tail = re.sub(r"[。\s」]+$", "", sent.text)
    return ctx.lex.regex("past_endings", "{}$").search(tail) is not None


def place_near(ctx: DocContext, sent: Sentence, a: int, b: int) -> str | None:
    """The place of an event: a Place/State followed by で/での near the trigger, else a place of arrival
    in the same sentence."""
    cands: list[tuple[int, Mention]] = []
    quoted = ctx.rec.in_quote(a)
    for m in ctx.mentions_between(sent.start, sent.end, quotes=quoted):
        if quoted and not ctx.rec.in_quote(m.start):
            continue
        if m.type not in ("Place", "State") or m.via_compound:
            continue
        # 東京で / ソウル市内で / 東京都内で / ワシントン近郊で / ジュネーブにおいて
        if ctx.lex.regex("place_marker").match(ctx.text, m.ext_end):
            cands.append((abs(m.start - a), m))
    if cands:
        return ctx.key(min(cands, key=lambda x: x[0])[1])
    for m in reversed(ctx.mentions_between(sent.start, a)):
        if (m.type in ("Place", "State") and not m.via_compound
                and ctx.lex.regex("arrival_after").match(ctx.text, m.ext_end)):
            return ctx.key(m)  # the place the party had travelled to
    return None


def date_near(ctx: DocContext, sent: Sentence, a: int, b: int,
              window: tuple[int, int] | None = None) -> tuple[str | None, str | None]:
    """The date (and end date) of an event whose trigger spans [a, b).

    A date counts when it is in the trigger's clause (no 、 between it and the trigger, or after
    the trigger up to the next event), or when it is a sentence adverbial before the trigger
    (31日午前、… ; 13日、…) rather than the date of another verb (29日に平壌を出発し、…).
    """
    lo, hi = window or (sent.start, sent.end)
    text = ctx.text
    own = []
    light = ctx.lex.regex("light_verbs", "(?:に|から)?{}")
    verb = ctx.lex.regex("light_verbs")
    for d in _local_dates(ctx, sent, a):
        held_by = light.match(text, d.end) is not None and verb.search(text, b, d.start) is None
        if (b <= d.start < hi and "、" not in text[b: d.start]) or (b <= d.start < sent.end and held_by):
            own.append((d.start - b, d))  # 会談は31日に行われ / 首脳会談を、…9月5日に行う
        elif d.end <= a and d.start >= lo:
            between = text[d.end: a]
            # the trigger's own clause, or a sentence adverbial: 31日午前、/ 本22日午後5時頃から約3時間、
            if "、" not in between or re.match(r"(?:[(（][^)）]*[)）]|[^、。をにでがは(（])*、", between):
                own.append((a - d.end, d))
    if own:
        d = min(own, key=lambda x: x[0])[1]
        return d.value, d.end_value
    carried = _date_of_light_verb(ctx, sent, a)
    if carried:
        return carried.value, carried.end_value
    if ctx.lex.regex("discourse_date_cues").search(text, sent.start, b):
        # the discourse date: the last full date written before this sentence
        prev = [d for s in range(sent.idx) for d in ctx.dates.get(s, [])
                if d.value and len(d.value) == 10 and not ctx.rec.in_quote(d.start)]
        if prev:
            return prev[-1].value, prev[-1].end_value
    return None, None


def _local_dates(ctx: DocContext, sent: Sentence, a: int) -> list[DateMention]:
    """The sentence's resolved dates on the trigger's side of the quotes, without restatements.

    13日(日本時間14日): the date in brackets restates the one before it in another time zone; the local
    one counts (日本時間14日(現地時間13日): the one in brackets)."""
    quoted = ctx.rec.in_quote(a)
    ds = [d for d in ctx.dates.get(sent.idx, []) if d.value and ctx.rec.in_quote(d.start) == quoted]
    local = ctx.lex.regex("local_time_words", "^[(（]{}")
    restated = set()
    for o in ds:
        for d in ds:
            gap = ctx.text[o.end: d.start] if o is not d and o.end <= d.start else ""
            if re.fullmatch(r"[(（][^()（）、。]{0,8}", gap):
                restated.add(id(o) if local.match(gap) else id(d))
    return [d for d in ds if id(d) not in restated]


def leaders(ctx: DocContext, positions: list[PositionStatement], state_key: str,
            domain: str | None = None, title: str | None = None) -> set[str]:
    """Holders in this document of a leader post (or of a post in ``domain``/``title``) of the state."""
    ranks = set(ctx.lex["leader_ranks"])
    want = ctx.gaz.post(title) if title else None
    out: set[str] = set()
    for p in positions:
        if ctx.gaz.state_key_of(p.of) != state_key:
            continue
        post = ctx.gaz.post(p.post) or ctx.gaz.post(p.title)
        if title:
            ok = p.post == (want.canonical if want else title) or (
                want is not None and post is not None and bool(want.domain) and post.domain == want.domain
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


def _date_of_light_verb(ctx: DocContext, sent: Sentence, a: int) -> DateMention | None:
    """首脳会談を、…9月5日に行う: the date attached to the verb that holds the event."""
    preds = predicate_phrases(ctx, a)
    if len(preds) < 2:
        return None
    verb = preds[-1]
    deps = [q for q in ctx.parse.dependents(verb) if q.idx not in {p.idx for p in preds}]
    ds = [d for d in _local_dates(ctx, sent, a) if any(q.start <= d.start < q.end for q in deps)]
    return ds[-1] if ds else None
