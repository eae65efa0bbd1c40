"""Consistency checks for the gazetteer data files in kg/data/.

The extractor builds its EntityRuler patterns and title tables from these files, so a name
that points at two entities, a dangling reference or an unknown rank would silently produce
wrong statements. These tests keep the data self-consistent.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

import pycountry
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "kg" / "data"

QID = re.compile(r"^Q[1-9]\d*$")
DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
RANKS = {
    "head_of_state",
    "head_of_government",
    "party_leader",
    "minister",
    "vice_minister",
    "deputy",
    "ambassador",
    "envoy",
    "official",
    "military",
    "agency_head",
    "other",
}
DOMAINS = {
    "executive",
    "foreign",
    "defense",
    "security",
    "intelligence",
    "finance",
    "economy",
    "justice",
    "unification",
    "party",
    "legislature",
    "military",
    "media",
    "international",
    "royal",
    "general",
}
ORG_TYPES = {
    "ministry",
    "government",
    "party",
    "agency",
    "intelligence",
    "military",
    "news_agency",
    "broadcaster",
    "newspaper",
    "international",
    "legislature",
    "court",
    "company",
    "ngo",
    "other",
}
PLACE_KINDS = {"city", "region", "venue"}
# Codes accepted as states besides ISO 3166-1 alpha-2 (Kosovo's user-assigned code).
EXTRA_ISO = {"XK"}


def load(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as f:
        data = json.load(f)
    assert isinstance(data, list) and data, f"{name} must be a non-empty JSON list"
    return data


@pytest.fixture(scope="module")
def states() -> list[dict]:
    return load("states.json")


@pytest.fixture(scope="module")
def posts() -> list[dict]:
    return load("posts.json")


@pytest.fixture(scope="module")
def orgs() -> list[dict]:
    return load("organizations.json")


@pytest.fixture(scope="module")
def officials() -> list[dict]:
    return load("officials.json")


@pytest.fixture(scope="module")
def places() -> list[dict]:
    return load("places.json")


def _is_iso(code: str) -> bool:
    return code in EXTRA_ISO or pycountry.countries.get(alpha_2=code) is not None


def _check_names(rec: dict, where: str) -> None:
    names = rec["names"]
    assert isinstance(names, list) and names, f"{where}: names must be a non-empty list"
    assert all(isinstance(n, str) and n.strip() == n and n for n in names), where
    assert len(names) == len(set(names)), f"{where}: duplicate names"


def _check_wikidata(rec: dict, where: str) -> None:
    if "wikidata" in rec:
        assert QID.match(rec["wikidata"]), f"{where}: bad wikidata id {rec['wikidata']!r}"


@pytest.mark.parametrize(
    "name", ["states.json", "posts.json", "organizations.json", "officials.json", "places.json"]
)
def test_files_are_pretty_and_sorted(name: str) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, ensure_ascii=False, indent=2) + "\n", (
        f"{name} is not in canonical form (indent=2, ensure_ascii=False, trailing newline)"
    )
    sort_key = {"states.json": "iso", "posts.json": "title"}.get(name, "key")
    keys = [rec[sort_key] for rec in data]
    assert keys == sorted(keys), f"{name} must be sorted by {sort_key}"
    assert len(keys) == len(set(keys)), f"{name}: duplicate {sort_key}"


def test_states(states: list[dict]) -> None:
    for s in states:
        where = f"states.json {s.get('iso')}"
        assert set(s) <= {"iso", "label", "names", "abbrev", "wikidata"}, where
        assert _is_iso(s["iso"]), f"{where}: not an ISO 3166-1 alpha-2 code"
        _check_names(s, where)
        assert s["label"] in s["names"], f"{where}: label must be one of the names"
        assert all(len(a) == 1 for a in s["abbrev"]), f"{where}: abbrevs are one character"
        _check_wikidata(s, where)
    by_iso = {s["iso"]: s for s in states}
    for iso, label in {
        "US": "アメリカ",
        "JP": "日本",
        "CN": "中国",
        "KR": "韓国",
        "KP": "北朝鮮",
        "RU": "ロシア",
        "GB": "イギリス",
    }.items():
        assert by_iso[iso]["label"] == label
    assert len(states) >= 190, "every sovereign state is expected"


def test_abbrevs_are_unique(states: list[dict]) -> None:
    seen: dict[str, str] = {}
    for s in states:
        for a in s["abbrev"]:
            assert a not in seen, f"abbrev {a} used by {seen[a]} and {s['iso']}"
            seen[a] = s["iso"]
    for a, iso in {"米": "US", "朝": "KP", "日": "JP", "韓": "KR", "中": "CN", "露": "RU"}.items():
        assert seen[a] == iso


def test_states_json_matches_generator() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_states.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr


def _entity_keys(states: list[dict], orgs: list[dict]) -> set[str]:
    return {f"state:{s['iso']}" for s in states} | {f"org:{o['key']}" for o in orgs}


def test_posts(posts: list[dict], states: list[dict], orgs: list[dict]) -> None:
    refs = _entity_keys(states, orgs)
    titles = {p["title"] for p in posts}
    for p in posts:
        where = f"posts.json {p.get('title')}"
        assert set(p) == {"title", "canonical", "rank", "leader", "state_post", "org_hint", "domain"}, where
        assert p["rank"] in RANKS, where
        assert p["domain"] in DOMAINS, where
        assert isinstance(p["leader"], bool) and isinstance(p["state_post"], bool), where
        assert p["org_hint"] is None or p["org_hint"] in refs, f"{where}: unknown org_hint"
        assert p["canonical"] in titles, f"{where}: canonical must itself be a listed title"
        if p["leader"]:
            assert p["rank"] in {"head_of_state", "head_of_government", "party_leader", "other"}
    by_title = {p["title"]: p for p in posts}
    for variant in ("外務大臣", "外務相"):
        assert by_title[variant]["canonical"] == "外相"
    for variant in ("総理", "総理大臣", "内閣総理大臣"):
        assert by_title[variant]["canonical"] == "首相"
    for leader in ("大統領", "首相", "国家主席", "国務委員長"):
        assert by_title[leader]["leader"]
    assert not by_title["国務長官"]["leader"]


def test_organizations(orgs: list[dict], states: list[dict]) -> None:
    refs = _entity_keys(states, orgs)
    for o in orgs:
        where = f"organizations.json {o.get('key')}"
        assert (
            {"key", "label", "names", "type", "part_of"}
            <= set(o)
            <= {"key", "label", "names", "type", "part_of", "wikidata"}
        ), where
        _check_names(o, where)
        assert o["label"] in o["names"], where
        assert o["type"] in ORG_TYPES, where
        assert o["part_of"] is None or o["part_of"] in refs, f"{where}: unknown part_of"
        assert o["part_of"] != f"org:{o['key']}", where
        _check_wikidata(o, where)


def test_officials(officials: list[dict], states: list[dict], orgs: list[dict], posts: list[dict]) -> None:
    refs = _entity_keys(states, orgs)
    titles = {p["title"] for p in posts}
    labels = defaultdict(int)
    for p in officials:
        labels[p["label"]] += 1
    for p in officials:
        where = f"officials.json {p.get('key')}"
        assert (
            {"key", "label", "names", "state", "type", "posts"}
            <= set(p)
            <= {"key", "label", "names", "state", "type", "posts", "wikidata"}
        ), where
        _check_names(p, where)
        if labels[p["label"]] == 1:
            assert p["label"] in p["names"], f"{where}: label must be one of the names"
        else:  # a label shared by two people is kept out of both name lists
            assert p["label"] not in p["names"], where
        _check_wikidata(p, where)
        if "wikidata" in p:
            assert p["key"] == p["wikidata"], f"{where}: key must be the Wikidata id when known"
        assert p["state"] is None or _is_iso(p["state"]), where
        assert p["type"] == ("Official" if p["posts"] else "Person"), where
        for post in p["posts"]:
            assert set(post) <= {"title", "of", "from", "to"}, where
            assert post["title"] in titles, f"{where}: title {post['title']} not in posts.json"
            assert post["of"] in refs, f"{where}: unknown post holder {post['of']}"
            for k in ("from", "to"):
                if k in post:
                    assert DATE.match(post[k]), f"{where}: bad date {post[k]}"
            if "from" in post and "to" in post:
                assert post["from"] <= post["to"], f"{where}: post ends before it starts"
    assert 600 <= len(officials) <= 1500


def test_places(places: list[dict]) -> None:
    for p in places:
        where = f"places.json {p.get('key')}"
        assert (
            {"key", "label", "names", "state", "kind"}
            <= set(p)
            <= {"key", "label", "names", "state", "kind", "wikidata"}
        ), where
        _check_names(p, where)
        assert p["label"] in p["names"], where
        assert p["kind"] in PLACE_KINDS, where
        assert p["state"] is None or _is_iso(p["state"]), where
        _check_wikidata(p, where)


def test_no_name_maps_to_two_entities(
    states: list[dict], orgs: list[dict], officials: list[dict], places: list[dict], posts: list[dict]
) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for s in states:
        for n in s["names"] + s["abbrev"]:
            owners[n].add(f"state:{s['iso']}")
    for o in orgs:
        for n in o["names"]:
            owners[n].add(f"org:{o['key']}")
    for p in officials:
        for n in p["names"]:
            owners[n].add(f"person:{p['key']}")
    for p in places:
        for n in p["names"]:
            owners[n].add(f"place:{p['key']}")
    clashes = {n: sorted(o) for n, o in owners.items() if len(o) > 1}
    assert not clashes, f"names used by more than one entity: {clashes}"
    titles = {p["title"] for p in posts}
    assert not titles & set(owners), f"titles that are also names: {sorted(titles & set(owners))}"


def test_wikidata_ids_are_unique(
    states: list[dict], orgs: list[dict], officials: list[dict], places: list[dict]
) -> None:
    seen: dict[str, str] = {}
    for kind, recs in (("state", states), ("org", orgs), ("person", officials), ("place", places)):
        for r in recs:
            if "wikidata" in r:
                ident = f"{kind}:{r.get('iso') or r.get('key')}"
                assert r["wikidata"] not in seen, f"{r['wikidata']}: {seen.get(r['wikidata'])}, {ident}"
                seen[r["wikidata"]] = ident


def test_no_bare_korean_or_chinese_surname(officials: list[dict]) -> None:
    bare = {
        "キム",
        "金",
        "李",
        "イ",
        "リ",
        "王",
        "朴",
        "パク",
        "崔",
        "チェ",
        "ハリス",
        "ケリー",
        "サリバン",
        "クリントン",
        "小泉",
    }
    for p in officials:
        assert not bare & set(p["names"]), f"{p['key']}: ambiguous bare surname"


def _norm(name: str) -> str:
    """The loader's normal form of a name (NFKC, no separators, lower case)."""
    s = unicodedata.normalize("NFKC", name)
    return "".join(ch for ch in s if ch not in "・･=＝ 　").lower()


