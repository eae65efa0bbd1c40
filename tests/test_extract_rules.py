"""The rule API of extraction, and sentence rows for its rules over the parse and the lexicon.

Each row is a short sentence written for the test, parsed by the real ja_ginza model; the guard tests
check that the lexicon drives the rules: every list in ``kg/data/lexicon.json`` is read, no Japanese
word list is written in the extraction code, every trigger form has a rule and rows that exercise it.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from collections.abc import Callable
from pathlib import Path

import pytest

from kg.build.extract import extract_document
from kg.build.extract.triggers import RULES
from kg.build.gazetteer import load
from kg.build.nlp import parse
from kg.records import (
    Article,
    DocumentStatements,
    MeetingStatement,
    PositionStatement,
    QuoteStatement,
    VisitStatement,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ABE, PUTIN, MOON, TRUMP = "person:Q132345", "person:Q7747", "person:Q21001", "person:Q22686"
KERRY = "person:John Kerry"


@pytest.fixture(scope="module")
def extract() -> Callable[[str, str | None], DocumentStatements]:
    def run(text: str, published: str | None = "2019-05-01") -> DocumentStatements:
        return extract_document(Article("t", text, published=published), parse(text))

    return run


def of_kind(ds: DocumentStatements, cls: type) -> list:
    return [s for s in ds.statements if isinstance(s, cls)]


# ---- entities outside the gazetteers ---------------------------------------------------------------

ENTITIES = [
    # a byline names the reporter and the place
    ("【ソウル=佐藤花子】韓国の李明外相は1日、日本の河野太郎外相と会談した。",
     {"person:佐藤花子": "Person", "place:ソウル": "Place", "person:李明": "Official"}),
    # a dateline naming two places and the agency
    ("【ワシントン・ソウル共同】ポンペオ国務長官は1日、韓国の康京和外相と会談。",
     {"place:ワシントン": "Place", "place:ソウル": "Place", "org:共同通信": "Organization"}),
    # a place named by its kind; an organization named in brackets; a short name in brackets is the same one
    ("岸田首相はガラパゴス島を訪問した。", {"place:ガラパゴス島": "Place"}),
    ("首相はシンクタンク「東アジア研究評議会」で演説した。", {"org:東アジア研究評議会": "Organization"}),
    # a hiragana letter written inside a katakana name is read as katakana
    ("ぺトロフ大統領は会見した。", {"person:ペトロフ": "Official"}),
    # an unknown organization between a name and its title, with its short name in brackets
    ("ペトロフ国家安全保障評議会(NSC)書記は会見した。",
     {"person:ペトロフ": "Official", "org:国家安全保障評議会": "Organization"}),
    # a region named by its kind after the ・ that ends a name, before the post
    ("ミュラー・ザクセン州首相と会談した。", {"person:ミュラー": "Official", "place:ザクセン州": "Place"}),
    # who published and who wrote: a source line, a copyright line, a reporter asking, the staff closing the text
    ("首相は会談した。\nソース:東洋ニュース\n", {"org:東洋ニュース": "Organization"}),
    ("首相は会談した。\n\n[Copyright The Jiji Press, Ltd.]\n", {"org:時事通信": "Organization"}),
    ("【東洋新聞 田口記者】本日の会談について伺います。", {"person:田口": "Person"}),
    ("首相は会談しました。(ヤマダ、星)", {"person:ヤマダ": "Person", "person:星": "Person"}),
    # a state named in a compound with a common noun is a mention of it
    ("北朝鮮情勢について意見を交わした。", {"state:KP": "State"}),
    # a university GiNZA labels as a school
    ("元総長は清州大学で講演した。", {"org:清州大学": "Organization"}),
]


@pytest.mark.parametrize(("text", "expected"), ENTITIES)
def test_entities_outside_the_gazetteers(extract, text: str, expected: dict[str, str]) -> None:
    got = {e.key: e.type for e in extract(text).entities}
    for key, typ in expected.items():
        assert got.get(key) == typ, (key, got)


@pytest.mark.parametrize(("text", "absent"), [
    ("このタイミングでの訪問は適切ではない。", "state:TH"),  # タイ inside タイミング
    ("チュニジアで開かれるアフリカ開発会議に出席する。", "place:アフリカ"),  # a region inside a longer name
    ("ペトロフ国家安全保障評議会(NSC)書記は会見した。", "org:国家安全保障会議"),  # the bracket is its short name
    ("中国外務省の李明アジア局長は記者会見した。", "person:アジア"),  # the words of a compound title
    ("会談は日本時間の午後に始まった。", "state:JP"),  # a time zone, not the state
    ("元総長はソウル大学で講演した。", "place:ソウル"),  # a city inside a university's name
    ("会談の後、両国首脳は記者会見した。", "person:両国"),  # words pointing back at others name no one
    ("首相は会談した。(翻訳・編集/北田)", "person:翻訳"),  # the staff's roles are not names
    ("首相は会談した。(共同)", "person:共同"),  # an agency in brackets is not a staff credit
])
def test_names_that_are_part_of_longer_words(extract, text: str, absent: str) -> None:
    assert absent not in {e.key for e in extract(text).entities}


def test_a_short_name_in_brackets_names_the_same_organization_later(extract) -> None:
    ds = extract("「南米南部共同市場(メルコスール)」との関係を議論した。メルコスールとの協定を求める声がある。")
    orgs = [e for e in ds.entities if e.type == "Organization"]
    assert [(e.key, e.alt_labels) for e in orgs] == [("org:南米南部共同市場", ("メルコスール",))]


# ---- posts ----------------------------------------------------------------------------------------

POSITIONS = [
    # compound titles ending with a known post, and a field minister
    ("ウクライナのソボレフ経済相は会見した。", None, "person:ソボレフ", "経済相", "state:UA"),
    ("ロシアのイワノフ軍参謀総長は演説した。", None, "person:イワノフ", "軍参謀総長", "state:RU"),
    ("中国外務省の李明アジア局長は記者会見した。", None, "person:李明", "アジア局長", "org:外交部(中国)"),
    ("同行するウクライナ代表団には、ペトレンコ外務第一次官が参加している。", None, "person:ペトレンコ", "外務第1次官",
     "state:UA"),
    # a name the gazetteer holds for two people, told apart by the title and the date
    ("アメリカのジョン・ケリー米国務長官は会見した。", "2015-05-26", KERRY, "国務長官", "state:US"),
    # a one-character name and a surname: the official holding that post on the article's date
    ("菅首相は会見した。", "2021-04-02", "person:菅", "首相", "state:JP"),
    ("小泉首相は靖国神社を参拝した。", "2005-12-05", "person:小泉純一郎", "首相", "state:JP"),
    # a post only Japan has
    ("加藤勝信官房長官は会見した。", "2021-04-02", "person:加藤", "官房長官", "state:JP"),
    # the side or delegation a sentence lists the person in
    ("米国側は、トランプ氏の他、ウィトコフ大統領特使が参加する。", None, "person:ウィトコフ", "特使", "state:US"),
    ("パラオ側から、マルグ外相が同席した。", None, "person:マルグ", "外相", "state:PW"),
    ("中国から李明首相が出席します。", None, "person:李明", "首相", "state:CN"),
    # the head of a unit named in brackets, whose kind the lexicon does not know: its representative
    ("「平和フォーラム」を率いる山田太郎氏が出席した。", None, "person:山田太郎", "代表", "org:平和フォーラム"),
    # an unknown organization between the name and the title is whose post it is
    ("ペトロフ国家安全保障評議会(NSC)書記は会見した。", None, "person:ペトロフ", "書記", "org:国家安全保障評議会"),
    # ... or after the ・ that ends the name (the newspaper's name・affiliation title)
    ("シュミット・ベルリン経済評議会議長と会談した。", None, "person:シュミット", "議長", "org:ベルリン経済評議会"),
    ("ブラウン・クック諸島首相と会談した。", None, "person:ブラウン", "首相", "state:CK"),
    # the state a sentence is set in, for the people met there (before the state a post usually names)
    ("ペルーでは、ロペス大統領と会談した。", None, "person:ロペス", "大統領", "state:PE"),
    ("チリでは、ソト国務長官と会談した。", None, "person:ソト", "国務長官", "state:CL"),
    ("山田外相はペルーを訪問し、ロペス大統領、ソト首相を表敬した。", None, "person:ソト", "首相", "state:PE"),
    # a further post in brackets, with its organization
    ("李明国家主席(中国共産党総書記)は演説した。", None, "person:李明", "総書記", "org:中国共産党"),
    # a post only Japan has
    ("佐藤一郎外務大臣政務官はフィジーを訪問した。", None, "person:佐藤一郎", "外務大臣政務官", "state:JP"),
    ("ポーター豪首相付政務次官と会談した。", None, "person:ポーター", "首相付政務次官", "state:AU"),
]


@pytest.mark.parametrize(("text", "published", "holder", "post", "of"), POSITIONS)
def test_posts(extract, text: str, published: str | None, holder: str, post: str, of: str) -> None:
    got = {(p.holder, p.post, p.of) for p in of_kind(extract(text, published or "2019-05-01"), PositionStatement)}
    assert (holder, post, of) in got, got


@pytest.mark.parametrize("text", [
    "フランスでは、山本外相が演説した。",  # the subject of a sentence set abroad is a visitor, not a host
    "ミュラー・ザクセン州首相と会談した。",  # a region's post is in no state or organization the text names
])
def test_posts_not_stated(extract, text: str) -> None:
    assert of_kind(extract(text), PositionStatement) == []


def test_the_same_surname_in_another_year_is_not_guessed(extract) -> None:
    # 菅 was chief cabinet secretary in 2015, not prime minister: 菅首相 then is nobody the gazetteer knows
    got = {p.holder for p in of_kind(extract("菅首相は会見した。", "2015-05-26"), PositionStatement)}
    assert "person:菅" not in got


# ---- meetings -------------------------------------------------------------------------------------

MEETINGS = [
    # an event held, planned or put off by a light verb; a pair word as the topic of its clause
    ("安倍晋三首相は11日、韓国の文在寅大統領と電話会談した。両首脳は関係改善に意欲を示し、早期に首脳会談を実現する"
     "ことで一致した。", "2017-05-11", {ABE, MOON}, "Summit", None, "planned", "meeting.pair"),
    # a second event word with no parties of its own shares the first one's
    ("文在寅大統領は10日夜、トランプ米大統領と電話会談し、早期に首脳会談を行うことで一致した。", "2017-05-11",
     {MOON, TRUMP}, "Summit", None, "planned", "meeting.same-clause"),
    # a report ending on the event noun tells what happened
    ("ザリフ外相はウィーンで、ケリー米国務長官と会談。会談後、記者団に語った。", "2015-07-10",
     {"person:ザリフ", KERRY}, "Meeting", None, "held", "meeting.comitative"),
    # parties listed right before the event word
    ("日本と中国、韓国の3カ国の外相会議が東京で開かれた。", "2015-03-21",
     {"state:JP", "state:CN", "state:KR"}, "Meeting", None, "held", "meeting.coordination"),
    # the host's gloss in brackets, and a topic the parser hangs on the first verb of the chain
    ("河野外相はパラオを訪問し、レメンゲサウ大統領(H.E. Tommy E REMENGESAU, Jr.)主催の昼食会に出席した。",
     "2019-08-06", {"person:河野", "person:レメンゲサウ"}, "Meeting", None, "held", "meeting.hosted"),
    # a sentence with no subject of its own continues the topic of the sentence before
    ("ブリンケン国務長官は来週、韓国を訪れる。訪韓中に尹錫悦大統領と会談する方向で調整している。", "2024-03-01",
     {"person:ブリンケン", "person:尹錫悦"}, "Meeting", None, "possible", "meeting.comitative-topic"),
    # the states of a compound subject, an event weighed (検討)
    ("日中両政府は今月下旬の首脳会談を検討している。", "2024-03-01", {"state:JP", "state:CN"}, "Summit", "2024-03",
     "possible", "meeting.compound-states"),
    # partners coordinated with や before the one marked と: one subject meets each in turn
    ("岸田首相はバイデン大統領や尹錫悦大統領などと会談した。", "2023-05-20",
     {"person:岸田", "person:尹錫悦"}, "Summit", None, "held", "meeting.comitative"),
    ("岸田首相はバイデン大統領や尹錫悦大統領などと会談した。", "2023-05-20",
     {"person:岸田", "person:Q6279"}, "Summit", None, "held", "meeting.comitative"),
    # a host and a guest
    ("河野外相は、パラオのレメンゲサウ大統領主催の昼食会に出席した。", "2019-08-06",
     {"person:河野", "person:レメンゲサウ"}, "Meeting", None, "held", "meeting.hosted"),
    # との間で marks the partner
    ("岸田文雄外務大臣は、ジョン・ケリー米国務長官との間で電話会談を行った。", "2015-05-26",
     {"person:岸田", KERRY}, "PhoneCall", None, "held", "meeting.comitative"),
    # a date followed by the verb that holds the event, across a comma
    ("安倍晋三首相とプーチン大統領による首脳会談を、G20首脳会議に合わせて9月5日に行う方向で一致した。", "2013-08-19",
     {ABE, PUTIN}, "Summit", "2013-09-05", "planned", "meeting.comitative"),
    # what was done at a meeting makes it held, and its month stays
    ("協議は、4月の安倍晋三首相とプーチン大統領との首脳会談で合意したことを受けたものだ。", "2013-08-19",
     {ABE, PUTIN}, "Summit", "2013-04", "held", "meeting.noun-with"),
    # in quoted speech, a pair word stands for the two holders of its post named in the same words
    ("華春瑩報道官は「岸田外相は王毅外相の招待で29日に訪中する。両外相は外相会談を行う」と述べた。", "2016-04-27",
     {"person:岸田", "person:王毅"}, "Meeting", "2016-04-29", "planned", "meeting.pair"),
    # a courtesy call takes its host as object; a later clause with no subject continues the report's protagonist
    ("茂木外相は10日、ケニアとガーナを訪問した。ケニアではケニヤッタ大統領を表敬し、オマモ外相と会談した。", "2020-06-12",
     {"person:茂木", "person:ケニヤッタ"}, "Meeting", None, "held", "meeting.frame"),
    # one subject and partners listed with 、: a bilateral meeting with each
    ("茂木外相は、インドネシアのルトノ外相、マレーシアのサイフディン外相、タイのドーン副首相と個別に会談した。", "2020-06-01",
     {"person:茂木", "person:サイフディン"}, "Meeting", None, "held", "meeting.comitative"),
    # a list whose items carry titles the gazetteer does not know, states written into titles
    ("茂木外相は、ルトノ・インドネシア外相、サイフディン・マレーシア外務担当相付補佐官、ドーン・タイ副首相と会談した。",
     "2020-06-01", {"person:茂木", "person:ルトノ"}, "Meeting", None, "held", "meeting.comitative"),
    # the lead names its protagonist in the genitive of the event the report is about
    ("中国の王毅外相の来日が来月にずれ込む見通しとなった。当初は今月上旬に来日し、菅首相や茂木外相と会談する段取りだった。",
     "2020-10-12", {"person:王毅", "person:茂木"}, "Meeting", None, "planned", "meeting.frame"),
    # a post whose holder is not named is its state
    ("茂木外相はポーランドの外相と会談した。", "2020-06-01",
     {"person:茂木", "state:PL"}, "Meeting", None, "held", "meeting.frame"),
    # the parties listed before 間で
    ("日本とロシアの間で初めてとなる閣僚協議が、2日、東京で開かれた。", "2013-11-01",
     {"state:JP", "state:RU"}, "Meeting", "2013-11-02", "held", "meeting.frame-between"),
    # a compound of states before a word naming the level of the talks
    ("南北は28日、第20回南北閣僚級会談を開始する。", "2006-07-27",
     {"state:KR", "state:KP"}, "Meeting", "2006-07-28", "planned", "meeting.compound-states"),
    # listed subjects and what came of their meeting
    ("岸田首相、中国の李強首相、韓国の尹錫悦大統領は27日、ソウルでの会談を受け共同宣言を発表した。", "2024-05-27",
     {"person:岸田", "person:李強", "person:尹錫悦"}, "Summit", "2024-05-27", "held", "meeting.frame-mutual"),
    # what followed a meeting names it
    ("NATOのストルテンベルグ事務総長は20日、キーウを訪問した。ゼレンスキー大統領との会談後に行った共同記者会見で、"
     "支援継続を約束した。", "2023-04-21",
     {"person:ストルテンベルグ", "person:ゼレンスキー"}, "Meeting", None, "held", "meeting.comitative-topic"),
    # partners joined by と sit at one table
    ("ザリフ外相は、ケリー国務長官とモゲリーニ上級代表と会談した。", "2015-07-10",
     {"person:ザリフ", KERRY, "person:モゲリーニ"}, "Meeting", None, "held", "meeting.comitative"),
    # a party count makes one meeting of the listed partners
    ("茂木外相は、ルトノ外相、ロックシン外相と3者会談を行った。", "2020-06-01",
     {"person:茂木", "person:ルトノ", "person:ロックシン"}, "Meeting", None, "held", "meeting.comitative"),
    # the person a relative clause describes is the subject
    ("先月ロシアを訪問し、プーチン大統領と会談した王毅外相は記者団に成果を語った。", "2020-06-01",
     {PUTIN, "person:王毅"}, "Meeting", None, "held", "meeting.frame"),
    # a first-person report: the narrator stands for the state it is written from
    ("昨日、ジャカルタでルトノ外相と会談しました。午後には大統領府を訪れました。", "2020-06-01",
     {"state:JP", "person:ルトノ"}, "Meeting", None, "held", "meeting.frame"),
    # a word that is a meeting when something is done with it
    ("茂木外相はルトノ外相と意見交換を行った。", "2020-06-01",
     {"person:茂木", "person:ルトノ"}, "Meeting", None, "held", "meeting.frame-verb"),
    # subjects listed with 、 exchange views with each other
    ("ザリフ外相、トルコのチャブシオール外相は、会合の前に意見交換を行った。", "2018-04-28",
     {"person:ザリフ", "person:チャブシオール"}, "Meeting", None, "held", "meeting.frame-mutual"),
    # a call received from the partner
    ("茂木外相は、ブリンケン国務長官から電話を受けた。", "2021-03-01",
     {"person:茂木", "person:ブリンケン"}, "PhoneCall", None, "held", "meeting.frame"),
    # a partner whose title the gazetteer does not know, with a long gloss in brackets before the marker
    ("茂木外相は、ルトノ副首相兼外務・経済統合相(H.E. Ms. Retno Marsudi, Deputy Prime Minister and Minister of "
     "Foreign Affairs and Economic Integration of the Republic)と会談した。", "2020-06-01",
     {"person:茂木", "person:ルトノ"}, "Meeting", None, "held", "meeting.frame"),
    # a message given by telephone to the partner marked に is a call
    ("ブリンケン国務長官は中国の王毅政治局員に直接、電話で訪問の延期を伝えた。", "2023-02-04",
     {"person:ブリンケン", "person:王毅"}, "PhoneCall", None, "held", "meeting.frame"),
    # an audience: the partner marked に
    ("茂木外相はタイのワチラロンコン国王にお目にかかった。", "2020-06-01",
     {"person:茂木", "person:ワチラロンコン"}, "Meeting", None, "held", "meeting.frame"),
    # the sentence before names two parties as its topic: no one of them is carried on, the protagonist is
    ("高村外務大臣の会議出席\n1. 高村外務大臣は、夕食会に出席した。\n2. ゲイツ米国防長官との立ち話\n"
     "高村大臣及びゲイツ長官は、同盟関係を強化していくことを確認した。\n3. シコルスキ・ポーランド外相との立ち話\n"
     "両大臣は、関係が順調であるとの点で一致した。", "2008-02-10",
     {"person:高村", "person:シコルスキ"}, "Meeting", None, "held", "meeting.frame"),
    # a section headed by the partner's name, in the report of the protagonist named in the headline
    ("高村外務大臣の安全保障会議出席\n1. 高村外務大臣は、2月9日、夕食会に出席した。\n2. ゲイツ米国防長官との立ち話\n"
     "日米同盟関係を一層強化していくことを確認した。", "2008-02-10",
     {"person:高村", "person:ゲーツ"}, "Meeting", None, "held", "meeting.comitative-topic"),
]


@pytest.mark.parametrize(("text", "published", "parts", "cls", "start", "status", "rule"), MEETINGS)
def test_meetings(extract, text: str, published: str, parts: set[str], cls: str, start: str | None,
                  status: str, rule: str) -> None:
    ms = [m for m in of_kind(extract(text, published), MeetingStatement)
          if set(m.participants) == parts and m.event_class == cls]
    assert len(ms) == 1, [m.participants for m in of_kind(extract(text, published), MeetingStatement)]
    assert (ms[0].event_class, ms[0].start, ms[0].status) == (cls, start, status)
    assert rule in {ev.rule for ev in ms[0].evidence}


@pytest.mark.parametrize(("text", "status"), [
    ("日中首脳会談の日程は未定だ。", "possible"),
    ("日中首脳会談は不可能だと表明した。", "cancelled"),
    ("日中首脳会談の開催を見合わせた。", "cancelled"),
])
def test_status_words(extract, text: str, status: str) -> None:
    assert [m.status for m in of_kind(extract(text), MeetingStatement)] == [status]


@pytest.mark.parametrize("text", [
    # イスラエル is the object of another verb (国交を正常化した), not a party to the meeting
    "アメリカのブリンケン国務長官やイスラエルと国交を正常化した各国による外相会合が開かれた。",
    # 両外相 names two foreign ministers, not the parties of the summit they talked about
    "両外相は、本年2月末頃に開催される第2回米朝首脳会談について協議した。",
])
def test_not_these_meetings(extract, text: str) -> None:
    ms = of_kind(extract(text), MeetingStatement)
    assert not any("state:IL" in m.participants or m.evidence[0].rule == "meeting.same-clause" for m in ms), ms


@pytest.mark.parametrize("text", [
    # a dialogue, an exchange of views, a meal as a topic: nothing held
    "茂木外相は北朝鮮との対話を重視していると語った。",
    "茂木外相は中国との意見交換の必要性を訴えた。",
    # a word read only as a frame, with nobody to fill it, does not end the previous event's clause
    "トランプ大統領は電話で話し合う考えを示した。",
    # a telephone in a sentence whose に-phrase is no party
    "茂木外相は記者団に電話の内容を説明した。",
    # the spokesperson who announced a meeting is not carried on as its party
    "ホワイトハウスのギブズ報道官は6日、会見した。しかし、鳩山首相との会談には言及しなかった。",
    "ギブズ報道官は6日、大統領が胡錦濤国家主席、メルケル首相らと会談すると発表した。",
])
def test_words_that_name_no_meeting_here(extract, text: str) -> None:
    assert of_kind(extract(text), MeetingStatement) == []


# ---- visits ---------------------------------------------------------------------------------------

VISITS = [
    # destinations one a line, then a count and the verb; a sentence with no subject continues the protagonist
    ("上川外相は1日、アフリカを訪問した。\n▽ケニア\n▽ガーナ\n▽セネガルの3か国を訪れました。", "2024-05-02",
     {("person:上川", "state:KE"), ("person:上川", "state:GH"), ("person:上川", "state:SN")}),
    # a region beside the states of the tour sums it up: no visit of its own (test_region_tour below)
    # a further destination marked も; a noun form marked への
    ("茂木外相はこのあとタイとベトナムも訪問する予定だ。", "2024-05-01",
     {("person:茂木", "state:TH"), ("person:茂木", "state:VN")}),
    ("王毅外相は4日、ケニア、ガーナ、セネガル三か国への公式訪問を始めました。", "2024-05-05",
     {("person:王毅", "state:KE"), ("person:王毅", "state:GH"), ("person:王毅", "state:SN")}),
    # the visitor a dictionary-form verb describes
    ("ブラジル、パラグアイを訪れる岸田首相と手分けする形だ。", "2024-05-01",
     {("person:岸田", "state:BR"), ("person:岸田", "state:PY")}),
    # a connective verb shares the subject written after it
    ("今年7月に北朝鮮を訪問し、金正恩氏と会談したラブロフ外相は記者団に語った。", "2024-10-01",
     {("person:ラブロフ", "state:KP")}),
    # the people a traveller goes with travel too
    ("安倍首相は、河野外相とともにタイとベトナムを訪問した。", "2018-09-01",
     {(ABE, "state:TH"), (ABE, "state:VN"), ("person:河野", "state:TH"), ("person:河野", "state:VN")}),
    # a first-person report of a trip with a delegation listed with ・: each member travels
    ("先月、武部自民党幹事長・冬柴公明党幹事長とともにタイとベトナムを訪問してきました。", "2006-09-01",
     {("person:武部", "state:TH"), ("person:冬柴", "state:VN")}),
    # the next sentence has no subject of its own
    ("茂木外相は10日、タイを訪問した。翌日にはベトナムを訪れた。", "2024-05-12",
     {("person:茂木", "state:TH"), ("person:茂木", "state:VN")}),
    # a visitor glued to the word; a visitor marked による with destinations listed before the noun
    ("先般の安倍総理訪米を振り返った。", "2015-05-26", {(ABE, "state:US")}),
    ("ケリー国務長官は、先般の同長官によるロシア、中国、韓国訪問について説明した。", "2015-05-26",
     {(KERRY, "state:RU"), (KERRY, "state:CN"), (KERRY, "state:KR")}),
    # the states that qualify a generic destination
    ("岸田氏はまた、ベトナムやタイなど東南アジアの一部の国を訪問する予定だった。", "2022-08-21",
     {("person:岸田", "state:VN"), ("person:岸田", "state:TH")}),
    # departures
    ("岸田首相は19日夜、インドに向けて政府専用機で羽田空港を出発した。", "2023-03-20", {("person:岸田", "state:IN")}),
    ("ラブロフ外相はソウルへ向かった。", "2019-05-01", {("person:ラブロフ", "state:KR")}),
    # in quoted speech, a visitor named in the same words
    ("加藤官房長官は「菅総理は来月にも訪米する」と述べた。", "2021-04-02", {("person:菅", "state:US")}),
]


@pytest.mark.parametrize(("text", "published", "expected"), VISITS)
def test_visits(extract, text: str, published: str, expected: set[tuple[str, str]]) -> None:
    got = {(v.visitor, v.destination) for v in of_kind(extract(text, published), VisitStatement)}
    assert expected <= got, got


def test_a_region_beside_the_states_of_a_tour_is_no_visit_of_its_own(extract) -> None:
    text = "上川外相は1日、アフリカの3か国を訪問した。その後、ケニア、ガーナ、セネガルを訪れる予定だ。"
    got = {(v.visitor, v.destination) for v in of_kind(extract(text, "2024-05-02"), VisitStatement)}
    assert ("person:上川", "state:KE") in got and not any(d == "place:アフリカ" for _, d in got), got
    alone = "王毅外相は11日から東南アジア4カ国を歴訪する。"
    assert {v.destination for v in of_kind(extract(alone, "2020-10-09"), VisitStatement)} == {"place:東南アジア"}


def test_a_verb_ending_the_sentence_keeps_its_tense(extract) -> None:
    # 訪れる。 is still to come; only a noun ending the report (…と会談。) says it happened
    vs = of_kind(extract("ブリンケン国務長官は来週、韓国を訪れる。", "2024-03-01"), VisitStatement)
    assert [(v.destination, v.status) for v in vs] == [("state:KR", "planned")]


def test_a_visit_in_quoted_speech_needs_its_visitor_in_the_same_words(extract) -> None:
    assert of_kind(extract("岸田首相は記者団に「来月にも訪米したい」と述べた。"), VisitStatement) == []


# ---- quotes ---------------------------------------------------------------------------------------

QUOTES = [
    # closed by 旨, the speaker presented by the sentence before (X大臣から, …を表明しました)
    ("冒頭、河野大臣から、謝意を表明しました。また、「今回の訪問は嬉しい」旨述べました。", "person:河野", "今回の訪問は嬉しい"),
    # the object of a verb of speech
    ("岸田首相は「連携を強化する」を表明した。", "person:岸田", "連携を強化する"),
    # a speaker marked も
    ("岸田首相は会見した。ペニャ氏も「価値観を共有している」と語った。", "person:ペニャ", "価値観を共有している"),
    # a clause link, then the speech verb
    ("文在寅大統領は「受け入れられないのが現実」としながらも、「努力する必要がある」と述べた。", MOON,
     "受け入れられないのが現実"),
    # a caption line names the speaker above the quote
    ("アメリカ ブリンケン国務長官\n「訪問を延期します」\n\n長官は記者団に語った。", "person:ブリンケン", "訪問を延期します"),
    # the words of a remark, its speaker written with の before them
    ("首脳会談では、山田太郎外相の「支援を続ける」などとした発言が注目された。", "person:山田太郎", "支援を続ける"),
    ("記者は岸田首相の「驚いた」との発言を報じた。", "person:岸田", "驚いた"),
    ("記者は岸田首相の「意外だった」などと\nした発言を報じた。", "person:岸田", "意外だった"),  # a line broken inside
    # other verbs of speech: a warning, a humble form
    ("岸田首相は、北朝鮮の発射について「容認できない」とくぎを刺した。", "person:岸田", "容認できない"),
    ("会談では、岸田首相が「協力を深めたい」と申し上げた。", "person:岸田", "協力を深めたい"),
    # the subject of the verb of speech, not the subject of a clause inside the sentence
    ("さらに山田太郎外相が、ペトロフ前首相が帰途に東京で食事をしたことを紹介し「関係を継承してほしい」と申し上げた。",
     "person:山田太郎", "関係を継承してほしい"),
    ("岸田首相は、バイデン大統領が来日したことについて「歓迎する」と述べた。", "person:岸田", "歓迎する"),
]


@pytest.mark.parametrize(("text", "speaker", "fragment"), QUOTES)
def test_quotes(extract, text: str, speaker: str, fragment: str) -> None:
    qs = [q for q in of_kind(extract(text), QuoteStatement) if fragment in q.text]
    assert [q.speaker for q in qs] == [speaker], of_kind(extract(text), QuoteStatement)


def test_the_subject_of_a_clause_inside_is_not_the_speaker(extract) -> None:
    # the speaker is a post named without a name: nobody to attribute the words to, least of all ペトロフ
    ds = extract("さらに幹事長が、ペトロフ前首相が帰途に東京で食事をしたことを紹介し「関係を継承してほしい」と申し上げた。")
    assert [q.speaker for q in of_kind(ds, QuoteStatement)] in ([], [None])


def test_agreement_on_words_is_not_a_quote(extract) -> None:
    ds = extract("岸田首相はペニャ大統領と会談し、「力による現状変更は許されない」との認識で一致した。")
    assert of_kind(ds, QuoteStatement) == []


# ---- the guards -----------------------------------------------------------------------------------

CODE = sorted([*ROOT.glob("kg/build/extract/*.py"),
               *(ROOT / "kg" / "build" / n for n in ("recognize.py", "resolve.py", "names.py", "titles.py"))])
#: particles and punctuation may stay in code; every other Japanese word lives in kg/data/lexicon.json
PARTICLES = sorted(["は", "が", "を", "に", "で", "と", "の", "も", "へ", "や", "から", "まで", "より", "など", "ら", "として", "としては", "との", "とも", "には", "では", "での", "にて", "において", "に対し", "に対して", "による", "か"], key=len, reverse=True)
JAPANESE = re.compile(r"[\u3041-\u30fa\u30fc-\u30ff\u3400-\u9fff\uff66-\uff9f]+")  # without ・ (a separator)


def _only_particles(run: str) -> bool:
    i = 0
    while i < len(run):
        p = next((p for p in PARTICLES if run.startswith(p, i)), None)
        if p is None:
            return False
        i += len(p)
    return True


def test_no_japanese_word_list_in_the_extraction_code() -> None:
    found = []
    for f in CODE:
        for tok in tokenize.generate_tokens(io.StringIO(f.read_text(encoding="utf-8")).readline):
            if tok.type != tokenize.STRING or tok.string.lstrip("rbuRBUf").startswith(('"""', "'''")):
                continue  # docstrings may show examples
            found += [f"{f.name}:{tok.start[0]}: {run}" for run in JAPANESE.findall(tok.string)
                      if not _only_particles(run)]
    assert found == []


