"""Chunking: paragraph first, then sentence ends, with one sentence of overlap."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .document import Document


@dataclass(frozen=True)
class Chunk:
    """A piece of a document's cleaned text; `document.text[start:end] == text`."""

    doc_id: str
    seq: int  # position of the chunk within its document, from 0
    start: int
    end: int
    text: str
    paragraph_first: int  # 1-based paragraph numbers the chunk spans
    paragraph_last: int

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.seq}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Chunk":
        return cls(**d)


def chunk_document(doc: Document, min_chars: int = 200, max_chars: int = 500, overlap_sentences: int = 1) -> list[Chunk]:
    raise NotImplementedError
