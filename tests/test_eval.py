"""kg eval: the gold format's checks, each matching rule on tiny hand-written graphs, and whole runs
on the seed article and the example of docs/EVAL.md."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rdflib import Graph

from kg.cli import main
from kg.errors import EvalError
from kg.eval import DocScore, date_within, normalize, parse_gold, score_graph, title_matches

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_a87ea9164a9e83dc.txt"
SEED_GOLD = ROOT / "tests" / "data" / "eval" / "000_a87ea9164a9e83dc.gold.json"
EXAMPLE = ROOT / "docs" / "examples" / "eval"
GOLD_PATH = Path("t.gold.json")


def kg(*args: str) -> Result:
    res = CliRunner().invoke(main, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


# ---- tiny gold files and graphs ------------------------------------------------------------------

ENTITIES: dict[str, Any] = {
    "pompeo": {"type": "Official", "names": ["ポンペオ", "マイク・ポンペオ"]},
    "kim": {"type": "Official", "names": ["キム・ヨンチョル", "金英哲"]},
    "aide": {"type": "Official", "names": ["アンドリュー・キム"]},
    "trump": {"type": "Official", "names": ["トランプ"]},
    "us": {"type": "State", "names": ["アメリカ", "米国"]},
    "kp": {"type": "State", "names": ["北朝鮮"]},
    "wpk": {"type": "Organization", "names": ["朝鮮労働党"]},
    "ny": {"type": "Place", "names": ["ニューヨーク"]},
    "jp": {"type": "State", "names": ["日本"], "optional": True},
}

TALKS = {"participants": ["pompeo", "kim"], "start": "2018-05-30", "end": "2018-05-31", "place": "ny",
         "status": "held"}


def gold(**parts: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"published": "2018-06-01", "entities": copy.deepcopy(ENTITIES)}
    data.update(copy.deepcopy(parts))
    return data


PREFIXES = """
@prefix dip: <https://w3id.org/dipkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix : <https://example.org/t/> .
"""

#: every gold entity that is not optional, as a build would state it
FOUND = """
:pompeo a dip:Official ; rdfs:label "ポンペオ"@ja ; skos:altLabel "ポンペイオ"@ja .
:kim a dip:Official ; rdfs:label "キム・ヨンチョル"@ja .
:aide a dip:Official ; rdfs:label "アンドリュー・キム"@ja .
:trump a dip:Official ; rdfs:label "トランプ"@ja .
:us a dip:State ; rdfs:label "アメリカ"@ja .
:kp a dip:State ; rdfs:label "北朝鮮"@ja .
:wpk a dip:Organization ; rdfs:label "朝鮮労働党"@ja .
:ny a dip:Place ; rdfs:label "ニューヨーク"@ja .
"""


def meeting(node: str, *parties: str, start: str | None = None, place: str | None = None,
            status: str = "Held") -> str:
    lines = [f":{node} a dip:Meeting ; dip:status dip:{status}"]
    lines += [f" ; dip:participant :{p}" for p in parties]
    if start:
        dtype = {10: "date", 7: "gYearMonth", 4: "gYear"}[len(start)]
        lines.append(f' ; dip:startDate "{start}"^^xsd:{dtype}')
    if place:
        lines.append(f" ; dip:location :{place}")
    return "".join(lines) + " .\n"


def score(body: str, data: dict[str, Any]) -> DocScore:
    g = Graph().parse(data=PREFIXES + body, format="turtle")
    return score_graph(g, parse_gold(data, GOLD_PATH))


def counts(s: DocScore, category: str) -> tuple[int, int, int, int]:
    c = s.counts[category]
    return c.tp, c.fp, c.fn, c.dup


# ---- names and dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    ("マイク・ポンペオ", "マイク ポンペオ"),
    ("マイク・ポンペオ", "マイクポンペオ"),
    ("ＣＩＡ", "cia"),
    ("「とてもよかった」", "とてもよかった"),
    ("キム＝ジョンウン", "キムジョンウン"),
])
def test_names_compare_without_separators_width_or_case(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_different_names_stay_different() -> None:
    assert normalize("キム・ヨンチョル") != normalize("キム・ジョンウン")


@pytest.mark.parametrize(("predicted", "start", "end", "right"), [
    ("2018-05-30", "2018-05-30", None, True),
    ("2018-05-31", "2018-05-30", "2018-05-31", True),   # within the span
    ("2018-06-01", "2018-05-30", "2018-05-31", False),  # after it
    ("2018-05-29", "2018-05-30", "2018-05-31", False),  # before it
    ("2018-05-12", "2018-05", None, True),              # more precise than the gold
    ("2018-05", "2018-05-30", None, False),             # less precise than the gold
    ("2018-06", "2018-05-30", "2018-06-15", False),     # less precise, though its month overlaps the span
    ("2018", "2018", None, True),
    (None, "2018-05-30", None, False),
])
def test_a_date_is_right_within_the_span_and_at_least_as_precise(predicted: str | None, start: str,
                                                                   end: str | None, right: bool) -> None:
    assert date_within(predicted, start, end) is right


def test_a_title_matches_when_it_contains_an_accepted_spelling() -> None:
    assert title_matches(normalize("朝鮮労働党副委員長"), ["副委員長"])
    assert not title_matches(normalize("委員長"), ["副委員長"])


# ---- entities ------------------------------------------------------------------------------------


def test_every_entity_found_by_any_of_its_names() -> None:
    s = score(FOUND, gold())
    assert counts(s, "entities") == (8, 0, 0, 0)
    assert s.attributes["entity.type"].right == s.attributes["entity.type"].total == 8


def test_a_missing_entity_is_a_false_negative_and_an_unknown_one_a_false_positive() -> None:
    body = FOUND.replace(':trump a dip:Official ; rdfs:label "トランプ"@ja .\n', "")
    body += ':eu a dip:Organization ; rdfs:label "欧州連合"@ja .\n'
    s = score(body, gold())
    assert counts(s, "entities") == (7, 1, 1, 0)
    assert [(m.what, m.detail) for m in s.misses] == [("entity FP", "欧州連合"), ("entity FN", "trump トランプ")]


def test_one_entity_told_as_two_is_a_duplicate() -> None:
    s = score(FOUND + ':pompeo2 a dip:Official ; rdfs:label "マイク ポンペオ"@ja .\n', gold())
    assert counts(s, "entities") == (8, 1, 0, 1)
    assert ("entity SPLIT", "pompeo マイク ポンペオ") in [(m.what, m.detail) for m in s.misses]


def test_two_entities_told_as_one_is_a_false_positive_and_both_are_missed() -> None:
    body = FOUND.replace(':kim a dip:Official ; rdfs:label "キム・ヨンチョル"@ja .\n', "")
    body = body.replace(':aide a dip:Official ; rdfs:label "アンドリュー・キム"@ja .\n',
                        ':aide a dip:Official ; rdfs:label "アンドリュー・キム"@ja ; skos:altLabel "金英哲"@ja .\n')
    s = score(body, gold())
    assert counts(s, "entities") == (6, 1, 2, 0)


def test_an_optional_entity_is_neutral_but_statements_about_it_still_match() -> None:
    body = FOUND + ':jp a dip:State ; rdfs:label "日本"@ja .\n:kishida a dip:Official ; rdfs:label "岸田"@ja .\n'
    body += ':kishida dip:holds [ dip:title "首相"@ja ; dip:postIn :jp ] .\n'
    data = gold(positions=[{"holder": "kishida", "titles": ["首相"], "of": "jp"}])
    data["entities"]["kishida"] = {"type": "Official", "names": ["岸田"]}
    s = score(body, data)
    assert counts(s, "entities") == (9, 0, 0, 0)
    assert counts(s, "positions") == (1, 0, 0, 0)
    without = score(FOUND, gold())
    assert counts(without, "entities") == (8, 0, 0, 0)  # not finding it costs nothing either


def test_one_entity_told_for_two_optional_ones_is_neutral() -> None:
    data = gold()
    data["entities"]["jp_gov"] = {"type": "Organization", "names": ["日本政府"], "optional": True}
    body = FOUND + ':jp a dip:State ; rdfs:label "日本"@ja ; skos:altLabel "日本政府"@ja .\n'
    assert counts(score(body, data), "entities") == (8, 0, 0, 0)
    body += ':x a dip:State ; rdfs:label "北朝鮮政府"@ja ; skos:altLabel "北朝鮮"@ja, "日本政府"@ja .\n'
    assert counts(score(body, data), "entities") == (8, 1, 0, 0)   # a required one among them: a merge


def test_entity_type_accuracy() -> None:
    body = FOUND.replace(":trump a dip:Official", ":trump a dip:Person")   # a person: accepted for an official
    body = body.replace(":ny a dip:Place", ":ny a dip:State")               # a place typed as a state: wrong
    s = score(body, gold())
    assert counts(s, "entities") == (8, 0, 0, 0)
    assert (s.attributes["entity.type"].right, s.attributes["entity.type"].total) == (7, 8)
    assert ("entity type", "ny predicted [State], gold Place") in [(m.what, m.detail) for m in s.misses]


# ---- positions -----------------------------------------------------------------------------------

KIM_POST = {"holder": "kim", "titles": ["副委員長"], "of": ["wpk", "kp"]}


def post(holder: str, title: str, of: str) -> str:
    return f':{holder} dip:holds [ dip:title "{title}"@ja ; dip:postIn :{of} ] .\n'


@pytest.mark.parametrize(("posts", "expected"), [
    ([("kim", "副委員長", "wpk")], (1, 0, 0, 0)),
    ([("kim", "朝鮮労働党副委員長", "kp")], (1, 0, 0, 0)),             # a longer title; the other reading of "of"
    ([("kim", "副委員長", "us")], (0, 1, 1, 0)),                      # the wrong state
    ([("kim", "委員長", "wpk")], (0, 0, 1, 1)),                       # a wrong title for the right holder and party
    ([("aide", "副委員長", "wpk")], (0, 1, 1, 0)),                    # the wrong holder
    ([("kim", "副委員長", "wpk"), ("kim", "副委員長", "kp")], (1, 0, 0, 1)),  # said twice
    ([], (0, 0, 1, 0)),
])
def test_positions(posts: list[tuple[str, str, str]], expected: tuple[int, int, int, int]) -> None:
    s = score(FOUND + "".join(post(*p) for p in posts), gold(positions=[KIM_POST]))
    assert counts(s, "positions") == expected


# ---- meetings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    (meeting("m", "pompeo", "kim"), (1, 0, 0, 0)),
    (meeting("m", "pompeo", "kim", "aide"), (0, 1, 1, 0)),            # a person the gold does not have
    (meeting("m", "pompeo", "trump"), (0, 1, 1, 0)),                  # the wrong partner
    (meeting("m", "pompeo"), (0, 1, 1, 0)),                           # a participant missing
    (meeting("m", "us", "kp"), (0, 1, 1, 0)),                         # states, but the gold names no states
    (meeting("m", "pompeo", "kim") + meeting("n", "kim", "pompeo"), (1, 0, 0, 1)),  # told twice
    ("[] a dip:Summit ; dip:participant :pompeo, :kim .\n", (1, 0, 0, 0)),  # a blank node; a subclass
    ("", (0, 0, 1, 0)),
])
def test_meetings_match_by_their_named_participants(body: str, expected: tuple[int, int, int, int]) -> None:
    s = score(FOUND + body, gold(meetings=[TALKS]))
    assert counts(s, "meetings") == expected


def test_an_optional_participant_may_be_there_or_not() -> None:
    talks = dict(TALKS, optional_participants=["aide"])
    for parties in (("pompeo", "kim"), ("pompeo", "kim", "aide")):
        assert counts(score(FOUND + meeting("m", *parties), gold(meetings=[talks])), "meetings") == (1, 0, 0, 0)


def test_a_state_level_report_matches_a_meeting_with_states() -> None:
    summit = {"participants": ["trump", "kim"], "states": ["us", "kp"], "status": "planned"}
    assert counts(score(FOUND + meeting("m", "us", "kp"), gold(meetings=[summit])), "meetings") == (1, 0, 0, 0)
    assert counts(score(FOUND + meeting("m", "us", "wpk"), gold(meetings=[summit])), "meetings") == (0, 1, 1, 0)


def test_an_organization_among_the_states_must_be_among_the_predicted_parties() -> None:
    # a meeting with an organization's official: the state-level report names the state and the organization
    talks = {"participants": ["pompeo", "kim"], "states": ["us", "wpk"], "status": "held"}
    assert counts(score(FOUND + meeting("m", "us", "wpk"), gold(meetings=[talks])), "meetings") == (1, 0, 0, 0)
    assert counts(score(FOUND + meeting("m", "us"), gold(meetings=[talks])), "meetings") == (0, 1, 1, 0)
    assert counts(score(FOUND + meeting("m", "us", "kp"), gold(meetings=[talks])), "meetings") == (0, 1, 1, 0)


def test_by_rule_counts_each_prediction_for_the_rules_of_its_evidence() -> None:
    evidence = """