def test_no_normalized_name_maps_to_two_entities(
    states: list[dict], orgs: list[dict], officials: list[dict], places: list[dict]
) -> None:
    """Names that differ only by separators or width (ジョン・ケリー / ジョンケリー) are one name to
    the loader, which drops a name two entries share; only a shared label may do that on purpose."""
    owners: dict[str, set[str]] = defaultdict(set)
    for s in states:
        for n in s["names"]:
            owners[_norm(n)].add(f"state:{s['iso']}")
    for kind, recs in (("org", orgs), ("person", officials), ("place", places)):
        for r in recs:
            for n in r["names"]:
                owners[_norm(n)].add(f"{kind}:{r['key']}")
    clashes = {n: sorted(o) for n, o in owners.items() if len(o) > 1}
    assert not clashes, f"names used by more than one entity once normalized: {clashes}"


# Posts one person holds at a time (by canonical title and the state or organization they are of).
SINGLE_HOLDER = {"大統領", "首相", "国家主席", "総統", "国王", "女王", "外相", "国防相", "防衛相", "国務長官",
                 "国防長官", "官房長官", "国家安全保障担当大統領補佐官", "事務総長", "最高指導者", "国務委員長"}


def _before(a: str, b: str) -> bool:
    """a < b, comparing partial dates at their common precision (2025-07 is not before 2025-07-21)."""
    n = min(len(a), len(b))
    return a[:n] < b[:n]


def test_single_holder_posts_do_not_overlap(officials: list[dict], posts: list[dict]) -> None:
    """Two officials cannot have been head of state, head of government or foreign or defence
    minister of the same state at the same time: an overlap is a wrong date in the data."""
    canonical = {p["title"]: p["canonical"] for p in posts}
    terms: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for o in officials:
        for p in o["posts"]:
            title = canonical[p["title"]]
            if title in SINGLE_HOLDER and "from" in p:
                terms[(title, p["of"])].append((p["from"], p.get("to", "9999"), o["key"]))
    overlaps = []
    for (title, of), ts in terms.items():
        for i, (f1, t1, k1) in enumerate(ts):
            for f2, t2, k2 in ts[i + 1:]:
                if k1 != k2 and _before(f2, t1) and _before(f1, t2):
                    overlaps.append(f"{title} of {of}: {k1} ({f1}..{t1}) and {k2} ({f2}..{t2})")
    assert not overlaps, "\n".join(overlaps)
