"""An `Answer`: the ranked passages for a question, whether they answer it (`qa.answerable`), and, when the
evidence carries it, the answer itself: the places a list question asks for, or a short answer (a number, a
date, a body, a list, a yes/no). Each passage leads with the paragraph that answers, with its own citation."""
from __future__ import annotations

from dataclasses import dataclass

from .answer_sentences import best_sentences
from .answerable import Answerability, judge
from .citation import cite_document
from .passage import Lead, Passage
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
    answerability: Answerability | None = None

    @property
    def answerable(self) -> bool:
        return self.answerability.answerable if self.answerability else bool(self.passages)

    @property
    def places(self) -> PlaceAnswer | None:
        return self.answer if isinstance(self.answer, PlaceAnswer) else None

    def to_dict(self) -> dict:
        a = self.answerability
        d = {
            "question": self.question,
            "answerable": self.answerable,
            "confidence": round(a.confidence, 3) if a else None,
            "passages": [p.to_dict() for p in self.passages],
            "answer": self.answer.to_dict() if self.answer else None,
        }
        if a and not a.answerable:
            d["unanswerable_reason"] = a.reason
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


def lead_paragraphs(question: Question, passages: list[Passage], documents, short: ShortAnswer | None = None) -> None:
    """Mark each passage's answering sentences and set its leading paragraph: the paragraph holding the sentence
    that best answers (the short answer's own sentence where the passage holds it), clipped to the passage, with
    its own citation (第4段, 第3页 第12段)."""
    for p in passages:
        ranked = best_sentences(question, p.text, p.start, best_first=True)
        p.highlights = sorted(ranked)
        doc = documents.get(p.doc_id)
        if short is not None and short.doc_id == p.doc_id and p.start <= short.evidence_start < p.end:
            ranked = [(short.evidence_start, short.evidence_end)]
        if doc is None or not ranked:
            continue
        at = ranked[0][0]
        paragraph = doc.paragraph_at(at)
        ps, pe = doc.paragraph_spans()[paragraph - 1]
        ls, le = max(ps, p.start), min(pe, p.end)
        if le > ls:
            page_first, page_last = doc.page_range(ls, le)
            rows = doc.row_range(ls, le) or (None, None, None, None)
            p.lead = Lead(ls, le, paragraph, cite_document(doc, ls, le), page_first, page_last, rows[0], rows[1], rows[3])


def covering_items(passages: list[Passage], candidates: list[Passage], answer, k: int) -> list[Passage]:
    """For a places answer of several items (哪些城市…), the `k` cards shown hold each item's evidence
    before a second passage of an item already covered: candidates are read in score order, a passage whose
    items are all covered already waits, and a passage holding a new item is brought in. A single fact keeps
    pure score order."""
    items = [(i.doc_id, i.start, i.end) for i in getattr(answer, "items", ()) or ()
             if getattr(i, "doc_id", None) is not None]
    if len(items) < 2:
        return passages

    def held(p: Passage) -> set[int]:
        return {n for n, (d, s, e) in enumerate(items) if d == p.doc_id and p.start <= s and e <= p.end}

    chosen, waiting, covered = [], [], set()
    for p in candidates:
        mine = held(p)
        if mine and mine <= covered:
            waiting.append(p)
        else:
            chosen.append(p)
            covered |= mine
    # an item whose only passage ranks below k takes the place of the last passage that holds no new item
    shown = chosen[:k]
    for p in chosen[k:]:
        new = held(p) - set().union(*(held(x) for x in shown))
        if not new:
            continue
        for j in range(len(shown) - 1, -1, -1):
            others = set().union(*(held(x) for n, x in enumerate(shown) if n != j))
            if not (held(shown[j]) - others):
                shown[j] = p
                break
    order = {id(p): n for n, p in enumerate(candidates)}
    first = {id(p) for p in shown}
    cards = sorted(shown + waiting, key=lambda p: (id(p) not in first, order[id(p)]))[:k]
    for rank, p in enumerate(cards, start=1):
        p.rank = rank
    return cards


def ask(searcher: Searcher, question: str | Question, k: int = 5, filters: Filters | None = None) -> Answer:
    """Search, answer what was asked, say whether the documents answer it at all, and lead each passage with the
    paragraph that answers."""
    q = searcher.prepare(question)
    candidates = searcher.search(q, k=max(k, ANSWER_DEPTH), filters=filters)
    documents = searcher.store.documents
    answer = answer_from(q, candidates, documents)
    answerability = judge(q, candidates, documents, answer)
    passages = covering_items(candidates[:k], candidates, answer, k)
    short = answer if isinstance(answer, ShortAnswer) else None
    lead_paragraphs(q, passages, documents, short)
    if short is not None:
        _mark_evidence(passages, short)
    shown = without_non_text(str(question)).strip() if not isinstance(question, Question) else question.text
    return Answer(question=shown, passages=passages, answer=answer, notice=q.notice, answerability=answerability)
