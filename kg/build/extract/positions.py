"""Posts held: a person mention with a title -> (holder, title, state or organization).

Whose post it is comes from, in order: the state/organization written inside the title
(キム・ヨンチョル朝鮮労働党副委員長), a state/organization with の before the name
(ロシアのラブロフ外相), the same person's other mentions, the gazetteer's record of the
official's posts, the title's own hint (国務長官 -> アメリカ), and the official's state for
state-level posts. Without any of these, no position is stated: nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.build.extract.context import DocContext
from kg.build.recognize import Mention, Sentence
from kg.records import PositionStatement

STATE_LEVEL_RANKS = {
    "head_of_state", "head_of_government", "minister", "vice_minister", "ambassador", "envoy", "deputy",
    "military", "official",
}


@dataclass
class _Pos:
    holder: str
    post: str
    of: str
    titles: list[str] = field(default_factory=list)
    evidence: list = field(default_factory=list)


def _post_of_gazetteer(ctx: DocContext, holder_key: str, title: str, canonical: str) -> tuple[str, str] | None:
    """The gazetteer's post of this official that the title names: the same title, else the same
    canonical post, else a longer title ending with it (長官 of 国務長官); among several, the one held
    on the article's date."""
    gz = ctx.gaz.entries.get(holder_key)
    if not gz:
        return None
    date = ctx.article.published

    def held_then(p: dict) -> bool:
        if not date:
            return True
        return str(p.get("from") or "0000") <= date and (not p.get("to") or date <= str(p.get("to")))

    def canon(t: str) -> str:
        post = ctx.gaz.post(t)
        return post.canonical if post else t

    tests = (lambda pt: pt == title, lambda pt: canon(pt) == canonical, lambda pt: pt.endswith(title))
    for only_current in (True, False):  # a post held on the article's date first, any post after that
        for test in tests:
            hits = [p for p in gz.posts if p.get("of") and test(p.get("title", ""))
                    and (held_then(p) or not only_current)]
            if hits:
                p = min(hits, key=lambda p: len(p.get("title", "")))  # the closest: 党委員長 before 国防委員会第1委員長
                return canon(p["title"]), p["of"]
    return None


def extract_positions(ctx: DocContext) -> list[PositionStatement]:
    """Positions held, one per (holder, post, state/organization)."""
    found: dict[tuple[str, str, str], _Pos] = {}
    long_titles, explicit_of = _titles_seen(ctx)
    titled = [(x, t) for x in ctx.rec.mentions if x.type == "Person" and x.title for t in (x.title, *x.more_titles)]
    for m, title in titled:
        e = ctx.entity(m)
        if e is None or not e.key:
            continue
        canonical = _canon(ctx, title)
        longer = sorted((t for t in long_titles.get(e.key, ()) if t != title and t.endswith(title)), key=len)
        if longer:
            canonical = _canon(ctx, longer[-1])
        of = _whose(ctx, m, e.key, title, canonical, explicit_of)
        if of is None:
            hit = _post_of_gazetteer(ctx, e.key, title, canonical)
            if hit:
                canonical, of = hit[0] if not longer else canonical, hit[1]
        of = of or _whose_by_post(ctx, m, e.key, title)
        if of is None or of.startswith("place:"):
            continue  # a region's post (州首相): the ontology's posts are in states and organizations
        inline = bool(m.of_key)
        _add(ctx, found, e.key, canonical, of, ctx.sentence(m.start), title=title,
             rule="position.title-inline" if inline else "position.title-context", confidence=0.9 if inline else 0.75)
    _leaders_of_named_units(ctx, found)
    _envoys(ctx, found)
    return [
        PositionStatement(holder=p.holder, title=p.titles[0], post=p.post, of=p.of, titles=tuple(p.titles),
                          evidence=tuple(p.evidence))
        for p in found.values()
    ]


def _titles_seen(ctx: DocContext) -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    """The titles each holder is written with (so 長官 can join 国務長官), and whose post each is where the
    text says so once (キム・ヨンチョル朝鮮労働党副委員長 … キム副委員長)."""
    long_titles: dict[str, set[str]] = {}
    explicit_of: dict[tuple[str, str], str] = {}
    for m in ctx.rec.mentions:
        e = ctx.entity(m) if m.type == "Person" else None
        if e and m.title and e.key:
            long_titles.setdefault(e.key, set()).add(m.title)
            if m.of_key:
                explicit_of.setdefault((e.key, _canon(ctx, m.title)), m.of_key)
    return long_titles, explicit_of


