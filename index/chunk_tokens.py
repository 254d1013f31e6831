"""The BM25 tokens of every chunk, kept with the index.

bm25s bakes the collection's statistics (IDF, average length) into its score matrix, so any change to the
collection re-indexes BM25. Tokenising is what costs (jieba reads about 130k characters a second here: half a
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

    def keep_and_extend(self, keep: Sequence[int], new_lists: Iterable[Sequence[str]]) -> "ChunkTokens":
        """The tokens of the chunks at positions `keep` (in that order), then those of new chunks."""
        keep = np.asarray(keep, dtype=np.int64)
        lengths = self.offsets[keep + 1] - self.offsets[keep]
        parts = [self.ids[a:b] for a, b in zip(self.offsets[keep], self.offsets[keep + 1])]
        kept_ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        added = ChunkTokens.from_lists(new_lists, self.vocab)
        return ChunkTokens(
            np.concatenate([kept_ids, added.ids]).astype(np.int32, copy=False),
            np.concatenate([[0], np.cumsum(lengths), int(lengths.sum()) + added.offsets[1:]]).astype(np.int64),
            added.vocab,
        )

    def save(self, folder: Path) -> None:
        # not compressed: compressing took 2 s of every update at 10,000 chunks, to save about 10 MB
        np.savez(Path(folder) / FILE, ids=self.ids, offsets=self.offsets, vocab=np.asarray(self.vocab, dtype=str))

    @classmethod
    def load(cls, folder: Path) -> "ChunkTokens":
        with np.load(Path(folder) / FILE, allow_pickle=False) as data:
            return cls(data["ids"], data["offsets"], data["vocab"].tolist())
