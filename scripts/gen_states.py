"""Generate kg/data/states.json: every sovereign state with its Japanese names.

Japanese names come from pycountry's ISO 3166-1 translations (locale ``ja``); the hand-kept
tables below add the forms used in news (short labels, official and colloquial names, the
one-kanji abbreviations used in compounds such as 米朝 or 訪日) and Wikidata ids.
Dependent territories, which pycountry also lists, are left out (see ``NOT_SOVEREIGN``).

Run from the repository root::

    python scripts/gen_states.py            # writes kg/data/states.json
    python scripts/gen_states.py --check    # exits 1 when the file is out of date
"""

from __future__ import annotations

import argparse
import gettext
import json
import re
import sys
from pathlib import Path

import pycountry

OUT = Path(__file__).resolve().parent.parent / "kg" / "data" / "states.json"

# ISO 3166-1 entries that are not sovereign states (territories, dependencies, uninhabited
# areas). Western Sahara is left out as disputed; Palestine and the Holy See are kept, and so
# are the Cook Islands and Niue (states in free association with New Zealand, recognised by
# Japan, members of the Pacific Islands Forum, with their own heads of government).
# fmt: off
NOT_SOVEREIGN = frozenset(
    [
        "AI", "AQ", "AS", "AW", "AX", "BL", "BM", "BQ", "BV", "CC", "CW", "CX", "EH",
        "FK", "FO", "GF", "GG", "GI", "GL", "GP", "GS", "GU", "HK", "HM", "IM", "IO", "JE",
        "KY", "MF", "MO", "MP", "MQ", "MS", "NC", "NF", "PF", "PM", "PN", "PR", "RE",
        "SH", "SJ", "SX", "TC", "TF", "TK", "UM", "VG", "VI", "WF", "YT",
    ]
)
# fmt: on

# States not (or not fully) in ISO 3166-1 that the news treats as states.
EXTRA = {"XK": "コソボ"}

# pycountry names that are wrong or misleading in news text; they are dropped.
DROP_NAMES = {
    "BA": {"ボスニアヘルツコビナ共和国"},
    "DM": {"ドミニカ"},  # in news, bare ドミニカ is usually the Dominican Republic
    "TW": {"中国領・台湾"},
    "TZ": {"タニザニア連合共和国"},
    "VA": {"聖庁"},
}

# The usual short name in Japanese news, where it differs from pycountry's.
LABEL = {
    "AU": "オーストラリア",
    "BN": "ブルネイ",
    "BO": "ボリビア",
    "CV": "カーボベルデ",
    "ER": "エリトリア",
    "GB": "イギリス",
    "GE": "ジョージア",
    "IR": "イラン",
    "KG": "キルギス",
    "KP": "北朝鮮",
    "KR": "韓国",
    "LA": "ラオス",
    "MD": "モルドバ",
    "MN": "モンゴル",
    "RU": "ロシア",
    "SY": "シリア",
    "TW": "台湾",
    "TZ": "タンザニア",
    "US": "アメリカ",
    "VA": "バチカン",
    "VE": "ベネズエラ",
    "DM": "ドミニカ国",
}

# Further names used in Japanese news (official, older, colloquial, Korean-outlet forms).
ALIASES = {
    "AE": ["UAE"],
    "AU": ["豪州"],
    "BA": ["ボスニア・ヘルツェゴビナ共和国", "ボスニア"],
    "BN": ["ブルネイ・ダルサラーム"],
    "CF": ["中央アフリカ"],
    "CI": ["コートジボアール"],
    "CN": ["中華人民共和国"],
    "CV": ["カボベルデ"],
    "CZ": ["チェコ共和国"],
    "DE": ["独国"],
    "DO": ["ドミニカ"],
    "FR": ["仏国"],
    "GB": ["英国", "連合王国"],
    "GE": ["グルジア"],
    "GR": ["ギリシャ共和国", "ギリシア"],
    "IN": ["印度"],
    "JP": ["日本国"],
    "KG": ["キルギス共和国", "キルギスタン"],
    "KH": ["カンボジア王国"],
    "KN": ["セントクリストファー・ネービス"],
    "KP": ["北朝鮮", "朝鮮民主主義人民共和国", "北韓", "朝鮮"],
    "KR": ["韓国", "大韓民国", "南朝鮮"],
    "LA": ["ラオス"],
    "MK": ["マケドニア", "旧ユーゴスラビア・マケドニア共和国"],
    "MM": ["ビルマ", "ミャンマー連邦共和国"],
    "MN": ["モンゴル", "モンゴル国"],
    "NL": ["オランダ王国"],
    "PG": ["パプア・ニューギニア"],
    "PH": ["フィリピン共和国"],
    "PS": ["パレスチナ国"],
    "RU": ["ロシア", "ロシア連邦", "露国"],
    "SA": ["サウジ"],
    "SG": ["シンガポール共和国"],
    "SY": ["シリア"],
    "SZ": ["スワジランド"],
    "TR": ["トルコ共和国"],
    "TL": ["東チモール"],
    "TW": ["台湾", "中華民国"],
    "TZ": ["タンザニア"],
    "US": ["アメリカ", "米国", "アメリカ合衆国", "合衆国"],
    "VA": ["バチカン", "バチカン市国", "ローマ教皇庁", "ローマ法王庁"],
    "VN": ["ヴェトナム"],
    "XK": ["コソボ共和国"],
    "ZA": ["南ア"],
}