def _whose(ctx: DocContext, m: Mention, holder: str, title: str, canonical: str,
           explicit_of: dict[tuple[str, str], str]) -> str | None:
    """Whose post the text says it is: inside the title, earlier for the same person, or with の before."""
    of = m.title_of.get(title) or m.of_key or explicit_of.get((holder, canonical)) or m.ctx_of
    if title != m.title and m.of_key and m.of_key.startswith("org:"):
        # 共産党政治局員兼外相: the party's post, then a post of the party's state
        first, this = ctx.gaz.post(m.title or ""), ctx.gaz.post(title)
        if first and this and first.domain == "party" and this.domain != "party":
            of = ctx.gaz.state_key_of(m.of_key) or m.ctx_of or of
    return of


def _whose_by_post(ctx: DocContext, m: Mention, holder: str, title: str) -> str | None:
    """Whose post the post itself or the context tells: a post of one state (国務長官 -> アメリカ), the
    official's state in the gazetteer, or the side the sentence introduces (米国側は、…, ウクライナ代表団には、…)."""
    post = ctx.gaz.post(title)
    if post is None:
        return None
    if post.org_hint and not post.org_hint.startswith("state:"):
        return post.org_hint
    if post.rank not in STATE_LEVEL_RANKS:
        return post.org_hint
    gz = ctx.gaz.entries.get(holder)
    if gz and gz.state:
        return f"state:{gz.state}"
    return _side_of(ctx, m) or post.org_hint


def _side_of(ctx: DocContext, m: Mention) -> str | None:
    """The state whose side or delegation the sentence lists the person in: パラオ側から、マルグ外相 /
    米国側は、トランプ氏の他、ウィトコフ大統領特使 / ウクライナ代表団には、…経済相; or 中国から温家宝首相が;
    or the state the sentence is set in, for the people met there, not for its subject (チリでは、
    ロペス大統領と会談し / チリを訪問し、ロペス大統領を表敬した: the host's post, not the visitor's)."""
    sent = ctx.sentence(m.start)
    side = ctx.lex.regex("side_markers")
    source = ctx.lex.regex("source_markers")
    topic = ctx.lex.regex("setting_markers")
    for s in reversed(ctx.mentions_between(sent.start, m.start)):
        if s.type != "State" or s.via_compound:
            continue
        if side.match(ctx.text, s.ext_end):
            return s.key
        if topic.match(ctx.text, s.ext_end) and m.particle not in ("は", "が", "も", "から"):
            return s.key
        src = source.match(ctx.text, s.ext_end)
        if src and re.fullmatch(r"[、,\s]?", ctx.text[src.end(): m.start]):
            return s.key
    return None


def _leaders_of_named_units(ctx: DocContext, found: dict[tuple[str, str, str], _Pos]) -> None:
    """「朝鮮ミッションセンター」を率いるアンドリュー・キム氏 -> the head (センター長) of that unit."""
    text = ctx.text
    lead = ctx.lex.alternation("lead_verbs")
    units: dict[str, str] = ctx.lex["unit_heads"]  # the kind of unit -> the title of its head
    unit_re = re.compile("(" + "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True)) + ")$")
    for org in ctx.rec.mentions:
        if org.type != "Organization" or org.entity is None:
            continue
        m = re.match(f"」?(?:を|の){lead}", text[org.end: org.end + 12])
        if not m:
            continue
        after = [x for x in ctx.mentions_between(org.end + m.end(), org.end + m.end() + 12)
                 if x.type == "Person" and ctx.entity(x) is not None]
        if not after or not re.fullmatch(r"[、\s]*", text[org.end + m.end(): after[0].start]):
            continue
        holder = ctx.entity(after[0])
        unit = unit_re.search(org.text)
        title = units[unit.group(1)] if unit else ctx.lex["unit_head_default"]
        of_key = ctx.ents[org.entity].key
        if holder is None or not holder.key or not of_key:
            continue
        _add(ctx, found, holder.key, title, of_key, ctx.sentence(org.start), "position.leads", 0.7)


def _add(ctx: DocContext, found: dict[tuple[str, str, str], _Pos], holder: str, post: str, of: str,
         sent: Sentence, rule: str, confidence: float, title: str | None = None) -> None:
    """The position (holder, post, of), with the title as written and the sentence as evidence."""
    p = found.setdefault((holder, post, of), _Pos(holder, post, of))
    if (title or post) not in p.titles:
        p.titles.append(title or post)
    ev = ctx.evidence(sent, rule, confidence)
    if ev not in p.evidence:
        p.evidence.append(ev)


