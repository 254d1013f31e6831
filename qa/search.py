"""Hybrid search: dense (FAISS) and BM25 candidates fused into ranked, cited passages."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from index import Index, load_index
from index.ann import matrix, nearest
from index.embedding import Embedder, get_embedder
from index.tokenization import PHRASE_MIN as _PHRASE_MIN
from index.tokenization import phrases as _phrases
from index.tokenization import query_tokens

from .citation import cite_document
from .fusion import FUSION_METHODS, FusionSettings, ScoreStats, neighbour_smoothing, reciprocal_rank_fusion
from .passage import Passage

RETRIEVERS = ("bm25", "dense", "hybrid")
MAX_K = 100


_NOT_TEXT = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_non_text(text: str) -> str:
    """`text` without lone surrogates and control characters (tabs and line breaks stay)."""
    return _NOT_TEXT.sub("", text)


class QuestionError(ValueError):
    """The question cannot be asked (empty, or only whitespace)."""


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


@dataclass
class PreparedQuestion:
    text: str
    notice: str = ""


STATS_SAMPLE = 4096  # chunks whose scores stand for the whole index in the z-scores (all, below this size)


class Searcher:
    """Answers questions over one index, touching only candidates.

    A question reads the top `FusionSettings.candidates` chunks and sentences from FAISS and the top chunks
    from BM25, plus those candidates' neighbours, and scores only that pool. The z-score statistics come from
    a fixed sample of the index (every chunk while the index has at most STATS_SAMPLE of them, so small
    indexes rank exactly as an exhaustive search would). Filters are boolean arrays built with numpy; see
    index.ann.nearest for how the vector stores apply them."""

    def __init__(self, index: Index, embedder: Embedder | None = None, fusion: FusionSettings = FusionSettings()):
        self.index = index
        # questions are encoded as the index's chunks were (an index from before encoders were recorded: float32)
        self.embedder = embedder or get_embedder(index.model, index.manifest.get("encoder", "float32"))
        if fusion.method not in FUSION_METHODS:
            raise ValueError(f"unknown fusion method {fusion.method!r}; choose one of {', '.join(FUSION_METHODS)}")
        self.fusion = fusion
        docs = index.documents
        n = len(index.chunks)
        self._sources, self._chunk_source = np.unique(
            np.array([docs[c.doc_id].source for c in index.chunks] or [""], dtype=str), return_inverse=True
        )
        self._chunk_source = self._chunk_source[:n]
        self._chunk_date = np.array([docs[c.doc_id].date for c in index.chunks], dtype="U10")
        # one question is one search: FAISS's OpenMP threads only fight ONNX Runtime's for the two cores
        # (a 10,000-chunk flat search took 9.5 ms with two threads, 0.6 ms with one); concurrent questions
        # are what use the cores
        faiss.omp_set_num_threads(1)
        self._chunk_vectors = matrix(index.dense)
        sentences, owner = index.sentences, index.sentence_owner
        if sentences is not None and owner is not None and sentences.ntotal:
            order = np.argsort(owner, kind="stable")  # sentences are stored chunk by chunk; this keeps it so
            self._sentence_ids = order.astype(np.int64)
            self._sentence_vectors = matrix(sentences)
            self._sentence_owner = owner.astype(np.int64)
            # tombstones (owner -1: sentences of removed chunks left in a large HNSW index) are never returned
            self._sentence_alive = None if owner.min() >= 0 else owner >= 0
            self._sentence_start = np.searchsorted(owner[order], np.arange(n + 1))
        else:
            self._sentence_vectors = None
        sample = np.random.default_rng(0).choice(n, STATS_SAMPLE, replace=False) if n > STATS_SAMPLE else np.arange(n)
        self._sample = np.sort(sample)
        # the sample's vectors, gathered once: its dense scores are needed for every unfiltered question
        self._sample_chunks = self._chunk_vectors if n <= STATS_SAMPLE else np.ascontiguousarray(self._chunk_vectors[self._sample])
        self._sample_sentences = None
        if self._sentence_vectors is not None:
            positions, counts = self._sentence_positions(self._sample)
            self._sample_sentences = np.ascontiguousarray(self._sentence_vectors[self._sentence_ids[positions]])
            self._sample_counts = counts

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None, fusion: FusionSettings = FusionSettings()) -> "Searcher":
        index = load_index(index_dir)
        index.check_compatible(model=model)
        return cls(index, fusion=fusion)

    # --- questions -------------------------------------------------------------
    def prepare(self, question: str) -> PreparedQuestion:
        """Validate a question and cut it to what the model reads."""
        # a lone surrogate (possible in a JSON string, never in text) cannot be encoded: the model's tokenizer
        # failed on one; it carries no meaning, so it goes, as do other characters that are not text
        text = without_non_text(str(question)) if question is not None else ""
        if not text.strip():
            raise QuestionError("the question is empty: type a question, e.g. 哪些城市推行拿地即开工?")
        text = unicodedata.normalize("NFC", text).strip()
        cut = self.embedder.fit_to_limit(text)
        if len(cut) < len(text):
            return PreparedQuestion(cut, f"问题过长（{len(text)} 字），已按模型上限截取前 {len(cut)} 字进行检索。")
        return PreparedQuestion(text)

    # --- retrieval -------------------------------------------------------------
    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or not filters.active():
            return None
        allowed = np.ones(len(self.index.chunks), dtype=bool)
        if filters.sources:
            allowed &= np.isin(self._chunk_source, np.flatnonzero(np.isin(self._sources, list(filters.sources))))
        if filters.date_from or filters.date_to:
            allowed &= self._chunk_date != ""  # an undated document cannot be shown to fall inside a date range
        if filters.date_from:
            allowed &= self._chunk_date >= filters.date_from
        if filters.date_to:
            allowed &= self._chunk_date <= filters.date_to
        return allowed

    def _sentence_positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (in chunk order) of the sentences of chunks `ids`, and how many each chunk has."""
        starts, ends = self._sentence_start[ids], self._sentence_start[ids + 1]
        counts = ends - starts
        return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum()), counts

    def _blend(self, chunk_cos: np.ndarray, sentence_cos: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """(1 - b) * chunk cosine + b * the best of each chunk's sentence cosines (its own, without any)."""
        blend = self.fusion.sentence_blend
        best = chunk_cos.copy()
        has = counts > 0
        if has.any():
            best[has] = np.maximum.reduceat(sentence_cos, (np.cumsum(counts) - counts)[has])
        return (1.0 - blend) * chunk_cos + blend * best

    def _dense_of(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The dense score of chunks `ids`: their cosine with the question blended with their best sentence's.

        score = (1 - b) * cos(question, chunk) + b * max over the chunk's sentences of cos(question, sentence),
        b = FusionSettings.sentence_blend; a chunk without sentence vectors counts its own cosine as its best.
        """
        ids = np.asarray(ids, dtype=np.int64)
        chunk_cos = (self._chunk_vectors[ids] @ query).astype(np.float64)
        if not self.fusion.sentence_blend or self._sentence_vectors is None or not len(ids):
            return chunk_cos
        positions, counts = self._sentence_positions(ids)
        sentence_cos = (self._sentence_vectors[self._sentence_ids[positions]] @ query).astype(np.float64)
        return self._blend(chunk_cos, sentence_cos, counts)

    def _sample_dense(self, query: np.ndarray) -> np.ndarray:
        """`_dense_of` the statistics sample, from its vectors gathered at start."""
        chunk_cos = (self._sample_chunks @ query).astype(np.float64)
        if not self.fusion.sentence_blend or self._sample_sentences is None:
            return chunk_cos
        return self._blend(chunk_cos, (self._sample_sentences @ query).astype(np.float64), self._sample_counts)

    def _dense_candidates(self, query: np.ndarray, allowed: np.ndarray | None, depth: int) -> np.ndarray:
        """Chunks among the `depth` nearest to the question, or owning one of its `depth` nearest sentences."""
        found = [nearest(self.index.dense, query, depth, allowed)]
        if self.fusion.sentence_blend and self._sentence_vectors is not None:
            alive = self._sentence_alive
            if allowed is None:
                sentence_allowed = alive
            else:
                sentence_allowed = allowed[np.clip(self._sentence_owner, 0, None)]
                if alive is not None:
                    sentence_allowed &= alive
            found.append(self._sentence_owner[nearest(self.index.sentences, query, depth, sentence_allowed)])
        return np.unique(np.concatenate(found))

    def _dense_top(self, query: np.ndarray, allowed: np.ndarray | None, depth: int):
        """(the `depth` best dense candidates, best first; every dense candidate, sorted; their dense scores)."""
        pool = self._dense_candidates(query, allowed, depth)
        scores = self._dense_of(query, pool)
        return pool[_order(scores, pool)][:depth], pool, scores

    def _bm25_scores(self, question: str) -> np.ndarray:
        """BM25 scores of every chunk (bm25s scores sparsely: only chunks holding a question token are touched)."""
        tokens = query_tokens(question)
        if not tokens:
            return np.zeros(len(self.index.chunks))
        return np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float64)

    def _dense_scores(self, question: str) -> np.ndarray:
        """The dense score of every chunk: the exhaustive reference the candidate path is checked against."""
        return self._dense_of(self.embedder.encode_query(question)[0], np.arange(len(self.index.chunks)))

    def _stats_ids(self, allowed: np.ndarray | None) -> np.ndarray:
        """The chunks whose scores give the z-score mean and spread: the sample, within the filter."""
        if allowed is None:
            return self._sample
        admitted = np.flatnonzero(allowed)
        if len(admitted) <= STATS_SAMPLE:
            return admitted
        return np.sort(np.random.default_rng(0).choice(admitted, STATS_SAMPLE, replace=False))

    def search(self, question: str, k: int = 10, retriever: str = "hybrid", filters: Filters | None = None) -> list[Passage]:
        """The `k` best passages for `question` from `retriever` (bm25, dense or hybrid)."""
        if retriever not in RETRIEVERS:
            raise ValueError(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        k = max(1, min(int(k), MAX_K))
        text = self.prepare(question).text
        allowed = self._allowed(filters)
        depth = max(self.fusion.candidates, k)
        if retriever == "bm25":
            ranked = _top(self._bm25_scores(text), allowed, k)
            scored = [(int(i), 1.0 / (self.fusion.k + r)) for r, i in enumerate(ranked, start=1)]
        elif retriever == "dense":
            ranked = self._dense_top(self.embedder.encode_query(text)[0], allowed, depth)[0][:k]
            scored = [(int(i), 1.0 / (self.fusion.k + r)) for r, i in enumerate(ranked, start=1)]
        else:
            scored = self._hybrid(text, allowed, depth)[:k]
        return [self._passage(rank, i, score) for rank, (i, score) in enumerate(scored, start=1)]

    def _hybrid(self, question: str, allowed: np.ndarray | None, depth: int) -> list[tuple[int, float]]:
        f = self.fusion
        query = self.embedder.encode_query(question)[0]
        bm25_all = self._bm25_scores(question)
        dense_ranked, dense_pool, dense_scores = self._dense_top(query, allowed, depth)
        bm25_top = _top(bm25_all, allowed, depth)
        if f.method == "zscore":
            candidates = np.union1d(dense_ranked, bm25_top)
            smoothing = f.neighbour_bonus > 0 and self.index.neighbours is not None
            pool = candidates
            if smoothing:  # the candidates' neighbours need a score of their own too
                near = self.index.neighbours[candidates].ravel()
                near = near[near >= 0]
                if allowed is not None:
                    near = near[allowed[near]]
                pool = np.union1d(candidates, near)
            stats = self._stats_ids(allowed)
            dense = ScoreStats.of(self._sample_dense(query) if allowed is None else self._dense_of(query, stats))
            bm25 = ScoreStats.of(bm25_all[stats])
            # dense scores of the pool: those of the dense candidates are known, only the rest are computed
            pool_dense = np.empty(len(pool))
            known = np.isin(pool, dense_pool)
            pool_dense[known] = dense_scores[np.searchsorted(dense_pool, pool[known])]
            pool_dense[~known] = self._dense_of(query, pool[~known])
            mixed = f.alpha * dense.z(pool_dense) + (1.0 - f.alpha) * bm25.z(bm25_all[pool])
            fused = {int(i): float(m) for i, m in zip(pool, mixed)}
            bonus_unit = 1.0
        else:
            smoothing = False
            fused = reciprocal_rank_fusion([(dense_ranked, f.dense_weight), (bm25_top, f.bm25_weight)], k=f.k)
            bonus_unit = 1.0 / (f.k + 1)
        if f.phrase_bonus:
            phrases = _phrases(question)
            shortest = [p for p in phrases if len(p) == _PHRASE_MIN]
            for i in fused:
                text = self.index.chunks[i].text
                if not any(p in text for p in shortest):  # no longer run can match either
                    continue
                longest = next((len(p) for p in phrases if p in text), 0)
                if longest:
                    fused[i] += f.phrase_bonus * bonus_unit * longest / _PHRASE_MIN
        if smoothing:
            fused = neighbour_smoothing(fused, candidates.tolist(), self.index.neighbours, f.neighbour_bonus)
        return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))

    def _passage(self, rank: int, chunk_index: int, score: float) -> Passage:
        chunk = self.index.chunks[chunk_index]
        doc = self.index.documents[chunk.doc_id]
        return Passage(
            rank=rank, score=round(float(score), 6), doc_id=doc.doc_id, title=doc.title, source=doc.source,
            date=doc.date, paragraph=chunk.paragraph_first, start=chunk.start, end=chunk.end, text=chunk.text,
            citation=cite_document(doc, chunk.start, chunk.end), page_first=chunk.page_first,
            page_last=chunk.page_last, doc_number=doc.doc_number,
            also_in=[dict(d) for d in self.index.duplicates.get(doc.doc_id, ())],
        )


def _order(scores: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions of `ids` by score, best first, ties by id."""
    return np.lexsort((ids, -np.asarray(scores)))


def _top(scores: np.ndarray, allowed: np.ndarray | None, depth: int) -> np.ndarray:
    """Indices of the `depth` best positive scores, best first, ties by position."""
    scores = np.asarray(scores, dtype=np.float64)
    keep = scores > 0
    if allowed is not None:
        keep &= allowed
    hits = np.flatnonzero(keep)
    if len(hits) > depth:
        hits = np.sort(hits[np.argpartition(-scores[hits], depth - 1)[:depth]])
    return hits[np.lexsort((hits, -scores[hits]))]
