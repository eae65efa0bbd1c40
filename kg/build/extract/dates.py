"""Dates in Japanese text, resolved against the article's date.

ja-timex finds and normalises the expressions (30日 -> XXXX-XX-30, 平成31年1月21日 -> 2019-01-21,
来年 -> P1Y); this module fills in what is missing from the article's date: a day without a
month is the nearest such day to the article date (先月/今月/来月 when written), a month without a
year the nearest such month; 先月/今月/来月 and 昨年/今年/来年 on their own are that month or year.
A partial date stays partial (YYYY-MM, YYYY), never invented; with no article date, relative
expressions stay unresolved (None) and the caller says so.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class DateMention:
    start: int  # offsets relative to the parsed text
    end: int
    text: str
    value: str | None  # YYYY-MM-DD, YYYY-MM or YYYY; None when unresolvable
    end_value: str | None = None  # for ranges (5~6日, から2日間)


@lru_cache(maxsize=1)
def _parser():  # type: ignore[no-untyped-def]
    from ja_timex import TimexParser

    return TimexParser()


def _shift_month(y: int, m: int, k: int) -> tuple[int, int]:
    m0 = (m - 1) + k
    return y + m0 // 12, m0 % 12 + 1


def _nearest_day(ref: dt.date, day: int, month_shift: int | None) -> dt.date | None:
    cands = []
    shifts = [month_shift] if month_shift is not None else [-1, 0, 1]
    for k in shifts:
        y, m = _shift_month(ref.year, ref.month, k)
        if day <= calendar.monthrange(y, m)[1]:
            cands.append(dt.date(y, m, day))
    if not cands:
        return None
    return min(cands, key=lambda d: (abs((d - ref).days), d > ref))


def _nearest_month_year(ref: dt.date, month: int) -> int:
    cands = [ref.year - 1, ref.year, ref.year + 1]
    return min(cands, key=lambda y: abs((dt.date(y, month, 15) - ref).days))


def find_dates(text: str, published: str | None) -> list[DateMention]:
    """Every date expression in ``text`` with its resolved value (see module doc)."""
    from kg.build.gazetteer import load

    lex = load().lexicon
    ref = dt.date.fromisoformat(published) if published else None
    # ja-timex misses the start of a range written with a full-width tilde; 〜 has the same length
    tags = list(_parser().parse(text.replace("～", "〜")))
    months: dict[str, int] = lex["relative_months"]
    years: dict[str, int] = lex["relative_years"]
    month_shift = {t.span[1]: months[t.text] for t in tags if t.type == "DURATION" and t.text in months}
    year_shift = {t.span[1]: years[t.text] for t in tags if t.type == "DURATION" and t.text in years}
    out: list[DateMention] = []
    i = 0
    while i < len(tags):
        t, nxt = tags[i], tags[i + 1] if i + 1 < len(tags) else None
        i += 1
        if t.type == "DURATION" and (t.text in years or t.text in lex["months_alone"]):
            if not _followed_by_date(t, nxt):  # 来年, 来月にも: that year or month on its own
                out.append(_relative_alone(t, ref, year_shift, month_shift))
            continue
        if t.type != "DATE" or lex.regex("since_words").match(text, t.span[1]) or t.text.endswith(
                tuple(lex["since_words"])):
            continue
        a = t.span[0]
        val = _resolve(t.value, ref, month_shift.get(a), year_shift.get(a))
        end_val, b, used = _range_end(text, t, nxt, val, ref, month_shift.get(a))
        i += used
        out.append(DateMention(a, b, text[a:b], val, end_val))
    return out


def _followed_by_date(t, nxt) -> bool:  # type: ignore[no-untyped-def]
    return nxt is not None and nxt.type == "DATE" and nxt.span[0] <= t.span[1] + 1


def _relative_alone(t, ref: dt.date | None, year_shift: dict[int, int],  # type: ignore[no-untyped-def]
                    month_shift: dict[int, int]) -> DateMention:
    a, b = t.span
    val = None
    if ref is not None and b in year_shift:
        val = str(ref.year + year_shift[b])
    elif ref is not None and b in month_shift:
        y, m = _shift_month(ref.year, ref.month, month_shift[b])
        val = f"{y:04d}-{m:02d}"
    return DateMention(a, b, t.text, val)


def _range_end(text: str, t, nxt, val: str | None, ref: dt.date | None,  # type: ignore[no-untyped-def]
               month_shift: int | None) -> tuple[str | None, int, int]:
    """The end of a range after a date (5~6日, 5月30日から2日間): (end value, end offset, tags used)."""
    b = t.span[1]
    if nxt is not None and nxt.type == "DATE" and re.fullmatch(r"\s*[~～〜\-－―]\s*", text[b: nxt.span[0]]):
        end_val = _resolve(nxt.value, ref, month_shift, None)
        dm = re.fullmatch(r"XXXX-XX-(\d{2})", nxt.value)
        if dm and val and len(val) == 10:
            end_val = _day_after(val, int(dm.group(1)))  # 5月5日～6日: the start's month, or the next
        if val and end_val and len(val) == 10 and len(end_val) == 10 and end_val < val and val[:7] == end_val[:7]:
            end_val = None
        return end_val, nxt.span[1], 1
    if nxt is not None and nxt.type == "DURATION" and text[b: nxt.span[0]] == "から":
        m = re.fullmatch(r"P(\d+)D", nxt.value)
        if m and val and len(val) == 10 and int(m.group(1)) > 1:
            end = dt.date.fromisoformat(val) + dt.timedelta(days=int(m.group(1)) - 1)
            return end.isoformat(), nxt.span[1], 1
    return None, b, 0


def _day_after(start_value: str, day: int) -> str | None:
    start = dt.date.fromisoformat(start_value)
    y, m = (start.year, start.month) if day >= start.day else _shift_month(start.year, start.month, 1)
    try:
        return dt.date(y, m, day).isoformat()
    except ValueError:
        return None


def _resolve(value: str, ref: dt.date | None, month_shift: int | None, year_shift: int | None) -> str | None:
    m = re.fullmatch(r"(\d{4}|XXXX)-(\d{2}|XX)-(\d{2}|XX)", value)
    if m:
        y, mo, d = m.groups()
        if y != "XXXX":
            if mo == "XX":
                return y
            if d == "XX":
                return f"{y}-{mo}"
            return f"{y}-{mo}-{d}"
        if ref is None:
            return None
        if mo != "XX":
            year = ref.year + year_shift if year_shift is not None else _nearest_month_year(ref, int(mo))
            if d == "XX":
                return f"{year:04d}-{mo}"
            try:
                return dt.date(year, int(mo), int(d)).isoformat()
            except ValueError:
                return None
        if d != "XX":
            day = _nearest_day(ref, int(d), month_shift)
            return day.isoformat() if day else None
        return None
    w = re.fullmatch(r"XXXX-WXX-(\d)", value)
    if w and ref is not None:
        wd = int(w.group(1)) - 1  # ja-timex: 1 = Monday
        delta = (wd - ref.weekday()) % 7
        cands = [ref + dt.timedelta(days=delta), ref + dt.timedelta(days=delta - 7)]
        return min(cands, key=lambda d: abs((d - ref).days)).isoformat()
    return None
