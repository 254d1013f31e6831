"""An `Answer`: the ranked passages for a question, the places it names, and notices."""
from __future__ import annotations

from dataclasses import dataclass

from .answer_sentences import best_sentences
from .passage import Passage
from .places import PlaceAnswer, answer_places
from .search import Filters, Searcher, without_non_text


PLACE_DEPTH = 10


@dataclass
class Answer:
    question: str
    passages: list[Passage]
    places: PlaceAnswer | None = None
    notice: str = ""

    def to_dict(self) -> dict:
        d = {
            "question": self.question,
            "passages": [p.to_dict() for p in self.passages],
            "answer": self.places.to_dict() if self.places else None,
        }
        if self.notice:
            d["notice"] = self.notice
        return d


def ask(searcher: Searcher, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
    """Search, mark the answering sentences in each passage, and list the places asked for."""
    prepared = searcher.prepare(question)
    # places are read from a deeper list than is shown: a city's only evidence may rank 6th-10th
    candidates = searcher.search(prepared.text, k=max(k, PLACE_DEPTH), filters=filters)
    passages = candidates[:k]
    for p in passages:
        p.highlights = best_sentences(prepared.text, p.text, p.start)
    places = answer_places(prepared.text, candidates, searcher.store.documents)
    return Answer(question=without_non_text(str(question)).strip(), passages=passages, places=places, notice=prepared.notice)
