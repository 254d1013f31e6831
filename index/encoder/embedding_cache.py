"""Vectors already computed, kept on disk as they are computed, so no build encodes the same text twice.

A build that fails or is killed late loses nothing it embedded: every few hundred vectors go to disk as
one shard file (written to a temporary name, fsynced, renamed), keyed by a hash of the model's identity and
the exact text the model read. The next build of the same index reads the shards back and encodes only
what is missing.

Layout, beside the index versions in the index folder:
    embeddings/<model key>/shard-*.npz    keys (16-byte digests) and float32 vectors, row by row
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.durable import fsync_folder, write_failure

FLUSH_EVERY = 256  # vectors per shard: a kill loses about this many
KEY_BYTES = 16


class _KeyTable:
    """Where each cached key's vector is (shard, row), for every shard of a folder read so far: sorted arrays for
    a vectorised lookup, plus the shards added since they were sorted. Kept per folder for the process, so a
    change to a large index reads only the keys of shards it has not seen, never every vector (2.5 million of
    them at 237,000 chunks: seconds and gigabytes)."""

    def __init__(self):
        self.shards: list[tuple[Path, int]] = []  # each shard and how many vectors it holds
        self.seen: set[str] = set()
        self.keys = np.zeros((0, KEY_BYTES), np.uint8)  # sorted by their first 8 bytes (`prefix`)
        self.prefix = np.zeros(0, np.uint64)
        self.where = np.zeros((0, 2), np.int64)  # shard, row
        self.recent: dict[bytes, tuple[int, int]] = {}
        self.lock = threading.Lock()

    def add(self, shards: list[tuple[Path, np.ndarray]]) -> None:
        """The keys of new shards: into the dict while few, sorted into the arrays when many."""
        keys, where = [], []
        for shard, shard_keys in shards:
            where.append(np.stack([np.full(len(shard_keys), len(self.shards)), np.arange(len(shard_keys))], axis=1))
            keys.append(shard_keys)
            self.shards.append((shard, len(shard_keys)))
            self.seen.add(shard.name)
        if not keys:
            return
        keys, where = np.concatenate(keys), np.concatenate(where).astype(np.int64)
        if len(self.recent) + len(keys) <= max(65_536, len(self.keys) // 8):
            self.recent.update(zip((k.tobytes() for k in keys), map(tuple, where.tolist())))
            return
        if self.recent:
            keys = np.concatenate([keys, np.frombuffer(b"".join(self.recent), np.uint8).reshape(-1, KEY_BYTES)])
            where = np.concatenate([where, np.array(list(self.recent.values()), dtype=np.int64).reshape(-1, 2)])
            self.recent = {}
        keys, where = np.concatenate([self.keys, keys]), np.concatenate([self.where, where])
        prefix = keys[:, :8].copy().view(">u8").ravel().astype(np.uint64)
        order = np.argsort(prefix, kind="stable")
        self.keys, self.where, self.prefix = keys[order], where[order], prefix[order]

    def find(self, keys: list[bytes]) -> np.ndarray:
        """(shard, row) of each key, -1 where not cached."""
        out = np.full((len(keys), 2), -1, dtype=np.int64)
        if not keys:
            return out
        wanted = np.frombuffer(b"".join(keys), np.uint8).reshape(-1, KEY_BYTES)
        prefix = wanted[:, :8].copy().view(">u8").ravel().astype(np.uint64)
        at = np.minimum(np.searchsorted(self.prefix, prefix), max(len(self.prefix) - 1, 0))
        if len(self.prefix):
            hit = (self.prefix[at] == prefix) & (self.keys[at] == wanted).all(axis=1)
            out[hit] = self.where[at[hit]]
            # the first key with the same first 8 bytes was another one (all but never): look at the others
            for i in np.flatnonzero(~hit & (self.prefix[at] == prefix)):
                j = at[i] + 1
                while j < len(self.prefix) and self.prefix[j] == prefix[i]:
                    if np.array_equal(self.keys[j], wanted[i]):
                        out[i] = self.where[j]
                        break
                    j += 1
        for i, key in enumerate(keys):
            if key in self.recent:
                out[i] = self.recent[key]
        return out


_tables: dict[str, _KeyTable] = {}
_tables_guard = threading.Lock()


class EmbeddingCache:
    """Vectors of one model, found by the text they were computed from."""

    def __init__(self, folder: Path, model_key: str):
        self.model_key = model_key
        self.folder = Path(folder) / (re.sub(r"[^A-Za-z0-9._-]+", "-", model_key).strip("-.") or "model")
        with _tables_guard:
            self._table = _tables.setdefault(str(self.folder.resolve()), _KeyTable())
        self._looked = False

    def key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model_key}\0{text}".encode("utf-8")).digest()[:KEY_BYTES]

    def _look(self) -> None:
        """Read the keys of the shards this process has not seen yet (once per cache object: a build or change)."""
        if self._looked:
            return
        self._looked = True
        if not self.folder.is_dir():
            return
        table, found = self._table, []
        for shard in sorted(self.folder.glob("shard-*.npz")):
            if shard.name in table.seen:
                continue
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys = data["keys"]  # only the keys are read: the vectors when asked for
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                continue  # a damaged shard only costs its vectors being computed again
            if keys.ndim != 2 or keys.shape[1] != KEY_BYTES:
                continue
            found.append((shard, keys))
        table.add(found)

    def get_many(self, keys: list[bytes]) -> list[np.ndarray | None]:
        """The cached vector of each key (None: not cached, or its shard no longer reads)."""
        with self._table.lock:
            self._look()
            where = self._table.find(keys)
            shards = list(self._table.shards)
        out: list[np.ndarray | None] = [None] * len(keys)
        cached = np.flatnonzero(where[:, 0] >= 0)
        cached = cached[np.argsort(where[cached, 0], kind="stable")]  # shard by shard, each read once
        bounds = np.flatnonzero(np.diff(where[cached, 0])) + 1
        for rows in np.split(cached, bounds) if len(cached) else ():
            shard, size = shards[where[rows[0], 0]]
            try:
                with np.load(shard, allow_pickle=False) as data:
                    vectors = data["vectors"]
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                continue  # a damaged shard only costs its vectors being computed again
            if vectors.ndim != 2 or len(vectors) != size:
                continue
            for i, vector in zip(rows.tolist(), vectors[where[rows, 1]]):
                out[i] = vector
        return out

    def get(self, key: bytes) -> np.ndarray | None:
        return self.get_many([key])[0]

    def put(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Keep `vectors` (row i belongs to keys[i]) durably on disk."""
        if not keys:
            return
        with self._table.lock:
            self._look()
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".shard-", suffix=".npz", dir=self.folder)
        except OSError as exc:
            raise write_failure(exc, self.folder) from exc
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES),
                         vectors=np.asarray(vectors, dtype=np.float32))
                f.flush()
                os.fsync(f.fileno())
            final = self.folder / f"shard-{os.getpid()}-{os.path.basename(tmp)[7:-4]}.npz"
            os.replace(tmp, final)
            fsync_folder(self.folder)
        except OSError as exc:  # a full disk: say so, and leave no partial shard behind
            Path(tmp).unlink(missing_ok=True)
            raise write_failure(exc, self.folder) from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._table.lock:
            self._table.add([(final, np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES))])


