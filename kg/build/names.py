"""The spans of a document that name persons, states, organizations and places (used by recognition).

Each step returns candidate mentions; :meth:`NameFinder.find` keeps, in order of trust, those whose
characters no earlier step has taken. Every word list is in ``kg/data/lexicon.json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from kg.build.gazetteer import GazEntry, Gazetteer, load, norm
from kg.build.titles import KANJI, KATA, Titles

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from kg.build.recognize import Mention, Recognized

LATIN_PART = r"[A-Z][A-Za-z]{0,2}\.?"  # an initial or suffix inside a katakana name: トミー・E・…・Jr
SEP = "・＝="
KATA_NAME = rf"[{KATA}]+(?:[{SEP}](?:[{KATA}]+|{LATIN_PART}))*"
READING = re.compile(rf"[(（]([{KATA}]+(?:[{SEP}][{KATA}]+)*)[)）]")
KANJI_IN_PARENS = re.compile(rf"[(（]([{KANJI}]{{2,4}})[)）]?")
GINZA_ORG_LABELS = {
    "Government", "International_Organization", "Political_Party", "Political_Organization_Other",
    "Military", "Organization_Other", "Company", "Company_Group", "School",
}
GINZA_PLACE_LABELS = {"City", "Province", "County", "GPE_Other", "Region_Other", "Continental_Region", "Island"}


def longest_alternation(words: Iterable[str]) -> str:
    """A regex source matching any of ``words`` case-insensitively, the longest one at a position.

    The words are merged into a trie (ロシア|ロシア連邦|ロンドン -> ロ(?:シア(?:連邦)?|ンドン)), so a
    position is tried against the next character instead of against every word: with thousands
    of names a plain alternation costs one attempt per name at each character of the text. Each
    optional tail is greedy, so the longest word that matches is the one taken, as with a plain
    alternation sorted longest first. Words are lower-cased for the trie (the pattern is compiled
    with re.IGNORECASE) unless lower-casing changes their length.
    """
    end = ""
    root: dict[str, dict] = {}
    for w in words:
        low = w.lower()
        node = root
        for ch in low if len(low) == len(w) else w:
            node = node.setdefault(ch, {})
        node[end] = {}

    def source(node: dict[str, dict]) -> str:
        alts = [re.escape(ch) + source(child) for ch, child in sorted(node.items()) if ch != end]
        if not alts:
            return ""
        if end in node:
            return "(?:" + "|".join(alts) + ")?"
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return source(root)


@lru_cache(maxsize=1)
def gazetteer_names_re() -> re.Pattern[str]:
    """Every name of the gazetteer (two characters or more), the longest at a position; built once."""
    names = [n for n in load().surfaces if len(n) >= 2]
    return re.compile(longest_alternation(names), re.IGNORECASE) if names else re.compile(r"(?!x)x")


def _mention(*args, **kwargs) -> Mention:  # type: ignore[no-untyped-def]
    from kg.build.recognize import Mention

    return Mention(*args, **kwargs)


class NameFinder:
    """Candidate mentions of one document, step by step."""

    def __init__(self, gaz: Gazetteer, titles: Titles, doc: Doc, text: str, published: str | None = None) -> None:
        self.g, self.titles, self.doc, self.text, self.published = gaz, titles, doc, text, published
        self.lex = gaz.lexicon
        self.name_tag = self.lex["tagger_name_tag"]  # the part-of-speech tag UniDic gives person names
        self.taken = [False] * (len(text) + 1)
        self._found: list[Mention] = []  # what the steps so far have found
        self.person_tokens = self._person_token_spans()
        self.bounds = {t.idx for t in doc} | {t.idx + len(t.text) for t in doc}

    # -- the order of trust -------------------------------------------------------------------------
    def find(self) -> list[Mention]:
        out: list[Mention] = self._found
        steps = (self._bylines, self._datelines, self._credits, self._reading_pairs, self._quoted_orgs, self._gazetteer_names,
                 self._compound_states, self._titled_names, self._ginza_entities, self._suffixed_places)
        for step in steps:
            for m in step():
                if not any(self.taken[m.start: m.end]):
                    for i in range(m.start, m.end):
                        self.taken[i] = True
                    out.append(m)
        return sorted(out, key=lambda x: x.start)

    # -- bylines, datelines, readings ----------------------------------------------------------------
    def _bylines(self) -> list[Mention]:
        """【北京=菊池敏也】, (アスンシオン=長崎潤一郎), (翻訳・編集/北田): the reporter, and the place."""
        out = []
        name = rf"[{KANJI}]{{2,5}}|{KATA_NAME}"
        pat = re.compile(rf"[【(（]([^【】()（）=＝/／\n]{{0,12}})[=＝/／]\s*({name})[】)）]")
        for m in pat.finditer(self.text):
            place = self.g.lookup(m.group(1))
            if place is not None and place.type in ("Place", "State"):
                out.append(_mention(m.start(1), m.end(1), m.group(1), place.type, key=place.key, source="dateline"))
            if self.g.lookup(m.group(2)) is None:
                out.append(_mention(m.start(2), m.end(2), m.group(2), "Person", source="byline"))
        return out

    def _datelines(self) -> list[Mention]:
        """【北京共同】 -> the place and the news agency."""
        out = []
        suffix = self.lex["agency_suffix"]
        for m in re.finditer(r"【([^【】]{1,30})】", self.text):
            inner, a = m.group(1), m.start(1)
            for k in range(1, len(inner)):
                ea = self.g.lookup(inner[k:]) or self.g.lookup(inner[k:] + suffix)
                places = self._dateline_places(inner[:k], a)
                if ea and ea.type == "Organization" and places:
                    out += places
                    out.append(_mention(a + k, a + len(inner), inner[k:], "Organization", key=ea.key,
                                        source="dateline"))
                    break
        return out

    def _credits(self) -> list[Mention]:
        """Who wrote and who published: a source line (ソース:VOV, [Copyright …]), a reporter asking a
        question (【毎日新聞 山田記者】), the staff named in brackets closing the article ((ヤマダ、林))."""
        out: list[Mention] = []
        word = rf"[A-Za-z{KATA}{KANJI}]"
        source = self.lex.regex("source_labels", rf"(?m)(?:{{}})[ \t]*[:：]?[ \t]*({word}[\w.,&' -]{{1,40}}?)[ \t]*(?=[\]】)）]|$)")
        for m in source.finditer(self.text):
            name = m.group(1).rstrip(" ,.")
            short = name.split(",")[0]  # The X Press, Ltd.: the name without the company's form
            e = self.g.lookup(name) or self.g.lookup(short)
            name = short if e is not None and self.g.lookup(name) is None else name
            out.append(_mention(m.start(1), m.start(1) + len(name), name, "Organization", key=e.key if e else None,
                                source="credit"))
        reporter = self.lex.regex("reporter_words", rf"【[^【】\s]{{2,12}}[\s　]+([{KANJI}]{{1,3}}|{KATA_NAME})(?={{}}】)")
        out += [_mention(m.start(1), m.end(1), m.group(1), "Person", source="byline")
                for m in reporter.finditer(self.text) if self.g.lookup(m.group(1)) is None]
        return out + self._closing_staff()

    def _closing_staff(self) -> list[Mention]:
        """(ヤマダ、林) after the last sentence: two or more short names in brackets end the article."""
        m = re.search(r"[。」][(（]([^()（）\n]{2,30})[)）]\s*$", self.text)
        parts = re.split("、", m.group(1)) if m else []
        name = rf"[{KATA}]{{2,8}}|[{KANJI}]{{1,3}}"
        if len(parts) < 2 or not all(re.fullmatch(name, p) and self._not_a_place_or_body(p) for p in parts):
            return []
        out, pos = [], m.start(1)
        for p in parts:
            out.append(_mention(pos, pos + len(p), p, "Person", source="byline"))
            pos += len(p) + 1
        return out

    def _not_a_place_or_body(self, name: str) -> bool:
        e = self.g.lookup(name)
        return e is None or e.type in ("Official", "Person")

    def _dateline_places(self, s: str, a: int) -> list[Mention]:
        """The places of a dateline, several when listed with ・ or / (【ワシントン・ソウル共同】)."""
        out, pos = [], a
        for part in re.split(r"([・/／])", s):
            e = self.g.lookup(part) if part not in ("・", "/", "／") else None
            if part not in ("・", "/", "／"):
                if e is None or e.type not in ("Place", "State"):
                    return []
                out.append(_mention(pos, pos + len(part), part, e.type, key=e.key, source="dateline"))
            pos += len(part)
        return out

    def _reading_pairs(self) -> list[Mention]:
        """金英哲(キム・ヨンチョル) and キム・ジョンウン(金正恩): a name with its reading."""
        text, out = self.text, []
        for m in READING.finditer(text):
            reading = m.group(1)
            if not re.search(f"[{SEP}]", reading) and not self.g.lookup(reading):
                continue
            run = re.search(rf"[{KANJI}]+$", text[max(0, m.start() - 8): m.start()])
            name = self.trim_kanji_name(run.group(0)) if run else ""
            if len(name) < 2:
                continue
            e = self.g.lookup(name) or self.g.lookup(reading)
            if e is not None and e.type not in ("Official", "Person"):
                continue  # 南米南部共同市場(メルコスール): an organization's short name, not a person's reading
            out.append(_mention(m.start() - len(name), m.start(), name, "Person", key=e.key if e else None,
                                reading=reading, ext_end=m.end(), source="reading"))
        for m in KANJI_IN_PARENS.finditer(text):
            before = re.search(rf"[{KATA}]+(?:[{SEP}][{KATA}]+)+$", text[max(0, m.start() - 20): m.start()])
            e = (self.g.lookup(m.group(1)) or self.g.lookup(before.group(0))) if before else None
            if before and e is not None:
                out.append(_mention(m.start() - len(before.group(0)), m.start(), before.group(0), "Person",
                                    key=e.key, reading=m.group(1), ext_end=m.end(), source="reading"))
        return out

    def trim_kanji_name(self, run: str, longest: int = 3) -> str:
        """The name at the end of a kanji run: drop leading titles, state names and similar words; at most
        ``longest`` characters are kept."""
        changed = True
        while changed and len(run) > 2:
            changed = False
            t = next((t for t in self.g.titles_longest_first if run.startswith(t) and len(run) - len(t) >= 2), None)
            if t:
                run, changed = run[len(t):], True
                continue
            for k in range(len(run) - 2, 0, -1):
                e = self.g.lookup(run[:k])
                if e is not None and e.type in ("State", "Organization", "Place"):
                    run, changed = run[k:], True
                    break
        return run[-longest:] if len(run) > longest else run

    # -- organizations in brackets ------------------------------------------------------------------
    @cached_property
    def org_suffix(self) -> re.Pattern[str]:
        return self.lex.regex("organization_suffixes", "{}$")

    def _quoted_orgs(self) -> list[Mention]:
        """「朝鮮ミッションセンター」を率いる, シンクタンク「インド世界問題評議会」, 「南米南部共同市場(メルコスール)」:
        a name in brackets that ends like an organization's, or that GiNZA reads as one."""
        out = []
        org_spans = {(e.start_char, e.end_char) for e in self.doc.ents if e.label_ in GINZA_ORG_LABELS}
        for m in re.finditer(r"「([^「」()（）]{2,30})(?:[(（]([^()（）「」]{2,20})[)）])?」", self.text):
            name = m.group(1)
            if not (self.org_suffix.search(name) or (m.start(1), m.end(1)) in org_spans):
                continue
            out.append(_mention(m.start(1), m.end(1), name, "Organization", source="quoted-org"))
            if m.group(2) and re.fullmatch(rf"[{KATA}A-Za-z]+", m.group(2)):
                # 南米南部共同市場(メルコスール): the short name in brackets is the same organization
                out.append(_mention(m.start(2), m.end(2), m.group(2), "Organization", key=f"org:{norm(name)}",
                                    source="quoted-org-gloss"))
        return out

    # -- the gazetteer ------------------------------------------------------------------------------
    @property
    def _name_re(self) -> re.Pattern[str]:
        return gazetteer_names_re()

    def _gazetteer_names(self) -> list[Mention]:
        out = []
        for m in self._name_re.finditer(self.text):
            a, b = m.span()
            e = self.g.lookup(m.group(0))
            if e is None or self.taken[a] or not self._plausible_gaz(a, b, e):
                continue
            out.append(_mention(a, b, self.text[a:b], e.type if e.type != "Official" else "Person", key=e.key))
        return out

    def _plausible_gaz(self, a: int, b: int, e: GazEntry) -> bool:
        text = self.text
        if e.type == "State" and any(text.startswith(x, a) for x in self.lex["time_expressions_not_states"]):
            return False
        if re.fullmatch(rf"[{KATA}]+", text[a:b]) and (re.match(f"[{KATA}]", text[b: b + 1])
                                                          or re.match(f"[{KATA}]", text[a - 1: a] if a else "")):
            return False  # タイ in タイミング: a katakana name inside a longer katakana word
        if e.type == "Place" and self._inside_longer_name(b):
            return False  # アフリカ開発会議, アラブ諸国: the region names something else
        # a short kanji name glued inside a longer kanji word is not a mention of that person
        if e.type in ("Official", "Person") and len(e.label) <= 2:
            before = text[a - 1: a]
            if before and re.match(f"[{KANJI}]", before) and not self._title_ends_at(a):
                return False
        return True

    def _inside_longer_name(self, b: int) -> bool:
        """The name is followed by the words of a longer name: an organization (…会議) or a group (諸国)."""
        run = re.match(rf"[{KANJI}{KATA}]{{1,12}}", self.text[b:])
        if not run:
            return False
        return bool(self.org_suffix.search(run.group(0))) or run.group(0).startswith(tuple(self.lex["group_suffixes"]))

    def _title_ends_at(self, pos: int) -> bool:
        return any(self.text.endswith(t, 0, pos) for t in self.g.titles_longest_first)

    def _compound_states(self) -> list[Mention]:
        """米朝, 日米韓, 南北, 訪朝, 駐韓: the one-character forms of states in compounds."""
        text, out = self.text, []
        for word, keys in self.lex["compound_pairs"].items():
            for m in re.finditer(re.escape(word), text):
                out += [_mention(m.start() + i, m.start() + i + 1, word[i], "State", key=k, source="compound",
                                 via_compound=True) for i, k in enumerate(keys)]
        ab = "".join(sorted(self.g.abbrev))
        if not ab:
            return out
        fol = self.lex.alternation("compound_followers")
        ordinal = self.lex["ordinal_counters"]  # 第2回米朝首脳会談: a compound may follow a counter
        for m in re.finditer(rf"(?:(?<=[{ordinal}])|(?<![{KANJI}{KATA}]))([{ab}]{{2,4}})(?={fol})", text):
            out += [_mention(m.start(1) + i, m.start(1) + i + 1, ch, "State", key=self.g.abbrev[ch],
                             source="compound", via_compound=True) for i, ch in enumerate(m.group(1))]
        # 訪米 but not 訪米朝 (a pair); 訪米中の / 訪日中に: 中 here means "during", not China
        pre = self.lex.alternation("state_prefix_chars")
        during = self.lex["during_marker"]  # 訪米中の: 中 means "during" there, not China
        for m in re.finditer(rf"({pre})([{ab}])(?!(?!{during})[{ab}])", text):
            if not self._state_prefix_fits(m.group(1), m.group(2), m.end()):
                continue
            out.append(_mention(m.start(2), m.start(2) + 1, m.group(2), "State", key=self.g.abbrev[m.group(2)],
                                source="compound", via_compound=True))
        return out

    def _state_prefix_fits(self, pre: str, ch: str, end: int) -> bool:
        rules = self.lex["state_prefix_rules"]
        if pre in rules.get("only_with", {}) and ch not in rules["only_with"][pre]:
            return False  # 来日, 来韓 only
        follow = rules.get("followed_by", {}).get(pre)
        return not follow or re.match(f"[{follow}]", self.text[end: end + 1] or " ") is not None

    # -- names before titles ------------------------------------------------------------------------
    def _titled_names(self) -> list[Mention]:
        """Names directly followed by a post title (maybe with a state/org between) or an honorific."""
        out: list[Mention] = []
        covered = -1  # the end of the last compound title read: a later title start inside it names no one
        named_ends = {m.end for m in self._found if m.type == "Person"}
        for pos in self._title_starts():
            if pos < covered:
                continue
            if pos in named_ends:  # 崔天凱アジア局長 with 崔天凱 known: アジア is the title's
                t = self.titles.match(self.text, pos, self.bounds)
                covered = t.end if t else covered
                continue
            m = self._name_before(pos)
            if m is not None:
                out.append(m)
                t = self.titles.match(self.text, pos, self.bounds)
                covered = t.end if t else covered
        return out

    def _title_starts(self) -> list[int]:
        """Where a title or an honorific starts: a name may end there."""
        text = self.text
        starts = set()
        for a in range(len(text)):
            if re.match(f"[{KANJI}{KATA}]", text[a]) and self.titles.known_at(text, a):
                starts.add(a)
        for m in self.lex.regex("honorifics", "{}(?![" + KANJI + "])").finditer(text):
            starts.add(m.start())
        for m in self._name_re.finditer(text):
            e = self.g.lookup(m.group(0))
            if e and e.type in ("State", "Organization") and self.titles.match(text, self._after_gloss(m.end()), self.bounds):
                starts.add(m.start())  # キム・ヨンチョル朝鮮労働党副委員長
        for a in range(1, len(text)):
            if text[a - 1] in self.g.abbrev and self.titles.known_at(text, a):
                starts.add(a - 1)  # ケリー米国務長官
        return sorted(starts | self._compound_title_starts())

    def _compound_title_starts(self) -> set[int]:
        """The first character after a katakana name when a compound title follows it (ソボリェウ経済相,
        フナトウ軍参謀総長, モゲリーニ外交安全保障上級代表)."""
        out = set()
        for m in re.finditer(rf"({KATA_NAME})(?=[{KANJI}])", self.text):
            if len(m.group(1)) >= 2 and (self.titles.match(self.text, m.end(), self.bounds)
                                          or self._unknown_org_prefix(m.end())[2] is not None):
                out.add(m.end())
            sep = m.group(1).rfind("・")
            if sep > 0 and self._affiliation(m.start() + sep) is not None:
                out.add(m.start() + sep + 1)  # ベックシュタイン・バイエルン州首相: the name ends at the ・
        for _, b in self.person_tokens:  # 崔天凱アジア局長, 四方敬之内閣広報官 (not 孫衛|東副外相: 東 is the name's)
            t = self.titles.match(self.text, b, self.bounds) if re.match(f"[{KANJI}{KATA}]", self.text[b: b + 1]) else None
            if t is not None and t.base - b >= 2:
                out.add(b)
        return out

    def _after_gloss(self, pos: int) -> int:
        g = re.match(r"[(（][^()（）]{1,16}[)）]", self.text[pos:])
        return pos + g.end() if g else pos

    def _name_before(self, pos: int) -> Mention | None:
        text = self.text
        if text.startswith(tuple(self.lex["not_title_modifiers"]), pos - 2) and text[pos - 3: pos - 2] in "、。「 \n":
            return None  # 両国首脳, 同国外相: the words that point back at others name no one
        km = re.search(f"(?:{KATA_NAME})[・]?$", text[max(0, pos - 40): pos])
        if km and len(km.group(0).rstrip("・")) >= 2:
            name = km.group(0).rstrip("・")
            a = pos - len(km.group(0))
            e = self.g.lookup(name)
            if any(self.taken[a: a + len(name)]) or (e is not None and e.type not in ("Official", "Person")):
                return None
            return _mention(a, a + len(name), name, "Person", key=self._official_by_title(name, pos),
                            source="titled")
        tok = self._kanji_name_before(pos)
        if tok is not None:
            return tok
        return self._surname_before(pos)

    def _official_by_title(self, name: str, pos: int) -> str | None:
        """The gazetteer official a titled name stands for when the gazetteer cannot tell by the name alone:
        a name several entries share (ジョン・ケリー), a one-character name (菅), or a surname (小泉) — the
        one entry so named whose posts include the title, held on the article's date when it is known."""
        t = self.titles.match(self.text, self._after_prefix(pos), self.bounds)
        if t is None:
            return None
        want = self._canonical(t.title)
        n = norm(name)
        fits = [e for e in self._officials_named(n)
                if any(self._canonical(p.get("title", "")) == want and self._held(p) for p in e.posts)]
        return fits[0].key if len(fits) == 1 else None

    def _officials_named(self, n: str) -> list[GazEntry]:
        if n in self.g.ambiguous:
            return self.g.ambiguous[n]
        e = self.g.by_name.get(n)
        if e is not None:
            return [e] if e.type == "Official" else []
        if re.fullmatch(f"[{KATA}]+", n):  # ケリー for ジョン・ケリー: the surname of a katakana full name
            return [e for e in self._officials if any(norm(re.split(f"[{SEP}]", x)[-1]) == n
                                                      for x in (e.label, *e.names) if x and re.search(f"[{SEP}]", x))]
        if not re.fullmatch(f"[{KANJI}]+", n):
            return []
        return [e for e in self._officials if any(norm(x).startswith(n) and len(norm(x)) - len(n) <= 3
                                                  for x in (e.label, *e.names) if x)]

    @cached_property
    def _officials(self) -> list[GazEntry]:
        return [e for e in self.g.entries.values() if e.type == "Official"]

    def _canonical(self, title: str) -> str:
        post = self.g.post(title)
        return post.canonical if post else title

    def _held(self, post: dict) -> bool:
        d = self.published
        return not d or (str(post.get("from") or "0000") <= d and (not post.get("to") or d <= str(post["to"])))

    def _after_prefix(self, pos: int) -> int:
        """Past a one-character state or a state/organization name written between a name and its title."""
        if self.text[pos: pos + 1] in self.g.abbrev and self.titles.known_at(self.text, pos + 1):
            return pos + 1
        m = self._name_re.match(self.text, pos)
        return self._after_gloss(m.end()) if m else pos

    def _kanji_name_before(self, pos: int) -> Mention | None:
        """Person-tagged tokens ending at ``pos`` (a surname and given name tagged as such are kept whole:
        小野日子), else a kanji run after の/、 opening with a name token (孫衛東副外相)."""
        text = self.text
        for a, b in self.person_tokens:
            if b != pos:
                continue
            if any(self.taken[a:b]) or not re.fullmatch(f"[{KANJI}]+", text[a:b]):
                return None
            name = self.trim_kanji_name(text[a:b], 4 if self._family_name_first(b - 4, b) else 3)
            if not 1 <= len(name) <= 4:
                return None
            return _mention(b - len(name), b, name, "Person", key=self._official_by_title(name, b), source="titled")
        run = re.search(rf"(?:^|(?<=[の、，,\s」』・]))([{KANJI}]{{2,3}})$", text[max(0, pos - 4): pos])
        if not run or any(self.taken[pos - len(run.group(1)): pos]):
            return None
        a = pos - len(run.group(1))
        span = self.doc.char_span(a, pos, alignment_mode="expand")
        if (span is not None and span[0].idx == a and self.name_tag in span[0].tag_
                and self.g.lookup(run.group(1)) is None and not self.titles.known_at(run.group(1), 0)):
            return _mention(a, pos, run.group(1), "Person", source="titled")
        return None

    def _surname_before(self, pos: int) -> Mention | None:
        """A one-character surname before a title: 李外相, 徐院長, 王氏; 菅首相 is the gazetteer's 菅 when
        one of its posts is that title."""
        km = re.search(rf"(?<![{KANJI}])[{KANJI}]$", self.text[max(0, pos - 2): pos])
        if not km or self.titles.known_at(self.text, pos - 1) or self.taken[pos - 1]:
            return None
        ch = km.group(0)
        e = self.g.lookup(ch)
        if e is None:
            if ch in self.lex["not_surname_chars"]:
                return None
            return _mention(pos - 1, pos, ch, "Person", source="surname")
        key = self._official_by_title(ch, pos)
        return _mention(pos - 1, pos, ch, "Person", key=key, source="surname") if key else None

    def _person_token_spans(self) -> list[tuple[int, int]]:
        """Runs of tokens tagged as person names (人名) or labelled Person by GiNZA's NER."""
        spans: list[tuple[int, int]] = []
        cur: list[int] | None = None
        for t in self.doc:
            if self.name_tag in t.tag_ or t.ent_type_ == "Person" or (cur and t.text in SEP and t.i + 1 < len(self.doc)):
                cur = [t.idx, t.idx + len(t.text)] if cur is None else [cur[0], t.idx + len(t.text)]
            elif cur:
                spans.append((cur[0], cur[1]))
                cur = None
        if cur:
            spans.append((cur[0], cur[1]))
        return spans

    def _family_name_first(self, a: int, b: int) -> bool:
        """The text [a, b) is exactly a token tagged as a surname followed by tokens tagged as names."""
        span = self.doc.char_span(a, b) if a >= 0 else None
        return span is not None and len(span) >= 2 and span[0].tag_.endswith(self.lex["tagger_surname_tag"])

    # -- GiNZA's entities and places named by their kind ---------------------------------------------
    def _ginza_entities(self) -> list[Mention]:
        out = []
        strip = self.lex.regex("place_prefixes_to_strip", "^{}")
        for ent in self.doc.ents:
            a, b, s = ent.start_char, ent.end_char, ent.text
            if ent.label_ in GINZA_PLACE_LABELS:
                s2 = strip.sub("", s)
                a += len(s) - len(s2)
                if len(s2) >= 2 and not self.titles.match(s2, 0) and re.fullmatch(f"[{KATA}{KANJI}]+", s2):
                    out.append(_mention(a, b, s2, "Place", source="ginza"))
            elif ent.label_ in GINZA_ORG_LABELS and self._org_like(s, ent.label_):
                out.append(_mention(a, b, s, "Organization", source="ginza"))
        return out

    def _org_like(self, s: str, label: str) -> bool:
        if self.titles.match(s, 0) or any(w in s for w in self.lex["not_organization_words"]):
            return False
        if label == "International_Organization" and len(s) >= 4 and re.fullmatch(f"[{KATA}{KANJI}]+", s):
            return True
        return len(s) >= 3 and bool(self.org_suffix.search(s))

    def _suffixed_places(self) -> list[Mention]:
        """A katakana or kanji name ending with a word for a kind of place (ペリリュー島, ネゲブ砂漠), where
        GiNZA did not label it."""
        kinds = self.lex.alternation("place_kind_suffixes")
        pat = re.compile(rf"(?<![{KATA}{KANJI}])((?:{KATA_NAME}){kinds})(?![{KANJI}])")
        return [_mention(m.start(1), m.end(1), m.group(1), "Place", source="suffix") for m in pat.finditer(self.text)]

    # -- titles after names -------------------------------------------------------------------------
    def attach_titles(self, mentions: list[Mention]) -> list[Mention]:
        """Attach to each person the reading, the state/org prefix and the post title that follow it.
        Returns organizations found on the way (an unknown one named between a name and its title)."""
        by_start = {m.start: m for m in mentions}
        found: list[Mention] = []
        for m in mentions:
            if m.type != "Person":
                continue
            pos = self._past_name_extras(m, by_start)
            name_end = pos
            aff = self._affiliation(pos)
            if aff is not None:
                found.append(aff)
                pos, of_key, org = aff.end, aff.key or f"place:{norm(aff.text)}", None
            else:
                pos, of_key, org = self._title_prefix(m, pos, by_start)
            if org is not None:
                found.append(org)
            if of_key and of_key.startswith("org:"):
                self._gloss_is_short_name(mentions, name_end, pos, of_key)
            t = self.titles.match(self.text, pos, self.bounds)
            if t:
                m.title, m.title_start, m.title_end, m.of_key = t.title, t.start, t.end, of_key
                pos = self._more_titles(m, t.end)
            else:
                h = self.lex.regex("honorifics").match(self.text, pos)
                if h:
                    m.honorific = True
                    pos = h.end()
            m.ext_end = pos
            if m.title:
                m.ctx_of = self._owner_before(m, mentions)
        return found

    def _affiliation(self, pos: int) -> Mention | None:
        """ベックシュタイン・バイエルン州首相, テルチック・ミュンヘン安全保障会議議長: after the ・ that ends a name,
        a place or organization the gazetteer does not know, named by its kind, then the post."""
        if self.text[pos: pos + 1] != "・":
            return None
        t = self.titles.match(self.text, pos + 1)
        name = self.text[pos + 1: t.base] if t is not None else ""
        if len(name) < 3 or not re.match(f"[{KATA}]", name) or self.g.lookup(name) is not None:
            return None
        if self.org_suffix.search(name):
            return _mention(pos + 1, t.base, name, "Organization", key=f"org:{norm(name)}", source="title-org")
        if self.lex.regex("place_kind_suffixes", "{}$").search(name):
            return _mention(pos + 1, t.base, name, "Place", source="title-place")
        return None

    def _gloss_is_short_name(self, mentions: list[Mention], a: int, b: int, org_key: str) -> None:
        """国家安全保障国防会議(NSDC)書記: the name in brackets between name and title is the organization's
        short name, not another organization that has it too."""
        for x in mentions:
            if a < x.start and x.end < b and self.text[x.start - 1: x.start] in "(（":
                x.type, x.key, x.source = "Organization", org_key, "title-org-gloss"

    def _past_name_extras(self, m: Mention, by_start: dict[int, Mention]) -> int:
        """Past a reading, the same person's other spelling, a Latin gloss and a joining ・."""
        text = self.text
        pos = max(m.end, m.ext_end)
        r = READING.match(text, pos)
        if r:
            m.reading = m.reading or r.group(1)
            pos = r.end()
        nxt = by_start.get(pos)
        if nxt is not None and nxt.type == "Person" and nxt.key and nxt.key == m.key:
            pos = nxt.end + (1 if text[nxt.end: nxt.end + 1] in ")）" else 0)  # キム・ジョンウン金正恩)
        gloss = re.match(r"[(（][A-Za-z][^()（）]{0,80}[)）]", text[pos:])
        if gloss:  # 王毅(Wang Yi)外交部長
            pos += gloss.end()
        if text[pos: pos + 1] == "・" and by_start.get(pos + 1) is not None and self._affiliation(pos) is None:
            pos += 1  # プーチン・ロシア大統領
        return pos

    def _title_prefix(self, m: Mention, pos: int, by_start: dict[int, Mention]) -> tuple[int, str | None, Mention | None]:
        """A state or organization written between a name and its title (and whose it is), a one-character
        state (トランプ米大統領), a party word (王毅共産党政治局員), or an unknown organization
        (国家安全保障国防会議(NSDC)書記) -> (where the title starts, whose post, a new organization)."""
        text = self.text
        nxt = by_start.get(pos)
        t0 = self.titles.known_at(text, pos)
        if t0 and nxt is not None and t0.end >= nxt.end:
            nxt = None  # the title itself starts with an organization's name: 内閣総理大臣
        if nxt is not None and nxt.type in ("State", "Organization"):
            after = self._after_gloss(nxt.end)
            if self.titles.known_at(text, after) or self.titles.match(text, after, self.bounds):
                return after, nxt.key or f"org:{norm(nxt.text)}", None
        if text[pos: pos + 1] in self.g.abbrev and self.titles.known_at(text, pos + 1):
            return pos + 1, self.g.abbrev[text[pos]], None  # ポンペオ米国務長官, ラブロフ露外相
        party = next((w for w in self.lex["party_words"] if text.startswith(w, pos)
                      and self.titles.match(text, pos + len(w), self.bounds)), None)
        if party:
            # 中国の王毅共産党政治局員, 中国の外交トップ・王毅共産党政治局員: the state named last before the name
            line = text.rfind("\n", 0, m.start)
            state = [p for p in by_start.values() if line < p.start and p.end <= m.start and p.type == "State"
                     and p.key and not re.search(r"[。は]", text[p.end: m.start])]
            org = self.g.party_of(max(state, key=lambda s: s.start).key, party) if state else None
            if org:
                return pos + len(party), org, None
        return self._unknown_org_prefix(pos)

    def _unknown_org_prefix(self, pos: int) -> tuple[int, str | None, Mention | None]:
        run = re.match(rf"[{KANJI}{KATA}]{{3,20}}", self.text[pos:])
        if not run or self.titles.match(self.text, pos, self.bounds):
            return pos, None, None
        name = run.group(0)
        after = self._after_gloss(pos + len(name))
        if self.org_suffix.search(name) and after > pos + len(name) and self.titles.known_at(self.text, after):
            org = _mention(pos, pos + len(name), name, "Organization", source="title-org")
            return after, f"org:{norm(name)}", org
        return pos, None, None

    def _more_titles(self, m: Mention, pos: int) -> int:
        """Further posts of the same person: joined by 兼 (国務委員兼外交部長), or listed with 、 and closed
        by a particle (外相、副首相は)."""
        text = self.text
        joiners = tuple(self.lex["title_joiners"])
        while True:
            j = next((j for j in joiners if text.startswith(j, pos)), None)
            t2 = self.titles.match(text, pos + len(j), self.bounds) if j else None
            if t2 is None and text[pos: pos + 1] == "、":
                t2 = self.titles.known_at(text, pos + 1)
                if t2 is not None and re.match(f"[{KANJI}{KATA}]", text[t2.end: t2.end + 1]):
                    t2 = None
            if t2 is None:
                return self._bracketed_title(m, pos)
            m.more_titles.append(t2.title)
            pos = t2.end

    def _bracketed_title(self, m: Mention, pos: int) -> int:
        """A further post in brackets after the title, maybe with its state or organization:
        国務委員長(朝鮮労働党総書記), 政務官(総理特使)."""
        text = self.text
        if text[pos: pos + 1] not in "(（" or pos >= len(text):
            return pos
        a, owner = pos + 1, None
        n = self._name_re.match(text, a)
        e = self.g.lookup(n.group(0)) if n else None
        if e is not None and e.type in ("State", "Organization") and self.titles.known_at(text, n.end()):
            a, owner = n.end(), e.key
        t = self.titles.match(text, a, self.bounds)
        if t is None or text[t.end: t.end + 1] not in ")）":
            return pos
        m.more_titles.append(t.title)
        if owner:
            m.title_of[t.title] = owner
        return t.end + 1

    def _owner_before(self, m: Mention, mentions: list[Mention]) -> str | None:
        """ロシアのラブロフ外相: a state or organization with の right before the name."""
        prev = [p for p in mentions if p.end == m.start - 1 and self.text[p.end: m.start] == "の"
                and p.type in ("State", "Organization") and not p.via_compound]
        return (prev[-1].key or f"org:{norm(prev[-1].text)}") if prev else None

    def drop_orgs_inside_titles(self, mentions: list[Mention]) -> list[Mention]:
        """An organization's name inside a fixed title (内閣 in 内閣総理大臣) is not a mention of it,
        unless the title is that organization's head (国家情報院長 -> 国家情報院)."""
        spans = [(m.title_start, m.ext_end, m.title) for m in mentions
                 if m.type == "Person" and m.title and m.title_start is not None]
        out = []
        for m in mentions:
            inside = [t for a, b, t in spans if a <= m.start and m.end <= b]
            if m.type in ("Organization", "Place") and inside:
                post = self.g.post(inside[0])
                if not (m.type == "Organization" and post and post.org_hint and post.org_hint == m.key):
                    continue
            out.append(m)
        return out

    # -- posts and words that stand for a person ----------------------------------------------------
    def role_mentions(self, rec: Recognized) -> list[Mention]:
        """Posts without a name that stand for a person: ロシアの外相, ロシア外相, 同氏, 首相は, 両外相, 2人."""
        taken = {m.start for m in rec.mentions}
        return [*self._state_roles(rec, taken), *self._anaphors(rec, taken), *self._bare_posts(rec, taken),
                *self._pairs(rec)]

    def _state_roles(self, rec: Recognized, taken: set[int]) -> list[Mention]:
        out = []
        for m in rec.mentions:
            if m.type != "State":
                continue
            link = "の" if self.text[m.end: m.end + 1] == "の" else ""
            t = self.titles.known_at(self.text, m.end + len(link))
            if t is None or re.match(f"[{KATA}]", self.text[t.end: t.end + 1]) or t.start in taken:
                continue  # a name after the title would have been caught already
            if any(x.type == "Person" and x.start == t.end for x in rec.mentions):
                continue
            out.append(_mention(m.start, t.end, self.text[m.start: t.end], "Role", key=m.key, title=t.title,
                                title_start=t.start, title_end=t.end, of_key=m.key, source="role" + link,
                                ext_end=t.end))
        return out

    def _anaphors(self, rec: Recognized, taken: set[int]) -> list[Mention]:
        """同氏 / 同長官 / 同相: the person last named before (resolved with the posts)."""
        out = []
        text = self.text
        for mm in re.finditer(re.escape(self.lex["anaphor_prefix"]), text):
            pos = mm.end()
            t = self.titles.known_at(text, pos)
            h = self.lex.regex("honorifics").match(text, pos)
            bare = self.lex.regex("minister_anaphor_words", "{}(?=[はがもの、])").match(text, pos)
            word = t.title if t else (h.group(0) if h else (bare.group(0) if bare else None))
            if word is None or pos in taken or rec.in_quote(mm.start()):
                continue
            out.append(_mention(mm.start(), pos + len(word), text[mm.start(): pos + len(word)], "Role",
                                title=t.title if t else None, source="anaphor:" + word, ext_end=pos + len(word)))
        return out

    def _bare_posts(self, rec: Recognized, taken: set[int]) -> list[Mention]:
        """A bare post opening a clause (首相は会談後…, 長官が): the holder named last, as for 同長官."""
        text, out = self.text, []
        first_named = min((m.end for m in rec.mentions if m.type == "Person"), default=len(text) + 1)
        for a in range(first_named, len(text)):
            t = self.titles.known_at(text, a)
            if t is None or not (a == 0 or text[a - 1] in "。、，,\n 　」"):
                continue
            if (a in taken or rec.in_quote(a) or text[t.end: t.end + 1] not in ("は", "が", "も")
                    or any(x.start <= a < x.ext_end for x in rec.mentions)):
                continue
            out.append(_mention(a, t.end, t.title, "Role", title=t.title, source="anaphor:" + t.title, ext_end=t.end))
        return out

    def _pairs(self, rec: Recognized) -> list[Mention]:
        out = []
        for mm in self.lex.regex("pair_words").finditer(self.text):
            out.append(_mention(mm.start(), mm.end(), mm.group(0), "Pair", source="pair", ext_end=mm.end()))
        return out
