"""Quotes: 「…」 followed by と述べ / 語った / 答えた / 強調した / としたうえで …, with the speaker.

The speaker is the topic (は/が) of the clause before the quote; a quote in a continuation
sentence with no topic of its own (そのうえで「…」と述べ) keeps the previous quote's speaker;
a headline "安倍首相 「…」" names its speaker first. A described but unnamed speaker
(国務省の高官) is kept as a description, never guessed into a person.
"""

from __future__ import annotations

import re

from kg.build.extract.context import DocContext
from kg.records import QuoteStatement


def extract_quotes(ctx: DocContext) -> list[QuoteStatement]:
    text = ctx.text
    verbs = sorted(ctx.lex.get("speech_verbs", []), key=len, reverse=True)
    verb_re = re.compile(
        r"\s*(?:と|とも|などと)(?:[^。「」]{0,12}?)(?:" + "|".join(re.escape(v) for v in verbs) + r")"
    )
    link_re = re.compile(r"\s*と(?:した|し)(?:うえ|上)?で?")
    out: list[QuoteStatement] = []
    last_speaker: str | None = None
    last_sent = -10
    for qa, qb in ctx.rec.quotes:
        inner = text[qa:qb]
        words = re.sub(r"[(（][^)）]*[)）]", "", inner).strip(" 　…・.")
        if len(words) < 2:
            continue
        sent = ctx.sentence(qa - 1)
        after = text[qb + 1: qb + 40]
        said = verb_re.match(after) or link_re.match(after)
        late = None
        if not said:
            # 「…」と、トランプ大統領は述べた : the speaker named after the quote
            m2 = re.match(r"\s*(?:と|とも|などと)、", after)
            if m2:
                pos = qb + 1 + m2.end()
                cand = [m for m in ctx.mentions_between(pos, min(sent.end, pos + 30))
                        if m.particle in ("は", "が") and (ctx.is_person(m) or (m.type == "Role" and ctx.entity(m)))]
                if cand and re.match(r"[^。「」]{0,15}?(?:" + "|".join(re.escape(v) for v in verbs) + ")",
                                     text[cand[0].ext_end + 1: cand[0].ext_end + 30]):
                    late = cand[0]
                    said = m2
        headline = False
        if not said:
            # a headline: NAME TITLE 「…」 on its own line
            line_start = text.rfind("\n", 0, qa) + 1
            line_end = text.find("\n", qb)
            line_end = len(text) if line_end < 0 else line_end
            if text[qb + 1: line_end].strip() == "" and re.fullmatch(r"[^「」。、]{1,30}[\s　:：]*", text[line_start: qa - 1]):
                headline = True
            else:
                continue
        # the speaker: the topic before the quote in this sentence
        ms = [m for m in ctx.mentions_between(sent.start, qa - 1)
              if (ctx.is_person(m) or (m.type == "Role" and ctx.entity(m)))]
        topics = [m for m in ms if m.particle in ("は", "が")] or ([ms[0]] if headline and ms else [])
        if late is not None:
            topics = [late]
        speaker: str | None = None
        description: str | None = None
        rule = "quote.topic"
        if topics:
            speaker = ctx.key(topics[-1])
        else:
            desc = re.search(r"([^、。「」()（）\s]{2,20}?)(?:は|が)[^「」]*$", text[sent.start: qa - 1])
            before_has_topic = desc is not None and not re.match(
                r"^(?:そのうえで|その上で|そして|さらに|また|一方|これに対し)", desc.group(1))
            if before_has_topic and desc is not None:
                description = desc.group(1)
                rule = "quote.described"
            elif last_speaker and sent.idx - last_sent <= 2:
                speaker = last_speaker
                rule = "quote.continuation"
        if speaker is None and description is None:
            continue
        date = None
        ds = [d for d in ctx.dates.get(sent.idx, []) if d.value and d.end <= qa and len(d.value) == 10]
        if ds:
            date = ds[-1].value
        out.append(QuoteStatement(
            text=inner, speaker=speaker, speaker_description=description, date=date,
            doc_id=ctx.article.doc_id,
            evidence=(ctx.evidence(sent, "quote.headline" if headline else rule, 0.85 if speaker else 0.5),),
        ))
        if speaker:
            last_speaker, last_sent = speaker, sent.idx
    return out
