"""Place questions: whether a question asks which places (哪些城市, 哪个区, 哪里, 什么地方), what kind of
place it wants, and which places it names to restrict the answer (河南哪些城市…)."""
from __future__ import annotations

import re
import unicodedata

from .divisions import COUNTY, Division, DivisionTable
from .place_mentions import find_mentions, most_specific

# "which place(s)" in a question: 哪些城市, 哪个区, 哪几个市, 哪里, 什么地方 ...
PLACE_QUESTION = re.compile(
    r"(哪(?:些|个|几个|一个|几|座|所)?\s*(?P<kind>县级市|地级市|城市|地方|地区|地市|省份|省区|省市|县区|区县|县市|市县|省|市(?!场)|县|区(?![块别间])|旗|州|城|地(?![址点图]))"
    r"|(?P<where>哪里|哪儿|何地|何处|何方)"
    r"|什么(?P<kind2>地方|城市|地区|省份|省|市(?!场)|县|区(?![块别间])))"
)


def place_question_match(question: str) -> re.Match | None:
    return PLACE_QUESTION.search(unicodedata.normalize("NFKC", question or ""))


def place_kind(question: str) -> str | None:
    """What a place question asks for: "city", "province", "county", "any"; None if it asks no place."""
    m = place_question_match(question)
    if not m:
        return None
    kind = m.group("kind") or m.group("kind2") or ""
    if kind in ("城市", "市", "城", "地市", "县市", "市县", "县级市", "地级市"):
        return "city"
    if kind in ("省", "省份", "省区", "省市"):
        return "province"
    if kind in ("县", "区", "县区", "区县", "旗"):
        return "county"
    return "any"


def is_place_question(question: str) -> bool:
    """True when the question asks which places (哪些城市, 哪个区, 哪里, 什么地方, 哪几个市 ...)."""
    return place_question_match(question) is not None


def lift_to_kind(d: Division, kind: str, table: DivisionTable) -> Division | None:
    """The place of the kind asked for that holds `d` (a district's city for 哪些城市); None when none does."""
    if kind == "city":
        return table.city_of(d)
    if kind == "province":
        return table.province_of(d)
    if kind == "county":
        return d if d.level == COUNTY else None
    return d


def question_scope(question: str, table: DivisionTable) -> tuple[str, list[Division]]:
    """Places named in the question (河南哪些城市…) restrict the answer; they leave the topic."""
    ms = find_mentions(question, "", table)
    scope = [m.division for m in most_specific(ms, table)]
    q = question
    for m in sorted(ms, key=lambda m: -m.start):
        q = q[: m.start] + q[m.end:]
    return q, scope


def in_scope(d: Division, scope: list[Division], table: DivisionTable) -> bool:
    """`d` lies in a place the question named (or the question named none)."""
    return not scope or any(s == d or table.is_ancestor(s, d) for s in scope)
