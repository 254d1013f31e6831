"""Whether the documents answer a question at all, and how sure we are.

A search always returns its least bad passages; this module says when they do not answer (紫色的大象为什么会唱京剧,
晋城市的常住人口有多少万人 on a corpus that never gives it). It reads three things of the ranked candidates:

* `similarity`: the best dense score (cosine of question and passage, sentence-aware, see `qa.fusion`) among
  them. An off-topic question finds nothing close in meaning; its best passage scores ~0.80-0.87 where a real
  question's scores ~0.88-0.95 (the default model).
* `coverage`: the largest share of the question's content weight (IDF of its words; the places it names and the
  question words 多少/哪一年/是否 left out) that one passage holds. When the question names places, only
  passages of documents about those places count: 广州市推行拿地即开工了吗 finds 拿地即开工, but not in 广州.
* whether a short or places answer was found: a quantity, date, body or places question whose evidence yields
  no answer (what is asked is not in the documents) needs much stronger evidence to count as answered.

`confidence` = 1 / (1 + exp(-(b + w_s * (similarity - 0.88) * 100 + w_c * coverage))): the logistic fit of
answerable (seed questions on the seed index, stard_train questions on their own index) against unanswerable
questions (eval/questions/unanswerable.jsonl: nonsense, off-topic, on-topic facts the corpus lacks; stard questions
on the seed index and seed questions on the stard index), each set weighted equally. `bench/abstention.py` refits
it and prints every set's figures. It reads as: among questions like those sets, how likely the best passages
answer. A question is answerable when a fact question (quantity, date, body, places) got its answer, or when
`confidence` reaches `FACT_BAR` (fact questions without an answer, and questions most of whose content words
stand in no passage) or `OTHER_BAR` (others). The bars were chosen so
that at most one seed question is flagged: a real question flagged is as harmful as a nonsense one answered.
The similarity weight is calibrated for the default model; another model's cosines sit elsewhere.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from .answer_sentences import idf, nfkc_without_spaces_or_quotes
from .document_places import doc_places
from .question import Question

# fitted by bench/abstention.py (see the module docstring)
BIAS, SIMILARITY_WEIGHT, COVERAGE_WEIGHT = -2.616, 1.149, 1.780
SIMILARITY_CENTRE = 0.88
FACT_BAR = 0.5  # a fact question without an answer
OTHER_BAR = 0.1  # any other question
MISSING_SHARE = 0.8  # ... unless this share of its content weight stands in no passage: then FACT_BAR
FACT_ASKS = ("quantity", "date", "body", "places")
# question words and fillers: they say what kind of answer is wanted, not what it is about
_ASKING = re.compile(
    r"^(?:多少|多少钱|是多少|第几|几[次个年位项天件名家]?|哪一?年|哪一?天|哪些|哪个|哪位|哪项|哪里|哪儿|时候|什么|干什么|"
    r"怎样|怎么|如何|为什么|为何|谁|是否|能否|能不能|可以|可否|吗|呢|多远|多久|多长|多大|多高)$"
)
_TELLING = 7.0  # a word this rare (IDF) that no passage holds is named in the reason
# what the page and the CLI say above the passages when the documents do not answer
NOT_ANSWERED = "文件中没有找到能直接回答这个问题的内容，以下是最接近的段落"


@dataclass(frozen=True)
class Answerability:
    """Whether the documents answer the question; `reason` says why not, for the reader (Chinese)."""

    answerable: bool
    confidence: float  # 0..1, see the module docstring
    similarity: float
    coverage: float
    reason: str = ""

    def to_dict(self) -> dict:
        return {"answerable": self.answerable, "confidence": round(self.confidence, 3),
                "similarity": round(self.similarity, 4), "coverage": round(self.coverage, 3), "reason": self.reason}


def content_terms(question: Question) -> list[tuple[str, float]]:
    """The question's weighted words that say what it is about: no places it names, no question words."""
    names = {p.name for p in question.places} | {p.name[:2] for p in question.places}
    terms = question.analysis.terms if question.analysis else ()
    return [(t, w) for t, w in terms if t not in names and not any(t in n for n in names) and not _ASKING.match(t)]


