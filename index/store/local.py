"""The local store: an index folder (FAISS vectors, BM25 term columns, documents and chunks; see index.store).

Chunk ids are positions among the live chunks of the version's segments (see index.store.disk.Index); the vector
indexes know chunks by slot (deleted ones included) and are searched through the mapping. Filters are boolean
arrays built with numpy from each chunk's source and date; the vector indexes apply them as index.ann.nearest
explains. The statistics sample's vectors are gathered once, at open: its dense scores are needed for every
unfiltered question.
"""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from index.store import disk as index_files
from index.text.chunking import Chunk
from index.store.disk import Index
from index.text.tokenization import query_tokens
from index.store import base
from index.store.base import BM25Query, DenseQuery, Filters, Store


class LocalStore(Store):
    def __init__(self, index: Index):
        self.index = index
        self.manifest = index.manifest
        self.documents = index.documents
        n = len(index.chunks)
        # sources and dates document by document, then spread to chunks with the view's chunk -> document map
        docs = list(index.documents.values())
        self._sources, doc_source = np.unique(np.array([d.source for d in docs] or [""], dtype=str), return_inverse=True)
        self._chunk_source = doc_source.reshape(-1)[index.chunk_document] if n else np.zeros(0, np.int64)
        self._chunk_date = np.array([d.date for d in docs] or [""], dtype="U10")[index.chunk_document] if n else np.zeros(0, "U10")
        # one question is one search: FAISS's OpenMP threads only fight ONNX Runtime's for the two cores
        # (a 10,000-chunk flat search took 9.5 ms with two threads, 0.6 ms with one); concurrent questions
        # are what use the cores
        faiss.omp_set_num_threads(1)
        self.bm25_scorer = index.bm25
        index.neighbour_lists()  # computed once here, not by the first question
        self.slot_alive = index.slot_alive  # None while no chunk is deleted
        sentences, owner = index.sentences, index.sentence_owner
        self.sentence_vectors = None
        if sentences is not None and owner is not None and sentences.ntotal:
            self.sentence_owner = owner.astype(np.int64)
            alive = owner >= 0
            # sentences of deleted chunks (owner -1) are never returned
            self.sentence_alive = None if alive.all() else alive
            live = np.flatnonzero(alive)
            if np.all(owner[live][1:] >= owner[live][:-1]):  # stored chunk by chunk, segment after segment
                order = np.concatenate([np.flatnonzero(~alive), live])
            else:
                order = np.argsort(owner, kind="stable")
            self.sentence_ids = order.astype(np.int64)
            self.sentence_vectors = sentences
            self._sentence_start = np.concatenate([[0], np.cumsum(np.bincount(owner[live], minlength=n))]) + (len(owner) - len(live))
        # the sample: the chunks first in an order fixed by each chunk's own identity, not its position, so the
        # same documents sample the same chunks however they are split into segments or ordered by a rebuild
        self._chosen_first = None
        if n > base.STATS_SAMPLE:
            self._chosen_first = np.argsort(index.chunk_keys, kind="stable")
            self.sample = np.sort(self._chosen_first[: base.STATS_SAMPLE])
        else:
            self.sample = np.arange(n)
        # the sample's vectors, gathered once
        self._sample_chunks = np.ascontiguousarray(self.chunk_vectors(self.sample))
        self._sample_sentences = None
        if self.sentence_vectors is not None:
            positions, counts = self.sentence_positions(self.sample)
            self._sample_sentences = np.ascontiguousarray(self.sentence_vectors[self.sentence_ids[positions]])
            self._sample_counts = counts

    @classmethod
    def open(cls, index_dir: Path, previous: "LocalStore | None" = None) -> "LocalStore":
        """The live version of `index_dir`; the segments `previous` (a store of an earlier version) holds are
        reused, not read again."""
        return cls(index_files.load(index_dir, previous.index if previous is not None else None))

    def chunk_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of chunks `ids`."""
        return self.index.dense[self.index.chunk_slot[np.asarray(ids, dtype=np.int64)]]

    def slots_allowed(self, selection: np.ndarray | None) -> np.ndarray | None:
        """The chunk slots a search may return: live ones the selection admits (None: every slot)."""
        if selection is None:
            return self.slot_alive
        return np.where(self.index.slot_chunk >= 0, selection[np.clip(self.index.slot_chunk, 0, None)], False)

    # --- what the index holds ----------------------------------------------------
    @property
    def location(self) -> str:
        return str(self.index.path) if self.index.path else "(in memory)"

    @property
    def path(self) -> Path | None:
        return self.index.path

    @property
    def n_chunks(self) -> int:
        return len(self.index.chunks)

    def chunks(self, ids) -> list[Chunk]:
        all_chunks = self.index.chunks
        return [all_chunks[int(i)] for i in ids]

    def chunk_counts(self) -> dict[str, int]:
        return self.index.chunk_counts()

    def check_compatible(self, model: str | None = None) -> None:
        self.index.check_compatible(model=model)

    def neighbours(self, ids: np.ndarray) -> dict[int, np.ndarray] | None:
        ids = np.asarray(ids, dtype=np.int64)
        return dict(zip(ids.tolist(), self.index.neighbours_of(ids)))

    # --- filters -------------------------------------------------------------------
    def select(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or not filters.active():
            return None
        allowed = np.ones(self.n_chunks, dtype=bool)
        if filters.sources:
            allowed &= np.isin(self._chunk_source, np.flatnonzero(np.isin(self._sources, list(filters.sources))))
        if filters.date_from or filters.date_to:
            allowed &= self._chunk_date != ""  # an undated document cannot be shown to fall inside a date range
        if filters.date_from:
            allowed &= self._chunk_date >= filters.date_from
        if filters.date_to:
            allowed &= self._chunk_date <= filters.date_to
        return allowed

    def admitted(self, ids: np.ndarray, selection: np.ndarray | None) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        return np.ones(len(ids), dtype=bool) if selection is None else selection[ids]

    def stats_sample(self, selection: np.ndarray | None = None) -> np.ndarray:
        if selection is None:
            return self.sample
        if self._chosen_first is None:
            return np.flatnonzero(selection)
        return np.sort(self._chosen_first[selection[self._chosen_first]][: base.STATS_SAMPLE])

    # --- scores --------------------------------------------------------------------
    def sentence_positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (in chunk order) of the sentences of chunks `ids`, and how many each chunk has."""
        starts, ends = self._sentence_start[ids], self._sentence_start[ids + 1]
        counts = ends - starts
        return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum()), counts

    def dense(self, query: np.ndarray, sentence_blend: float) -> "LocalDense":
        return LocalDense(self, query, sentence_blend)

    def bm25(self, question: str, tokens: list[str] | None = None) -> "LocalBM25":
        return LocalBM25(self, tokens if tokens is not None else query_tokens(question))


