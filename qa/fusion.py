"""Weighted reciprocal-rank fusion of several rankings.

Each ranking contributes weight / (k + rank) for every item it ranks (rank from 1),
so an item found high by several retrievers beats one found by a single retriever.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FusionSettings:
    k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    title_weight: float = 0.0  # the document title as its own BM25 field
    phrase_bonus: float = 1.0  # added per exact multi-character phrase of the question found in the chunk
    candidates: int = 100  # how deep each retriever's ranking is read


def reciprocal_rank_fusion(rankings: list[tuple[np.ndarray, float]], k: int = 60) -> dict[int, float]:
    """Fuse `(ranked item ids, weight)` pairs into {item id: fused score}."""
    fused: dict[int, float] = {}
    for ranked, weight in rankings:
        if weight == 0:
            continue
        for rank, item in enumerate(ranked.tolist(), start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused
