"""Numbers as a document writes them: 38个, 91万余件, 3.17亿元, 三十八项, 第117位, 30日以上, 2~3个月, 百万户.

`find_quantities(text)` gives every quantity of a text with its offsets (`text[start:end] == q.text`), the
qualifiers kept (近, 约, 超过, 突破, 余, 多, 以上, 以下), the unit or measure word, and the value (cn2an reads
Chinese numerals; 万/亿 are applied) so that two documents' values can be compared. Years of dates (2023年),
days of dates (11月1日), list numbers (29.) and names made of digits (12345热线) are not quantities.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


def chinese_numeral(text: str) -> float:
    """三千五百 -> 3500, 1.2万 -> 12000 (cn2an's "smart" mode); raises ValueError (or KeyError) when it is not one."""
    # imported on the first numeral that is not plain digits: cn2an takes 0.15 s to import, and most questions
    # are answered without one
    import cn2an

    return cn2an.cn2an(text, "smart")


# measure words and units a number is counted in (longest first, so 亿元 wins over 亿)
# (万 and 亿 are magnitudes, read apart: 5078万美元 is 5078, 万, 美元)
CURRENCIES = ("元人民币", "元钱", "美元", "美金", "加元", "港元", "港币", "澳元", "欧元", "日元", "英镑", "卢布", "人民币", "元")
AREAS = ("平方公里", "平方千米", "平方米", "平方英里", "公顷", "亩")
LENGTHS = ("公里", "千米", "英里", "英尺", "厘米", "毫米", "海里", "米")
UNITS = CURRENCIES + AREAS + LENGTHS + (
    "个百分点", "千瓦时", "千瓦", "兆瓦", "小时", "分钟", "工作日", "个月", "余年", "周年", "%", "％", "‰", "倍",
    "个", "项", "件", "户", "家", "名", "位", "条", "所", "处", "起", "次", "天", "日", "年", "人", "批", "期", "类",
    "座", "台", "套", "笔", "份", "篇", "场", "栋", "间", "辆", "吨", "公斤", "千克", "克", "岁", "届", "款",
    "株", "只", "部", "支", "种", "张", "册", "本", "轮", "季", "周", "秒", "对", "层", "集", "首", "章", "卷", "页",
    "枚", "匹", "头", "艘", "架", "列", "颗", "层楼", "座位", "席", "票", "分", "人次", "代", "公分", "级", "强",
)
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
# 2,173 and 91,098 (thousands separated), 3.17, 4亿5000 (with 万 after it: 4亿5000万)
_ARABIC = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9０-９]+)(?:[.．][0-9０-９]+)?"
_CHINESE = r"[零〇一二两三四五六七八九十百千]+"
QUANTITY = re.compile(
    rf"(?P<pre>将近|接近|近|约|超过|超|逾|突破|不少于|不低于|不超过|不足|多达|最少|至少|最多)?"
    rf"(?P<ord>第\s?)?"
    rf"(?P<num>{_ARABIC}亿{_ARABIC}(?=万)|{_ARABIC}(?:\s*[~～\-—－至到]\s*{_ARABIC})?|{_CHINESE}(?:[至到]{_CHINESE})?)"
    rf"(?P<mag>[万亿]{{1,2}})?(?P<approx>余|多)?\s?(?P<unit>{_UNIT_ALT})?"
    # a range with the unit on both ends: 900米至1,900米
    rf"(?:\s*[~～\-—－至到]\s*{_ARABIC}(?:[万亿]{{1,2}})?(?P=unit))?"
    rf"(?P<post>以上|以下|以内|及以上|及以下|左右|余|多)?"
)
# a 4-digit number before 年 is a year (2023年), not a count of years
_YEAR_LIKE = re.compile(r"^(1[89]|20)\d\d$")
PERCENT = ("%", "％", "‰", "个百分点")
DURATION = ("天", "日", "小时", "分钟", "工作日", "个月", "年", "周", "秒", "余年")
_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")


@dataclass(frozen=True)
class Quantity:
    start: int
    end: int
    text: str
    number: str  # the digits or numerals as written (38, 三十八, 2~3)
    unit: str  # 个, 亿元, % ... ("" when none; a magnitude alone such as 10亿 counts as money below)
    magnitude: str = ""  # 万, 亿
    ordinal: bool = False  # 第117位
    value: float | None = None

    @property
    def kind(self) -> str:
        """money, percent, duration, distance, rank, count, or bare."""
        return unit_kind(self.unit, self.magnitude, self.ordinal)


def unit_kind(unit: str, magnitude: str = "", ordinal: bool = False) -> str:
    """What a unit measures: money (亿元, or 10亿 with no unit), percent, duration, distance, rank (第N),
    count (个, 项, 户 ...), or bare (no unit)."""
    if ordinal:
        return "rank"
    if unit in CURRENCIES or (not unit and magnitude):
        return "money"
    if unit in PERCENT:
        return "percent"
    if unit in DURATION:
        return "duration"
    if unit in LENGTHS:
        return "distance"
    if unit in AREAS:
        return "area"
    return "count" if unit else "bare"


def number_value(number: str, magnitude: str = "") -> float | None:
    """The value of a number as written (三十八 -> 38, 3.17 with 亿 -> 317000000); None for ranges."""
    n = number.translate(_FULLWIDTH).replace(" ", "").replace(",", "")
    if re.search(r"[~～\-—－至到]", n):
        return None
    if "亿" in n:  # 4亿5000 (万): 4 亿 and 5000 万
        high, low = n.split("亿", 1)
        a, b = number_value(high), number_value(low, magnitude)
        return None if a is None or b is None else a * 100_000_000 + b
    try:
        value = float(n) if re.fullmatch(r"[0-9.]+", n) else float(chinese_numeral(n))
    except (ValueError, KeyError, TypeError):
        return None
    for m in magnitude:
        value *= 10_000 if m == "万" else 100_000_000
    return value


def find_quantities(text: str, start: int = 0, end: int | None = None) -> list[Quantity]:
    """Every quantity in text[start:end], offsets into `text`."""
    end = len(text) if end is None else end
    out: list[Quantity] = []
    for m in QUANTITY.finditer(text, start, end):
        num, unit, mag = m.group("num"), m.group("unit") or "", m.group("mag") or ""
        s = m.start()
        if not (unit or mag or m.group("ord")):
            continue  # 12345热线, 1.保障…: digits without a unit are names or list numbers
        chinese = not re.match(r"[0-9０-９]", num)
        if chinese and num in ("一", "两", "十", "百", "千") and not mag:
            continue  # 一件事, 一张申请表, 两个方面: words more than amounts
        if unit == "年" and _YEAR_LIKE.match(num.translate(_FULLWIDTH)) and not m.group("ord"):
            continue  # 2023年: a date
        if unit in ("日", "号") and s > 0 and text[s - 1] == "月":
            continue  # 11月1日
        if s > 0 and re.match(r"[0-9.．]", text[s - 1]):
            continue  # inside a longer number
        if chinese and s > 0 and re.match(r"[\u4e00-\u9fff]", text[s - 1]) and re.fullmatch("[一二三四五六七八九十]+", num) \
                and text[s - 1] in "星周第统唯专万":
            continue  # 星期一, 统一, 唯一
        if unit == "年" and re.search(r"\d+月$", text[max(0, s - 4):s]):
            continue
        e = m.end()
        ordinal = bool(m.group("ord"))
        out.append(Quantity(start=s, end=e, text=text[s:e], number=num, unit=unit, magnitude=mag,
                            ordinal=ordinal, value=number_value(num, mag)))
    return out
