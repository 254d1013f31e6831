"""Several FAISS indexes (one per segment) searched as one.

A vector's slot is its position in its own index plus the sizes of the indexes before it. `nearest` asks each
index for its `k` nearest allowed vectors and keeps the `k` best of them all: over flat indexes that is exactly
the `k` nearest of the union (the scores are exact inner products); over HNSW graphs each walk is as good as it
is in its own graph. One index is searched as index.store.ann.nearest searches it, so a version of one segment
finds what the single index always found.
"""
from __future__ import annotations

import faiss
import numpy as np

from index.store.ann import ef_search, is_ann, nearest_with_scores, vectors


class VectorParts:
    def __init__(self, indexes: list[faiss.Index]):
        self.indexes = indexes
        self.views = [vectors(index) for index in indexes]
        sizes = [index.ntotal for index in indexes]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.ntotal = int(self.starts[-1])
        self.d = indexes[0].d if indexes else 0
        self._mask_seen: tuple[np.ndarray | None, list[np.ndarray | None]] = (None, [])

    def _masks(self, allowed: np.ndarray | None) -> list[np.ndarray | None]:
        """Each part's slice of `allowed`, None where it admits every vector of the part (searched without a
        filter: a selector over millions of vectors costs a question more than a deleted chunk is worth). The
        store's mask of live slots is the same array for every unfiltered question: worked out once."""
        if allowed is None:
            return [None] * len(self.indexes)
        seen, masks = self._mask_seen
        if seen is allowed:
            return masks
        masks = []
        for p in range(len(self.indexes)):
            here = allowed[self.starts[p] : self.starts[p + 1]]
            masks.append(None if here.all() else here)
        self._mask_seen = (allowed, masks)
        return masks

    def __len__(self) -> int:
        return self.ntotal

    def reconstruct_n(self, start: int, n: int) -> np.ndarray:
        """The vectors of slots start..start+n-1 (as FAISS's own reconstruct_n)."""
        return self[np.arange(start, start + n, dtype=np.int64)]

    def __getitem__(self, slots) -> np.ndarray:
        """The vectors at `slots` (an integer array), in that order."""
        if len(self.indexes) == 1:
            return self.views[0][slots]
        slots = np.asarray(slots, dtype=np.int64)
        part = np.searchsorted(self.starts, slots, side="right") - 1
        if not len(slots) or part.min() == part.max():
            p = int(part[0]) if len(slots) else 0
            return self.views[p][slots - self.starts[p]]
        out = np.empty((len(slots), self.d), dtype=np.float32)
        # grouped by part with one sort, not one mask over every slot per part
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(len(self.indexes) + 1))
        for p in np.flatnonzero(bounds[1:] > bounds[:-1]):
            rows = order[bounds[p] : bounds[p + 1]]
            out[rows] = self.views[p][slots[rows] - self.starts[p]]
        return out

    def dot(self, slots, query: np.ndarray) -> np.ndarray:
        """The inner products of the vectors at `slots` with `query` (float32), without gathering the vectors of
        several parts into one array first."""
        slots = np.asarray(slots, dtype=np.int64)
        part = np.searchsorted(self.starts, slots, side="right") - 1
        if not len(slots) or part.min() == part.max():
            p = int(part[0]) if len(slots) else 0
            return self.views[p][slots - self.starts[p]] @ query
        out = np.empty(len(slots), dtype=np.float32)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(len(self.indexes) + 1))
        for p in np.flatnonzero(bounds[1:] > bounds[:-1]):
            rows = order[bounds[p] : bounds[p + 1]]
            out[rows] = self.views[p][slots[rows] - self.starts[p]] @ query
        return out

    def nearest(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Slots of the `k` vectors nearest `query` among the `allowed` ones (a boolean mask over slots)."""
        if len(self.indexes) == 1:
            return nearest_with_scores(self.indexes[0], query, k, allowed)[0]
        found, scores = [], []
        for p, (index, here) in enumerate(zip(self.indexes, self._masks(allowed))):
            a, b = self.starts[p], self.starts[p + 1]
            if a == b:
                continue
            ids, sims = nearest_with_scores(index, query, k, here)
            found.append(ids + a)
            scores.append(sims)
        if not found:
            return np.zeros(0, dtype=np.int64)
        ids, sims = np.concatenate(found), np.concatenate(scores)
        best = np.lexsort((ids, -sims))[:k]
        return ids[best]

    def knn(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each of `queries`, the slots of its `k` nearest allowed vectors and their inner products, best
        first (ties by slot), -1 / -inf padded: searched in every index as a batch, then merged."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        all_ids, all_sims = [], []
        for p, (index, here) in enumerate(zip(self.indexes, self._masks(allowed))):
            a, b = int(self.starts[p]), int(self.starts[p + 1])
            if a == b:
                continue
            if here is not None and not here.any():
                continue
            params = None
            if here is not None:
                bits = np.packbits(here, bitorder="little")
                params = faiss.SearchParameters() if not is_ann(index) else faiss.SearchParametersHNSW(efSearch=max(ef_search(index), k))
                params.sel = faiss.IDSelectorBitmap(len(here), faiss.swig_ptr(bits))
            elif is_ann(index):
                params = faiss.SearchParametersHNSW(efSearch=max(ef_search(index), k))
            sims, ids = index.search(queries, min(k, b - a), params=params)
            all_ids.append(np.where(ids >= 0, ids + a, -1))
            all_sims.append(np.where(ids >= 0, sims, -np.inf).astype(np.float32))
        if not all_ids:
            return np.full((len(queries), k), -1, dtype=np.int64), np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids, sims = np.concatenate(all_ids, axis=1), np.concatenate(all_sims, axis=1)
        order = np.lexsort((ids, -sims), axis=1)[:, :k]
        ids, sims = np.take_along_axis(ids, order, axis=1), np.take_along_axis(sims, order, axis=1)
        if ids.shape[1] < k:
            pad = k - ids.shape[1]
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
            sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
        return ids, sims

