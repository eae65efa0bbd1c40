"""Trigger words and the rules that read them.

A row of ``kg/data/lexicon.json`` names a trigger word (会談, 訪問, 来日 …), the event class it
signals and the forms it can take. :func:`find_triggers` finds the rows' words in a document as
:class:`Trigger` records; each form is a small function registered with :func:`rule` under its
name, which reads the parse around the trigger and returns candidate events. The first form of a
trigger that returns candidates wins, and its name is the rule recorded in the evidence
(``meeting.comitative``, ``visit.object``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kg.build.extract.context import DocContext
    from kg.build.extract.merging import EventCandidate


@dataclass(frozen=True)
class Trigger:
    """One occurrence of a trigger word: where it is, what it signals, which forms may read it."""

    kind: str  # meeting | visit
    start: int
    end: int
    word: str
    cls: str  # Meeting | Summit | PhoneCall | Visit
    forms: tuple[str, ...]
    label: str = ""  # the event's kind as a word: the dictionary form of a verb trigger (会っ -> 会う)
    dest: str | None = None  # a destination written into the word itself (来日 -> JP)
    in_quote: bool = False
    marks: tuple[str, ...] = ()  # the particles that mark its partner (と; を for 表敬; に for お目にかかる)


Rule = Callable[["DocContext", Trigger, Any], "list[EventCandidate]"]
RULES: dict[str, dict[str, Rule]] = {"meeting": {}, "visit": {}}


def rule(kind: str, form: str) -> Callable[[Rule], Rule]:
    """Register a function as the rule reading triggers of ``kind`` in ``form``."""

    def register(fn: Rule) -> Rule:
        RULES[kind][form] = fn
        return fn

    return register


def apply_rules(ctx: DocContext, t: Trigger, scope: Any) -> list[EventCandidate]:
    """The candidates of the first form of ``t`` that reads anything."""
    for form in t.forms:
        found = RULES[t.kind][form](ctx, t, scope)
        if found:
            return found
    return []


def _rows(ctx: DocContext, kind: str) -> list[dict[str, Any]]:
    # a pattern row is tried before the words, being more specific than the word it contains
    return sorted(ctx.lex[f"{kind}_triggers"], key=lambda r: ("word" in r, -len(r.get("word", ""))))


def _excluded(text: str, a: int, b: int, exclusions: list[str]) -> bool:
    """Whether the word at [a, b) is part of a longer word that is not a trigger (記者会見, 訪問団)."""
    for x in exclusions:
        for k in range(len(x)):
            s = a - k
            if s >= 0 and text.startswith(x, s) and s + len(x) >= b:
                return True
    return False


def find_triggers(ctx: DocContext, kind: str) -> list[Trigger]:
    """Every trigger of ``kind`` in the document, longest words first where they overlap, in text order."""
    text = ctx.text
    exclusions = ctx.lex[f"{kind}_trigger_exclusions"]
    taken: set[int] = set()
    out: list[Trigger] = []
    for row in _rows(ctx, kind):
        pattern = row["pattern"] if "pattern" in row else re.escape(row["word"])
        for m in re.finditer(pattern, text):
            a, b = m.span()
            if a in taken or _excluded(text, a, b, exclusions):
                continue
            if row.get("after") and not any(text.endswith(row["after"] + p, 0, a) for p in ("", "も")):
                continue  # 会う and its forms are a meeting only with a partner: Bと会った
            if row.get("glued") == "state":  # 訪朝: the word is a trigger with the state written after it
                glued = [x for x in ctx.rec.mentions if x.start == b and x.type == "State" and x.via_compound]
                if not glued:
                    continue
                b = glued[0].end
            taken.update(range(a, b))
            forms = tuple(row["forms"]) if "forms" in row else tuple(ctx.lex[f"{kind}_forms"])
            word = row.get("word", m.group(0))
            marks = tuple(row.get("partner", ctx.lex["partner_markers"])) if kind == "meeting" else ()
            out.append(Trigger(kind, a, b, word, row.get("class", "Visit"), forms, row.get("kind", word),
                               row.get("dest"), ctx.rec.in_quote(a), marks))
    return sorted(out, key=lambda t: (t.start, t.end))
