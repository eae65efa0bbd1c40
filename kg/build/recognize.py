"""Recognition: find mentions of persons, states, organizations, places and posts in a parsed article.

Sources, in order of trust: the gazetteer (kg/data), structural patterns (a name followed by a
post title or an honorific, a name with its reading in brackets), and GiNZA's ENE labels and
person-name token tags. A title is never part of a name: ポンペイオ長官 is the name ポンペイオ
plus the title 長官. A name not in the gazetteer needs structural evidence (a title, an
honorific or a reading), so GiNZA's stray Person labels do not become people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from kg.build.gazetteer import GazEntry, Gazetteer, load, norm

if TYPE_CHECKING:
    from spacy.tokens import Doc

KATA = "ァ-ヴー"
KANJI = "一-龥々〆"
KATA_NAME = re.compile(rf"[{KATA}]+(?:[・=＝][{KATA}]+)*")
KANJI_RUN = re.compile(rf"[{KANJI}]+")
READING = re.compile(rf"[(（]([{KATA}]+(?:[・=＝][{KATA}]+)*)[)）]")
KANJI_IN_PARENS = re.compile(rf"[(（]([{KANJI}]{{2,4}})[)）]?")
PARTICLE = re.compile(r"(?:[(（][^()（）]{0,80}[)）])?(?:ら|など)?(としては|として|との|とも|と|は|が|の|に対し|には|に|を|で|から|も|、|,|，)")
ORG_SUFFIX = re.compile(r"(?:センター|局|省|庁|院|党|委員会|機関|通信|新聞|研究所|財団|軍|部|室|本部|会議|同盟|連合)$")
GINZA_ORG_LABELS = {
    "Government", "International_Organization", "Political_Party", "Political_Organization_Other",
    "Military", "Organization_Other", "Company", "Company_Group",
}
GINZA_PLACE_LABELS = {"City", "Province", "County", "GPE_Other", "Region_Other", "Continental_Region"}


@dataclass
class Mention:
    """A span of the document text that names (or stands for) an entity."""

    start: int
    end: int  # end of the name itself
    text: str
    type: str  # Person | State | Organization | Place | Role
    key: str | None = None  # gazetteer key when known
    sent: int = 0
    title: str | None = None
    title_start: int | None = None
    title_end: int | None = None
    of_key: str | None = None  # the state/org written inside the title (朝鮮労働党副委員長)
    ctx_of: str | None = None  # a state/org with の right before the name (ロシアのラブロフ外相)
    reading: str | None = None
    honorific: bool = False
    ext_end: int = 0  # end of name + reading + title/honorific
    particle: str = ""
    in_quote: bool = False
    source: str = "gazetteer"
    entity: int | None = None  # filled by resolution
    via_compound: bool = False
    more_titles: list[str] = field(default_factory=list)  # further posts joined by 兼

    def __post_init__(self) -> None:
        if not self.ext_end:
            self.ext_end = self.end


@dataclass
class Sentence:
    idx: int
    start: int
    end: int
    text: str


@dataclass
class Recognized:
    text: str
    sentences: list[Sentence]
    mentions: list[Mention]
    quotes: list[tuple[int, int]]  # (start, end) of the text inside 「」, outermost only
    person_token_spans: list[tuple[int, int]] = field(default_factory=list)

    def sentence_of(self, pos: int) -> Sentence:
        for s in self.sentences:
            if s.start <= pos < s.end:
                return s
        return self.sentences[-1]

    def in_quote(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.quotes)


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
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    g = load()
    names = [n for n in g.surfaces if len(n) >= 2]
    name_re = re.compile(longest_alternation(names), re.IGNORECASE) if names else re.compile(r"(?!x)x")
    titles = g.titles_longest_first
    title_re = re.compile("|".join(re.escape(t) for t in titles)) if titles else re.compile(r"(?!x)x")
    ab = "".join(sorted(g.abbrev))
    followers = sorted(g.lexicon.get("compound_followers", []), key=len, reverse=True)
    fol = "|".join(re.escape(f) for f in followers)
    comp_re = re.compile(rf"(?:(?<=[回次度第])|(?<![{KANJI}]))([{ab}]{{2,4}})(?=(?:{fol}))") if ab else re.compile(r"(?!x)x")
    return name_re, title_re, comp_re


def find_quotes(text: str) -> list[tuple[int, int]]:
    """Outermost 「…」 spans (inner text offsets), tolerant of unbalanced brackets."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "「":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "」" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i))
        elif ch == "\n" and depth and text[i + 1: i + 2] == "\n":
            depth = 0  # an unclosed quote never runs across paragraphs
    return spans


