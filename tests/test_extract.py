"""Extraction rules, as tables of real Japanese news sentences (positive and negative cases).

Each row is parsed by the real ja_ginza model and run through recognition, resolution and the
statement rules; the table says what must (and must not) come out.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kg.build.extract import extract_document
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

POMPEO, TRUMP, KIM_JU, KIM_YC = "person:Q473239", "person:Q22686", "person:Q56226", "person:金英哲"
LAVROV, RI, ABE, MOON, XI, PUTIN = ("person:ラブロフ", "person:李容浩", "person:Q132345", "person:Q21001",
                                    "person:Q15031", "person:Q7747")


@pytest.fixture(scope="module")
def extract() -> Callable[[str, str | None], DocumentStatements]:
    def run(text: str, published: str | None = "2018-06-01") -> DocumentStatements:
        return extract_document(Article("t", text, published=published), parse(text))

    return run


def of_kind(ds: DocumentStatements, cls: type) -> list:
    return [s for s in ds.statements if isinstance(s, cls)]


# ---- entities and resolution -----------------------------------------------------------------------

ENTITIES = [
    # a title is never part of a name
    ("アメリカのポンペイオ長官は記者団に答えた。", {POMPEO: "Official", "state:US": "State"}),
    # a name with its reading; a state in a compound is a state
    ("北朝鮮の金英哲(キム・ヨンチョル)朝鮮労働党副委員長が米朝協議に臨んだ。",
     {KIM_YC: "Official", "state:KP": "State", "org:朝鮮労働党": "Organization", "state:US": "State"}),
    # a name not in the gazetteer, known by its honorific
    ("ラッセル氏は懸念を示した。", {"person:ラッセル": "Person"}),
    # a dateline gives the place and the news agency
    ("【北京共同】河野太郎外相は28日、王毅外相と会談した。",
     {"place:北京": "Place", "org:共同通信": "Organization", "person:河野": "Official", "person:王毅": "Official"}),
    # organizations named in brackets before 率いる
    ("「朝鮮ミッションセンター」を率いるアンドリュー・キム氏が同席した。",
     {"org:朝鮮ミッションセンター": "Organization", "person:アンドリュー・キム": "Official"}),
]


@pytest.mark.parametrize(("text", "expected"), ENTITIES)
def test_entities(extract, text: str, expected: dict[str, str]) -> None:
    got = {e.key: e.type for e in extract(text).entities}
    for key, typ in expected.items():
        assert got.get(key) == typ, (key, got)


@pytest.mark.parametrize(("text", "absent"), [
    ("安倍晋三内閣総理大臣は会見した。", "org:内閣"),  # part of the title
    ("王毅中華人民共和国国務委員兼外交部長は会見した。", "org:外交部"),
    ("日本時間の31日夜、北朝鮮は声明を発表した。", "state:JP"),  # 日本時間 is a time zone
    ("アメリ国務省は写真を公表した。", "person:アメリ"),  # a stray GiNZA Person without title or honorific
    ("キム氏は「満足している」と語った。キム・ヨンチョル副委員長とキム・ジョンウン委員長が握手した。", "person:キム"),
])
def test_entities_that_must_not_appear(extract, text: str, absent: str) -> None:
    assert absent not in {e.key for e in extract(text).entities}


def test_kanji_and_katakana_spellings_are_one_person(extract) -> None:
    ds = extract("キム・ジョンウン(金正恩)委員長は演説した。金正恩委員長はまた、「平和を望む」と述べた。")
    kims = [e for e in ds.entities if e.key == KIM_JU]
    assert len(kims) == 1
    assert {kims[0].label, *kims[0].alt_labels} >= {"金正恩", "キム・ジョンウン"}


def test_a_typo_with_the_same_title_is_the_same_person(extract) -> None:
    ds = extract("ポンペイ国務長官は30日、会見した。ポンペイオ長官は「とてもよかった」と答えた。")
    pompeo = [e for e in ds.entities if e.key == POMPEO]
    assert len(pompeo) == 1 and "ポンペイ" in pompeo[0].alt_labels
    assert not any(e.key == "person:ポンペイ" for e in ds.entities)


def test_a_surname_with_a_title_resolves_to_the_full_name_with_that_title(extract) -> None:
    ds = extract("キム・ヨンチョル朝鮮労働党副委員長とキム・ジョンウン朝鮮労働党委員長が会った。"
                 "キム副委員長は「満足だ」と述べた。キム委員長は「期待する」と語った。")
    speakers = {q.text: q.speaker for q in of_kind(ds, QuoteStatement)}
    assert speakers == {"満足だ": KIM_YC, "期待する": KIM_JU}


def test_an_ambiguous_surname_is_never_merged_by_guess(extract) -> None:
    ds = extract("キム・ヨンチョル副委員長とアンドリュー・キム氏が同席した。キム氏は「有意義だった」と話した。")
    q = of_kind(ds, QuoteStatement)
    assert len(q) == 1 and q[0].speaker is None and q[0].speaker_description == "キム氏"


# ---- positions -----------------------------------------------------------------------------------

POSITIONS = [
    ("ロシアのラブロフ外相は31日、平壌に到着した。", LAVROV, "外相", "state:RU"),
    ("北朝鮮の李容浩(リ・ヨンホ)外相が帰国した。", RI, "外相", "state:KP"),
    ("キム・ヨンチョル朝鮮労働党副委員長が訪米した。", KIM_YC, "副委員長", "org:朝鮮労働党"),
    ("アメリカのポンペイオ国務長官は会見した。", POMPEO, "国務長官", "state:US"),
    ("安倍晋三首相は13日、徐薫(ソ・フン)国家情報院長と面会した。", "person:徐薫", "国家情報院長", "org:国家情報院"),
    ("河野太郎外務大臣は記者会見を開いた。", "person:河野", "外相", "state:JP"),  # 外務大臣 is the post 外相
    ("国務省のナウアート報道官は「協議は生産的だった」と述べた。", "person:ナウアート", "報道官", "org:国務省"),
    # a one-character state form, and an organization with a gloss, between name and title
    ("トランプ米大統領は記者会見で語った。", TRUMP, "大統領", "state:US"),
    ("鄭義溶(チョン・ウィヨン)青瓦台(大統領府)国家安保室長は記者団に説明した。", "person:鄭義溶", "国家安保室長",
     "org:青瓦台"),
    # an envoy of a head of state holds that post for the state
    ("安倍首相は13日、文在寅(ムン・ジェイン)大統領の特使として北韓を訪れた徐薫(ソ・フン)国家情報院長と面会した。",
     "person:徐薫", "特使", "state:KR"),
    # MOFA style: ，for 、, a Latin gloss, NAME・STATE TITLE, titles joined by 兼, a title starting with an org name
    ("8月3日午後，河野太郎外務大臣は，王毅(Wang Yi)中華人民共和国国務委員兼外交部長と会談した。", "person:王毅", "外相",
     "state:CN"),
    ("安倍晋三内閣総理大臣は，モスクワにおいて，プーチン・ロシア大統領(H.E. Mr. Vladimir Putin)と首脳会談を行った。",
     "person:Q7747", "大統領", "state:RU"),
    ("安倍晋三内閣総理大臣は，モスクワにおいて，プーチン・ロシア大統領と首脳会談を行った。", ABE, "首相", "state:JP"),
    # the head of a unit named in brackets
    ("CIAで「朝鮮ミッションセンター」を率いる、アンドリュー・キム氏が同席した。", "person:アンドリュー・キム", "センター長",
     "org:朝鮮ミッションセンター"),
    # a party written by a generic word is the party of the state before the name; a state post after 兼
    # belongs to that state, not to the party
    ("中国の王毅共産党政治局員兼外相と会談した。", "person:王毅", "政治局員", "org:中国共産党"),
    ("中国の王毅共産党政治局員兼外相と会談した。", "person:王毅", "外相", "state:CN"),
    ("中国の王毅中国共産党政治局員兼外相と会談した。", "person:王毅", "外相", "state:CN"),
    ("北朝鮮の金英哲労働党副委員長が訪米した。", "person:金英哲", "副委員長", "org:朝鮮労働党"),
    # a Japanese name not in the gazetteer: surname and given name, four characters, kept whole
    ("外務省の小野日子外務報道官は記者会見で述べた。", "person:小野日子", "外務報道官", "org:外務省"),
    # a name whose last character the tagger reads as an ordinary word, after の
    ("中国の孫衛東副外相は22日、北京で韓国の趙賢東外務第1次官と会談した。", "person:孫衛東", "副外相", "state:CN"),
    ("中国の孫衛東副外相は22日、北京で韓国の趙賢東外務第1次官と会談した。", "person:趙賢東", "外務第1次官", "state:KR"),
    ("中国外務省の汪文斌副報道局長は20日の記者会見で述べた。", "person:汪文斌", "副報道局長", "org:外交部(中国)"),
]


@pytest.mark.parametrize(("text", "holder", "post", "of"), POSITIONS)
def test_positions(extract, text: str, holder: str, post: str, of: str) -> None:
    got = {(p.holder, p.post, p.of) for p in of_kind(extract(text), PositionStatement)}
    assert (holder, post, of) in got, got


def test_a_short_title_joins_the_longer_one_of_the_same_person(extract) -> None:
    ps = of_kind(extract("ポンペイオ国務長官は30日に到着した。ポンペイオ長官は「よかった」と答えた。"), PositionStatement)
    assert [(p.holder, p.post, p.of, set(p.titles)) for p in ps] == [
        (POMPEO, "国務長官", "state:US", {"国務長官", "長官"})]


def test_a_post_held_on_the_article_date_is_preferred(extract) -> None:
    # in 2017 Pompeo was director of the CIA, in 2018 secretary of state
    p2017 = of_kind(extract("ポンペオ長官は会見した。", "2017-06-01"), PositionStatement)
    p2019 = of_kind(extract("ポンペオ長官は会見した。", "2019-06-01"), PositionStatement)
    assert [p.of for p in p2017] == ["org:中央情報局"]
    assert [p.of for p in p2019] == ["state:US"]


def test_no_position_without_evidence_of_whose_post_it_is(extract) -> None:
    assert of_kind(extract("ラッセル氏は懸念を示した。"), PositionStatement) == []


# ---- meetings ------------------------------------------------------------------------------------

MEETINGS = [
    # comitative: AはBと会談, with date, place and status
    ("ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。", "2018-06-01",
     {LAVROV, RI}, "Meeting", "2018-05-31", "place:平壌", "held"),
    # coordination with は, a compound naming the states, the leaders named: persons; a summit
    ("トランプ大統領と金正恩委員長は12日、シンガポールで史上初の米朝首脳会談を行った。", "2018-06-12",
     {TRUMP, KIM_JU}, "Summit", "2018-06-12", "state:SG", "held"),
    # leaders meeting: a summit even when the word is 会談
    ("安倍総理大臣は26日、モスクワでプーチン大統領と会談しました。", "2019-02-27",
     {ABE, PUTIN}, "Summit", "2019-02-26", "place:モスクワ", "held"),
    # 電話で会談: a phone call
    ("河野外相は8日、韓国の康京和外相と電話で会談し、連携を確認した。", "2018-10-08",
     {"person:河野", "person:康京和"}, "PhoneCall", "2018-10-08", None, "held"),
    # planned: 予定
    ("ポンペオ国務長官は来月、平壌を訪問し、金正恩委員長と会談する予定だ。", "2018-10-01",
     {POMPEO, KIM_JU}, "Meeting", "2018-11", "place:平壌", "planned"),  # 来月 on its own: that month
    # possible: 可能性
    ("滞在中、ロシアのラブロフ外相はキム・ジョンウン委員長と会談する可能性があります。", "2018-06-01",
     {LAVROV, KIM_JU}, "Meeting", None, None, "possible"),
    # states only when no leader is named; a partial date stays partial
    ("両外相は、本年2月末頃に開催される第2回米朝首脳会談について協議した。", "2019-01-21",
     {"state:US", "state:KP"}, "Summit", "2019-02", None, "planned"),
    # genitive: AとBの首脳会談, modality
    ("キム委員長とプーチン大統領の首脳会談の開催についても話し合われるのではないかという見方も出ています。"
     "キム・ジョンウン朝鮮労働党委員長は演説した。", "2018-06-01",
     {KIM_JU, PUTIN}, "Summit", None, None, "possible"),
    # Bとの会談 with the source of the account as the other party
    ("河野大臣は、ポンペオ長官から、直近の金英哲(キム・ヨンチョル)朝鮮労働党副委員長との会談について説明を受けました。",
     "2019-01-21", {POMPEO, KIM_YC}, "Meeting", None, None, "held"),
    # Bとの会談 right after A (the と dropped), with a range of dates after the trigger
    ("アメリカのポンペイオ国務長官北朝鮮のキム・ヨンチョル朝鮮労働党副委員長との会談が5月30日から2日間の日程で、"
     "ニューヨークで行われました。", "2018-06-01",
     {POMPEO, KIM_YC}, "Meeting", "2018-05-30", "place:ニューヨーク", "held"),
    # a date bound to another verb is not the meeting's
    ("北朝鮮の李容浩(リ・ヨンホ)外相が帰国した。李外相は先月29日に平壌を出発し、ベトナムを訪問した後、"
     "中国で習近平国家主席らと会談しました。", "2018-12-11",
     {RI, XI}, "Meeting", None, "state:CN", "held"),
    # three states and their foreign ministers, one written ポンペオ米国務長官
    ("茂木敏充外相は14日、パロアルトでポンペオ米国務長官、韓国の康京和外相と日米韓外相会談を行った。", "2020-01-15",
     {"person:茂木", POMPEO, "person:康京和"}, "Meeting", "2020-01-14", "place:パロアルト", "held"),
    # MOFA style, with において and a gloss before the particle
    ("本22日午後5時頃から約3時間，安倍晋三内閣総理大臣は，モスクワにおいて，プーチン・ロシア大統領(H.E. Mr. Vladimir "
     "Putin, President of the Russian Federation)と首脳会談を行ったところ，概要は以下のとおりです。", "2019-01-22",
     {ABE, PUTIN}, "Summit", "2019-01-22", "place:モスクワ", "held"),
    # held: the meeting ended (終了)
    ("ベトナムの首都ハノイで開かれていた2回目の米朝首脳会談は28日、合意に至らないまま終了した。", "2019-02-28",
     {"state:US", "state:KP"}, "Summit", "2019-02-28", "place:ハノイ", "held"),
    # 会う with a partner
    ("トランプ大統領は30日、板門店で金正恩委員長と会った。", "2019-06-30",
     {TRUMP, KIM_JU}, "Summit", "2019-06-30", "place:板門店", "held"),
    # a place with 都内 / 市内 before で
    ("林芳正外相は19日、東京都内で韓国の朴振外相と会談した。", "2022-07-19",
     {"person:林", "person:朴振"}, "Meeting", "2022-07-19", "place:東京", "held"),
    ("林芳正外相は19日、ソウル市内で韓国の朴振外相と会談した。", "2022-07-19",
     {"person:林", "person:朴振"}, "Meeting", "2022-07-19", "place:ソウル", "held"),
    ("林芳正外相は19日、都内で韓国の朴振外相と会談した。", "2022-07-19",
     {"person:林", "person:朴振"}, "Meeting", "2022-07-19", "place:東京", "held"),
    # a second partner later in the sentence meets the sentence's topic too
    ("岸田首相は15日、バイデン大統領と会談し、その後、尹錫悦大統領とも会談した。", "2023-05-15",
     {"person:岸田", "person:尹錫悦"}, "Summit", None, None, "held"),
    # ... also after an event word that names no parties (the topic is before it); 立ち話をした
    ("岸田首相はG7サミットの合間に、韓国の尹錫悦大統領と立ち話をした。", "2023-05-20",
     {"person:岸田", "person:尹錫悦"}, "Summit", None, None, "held"),
    # 同氏: the person named in the sentence before
    ("プーチン大統領は北朝鮮を訪問した。同氏は金正恩委員長と会談した。", "2024-06-19",
     {PUTIN, KIM_JU}, "Summit", None, None, "held"),
    # 懇談 and 会食 are meetings
    ("岸田首相は、表敬訪問したブリンケン米国務長官と懇談した。", "2023-01-10",
     {"person:岸田", "person:ブリンケン"}, "Meeting", None, None, "held"),
    ("林芳正外相は10日夜、都内で韓国の朴振外相と会食した。", "2022-07-12",
     {"person:林", "person:朴振"}, "Meeting", "2022-07-10", "place:東京", "held"),
    # a compound of states with a post as the subject of the meeting verb: its holders, once named
    ("日本の林芳正外相、米国のブリンケン国務長官、韓国の朴振外相が出席した。日米韓3カ国の外相は14日、ジャカルタで会談した。",
     "2023-07-15", {"person:林", "person:ブリンケン", "person:朴振"}, "Meeting", "2023-07-14", "place:ジャカルタ", "held"),
    ("日中の首脳は15日、北京で会談した。", "2023-07-15", {"state:JP", "state:CN"}, "Summit", "2023-07-15",
     "place:北京", "held"),
    # a date restated in brackets in another time zone: the local date counts
    ("岸田文雄首相は13日（日本時間14日）、訪問先のワシントンでバイデン大統領と会談した。", "2023-01-14",
     {"person:岸田", "person:Q6279"}, "Summit", "2023-01-13", "place:ワシントン", "held"),
    ("岸田首相は日本時間14日（現地時間13日）、ワシントンでバイデン大統領と会談した。", "2023-01-14",
     {"person:岸田", "person:Q6279"}, "Summit", "2023-01-13", "place:ワシントン", "held"),
    # partners listed with commas, each with its state: all are participants
    ("トルコのエルドアン大統領は19日、テヘランでイランのライシ大統領、ロシアのプーチン大統領と3者会談を行った。",
     "2022-07-20", {"person:エルドアン", "person:エブラヒム・ライシ", PUTIN}, "Summit", "2022-07-19", "place:テヘラン", "held"),
]


@pytest.mark.parametrize(("text", "published", "parts", "cls", "start", "place", "status"), MEETINGS)
def test_meetings(extract, text: str, published: str, parts: set[str], cls: str, start: str | None,
                  place: str | None, status: str) -> None:
    ms = of_kind(extract(text, published), MeetingStatement)
    hits = [m for m in ms if set(m.participants) == parts]
    assert len(hits) == 1, [(m.participants, m.start) for m in ms]
    m = hits[0]
    assert (m.event_class, m.start, m.location, m.status) == (cls, start, place, status)
    assert m.evidence and m.evidence[0].sentence in extract(text, published).article.text


def test_one_event_mentioned_several_times_is_one_meeting(extract) -> None:
    text = ("アメリカ国務省は、30日に行われたポンペイ国務長官とキム・ヨンチョル朝鮮労働党副委員長の夕食会の写真を公表しました。"
            "アメリカのポンペイオ長官と北朝鮮のキム副委員長は、ニューヨークで2日間にわたって会談する予定で、"
            "30日は夕食をともにしながらおよそ1時間半会談し、日本時間の31日夜からは2日目の会談に臨むことにしています。")
    ms = of_kind(extract(text), MeetingStatement)
    assert [(set(m.participants), m.start, m.location, m.status) for m in ms] == [
        ({POMPEO, KIM_YC}, "2018-05-30", "place:ニューヨーク", "held")]
    assert len(ms[0].evidence) >= 2


NOT_MEETINGS = [
    "外務省の報道官は定例記者会見で北朝鮮問題に言及した。",  # 記者会見 is not a meeting
    "会談のあと、ラブロフ外相は記者団に答えた。",  # no second party
    "トランプ大統領は「会談は成功する」と語った。",  # inside quoted speech, not named by states
    "首脳会談に向けた調整でCIAが中心的な役割を担っている。",  # no party at all
    "政府の有識者懇談会は岸田文雄首相とブリンケン国務長官に提言した。",  # 懇談会 is a panel
    "トランプ大統領は金正恩委員長と会談しなかった。",  # negated
]


def test_only_same_post_words_are_read_as_back_references() -> None:
    from kg.build.gazetteer import load
    from kg.build.recognize import Recognizer

    text = "茂木外相は記者会見した。同相は「遺憾だ」と述べ、同氏と同長官も同席した。同相場は上がり、同日に同相談があった。"
    rec = Recognizer(load()).recognize(parse(text), text)
    found = sorted(m.text for m in rec.mentions if m.source.startswith("anaphor:"))
    assert found == ["同氏", "同相", "同長官"]


@pytest.mark.parametrize("text", NOT_MEETINGS)
def test_not_meetings(extract, text: str) -> None:
    assert of_kind(extract(text), MeetingStatement) == []


# ---- visits --------------------------------------------------------------------------------------

VISITS = [
    ("ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着した。", "2018-06-01",
     LAVROV, "state:KP", "place:平壌", "2018-05-31", "held"),
    # relative clause: 北韓を訪れた徐薫
    ("安倍首相は13日、文在寅大統領の特使として北韓を訪れた徐薫(ソ・フン)国家情報院長と面会した。", "2018-03-13",
     "person:徐薫", "state:KP", None, None, "held"),
    # X入り, with the date of its own clause
    ("徐院長は12日に日本入りし、河野太郎外相と会談した。徐薫(ソ・フン)国家情報院長は帰国した。", "2018-03-13",
     "person:徐薫", "state:JP", None, "2018-03-12", "held"),
    # several destinations
    ("李容浩(リ・ヨンホ)外相はベトナムやシリアを訪問した。", "2018-12-11", RI, "state:SY", None, None, "held"),
    # genitive noun form, planned
    ("習近平国家主席の北朝鮮訪問が来週行われる見通しだ。", "2019-06-17", XI, "state:KP", None, None, "planned"),
    # 来日 has its destination in the word; 訪朝 too
    ("韓国の李洛淵首相が22日、来日した。", "2019-10-22", "person:李洛淵", "state:JP", None, "2019-10-22", "held"),
    # a state's delegation
    ("北朝鮮の代表団が1日にワシントンを訪れる見通しだ。", "2018-06-01", "state:KP", "state:US", "place:ワシントン",
     "2018-06-01", "planned"),
    # a modifier between the visitor and the noun: 国賓来日
    ("来春に予定される習近平(シー・ジンピン)国家主席の国賓来日に向けて協力する。", "2019-12-24", XI, "state:JP", None,
     None, "planned"),
    # 訪問先の: the visit under way
    ("河野太郎外相は28日、訪問先の中国・北京で王毅外相と会談した。", "2018-01-28",
     "person:河野", "state:CN", "place:北京", "2018-01-28", "held"),
    ("安倍首相は、訪問中のニューヨークでトランプ大統領と会談した。", "2017-09-22", ABE, "state:US", "place:ニューヨーク",
     None, "held"),
    # the subject (が) of the visit's own clause, not the sentence's topic (は)
    ("林芳正外相は、韓国の朴振(パク・チン)外相が18日から来日する方向で調整に入った。", "2022-07-12",
     "person:朴振", "state:JP", None, "2022-07-18", "possible"),
    # ... but not a が inside another clause: the topic still visits
    ("安倍首相は、トランプ大統領が提案した米国を訪問した。", "2019-04-27", ABE, "state:US", None, None, "held"),
    # 来日中の / 来日した before the visitor
    ("岸田首相は、来日中のベトナムのファム・ミン・チン首相と会談した。", "2023-09-10", "person:ファム・ミン・チン",
     "state:JP", None, None, "held"),
    # an adverbial between を and the verb; 訪問している: the visit is under way
    ("フランスのマクロン大統領が5日から中国を国賓として訪問している。", "2023-04-06", "person:Q3052772", "state:CN",
     None, "2023-04-05", "held"),
    # a modifier glued to the noun: 電撃訪問, 初訪問
    ("英国のジョンソン首相は9日、ウクライナの首都キーウを電撃訪問した。", "2022-04-10", "person:Q180589", "state:UA",
     "place:キエフ", "2022-04-09", "held"),
    ("岸田首相は来月、インドを初訪問する。", "2022-02-10", "person:岸田", "state:IN", None, "2022-03", "planned"),
    # 訪米中の: 中 means "during" here, not China
    ("林外相は、訪米中の岸田首相に同行した。", "2023-01-13", "person:岸田", "state:US", None, None, "held"),
    # a plain する before a past predicate is still to come
    ("外務省は、韓国の朴振外相が来週来日すると発表した。", "2022-07-12", "person:朴振", "state:JP", None, None,
     "planned"),
]


@pytest.mark.parametrize(("text", "published", "visitor", "dest", "place", "start", "status"), VISITS)
def test_visits(extract, text: str, published: str, visitor: str, dest: str, place: str | None,
                start: str | None, status: str) -> None:
    vs = of_kind(extract(text, published), VisitStatement)
    hits = [v for v in vs if v.visitor == visitor and v.destination == dest]
    assert len(hits) == 1, [(v.visitor, v.destination) for v in vs]
    v = hits[0]
    assert (v.location, v.start, v.status) == (place, start, status)


NOT_VISITS = [
    "ポンペイオ長官は帰国の途についた。",
    "李外相は11日に北京から平壌に向かいました。",  # going home is no visit
    "トランプ政権が、キム氏の訪米を認めた。キム・ヨンチョル副委員長とキム・ジョンウン委員長。",  # キム of several
    "ポンペイオ長官はまだ北朝鮮を訪問していない。",  # negated
    "ポンペイオ長官は北朝鮮を訪問せず、帰国した。",
    "訪問中の岸田首相は、米国の大統領と会談した。",  # 訪問中の qualifies a person: no destination here
]


@pytest.mark.parametrize("text", NOT_VISITS)
def test_not_visits(extract, text: str) -> None:
    ds = extract(text, "2018-12-11")
    assert [(v.visitor, v.destination) for v in of_kind(ds, VisitStatement)] == []


def test_mutual_visits(extract) -> None:
    vs = of_kind(extract("安倍晋三首相と習近平国家主席の相互往来に向けた調整につなげられるかが焦点となる。", "2018-01-28"),
                 VisitStatement)
    assert {(v.visitor, v.destination, v.status) for v in vs} == {
        (ABE, "state:CN", "possible"), (XI, "state:JP", "possible")}


# ---- quotes --------------------------------------------------------------------------------------

QUOTES = [
    ("ポンペイオ長官は記者団から会談の結果について問われると「とてもよかった」と答えました。", POMPEO, None, "とてもよかった"),
    ("ラブロフ外相は「ロシアは貢献する用意がある」と述べました。そのうえで、「制裁の解除が必要だ」と述べた。",
     LAVROV, None, "制裁の解除が必要だ"),  # continuation with the speaker implicit
    ("「金委員長とは非常に良い関係を築いた」と、トランプ大統領は記者団に語った。", TRUMP, None, "非常に良い関係"),
    ("国務省の高官は会談について「必要なことを確認している」と述べた。", None, "国務省の高官", "必要なことを確認"),
    ("安倍首相 「非核化を前提にした対話を評価」\n\n安倍晋三首相は13日、会見した。", ABE, None, "非核化を前提にした対話を評価"),
    ("李外相は「引き続き非核化に向けて取り組む」と話していて、協議したとみられる。李容浩外相が帰国した。", RI, None,
     "引き続き非核化に向けて取り組む"),
    # 同長官 / 同氏: the last one named with that post, or the last person named
    ("ポンペイオ国務長官は安倍首相と会談した。同長官は「成果があった」と述べた。", POMPEO, None, "成果があった"),
    ("プーチン大統領は北朝鮮を訪問した。同氏は「協力を深める」と述べた。", PUTIN, None, "協力を深める"),
    # ... unless the nearest sentence names two such people: no guess
    ("河野外相は15日、王毅外相と会談した。同相は「懸念を伝えた」と語った。", None, "同相", "懸念を伝えた"),
    # a bare post opening the clause stands for its holder named last, on the same terms
    ("安倍晋三首相は13日、トランプ大統領と会談した。首相は会談後、記者団に「有意義だった」と述べた。", ABE, None,
     "有意義だった"),
    ("トランプ大統領は文在寅大統領と会談した。大統領は「同盟は強固だ」と述べた。", None, "大統領", "同盟は強固だ"),
    ("首相は「遺憾だ」と述べた。", None, "首相", "遺憾だ"),  # nobody named before: no guess
    # a deputy's post does not answer to the bare post or to 同 + the post
    ("トランプ大統領は記者会見した。ペンス副大統領は到着した。大統領は「よかった」と述べた。", TRUMP, None, "よかった"),
    ("ポンペイオ国務長官は会見した。サリバン国務副長官も同行した。同長官は「よかった」と述べた。", POMPEO, None,
     "よかった"),
]


@pytest.mark.parametrize(("text", "speaker", "description", "fragment"), QUOTES)
def test_quotes(extract, text: str, speaker: str | None, description: str | None, fragment: str) -> None:
    qs = [q for q in of_kind(extract(text), QuoteStatement) if fragment in q.text]
    assert len(qs) == 1, [q.text for q in of_kind(extract(text), QuoteStatement)]
    assert (qs[0].speaker, qs[0].speaker_description) == (speaker, description)


@pytest.mark.parametrize("text", [
    "「朝鮮ミッションセンター」を率いる人物が同席した。",  # brackets that are a name, not speech
    "李容浩外相:「(Q.次の会談はいつですか?)…」",  # only a reporter's question
])
def test_not_quotes(extract, text: str) -> None:
    assert of_kind(extract(text), QuoteStatement) == []


# ---- evidence ------------------------------------------------------------------------------------

def test_every_statement_has_evidence_pointing_into_the_text(extract) -> None:
    text = ("ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。"
            "会談のあと、ラブロフ外相は「ロシアは貢献する用意がある」と述べました。")
    ds = extract(text)
    assert ds.statements
    for s in ds.statements:
        assert s.evidence, s
        for ev in s.evidence:
            assert text[ev.start:ev.end] == ev.sentence
            assert ev.rule and 0 < ev.confidence <= 1 and ev.doc_id == "t"


def test_without_an_article_date_relative_dates_stay_unresolved(extract) -> None:
    ms = of_kind(extract("ロシアのラブロフ外相は31日、リ・ヨンホ外相と会談しました。", None), MeetingStatement)
    assert len(ms) == 1 and ms[0].start is None
