"""The vector store of chunks or sentences: exact (flat) while small, HNSW above ANN_FROM vectors.

Both are FAISS inner-product indexes over normalised vectors (= cosine). A flat index scores every vector
per question; HNSW walks a graph and touches a few thousand. Measured on two cores, one question, k=100,
384 dimensions: a flat search of 55,000 vectors takes 3.3 ms, HNSW (M=32, efSearch=128) 0.35 ms (efSearch 256 is used: recall@10 0.95 on hard synthetic data); HNSW
costs about 6 s to build per 55,000 vectors. Below ANN_FROM the flat index is cheap and exact; above it
HNSW keeps a question's cost nearly flat as the index grows. A larger graph needs a wider walk for the same
recall: at a million chunks (bench/million.py) recall@10 of the chunk graph was 0.90 at efSearch 256, 0.95 at
512, 0.98 at 1024 (1.9 ms a search) and 0.99 at 2048 (4.6 ms); so from LARGE_FROM vectors on, efSearch is 1024.

From CODED_FROM vectors on, the graph's vectors are stored as 8-bit scalar codes (IndexHNSWSQ, one byte per
dimension instead of four): a million chunks have about 5.5 million sentence vectors, 8.4 GB in float32 and
2.1 GB as codes, and the float32 ones did not fit beside everything else on a 24 GiB machine. The codes
cost little precision: over stard_train's real sentence vectors a cosine moves by 1e-4 on average (7e-4 at
most), and exact search over the codes keeps 0.989 of the float32 top 10 (float16 codes: 0.999, at twice
the memory, which a million chunks could not afford within 12 GiB).

Candidates are scored exactly on the stored vectors either way (`vectors`): a view of the float32 matrix,
or the codes decoded for just the rows asked for.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable

import faiss
import numpy as np

ANN_FROM = 50_000  # vectors; override per build with build_index(ann_from=...)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256
LARGE_FROM, HNSW_EF_SEARCH_LARGE = 500_000, 1024
CODED_FROM = 2_000_000  # vectors; override per build with build_index(coded_from=...)
CODE_TRAINING = 200_000  # vectors sampled to learn each dimension's range for the 8-bit codes


def hnsw_index(dimension: int, coded: bool = False) -> faiss.Index:
    """An empty HNSW inner-product index with our settings; `coded`: vectors stored as 8-bit codes
    (it must be trained, see `train_codes`, before vectors are added)."""
    if coded:
        index = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def ef_search(index: faiss.Index) -> int:
    """How wide a graph walk is: wider on a large graph, where the narrow one misses more (see above)."""
    return HNSW_EF_SEARCH_LARGE if index.ntotal >= LARGE_FROM else HNSW_EF_SEARCH


def train_codes(index: faiss.Index, vectors: np.ndarray, seed: int = 0) -> None:
    """Learn the 8-bit codes' range per dimension from (a sample of) `vectors`."""
    if len(vectors) > CODE_TRAINING:
        rows = np.sort(np.random.default_rng(seed).choice(len(vectors), CODE_TRAINING, replace=False))
        vectors = vectors[rows]
    index.train(np.ascontiguousarray(vectors, dtype=np.float32))


def empty_index(n: int, dimension: int, ann_from: int = ANN_FROM, coded_from: int = CODED_FROM,
                codes_of: faiss.Index | None = None, sample: Callable[[], np.ndarray] | None = None) -> faiss.Index:
    """The index `vector_index` makes for `n` vectors, empty and ready for them: flat below `ann_from`, HNSW from
    there on, over 8-bit codes from `coded_from` on, whose ranges are taken from the coded index `codes_of` (a
    merge: the vectors it decoded from those codes are coded again to the very same bytes, so their scores do
    not move) or learned from `sample()` (some of the vectors)."""
    if n < ann_from:
        return faiss.IndexFlatIP(dimension)
    index = hnsw_index(dimension, coded=n >= coded_from)
    if not index.is_trained and codes_of is not None and is_coded(codes_of):
        storage, source = _storage(index), _storage(codes_of)
        faiss.copy_array_to_vector(faiss.vector_to_array(source.sq.trained), storage.sq.trained)
        storage.is_trained = index.is_trained = True
    if not index.is_trained:
        train_codes(index, sample())
    return index


