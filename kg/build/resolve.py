"""In-document entity resolution: mentions -> one entity per real person, state, organization, place.

Persons are merged when they share a gazetteer entry, a normalised name, a name/reading pair,
or a one-character typo with a compatible title (ポンペイ / ポンペイオ). A surname with a title
(キム副委員長) is resolved to the full name introduced with that title; a surname that fits
several people is never merged by guess, and never becomes a person of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.build.gazetteer import Gazetteer, load, norm
from kg.build.names import LATIN_PART
from kg.build.recognize import KANJI, KATA, Mention, Recognized


@dataclass
class DocEntity:
    id: int
    type: str  # Person | Official | State | Organization | Place
    key: str | None
    names: list[str] = field(default_factory=list)
    titles: set[str] = field(default_factory=set)  # canonical posts seen with this entity
    mentions: list[Mention] = field(default_factory=list)

    def add_name(self, n: str | None) -> None:
        if n and n not in self.names:
            self.names.append(n)


def _edit1(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion or substitution."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)):] == b[i + 1:]


def components(name: str) -> set[str]:
    """The parts of a full name a text may use alone: surname and given-name segments."""
    parts = [x for x in re.split(r"[・＝=]", name) if not re.fullmatch(LATIN_PART, x)]
    out: set[str] = set()
    if len(parts) > 1:
        out.update({parts[0], parts[-1]})  # トミー・E・レメンゲサウ・Jr: トミー and レメンゲサウ
    elif re.fullmatch(rf"[{KANJI}]+", name) and len(name) >= 2:
        out.add(name[0])
        if len(name) >= 3:
            out.add(name[:2])
    return {norm(p) for p in out if p}


class Resolver:
    def __init__(self, gaz: Gazetteer | None = None) -> None:
        self.g = gaz or load()

    def canonical(self, title: str | None) -> str | None:
        if not title:
            return None
        p = self.g.post(title)
        return p.canonical if p else title

    def resolve(self, rec: Recognized) -> list[DocEntity]:
        ents: list[DocEntity] = []
        by_key: dict[str, DocEntity] = {}

        def new(type_: str, key: str | None) -> DocEntity:
            e = DocEntity(len(ents), type_, key)
            ents.append(e)
            if key:
                by_key[key] = e
            return e

        persons = [m for m in rec.mentions if m.type == "Person"]
        others = [m for m in rec.mentions if m.type in ("State", "Organization", "Place")]
        # a name written as another's short form (南米南部共同市場(メルコスール)) names that entity elsewhere too
        alias = {f"{'org' if m.type == 'Organization' else 'place'}:{norm(m.text)}": m.key for m in others
                 if m.key and m.key.startswith(("org:", "place:")) and norm(m.text) != m.key.split(":", 1)[1]}
        for m in others:
            key = m.key or f"{'org' if m.type == 'Organization' else 'place'}:{norm(m.text)}"
            key = alias.get(key, key)
            e = by_key.get(key) or new(m.type, key)
            gz = self.g.entries.get(key)
            e.add_name(gz.label if gz else m.text)
            if not m.via_compound:
                e.add_name(m.text)
            e.mentions.append(m)
            m.entity = e.id
        # persons: full names first, short names after
        comps_all: set[str] = set()
        for m in persons:
            if m.key or m.reading or re.search(r"[・＝=]", m.text):
                comps_all |= components(m.text) | (components(m.reading) if m.reading else set())
                gz = self.g.entries.get(m.key or "")
                for n in gz.names if gz else ():
                    comps_all |= components(n)
        short = [m for m in persons if not m.key and (self._is_short(m) or norm(m.text) in comps_all)]
        full = [m for m in persons if m not in short]
        pents: list[DocEntity] = []
        name_index: dict[str, DocEntity] = {}

        def index(e: DocEntity) -> None:
            for n in e.names:
                name_index.setdefault(norm(n), e)

        for m in full:
            e = None
            if m.key:
                e = by_key.get(m.key)
            if e is None:
                e = name_index.get(norm(m.text)) or (name_index.get(norm(m.reading)) if m.reading else None)
                if e is not None and e.key and m.key and e.key != m.key:
                    e = None
            if e is None and not m.key:
                e = self._typo_match(m, pents)
            if e is None:
                e = new("Person", m.key or f"person:{norm(m.text)}")
                pents.append(e)
                gz = self.g.entries.get(e.key or "")
                if gz:
                    e.add_name(gz.label)
            elif m.key and e.key and not e.key.startswith("person:Q") and m.key != e.key:
                e.key = m.key
            e.add_name(m.text)
            e.add_name(m.reading)
            if m.title:
                e.titles.add(self.canonical(m.title) or m.title)
            e.mentions.append(m)
            m.entity = e.id
            index(e)
        for m in short:
            e = self._surname_match(m, pents)
            if e is None:
                if re.fullmatch(rf"[{KANJI}]", m.text) or m.text in {c for p in pents for c in self._comps(p)}:
                    continue  # a bare or ambiguous surname: no person of its own
                e = self._typo_match(m, pents)
                if e is None:
                    e = new("Person", f"person:{norm(m.text)}")
                    pents.append(e)
                    e.add_name(m.text)
                    index(e)
            if m.title:
                e.titles.add(self.canonical(m.title) or m.title)
            e.mentions.append(m)
            m.entity = e.id
        self._merge_typos(pents, ents)
        for e in pents:
            if not e.mentions:
                continue
            gz = self.g.entries.get(e.key or "")
            titled = any(m.title for m in e.mentions)
            e.type = "Official" if titled or (gz and gz.type == "Official") else "Person"
        return ents

    def _merge_typos(self, pents: list[DocEntity], ents: list[DocEntity]) -> None:
        """Merge a person whose name is a one-character typo of another's (ポンペイ / ポンペイオ) when
        their titles agree; the entity with a gazetteer key (or more mentions) absorbs the other."""
        for e in sorted(pents, key=lambda x: (bool(self.g.entries.get(x.key or "")), len(x.mentions))):
            if not e.mentions or self.g.entries.get(e.key or ""):
                continue
            others = [o for o in pents if o is not e and o.mentions]
            hits = []
            for o in others:
                if any(self._typo_pair(n1, n2) for n1 in e.names for n2 in o.names) and self._titles_agree(e, o):
                    hits.append(o)
            if len(hits) == 1:
                o = hits[0]
                for n in e.names:
                    o.add_name(n)
                o.titles |= e.titles
                for m in e.mentions:
                    m.entity = o.id
                o.mentions.extend(e.mentions)
                e.mentions = []

    @staticmethod
    def _typo_pair(a: str, b: str) -> bool:
        a, b = norm(a), norm(b)
        return (a != b and len(a) >= 3 and len(b) >= 3 and re.fullmatch(f"[{KATA}]+", a) is not None
                and re.fullmatch(f"[{KATA}]+", b) is not None and _edit1(a, b))

    @staticmethod
    def _titles_agree(a: DocEntity, b: DocEntity) -> bool:
        if not a.titles or not b.titles:
            return False
        return any(x == y or x.endswith(y) or y.endswith(x) for x in a.titles for y in b.titles)

    def _comps(self, e: DocEntity) -> set[str]:
        out: set[str] = set()
        for n in e.names:
            out |= components(n)
        return out

    def _is_short(self, m: Mention) -> bool:
        t = m.text
        if m.source == "surname":
            return True
        if m.source == "byline":
            return False  # a staff credit names its own person, however short (林)
        if re.search(r"[・＝=]", t) or m.reading:
            return False
        if re.fullmatch(rf"[{KANJI}]{{1,2}}", t):
            return True
        return len(t) < 2

    def _surname_match(self, m: Mention, pents: list[DocEntity]) -> DocEntity | None:
        s = norm(m.text)
        cands = [e for e in pents if s in self._comps(e) or any(norm(n) == s for n in e.names)]
        if len(cands) <= 1:
            return cands[0] if cands else None
        t = self.canonical(m.title)
        if t:
            exact = [e for e in cands if t in e.titles]
            if len(exact) == 1:
                return exact[0]
        return None

    def _typo_match(self, m: Mention, pents: list[DocEntity]) -> DocEntity | None:
        s = norm(m.text)
        if len(s) < 3 or not re.fullmatch(f"[{KATA}]+", s):
            return None
        t = self.canonical(m.title)
        hits = []
        for e in pents:
            for n in e.names:
                nn = norm(n)
                if len(nn) >= 3 and re.fullmatch(f"[{KATA}]+", nn) and _edit1(s, nn) and (
                    not t or not e.titles or t in e.titles or any(x.endswith(t) or t.endswith(x) for x in e.titles)
                ):
                    hits.append(e)
                    break
        return hits[0] if len(hits) == 1 else None
