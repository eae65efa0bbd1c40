"""Dates in Japanese sentences, resolved against the article date (real ja-timex)."""

from __future__ import annotations

import pytest

from kg.build.extract.dates import DateMention, find_dates

# (text, article date, expected mention text, expected value, expected end value, test id)
TABLE = [
    ("30日に行われた夕食会", "2018-06-01", "30日", "2018-05-30", None, "day-before-article"),
    ("12日にシンガポールで首脳会談を行う", "2018-06-01", "12日", "2018-06-12", None, "day-after-article"),
    ("5月30日から2日間の日程で会談した", "2018-06-01", "5月30日から2日間", "2018-05-30", "2018-05-31", "from-for-two-days"),
    ("先月29日に電話会談を行った", "2018-12-11", "29日", "2018-11-29", None, "last-month-day"),
    ("来年に訪問する予定だ", "2018-06-01", "来年", "2019", None, "next-year"),
    ("来月にも訪問する方向で調整している", "2018-12-11", "来月", "2019-01", None, "next-month-across-a-year"),
    ("先月、北京を訪問した", "2018-03-13", "先月", "2018-02", None, "last-month"),
    ("平成31年1月21日に会談した", "2018-06-01", "平成31年1月21日", "2019-01-21", None, "heisei-era"),
    ("2月末に首脳会談を開く", "2019-01-21", "2月末", "2019-02", None, "month-end-partial"),
    ("今月5~6日に開かれた会議", "2018-03-13", "5~6日", "2018-03-05", "2018-03-06", "this-month-range"),
    ("金曜日に会談した", "2018-06-01", "金曜日", "2018-06-01", None, "weekday"),
    ("ロシアのラブロフ外相は31日午前、ピョンヤンに到着した", "2018-06-01", "31日", "2018-05-31", None, "day-with-time-of-day"),
    ("2018年5月に訪問した", "2019-01-21", "2018年5月", "2018-05", None, "year-month"),
    ("去年12月に会談した", "2018-03-13", "12月", "2017-12", None, "last-year-month"),
    # a range written with the full-width tilde, as Japanese news writes it
    ("今月5～6日に開かれた会議", "2018-03-13", "5～6日", "2018-03-05", "2018-03-06", "full-width-tilde-range"),
    # the end day of a range belongs to the month of its start
    ("5月5日～6日に訪問した", "2018-06-01", "5月5日～6日", "2018-05-05", "2018-05-06", "range-end-in-start-month"),
]


@pytest.mark.parametrize(("text", "published", "mention", "value", "end"), [row[:5] for row in TABLE],
                         ids=[row[5] for row in TABLE])
def test_find_dates_resolves_against_the_article_date(text: str, published: str, mention: str,
                                                      value: str, end: str | None) -> None:
    found = find_dates(text, published)
    assert [(m.text, m.value, m.end_value) for m in found] == [(mention, value, end)]
    m = found[0]
    assert text[m.start:m.end] == m.text


def test_since_expressions_are_not_event_dates() -> None:
    assert find_dates("2009年以来の訪問となる", "2018-06-01") == []


def test_partial_dates_stay_partial() -> None:
    (m,) = find_dates("2月末に首脳会談を開く", "2019-01-21")
    assert m.value == "2019-02"  # not 2019-02-28: the day is not known
    (y,) = find_dates("来年に訪問する予定だ", "2018-06-01")
    assert y.value == "2019"


@pytest.mark.parametrize("text", ["30日に行われた夕食会", "先月29日に電話会談を行った", "来年に訪問する予定だ",
                                  "来月にも訪問する", "2月末に首脳会談を開く", "金曜日に会談した", "今月5~6日に開かれた会議"])
def test_relative_dates_stay_unresolved_without_an_article_date(text: str) -> None:
    found = find_dates(text, None)
    assert found, "the expression is still found"
    assert all(m.value is None and m.end_value is None for m in found), found


def test_absolute_dates_resolve_without_an_article_date() -> None:
    assert find_dates("平成31年1月21日に会談した", None) == [
        DateMention(0, 10, "平成31年1月21日", "2019-01-21")
    ]
    assert [m.value for m in find_dates("2018年に訪問した", None)] == ["2018"]


def test_day_that_does_not_exist_in_the_named_month_is_unresolved() -> None:
    # February 2018 has no 30th: no date is invented
    (m,) = [m for m in find_dates("先月30日に会談した", "2018-03-13") if m.text == "30日"]
    assert m.value is None


def test_several_dates_in_one_sentence_keep_their_offsets() -> None:
    text = "30日に会談し、12日には首脳会談を開く"
    found = find_dates(text, "2018-06-01")
    assert [(m.value, text[m.start:m.end]) for m in found] == [("2018-05-30", "30日"), ("2018-06-12", "12日")]
