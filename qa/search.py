"""Hybrid search: dense (FAISS) and BM25 candidates fused into ranked, cited passages."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import Index, load_index
from index.embedding import Embedder, get_embedder
from index.tokenization import query_tokens

from .citation import cite_document
from .fusion import FUSION_METHODS, FusionSettings, neighbour_smoothing, reciprocal_rank_fusion, zscore_fusion
from .passage import Passage

RETRIEVERS = ("bm25", "dense", "hybrid")
MAX_K = 100


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


_PHRASE_MIN = 4
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{%d,}" % _PHRASE_MIN)


def _phrases(question: str) -> list[str]:
    """Multi-character runs of the question, longest first, to find verbatim in chunks."""
    out: list[str] = []
    for run in _CJK_RUN.findall(question):
        for size in range(min(len(run), 10), _PHRASE_MIN - 1, -1):
            out.extend(run[i : i + size] for i in range(len(run) - size + 1))
    return out


class Searcher:
    """Answers questions over one index."""

    def __init__(self, index: Index, embedder: Embedder | None = None, fusion: FusionSettings = FusionSettings()):
        self.index = index
        self.embedder = embedder or get_embedder(index.model)
        if fusion.method not in FUSION_METHODS:
            raise ValueError(f"unknown fusion method {fusion.method!r}; choose one of {', '.join(FUSION_METHODS)}")
        self.fusion = fusion
        docs = index.documents
        self._chunk_source = [docs[c.doc_id].source for c in index.chunks]
        self._chunk_date = [docs[c.doc_id].date for c in index.chunks]

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None, fusion: FusionSettings = FusionSettings()) -> "Searcher":
        index = load_index(index_dir)
        index.check_compatible(model=model)
        return cls(index, fusion=fusion)

    # --- questions -------------------------------------------------------------
    def prepare(self, question: str) -> PreparedQuestion:
        """Validate a question and cut it to what the model reads."""
        if question is None or not str(question).strip():
            raise QuestionError("the question is empty: type a question, e.g. 哪些城市推行拿地即开工?")
        text = unicodedata.normalize("NFC", str(question)).strip()
        cut = self.embedder.fit_to_limit(text)
        if len(cut) < len(text):
            return PreparedQuestion(cut, f"问题过长（{len(text)} 字），已按模型上限截取前 {len(cut)} 字进行检索。")
        return PreparedQuestion(text)

    # --- retrieval -------------------------------------------------------------
    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or not filters.active():
            return None
        return np.array([filters.admits(s, d) for s, d in zip(self._chunk_source, self._chunk_date)], dtype=bool)

    def _bm25_scores(self, question: str) -> np.ndarray:
        tokens = query_tokens(question)
        if not tokens:
            return np.zeros(len(self.index.chunks))
        return np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float64)

    def _bm25_ranking(self, question: str, allowed: np.ndarray | None, depth: int) -> np.ndarray:
        return _top(self._bm25_scores(question), allowed, depth)

    def _dense_scores(self, question: str) -> np.ndarray:
        """Each chunk's dense score: its cosine with the question blended with its best sentence's.

        score = (1 - b) * cos(question, chunk) + b * max over the chunk's sentences of cos(question, sentence),
        b = FusionSettings.sentence_blend; a chunk without sentence vectors counts its own cosine as its best.
        """
        query = self.embedder.encode_query(question)
        chunk_cos = _all_scores(self.index.dense, query)
        blend = self.fusion.sentence_blend
        sentences, owner = self.index.sentences, self.index.sentence_owner
        if not blend or sentences is None or owner is None or sentences.ntotal == 0:
            return chunk_cos
        best = np.full(len(chunk_cos), -np.inf)
        np.maximum.at(best, owner, _all_scores(sentences, query))
        best = np.where(np.isfinite(best), best, chunk_cos)
        return (1.0 - blend) * chunk_cos + blend * best

    def _dense_ranking(self, question: str, allowed: np.ndarray | None, depth: int) -> np.ndarray:
        return _top(self._dense_scores(question), allowed, depth, positive_only=False)

    def search(self, question: str, k: int = 10, retriever: str = "hybrid", filters: Filters | None = None) -> list[Passage]:
        """The `k` best passages for `question` from `retriever` (bm25, dense or hybrid)."""
        if retriever not in RETRIEVERS:
            raise ValueError(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        k = max(1, min(int(k), MAX_K))
        text = self.prepare(question).text
        allowed = self._allowed(filters)
        depth = max(self.fusion.candidates, k)
        if retriever == "bm25":
            ranked = self._bm25_ranking(text, allowed, depth)[:k]
            scored = [(int(i), 1.0 / (self.fusion.k + r)) for r, i in enumerate(ranked, start=1)]
        elif retriever == "dense":
            ranked = self._dense_ranking(text, allowed, depth)[:k]
            scored = [(int(i), 1.0 / (self.fusion.k + r)) for r, i in enumerate(ranked, start=1)]
        else:
            scored = self._hybrid(text, allowed, depth)[:k]
        return [self._passage(rank, i, score) for rank, (i, score) in enumerate(scored, start=1)]

    def _hybrid(self, question: str, allowed: np.ndarray | None, depth: int) -> list[tuple[int, float]]:
        f = self.fusion
        smoothing = f.method == "zscore" and f.neighbour_bonus > 0 and self.index.neighbours is not None
        if f.method == "zscore":
            dense, bm25 = self._dense_scores(question), self._bm25_scores(question)
            candidates = np.union1d(_top(dense, allowed, depth, positive_only=False), _top(bm25, allowed, depth))
            pool = candidates
            if smoothing:  # the candidates' neighbours need a score of their own too
                near = self.index.neighbours[candidates].ravel()
                near = near[near >= 0]
                if allowed is not None:
                    near = near[allowed[near]]
                pool = np.union1d(candidates, near)
            fused = zscore_fusion(dense, bm25, pool, f.alpha, allowed)
            bonus_unit = 1.0
        else:
            rankings = [
                (self._dense_ranking(question, allowed, depth), f.dense_weight),
                (self._bm25_ranking(question, allowed, depth), f.bm25_weight),
            ]
            fused = reciprocal_rank_fusion(rankings, k=f.k)
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
            citation=cite_document(doc, chunk.paragraph_first, chunk.paragraph_last),
        )


def _all_scores(vectors, query: np.ndarray) -> np.ndarray:
    """Inner product of `query` with every vector of a FAISS index, in index order.

    Fusion standardises over the whole index, so every score is needed, not only a top list."""
    scores, ids = vectors.search(query, vectors.ntotal)
    out = np.empty(vectors.ntotal, dtype=np.float64)
    out[ids[0]] = scores[0]
    return out


def _top(scores: np.ndarray, allowed: np.ndarray | None, depth: int, positive_only: bool = True) -> np.ndarray:
    """Indices of the best scores (only positive ones unless told), best first, ties by position."""
    scores = np.asarray(scores, dtype=np.float64)
    keep = scores > 0 if positive_only else np.ones(len(scores), dtype=bool)
    if allowed is not None:
        keep &= allowed
    hits = np.flatnonzero(keep)
    order = hits[np.lexsort((hits, -scores[hits]))]
    return order[:depth]
