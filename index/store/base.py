"""What retrieval asks of a store, whichever engine holds the chunks.

`qa.Searcher` fuses dense and BM25 scores itself (see qa/fusion.py); a store only answers the questions
that fusion asks, and each answer touches candidates, never the whole index:

* `dense(query vector)` / `bm25(question)`: one question's view of each retriever, with `top(depth, selection)`
  (the best candidates, best first, with their scores) and `scores(ids)` (the scores of given chunks);
* `select(filters)`: the chunks a filter admits, in the store's own terms (a boolean array, a filter
  expression), passed back into `top` and `stats_sample`;
* `stats_sample(selection)`: the chunks whose scores stand for the whole index in the z-scores;
* `chunks(ids)`, `neighbours(ids)`, `admitted(ids, selection)`, and the documents with their manifest.

Chunk ids are integers the store chooses (positions in the local store, primary keys in Milvus).
Both `LocalStore` (FAISS + BM25 term columns in a folder) and `MilvusStore` implement this.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.text.chunking import Chunk
from index.document import Document

STATS_SAMPLE = 4096  # chunks whose scores stand for the whole index in the z-scores (all, below this size)


@dataclass
class Filters:
    """Restrict results to some sources and a date range (ISO dates, inclusive)."""

    sources: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""

    def active(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to)

    def admits(self, source: str, date: str) -> bool:
        if self.sources and source not in self.sources:
            return False
        if (self.date_from or self.date_to) and not date:
            return False  # an undated document cannot be shown to fall inside a date range
        if self.date_from and date < self.date_from:
            return False
        if self.date_to and date > self.date_to:
            return False
        return True


class DenseQuery(ABC):
    """One question's dense scores: (1 - b) * cos(question, chunk) + b * the best cos(question, sentence)
    over the chunk's sentences (a chunk without sentence vectors counts its own cosine as its best)."""

    @abstractmethod
    def top(self, depth: int, selection: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, their scores), best first: the chunks among the `depth` nearest the question, or owning
        one of its `depth` nearest sentences, within `selection`."""

    @abstractmethod
    def scores(self, ids: np.ndarray) -> np.ndarray:
        """The scores of chunks `ids` (float64, in that order)."""


class BM25Query(ABC):
    """One question's BM25 scores."""

    @abstractmethod
    def top(self, depth: int, selection: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, their scores), best first, ties by id: the `depth` best positive scores within `selection`."""

    @abstractmethod
    def scores(self, ids: np.ndarray) -> np.ndarray:
        """The scores of chunks `ids` (float64, in that order; 0 for a chunk without a question token)."""


class Store(ABC):
    """An index that can be searched and changed by document."""

    manifest: dict
    documents: dict[str, Document]

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def encoder(self) -> str:
        return self.manifest.get("encoder", "float32")

    @property
    def duplicates(self) -> dict[str, list[dict]]:
        """Kept doc id -> the copies of it left out of the index ({"doc_id", "title", "source", "path", "kind"})."""
        return self.manifest.get("duplicates", {})

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the index lives, as a user would name it (a folder, a Milvus URI and collection)."""

    @property
    @abstractmethod
    def n_chunks(self) -> int: ...

    @abstractmethod
    def chunks(self, ids) -> list[Chunk]:
        """The chunks with ids `ids`, in that order."""

    @abstractmethod
    def chunk_counts(self) -> dict[str, int]:
        """Doc id -> how many chunks it has in the index."""

    @abstractmethod
    def dense(self, query: np.ndarray, sentence_blend: float) -> DenseQuery: ...

    @abstractmethod
    def bm25(self, question: str, tokens: list[str] | None = None) -> BM25Query:
        """BM25 over the store's own analysis of `question` (the local store: index.tokenization). `tokens`: the
        question's BM25 tokens when the caller has them already (a store that analyses text itself ignores them)."""

    @abstractmethod
    def select(self, filters: Filters | None) -> Any:
        """The chunks `filters` admit, in the store's terms; None when every chunk is admitted."""

    @abstractmethod
    def admitted(self, ids: np.ndarray, selection: Any) -> np.ndarray:
        """A boolean mask: which of `ids` the selection admits."""

    @abstractmethod
    def stats_sample(self, selection: Any = None) -> np.ndarray:
        """Chunk ids whose scores give the z-score mean and spread: every admitted chunk while there are at most
        STATS_SAMPLE of them, else a fixed sample of that size."""

    @abstractmethod
    def neighbours(self, ids: np.ndarray) -> dict[int, np.ndarray] | None:
        """Each chunk's nearest chunks (ids, best first), or None when the store has none."""

    def check_compatible(self, model: str | None = None) -> None:
        """Refuse an index made with another model or other index features (see index.store.Index)."""
