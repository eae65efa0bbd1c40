"""Meetings: 会談, 首脳会談, 電話会談, 夕食会, 面会 ... and who took part, when, where, with what status.

Each trigger is read by the first of its forms that finds two parties or more:

- ``compound``: a compound of state forms before the trigger (米朝首脳会談, 日米外相電話会談) -> the
  states, or their leaders/ministers when the article names exactly one for each state; also a
  compound with a post as the subject of the meeting verb (日米韓3カ国の外相は…会談した);
- ``noun-with``: Bとの会談 -> B and the clause's topic (or the source of the account, or A right
  before B);
- ``comitative``: AはBと会談, AとBが会談, AとBの会談, partners listed with commas (A、B、Cと);
- ``clause``: the parties the dependency parse attaches to the meeting predicate (subject, と-partners,
  coordinated lists), and the clause's topic when the predicate has none of its own;
- ``same-clause``: the word repeated in one sentence with no parties -> the parties of the first;
- ``pair``: a pair word (両外相, 2人) -> the parties of the previous meeting.

Mentions of one real event in an article (same participants and class, dates within a few days)
become one meeting (:func:`kg.build.extract.merging.merge_events`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.build.extract.article import spokesperson
from kg.build.extract.clause import attached, clause_subjects
from kg.build.extract.common import (
    date_near,
    leaders,
    negated,
    place_near,
    plausible_date,
    status_near,
)
from kg.build.extract.context import DocContext
from kg.build.extract.listing import JOINED_WITH_TO, LIST_GAP, items_of, listed_with
from kg.build.extract.merging import EventCandidate, meeting_statement, merge_events
from kg.build.extract.triggers import Trigger, apply_rules, rule
from kg.build.gazetteer import Post
from kg.build.recognize import Mention
from kg.records import MeetingStatement, PositionStatement


@dataclass
class _Last:
    """The previous meeting trigger of a sentence: where it ended, its word, the parties it found."""

    end: int
    word: str
    parties: frozenset[str] | None = None


@dataclass
class MeetingScope:
    """What the rules remember while reading an article's triggers in order."""

    positions: list[PositionStatement]
    last_parties: frozenset[str] | None = None  # of the previous meeting found (for 両外相, 2人)
    in_sentence: dict[int, _Last] = field(default_factory=dict)


def extract_meetings(ctx: DocContext, positions: list[PositionStatement]) -> list[MeetingStatement]:
    scope = MeetingScope(positions)
    cands: list[EventCandidate] = []
    for t in ctx.triggers("meeting"):
        if negated(ctx, t.end):
            continue  # 会談しなかった, 会談は行われず
        found = apply_rules(ctx, t, scope)
        if (t.in_quote or weak(t)) and not found:
            continue  # quoted speech names no parties (only a compound of states is read there)
        sent = ctx.sentence(t.start)
        last = scope.in_sentence.get(sent.idx)
        scope.in_sentence[sent.idx] = _Last(t.end, t.word, last.parties if last else None)
        if found:
            scope.last_parties = scope.in_sentence[sent.idx].parties = found[-1].parties
        cands.extend(found)
    return [meeting_statement(e, ctx.article.doc_id) for e in merge_events(cands)]


def weak(t: Trigger) -> bool:
    """A word read only as a frame (電話, 意見交換, お会い): an event only where the frame finds its parties,
    else no more than a word of the sentence."""
    return set(t.forms) <= {"frame", "frame-verb"}


def verbal(ctx: DocContext, t: Trigger) -> bool:
    """The trigger is used as a verb (会談し, 会談を行った, 会談に臨んだ), or is what a light verb holds,
    carries out or plans (首脳会談を実現する, 会談の開催を延期): an event, not a topic of talk."""
    if ctx.lex.regex("meeting_verb_after").match(ctx.text, t.end) is not None:
        return True
    ph = ctx.parse.at(t.start) if ctx.parse else None
    if ph is None or not ph.marker.startswith(("を", "が", "は", "の")):
        return False
    light = ctx.lex.regex("light_verbs")
    for up in ctx.parse.chain_up(ph, 2)[1:]:
        if light.match(up.text):
            return True
        if not up.marker.startswith(("を", "の")):
            break
    return False