def test_extraction_functions_are_short() -> None:
    long = []
    for f in ROOT.glob("kg/build/extract/*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60:
                long.append(f"{f.name}:{node.name}")
    assert long == []


def test_every_trigger_form_has_a_rule_and_every_rule_a_form() -> None:
    lex = json.loads((ROOT / "kg" / "data" / "lexicon.json").read_text(encoding="utf-8"))
    for kind in ("meeting", "visit"):
        named = set(lex.get(f"{kind}_forms", []))
        for row in lex[f"{kind}_triggers"]:
            named |= set(row.get("forms", []))
        assert named == set(RULES[kind]), kind


def test_every_form_is_exercised_by_sentence_rows(extract) -> None:
    import test_extract as base

    rules: set[str] = set()
    rows = [(t, p) for t, p, *_ in base.MEETINGS] + [(t, p) for t, p, *_ in base.VISITS] + \
        [(t, p) for t, p, *_ in MEETINGS] + [(t, p) for t, p, _ in VISITS]
    rows.append(("安倍晋三首相と習近平国家主席の相互往来に向けた調整につなげられるかが焦点となる。", "2018-01-28"))
    for text, published in rows:
        for s in extract(text, published).statements:
            rules |= {ev.rule for ev in s.evidence}
    exercised = {r.split(".", 1)[1] for r in rules if r.startswith(("meeting.", "visit."))}
    wanted = set(RULES["meeting"]) | set(RULES["visit"])
    # the compound form reports whether it named the states or their office holders
    exercised |= {"compound"} if {"compound-persons", "compound-states"} <= exercised else set()
    assert wanted <= exercised, wanted - exercised


def test_every_lexicon_list_is_read(extract) -> None:
    import test_extract as base

    for text, *_ in [*base.MEETINGS, *base.VISITS, *base.QUOTES, *MEETINGS, *VISITS, *QUOTES, *POSITIONS]:
        extract(text)
    lex = load().lexicon
    assert set(lex) - {"_comment"} - lex.read == set()
