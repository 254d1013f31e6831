"""Place mentions: the places a text names, each resolved to one division of `qa.divisions` (晋城市, 青岛崂山,
晋城市城区), found over the shared tokenizer's words."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from jieba import posseg  # jieba's dictionary with part-of-speech tags (ns: a place name)

from index.text import TOKENIZER, Tokenizer

from .divisions import COUNTY, PREFECTURE, PROVINCE, Division, DivisionTable, divisions

_MAX_TOKENS = 6  # a place name spans at most this many jieba tokens (萨尔图区, 延边朝鲜族自治州)
_BOOK_TITLE = re.compile(r"《[^《》\n]{0,80}》")
# generic words after a short name that show it names a place (晋城经济技术开发区, 济源日报)
_PLACE_FOLLOWERS = re.compile(
    r"(市委|市政府|市人民政府|县委|县政府|区委|区政府|人民政府|日报|晚报|示范区|经济技术开发区|开发区|高新区|经开区|新区|"
    r"市民|全市|全域)"
)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    surface: str
    division: Division
    in_book_title: bool = False

    @property
    def actor_eligible(self) -> bool:
        return not self.in_book_title


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    return getattr(posseg.dt, "word_tag_tab", {}) or {}


def _looks_like_place_word(surface: str) -> bool:
    """jieba's dictionary calls it a place name (ns)."""
    return _word_tags().get(surface, "").startswith("ns")


@dataclass
class _Raw:
    start: int
    end: int
    surface: str
    cands: list[Division]  # current divisions the surface can mean
    full: bool  # surface is a full standard name
    prefixed_by: Division | None  # an ancestor named right before it (青岛|崂山, 晋城市|城区)


def spans_of(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= pos < e for s, e in spans)


def _raw_mentions(text: str, table: DivisionTable, tokenizer: Tokenizer = TOKENIZER) -> list[_Raw]:
    toks = [(t.text, t.start, t.end) for t in tokenizer.cut(text)]
    out: list[_Raw] = []
    i = 0
    while i < len(toks):
        best = None
        for j in range(min(len(toks), i + _MAX_TOKENS) - 1, i - 1, -1):
            s, e = toks[i][1], toks[j][2]
            surface = text[s:e]
            if len(surface) > table.max_len or "\n" in surface:
                continue
            full = [d for d in table.by_name.get(surface, []) if not d.superseded]
            short = [d for d in table.by_short.get(surface, []) if not d.superseded]
            if full or short:
                best = (j, surface, full, short, s, e)
                break
        if best is None:
            i += 1
            continue
        j, surface, full, short, s, e = best
        prev = out[-1] if out and out[-1].end == s else None
        prev_divs = prev.cands if prev else []
        cands = full or short
        prefixed_by = None
        if prev_divs:
            under = [d for d in cands if any(table.is_ancestor(p, d) for p in prev_divs)]
            if under:
                cands = under
                prefixed_by = next(p for p in prev_divs if any(table.is_ancestor(p, d) for d in under))
                if len(prev.cands) > 1:  # the prefix is now told apart too (湘潭 + 湘潭县 -> 湘潭市)
                    prev.cands = [prefixed_by]
        out.append(_Raw(s, e, surface, cands, bool(full), prefixed_by))
        i = j + 1
    return out


def _choose(raw: _Raw, table: DivisionTable, context: list[Division]) -> Division | None:
    """The division a raw mention means, or None (ambiguous / not shown to be a place)."""
    if len(raw.cands) == 1:
        return raw.cands[0]
    if raw.prefixed_by is not None:
        return None  # still ambiguous under its prefix
    if raw.full:
        if len(raw.surface) < 3:
            return None  # 城区, 郊区, 矿区: only with a prefix
        inside = [d for d in raw.cands if any(c == d or table.is_ancestor(c, d) for c in context)]
        return inside[0] if len(inside) == 1 else None
    # a shared short name: the one tied to the document's places, else the highest level
    # (湘潭 on a page about 湘潭县, which it names again and again -> 湘潭县, not 湘潭市)
    named = Counter(c.code for c in context)
    inside = [d for d in raw.cands
              if any(c == d or table.is_ancestor(c, d) or table.is_ancestor(d, c) for c in context)]
    if len(inside) >= 1:
        inside.sort(key=lambda d: (-named.get(d.code, 0), d.level))
        best = inside[0]
        if len(inside) > 1 and (named.get(inside[1].code, 0), inside[1].level) == (named.get(best.code, 0), best.level):
            return None
        return best
    top = min(d.level for d in raw.cands)
    best = [d for d in raw.cands if d.level == top]
    return best[0] if len(best) == 1 else None


def find_mentions(text: str, attesting_text: str = "", table: DivisionTable | None = None) -> list[Mention]:
    """Places named in `text`, in order, each resolved to one division.

    A full name of three or more characters counts anywhere (晋城市, 湘潭县, 崂山区). A name shared
    by several divisions (城区, 朝阳区) needs its parent right before it (晋城市城区) or a single
    candidate tied to the other places named. A bare short name counts when it is told to be a
    place: after its parent (青岛崂山), followed by a word like 日报/示范区/开发区, or when the text
    (or `attesting_text`: title and source) also names the same place by its full name - or, for
    a province or city, when jieba's dictionary knows it as a place name.
    """
    table = table or divisions()
    raws = _raw_mentions(text, table)
    att_raws = _raw_mentions(attesting_text, table) if attesting_text else []

    def strong(r: _Raw, src: str) -> bool:
        if r.prefixed_by is not None:
            return True
        if r.full and len(r.surface) >= 3:
            return True
        return bool(_PLACE_FOLLOWERS.match(src, r.end))

    # divisions named unmistakably somewhere: they vouch for weaker mentions of the same place
    attested: list[Division] = []
    for rs, src in ((raws, text), (att_raws, attesting_text)):
        for r in rs:
            if strong(r, src) and len(r.cands) == 1:
                attested.append(r.cands[0])
    att_codes = {d.code for d in attested}

    out: list[Mention] = []
    books = spans_of(text, _BOOK_TITLE)
    for r in raws:
        d = _choose(r, table, attested)
        if d is None:
            continue
        if not strong(r, text):
            ok = d.code in att_codes
            if not ok and d.level in (PROVINCE, PREFECTURE):
                ok = _looks_like_place_word(r.surface)
            if not ok and d.level == COUNTY and table.parent(d) is not None and table.parent(d).level == PROVINCE:
                ok = _looks_like_place_word(r.surface)  # a province-governed county-level city (济源)
            if not ok and d.level == COUNTY and r.full:
                ok = _looks_like_place_word(r.surface)  # two-character county names (睢县)
            if not ok and d.level == COUNTY and not r.full:
                ok = _looks_like_place_word(r.surface) and len(table.by_short.get(r.surface, [])) == 1
            if not ok:
                continue
        out.append(Mention(r.start, r.end, r.surface, d, inside(r.start, books)))
    return out


def most_specific(ms: Iterable[Mention], table: DivisionTable) -> list[Mention]:
    """The mentions no other mention lies inside (晋城市城区, not 晋城市 as well)."""
    ms = list(ms)
    return [m for m in ms if not any(table.is_ancestor(m.division, o.division) for o in ms)]