def meeting(ctx: DocContext, t: Trigger, scope: MeetingScope, parties: set[str], form: str,
            cls: str | None = None) -> list[EventCandidate]:
    """The candidate meeting of ``parties`` read by ``form``: its class, date, place and status."""
    if len(parties) < 2:
        return []
    cls = _event_class(ctx, t, scope, parties, cls or t.cls)
    if cls == "Summit" and all(p.startswith("state:") for p in parties):
        # a summit named by its states: its leaders, when the article names exactly one for each
        heads = [leaders(ctx, scope.positions, p) for p in sorted(parties)]
        if all(len(h) == 1 for h in heads):
            parties = {next(iter(h)) for h in heads}
    sent = ctx.sentence(t.start)
    last = scope.in_sentence.get(sent.idx)
    nxt = next((x.start for x in ctx.triggers("meeting") if t.start < x.start < sent.end and not weak(x)), sent.end)
    window = (last.end if last else sent.start, nxt)
    start, end = date_near(ctx, sent, t.start, t.end, window)
    status = status_near(ctx, sent, t.start, t.end, nxt)
    start, end = plausible_date(ctx, status, start, end)
    rule_name = f"meeting.{form}"
    confidence = 0.8 if form in ("compound-persons", "compound-states", "comitative") else 0.65
    return [EventCandidate("meeting", cls, frozenset(parties), t.label,
                           None, place_near(ctx, sent, t.start, t.end), start, end, status,
                           [ctx.evidence(sent, rule_name, confidence)])]


def _event_class(ctx: DocContext, t: Trigger, scope: MeetingScope, parties: set[str], cls: str) -> str:
    sent = ctx.sentence(t.start)
    if cls == "Meeting" and ctx.lex.regex("phone_prefixes", "{}の?$").search(ctx.text, sent.start, t.start):
        return "PhoneCall"  # 電話で会談, オンラインで会談
    if cls == "Meeting" and all(p.startswith("person:") and p in leaders(
            ctx, scope.positions, _state_of(ctx, scope.positions, p) or "") for p in parties):
        return "Summit"  # a meeting of heads of state or government
    return cls


# ---- forms ----------------------------------------------------------------------------------------