def vector_index(vectors: np.ndarray, dimension: int, ann_from: int = ANN_FROM, coded_from: int = CODED_FROM,
                 codes_of: faiss.Index | None = None) -> faiss.Index:
    """A FAISS index of `vectors` (see `empty_index`)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = empty_index(len(vectors), dimension, ann_from, coded_from, codes_of, lambda: vectors)
    if len(vectors):
        index.add(vectors)
    return index


@contextmanager
def every_core():
    """FAISS on every core for a batch of work (a change's neighbour searches, a merge's graph), then back to what
    it was: a store answering questions keeps FAISS to one thread per question (see index.store.local)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def is_ann(index: faiss.Index) -> bool:
    return isinstance(faiss.downcast_index(index), faiss.IndexHNSW)


def is_coded(index: faiss.Index) -> bool:
    return isinstance(_storage(index), faiss.IndexScalarQuantizer)


def kind(index: faiss.Index) -> str:
    """What the manifest records: flat, hnsw or hnsw-sq8."""
    return ("hnsw-sq8" if is_coded(index) else "hnsw") if is_ann(index) else "flat"


def _storage(index: faiss.Index) -> faiss.Index:
    index = faiss.downcast_index(index)
    return faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index


class CodedVectors:
    """The vectors of an 8-bit coded index, decoded row by row as they are asked for (`[rows]`)."""

    def __init__(self, index: faiss.Index):
        self.index = index  # owns the codes: kept alive as long as they are read
        self.storage = storage = _storage(index)
        self.shape = (storage.ntotal, storage.d)
        self.codes = faiss.rev_swig_ptr(storage.codes.data(), storage.ntotal * storage.code_size).reshape(
            storage.ntotal, storage.code_size)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        codes = np.ascontiguousarray(self.codes[rows])
        return self.storage.sa_decode(codes.reshape(-1, self.storage.code_size)).reshape(*codes.shape[:-1], self.shape[1])


def vectors(index: faiss.Index) -> np.ndarray | CodedVectors:
    """The (ntotal, d) vectors inside a flat or HNSW index, for scoring candidates: a view without a copy
    of float32 vectors (valid while `index` lives), or a decoder of 8-bit codes."""
    storage = _storage(index)
    if isinstance(storage, faiss.IndexScalarQuantizer):
        return CodedVectors(index)
    if storage.ntotal == 0:
        return np.zeros((0, storage.d), dtype=np.float32)
    return faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * storage.d).reshape(storage.ntotal, storage.d)


def nearest(index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Ids of the `k` vectors nearest `query`, only `allowed` ones when given (a boolean mask)."""
    return nearest_with_scores(index, query, k, allowed)[0]


def nearest_with_scores(index: faiss.Index, query: np.ndarray, k: int,
                        allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the `k` vectors nearest `query` (only `allowed` ones when given, a boolean mask) and their inner
    products, best first.

    A filter that admits few vectors is searched exactly over the admitted ones: a graph walk restricted
    to a small subset would miss most of it."""
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if allowed is not None and (not is_ann(index) or allowed.sum() <= 20 * k):
        admitted = np.flatnonzero(allowed)
        if not len(admitted):
            return admitted.astype(np.int64), np.zeros(0, dtype=np.float32)
        stored = vectors(index)
        if isinstance(stored, np.ndarray) and len(admitted) > len(stored) // 4:
            scores = (stored @ query)[admitted]  # most are admitted: one pass over the matrix beats gathering rows
        else:
            scores = stored[admitted] @ query
        top = np.argpartition(-scores, min(k, len(admitted)) - 1)[:k] if len(admitted) > k else np.arange(len(admitted))
        top = top[np.argsort(-scores[top], kind="stable")]
        return admitted[top].astype(np.int64), scores[top].astype(np.float32)
    params = None
    if is_ann(index):
        params = faiss.SearchParametersHNSW(efSearch=max(ef_search(index), k))
        if allowed is not None:
            bits = np.packbits(allowed, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
    sims, ids = index.search(query[None, :], k, params=params)
    ids, sims = ids[0], sims[0]
    found = ids >= 0
    return ids[found].astype(np.int64), sims[found]
