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
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.durable import fsync_folder, write_failure

FLUSH_EVERY = 256  # vectors per shard: a kill loses about this many
KEY_BYTES = 16


class EmbeddingCache:
    """Vectors of one model, found by the text they were computed from."""

    def __init__(self, folder: Path, model_key: str):
        self.model_key = model_key
        self.folder = Path(folder) / (re.sub(r"[^A-Za-z0-9._-]+", "-", model_key).strip("-.") or "model")
        self._known: dict[bytes, np.ndarray] = {}
        self._loaded = False

    def key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model_key}\0{text}".encode("utf-8")).digest()[:KEY_BYTES]

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if not self.folder.is_dir():
            return
        for shard in sorted(self.folder.glob("shard-*.npz")):
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                continue  # a damaged shard only costs its vectors being computed again
            if keys.ndim != 2 or keys.shape[1] != KEY_BYTES or len(keys) != len(vectors):
                continue
            for k, v in zip(keys, vectors):
                self._known[k.tobytes()] = v

    def get(self, key: bytes) -> np.ndarray | None:
        self._load()
        return self._known.get(key)

    def put(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Keep `vectors` (row i belongs to keys[i]) durably on disk."""
        if not keys:
            return
        self._load()
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
        for k, v in zip(keys, vectors):
            self._known[k] = v


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
    for text in distinct:
        if cache is not None:
            keys[text] = cache.key(text)
            vector = cache.get(keys[text])
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
