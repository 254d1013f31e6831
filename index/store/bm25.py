"""The BM25 index: a bm25s retriever whose score matrix is computed here, in numpy, from the kept token ids.

bm25s's own `index()` takes every chunk's tokens as Python lists of ints and counts them chunk by chunk: at a
million chunks (about 450 million tokens) those lists alone need more than 10 GB, and the build was killed
for memory (bench/million.py; BM25 now takes 67 s there). The matrix below is the same one, entry for entry
(tests/test_bm25.py compares it with bm25s's `index()`): Lucene BM25 (k1 1.5, b 0.75), float32 scores, a CSC
matrix of chunks x vocabulary, rows in order within each column. It is made from ChunkTokens' flat int32
arrays, a block of chunks at a time, so memory stays a few bytes per token. Retrieval, saving and loading
stay bm25s's.
"""
from __future__ import annotations

import sys

import numpy as np

from index.store.chunk_tokens import ChunkTokens


def _import_bm25s():
    """bm25s without numba and scipy.sparse, which it imports when they are installed, for backends this
    project never runs: the score matrix is computed here, and scoring is bm25s's numpy scorer (as a loaded index
    always used). Importing them cost every question's process about 0.2 s and 60 MB. A process that already
    has them (an evaluation, through ranx) keeps them; one that imports them later gets them as usual."""
    absent = [name for name in ("numba", "scipy.sparse") if name not in sys.modules]
    for name in absent:
        sys.modules[name] = None  # `import name` raises ImportError, which bm25s takes as "not installed"
    try:
        import bm25s
    finally:
        for name in absent:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return bm25s


bm25s = _import_bm25s()

K1, B = 1.5, 0.75
# Stands in for the tokens of a chunk that has none (only punctuation or symbols): bm25s cannot index an
# empty vocabulary, and no question can produce this token (tokenization drops control characters).
NO_TOKENS = "\x00"
BLOCK_TOKENS = 20_000_000  # tokens counted per block: bounds the temporary arrays (~250 MB)


def bm25_index(tokens: ChunkTokens | list[list[str]]) -> bm25s.BM25:
    """A BM25 index over the tokens of every chunk; chunks without tokens never match."""
    if not isinstance(tokens, ChunkTokens):
        tokens = ChunkTokens.from_lists(tokens)
    vocab = {t: i for i, t in enumerate(tokens.vocab)}
    placeholder = vocab.setdefault(NO_TOKENS, len(vocab))
    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    retriever.scores = score_matrix(tokens, placeholder, len(vocab))
    # as bm25s's index() leaves them: the empty token after the vocabulary, the set of known ids
    vocab.setdefault("", len(vocab))
    retriever.vocab_dict = vocab
    retriever.unique_token_ids_set = set(vocab.values())
    retriever.nonoccurrence_array = None
    return retriever


def term_counts(tokens: ChunkTokens, placeholder: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each (chunk, token) pair that occurs, in chunk then token order, with its count; and every chunk's
    length. A chunk without tokens counts the placeholder once."""
    lengths = np.diff(tokens.offsets)
    empty = np.flatnonzero(lengths == 0)
    lengths = np.where(lengths == 0, 1, lengths)
    rows, cols, counts = [], [], []
    n = len(tokens)
    start = 0
    while start < n:
        # as many chunks as fit in a block (at least one)
        end = int(np.searchsorted(tokens.offsets, tokens.offsets[start] + BLOCK_TOKENS, side="right")) - 1
        end = min(max(end, start + 1), n)
        ids = tokens.ids[tokens.offsets[start] : tokens.offsets[end]].astype(np.int64)
        owner = np.repeat(np.arange(start, end, dtype=np.int64), np.diff(tokens.offsets[start : end + 1]))
        keys, count = np.unique(owner * (placeholder + 1) + ids, return_counts=True)
        rows.append((keys // (placeholder + 1)).astype(np.int32))
        cols.append((keys % (placeholder + 1)).astype(np.int32))
        counts.append(count.astype(np.float32))
        start = end
    rows.append(empty.astype(np.int32))
    cols.append(np.full(len(empty), placeholder, dtype=np.int32))
    counts.append(np.ones(len(empty), dtype=np.float32))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(counts), lengths


def score_matrix(tokens: ChunkTokens, placeholder: int, n_vocab: int) -> dict:
    """bm25s's `scores` (CSC data, indices, indptr, num_docs) for `tokens`."""
    rows, cols, tf, lengths = term_counts(tokens, placeholder)
    n_docs = len(tokens)
    df = np.bincount(cols, minlength=n_vocab)
    # as bm25s computes them: in float64, stored as float32 (a block at a time: float64 temporaries are large)
    with np.errstate(divide="ignore", invalid="ignore"):
        idf = np.where(df > 0, np.log(1 + (n_docs - df + 0.5) / (df + 0.5)), 0.0).astype(np.float32)
    norm = K1 * ((1 - B) + B * lengths / lengths.mean())
    data = np.empty(len(rows), dtype=np.float32)
    for a in range(0, len(rows), BLOCK_TOKENS):
        r, c, f = rows[a : a + BLOCK_TOKENS], cols[a : a + BLOCK_TOKENS], tf[a : a + BLOCK_TOKENS].astype(np.float64)
        data[a : a + BLOCK_TOKENS] = idf[c] * (f / (norm[r] + f))
    del tf
    # column order: a stable sort by token keeps the rows ascending within each column
    order = np.argsort(cols, kind="stable")
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return {"data": data[order], "indices": rows[order], "indptr": indptr, "num_docs": n_docs}
