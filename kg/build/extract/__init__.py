"""Extraction: one parsed article -> entities and statements, each with its evidence.

Recognition (kg.build.recognize) finds mentions, resolution (kg.build.resolve) groups them into entities,
and the rule modules here read posts, meetings, visits and quotes off the mentions.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kg.build.extract import frames  # noqa: F401  (registers the frame rule)
from kg.build.extract.context import DocContext
from kg.build.extract.meetings import extract_meetings
from kg.build.extract.positions import extract_positions, resolve_roles
from kg.build.extract.quotes import extract_quotes
from kg.build.extract.visits import extract_visits
from kg.build.gazetteer import load
from kg.build.recognize import Recognizer
from kg.build.resolve import Resolver
from kg.records import Article, DocumentStatements, EntityRecord, Statement

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["extract_document"]


def extract_document(article: Article, doc: Doc) -> DocumentStatements:
    """Entities and statements of one article parsed by GiNZA."""
    gaz = load()
    rec = Recognizer(gaz).recognize(doc, normalize_text(article.text, gaz.lexicon), article.published)
    ents = Resolver(gaz).resolve(rec)
    ctx = DocContext(article, rec, ents, gaz, doc=doc)
    positions = extract_positions(ctx)
    resolve_roles(ctx, positions)
    meetings = extract_meetings(ctx, positions)
    visits = extract_visits(ctx)
    quotes = extract_quotes(ctx)
    statements: list[Statement] = [*positions, *meetings, *visits, *quotes]
    records = _entity_records(ctx, statements)
    return DocumentStatements(article, tuple(records), tuple(statements))


def normalize_text(text: str, lex: Mapping[str, Any]) -> str:
    """The text the rules read: punctuation some outlets use in place of the usual one (MOFA writes ，),
    and hiragana written by mistake inside a katakana name (ぺニャ for ペニャ). One character for one, so
    every offset stays valid in the article's own text."""
    text = text.translate(str.maketrans(lex["punctuation_variants"]))
    looks = lex["kana_lookalikes"]
    kata = "[\u30a1-\u30f4\u30fc]"
    pat = re.compile(f"(?<={kata})[{''.join(looks)}]|[{''.join(looks)}](?={kata})")
    return pat.sub(lambda m: looks[m.group(0)], text)


def _entity_records(ctx: DocContext, statements: list[Statement]) -> list[EntityRecord]:
    gaz = ctx.gaz
    out: dict[str, EntityRecord] = {}
    for e in ctx.ents:
        if not e.key or not e.mentions:
            continue
        gz = gaz.entries.get(e.key)
        seen = [n for n in e.names if n]
        label = gz.label if gz else max(seen, key=lambda n: ("・" in n, len(n)))
        known = gz.names if gz and gz.type == "State" else ()  # state names are unambiguous: keep them all
        alts = tuple(n for n in dict.fromkeys([*seen, *known]) if n != label)
        m0 = min(e.mentions, key=lambda m: m.start)
        s = ctx.sentence(m0.start)
        etype = e.type
        out[e.key] = EntityRecord(
            key=e.key, type=etype, label=label, alt_labels=alts,
            wikidata=gz.wikidata if gz else None, iso=gz.iso if gz else None,
            part_of=gz.part_of if gz else None, located_in=gz.located_in if gz else None,
            evidence=(ctx.evidence(s, f"entity.{m0.source}", 0.9 if gz else 0.7),),
        )
    # keys referenced by statements but not mentioned by name (org of a title hint, parent states)
    refs: set[str] = set()
    for st in statements:
        for attr in ("holder", "of", "visitor", "destination", "location", "speaker"):
            v = getattr(st, attr, None)
            if isinstance(v, str):
                refs.add(v)
        for v in getattr(st, "participants", ()):
            refs.add(v)
    for k in sorted(refs - set(out)):
        gz = gaz.entries.get(k)
        if gz is None:
            continue
        ev = next((st.evidence[0] for st in statements if st.evidence and k in _keys(st)), None)
        out[k] = EntityRecord(key=k, type=gz.type, label=gz.label, wikidata=gz.wikidata, iso=gz.iso,
                              part_of=gz.part_of, located_in=gz.located_in,
                              evidence=(ev,) if ev else ())
    # a parent organization or state is linked only when the article mentions it
    final = []
    for k in sorted(out):
        r = out[k]
        if (r.part_of and r.part_of not in out) or (r.located_in and r.located_in not in out):
            r = dataclasses.replace(r, part_of=r.part_of if r.part_of in out else None,
                                    located_in=r.located_in if r.located_in in out else None)
        final.append(r)
    return final


def _keys(st: Statement) -> set[str]:
    ks = {getattr(st, a, None) for a in ("holder", "of", "visitor", "destination", "location", "speaker")}
    ks |= set(getattr(st, "participants", ()))
    return {k for k in ks if isinstance(k, str)}
