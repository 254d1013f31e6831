"""The BM25 tokens of every chunk, kept with the index.

A change makes BM25 term columns (index.store.bm25) for the chunks it writes; tokenising is what costs (jieba reads about 130k characters a second here: half a
minute for 10,000 chunks); indexing tokens that are already known takes a second or so. So the tokens are kept,
as ids into a vocabulary (about 15 MB for 10,000 chunks), and an update tokenises only new chunks.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

FILE = "bm25_tokens.npz"


@dataclass
class ChunkTokens:
    ids: np.ndarray  # int32: every chunk's token ids, one chunk after another
    offsets: np.ndarray  # int64 (n_chunks + 1): chunk i's ids are ids[offsets[i]:offsets[i + 1]]
    vocab: list[str]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_lists(cls, token_lists: Iterable[Sequence[str]], vocab: list[str] | None = None) -> "ChunkTokens":
        vocab = list(vocab or [])
        index = {t: i for i, t in enumerate(vocab)}
        ids: list[int] = []
        offsets = [0]
        for tokens in token_lists:
            for t in tokens:
                i = index.get(t)
                if i is None:
                    i = index[t] = len(vocab)
                    vocab.append(t)
                ids.append(i)
            offsets.append(len(ids))
        return cls(np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64), vocab)

    def lists(self) -> list[list[int]]:
        """Each chunk's token ids."""
        return [self.ids[a:b].tolist() for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def select(self, rows: Sequence[int]) -> "ChunkTokens":
        """The tokens of the chunks at positions `rows`, in that order (a position may repeat)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.offsets[rows]
        lengths = self.offsets[rows + 1] - starts
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        positions = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return ChunkTokens(self.ids[positions], offsets, self.vocab)

    def keep_and_extend(self, keep: Sequence[int], new_lists: Iterable[Sequence[str]]) -> "ChunkTokens":
        """The tokens of the chunks at positions `keep` (in that order), then those of new chunks."""
        kept = self.select(keep)
        added = ChunkTokens.from_lists(new_lists, self.vocab)
        return ChunkTokens(
            np.concatenate([kept.ids, added.ids]).astype(np.int32, copy=False),
            np.concatenate([kept.offsets, kept.offsets[-1] + added.offsets[1:]]).astype(np.int64),
            added.vocab,
        )

    def save(self, folder: Path) -> None:
        # not compressed: compressing took 2 s of every update at 10,000 chunks, to save about 10 MB
        np.savez(Path(folder) / FILE, ids=self.ids, offsets=self.offsets, vocab=np.asarray(self.vocab, dtype=str))

    @classmethod
    def load(cls, folder: Path) -> "ChunkTokens":
        with np.load(Path(folder) / FILE, allow_pickle=False) as data:
            return cls(data["ids"], data["offsets"], data["vocab"].tolist())