def encode_cached(
    encode, texts: list[str], cache: EmbeddingCache | None, dimension: int, desc: str = "embedding",
    unit: str = "chunk", batch_size: int = 32, progress: bool = True,
) -> tuple[np.ndarray, int]:
    """Vectors of `texts` (rows in order) and how many rows came from `cache` rather than `encode`.

    `encode(list_of_texts) -> float32 array` is called once per batch on the distinct texts the cache does
    not hold, shortest first (a batch of similar lengths wastes little on padding); new vectors go to the
    cache every FLUSH_EVERY vectors and at the end."""
    distinct = list(dict.fromkeys(texts))
    found: dict[str, np.ndarray] = {}
    keys: dict[str, bytes] = {}
    if cache is not None:
        keys = {text: cache.key(text) for text in distinct}
        for text, vector in zip(distinct, cache.get_many([keys[t] for t in distinct])):
            if vector is not None:
                found[text] = vector
    reused = sum(1 for t in texts if t in found)
    missing = sorted((t for t in distinct if t not in found), key=len)
    pending_keys: list[bytes] = []
    pending_vectors: list[np.ndarray] = []

    def flush() -> None:
        if cache is not None and pending_keys:
            cache.put(list(pending_keys), np.vstack(pending_vectors))
        pending_keys.clear()
        pending_vectors.clear()

    with tqdm(total=len(distinct), initial=len(distinct) - len(missing), desc=desc, unit=unit,
              disable=not progress, file=sys.stderr) as bar:
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            vectors = np.asarray(encode(batch), dtype=np.float32)
            found.update(zip(batch, vectors))
            if cache is not None:
                pending_keys.extend(keys[t] for t in batch)
                pending_vectors.append(vectors)
                if len(pending_keys) >= FLUSH_EVERY:
                    flush()
            bar.update(len(batch))
    flush()
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row] = found[text]
    return out, reused
