"""What every extraction rule sees of one document: text, sentences, mentions, entities, dates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from kg import __version__
from kg.build.extract.article import protagonist
from kg.build.extract.clause import Parse
from kg.build.extract.dates import DateMention, find_dates
from kg.build.gazetteer import Gazetteer, load
from kg.build.recognize import Mention, Recognized, Sentence
from kg.build.resolve import DocEntity
from kg.records import Article, Evidence

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from kg.build.extract.triggers import Trigger

CLAUSE_END = re.compile(r"[。！？!?\n]")


@dataclass
class DocContext:
    article: Article
    rec: Recognized
    ents: list[DocEntity]
    gaz: Gazetteer = field(default_factory=load)
    roles: dict[int, int] = field(default_factory=dict)  # id(role mention) -> entity id
    doc: Doc | None = None  # the parse (dependencies), when the rules need more than the mentions

    _triggers: dict[str, list[Trigger]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.rec.text

    @cached_property
    def parse(self) -> Parse | None:
        """The document's phrases and their dependencies (None without a parse)."""
        return Parse(self.doc) if self.doc is not None else None

    def triggers(self, kind: str) -> list[Trigger]:
        """The document's triggers of ``kind`` (meeting, visit), found once."""
        if kind not in self._triggers:
            from kg.build.extract.triggers import find_triggers

            self._triggers[kind] = find_triggers(self, kind)
        return self._triggers[kind]

    @cached_property
    def protagonist(self) -> str | None:
        """The party the article reports on: the unstated subject of its later sections."""
        return protagonist(self)

    @cached_property
    def lex(self) -> dict:
        return self.gaz.lexicon

    @cached_property
    def dates(self) -> dict[int, list[DateMention]]:
        """Dates per sentence, offsets made absolute."""
        out: dict[int, list[DateMention]] = {}
        for s in self.rec.sentences:
            ds = []
            for d in find_dates(s.text, self.article.published):
                ds.append(DateMention(d.start + s.start, d.end + s.start, d.text, d.value, d.end_value))
            out[s.idx] = ds
        return out

    def evidence(self, sent: Sentence, rule: str, confidence: float) -> Evidence:
        # the sentence as the article writes it (rules read a copy with normalised punctuation)
        return Evidence(self.article.doc_id, sent.start, sent.end, self.article.text[sent.start:sent.end], rule,
                        confidence, f"kg-{__version__}")

    def entity(self, m: Mention) -> DocEntity | None:
        """The entity a mention stands for (roles resolved to the post holder)."""
        if m.type == "Role":
            eid = self.roles.get(id(m))
            return self.ents[eid] if eid is not None else None
        if m.entity is None:
            return None
        return self.ents[m.entity]

    def key(self, m: Mention) -> str | None:
        e = self.entity(m)
        return e.key if e else None

    def mentions_between(self, a: int, b: int, *, quotes: bool = False) -> list[Mention]:
        return [m for m in self.rec.mentions if a <= m.start and m.end <= b and (quotes or not m.in_quote)]

    def predicate_between(self, a: int, b: int) -> bool:
        """Whether a verb or auxiliary is written in [a, b) (True when there is no parse to tell)."""
        if self.doc is None:
            return True
        span = self.doc.char_span(a, b, alignment_mode="contract")  # the tokens wholly inside [a, b)
        return span is not None and any(t.pos_ in ("VERB", "AUX") for t in span)

    def sentence(self, pos: int) -> Sentence:
        return self.rec.sentence_of(pos)

    def is_person(self, m: Mention) -> bool:
        e = self.entity(m)
        return e is not None and e.type in ("Person", "Official")

    def is_state(self, m: Mention) -> bool:
        e = self.entity(m)
        return e is not None and e.type == "State"
