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
    """int32 array (n, m): for each vector, the indices of its `m` most similar others, best first.

    A k-NN search of every vector in `search` (an index already holding `vectors`: HNSW for a large index,
    so this is not all pairs) or, by default, in a flat index. Rows are padded with -1 when there are
    fewer than `m` other vectors."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    out = np.full((n, m), -1, dtype=np.int32)
    if n < 2 or m == 0:
        return out
    flat = search
    if flat is None:
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
    want = min(m + 1, n)
    batch = 1024
    for start in tqdm(range(0, n, batch), desc="neighbours", unit="batch", disable=not progress, file=sys.stderr):
        _, ids = flat.search(vectors[start : start + batch], want)
        for row, hits in enumerate(ids, start=start):
            others = [int(h) for h in hits if h != row and h >= 0][:m]
            out[row, : len(others)] = others
    return out
