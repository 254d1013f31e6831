"""The `Passage`: one ranked, cited piece of a document's own text."""
from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class Lead:
    """The paragraph of a passage that answers: `document.text[start:end]`, inside the passage, with its own
    paragraph number, pages (PDF) and citation (第4段, 第3页 第12段)."""

    start: int
    end: int
    paragraph: int
    citation: str
    page_first: int | None = None
    page_last: int | None = None
    sheet: str | None = None  # a spreadsheet's sheet and rows, as for `Passage`
    row_first: int | None = None
    row_last: int | None = None


@dataclass
class Passage:
    """A search result.

    `score` is the fused ranking score (see `qa.fusion`: standardised dense and BM25 scores
    mixed per question, plus the phrase bonus): higher is better, comparable only within
    one answer, possibly negative. It is not a probability and must not be shown as a percentage.
    `text == document.text[start:end]` always holds.
    """

    rank: int
    score: float
    doc_id: str
    title: str
    source: str
    date: str
    paragraph: int
    start: int
    end: int
    text: str
    citation: str
    # (start, end) offsets into the document of the sentences that best answer the question
    highlights: list[tuple[int, int]] = field(default_factory=list)
    page_first: int | None = None  # pages it stands on, for documents with pages (PDF); else None
    page_last: int | None = None
    doc_number: str = ""  # 发文字号, when the document states one
    # for a spreadsheet: the sheet and the rows (as the spreadsheet numbers them) it stands on; else None
    sheet: str | None = None
    row_first: int | None = None
    row_last: int | None = None
    # other copies of the same document (near-duplicates left out of the index): [{"doc_id", "title", "source"}]
    also_in: list[dict] = field(default_factory=list)
    # the dense retriever's score (cosine of question and passage, see qa.fusion); None when it was not asked
    similarity: float | None = None
    # the paragraph that answers, set by qa.ask (which knows what was asked); None when no sentence of the
    # passage shares anything with the question
    lead: "Lead | None" = None

    def to_dict(self) -> dict:
        # as dataclasses.asdict gives it, built directly: asdict's recursive deep copy was 5% of an answer's time
        d = {name: getattr(self, name) for name in _PASSAGE_FIELDS}
        d["highlights"] = [list(h) for h in self.highlights]
        d["also_in"] = [dict(copy) for copy in self.also_in]
        d["lead"] = None if self.lead is None else {name: getattr(self.lead, name) for name in _LEAD_FIELDS}
        return d


_PASSAGE_FIELDS = tuple(f.name for f in fields(Passage))
_LEAD_FIELDS = tuple(f.name for f in fields(Lead))
