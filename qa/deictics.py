"""Deictics: 我市, 本市, 全市, 该县, 示范区, 当地 ... resolved to the place the document - or, on a
newspaper page of several articles, the article - is about."""
from __future__ import annotations

import re

from .divisions import COUNTY, PROVINCE, Division, DivisionTable
from .document_places import DocPlaces

# deictics: words that point at the place the text is about
# (全省, 全国 give a scope - 居全省第2位 - not an actor)
DEICTIC = re.compile(r"(?:(?:我|本|该)(?:市|区|县|省)|全(?:市|区|县))(?!场|长|民|委|直)|示范区|当地|本地")
_DEICTIC_LEVEL = {"市": "city", "区": "district", "县": "county", "省": "province"}


def deictic_level(word: str) -> str:
    """The level a deictic points at: 我市 -> "city", 该县 -> "county"; "any" for 示范区, 当地."""
    return _DEICTIC_LEVEL.get(word[-1], "any") if len(word) == 2 and word[0] in "我本该全" else "any"


def _level_ok(d: Division, level: str) -> bool:
    if level == "city":
        return d.is_city
    if level == "district":
        return d.level == COUNTY and d.name.endswith("区")
    if level == "county":
        return d.level == COUNTY and d.name[-1] in "县旗"
    if level == "province":
        return d.level == PROVINCE
    return True


def _main_place(dp: DocPlaces, level: str, table: DivisionTable) -> Division | None:
    """The place a single-article document is about, at a level: the best-scoring one, when it is
    clearly ahead of any other place at that level it is not part of."""
    cands = sorted(((s, c) for c, s in dp.scores.items() if _level_ok(table.get(c), level)), reverse=True)
    if not cands:
        return None
    top_score, top_code = cands[0]
    top = table.get(top_code)
    if level == "any":
        # prefer the most specific place that carries the document (晋城市城区 over 晋城市)
        for s, c in cands[1:]:
            d = table.get(c)
            if table.is_ancestor(top, d) and (c in dp.supported or s >= 0.5 * top_score):
                top, top_code, top_score = d, c, s
    rivals = [s for s, c in cands if c != top_code and not table.is_ancestor(table.get(c), top)
              and not table.is_ancestor(top, table.get(c))]
    rival = max(rivals, default=0.0)
    if top_code in dp.supported and not any(c in dp.supported for s, c in cands if s == rival and rival > 0):
        return top
    return top if top_score >= 1.5 * rival and top_score >= 2 else None


def local_place(dp: DocPlaces, offset: int, level: str, table: DivisionTable) -> tuple[Division, str] | None:
    """The place text at `offset` is about, at a level: on a multi-article page the nearest place
    named before it; otherwise the document's place."""
    if dp.multi_article:
        before = [m for m in dp.mentions if m.end <= offset and m.actor_eligible and _level_ok(m.division, level)]
        if before:
            m = before[-1]
            d = m.division
            # a more specific place named just before (湖南省湘潭市湘潭县 ... -> 湘潭县)
            near = [o for o in before if o.start >= m.start - 300 and table.is_ancestor(d, o.division)]
            if near:
                d = near[-1].division
                m = near[-1]
            return d, f"前文：{m.surface}"
        return None
    d = _main_place(dp, level, table)
    return (d, dp.basis) if d else None