@rule("meeting", "compound")
def meeting_compound(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """米朝首脳会談, 日米外相会談, 日米韓3カ国の外相は…会談した: the states, or their office holders."""
    states, title = compound_states(ctx, t.start)
    if title is None:
        title = next((t.word[: -len(n)] for n in ctx.lex["meeting_title_nouns"]
                      if t.word.endswith(n) and len(t.word) > len(n)), None)  # 外相会談: the post is in the word
    if len(states) < 2 and verbal(ctx, t):
        states, title = _compound_subject(ctx, ctx.sentence(t.start).start, t.start) or (states, title)
    if len(states) < 2:
        return []
    cls = "Summit" if t.cls == "Meeting" and title in ctx.lex["summit_title_words"] else t.cls
    persons = []
    for s in states:
        if cls == "Summit":
            persons.append(leaders(ctx, scope.positions, s))
        else:
            persons.append(leaders(ctx, scope.positions, s, title=title) if title else set())
    if all(len(p) == 1 for p in persons):
        return meeting(ctx, t, scope, {next(iter(p)) for p in persons}, "compound-persons", cls)
    return meeting(ctx, t, scope, set(states), "compound-states", cls)


@rule("meeting", "noun-with")
def meeting_noun_with(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """Bとの会談: B and the clause's topic, else the source (から) or owner before B, else A right before B."""
    if t.in_quote:
        return []
    sent = ctx.sentence(t.start)
    ms = parties_before(ctx, t, scope)
    withs = [m for m in ms if m.particle == "との"]
    if not withs or ctx.text[withs[-1].ext_end: t.start] != "との":
        return []
    p = withs[-1]
    before = [m for m in ctx.mentions_between(sent.start, p.start) if is_party(ctx, m) and ctx.key(m) != ctx.key(p)]
    other = [m for m in before if m.particle in ("は", "が", "としては", "として", "から")][-1:]
    people = [m for m in before if m.type in ("Person", "Role")]
    if not other and people:
        # AとBとの会談 with the と dropped (ポンペイ国務長官北朝鮮のキム…との会談): A right before B
        gap = ctx.text[people[-1].ext_end: p.start]
        if len(gap) <= 8 and not re.search(r"[はがをにで。「」]", gap):
            other = people[-1:]
    other = [x for o in other for x in listed_with(ctx, before, o)]
    return meeting(ctx, t, scope, _keys(ctx, t, scope, [p, *other]), "noun-with")


@rule("meeting", "coordination")
def meeting_coordination(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """AとBの会談, 日本と中国、韓国の3か国の外相会議: parties listed right before the event word."""
    if t.in_quote:
        return []
    ms = parties_before(ctx, t, scope)
    lex = ctx.lex
    tail = re.compile(f"の(?:{lex.alternation('state_count')}の)?(?:{lex.alternation('summit_title_words')})?")
    joiner = lex.regex("list_joiners")
    chain: list[Mention] = []
    for m in reversed(ms):
        gap = ctx.text[m.ext_end: chain[0].start if chain else t.start]
        if (not chain and tail.fullmatch(gap)) or (chain and joiner.fullmatch(gap)):
            chain.insert(0, m)
            continue
        break
    return meeting(ctx, t, scope, _keys(ctx, t, scope, chain), "coordination") if len(chain) >= 2 else []


@rule("meeting", "comitative")
def meeting_comitative(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """AはBと会談 / AとBが会談 / AとBの会談, with partners listed before the one marked と."""
    if t.in_quote:
        return []
    ms = parties_before(ctx, t, scope)
    partners = [m for m in ms if m.particle in ("と", "とも", "との") and attached(ctx, m, t.start)]
    if not partners:
        return []
    subjects = [m for m in ms if m.particle in ("は", "が") and not spokesperson(ctx, m)]
    genitive = [m for m in ms if m.particle == "の" and ctx.text[m.ext_end: t.start] == "の"]
    listed = listed_before(ctx, ms, partners)
    chosen = listed + subjects + genitive
    form = "comitative"
    keys = [k for k in dict.fromkeys(ctx.key(m) for m in listed) if k]
    subj = [k for k in dict.fromkeys(ctx.key(m) for m in subjects) if k and k not in keys]
    if len(subj) == 1 and len(keys) >= 2 and not genitive and not any(m.type == "Pair" for m in chosen):
        return split_or_one(ctx, t, scope, subj, keys, form, joined_with_to(ctx, listed))
    if not subjects and not genitive:
        others = [m for m in ms if m not in chosen and m.type != "State" and not spokesperson(ctx, m)]
        topic = others[-1:] or _earlier_topic(ctx, t, scope, partners)
        if not topic:
            return []  # partners alone are one side of the table: the frame looks further for the other
        chosen += topic
        form = "comitative" if others else "comitative-topic"
    return meeting(ctx, t, scope, _keys(ctx, t, scope, chosen), form)


@rule("meeting", "same-clause")
def meeting_same_clause(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """A second event word in one sentence with no parties of its own (AはBと電話会談し、…早期に首脳会談を
    行うことで一致した): the parties of the first."""
    last = scope.in_sentence.get(ctx.sentence(t.start).idx)
    if t.in_quote or not last or not last.parties or not verbal(ctx, t):
        return []
    if parties_before(ctx, t, scope):
        return []
    ph = ctx.parse.at(t.start) if ctx.parse else None
    subjects = [m for m in clause_subjects(ctx, ph) if m.end <= t.start] if ph else []
    if subjects and not any(ctx.key(m) in last.parties for m in subjects):
        return []  # the clause has a subject of its own (両外相は…首脳会談について協議した)
    return meeting(ctx, t, scope, set(last.parties), "same-clause")


@rule("meeting", "pair")
def meeting_pair(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """両外相は会談し / 2人は会談した / 両首脳は…首脳会談を実現することで一致: the parties of the previous
    meeting, else the last two people named who hold the pair's post (両外相: two foreign ministers)."""
    if not verbal(ctx, t):
        return []
    pairs = [m for m in parties_before(ctx, t, scope) if m.type == "Pair"] or _pair_subject(ctx, t)
    if not pairs or (t.in_quote and not pairs[-1].in_quote):
        return []
    want = _pair_post(ctx, pairs[-1])
    last = scope.last_parties
    if last and not t.in_quote and (want is None or all(_holds_like(ctx, scope, k, want) for k in last)):
        return meeting(ctx, t, scope, set(last), "pair")
    return meeting(ctx, t, scope, _pair_members(ctx, scope, pairs[-1], want), "pair")


def _pair_post(ctx: DocContext, pair: Mention) -> Post | None:
    """The post a pair word names (両外相 -> 外相), None for 両者, 2人."""
    prefix = ctx.lex["pair_prefix"]
    return ctx.gaz.post(pair.text[len(prefix):]) if pair.text.startswith(prefix) else None


def _pair_subject(ctx: DocContext, t: Trigger) -> list[Mention]:
    """A pair word that is the topic of the clause the trigger belongs to (両首脳は…首脳会談を実現)."""
    ph = ctx.parse.at(t.start) if ctx.parse else None
    if ph is None:
        return []
    return [m for m in clause_subjects(ctx, ph) if m.type == "Pair" and m.end <= t.start]


def _pair_members(ctx: DocContext, scope: MeetingScope, pair: Mention, want: Post | None) -> set[str]:
    """The two people last named before ``pair`` who hold the post it names (両外相 -> 外相; 両首脳 -> leaders)."""
    seen: list[str] = []
    for m in reversed(ctx.mentions_between(0, pair.start, quotes=True)):
        k = ctx.key(m)
        if k is None or k in seen or not ctx.is_person(m) or (pair.in_quote and not m.in_quote):
            continue
        if want is not None and not _holds_like(ctx, scope, k, want):
            continue
        seen.append(k)
        if len(seen) == 2:
            return set(seen)
    return set()


def _holds_like(ctx: DocContext, scope: MeetingScope, key: str, want: Post) -> bool:
    for p in scope.positions:
        post = ctx.gaz.post(p.post)
        if p.holder == key and post is not None and (post.canonical == want.canonical or (
                want.leader and (post.leader or post.rank in ctx.lex["leader_ranks"]))
                or (want.domain and post.domain == want.domain and post.rank == want.rank)):
            return True
    return False


@rule("meeting", "hosted")
def meeting_hosted(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[EventCandidate]:
    """X主催の昼食会に出席した: the host and whoever attends (the clause's topic)."""
    if t.in_quote or ctx.parse is None:
        return []
    host_re = ctx.lex.regex("host_markers", "(?:[(（][^()（）]*[)）])?の?{}")
    hosts = [m for m in parties_before(ctx, t, scope) if host_re.fullmatch(ctx.text, m.ext_end, t.start)]
    ph = ctx.parse.at(t.start)
    guests = [m for m in clause_subjects(ctx, ph) if is_party(ctx, m)] if hosts and ph else []
    return meeting(ctx, t, scope, _keys(ctx, t, scope, hosts[-1:] + guests[:1]), "hosted") if guests else []


# ---- what the forms share ---------------------------------------------------------------------------

def multilateral(ctx: DocContext, t: Trigger) -> bool:
    """The word, or a party count right before it, names a meeting of more than two parties."""
    if any(w in t.word for w in ctx.lex["multilateral_words"]):
        return True
    before = ctx.text[max(0, t.start - 12): t.start]
    return re.search(ctx.lex["party_count"], before) is not None


def split_or_one(ctx: DocContext, t: Trigger, scope: MeetingScope, subject: list[str], partners: list[str],
                 form: str, together: bool = False) -> list[EventCandidate]:
    """One meeting per partner of a single subject (bilateral talks in turn), else one of all parties
    (``together``: the partners were listed with と, AとBと会談, as one side of one table)."""
    if len(subject) == 1 and len(partners) >= 2 and not multilateral(ctx, t) and not together:
        out: list[EventCandidate] = []
        for k in partners:
            out.extend(meeting(ctx, t, scope, {subject[0], k}, form))
        return out
    return meeting(ctx, t, scope, {*subject, *partners}, form)



def joined_with_to(ctx: DocContext, items: list[Mention]) -> bool:
    """Whether listed parties are joined by と (AとBと会談: together) rather than 、 or や (in turn)."""
    items = sorted(items, key=lambda m: m.start)
    return any(JOINED_WITH_TO.fullmatch(ctx.text, a.ext_end, b.start) is not None for a, b in zip(items, items[1:]))


def parties_before(ctx: DocContext, t: Trigger, scope: MeetingScope) -> list[Mention]:
    """Mentions that can take part in the meeting, between the previous trigger of the sentence and ``t``."""
    sent = ctx.sentence(t.start)
    last = scope.in_sentence.get(sent.idx)
    lo = max(sent.start, last.end if last else sent.start)
    return [m for m in ctx.mentions_between(lo, t.start) if is_party(ctx, m)]


def _keys(ctx: DocContext, t: Trigger, scope: MeetingScope, chosen: list[Mention]) -> set[str]:
    out: set[str] = set()
    for m in chosen:
        k = ctx.key(m)
        if k:
            out.add(k)
        elif m.type == "Pair" and scope.last_parties and verbal(ctx, t):
            out |= set(scope.last_parties)
    return out


def _earlier_topic(ctx: DocContext, t: Trigger, scope: MeetingScope, partners: list[Mention]) -> list[Mention]:
    """AはBと会談し、その後Cとも会談した / Aは…の合間に、Bと立ち話をした: the sentence's topic, written
    before an earlier event word of the same sentence."""
    sent = ctx.sentence(t.start)
    last = scope.in_sentence.get(sent.idx)
    lo = last.end if last else sent.start
    topic = [m for m in ctx.mentions_between(sent.start, lo) if is_party(ctx, m)
             and m.particle == "は" and m.type != "State"]
    if topic and ctx.key(topic[0]) not in {ctx.key(m) for m in partners}:
        return topic[:1]
    if not any(m.particle in ("は", "が") for m in ctx.mentions_between(sent.start, t.start)) and sent.idx > 0:
        # …国務長官は来週、韓国を訪れる。訪韓中に尹大統領と会談する: a sentence with no subject of its own
        # continues the topic of the sentence right before it
        prev = ctx.rec.sentences[sent.idx - 1]
        around = [m for m in ctx.mentions_between(prev.start, prev.end) if is_party(ctx, m)]
        topic = [m for m in around if m.particle == "は" and ctx.is_person(m)]
        # a topic of several (A及びBは) is no one party to carry on: the frame asks the article instead
        if topic and ctx.key(topic[0]) not in {ctx.key(m) for m in partners} and len(
                listed_with(ctx, around, topic[0])) == 1 and not spokesperson(ctx, topic[0]):
            return topic[:1]  # a spokesperson's topic is what others do: not carried on as a party
    return []


def compound_states(ctx: DocContext, a: int) -> tuple[list[str], str | None]:
    """State keys written as a compound right before position a (米朝, 日中韓3カ国), and a title between."""
    text = ctx.text
    pos = a
    title = next((x for x in [*ctx.gaz.titles_longest_first, *ctx.lex["summit_title_words"]]
                  if text.endswith(x, 0, pos)), None)
    if title:
        pos -= len(title)
    m = ctx.lex.regex("state_count", "{}$").search(text[max(0, pos - 6): pos])
    if m:
        pos -= len(m.group(0))
    states: list[str] = []
    comp = {x.start: x for x in ctx.rec.mentions if x.type == "State" and x.via_compound}
    while pos - 1 in comp:
        k = comp[pos - 1].key
        if k:
            states.insert(0, k)
        pos -= 1
    return list(dict.fromkeys(states)), title


def _compound_subject(ctx: DocContext, lo: int, a: int) -> tuple[list[str], str | None] | None:
    """日米韓(3カ国)の外相は…会談した: the states of a compound that, with a post, is the subject of the
    meeting verb at a, when nobody is named as the partner (と) in between."""
    titles = [*ctx.gaz.titles_longest_first, *ctx.lex["summit_title_words"], *ctx.lex["state_group_nouns"]]
    plural = ctx.lex.alternation("plural_suffixes")
    subject_re = re.compile("(の)?(" + "|".join(re.escape(x) for x in titles) + f"){plural}?(?:は|が)")
    subj = None
    for m in subject_re.finditer(ctx.text[lo:a]):
        subj = m
    if subj is None:
        return None
    if any(m.particle in ("と", "との", "とも") for m in ctx.mentions_between(lo + subj.end(), a)):
        return None
    states, _ = compound_states(ctx, lo + subj.start())
    return (states, subj.group(2)) if len(states) >= 2 else None


def listed_before(ctx: DocContext, ms: list[Mention], partners: list[Mention]) -> list[Mention]:
    """The partners and the parties listed before each with a comma or や (A、B、Cと, AやBなどと: A and B
    too); a state or organization owning the next name (ロシアのプーチン大統領) is part of that name."""
    out = list(partners)
    joiner = ctx.lex.regex("list_joiners", LIST_GAP)
    for p in partners:
        if p.particle not in ("と", "とも"):
            continue
        nxt = p
        items = items_of(ms)
        for m in reversed(items[: items.index(p)] if p in items else []):
            if m.particle == "の" and m.ext_end + 1 == nxt.start and m.type in ("State", "Organization"):
                nxt = m  # the owner of the next item
                continue
            if m.type == "State" and not m.particle:
                continue  # a state written into a title inside the list (…・フィジー外相、)
            if (m.particle in ("、", "や", ",", "") and m.type != "State" and m not in out
                    and joiner.fullmatch(ctx.text, m.ext_end, nxt.start)):
                out.insert(0, m)
                nxt = m
                continue
            break
    return out


def is_party(ctx: DocContext, m: Mention) -> bool:
    """Persons, roles and pair words can take part in a meeting; states only when no one is named."""
    if m.type in ("Role", "Pair"):
        return m.type == "Pair" or ctx.entity(m) is not None
    if m.type == "Person":
        return ctx.entity(m) is not None
    return m.type == "State" and not m.via_compound


def _state_of(ctx: DocContext, positions: list[PositionStatement], holder: str) -> str | None:
    for p in positions:
        if p.holder == holder:
            st = ctx.gaz.state_key_of(p.of)
            if st:
                return st
    return None
