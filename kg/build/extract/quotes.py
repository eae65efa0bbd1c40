"""Quotes: words in 「」 attributed to a speaker.

A quote counts when something after it says it was said: a speech verb after と (「…」と述べた,
「…」などと語った), a formal 旨 (「…」旨述べました), an object of a verb of speech (「…」を表明した,
「…」を呼び掛けた), a link to a further clause (「…」としたうえで, 「…」としながらも), a speaker
named after the quote (「…」と、トランプ大統領は述べた), or a remark and its speaker (外相の「…」発言).
A headline (安倍首相 「…」) and a caption line (アメリカ ブリンケン国務長官 / 「…」) name the speaker first.

The speaker is the topic (は/が/も) before the quote in its sentence; a quote in a continuation
sentence with no topic of its own (そのうえで「…」と述べ, また「…」旨述べました) keeps the speaker of
the sentence before; a described but unnamed speaker (国務省の高官) is kept as a description, never
guessed into a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.build.extract.context import DocContext
from kg.build.recognize import Mention, Sentence
from kg.records import QuoteStatement


@dataclass
class _Said:
    how: str  # speech | owner | late | headline | caption
    late: Mention | None = None  # the speaker named outside the quote: after it, or with の before it


@dataclass
class _Scope:
    speaker: str | None = None  # of the previous attributed quote or sentence
    sent: int = -10


def extract_quotes(ctx: DocContext) -> list[QuoteStatement]:
    out: list[QuoteStatement] = []
    scope = _Scope()
    for qa, qb in ctx.rec.quotes:
        inner = ctx.text[qa:qb]
        if len(re.sub(r"[(（][^)）]*[)）]", "", inner).strip(" 　…・.")) < 2:
            continue
        said = _said(ctx, qa, qb)
        if said is None:
            continue
        sent = ctx.sentence(qa - 1)
        speaker, description, rule = _speaker(ctx, sent, qa, said, scope)
        if speaker is None and description is None:
            continue
        out.append(QuoteStatement(
            text=inner, speaker=speaker, speaker_description=description, date=_date(ctx, sent, qa),
            doc_id=ctx.article.doc_id, evidence=(ctx.evidence(sent, rule, 0.85 if speaker else 0.5),),
        ))
        if speaker:
            scope.speaker, scope.sent = speaker, sent.idx
    return out


def _said(ctx: DocContext, qa: int, qb: int) -> _Said | None:
    """How the text after the quote attributes it, if it does."""
    lex = ctx.lex
    after = ctx.text[qb + 1: qb + 40]
    verbs = lex.alternation("speech_verbs")
    closers = (rf"\s*{lex.alternation('quote_link')}(?!の)[^。「」]{{0,12}}?{verbs}",  # 「…」と述べた
               rf"\s*{lex.alternation('quote_formal')}[^。「」]{{0,6}}?{verbs}",  # 「…」旨述べました
               rf"\s*を{lex.alternation('quote_object_verbs')}",  # 「…」を表明した
               rf"\s*{lex.alternation('quote_clause_links')}")  # 「…」としたうえで
    owner = _owner_speaker(ctx, qa, qb)
    if owner is not None:
        return _Said("owner", owner)
    if any(re.match(c, after) for c in closers):
        return _Said("speech")
    late = _late_speaker(ctx, qb)
    if late is not None:
        return _Said("late", late)
    if _headline(ctx, qa, qb):
        return _Said("headline")
    if _caption(ctx, qa, qb):
        return _Said("caption")
    return None


def _owner_speaker(ctx: DocContext, qa: int, qb: int) -> Mention | None:
    """外相の「…」などとした発言, 首相の「…」との発言: the words of a remark, the speaker written with の before."""
    link = ctx.lex.alternation("quote_link")
    remark = ctx.lex.regex("remark_nouns", rf"\s*(?:{link})?\s*[\u3041-\u3093]{{0,3}}?{{}}")  # などとした発言
    if ctx.text[qa - 2: qa] != "の「" or not remark.match(ctx.text, qb + 1):
        return None
    named = [m for m in ctx.mentions_between(ctx.sentence(qa).start, qa - 2) if m.ext_end == qa - 2]
    return named[-1] if named and speaks(ctx, named[-1]) else None


def _late_speaker(ctx: DocContext, qb: int) -> Mention | None:
    """「…」と、トランプ大統領は述べた: the speaker named after the quote."""
    m = re.match(rf"\s*{ctx.lex.alternation('quote_link')}、", ctx.text[qb + 1: qb + 10])
    if not m:
        return None
    pos = qb + 1 + m.end()
    sent = ctx.sentence(pos)
    cand = [x for x in ctx.mentions_between(pos, min(sent.end, pos + 30)) if x.particle in ("は", "が") and speaks(ctx, x)]
    verb = ctx.lex.regex("speech_verbs", "[^。「」]{0,15}?{}")
    if cand and verb.match(ctx.text, cand[0].ext_end + 1):
        return cand[0]
    return None


def _line(ctx: DocContext, a: int, b: int) -> tuple[int, int]:
    start = ctx.text.rfind("\n", 0, a) + 1
    end = ctx.text.find("\n", b)
    return start, len(ctx.text) if end < 0 else end


def _headline(ctx: DocContext, qa: int, qb: int) -> bool:
    """NAME TITLE 「…」 alone on its line."""
    start, end = _line(ctx, qa, qb)
    return (ctx.text[qb + 1: end].strip() == ""
            and re.fullmatch(r"[^「」。、]{1,30}[\s　:：]*", ctx.text[start: qa - 1]) is not None)


def _caption(ctx: DocContext, qa: int, qb: int) -> bool:
    """A quote opening its line, right under a line that only names a person (a television caption)."""
    start, end = _line(ctx, qa, qb)
    if start != qa - 1 or ctx.text[qb + 1: end].strip():
        return False
    prev_start, _ = _line(ctx, start - 2, start - 2)
    prev = ctx.text[prev_start: start - 1].strip()
    return 0 < len(prev) <= 30 and not re.search(r"[。「」]", prev)


def _speaker(ctx: DocContext, sent: Sentence, qa: int, said: _Said,
             scope: _Scope) -> tuple[str | None, str | None, str]:
    """(speaker key, description of an unnamed speaker, rule)."""
    if said.late is not None:
        return ctx.key(said.late), None, f"quote.{said.how}"
    if said.how in ("headline", "caption"):
        lo = ctx.text.rfind("\n", 0, max(0, qa - 2)) + 1 if said.how == "caption" else sent.start
        named = [m for m in ctx.mentions_between(lo, qa - 1) if speaks(ctx, m)]
        return (ctx.key(named[-1]), None, f"quote.{said.how}") if named else (None, None, "")
    topics = [m for m in ctx.mentions_between(sent.start, qa - 1) if m.particle in ("は", "が", "も") and speaks(ctx, m)]
    if topics:
        subject = _subject_of_speech(ctx, qa, topics)
        return (ctx.key(subject), None, "quote.topic") if subject is not None else (None, None, "")
    desc = re.search(r"([^、。「」()（）\s]{2,20}?)(?:は|が)[^「」]*$", ctx.text[sent.start: qa - 1])
    markers = ctx.lex.regex("continuation_markers")
    if desc is not None and not markers.match(desc.group(1)) and not re.search("[でにをと]$", desc.group(1)):
        return None, desc.group(1), "quote.described"
    if scope.speaker and sent.idx - scope.sent <= 2:
        return scope.speaker, None, "quote.continuation"
    prev = _previous_speaker(ctx, sent)
    if prev and markers.match(ctx.text, sent.start):
        return prev, None, "quote.continuation"
    return None, None, ""


def _subject_of_speech(ctx: DocContext, qa: int, topics: list[Mention]) -> Mention | None:
    """Of the subjects before a quote, the one the parse makes the subject of the predicate the quote
    depends on, or of a clause leading to it (幹事長が、X前首相が…したことを紹介し「…」と申し上げた:
    幹事長, not X); None when that subject is none of them; the last when the parse names none."""
    qb = next((b for a, b in ctx.rec.quotes if a == qa), None)
    inner = ctx.doc.char_span(qa, qb, alignment_mode="expand") if ctx.doc is not None and qb else None
    if inner is None:
        return topics[-1]
    clause = {t.head.i for t in inner if not (qa <= t.head.idx < qb)}
    for t in reversed(ctx.doc[: inner.start]):  # the clauses (て/し-forms) that lead to the predicate
        if t.dep_ in ("advcl", "conj") and t.head.i in clause:
            clause.add(t.i)
    subjects = [t for t in ctx.doc[: inner.start] if t.dep_ == "nsubj" and t.head.i in clause
                and t.idx >= ctx.sentence(qa).start]
    if not subjects:
        return topics[-1]
    said = [m for m in topics if m.start <= subjects[-1].idx < m.ext_end]
    return said[-1] if said else None


def _previous_speaker(ctx: DocContext, sent: Sentence) -> str | None:
    """The person the sentence before presents as speaking (X大臣から, …を表明しました / Xは…): MOFA's style of
    reporting one side's words sentence after sentence."""
    if sent.idx == 0:
        return None
    prev = ctx.rec.sentences[sent.idx - 1]
    cands = [m for m in ctx.mentions_between(prev.start, prev.end) if m.particle in ("は", "が", "から") and speaks(ctx, m)]
    return ctx.key(cands[0]) if cands else None


def speaks(ctx: DocContext, m: Mention) -> bool:
    return ctx.is_person(m) or (m.type == "Role" and ctx.entity(m) is not None)


def _date(ctx: DocContext, sent: Sentence, qa: int) -> str | None:
    ds = [d for d in ctx.dates.get(sent.idx, []) if d.value and d.end <= qa and len(d.value) == 10]
    return ds[-1].value if ds else None
