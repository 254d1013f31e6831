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

Resolution says what it did in `PlaceItem.resolved_from`, as a sentence a reader can check
(文中“我市”指晋城市，据出处“太行日报”; 句中未写主体，指保定市，据前文“保定市”).
Questions for 城市 lift a district or county to its city; 省 questions lift to the province; 县/区
questions keep only county-level places. Items follow the passage ranking.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from index.text import strip_span

from .answer_sentences import analyze, nfkc_without_spaces_or_quotes, phrase_in, phrase_weight, topic_in
from .citation import cite_document
from .deictics import DEICTIC, deictic_level, local_place
from .divisions import Division, DivisionTable, divisions
from .document_places import DocPlaces, doc_places
from .place_mentions import Mention, find_mentions, inside, most_specific
from .place_questions import in_scope, is_place_question, lift_to_kind, place_kind, question_scope
from .question import Question

# a mention right after one of these is an example followed, not an actor
_NOT_ACTOR_BEFORE = re.compile(r"(借鉴|学习|对标|参照|参考|赴|前往|考察|来自|对接)[^，。；,;]{0,3}$")
IMPLICIT_SUBJECT = "句中未写主体"  # resolved_from prefix when the sentence leaves its subject out


def _basis(basis: str) -> str:
    """据前文“保定市” / 据出处“太行日报”: what the resolution rests on."""
    if basis.startswith("前文："):
        return f"据前文“{basis.removeprefix('前文：')}”"
    return f"据出处“{basis}”"


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
        """The shape every answer has (see qa.short_answers.ShortAnswer); the places are in `items`, each with its
        own evidence and offsets, so the top-level text and offsets are null."""
        return {"type": self.type, "text": None, "doc_id": None, "start": None, "end": None, "evidence": None,
                "evidence_start": None, "evidence_end": None, "citation": None,
                "items": [i.to_dict() for i in self.items], "alternatives": []}


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
    named = most_specific(named, table)
    if len(named) >= 2 and analysis is not None:
        named = _in_topic_clauses(named, s, e, text, analysis) or named
    out: list[tuple[Division, str | None]] = []
    for m in named:
        if all(m.division != d for d, _ in out):
            out.append((m.division, None))
    sentence = text[s:e]
    named_spans = [(m.start, m.end) for m in dp.mentions if m.end > s and m.start < e]
    deictics = [x for x in DEICTIC.finditer(sentence) if not inside(s + x.start(), named_spans)]
    for x in deictics:
        word = x.group(0)
        found = local_place(dp, s + x.start(), deictic_level(word), table)
        if found is None:
            continue
        d, basis = found
        if all(d != o and not table.is_ancestor(d, o) for o, _ in out):
            out.append((d, f"文中“{word}”指{table.display_name(d)}，{_basis(basis)}"))
    if not named and not deictics:
        found = local_place(dp, s, "any", table)
        if found is not None:
            d, basis = found
            out.append((d, f"{IMPLICIT_SUBJECT}，指{table.display_name(d)}，{_basis(basis)}"))
    # a place that only contains another actor of the sentence is its setting, not an actor
    # (该县荣获湖南省…典型县: 湘潭县, not 湖南省)
    return [(d, how) for d, how in out if not any(table.is_ancestor(d, o) for o, _ in out)]


def _citation(doc, start: int) -> str:
    return cite_document(doc, start, start + 1)


def answer_places(question, passages: Sequence, documents: Mapping[str, object]) -> PlaceAnswer | None:
    """The places a place question (a `qa.Question`, or its text) asks for, each tied to the topic by a sentence
    of a retrieved passage; None when the question asks for no place or no place is supported."""
    table = divisions()
    if isinstance(question, Question):
        if question.asks != "places":
            return None
        kind = question.place_kind or "any"
        topic_question, scope = question.scope_topic, list(question.places)
    else:
        if not question or not is_place_question(question):
            return None
        kind = place_kind(question) or "any"
        topic_question, scope = question_scope(question, table)
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
                target = lift_to_kind(d, kind, table)
                if target is None or not in_scope(target, scope, table):
                    continue
                strength = 0.0 if how is None else (2.0 if how.startswith(IMPLICIT_SUBJECT) else 1.0)
                if target != d:
                    strength += 0.5
                    via = how or f"文中是{table.display_name(d)}"
                    how = f"{via}；{table.display_name(d)}属{table.display_name(target)}"
                item = PlaceItem(name=table.display_name(target), evidence=text[s:e], doc_id=doc.doc_id,
                                 start=s, end=e, citation=_citation(doc, s), resolved_from=how)
                old = found.get(target.code)
                if old is None or strength < old[1]:
                    found[target.code] = (item, strength)  # a plainer evidence replaces, the place keeps its rank
    items = [item for item, _ in found.values()]
    return PlaceAnswer(items=items) if items else None


__all__ = ["IMPLICIT_SUBJECT", "PlaceAnswer", "PlaceItem", "answer_places", "doc_places", "find_mentions",
           "is_place_question"]