def _canon(ctx: DocContext, title: str) -> str:
    p = ctx.gaz.post(title)
    return p.canonical if p else title


def resolve_roles(ctx: DocContext, positions: list[PositionStatement]) -> None:
    """Role mentions (ロシアの外相, ロシア外相) -> the one person in the document holding that post there."""
    by_key = {e.key: e for e in ctx.ents if e.key}
    for m in ctx.rec.mentions:
        if m.type == "Role" and m.source.startswith("anaphor:"):
            _resolve_anaphor(ctx, positions, m)
            continue
        if m.type != "Role" or not m.title:
            continue
        want = _canon(ctx, m.title)
        post = ctx.gaz.post(m.title)
        hits = {
            p.holder for p in positions
            if ctx.gaz.state_key_of(p.of) == m.of_key and (
                p.post == want or (post and post.domain and _domain(ctx, p.post) == post.domain
                                   and _rank(ctx, p.post) == post.rank)
            )
        }
        if len(hits) == 1:
            holder = by_key.get(next(iter(hits)))
            if holder is not None:
                ctx.roles[id(m)] = holder.id


def _resolve_anaphor(ctx: DocContext, positions: list[PositionStatement], m: Mention) -> None:
    """同氏 -> the person named last before it; 同長官 / 同相 -> the last one named who holds such a post
    (the convention of Japanese news writing). When the nearest sentence that names such a person names
    two (茂木外相は王毅外相と会談した。同相は…), it is left unresolved: that would be a guess."""
    word = m.source.split(":", 1)[1]
    posts: dict[str, set[str]] = {}
    for p in positions:
        posts.setdefault(p.holder, set()).update({p.post, *p.titles})

    ends = tuple(ctx.lex["minister_endings"]) if word in ctx.lex["minister_anaphor_words"] else (word,)
    deputy = tuple(ctx.lex["deputy_prefix"] + w for w in ends)  # 国務副長官 is not 同長官, 副大統領 not 大統領

    def fits(key: str) -> bool:
        if word in ctx.lex["honorifics"]:
            return True
        return any(t.endswith(ends) and not t.endswith(deputy) for t in posts.get(key, ()))

    by_sentence: dict[int, set[int]] = {}
    for prev in ctx.rec.mentions:
        if prev.type != "Person" or prev.end > m.start:
            continue
        e = ctx.entity(prev)
        if e is not None and e.key and fits(e.key):
            by_sentence.setdefault(ctx.sentence(prev.start).idx, set()).add(e.id)
    if by_sentence:
        found = by_sentence[max(by_sentence)]
        if len(found) == 1:
            ctx.roles[id(m)] = next(iter(found))


def _domain(ctx: DocContext, title: str) -> str | None:
    p = ctx.gaz.post(title)
    return p.domain if p else None


def _rank(ctx: DocContext, title: str) -> str | None:
    p = ctx.gaz.post(title)
    return p.rank if p else None


def _envoys(ctx: DocContext, found: dict[tuple[str, str, str], _Pos]) -> None:
    """文在寅大統領の特使として北韓を訪れた徐薫 -> 徐薫 holds 特使 of the state 文在寅 serves."""
    text = ctx.text
    envoy_re = ctx.lex.regex("envoy_titles", "の({})" + ctx.lex.alternation("envoy_links"))
    for sender in ctx.rec.mentions:
        if sender.type != "Person" or sender.entity is None:
            continue
        m = envoy_re.match(text, sender.ext_end)
        if not m:
            continue
        sent = ctx.sentence(sender.start)
        state = next((ctx.gaz.state_key_of(p.of) for p in found.values()
                      if p.holder == ctx.ents[sender.entity].key and ctx.gaz.state_key_of(p.of)), None)
        if state is None:
            continue
        after = [x for x in ctx.mentions_between(m.end(), sent.end)
                 if x.type == "Person" and ctx.entity(x) is not None]
        before = [x for x in ctx.mentions_between(sent.start, sender.start)
                  if x.type == "Person" and x.particle in ("は", "が") and ctx.entity(x) is not None]
        envoy = after[0] if after else (before[-1] if before else None)
        holder = ctx.entity(envoy) if envoy is not None else None
        if holder is None or not holder.key or holder.id == sender.entity:
            continue
        _add(ctx, found, holder.key, m.group(1), state, sent, "position.envoy", 0.7)
