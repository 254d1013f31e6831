"""Each chunk's nearest chunks in the dense space, computed once at build time.

Search uses them for score smoothing (the cluster hypothesis): a passage whose closest passages also
answer the question well is more likely to answer it itself. See qa/fusion.py.
"""
from __future__ import annotations

import sys

import faiss
import numpy as np
from tqdm import tqdm

NEIGHBOURS = 8  # how many nearest chunks are stored per chunk


def nearest_chunks(
    vectors: np.ndarray, m: int = NEIGHBOURS, progress: bool = False, search: faiss.Index | None = None
) -> np.ndarray:
    """int32 array (n, m): for each vector, the indices of its `m` most similar others, best first (see
    `nearest_chunks_with_sims`)."""
    return nearest_chunks_with_sims(vectors, m, progress, search)[0]


def nearest_chunks_with_sims(
    vectors: np.ndarray, m: int = NEIGHBOURS, progress: bool = False, search: faiss.Index | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """int32 array (n, m): for each vector, the indices of its `m` most similar others, best first; and float32
    (n, m) their inner products (what an update compares a new chunk's with).

    A k-NN search of every vector in `search` (an index already holding `vectors`: HNSW for a large index,
    so this is not all pairs) or, by default, in a flat index. Rows are padded with -1 (and -inf) when there are
    fewer than `m` other vectors."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    out = np.full((n, m), -1, dtype=np.int32)
    sims = np.full((n, m), -np.inf, dtype=np.float32)
    if n < 2 or m == 0:
        return out, sims
    flat = search
    if flat is None:
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
    want = min(m + 1, n)
    batch = 1024
    for start in tqdm(range(0, n, batch), desc="neighbours", unit="batch", disable=not progress, file=sys.stderr):
        found_sims, ids = flat.search(vectors[start : start + batch], want)
        for row, hits, hit_sims in zip(range(start, start + len(ids)), ids, found_sims):
            others = [(int(h), float(s)) for h, s in zip(hits, hit_sims) if h != row and h >= 0][:m]
            out[row, : len(others)] = [h for h, _ in others]
            sims[row, : len(others)] = [s for _, s in others]
    return out, sims
