"""An `Answer`: the ranked passages for a question and, when the evidence carries it, the answer itself: the
places a list question asks for, or a short answer (a number, a date, a body, a list, a yes/no)."""
from __future__ import annotations

from dataclasses import dataclass

from .answer_sentences import best_sentences
from .passage import Passage
from .places import PlaceAnswer, answer_places
from .question import Question
from .search import Filters, Searcher, without_non_text
from .short_answers import ShortAnswer, answer_short

# answers are read from a deeper list than is shown: a city's only evidence may rank 6th-10th
ANSWER_DEPTH = 10


@dataclass
class Answer:
    question: str
    passages: list[Passage]
    answer: PlaceAnswer | ShortAnswer | None = None
    notice: str = ""

    @property
    def places(self) -> PlaceAnswer | None:
        return self.answer if isinstance(self.answer, PlaceAnswer) else None

    def to_dict(self) -> dict:
        d = {
            "question": self.question,
            "passages": [p.to_dict() for p in self.passages],
            "answer": self.answer.to_dict() if self.answer else None,
        }
        if self.notice:
            d["notice"] = self.notice
        return d


def _mark_evidence(passages: list[Passage], short: ShortAnswer) -> None:
    """The sentence a short answer was read from is the one marked in its passage: the marking follows what
    was asked, not only shared words."""
    span = (short.evidence_start, short.evidence_end)
    for p in passages:
        if p.doc_id == short.doc_id and p.start <= span[0] and span[1] <= p.end and span not in p.highlights:
            others = [h for h in p.highlights if h[1] <= span[0] or h[0] >= span[1]]
            p.highlights = sorted([span] + others[:1])


def answer_from(question: Question, candidates, documents) -> PlaceAnswer | ShortAnswer | None:
    """The answer the ranked `candidates` carry for what `question` asks: its places, or its short answer."""
    if question.asks == "places":
        return answer_places(question, candidates, documents)
    return answer_short(question, candidates, documents)


def ask(searcher: Searcher, question: str | Question, k: int = 5, filters: Filters | None = None) -> Answer:
    """Search, mark the answering sentences in each passage, and answer what was asked."""
    q = searcher.prepare(question)
    candidates = searcher.search(q, k=max(k, ANSWER_DEPTH), filters=filters)
    passages = candidates[:k]
    for p in passages:
        p.highlights = best_sentences(q, p.text, p.start)
    answer = answer_from(q, candidates, searcher.store.documents)
    if isinstance(answer, ShortAnswer):
        _mark_evidence(passages, answer)
    shown = without_non_text(str(question)).strip() if not isinstance(question, Question) else question.text
    return Answer(question=shown, passages=passages, answer=answer, notice=q.notice)
