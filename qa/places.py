"""Extractive place answers: which places do what the question asks, each with its evidence.

For a question like 哪些城市推行拿地即开工? the answer lists each place once, by its standard name,
with the one sentence of a retrieved passage that ties it to the topic (拿地即开工) and the
citation. Precision comes before recall; a place is listed only when a sentence of a retrieved
passage

1. holds the topic: every topic phrase of the question (`qa.answer_sentences.analyze`), and
2. names its actor, in one of three ways:
   * by name (晋城市, 保定, 青岛崂山, 晋城市城区) - names come from `qa.divisions`, a maintained
     dataset, and a bare short name must look like a place in this document;
   * by a deictic (我市, 本市, 全市, 该市, 我区, 该区, 全区, 该县, 示范区 ...), resolved to the place
     the document - or, on a newspaper page holding several articles, the article - is about;
   * by leaving the subject out (围绕…, 推行“拿地即开工…”一链审批服务模式) where the document or
     the article is clearly about one place: the subject is that place.
   Places merely mentioned elsewhere near the topic, or inside a 《book title》, stay out.

Resolution says what it did in `PlaceItem.resolved_from` (我市 -> 晋城市 (太行日报)).
Questions for 城市 lift a district or county to its city; 省 questions lift to the province; 县/区
questions keep only county-level places. Items follow the passage ranking.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from index.sentences import split_sentences, strip_span
from index.tokenization import TOKENIZER, Tokenizer

from .answer_sentences import (
    analyze, nfkc_without_spaces_or_quotes, phrase_in, phrase_weight, place_kind, place_question_match, topic_in,
)
from .citation import cite_document
from .divisions import COUNTY, PREFECTURE, PROVINCE, Division, DivisionTable, divisions

_MAX_TOKENS = 6  # a place name spans at most this many jieba tokens (萨尔图区, 延边朝鲜族自治州)
_BOOK_TITLE = re.compile(r"《[^《》\n]{0,80}》")
# generic words after a short name that show it names a place (晋城经济技术开发区, 济源日报)
_PLACE_FOLLOWERS = re.compile(
    r"(市委|市政府|市人民政府|县委|县政府|区委|区政府|人民政府|日报|晚报|示范区|经济技术开发区|开发区|高新区|经开区|新区|"
    r"市民|全市|全域)"
)
# deictics: words that point at the place the text is about
# (全省, 全国 give a scope - 居全省第2位 - not an actor)
_DEICTIC = re.compile(r"(?:(?:我|本|该)(?:市|区|县|省)|全(?:市|区|县))(?!场|长|民|委|直)|示范区|当地|本地")
_DEICTIC_LEVEL = {"市": "city", "区": "district", "县": "county", "省": "province"}
# a mention right after one of these is an example followed, not an actor
_NOT_ACTOR_BEFORE = re.compile(r"(借鉴|学习|对标|参照|参考|赴|前往|考察|来自|对接)[^，。；,;]{0,3}$")
_HEADING_MAX = 40
IMPLICIT_SUBJECT = "（未写明主体）"  # resolved_from prefix when the sentence leaves its subject out
_SENTENCE_FINAL = "。！？!?；;…"


# ----------------------------------------------------------------------------- answer types
@dataclass
class PlaceItem:
    name: str  # standard name (晋城市; 晋城市城区 when the bare name is shared)
    evidence: str  # == documents[doc_id].text[start:end], the evidence sentence exactly
    doc_id: str
    start: int
    end: int
    citation: str
    resolved_from: str | None = None  # how the place was read off the sentence, if not by name

    def to_dict(self) -> dict:
        return {"name": self.name, "evidence": self.evidence, "doc_id": self.doc_id, "start": self.start,
                "end": self.end, "citation": self.citation, "resolved_from": self.resolved_from}

    def evidence_line(self) -> str:
        """The evidence as shown to a reader, with how the place was resolved."""
        return f"{self.evidence}（{self.resolved_from}）" if self.resolved_from else self.evidence


@dataclass
class PlaceAnswer:
    items: list[PlaceItem] = field(default_factory=list)
    type: str = "places"

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.items]

    def to_dict(self) -> dict:
        return {"type": self.type, "items": [i.to_dict() for i in self.items]}


def is_place_question(question: str) -> bool:
    """True when the question asks which places (哪些城市, 哪个区, 哪里, 什么地方, 哪几个市 ...)."""
    return place_question_match(question) is not None


# ----------------------------------------------------------------------------- place mentions
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
    from jieba import posseg  # its dictionary's part-of-speech tags, loaded on import

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


def _spans(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
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
    books = _spans(text, _BOOK_TITLE)
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
        out.append(Mention(r.start, r.end, r.surface, d, _inside(r.start, books)))
    return out


# ----------------------------------------------------------------------------- document places
@dataclass
class DocPlaces:
    """What a document says about places: its mentions, headings, and the place it is about."""

    mentions: list[Mention]
    sentences: list[tuple[int, int]]
    headings: list[tuple[int, int]]
    multi_article: bool
    scores: dict[str, float]  # division code -> how much the document is about it
    supported: set[str]  # codes named in the title or source
    title_source_mentions: list[Mention]
    basis: str  # what a reader can check the resolution against (source, else title)


def _heading_spans(text: str) -> list[tuple[int, int]]:
    out = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if 0 < len(stripped) <= _HEADING_MAX and not any(c in stripped for c in _SENTENCE_FINAL):
            out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def _most_specific(ms: Iterable[Mention], table: DivisionTable) -> list[Mention]:
    ms = list(ms)
    return [m for m in ms if not any(table.is_ancestor(m.division, o.division) for o in ms)]


def _doc_key(doc) -> str:
    return hashlib.sha1(f"{doc.doc_id}\x00{doc.title}\x00{doc.source}\x00{doc.text}".encode("utf-8")).hexdigest()


_DOC_CACHE: dict[str, DocPlaces] = {}


def doc_places(doc) -> DocPlaces:
    """Place analysis of an `index.Document`, computed once per document text."""
    key = _doc_key(doc)
    hit = _DOC_CACHE.get(key)
    if hit is not None:
        return hit
    table = divisions()
    head = "\n".join(x for x in (doc.title, doc.source) if x)
    mentions = find_mentions(doc.text, head, table)
    ts_mentions = find_mentions(head, doc.text, table) if head else []
    headings = _heading_spans(doc.text)

    heading_places: list[Division] = []
    for hs, he in headings:
        inside = [m for m in mentions if hs <= m.start < he and m.actor_eligible]
        for m in _most_specific(inside, table):
            if m.division not in heading_places:
                heading_places.append(m.division)
    unrelated = [d for d in heading_places
                 if not any(o != d and (table.is_ancestor(o, d) or table.is_ancestor(d, o)) for o in heading_places)]
    multi = len(unrelated) >= 2

    scores: dict[str, float] = {}

    def add(d: Division, w: float) -> None:
        scores[d.code] = scores.get(d.code, 0.0) + w
        for anc in table.chain(d)[:-1]:
            scores[anc.code] = scores.get(anc.code, 0.0) + w * 0.5

    for m in mentions:
        if m.actor_eligible:
            add(m.division, 1.0)
    supported = set()
    for m in _most_specific(ts_mentions, table):
        add(m.division, 3.0)
        supported.add(m.division.code)
    dp = DocPlaces(mentions=mentions, sentences=split_sentences(doc.text), headings=headings, multi_article=multi,
                   scores=scores, supported=supported, title_source_mentions=ts_mentions,
                   basis=doc.source or doc.title or doc.doc_id)
    if len(_DOC_CACHE) > 256:
        _DOC_CACHE.clear()
    _DOC_CACHE[key] = dp
    return dp


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


def _local_place(dp: DocPlaces, offset: int, level: str, table: DivisionTable) -> tuple[Division, str] | None:
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


# ----------------------------------------------------------------------------- the answer
def _lift(d: Division, kind: str, table: DivisionTable) -> Division | None:
    if kind == "city":
        return table.city_of(d)
    if kind == "province":
        return table.province_of(d)
    if kind == "county":
        return d if d.level == COUNTY else None
    return d


def _question_scope(question: str, table: DivisionTable) -> tuple[str, list[Division]]:
    """Places named in the question (河南哪些城市…) restrict the answer; they leave the topic."""
    ms = find_mentions(question, "", table)
    scope = [m.division for m in _most_specific(ms, table)]
    q = question
    for m in sorted(ms, key=lambda m: -m.start):
        q = q[: m.start] + q[m.end:]
    return q, scope


def _in_scope(d: Division, scope: list[Division], table: DivisionTable) -> bool:
    return not scope or any(s == d or table.is_ancestor(s, d) for s in scope)


_CLAUSE_BREAK = re.compile(r"[，,；;：:、]")


def _in_topic_clauses(named: list[Mention], s: int, e: int, text: str, analysis) -> list[Mention]:
    """Of several places named in one sentence, those in the clause(s) holding the topic's rarest
    word (睢县鞋业“睢县速度”、永城的“就近办…”等均成为经典案例 ->
    睢县 for 哪些县的鞋业成为经典案例)."""
    bounds = [s] + [m.end() for m in _CLAUSE_BREAK.finditer(text, s, e)] + [e]
    clauses = list(zip(bounds[:-1], bounds[1:]))
    scores = []
    for cs, ce in clauses:
        norm = nfkc_without_spaces_or_quotes(text[cs:ce])
        weights = [phrase_weight(p) for p in analysis.phrases if phrase_in(p, norm)]
        weights += [w for t, w in analysis.terms if t in norm]
        scores.append(max(weights, default=0.0))
    top = max(scores, default=0.0)
    if top <= 0:
        return []
    hot = [c for c, sc in zip(clauses, scores) if sc == top]
    return [m for m in named if any(cs <= m.start < ce for cs, ce in hot)]


def _sentence_places(dp: DocPlaces, s: int, e: int, text: str, table: DivisionTable,
                     analysis=None) -> list[tuple[Division, str | None]]:
    """The actors of sentence text[s:e]: (division, how it was resolved; None when named)."""
    named = [m for m in dp.mentions if s <= m.start < e and m.actor_eligible
             and not _NOT_ACTOR_BEFORE.search(text[max(s, m.start - 8):m.start])]
    named = _most_specific(named, table)
    if len(named) >= 2 and analysis is not None:
        named = _in_topic_clauses(named, s, e, text, analysis) or named
    out: list[tuple[Division, str | None]] = []
    for m in named:
        if all(m.division != d for d, _ in out):
            out.append((m.division, None))
    sentence = text[s:e]
    named_spans = [(m.start, m.end) for m in dp.mentions if m.end > s and m.start < e]
    deictics = [x for x in _DEICTIC.finditer(sentence) if not _inside(s + x.start(), named_spans)]
    for x in deictics:
        word = x.group(0)
        level = _DEICTIC_LEVEL.get(word[-1], "any") if len(word) == 2 and word[0] in "我本该全" else "any"
        found = _local_place(dp, s + x.start(), level, table)
        if found is None:
            continue
        d, basis = found
        if all(d != o and not table.is_ancestor(d, o) for o, _ in out):
            out.append((d, f"{word} -> {table.display_name(d)} ({basis})"))
    if not named and not deictics:
        found = _local_place(dp, s, "any", table)
        if found is not None:
            d, basis = found
            out.append((d, f"{IMPLICIT_SUBJECT} -> {table.display_name(d)} ({basis})"))
    # a place that only contains another actor of the sentence is its setting, not an actor
    # (该县荣获湖南省…典型县: 湘潭县, not 湖南省)
    return [(d, how) for d, how in out if not any(table.is_ancestor(d, o) for o, _ in out)]


def _citation(doc, start: int) -> str:
    return cite_document(doc, start, start + 1)


def answer_places(question: str, passages: Sequence, documents: Mapping[str, object]) -> PlaceAnswer | None:
    """The places a place question asks for, each tied to the topic by a sentence of a retrieved
    passage; None when the question asks for no place or no place is supported."""
    if not question or not is_place_question(question):
        return None
    table = divisions()
    kind = place_kind(question) or "any"
    topic_question, scope = _question_scope(question, table)
    analysis = analyze(topic_question)
    if not analysis.phrases:
        return None

    # code -> (item, strength); strength: 0 named, 1 deictic, 2 subject left out; +0.5 when lifted
    found: dict[str, tuple[PlaceItem, float]] = {}
    for p in sorted(passages, key=lambda p: getattr(p, "rank", 0)):
        doc = documents.get(p.doc_id)
        if doc is None:
            continue
        dp = doc_places(doc)
        text = doc.text
        for s, e in dp.sentences:
            if e <= p.start or s >= p.end:
                continue
            s, e = strip_span(text, s, e)
            if e <= s or not topic_in(analysis, text[s:e]):
                continue
            for d, how in _sentence_places(dp, s, e, text, table, analysis):
                target = _lift(d, kind, table)
                if target is None or not _in_scope(target, scope, table):
                    continue
                strength = 0.0 if how is None else (2.0 if how.startswith(IMPLICIT_SUBJECT) else 1.0)
                if target != d:
                    strength += 0.5
                    via = how or table.display_name(d)
                    how = f"{via} -> {table.display_name(target)}"
                item = PlaceItem(name=table.display_name(target), evidence=text[s:e], doc_id=doc.doc_id,
                                 start=s, end=e, citation=_citation(doc, s), resolved_from=how)
                old = found.get(target.code)
                if old is None or strength < old[1]:
                    found[target.code] = (item, strength)  # a plainer evidence replaces, the place keeps its rank
    items = [item for item, _ in found.values()]
    return PlaceAnswer(items=items) if items else None


__all__ = ["IMPLICIT_SUBJECT", "PlaceAnswer", "PlaceItem", "answer_places", "doc_places", "find_mentions",
           "is_place_question"]