# One-kanji forms used in compounds (米朝, 日米韓, 訪朝, 駐韓, 露朝, 日中 ...). Each is unique.
ABBREV = {
    "AT": ["墺"],
    "AU": ["豪"],
    "BR": ["伯"],
    "CA": ["加"],
    "CN": ["中"],
    "DE": ["独"],
    "ES": ["西"],
    "FR": ["仏"],
    "GB": ["英"],
    "IN": ["印"],
    "IT": ["伊"],
    "JP": ["日"],
    "KP": ["朝"],
    "KR": ["韓"],
    "MN": ["蒙"],
    "MX": ["墨"],
    "NL": ["蘭"],
    "PH": ["比"],
    "PT": ["葡"],
    "RU": ["露", "ロ"],
    "TH": ["泰"],
    "TW": ["台"],
    "US": ["米"],
    "VN": ["越"],
}

# Wikidata items of the countries (only ids known with certainty).
# fmt: off
WIKIDATA = {
    "AF": "Q889", "AM": "Q399", "AR": "Q414", "AT": "Q40", "AU": "Q408", "AZ": "Q227",
    "BD": "Q902", "BE": "Q31", "BG": "Q219", "BN": "Q921", "BR": "Q155", "BY": "Q184",
    "CA": "Q16", "CH": "Q39", "CL": "Q298", "CN": "Q148", "CO": "Q739", "CU": "Q241",
    "CZ": "Q213", "DE": "Q183", "DK": "Q35", "DZ": "Q262", "EE": "Q191", "EG": "Q79",
    "ES": "Q29", "ET": "Q115", "FI": "Q33", "FR": "Q142", "GB": "Q145", "GE": "Q230",
    "GR": "Q41", "HR": "Q224", "HU": "Q28", "ID": "Q252", "IE": "Q27", "IL": "Q801",
    "IN": "Q668", "IQ": "Q796", "IR": "Q794", "IS": "Q189", "IT": "Q38", "JO": "Q810",
    "JP": "Q17", "KE": "Q114", "KH": "Q424", "KP": "Q423", "KR": "Q884", "KW": "Q817",
    "KZ": "Q232", "LA": "Q819", "LB": "Q822", "LK": "Q854", "LT": "Q37", "LU": "Q32",
    "LV": "Q211", "LY": "Q1016", "MA": "Q1028", "MM": "Q836", "MN": "Q711", "MX": "Q96",
    "MY": "Q833", "NG": "Q1033", "NL": "Q55", "NO": "Q20", "NP": "Q837", "NZ": "Q664",
    "PE": "Q419", "PH": "Q928", "PK": "Q843", "PL": "Q36", "PT": "Q45", "QA": "Q846",
    "RO": "Q218", "RS": "Q403", "RU": "Q159", "SA": "Q851", "SE": "Q34", "SG": "Q334",
    "SY": "Q858", "TH": "Q869", "TL": "Q574", "TN": "Q948", "TR": "Q43", "TW": "Q865",
    "UA": "Q212", "US": "Q30", "UZ": "Q265", "VA": "Q237", "VE": "Q717", "VN": "Q881",
    "XK": "Q1246", "YE": "Q805", "ZA": "Q258", "AE": "Q878",
}
# fmt: on

_PAREN = re.compile(r"\s*[（(]([^）)]*)[）)]\s*")


def _split(name: str) -> list[str]:
    """'大韓民国 (韓国)' -> ['大韓民国', '韓国']; plain names are returned as they are."""
    inner = _PAREN.findall(name)
    outer = _PAREN.sub("", name).strip()
    return [n for n in [outer, *inner] if n]


def _japanese(tr: gettext.NullTranslations, english: str | None) -> list[str]:
    if not english:
        return []
    translated = tr.gettext(english)
    return [] if translated == english else _split(translated)


def build() -> list[dict]:
    """Return the list of state records, sorted by ISO code."""
    tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ja"])
    pyc: dict[str, list[str]] = {}
    for c in pycountry.countries:
        if c.alpha_2 in NOT_SOVEREIGN:
            continue
        names: list[str] = []
        for attr in ("common_name", "name", "official_name"):
            names += _japanese(tr, getattr(c, attr, None))
        pyc[c.alpha_2] = names
    for iso, name in EXTRA.items():
        pyc[iso] = [name]

    states = []
    for iso in sorted(pyc):
        drop = DROP_NAMES.get(iso, set())
        candidates = pyc[iso] + ALIASES.get(iso, [])
        label = LABEL.get(iso) or next(n for n in candidates if n not in drop)
        names: list[str] = []
        for n in [label, *candidates]:
            # pycountry's untranslated (ASCII) names are left out; hand-kept aliases such as UAE are kept
            if n not in drop and n not in names and (not n.isascii() or n in ALIASES.get(iso, [])):
                names.append(n)
        rec: dict = {"iso": iso, "label": label, "names": names, "abbrev": ABBREV.get(iso, [])}
        if iso in WIKIDATA:
            rec["wikidata"] = WIKIDATA[iso]
        states.append(rec)
    return states


def render(states: list[dict]) -> str:
    return json.dumps(states, ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if states.json is out of date")
    args = ap.parse_args()
    text = render(build())
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date; run scripts/gen_states.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(json.loads(text))} states)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