def sentences_of(doc: Doc | None, text: str) -> list[Sentence]:
    """Sentences: split after 。！？ outside 「」 and at line breaks.

    Japanese news punctuates reliably, and GiNZA's own boundaries sometimes fall after a
    closing bracket in mid-sentence, so the split is made on the text itself.
    """
    out: list[Sentence] = []
    depth = 0
    a = 0
    n = len(text)
    for i, ch in enumerate(text):
        if ch == "「":
            depth += 1
        elif ch == "」" and depth:
            depth -= 1
        cut = None
        if ch == "\n":
            cut, depth = i, 0
        elif ch in "。！？!?" and depth == 0:
            cut = i + 1
        if cut is not None or i == n - 1:
            b = cut if cut is not None else n
            seg = text[a:b]
            if seg.strip():
                lead = len(seg) - len(seg.lstrip())
                out.append(Sentence(len(out), a + lead, a + len(seg.rstrip()), seg.strip()))
            a = i + 1
    return out or [Sentence(0, 0, n, text)]


def _inside_open_quote(s: str) -> bool:
    return s.count("「") > s.count("」")


class Recognizer:
    """Find mentions in one parsed document."""

    def __init__(self, gaz: Gazetteer | None = None) -> None:
        self.g = gaz or load()
        self.name_re, self.title_re, self.comp_re = _patterns()
        self.not_states = tuple(self.g.lexicon.get("time_expressions_not_states", []))
        self.honorifics = tuple(self.g.lexicon.get("honorifics", ["氏"]))

    # -- public -------------------------------------------------------------------------
    def recognize(self, doc: Doc, text: str) -> Recognized:
        sents = sentences_of(doc, text)
        quotes = find_quotes(text)
        rec = Recognized(text, sents, [], quotes)
        taken = [False] * (len(text) + 1)
        mentions: list[Mention] = []

        def free(a: int, b: int) -> bool:
            return not any(taken[a:b])

        def take(m: Mention) -> None:
            for i in range(m.start, m.end):
                taken[i] = True
            mentions.append(m)

        person_tokens = self._person_token_spans(doc)
        rec.person_token_spans = person_tokens
        # 1. name with reading: 金英哲(キム・ヨンチョル), キム・ジョンウン(金正恩)
        for m in self._reading_pairs(text, person_tokens):
            if free(m.start, m.end):
                take(m)
        # 1a. a dateline: 【北京共同】 -> the place and the news agency
        for m in self._dateline(text):
            if free(m.start, m.end):
                take(m)
        # 1b. organizations named in brackets before 率いる: 「朝鮮ミッションセンター」を率いる
        for m in self._quoted_orgs(text):
            if free(m.start, m.end):
                take(m)
        # 2. gazetteer names, longest first at each position
        for m in self.name_re.finditer(text):
            a, b = m.span()
            if not free(a, b):
                continue
            e = self.g.lookup(m.group(0))
            if e is None or not self._plausible_gaz(text, a, b, e):
                continue
            take(Mention(a, b, text[a:b], e.type if e.type != "Official" else "Person", key=e.key))
        # 3. compounds of one-character state forms: 米朝, 日米韓, 訪朝, 駐韓, 南北
        for m in self._compound_states(text):
            if free(m.start, m.end):
                take(m)
        # 4. names followed by a title or an honorific
        for m in self._titled_names(text, doc, person_tokens, taken):
            if free(m.start, m.end):
                take(m)
        # 5. organizations named in brackets before 率いる etc., and GiNZA's organizations/places
        for m in self._ginza_entities(doc, text):
            if free(m.start, m.end):
                take(m)
        mentions.sort(key=lambda x: x.start)
        for m in mentions:
            m.sent = rec.sentence_of(m.start).idx
            m.in_quote = rec.in_quote(m.start)
        self._attach_titles(text, mentions)
        mentions = self._drop_orgs_inside_titles(mentions)
        for m in mentions:
            pm = PARTICLE.match(text, m.ext_end)
            m.particle = pm.group(1) if pm else ""
        rec.mentions = [m for m in mentions if self._keep(m)]
        rec.mentions.extend(self._role_mentions(text, rec))
        rec.mentions.sort(key=lambda x: x.start)
        for m in rec.mentions:
            m.sent = rec.sentence_of(m.start).idx
            m.in_quote = rec.in_quote(m.start)
        return rec

    # -- steps ----------------------------------------------------------------------------
    def _plausible_gaz(self, text: str, a: int, b: int, e: GazEntry) -> bool:
        tail = text[a: a + 8]
        if e.type == "State" and any(tail.startswith(x) for x in self.not_states):
            return False
        # a kanji name glued inside a longer kanji word is not a mention (e.g. 中国 in 中国語 is excluded by the
        # lexicon; a one-word surname like 安倍 inside another word is rare, so only check persons)
        if e.type in ("Official", "Person") and len(e.label) <= 2:
            before = text[a - 1: a]
            if before and re.match(rf"[{KANJI}]", before) and not self._title_ends_at(text, a):
                return False
        return True

    def _title_ends_at(self, text: str, pos: int) -> bool:
        return any(text.endswith(t, 0, pos) for t in self.g.titles_longest_first)

    def _person_token_spans(self, doc: Doc) -> list[tuple[int, int]]:
        """Runs of tokens tagged as person names (人名) or labelled Person by GiNZA's NER."""
        spans: list[tuple[int, int]] = []
        cur: list[int] | None = None
        for t in doc:
            is_name = "人名" in t.tag_ or t.ent_type_ == "Person"
            if is_name or (cur and t.text in "・＝=" and t.i + 1 < len(doc)):
                if cur is None:
                    cur = [t.idx, t.idx + len(t.text)]
                else:
                    cur[1] = t.idx + len(t.text)
            else:
                if cur:
                    spans.append((cur[0], cur[1]))
                cur = None
        if cur:
            spans.append((cur[0], cur[1]))
        return spans

    def _reading_pairs(self, text: str, person_tokens: list[tuple[int, int]]) -> list[Mention]:
        out: list[Mention] = []
        for m in READING.finditer(text):
            reading = m.group(1)
            if "・" not in reading and "＝" not in reading and not self.g.lookup(reading):
                continue
            run = re.search(rf"[{KANJI}]+$", text[max(0, m.start() - 8): m.start()])
            if not run:
                continue
            name = self._trim_kanji_name(run.group(0))
            if len(name) < 2:
                continue
            a = m.start() - len(name)
            e = self.g.lookup(name) or self.g.lookup(reading)
            out.append(Mention(a, m.start(), name, "Person", key=e.key if e else None, reading=reading,
                               ext_end=m.end(), source="reading"))
        # reading first, kanji after: キム・ジョンウン(金正恩) or キム・ジョンウン金正恩
        for m in KANJI_IN_PARENS.finditer(text):
            before = re.search(rf"[{KATA}]+(?:[・＝][{KATA}]+)+$", text[max(0, m.start() - 20): m.start()])
            if not before:
                continue
            e = self.g.lookup(m.group(1)) or self.g.lookup(before.group(0))
            if e is None:
                continue
            a = m.start() - len(before.group(0))
            out.append(Mention(a, m.start(), before.group(0), "Person", key=e.key, reading=m.group(1),
                               ext_end=m.end(), source="reading"))
        return out

    def _trim_kanji_name(self, run: str, longest: int = 3) -> str:
        """The name at the end of a kanji run: drop leading titles, state names and similar words; at most
        ``longest`` characters are kept."""
        changed = True
        while changed and len(run) > 2:
            changed = False
            for t in self.g.titles_longest_first:
                if run.startswith(t) and len(run) - len(t) >= 2:
                    run = run[len(t):]
                    changed = True
                    break
            e = None
            for k in range(len(run) - 2, 0, -1):
                e = self.g.lookup(run[:k])
                if e is not None and e.type in ("State", "Organization", "Place"):
                    run = run[k:]
                    changed = True
                    break
        if len(run) > longest:
            run = run[-longest:]
        return run

    def _compound_states(self, text: str) -> list[Mention]:
        out: list[Mention] = []
        pairs: dict[str, list[str]] = self.g.lexicon.get("compound_pairs", {})
        for word, keys in pairs.items():
            for m in re.finditer(re.escape(word), text):
                for i, k in enumerate(keys):
                    out.append(Mention(m.start() + i, m.start() + i + 1, word[i], "State", key=k,
                                       source="compound", via_compound=True))
        for m in self.comp_re.finditer(text):
            a = m.start(1)
            for i, ch in enumerate(m.group(1)):
                out.append(Mention(a + i, a + i + 1, ch, "State", key=self.g.abbrev[ch], source="compound",
                                   via_compound=True))
        ab = "".join(sorted(self.g.abbrev))
        if ab:
            # 訪米 but not 訪米朝 (a pair); 訪米中の / 訪日中に: 中 here means "during", not China
            for m in re.finditer(rf"([訪来駐対])([{ab}])(?!(?!中[のにでは、。だ])[{ab}])", text):
                if m.group(1) == "来" and m.group(2) not in ("日", "韓"):
                    continue
                if m.group(1) == "対" and not re.match(r"[関政姿外強融]", text[m.end(): m.end() + 1] or "x"):
                    continue
                a = m.start(2)
                out.append(Mention(a, a + 1, m.group(2), "State", key=self.g.abbrev[m.group(2)],
                                   source="compound", via_compound=True))
        return out

    def _titled_names(self, text: str, doc: Doc, person_tokens: list[tuple[int, int]],
                      taken: list[bool]) -> list[Mention]:
        """Names directly followed by a post title (optionally with a state/org prefix) or an honorific."""
        out: list[Mention] = []
        hon = "|".join(re.escape(h) for h in self.honorifics)
        ends: dict[int, str] = {}
        for m in self.title_re.finditer(text):
            ends.setdefault(m.start(), "title")
        for m in re.finditer(rf"(?:{hon})(?![{KANJI}])", text):
            ends.setdefault(m.start(), "honorific")
        # a state/org prefix between the name and the title: キム・ヨンチョル朝鮮労働党副委員長
        for m in self.name_re.finditer(text):
            e = self.g.lookup(m.group(0))
            if e and e.type in ("State", "Organization") and self.title_re.match(text, m.end()):
                ends.setdefault(m.start(), "prefixed")
        for pos, _kind in sorted(ends.items()):
            # katakana name right before
            km = re.search(rf"[{KATA}]+(?:[・＝=][{KATA}]+)*$", text[max(0, pos - 30): pos])
            if km and len(km.group(0)) >= 2:
                a = pos - len(km.group(0))
                name = km.group(0)
                if self.g.lookup(name) is None or self.g.lookup(name).type in ("Official", "Person"):
                    out.append(Mention(a, pos, name, "Person", source="titled"))
                continue
            # kanji name: person-tagged tokens ending right here; a surname and a given name tagged as
            # such are kept whole (小野日子), other runs to their last three characters
            for a, b in person_tokens:
                if b == pos and not any(taken[a:b]):
                    name = text[a:b]
                    if re.fullmatch(rf"[{KANJI}]+", name):
                        name2 = self._trim_kanji_name(name, 4 if self._family_name_first(doc, b - 4, b) else 3)
                        a = b - len(name2)
                        if 1 <= len(name2) <= 4:
                            out.append(Mention(a, b, name2, "Person", source="titled"))
                    break
            else:
                # a name whose last character the tagger read as an ordinary word (孫衛|東副外相,
                # 趙|賢|東外務第1次官): the whole kanji run after の, a comma or the sentence start,
                # when it opens with a token tagged as a name
                run = re.search(rf"(?:^|(?<=[の、，,\s」』]))([{KANJI}]{{2,3}})$", text[max(0, pos - 4): pos])
                if run and not any(taken[pos - len(run.group(1)): pos]):
                    a = pos - len(run.group(1))
                    span = doc.char_span(a, pos, alignment_mode="expand")  # the tokens over the run
                    if (span is not None and span[0].idx == a and "人名" in span[0].tag_
                            and self.g.lookup(run.group(1)) is None and not self.title_re.match(run.group(1))):
                        out.append(Mention(a, pos, run.group(1), "Person", source="titled"))
                        continue
                # a one-character surname directly before a title: 李外相, 徐院長, 王氏
                km2 = re.search(rf"(?<![{KANJI}])[{KANJI}]$", text[max(0, pos - 2): pos])
                if km2 and not self.title_re.match(text, pos - 1):
                    ch = km2.group(0)
                    e = self.g.lookup(ch)
                    if e is None and ch not in "同両前元現新故党副第":
                        out.append(Mention(pos - 1, pos, ch, "Person", source="surname"))
        return out

    @staticmethod
    def _family_name_first(doc: Doc, a: int, b: int) -> bool:
        """The text [a, b) is exactly a token tagged as a surname followed by tokens tagged as names."""
        span = doc.char_span(a, b) if a >= 0 else None  # None unless [a, b) starts and ends on token edges
        return span is not None and len(span) >= 2 and span[0].tag_.endswith("人名-姓")

    def _dateline(self, text: str) -> list[Mention]:
        out: list[Mention] = []
        for m in re.finditer(r"【([^【】]{1,20})】", text):
            inner, a = m.group(1), m.start(1)
            for k in range(1, len(inner)):
                place, agency = inner[:k], inner[k:]
                ep = self.g.lookup(place)
                ea = self.g.lookup(agency) or self.g.lookup(agency + "通信")
                if ep and ea and ea.type == "Organization" and ep.type in ("Place", "State"):
                    out.append(Mention(a, a + k, place, ep.type, key=ep.key, source="dateline"))
                    out.append(Mention(a + k, a + len(inner), agency, "Organization", key=ea.key, source="dateline"))
                    break
        return out

    def _quoted_orgs(self, text: str) -> list[Mention]:
        out: list[Mention] = []
        lead = "|".join(re.escape(v) for v in self.g.lexicon.get("lead_verbs", []))
        for m in re.finditer(rf"「([^「」]{{2,30}})」(?:を|の)(?:{lead})", text):
            if ORG_SUFFIX.search(m.group(1)):
                out.append(Mention(m.start(1), m.end(1), m.group(1), "Organization", source="quoted-org"))
        return out

    def _ginza_entities(self, doc: Doc, text: str) -> list[Mention]:
        out: list[Mention] = []
        for ent in doc.ents:
            a, b = ent.start_char, ent.end_char
            label = ent.label_
            s = text[a:b]
            if label in GINZA_PLACE_LABELS:
                s2 = re.sub(r"^(首都|首府|都市)", "", s)
                a += len(s) - len(s2)
                if len(s2) >= 2 and not self.title_re.search(s2) and re.fullmatch(rf"[{KATA}{KANJI}]+", s2):
                    out.append(Mention(a, b, s2, "Place", source="ginza"))
            elif (label in GINZA_ORG_LABELS and len(s) >= 3 and ORG_SUFFIX.search(s)
                  and not self.title_re.search(s) and "政権" not in s):
                out.append(Mention(a, b, s, "Organization", source="ginza"))
        return out

    def _attach_titles(self, text: str, mentions: list[Mention]) -> None:
        """Attach to each person the reading, the state/org prefix and the post title that follow it."""
        by_start = {m.start: m for m in mentions}
        for m in mentions:
            if m.type != "Person":
                continue
            pos = max(m.end, m.ext_end)
            r = READING.match(text, pos)
            if r:
                m.reading = m.reading or r.group(1)
                pos = r.end()
            # キム・ジョンウン金正恩 / キム・ジョンウン金正恩) : the same person's other spelling
            nxt = by_start.get(pos)
            if nxt is not None and nxt.type == "Person" and nxt.key and nxt.key == m.key:
                pos = nxt.end
                if text[pos: pos + 1] in ")）":
                    pos += 1
            of_key = None
            gloss = re.match(r"[(（][A-Za-z][^()（）]{0,80}[)）]", text[pos:])
            if gloss:  # 王毅(Wang Yi)外交部長: a name in Latin letters
                pos += gloss.end()
            if text[pos: pos + 1] == "・" and by_start.get(pos + 1) is not None:
                pos += 1  # プーチン・ロシア大統領
            nxt = by_start.get(pos)
            t0 = self.title_re.match(text, pos)
            if t0 and nxt is not None and t0.end() >= nxt.end:
                nxt = None  # the title itself starts with an organization's name: 内閣総理大臣
            after = None
            if nxt is not None and nxt.type in ("State", "Organization"):
                # a state or organization between name and title, maybe with a gloss: 青瓦台(大統領府)国家安保室長
                after = nxt.end
                gloss = re.match(r"[(（][^()（）]{1,12}[)）]", text[after:])
                if gloss:
                    after += gloss.end()
            if after is not None and self.title_re.match(text, after):
                of_key = nxt.key or f"org:{norm(nxt.text)}"  # type: ignore[union-attr]
                pos = after
            elif text[pos: pos + 1] in self.g.abbrev and self.title_re.match(text, pos + 1):
                of_key = self.g.abbrev[text[pos]]  # トランプ米大統領, ポンペオ米国務長官, ラブロフ露外相
                pos += 1
            elif party := next((w for w in self.g.lexicon.get("party_words", []) if text.startswith(w, pos)
                                and self.title_re.match(text, pos + len(w))), None):
                # 中国の王毅共産党政治局員: the party of the state written before the name
                state = [p for p in mentions if p.end == m.start - 1 and text[p.end: m.start] == "の"
                         and p.type == "State" and p.key]
                org = self.g.party_of(state[-1].key, party) if state else None
                if org:
                    of_key = org
                    pos += len(party)
            t = self.title_re.match(text, pos)
            if t:
                m.title, m.title_start, m.title_end = t.group(0), t.start(), t.end()
                m.of_key = of_key
                pos = t.end()
                while text[pos: pos + 1] == "兼" and (t2 := self.title_re.match(text, pos + 1)):
                    m.more_titles.append(t2.group(0))  # 国務委員兼外交部長
                    pos = t2.end()
            else:
                h = re.match("|".join(re.escape(h) for h in self.honorifics), text[pos:])
                if h:
                    m.honorific = True
                    pos += h.end()
            m.ext_end = pos
            if m.title:
                # ロシアのラブロフ外相: a state or organization with の right before the name
                prev = [p for p in mentions if p.end in (m.start - 1,) and text[p.end: m.start] == "の"
                        and p.type in ("State", "Organization") and not p.via_compound]
                if prev:
                    m.ctx_of = prev[-1].key or f"org:{norm(prev[-1].text)}"

    def _drop_orgs_inside_titles(self, mentions: list[Mention]) -> list[Mention]:
        """An organization's name inside a fixed title (内閣 in 内閣総理大臣) is not a mention of it,
        unless the title is that organization's head (国家情報院長 -> 国家情報院)."""
        spans = [(m.title_start, m.ext_end, m.title) for m in mentions
                 if m.type == "Person" and m.title and m.title_start is not None]
        out = []
        for m in mentions:
            inside = [t for a, b, t in spans if a <= m.start and m.end <= b]
            if m.type == "Organization" and inside:
                post = self.g.post(inside[0])
                if not (post and post.org_hint and post.org_hint == m.key):
                    continue
            out.append(m)
        return out

    def _keep(self, m: Mention) -> bool:
        if m.type != "Person":
            return True
        if m.key:  # a gazetteer person
            return True
        if m.source == "surname":
            return bool(m.title or m.honorific)
        return bool(m.title or m.honorific or m.reading)

    def _role_mentions(self, text: str, rec: Recognized) -> list[Mention]:
        """Posts without a name that stand for a person: ロシアの外相, ロシア外相, 両外相, 2人."""
        out: list[Mention] = []
        taken = {(m.start) for m in rec.mentions}
        for m in rec.mentions:
            if m.type != "State":
                continue
            after = m.end
            link = ""
            if text[after: after + 1] == "の":
                after += 1
                link = "の"
            t = self.title_re.match(text, after)
            if t and not re.match(rf"[{KATA}]", text[t.end(): t.end() + 1]):
                # not followed by a name (a name before the title would have been caught already)
                if any(x.type == "Person" and x.start == t.end() for x in rec.mentions):
                    continue
                if t.start() in taken:
                    continue
                out.append(Mention(m.start, t.end(), text[m.start: t.end()], "Role", key=m.key, title=t.group(0),
                                   title_start=t.start(), title_end=t.end(), of_key=m.key, source="role" + link,
                                   ext_end=t.end()))
        # 同氏 / 同長官 / 同相: the person last named before (resolved with the posts, kg.build.extract.positions)
        for mm in re.finditer("同", text):
            pos = mm.end()
            t = self.title_re.match(text, pos)
            word = t.group(0) if t else ("氏" if text.startswith("氏", pos) else
                                         "相" if re.match(r"相[はがもの、]", text[pos: pos + 2]) else None)
            if word is None or pos in taken or rec.in_quote(mm.start()):
                continue
            out.append(Mention(mm.start(), pos + len(word), text[mm.start(): pos + len(word)], "Role",
                               title=word if t else None, source="anaphor:" + word, ext_end=pos + len(word)))
        # a bare post opening a clause (首相は会談後…, 長官が): the holder named last, as for 同長官
        first_named = min((m.end for m in rec.mentions if m.type == "Person"), default=len(text) + 1)
        for t in self.title_re.finditer(text, first_named):
            a, b = t.start(), t.end()
            if (a in taken or rec.in_quote(a) or text[b: b + 1] not in ("は", "が", "も")
                    or not (a == 0 or text[a - 1] in "。、，,\n 　」")
                    or any(x.start <= a < x.ext_end for x in rec.mentions)):
                continue
            out.append(Mention(a, b, t.group(0), "Role", title=t.group(0), source="anaphor:" + t.group(0), ext_end=b))
        for w in self.g.lexicon.get("pair_words", []):
            for mm in re.finditer(re.escape(w), text):
                if rec.in_quote(mm.start()):
                    continue
                out.append(Mention(mm.start(), mm.end(), w, "Pair", source="pair", ext_end=mm.end()))
        for m in out:
            pm = PARTICLE.match(text, m.ext_end)
            m.particle = pm.group(1) if pm else ""
        return out
