"""Hybrid search: dense and BM25 candidates from a store, fused into ranked, cited passages."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import Chunk, Index
from index.encoder import Embedder, get_embedder
from index.store import Filters, LocalStore, Store
from index.text import PHRASE_MIN as _PHRASE_MIN

from .citation import cite_document
from .fusion import FUSION_METHODS, FusionSettings, ScoreStats, neighbour_smoothing, reciprocal_rank_fusion
from .passage import Passage
from .question import Question, analyse_question

RETRIEVERS = ("bm25", "dense", "hybrid")
MAX_K = 100


_NOT_TEXT = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_non_text(text: str) -> str:
    """`text` without lone surrogates and control characters (tabs and line breaks stay)."""
    return _NOT_TEXT.sub("", text)


class QuestionError(ValueError):
    """The question cannot be asked (empty, or only whitespace)."""


class Searcher:
    """Answers questions over one store (see index.store), touching only candidates.

    A question reads the top `FusionSettings.candidates` chunks (and sentences) from the dense retriever and
    the top chunks from BM25, plus those candidates' neighbours, and scores only that pool. The z-score
    statistics come from the store's sample (every chunk while the index has at most STATS_SAMPLE of them,
    so small indexes rank exactly as an exhaustive search would). A local index (`index.Index`) is searched
    through a LocalStore."""

    def __init__(self, store: Store | Index, embedder: Embedder | None = None, fusion: FusionSettings = FusionSettings()):
        self.store = LocalStore(store) if isinstance(store, Index) else store
        # questions are encoded as the index's chunks were (an index from before encoders were recorded: float32)
        self.embedder = embedder or get_embedder(self.store.model, self.store.encoder)
        if fusion.method not in FUSION_METHODS:
            raise ValueError(f"unknown fusion method {fusion.method!r}; choose one of {', '.join(FUSION_METHODS)}")
        self.fusion = fusion

    @property
    def index(self) -> Index:
        """The in-memory index of a local store (for tools and tests that look inside it)."""
        return self.store.index

    @property
    def documents(self):
        return self.store.documents

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None, fusion: FusionSettings = FusionSettings()) -> "Searcher":
        store = LocalStore.open(index_dir)
        store.check_compatible(model=model)
        return cls(store, fusion=fusion)

    # --- questions -------------------------------------------------------------
    def prepare(self, question: "str | Question") -> Question:
        """Validate a question, cut it to what the model reads, and analyse it once (`qa.Question`)."""
        if isinstance(question, Question):
            return question
        # a lone surrogate (possible in a JSON string, never in text) cannot be encoded: the model's tokenizer
        # failed on one; it carries no meaning, so it goes, as do other characters that are not text
        text = without_non_text(str(question)) if question is not None else ""
        if not text.strip():
            raise QuestionError("the question is empty: type a question, e.g. 哪些城市推行拿地即开工?")
        text = unicodedata.normalize("NFC", text).strip()
        cut = self.embedder.fit_to_limit(text)
        if len(cut) < len(text):
            return analyse_question(cut, f"问题过长（{len(text)} 字），已按模型上限截取前 {len(cut)} 字进行检索。")
        return analyse_question(text)

    # --- retrieval -------------------------------------------------------------
    def _dense(self, question: str):
        return self.store.dense(self.embedder.encode_query(question)[0], self.fusion.sentence_blend)

    def _bm25(self, question: "str | Question"):
        if isinstance(question, Question):
            return self.store.bm25(question.text, tokens=list(question.bm25_tokens))
        return self.store.bm25(question)

    def search(self, question: "str | Question", k: int = 10, retriever: str = "hybrid",
               filters: Filters | None = None) -> list[Passage]:
        """The `k` best passages for `question` (a text, or a `Question` from `prepare`) from `retriever`
        (bm25, dense or hybrid)."""
        if retriever not in RETRIEVERS:
            raise ValueError(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        k = max(1, min(int(k), MAX_K))
        question = self.prepare(question)
        text = question.text
        selection = self.store.select(filters)
        depth = max(self.fusion.candidates, k)
        dense = self._dense(text) if retriever != "bm25" else None
        if retriever == "bm25":
            ranked = self._bm25(question).top(k, selection)[0]
            scored = [(int(i), 1.0 / (self.fusion.k + r)) for r, i in enumerate(ranked, start=1)]
        elif retriever == "dense":
            ranked = dense.top(depth, selection)[0][:k]
            scored = [(int(i), 1.0 / (self.fusion.k + r)) for r, i in enumerate(ranked, start=1)]
        else:
            scored = self._hybrid(question, dense, selection, depth)[:k]
        ids = [i for i, _ in scored]
        chunks = self.store.chunks(ids)
        # how close each passage is in meaning (the dense score), read by qa.answerable
        similarity = dense.scores(np.asarray(ids, dtype=np.int64)).tolist() if dense is not None and ids else [None] * len(ids)
        return [self._passage(rank, chunk, score, sim)
                for rank, ((_, score), chunk, sim) in enumerate(zip(scored, chunks, similarity), start=1)]

    def _hybrid(self, question: Question, dense, selection, depth: int) -> list[tuple[int, float]]:
        f, store = self.fusion, self.store
        bm25 = self._bm25(question)
        dense_pool, dense_scores = dense.top(depth, selection)
        dense_ranked = dense_pool[:depth]
        bm25_top, _ = bm25.top(depth, selection)
        neighbours = None
        if f.method == "zscore":
            candidates = np.union1d(dense_ranked, bm25_top)
            neighbours = store.neighbours(candidates) if f.neighbour_bonus > 0 else None
            pool = candidates
            if neighbours is not None:  # the candidates' neighbours need a score of their own too
                near = np.concatenate([row for row in neighbours.values()] or [np.zeros(0, dtype=np.int64)])
                near = np.unique(near[near >= 0])
                if selection is not None and len(near):
                    near = near[store.admitted(near, selection)]
                pool = np.union1d(candidates, near)
            stats = store.stats_sample(selection)
            dense_stats = ScoreStats.of(dense.scores(stats))
            bm25_stats = ScoreStats.of(bm25.scores(stats))
            # dense scores of the pool: those of the dense candidates are known, only the rest are computed
            known_ids = np.sort(dense_pool)
            known_scores = dense_scores[np.argsort(dense_pool)]
            pool_dense = np.empty(len(pool))
            known = np.isin(pool, known_ids)
            pool_dense[known] = known_scores[np.searchsorted(known_ids, pool[known])]
            pool_dense[~known] = dense.scores(pool[~known])
            mixed = f.alpha * dense_stats.z(pool_dense) + (1.0 - f.alpha) * bm25_stats.z(bm25.scores(pool))
            fused = {int(i): float(m) for i, m in zip(pool, mixed)}
            bonus_unit = 1.0
        else:
            fused = reciprocal_rank_fusion([(dense_ranked, f.dense_weight), (bm25_top, f.bm25_weight)], k=f.k)
            bonus_unit = 1.0 / (f.k + 1)
        if f.phrase_bonus:
            phrases = question.search_phrases
            # one scan for any shortest run (a chunk without one cannot hold a longer one either)
            shortest = re.compile("|".join(re.escape(p) for p in phrases if len(p) == _PHRASE_MIN) or "(?!)")
            ids = list(fused)
            for i, chunk in zip(ids, store.chunks(ids)):
                text = chunk.text
                if not shortest.search(text):
                    continue
                longest = next((len(p) for p in phrases if p in text), 0)
                if longest:
                    fused[i] += f.phrase_bonus * bonus_unit * longest / _PHRASE_MIN
        if neighbours is not None:
            fused = neighbour_smoothing(fused, candidates.tolist(), neighbours, f.neighbour_bonus)
        return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))

    def _passage(self, rank: int, chunk: Chunk, score: float, similarity: float | None = None) -> Passage:
        doc = self.store.documents[chunk.doc_id]
        rows = doc.row_range(chunk.start, chunk.end) or (None, None, None, None)
        return Passage(
            rank=rank, score=round(float(score), 6), doc_id=doc.doc_id, title=doc.title, source=doc.source,
            date=doc.date, paragraph=chunk.paragraph_first, start=chunk.start, end=chunk.end, text=chunk.text,
            citation=cite_document(doc, chunk.start, chunk.end), page_first=chunk.page_first,
            page_last=chunk.page_last, doc_number=doc.doc_number, sheet=rows[0], row_first=rows[1], row_last=rows[3],
            also_in=[dict(d) for d in self.store.duplicates.get(doc.doc_id, ())],
            similarity=None if similarity is None else round(float(similarity), 6),
        )

    # --- exhaustive references (tests check the candidate path against them) -----
    def _dense_scores(self, question: str) -> np.ndarray:
        """The dense score of every chunk of a local store."""
        return self._dense(question).scores(np.arange(self.store.n_chunks))

    def _bm25_scores(self, question: str) -> np.ndarray:
        """The BM25 score of every chunk of a local store."""
        return self._bm25(question).scores(np.arange(self.store.n_chunks))