def _about_places(question: Question, passage, documents: Mapping[str, object]) -> bool:
    """The passage's document concerns a place the question names (or the question names none)."""
    if not question.places:
        return True
    doc = documents.get(passage.doc_id)
    codes = set(doc_places(doc).scores) if doc is not None else set()
    return any(p.code in codes or p.name in passage.text or p.name[:2] in passage.text for p in question.places)


def confidence_of(similarity: float, coverage: float) -> float:
    x = BIAS + SIMILARITY_WEIGHT * (similarity - SIMILARITY_CENTRE) * 100 + COVERAGE_WEIGHT * coverage
    return 1.0 / (1.0 + math.exp(-x))


def signals(question: Question, candidates: Sequence, documents: Mapping[str, object]) -> tuple[float, float, bool]:
    """(best similarity, best place-aware coverage, whether a passage concerns the places named) of the candidates."""
    terms = content_terms(question)
    total = sum(w for _, w in terms)
    similarity = max((p.similarity for p in candidates if p.similarity is not None), default=0.0)
    coverage, place_found = 0.0, not question.places
    for p in candidates:
        if not _about_places(question, p, documents):
            continue
        place_found = True
        if total > 0:
            norm = nfkc_without_spaces_or_quotes(p.text)
            coverage = max(coverage, sum(w for t, w in terms if t in norm) / total)
    return similarity, coverage, place_found


def judge(question: Question, candidates: Sequence, documents: Mapping[str, object], answer=None) -> Answerability:
    """Whether `candidates` (ranked passages, with their `similarity`) answer `question`; `answer` is the short or
    places answer read from them, if any."""
    similarity, coverage, place_found = signals(question, candidates, documents)
    confidence = confidence_of(similarity, coverage)
    fact = question.asks in FACT_ASKS
    if not candidates:
        return Answerability(False, 0.0, 0.0, 0.0, "没有找到相关段落")
    if not place_found:
        names = "、".join(p.name for p in question.places)
        return Answerability(False, min(confidence, 0.05), similarity, coverage, f"文件中没有关于{names}的内容")
    if fact and answer is not None:
        return Answerability(True, max(confidence, FACT_BAR), similarity, coverage)
    # most of what the question is about stands in no passage (晋城市的小升初划片政策是怎样的): only a passage
    # very close in meaning (a paraphrase) still counts
    bar = FACT_BAR if fact or _missing_share(question, candidates) >= MISSING_SHARE else OTHER_BAR
    if confidence >= bar:
        return Answerability(True, confidence, similarity, coverage)
    return Answerability(False, confidence, similarity, coverage, _why_not(question, candidates, fact))


def _missing_share(question: Question, candidates: Sequence) -> float:
    """The share of the question's content weight (words of two characters or more) that no candidate holds."""
    terms = [(t, w) for t, w in content_terms(question) if len(t) >= 2]
    total = sum(w for _, w in terms)
    if total <= 0:
        return 0.0
    texts = [nfkc_without_spaces_or_quotes(p.text) for p in candidates]
    return sum(w for t, w in terms if not any(t in x for x in texts)) / total


def _why_not(question: Question, candidates: Sequence, fact: bool) -> str:
    texts = [nfkc_without_spaces_or_quotes(p.text) for p in candidates]
    missing = [t for t, _ in content_terms(question)
               if len(t) >= 2 and idf(t) >= _TELLING and not any(t in x for x in texts)]
    if missing:
        return "文件中没有出现：" + "、".join(f"“{t}”" for t in missing[:3])
    if fact:
        return "最接近的段落里没有问题所问的内容"
    return "最接近的段落与问题只部分相关"
