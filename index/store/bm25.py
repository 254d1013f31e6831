"""BM25 over the kept token ids, scored with the collection's statistics at query time.

A `Postings` holds one group of chunks' term columns: for every token, the chunks holding it (ascending) and how
often, and every chunk's length. Scores are not baked in (bm25s's matrix holds idf and the average length, so any
change to the collection re-indexes it): `CollectionBM25` computes them per question from the document frequencies
and lengths of the chunks alive across every group, so a change writes only its own group's columns, and a
deleted chunk leaves the statistics as if it had never been indexed. The scores are bm25s's own, to the bit
(tests/test_bm25.py compares them with bm25s's `index()` and `get_scores`): Lucene BM25 (k1 1.5, b 0.75), each
term's idf in float32, each posting's score computed in float64 and stored in float32, summed in float32 in the
question's token order. bm25s is the reference those tests hold us to; it is not used to search, since its
matrix cannot take a change without being made again (and its own `index()` needs Python lists of every token:
more than 10 GB at a million chunks; the columns here are counted a block of chunks at a time).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.store.chunk_tokens import ChunkTokens


K1, B = 1.5, 0.75
# Stands in for the tokens of a chunk that has none (only punctuation or symbols), so that it has a length of
# 1 as in bm25s's index(); no question can produce this token (tokenization drops control characters).
NO_TOKENS = "\x00"
BLOCK_TOKENS = 20_000_000  # tokens counted per block: bounds the temporary arrays (~250 MB)


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


POSTINGS_FILE = "bm25_postings.npz"


@dataclass
class Postings:
    """One group of chunks' BM25 term columns (see the module's docstring). Column j is token `vocab[j]`;
    the placeholder NO_TOKENS, counted once by each chunk without tokens, is the last column."""

    vocab: list[str]
    indptr: np.ndarray  # int64 (columns + 1): column j's postings are rows/tf[indptr[j]:indptr[j + 1]]
    rows: np.ndarray  # int32: the chunk (position in this group), ascending within a column
    tf: np.ndarray  # float32: how often the token occurs in that chunk
    lengths: np.ndarray  # int64 per chunk: its tokens (1 for a chunk without any)

    def __post_init__(self) -> None:
        self.columns = {t: j for j, t in enumerate(self.vocab)}

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def from_tokens(cls, tokens: ChunkTokens | list[list[str]]) -> "Postings":
        if not isinstance(tokens, ChunkTokens):
            tokens = ChunkTokens.from_lists(tokens)
        vocab = list(tokens.vocab) + [NO_TOKENS]
        rows, cols, tf, lengths = term_counts(tokens, len(vocab) - 1)
        order = np.argsort(cols, kind="stable")  # by column, rows ascending within each (they came in row order)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=len(vocab)), out=indptr[1:])
        return cls(vocab, indptr, rows[order], tf[order], lengths.astype(np.int64))

    def column(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, tf) of `token`; empty when no chunk here holds it."""
        j = self.columns.get(token)
        if j is None:
            return _NO_ROWS, _NO_TF
        a, b = self.indptr[j], self.indptr[j + 1]
        return self.rows[a:b], self.tf[a:b]

    def save(self, folder: Path) -> None:
        np.savez(Path(folder) / POSTINGS_FILE, vocab=np.asarray(self.vocab, dtype=str), indptr=self.indptr,
                 rows=self.rows, tf=self.tf, lengths=self.lengths)

    @classmethod
    def load(cls, folder: Path) -> "Postings":
        with np.load(Path(folder) / POSTINGS_FILE, allow_pickle=False) as data:
            return cls(data["vocab"].tolist(), data["indptr"], data["rows"], data["tf"], data["lengths"])


_NO_ROWS, _NO_TF = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)


@dataclass
class PostingsPart:
    """A group's postings as a collection sees them: its chunks' collection ids are `offset + row`, or
    `ids[row]` when some are deleted (-1 for a deleted chunk)."""

    postings: Postings
    offset: int = 0
    ids: np.ndarray | None = None

    def live_lengths(self) -> np.ndarray:
        return self.postings.lengths if self.ids is None else self.postings.lengths[self.ids >= 0]


class CollectionBM25:
    """BM25 over several groups of chunks with the statistics of the chunks alive in all of them."""

    def __init__(self, parts: list[PostingsPart], n_chunks: int):
        self.parts = parts
        self.n_chunks = n_chunks
        lengths = [p.live_lengths() for p in parts]
        total = sum(int(x.sum()) for x in lengths)  # exact integers: the same average as numpy's mean
        live = sum(len(x) for x in lengths)
        if live != n_chunks:
            raise ValueError(f"{live} chunks alive in the postings, not {n_chunks}")
        avgdl = total / live if live else 1.0
        # each chunk's length normalisation, by collection id (float64, as bm25s computes it)
        self.norm = np.empty(n_chunks, dtype=np.float64)
        for part in parts:
            ids = self._ids(part, np.arange(len(part.postings)))
            alive = ids >= 0
            self.norm[ids[alive]] = K1 * ((1 - B) + B * part.postings.lengths[alive] / avgdl)

    @staticmethod
    def _ids(part: PostingsPart, rows: np.ndarray) -> np.ndarray:
        return rows.astype(np.int64) + part.offset if part.ids is None else part.ids[rows]

    def scores(self, tokens: list[str]) -> np.ndarray:
        """float32 scores of every chunk, by collection id, for the question's `tokens` (repeats count again)."""
        out = np.zeros(self.n_chunks, dtype=np.float32)
        unique = list(dict.fromkeys(tokens))
        ids: dict[str, list[np.ndarray]] = {t: [] for t in unique}
        tf: dict[str, list[np.ndarray]] = {t: [] for t in unique}
        for part in self.parts:  # each group's postings of the question's tokens (most groups hold few of them)
            columns, indptr, rows, counts = part.postings.columns, part.postings.indptr, part.postings.rows, part.postings.tf
            for t in unique:
                j = columns.get(t)
                if j is None or indptr[j] == indptr[j + 1]:
                    continue
                r, f = rows[indptr[j] : indptr[j + 1]], counts[indptr[j] : indptr[j + 1]]
                if part.ids is None:
                    ids[t].append(r.astype(np.int64) + part.offset)
                    tf[t].append(f)
                else:
                    found = part.ids[r]
                    alive = found >= 0
                    ids[t].append(found[alive])
                    tf[t].append(f[alive])
        scored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for t in unique:
            if not ids[t]:
                continue
            chunk_ids = np.concatenate(ids[t]) if len(ids[t]) > 1 else ids[t][0]
            df = len(chunk_ids)
            if not df:
                continue
            idf = np.float32(np.log(1 + (self.n_chunks - df + 0.5) / (df + 0.5)))
            f = (np.concatenate(tf[t]) if len(tf[t]) > 1 else tf[t][0]).astype(np.float64)
            scored[t] = chunk_ids, (np.float64(idf) * (f / (self.norm[chunk_ids] + f))).astype(np.float32)
        # summed in the question's token order, as bm25s sums them (float32 sums depend on their order)
        found = [scored[t] for t in tokens if t in scored]
        if found:
            np.add.at(out, np.concatenate([x[0] for x in found]), np.concatenate([x[1] for x in found]))
        return out
