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
    ref = dt.date.fromisoformat(published) if published else None
    out: list[DateMention] = []
    # ja-timex misses the start of a range written with a full-width tilde; 〜 has the same length
    tags = list(_parser().parse(text.replace("～", "〜")))
    month_shift: dict[int, int] = {}
    year_shift: dict[int, int] = {}
    for t in tags:
        if t.type == "DURATION" and t.text in ("先月", "今月", "来月", "前月", "翌月"):
            month_shift[t.span[1]] = {"先月": -1, "前月": -1, "今月": 0, "来月": 1, "翌月": 1}[t.text]
        if t.type == "DURATION" and t.text in ("昨年", "去年", "今年", "本年", "来年", "翌年"):
            year_shift[t.span[1]] = {"昨年": -1, "去年": -1, "今年": 0, "本年": 0, "来年": 1, "翌年": 1}[t.text]
    i = 0
    while i < len(tags):
        t = tags[i]
        a, b = t.span
        if t.type == "DURATION" and t.text in ("昨年", "去年", "今年", "本年", "来年", "翌年"):
            nxt = tags[i + 1] if i + 1 < len(tags) else None
            if not (nxt is not None and nxt.type == "DATE" and nxt.span[0] <= b + 1):
                val = str(ref.year + year_shift[b]) if ref else None
                out.append(DateMention(a, b, t.text, val))
            i += 1
            continue
        if t.type == "DURATION" and t.text in ("先月", "今月", "来月"):
            # a month on its own (来月にも訪日): that month, as 来年 gives the year
            nxt = tags[i + 1] if i + 1 < len(tags) else None
            if not (nxt is not None and nxt.type == "DATE" and nxt.span[0] <= b + 1):
                val = None
                if ref:
                    y, m = _shift_month(ref.year, ref.month, month_shift[b])
                    val = f"{y:04d}-{m:02d}"
                out.append(DateMention(a, b, t.text, val))
            i += 1
            continue
        if t.type != "DATE":
            i += 1
            continue
        if text[b: b + 2] == "以来" or t.text.endswith("以来"):
            i += 1
            continue
        val = _resolve(t.value, ref, month_shift.get(a), year_shift.get(a) if a in year_shift else
                       year_shift.get(a - 0))
        end_val = None
        # a range: 5~6日, 5月30日から2日間
        nxt = tags[i + 1] if i + 1 < len(tags) else None
        if nxt is not None and nxt.type == "DATE" and re.fullmatch(r"\s*[~～〜\-－―]\s*", text[b: nxt.span[0]]):
            end_val = _resolve(nxt.value, ref, month_shift.get(a), None)
            dm = re.fullmatch(r"XXXX-XX-(\d{2})", nxt.value)
            if dm and val and len(val) == 10:
                # 5月5日～6日: the end day is in the start's month (or the next, when it is smaller)
                start = dt.date.fromisoformat(val)
                y, m = (start.year, start.month) if int(dm.group(1)) >= start.day else _shift_month(
                    start.year, start.month, 1)
                try:
                    end_val = dt.date(y, m, int(dm.group(1))).isoformat()
                except ValueError:
                    end_val = None
            if val and end_val and len(val) == 10 and len(end_val) == 10 and end_val < val and val[:7] == end_val[:7]:
                end_val = None
            b = nxt.span[1]
            i += 1
        elif nxt is not None and nxt.type == "DURATION" and re.fullmatch(r"から", text[b: nxt.span[0]]):
            m = re.fullmatch(r"P(\d+)D", nxt.value)
            if m and val and len(val) == 10 and int(m.group(1)) > 1:
                end_val = (dt.date.fromisoformat(val) + dt.timedelta(days=int(m.group(1)) - 1)).isoformat()
                b = nxt.span[1]
                i += 1
        out.append(DateMention(a, b, text[a:b], val, end_val))
        i += 1
    return out


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