def blend(chunk_cos: np.ndarray, sentence_cos: np.ndarray, counts: np.ndarray, b: float) -> np.ndarray:
    """(1 - b) * chunk cosine + b * the best of each chunk's sentence cosines (its own, without any).
    `sentence_cos` holds the sentences of each chunk in turn, `counts[i]` of chunk i."""
    best = chunk_cos.copy()
    has = counts > 0
    if has.any():
        best[has] = np.maximum.reduceat(sentence_cos, (np.cumsum(counts) - counts)[has])
    return (1.0 - b) * chunk_cos + b * best


def order(scores: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions of `ids` by score, best first, ties by id."""
    return np.lexsort((ids, -np.asarray(scores)))


class LocalDense(DenseQuery):
    def __init__(self, store: LocalStore, query: np.ndarray, sentence_blend: float):
        self.store, self.query, self.b = store, query, sentence_blend
        self.use_sentences = bool(sentence_blend) and store.sentence_vectors is not None

    def scores(self, ids: np.ndarray) -> np.ndarray:
        s, query = self.store, self.query
        ids = np.asarray(ids, dtype=np.int64)
        if ids is s.sample or (len(ids) == len(s.sample) and np.array_equal(ids, s.sample)):
            chunk_cos = (s._sample_chunks @ query).astype(np.float64)
            if not self.use_sentences:
                return chunk_cos
            return blend(chunk_cos, (s._sample_sentences @ query).astype(np.float64), s._sample_counts, self.b)
        chunk_cos = s.index.dense.dot(s.index.chunk_slot[ids], query).astype(np.float64)
        if not self.use_sentences or not len(ids):
            return chunk_cos
        positions, counts = s.sentence_positions(ids)
        sentence_cos = s.sentence_vectors.dot(s.sentence_ids[positions], query).astype(np.float64)
        return blend(chunk_cos, sentence_cos, counts, self.b)

    def top(self, depth: int, selection: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        s = self.store
        slots = s.index.dense.nearest(self.query, depth, s.slots_allowed(selection))
        found = [s.index.slot_chunk[slots]]
        if self.use_sentences:
            alive = s.sentence_alive
            if selection is None:
                sentence_allowed = alive
            else:
                sentence_allowed = selection[np.clip(s.sentence_owner, 0, None)]
                if alive is not None:
                    sentence_allowed &= alive
            found.append(s.sentence_owner[s.index.sentences.nearest(self.query, depth, sentence_allowed)])
        pool = np.unique(np.concatenate(found))
        scores = self.scores(pool)
        best = order(scores, pool)
        return pool[best], scores[best]


class LocalBM25(BM25Query):
    """Scored sparsely (only chunks holding a question token are touched, see index.store.bm25); the scores of
    every chunk are computed once per question and read by `top` and `scores`."""

    def __init__(self, store: LocalStore, tokens: list[str]):
        n = store.n_chunks
        self.all = store.bm25_scorer.scores(tokens).astype(np.float64) if tokens else np.zeros(n)

    def scores(self, ids: np.ndarray) -> np.ndarray:
        return self.all[np.asarray(ids, dtype=np.int64)]

    def top(self, depth: int, selection: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        scores = self.all
        keep = scores > 0
        if selection is not None:
            keep &= selection
        hits = np.flatnonzero(keep)
        if len(hits) > depth:
            hits = np.sort(hits[np.argpartition(-scores[hits], depth - 1)[:depth]])
        hits = hits[np.lexsort((hits, -scores[hits]))]
        return hits, scores[hits]
