"""Domain knowledge kept as data: states, posts, organizations, known officials, places, word lists.

The files live in ``kg/data/``. :func:`load` reads them once and builds the lookup tables the
recognizer needs: surface name -> entry, the one-character state forms used in compounds, and
the post titles sorted longest first.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from kg.errors import KgError


@dataclass(frozen=True)
class GazEntry:
    """One known entity: its key (``state:US``, ``org:国務省``, ``person:Q473239``, ``place:北京``)."""

    key: str
    type: str  # State | Organization | Official | Person | Place
    label: str
    names: tuple[str, ...]
    wikidata: str | None = None
    iso: str | None = None
    part_of: str | None = None  # org -> state key
    located_in: str | None = None  # place -> state key
    org_type: str | None = None
    posts: tuple[dict[str, Any], ...] = ()
    state: str | None = None  # officials: the state they serve (ISO)
    place_kind: str | None = None  # places: city, region, venue …


@dataclass(frozen=True)
class Post:
    title: str
    canonical: str
    rank: str = "other"
    leader: bool = False
    domain: str | None = None
    org_hint: str | None = None


class Lexicon(Mapping[str, Any]):
    """The word lists of ``kg/data/lexicon.json``. A key the code asks for must be in the file (a typo is
    an error, not an empty list), and every key read is recorded, so a test can check that no list in
    the file is dead."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self.read: set[str] = set()
        self._compiled: dict[tuple[str, str], re.Pattern[str]] = {}

    def __getitem__(self, key: str) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            raise KgError(f"kg/data/lexicon.json: no list named {key!r}") from None
        self.read.add(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def alternation(self, key: str) -> str:
        """A word list as a regex alternation, longest words first (a regex string stays as written)."""
        value = self[key]
        if isinstance(value, str):
            return f"(?:{value})"
        words = sorted((w for w in value if w), key=len, reverse=True)
        return "(?:" + "|".join(re.escape(w) for w in words) + ")" if words else "(?!x)x"

    def regex(self, key: str, template: str = "{}") -> re.Pattern[str]:
        """The compiled :meth:`alternation` of ``key`` inside ``template`` (``{}`` marks its place)."""
        pat = self._compiled.get((key, template))
        if pat is None:
            pat = self._compiled[(key, template)] = re.compile(template.replace("{}", self.alternation(key)))
        else:
            self.read.add(key)
        return pat

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class Gazetteer:
    entries: dict[str, GazEntry] = field(default_factory=dict)
    by_name: dict[str, GazEntry] = field(default_factory=dict)
    surfaces: set[str] = field(default_factory=set)  # every name as written in the data
    abbrev: dict[str, str] = field(default_factory=dict)  # 米 -> state:US
    posts: dict[str, Post] = field(default_factory=dict)
    lexicon: Lexicon = field(default_factory=lambda: Lexicon({}))
    ambiguous: dict[str, list[GazEntry]] = field(default_factory=dict)  # a name several entries share
    _compound_posts: dict[str, Post | None] = field(default_factory=dict)
    _titles_sorted: list[str] = field(default_factory=list)

    def lookup(self, name: str) -> GazEntry | None:
        return self.by_name.get(norm(name))

    def post(self, title: str) -> Post | None:
        """The post a title names: a known title, or a compound ending with one (軍参謀総長 is a 参謀総長,
        外交安全保障上級代表 a 代表), or a field minister (経済相). A compound is its own canonical form."""
        if title in self.posts:
            return self.posts[title]
        if title not in self._compound_posts:
            self._compound_posts[title] = self._compound_post(title)
        return self._compound_posts[title]

    def _compound_post(self, title: str) -> Post | None:
        base = next((t for t in self.titles_longest_first if len(t) >= 2 and title.endswith(t)), None)
        if base is None and re.fullmatch(self.lexicon["field_minister"], title):
            base = self.lexicon["minister_post"]
        p = self.posts.get(base) if base else None
        if p is None:
            return None
        return Post(title=title, canonical=title, rank=p.rank, leader=p.leader and base == title, domain=p.domain)

    @property
    def titles_longest_first(self) -> list[str]:
        if len(self._titles_sorted) != len(self.posts):
            self._titles_sorted = sorted(self.posts, key=len, reverse=True)
        return self._titles_sorted

    def party_of(self, state_key: str | None, word: str) -> str | None:
        """The party of a state written by a generic word (共産党 of state:CN -> org:中国共産党)."""
        if not state_key:
            return None
        hits = sorted(e.key for e in self.entries.values() if e.org_type == "party" and e.part_of == state_key
                      and any(n.endswith(word) for n in e.names))
        return hits[0] if len(hits) == 1 else None

    def state_key_of(self, key: str | None) -> str | None:
        """The state a key belongs to: itself for a state, the parent state of an organization."""
        seen = set()
        while key and key not in seen:
            seen.add(key)
            if key.startswith("state:"):
                return key
            e = self.entries.get(key)
            if e is None:
                return None
            key = e.part_of or e.located_in or (f"state:{e.state}" if e.state else None)
        return None


SEPARATORS = "・･=＝ 　"


def norm(s: str) -> str:
    """Normalise a name for lookup: NFKC, no separators."""
    s = unicodedata.normalize("NFKC", s)
    return "".join(ch for ch in s if ch not in SEPARATORS).lower()


def _read(name: str) -> Any:
    try:
        text = resources.files("kg.data").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise KgError(f"kg/data/{name}: invalid JSON: {exc}") from exc


@lru_cache(maxsize=1)
def load() -> Gazetteer:
    """The gazetteer, read once per process."""
    g = Gazetteer()
    g.lexicon = Lexicon(_read("lexicon.json") or {})

    ambiguous: set[str] = set()

    def add(e: GazEntry) -> None:
        g.entries[e.key] = e
        for n in dict.fromkeys((e.label, *e.names)):
            if not n:
                continue
            k = norm(n)
            if k in g.by_name and g.by_name[k].key != e.key:
                ambiguous.add(k)  # a name two entries share identifies neither
            g.by_name.setdefault(k, e)
            g.surfaces.add(n)
            g.surfaces.add(unicodedata.normalize("NFKC", n))

    for s in _read("states.json"):
        e = GazEntry(
            key=f"state:{s['iso']}", type="State", label=s["label"], names=tuple(s.get("names", ())),
            wikidata=s.get("wikidata"), iso=s["iso"],
        )
        add(e)
        for a in s.get("abbrev", ()):
            g.abbrev[a] = e.key
    for o in _read("organizations.json"):
        add(GazEntry(
            key=f"org:{o['key']}", type="Organization", label=o["label"], names=tuple(o.get("names", ())),
            wikidata=o.get("wikidata"), part_of=o.get("part_of"), org_type=o.get("type"),
        ))
    for p in _read("places.json"):
        add(GazEntry(
            key=f"place:{p['key']}", type="Place", label=p["label"], names=tuple(p.get("names", ())),
            wikidata=p.get("wikidata"), located_in=f"state:{p['state']}" if p.get("state") else None,
            place_kind=p.get("kind"),
        ))
    for o in _read("officials.json"):
        add(GazEntry(
            key=f"person:{o['key']}", type=o.get("type", "Official"), label=o["label"],
            names=tuple(o.get("names", ())), wikidata=o.get("wikidata"), posts=tuple(o.get("posts", ())),
            state=o.get("state"),
        ))
    for k in ambiguous:
        g.ambiguous[k] = [e for e in g.entries.values() if any(norm(n) == k for n in (e.label, *e.names) if n)]
        del g.by_name[k]
    g.surfaces = {n for n in g.surfaces if norm(n) in g.by_name}
    for p in _read("posts.json"):
        g.posts[p["title"]] = Post(
            title=p["title"], canonical=p.get("canonical") or p["title"], rank=p.get("rank", "other"),
            leader=bool(p.get("leader")), domain=p.get("domain"), org_hint=p.get("org_hint"),
        )
    return g