:a1 a <http://www.w3.org/ns/oa#Annotation> ; <http://www.w3.org/ns/oa#hasBody> :m1 ; dip:rule "meeting.frame" .
:a2 a <http://www.w3.org/ns/oa#Annotation> ; <http://www.w3.org/ns/oa#hasBody> :m2 ; dip:rule "meeting.pair" .
:a3 a <http://www.w3.org/ns/oa#Annotation> ; <http://www.w3.org/ns/oa#hasBody> :m3 ; dip:rule "meeting.pair" .
"""
    body = FOUND + evidence + meeting("m1", "pompeo", "kim") + meeting("m2", "pompeo", "trump") + meeting(
        "m3", "kim", "pompeo")
    s = score(body, gold(meetings=[TALKS]))
    got = {r: (n.tp, n.fp, n.dup) for r, n in s.by_rule.items()}
    assert got == {"meeting.frame": (1, 0, 0), "meeting.pair": (0, 1, 1)}


def test_an_optional_meeting_is_neither_rewarded_nor_missed() -> None:
    briefing = {"participants": ["pompeo", "trump"], "optional": True}
    assert counts(score(FOUND + meeting("m", "pompeo", "trump"), gold(meetings=[briefing])), "meetings") == (0, 0, 0, 0)
    assert counts(score(FOUND, gold(meetings=[briefing])), "meetings") == (0, 0, 0, 0)


@pytest.mark.parametrize(("kwargs", "right"), [
    ({"start": "2018-05-30", "place": "ny", "status": "Held"}, (1, 1, 1)),
    ({"start": "2018-05-31", "place": "ny", "status": "Held"}, (1, 1, 1)),   # the second day of the talks
    ({"start": "2018-06-01", "place": "ny", "status": "Held"}, (0, 1, 1)),   # a wrong date
    ({"start": "2018-05", "place": "ny", "status": "Held"}, (0, 1, 1)),      # less precise than the gold
    ({"start": "2018-05-30", "place": "us", "status": "Held"}, (1, 0, 1)),   # a wrong place
    ({"start": "2018-05-30", "status": "Planned"}, (1, 0, 0)),                # no place; a wrong status
])
def test_the_date_place_and_status_of_a_matched_meeting(kwargs: dict[str, str], right: tuple[int, int, int]) -> None:
    s = score(FOUND + meeting("m", "pompeo", "kim", **kwargs), gold(meetings=[TALKS]))
    assert counts(s, "meetings") == (1, 0, 0, 0)   # attributes never change the match itself
    got = tuple(s.attributes[a].right for a in ("meeting.date", "meeting.place", "meeting.status"))
    assert got == right
    assert all(s.attributes[a].total == 1 for a in ("meeting.date", "meeting.place", "meeting.status"))


def test_of_two_meetings_of_the_same_pair_each_report_takes_the_one_it_agrees_with() -> None:
    again = {"participants": ["pompeo", "kim"], "start": "2018-06", "status": "planned"}
    body = FOUND + meeting("a", "pompeo", "kim", start="2018-06-12", status="Planned")
    body += meeting("b", "pompeo", "kim", start="2018-05-30", place="ny")
    s = score(body, gold(meetings=[TALKS, again]))
    assert counts(s, "meetings") == (2, 0, 0, 0)
    assert all(t.right == t.total for t in s.attributes.values())


# ---- visits --------------------------------------------------------------------------------------

TRIP = {"visitor": "kim", "destination": "us", "place": "ny", "status": "held"}


def visit(node: str, visitor: str, *destinations: str) -> str:
    return f":{node} a dip:Visit ; dip:visitor :{visitor}" + "".join(
        f" ; dip:destination :{d}" for d in destinations) + " .\n"


@pytest.mark.parametrize(("body", "expected"), [
    (visit("v", "kim", "us"), (1, 0, 0, 0)),
    (visit("v", "kim", "ny"), (1, 0, 0, 0)),                          # the gold's place also matches
    (visit("v", "kim", "kp"), (0, 1, 1, 0)),                          # the wrong destination
    (visit("v", "pompeo", "us"), (0, 1, 1, 0)),                       # the wrong visitor
    (visit("v", "kim", "us") + visit("w", "kim", "ny"), (1, 0, 0, 1)),
])
def test_visits(body: str, expected: tuple[int, int, int, int]) -> None:
    assert counts(score(FOUND + body, gold(visits=[TRIP])), "visits") == expected


def test_a_visit_to_an_entity_the_gold_does_not_know_matches_nothing() -> None:
    body = FOUND + ':hawaii a dip:Place ; rdfs:label "ハワイ"@ja .\n' + visit("v", "kim", "hawaii")
    trip = {"visitor": "kim", "destination": "us"}
    assert counts(score(body, gold(visits=[trip])), "visits") == (0, 1, 1, 0)


def test_an_optional_visit_is_neutral() -> None:
    trip = dict(TRIP, optional=True)
    assert counts(score(FOUND + visit("v", "kim", "us"), gold(visits=[trip])), "visits") == (0, 0, 0, 0)
    assert counts(score(FOUND, gold(visits=[trip])), "visits") == (0, 0, 0, 0)


# ---- quotes --------------------------------------------------------------------------------------

QUOTE = {"speaker": "pompeo", "text": "協議は順調に進んでいる"}


def quote(node: str, speaker: str, text: str) -> str:
    return f':{node} a dip:Quote ; dip:speaker :{speaker} ; dip:text "{text}"@ja .\n'


@pytest.mark.parametrize(("body", "expected"), [
    (quote("q", "pompeo", "協議は順調に進んでいる"), (1, 0, 0, 0)),
    (quote("q", "pompeo", "協議は順調に進んでいる。次は首脳会談だ"), (1, 0, 0, 0)),  # contains the gold's words
    (quote("q", "pompeo", "協議は順調に進んで"), (1, 0, 0, 0)),                        # 9 of 11 characters
    (quote("q", "pompeo", "協議は順調"), (0, 1, 1, 0)),                                # 5 of 11: too short
    (quote("q", "kim", "協議は順調に進んでいる"), (0, 1, 1, 0)),                       # the wrong speaker
    (quote("q", "pompeo", "協議は順調に進んでいる") + quote("r", "pompeo", "「協議は順調に進んでいる」"),
     (1, 0, 0, 1)),
])
def test_quotes(body: str, expected: tuple[int, int, int, int]) -> None:
    assert counts(score(FOUND + body, gold(quotes=[QUOTE])), "quotes") == expected


# ---- the gold format's checks --------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("entities"), "entities: missing"),
    (lambda d: d.update(meeting=[]), "unknown key 'meeting'"),
    (lambda d: d.update(published="31 May 2018"), "published: not an ISO date (YYYY-MM-DD): '31 May 2018'"),
    (lambda d: d["entities"]["kim"].update(type="Politician"), "entities.kim.type: must be one of Official, Person"),
    (lambda d: d["entities"]["kim"].update(names=[]), "entities.kim.names: must be a non-empty list of strings"),
    (lambda d: d["entities"]["aide"].update(names=["金英哲"]),
     "entities.aide.names: '金英哲' is also a name of 'kim'"),
    (lambda d: d["entities"]["kim"].update(optional="yes"), "entities.kim.optional: must be true or false"),
    (lambda d: d["meetings"][0].update(participants=["pompeo", "kim_yong_chol"]),
     "meetings[0].participants: 'kim_yong_chol' is not an id in 'entities'"),
    (lambda d: d["meetings"][0].update(status="done"), "meetings[0].status: must be one of held, planned"),
    (lambda d: d["meetings"][0].update(start="2018/05/30"), "meetings[0].start: not an ISO date"),
    (lambda d: d["meetings"][0].update(end="2018-05-29"), "meetings[0].end: ends (2018-05-29) before it starts"),
    (lambda d: d["meetings"][0].update(states=["us", "pompeo"]), "meetings[0].states: 'pompeo' is not a State or an Organization (its type is Official)"),
    (lambda d: d["meetings"][0].update(participant=["pompeo"]), "meetings[0]: unknown key 'participant'"),
    (lambda d: d["positions"][0].pop("of"), "positions[0].of: must be a string or a non-empty list"),
    (lambda d: d["positions"][0].update(holder=["kim"]), "positions[0].holder: must be one entity id"),
    (lambda d: d["visits"][0].update(optional=1), "visits[0].optional: must be true or false"),
    (lambda d: d["quotes"][0].update(text="「」"), "quotes[0].text: has nothing left to compare"),
    (lambda d: d.update(quotes={"speaker": "kim"}), "quotes: must be a list"),
    (lambda d: d.update(doc="other.txt"), "doc: names 'other.txt', but the article beside this file is 't.txt'"),
])
def test_a_malformed_gold_file_is_refused_naming_the_file_and_the_key(change: Any, message: str) -> None:
    data = gold(positions=[KIM_POST], meetings=[TALKS], visits=[TRIP], quotes=[QUOTE])
    parse_gold(copy.deepcopy(data), GOLD_PATH)   # the file before the change is fine
    change(data)
    with pytest.raises(EvalError) as err:
        parse_gold(data, GOLD_PATH)
    assert str(err.value).startswith(f"{GOLD_PATH}: ")
    assert message in str(err.value)


def test_a_note_is_allowed_anywhere() -> None:
    data = gold(note="a", meetings=[dict(TALKS, note="b")])
    data["entities"]["kim"]["note"] = "c"
    assert len(parse_gold(data, GOLD_PATH).meetings) == 1


def write_gold(folder: Path, name: str, data: dict[str, Any] | str, text: str | None = "記事。\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.gold.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    if text is not None:
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return path


def test_cli_refuses_a_malformed_gold_file_before_building_anything(tmp_path: Path) -> None:
    write_gold(tmp_path, "a", gold(meetings=[dict(TALKS, status="done")]))
    res = kg("eval", str(tmp_path))
    assert res.exit_code == 2
    assert res.stderr == (f"Error: {tmp_path / 'a.gold.json'}: meetings[0].status: must be one of held, "
                          "planned, possible, cancelled, got 'done'\n")
    assert res.stdout == ""


def test_cli_refuses_invalid_json_and_a_gold_file_without_its_article(tmp_path: Path) -> None:
    bad = write_gold(tmp_path / "json", "a", '{"entities": ')
    res = kg("eval", str(bad.parent))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"Error: {bad}: not valid UTF-8 JSON: ")
    alone = write_gold(tmp_path / "alone", "b", gold(), text=None)
    res = kg("eval", str(alone.parent))
    assert res.exit_code == 2
    assert res.stderr == f"Error: {alone}: the article it annotates, b.txt, is not beside it\n"


def test_cli_refuses_a_folder_without_gold_files(tmp_path: Path) -> None:
    res = kg("eval", str(tmp_path))
    assert res.exit_code == 2
    assert res.stderr == f"Error: {tmp_path}: no NAME.gold.json files in this folder (see docs/EVAL.md)\n"


# ---- whole runs ----------------------------------------------------------------------------------


def test_an_article_that_cannot_be_built_scores_nothing_found(tmp_path: Path) -> None:
    """The real build refuses an article with no text; the evaluation reports it and goes on,
    counting everything its gold holds as missed (optional items excepted). Two workers (-j 2)."""
    only_url = "https://example.org/a\n"
    write_gold(tmp_path, "a", gold(meetings=[TALKS, dict(TALKS, optional=True)], quotes=[QUOTE]), only_url)
    write_gold(tmp_path, "b", gold(visits=[TRIP]), only_url)
    summary = tmp_path / "out" / "summary.json"
    summary.parent.mkdir()
    res = kg("eval", str(tmp_path), "-j", "2", "--json", str(summary))
    assert res.exit_code == 0, res.output
    assert re.search(r"^\[1/2\] [ab]\.txt \(\d+\.\ds\)\n\[2/2\] [ab]\.txt", res.stderr), res.stderr
    lines = res.stdout.splitlines()
    assert lines[1].split() == ["entities", "0.000", "0.000", "0.000", "0", "0", "16", "0"]
    assert [x.split()[4:] for x in lines[2:6]] == [["0", "0", "0", "0"], ["0", "0", "1", "0"],
                                                   ["0", "0", "1", "0"], ["0", "0", "1", "0"]]
    assert [x.split(":")[0] for x in lines if x.startswith("FAILED")] == ["FAILED a.txt", "FAILED b.txt"]
    assert lines[-1] == "docs=2 failed=2 entity_f1=0.000 statement_f1=0.000"
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert data["entities"]["fn"] == 16 and data["statement_f1"] == 0.0
    assert [name for name, _ in data["failures"]] == ["a.txt", "b.txt"]
    below = kg("eval", str(tmp_path), "--min-f1", "0.5")
    assert below.exit_code == 3
    assert "statement F1 0.000 is below --min-f1 0.5" in below.stderr
    one = kg("eval", str(tmp_path / "b.gold.json"), "-v")   # a single gold file
    assert one.exit_code == 0
    assert one.stdout.startswith("== b.txt (")
    assert "    build failed    " in one.stdout
    assert one.stdout.splitlines()[-1] == "docs=1 failed=1 entity_f1=0.000 statement_f1=0.000"


def test_a_graph_that_does_not_conform_is_scored_with_a_warning(tmp_path: Path, monkeypatch: Any) -> None:
    """A fault simulated: the build reports that its graph did not conform (it still writes the
    conforming part, as the real build does); the evaluation scores that part and says so."""
    from kg.build import pipeline

    def nonconforming_build(inputs: list[Path], outdir: Path, **kwargs: Any) -> Any:
        outdir.mkdir()
        (outdir / "graph.ttl").write_text(PREFIXES + FOUND, encoding="utf-8")
        return type("Result", (), {"conforms": False})()

    monkeypatch.setattr(pipeline, "build", nonconforming_build)
    write_gold(tmp_path, "a", gold())
    res = kg("eval", str(tmp_path))
    assert res.exit_code == 0
    assert res.stdout.splitlines()[1].split()[4:] == ["8", "0", "0", "0"]
    assert ("WARNING a.txt: the graph did not conform to the shapes; its conforming part was scored"
            in res.stdout.splitlines())


@pytest.mark.slow
def test_seed_article(tmp_path: Path) -> None:
    """``kg eval`` on the seed article with the gold written for it (tests/data/eval).

    Every count below was checked by hand against the text and the build's graph. They describe the
    extractor as it is: when a change to extraction moves them, check the new output against the
    text the same way and update them here (and say why in the commit).
    """
    shutil.copy(SEED, tmp_path / SEED.name)
    shutil.copy(SEED_GOLD, tmp_path / SEED_GOLD.name)
    res = kg("eval", str(tmp_path), "-v", "--json", str(tmp_path / "summary.json"), "--min-f1", "0.9")
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    got = {c: (data[c]["tp"], data[c]["fp"], data[c]["fn"], data[c]["dup"]) for c in
           ("entities", "positions", "meetings", "visits", "quotes")}
    assert got == {
        "entities": (23, 0, 0, 0),   # 26 in the gold, 3 optional (日本 in 日本時間, トランプ政権, 朝鮮半島)
        "positions": (8, 0, 0, 1),   # ポンペイオ 長官 of アメリカ besides 国務長官: a duplicate
        "meetings": (5, 0, 0, 0),
        "visits": (2, 0, 1, 0),      # キム氏の訪米 is not found; the delegation's trip is optional
        "quotes": (12, 0, 0, 0),
    }
    assert (data["meeting.date"], data["meeting.place"], data["meeting.status"]) == (0.667, 1.0, 1.0)
    assert data["entity.type"] == 1.0
    assert data["statement_f1"] == 0.95 and data["entity_f1"] == 1.0
    misses = [line.split(None, 2) for line in res.stdout.splitlines() if line.startswith("    ")]
    assert misses == [
        ["position", "dup", "pompeo 長官 us"],
        ["meeting", "date", "trump+kim_jong_un predicted (none), gold 2018-06-12"],
        ["visit", "FN", "kim_yong_chol -> us"],
    ]
    assert res.stdout.splitlines()[-1] == "docs=1 failed=0 entity_f1=1.000 statement_f1=0.950"


@pytest.mark.slow
def test_the_example_of_docs_eval_md_gives_the_output_shown_there() -> None:
    res = kg("eval", str(EXAMPLE), "-v")
    assert res.exit_code == 0, res.output
    shown = (ROOT / "docs" / "EVAL.md").read_text(encoding="utf-8")
    block = shown.split("$ kg eval docs/examples/eval -v\n", 1)[1].split("```", 1)[0]
    assert re.sub(r"\(\d+\.\ds\)", "(…)", res.stdout) == re.sub(r"\(\d+\.\ds\)", "(…)", block)
