"""Dates as a document writes them: 2023年11月1日, 二〇二三年九月十八日, 2024年6月, 11月, 截至2023年底, and relative
ones (今年, 去年, 近三年), each with its offsets and, when the document's own date says it, the year it means."""
from __future__ import annotations

import re
from dataclasses import dataclass

from qa.numbers import chinese_numeral

_Y = r"(?:[12][0-9]{3}|[一二三四五六七八九〇零]{4})"
_M = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_D = r"(?:3[01]|[12][0-9]|0?[1-9]|三十一?|二?十[一二三四五六七八九]?|[一二三四五六七八九])"
_PART = r"(?:年底|年末|年初|上半年|下半年|一季度|二季度|三季度|四季度|第[一二三四]季度|底|末|初)"
_YMD = rf"{_Y}\s?年(?:\s?{_M}\s?月(?:\s?{_D}\s?[日号])?)?"
DATE = re.compile(
    rf"(?P<pre>截至|截止到?)?"
    # a reign year with its common-era year: 康熙十七年（1678年）, 明治43年(1910年)4月
    rf"(?:(?P<era>[\u4e00-\u9fff]{{2}}(?:元|[一二三四五六七八九十]{{1,3}}|[0-9]{{1,2}})年)\s?[（(](?P<year3>{_Y})年[）)]"
    rf"(?:(?P<month3>{_M})月(?:(?P<day3>{_D})[日号])?)?"
    # years of a span: 1807－1809年间
    rf"|(?P<year4>{_Y})\s?(?:至|到|－|—|-)\s?{_Y}\s?年(?:间|期间)?"
    rf"|(?P<year>{_Y})\s?年(?:\s?(?P<month>{_M})\s?月(?:\s?(?P<day>{_D})\s?[日号])?(?:份|底|末|初|上旬|中旬|下旬)?|{_PART})?"
    # a span of time: 1969年至1970年间, 1985年9月至1987年7月
    rf"(?:\s?(?:至|到|－|—|-)\s?(?P<until>{_YMD}|{_M}\s?月(?:\s?{_D}\s?[日号])?|{_D}\s?[日号])(?:间|期间)?)?"
    rf"|(?P<month2>{_M})\s?月\s?(?P<day2>{_D})\s?[日号]"
    rf"|(?P<rel>今年|去年|前年|明年|上年|本年度|近[一二三两四五六七八九十]年|今年以来|去年以来){_PART}?)"
)
_RELATIVE_YEAR = {"今年": 0, "本年度": 0, "去年": -1, "上年": -1, "前年": -2, "明年": 1, "今年以来": 0, "去年以来": -1}


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    text: str
    year: int | None = None
    month: int | None = None
    day: int | None = None
    relative: str = ""  # 今年, 去年 ... as written
    span: bool = False  # a span of time (1969年至1970年间)
    means: str = ""  # the year a relative date means, from the document's date (去年 in 2026 -> 2025年)

    @property
    def year_end(self) -> int | None:
        """Where the year ends (2023年 of 2023年11月1日), offset into the text; None without a year."""
        if self.year is None or self.span:
            return None
        return self.start + self.text.index("年") + 1

    @property
    def precision(self) -> int:
        """How much it says: 3 a day, 2 a month, 1 a year, 0 relative only."""
        return 3 if self.day else 2 if self.month else 1 if self.year else 0


def _int(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text) if text.isdigit() else int(chinese_numeral(text))
    except (ValueError, KeyError, TypeError):
        digits = {"〇": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7",
                  "八": "8", "九": "9"}
        s = "".join(digits.get(c, "") for c in text)
        return int(s) if s and len(s) == len(text) else None


def find_dates(text: str, start: int = 0, end: int | None = None, doc_date: str = "") -> list[DateMention]:
    """Every date in text[start:end] (offsets into `text`); `doc_date` (ISO) resolves 今年/去年."""
    end = len(text) if end is None else end
    doc_year = int(doc_date[:4]) if re.match(r"\d{4}", doc_date or "") else None
    out = []
    for m in DATE.finditer(text, start, end):
        if m.group(0) == (m.group("pre") or ""):
            continue
        if m.start() > 0 and re.match(r"[0-9]", text[m.start() - 1]):
            continue
        year = _int(m.group("year") or m.group("year3") or m.group("year4"))
        month = _int(m.group("month") or m.group("month2") or m.group("month3"))
        day = _int(m.group("day") or m.group("day2") or m.group("day3"))
        rel = m.group("rel") or ""
        means = ""
        if rel and doc_year:
            base = re.sub(r"(年底|年末|年初|上半年|下半年|.季度|第.季度|底|末|初)$", "", rel)
            if base in _RELATIVE_YEAR:
                means = f"{doc_year + _RELATIVE_YEAR[base]}年"
            elif base.startswith("近"):
                n = _int(base[1:-1]) or 0
                if n:
                    means = f"{doc_year - n + 1}—{doc_year}年"
        out.append(DateMention(start=m.start(), end=m.end(), text=m.group(0), year=year, month=month, day=day,
                               relative=rel, means=means,
                               span=bool(m.group("until") or m.group("year4") or m.group("era"))))
    return out
