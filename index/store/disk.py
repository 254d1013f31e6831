"""The index on disk: FAISS vectors, a BM25 index, documents, chunks and a manifest.

Layout of an index folder:
    CURRENT          name of the live version folder (replaced atomically)
    v-<stamp>/       manifest.json, documents.jsonl, chunks.jsonl, dense.faiss, bm25_postings.npz (BM25's term columns),
                     sentences.faiss (one vector per sentence of each chunk), sentence_owner.npy,
                     chunk_neighbours.npy (each chunk's nearest chunks), bm25_tokens.npz (each chunk's
                     BM25 tokens, so an update tokenises only new chunks), checksums.json (sha256 of every
                     file, checked at load: a damaged file is named, never answered from)
    embeddings/      vectors computed by builds of this folder, kept so no build encodes a text twice
                     (see embedding_cache)
    converted/       office files converted by LibreOffice, under their content hash, so no sync converts
                     a file twice (see ingest.formats.office)
A build writes a new version folder completely and flushes it to disk, then swaps CURRENT with
os.replace under a writer lock (.lock), so a build that dies halfway leaves the previous index usable
and two writers never delete each other's version; a replaced version is kept ten minutes for readers.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import faiss
import numpy as np

from index.durable import (  # noqa: F401  (the store's own problems and file hash, re-exported)
    IndexBroken, IndexMismatch, IndexMissing, IndexProblem, IndexWriteError, file_sha256, fsync_tree, fsync_folder,
    write_failure,
)
from index.store.bm25 import Postings
from index.store.chunk_tokens import ChunkTokens
from index.text.chunking import Chunk
from index.document import Document
from index.store.features import index_features

FORMAT_VERSION = 6  # 2: BM25 over jieba words + CJK characters and bigrams; manifest "features"
# 3: sentence vectors (sentences.faiss, sentence_owner.npy) for sentence-level dense scoring
# 4: chunks embedded with their document's title; chunk_neighbours.npy for score smoothing
# 5: documents carry doc_number, format, a page map and when they were added; chunks their pages; manifest
#    "duplicates"; bm25_tokens.npz (each chunk's BM25 tokens, for updates without re-tokenising); checksums.json
#    (sha256 of every file, verified at load)
# 6: BM25 as term columns scored with the collection's statistics per question (bm25_postings.npz), not bm25s's
#    matrix with them baked in
CURRENT = "CURRENT"
LOCK = ".lock"
EMBEDDINGS = "embeddings"
CONVERTED = "converted"


@dataclass
class Index:
    """Everything retrieval needs, in memory."""

    manifest: dict
    documents: dict[str, Document]
    chunks: list[Chunk]
    dense: faiss.Index
    bm25: Postings
    path: Path | None = None
    sentences: faiss.Index | None = None  # one vector per sentence of each chunk
    sentence_owner: np.ndarray | None = None  # int32 chunk index of each sentence vector
    neighbours: np.ndarray | None = None  # int32 (chunks, m): each chunk's nearest chunks, -1 padded
    tokens: ChunkTokens | None = None  # each chunk's BM25 tokens, so an update tokenises only new chunks
    tokens_at: Path | None = None  # the version folder `chunk_tokens` reads them from, when not loaded yet

    def chunk_tokens(self) -> ChunkTokens | None:
        """Each chunk's BM25 tokens, read on first use: only an update needs them, and a server would otherwise
        hold them for nothing (1.8 GB at a million chunks)."""
        if self.tokens is None and self.tokens_at is not None:
            self.tokens = _read_tokens(self.tokens_at, len(self.chunks), self.path or self.tokens_at)
        return self.tokens

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def duplicates(self) -> dict[str, list[dict]]:
        """Kept doc id -> the copies of it left out of the index ({"doc_id", "title", "source", "path", "kind"})."""
        return self.manifest.get("duplicates", {})

    def chunk_counts(self) -> dict[str, int]:
        """Doc id -> how many chunks it has in the index."""
        counts: dict[str, int] = {}
        for c in self.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return counts

    def check_compatible(self, model: str | None = None, chunk: dict | None = None) -> None:
        """Refuse an index made with another model, other chunk settings or other index features."""
        where = f" at {self.path}" if self.path else ""
        features = index_features()
        if self.manifest.get("features") != features:
            raise IndexMismatch(
                f"the index{where} was built with index features {self.manifest.get('features')}, not {features} "
                "(an older version of zhqa); rebuild it with: zhqa build"
            )
        if model is not None and model != self.manifest["model"]:
            raise IndexMismatch(
                f"the index{where} was built with model {self.manifest['model']!r}, not {model!r}; "
                f"rebuild it with: zhqa build --model {model}"
            )
        if chunk is not None and chunk != self.manifest["chunk"]:
            raise IndexMismatch(
                f"the index{where} was built with chunk settings {self.manifest['chunk']}, not {chunk}; "
                "rebuild it with: zhqa build"
            )


# A file name that is not UTF-8 reaches Python with lone surrogates (os.fsdecode) and paths carry them into
# JSON strings; "backslashreplace" writes such a character as \udcXX, which is that very character's JSON escape,
# so it reads back the same.
CHECKSUMS = "checksums.json"


def _checksums(version: Path) -> dict[str, str]:
    return {p.relative_to(version).as_posix(): file_sha256(p) for p in sorted(version.rglob("*"))
            if p.is_file() and p.name != CHECKSUMS}


def _verify(version: Path) -> None:
    """Every file of the version is there and holds what was written: a flipped byte in a vector or offset file
    would otherwise load and give wrong answers."""
    expected = json.loads((version / CHECKSUMS).read_text(encoding="utf-8"))
    for name, digest in expected.items():
        path = version / name
        if not path.is_file():
            raise IndexBroken(f"{name} is missing")
        if file_sha256(path) != digest:
            raise IndexBroken(f"{name} is damaged (its checksum does not match)")


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def live_version(index_dir: Path) -> Path | None:
    pointer = Path(index_dir) / CURRENT
    if not pointer.is_file():
        return None
    version = Path(index_dir) / pointer.read_text(encoding="utf-8").strip()
    return version if version.is_dir() else None


KEEP_PREVIOUS_SECONDS = 600  # a replaced version stays this long: a reader that opened it keeps working


_thread_locks: dict[str, threading.RLock] = {}
_thread_locks_guard = threading.Lock()
_held = threading.local()


@contextmanager
def writer_lock(index_dir: Path, wait_message: Callable[[], None] | None = None):
    """Exclusive right to change `index_dir` (a `serve` and an `ask` refreshing at once would otherwise
    delete each other's new version; two `zhqa add` would lose one another's documents).

    Between processes a file lock (flock), between threads of one process a lock per folder; re-entrant in
    the thread that holds it, so an update can hold it from reading the live version to switching to the
    new one. `wait_message` is called once if another writer holds it and this one has to wait."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    key = str(index_dir.resolve())
    with _thread_locks_guard:
        lock = _thread_locks.setdefault(key, threading.RLock())
    with lock:
        depth = _held.__dict__.get(key, 0)
        if depth:
            _held.__dict__[key] = depth + 1
            try:
                yield
            finally:
                _held.__dict__[key] = depth
            return
        fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if wait_message is not None:
                    wait_message()
                fcntl.flock(fd, fcntl.LOCK_EX)
            _held.__dict__[key] = 1
            try:
                yield
            finally:
                _held.__dict__[key] = 0
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def save(index: Index, index_dir: Path) -> Path:
    """Write `index` as a new version of `index_dir` and make it live atomically and durably.

    The version is written completely and flushed to disk before CURRENT points at it (write, fsync, rename,
    fsync the folder); the switch and the clean-up run under the writer lock. The version it replaces is
    kept KEEP_PREVIOUS_SECONDS for readers still using it."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir))
    except OSError as exc:
        raise write_failure(exc, index_dir) from exc
    try:
        try:
            _write_version(index, staging)
        except (OSError, RuntimeError) as exc:  # faiss reports a failed write as RuntimeError
            raise write_failure(exc, index_dir) from exc
        version = _switch(staging, index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    index.path = index_dir
    return version


def _write_version(index: Index, staging: Path) -> None:
    """Every file of `index` into `staging`, checksummed and flushed to disk."""
    _write_jsonl(staging / "documents.jsonl", (d.to_dict() for d in index.documents.values()))
    _write_jsonl(staging / "chunks.jsonl", (c.to_dict() for c in index.chunks))
    faiss.write_index(index.dense, str(staging / "dense.faiss"))
    index.bm25.save(staging)
    if index.sentences is not None:
        faiss.write_index(index.sentences, str(staging / "sentences.faiss"))
        np.save(staging / "sentence_owner.npy", np.asarray(index.sentence_owner, dtype=np.int32))
    if index.neighbours is not None:
        np.save(staging / "chunk_neighbours.npy", np.asarray(index.neighbours, dtype=np.int32))
    if index.chunk_tokens() is not None:
        index.tokens.save(staging)
    # checksums of every file (the manifest's too), then the manifest last: a version without one is incomplete
    manifest = json.dumps(index.manifest, ensure_ascii=False, indent=2).encode("utf-8", "backslashreplace")
    sums = _checksums(staging)
    sums["manifest.json"] = hashlib.sha256(manifest).hexdigest()
    (staging / CHECKSUMS).write_text(json.dumps(sums, indent=1), encoding="utf-8")
    (staging / "manifest.json").write_bytes(manifest)
    fsync_tree(staging)


def _switch(staging: Path, index_dir: Path) -> Path:
    """Make the complete version in `staging` the live one, under the writer lock."""
    with writer_lock(index_dir):
        previous = live_version(index_dir)
        version = index_dir / f"v-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{staging.name[-6:]}"
        pointer_tmp = index_dir / f".{CURRENT}.{os.getpid()}"
        os.replace(staging, version)
        try:
            with open(pointer_tmp, "w", encoding="utf-8") as f:
                f.write(version.name)
                f.flush()
                os.fsync(f.fileno())
            os.replace(pointer_tmp, index_dir / CURRENT)
        except BaseException as exc:  # CURRENT still names the previous version: this one never went live
            pointer_tmp.unlink(missing_ok=True)
            shutil.rmtree(version, ignore_errors=True)
            if isinstance(exc, OSError):
                raise write_failure(exc, index_dir) from exc
            raise
        fsync_folder(index_dir)
        if previous is not None and previous != version:
            os.utime(previous)  # its age now counts from when it stopped being live
        _remove_leftovers(index_dir, keep=version)
    return version


def _remove_leftovers(index_dir: Path, keep: Path) -> None:
    """Drop replaced versions once no reader can still be opening them, and staging folders of builds
    that died (never the live one). Runs under the writer lock."""
    now = time.time()
    for child in index_dir.iterdir():
        if not child.is_dir() or child == keep:
            continue
        age = now - child.stat().st_mtime
        # a staging folder may belong to a build still running elsewhere: only old ones go
        if (child.name.startswith(".building-") and age > 3600) or (child.name.startswith("v-") and age > KEEP_PREVIOUS_SECONDS):
            shutil.rmtree(child, ignore_errors=True)


def exists(index_dir: Path) -> bool:
    return live_version(Path(index_dir)) is not None


def load(index_dir: Path) -> Index:
    """Load the live version of `index_dir`; clear errors when it is missing or damaged."""
    index_dir = Path(index_dir)
    version = live_version(index_dir)
    if version is None:
        raise IndexMissing(f"no index at {index_dir}; build one with: zhqa build --index {index_dir}")
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexMismatch(
                f"the index at {index_dir} has format {manifest.get('format')}, made by another version of zhqa "
                f"(this one reads format {FORMAT_VERSION}); rebuild it with: zhqa build --index {index_dir}"
            )
        _verify(version)
        documents = {d["doc_id"]: Document.from_dict(d) for d in _read_jsonl(version / "documents.jsonl")}
        chunks = [Chunk.from_dict(c) for c in _read_jsonl(version / "chunks.jsonl")]
        dense = faiss.read_index(str(version / "dense.faiss"))
        bm25 = Postings.load(version)
        sentences = faiss.read_index(str(version / "sentences.faiss"))
        sentence_owner = np.load(version / "sentence_owner.npy", allow_pickle=False)
        neighbours = np.load(version / "chunk_neighbours.npy", allow_pickle=False)
    except IndexMismatch:
        raise
    except IndexBroken as exc:
        raise IndexBroken(f"the index at {index_dir} is damaged ({exc}); rebuild it with: zhqa build --index {index_dir}") from exc
    except Exception as exc:  # json, faiss, numpy and OS errors all mean the same to the user
        raise IndexBroken(
            f"the index at {index_dir} is damaged ({type(exc).__name__}: {exc}); "
            f"rebuild it with: zhqa build --index {index_dir}"
        ) from exc
    if dense.ntotal != len(chunks) or manifest.get("n_chunks") != len(chunks) or len(bm25) != len(chunks):
        raise IndexBroken(
            f"the index at {index_dir} is damaged ({dense.ntotal} vectors for {len(chunks)} chunks); "
            f"rebuild it with: zhqa build --index {index_dir}"
        )
    # a sentence of a removed chunk may stay in a large sentence index as a tombstone: owner -1 (see updating)
    if not _chunk_indices(sentence_owner, 1, sentences.ntotal, -1, len(chunks)) or sentences.d != dense.d:
        raise IndexBroken(
            f"the index at {index_dir} is damaged ({sentences.ntotal} sentence vectors, "
            f"{sentence_owner.size} sentence owners for {len(chunks)} chunks); "
            f"rebuild it with: zhqa build --index {index_dir}"
        )
    if not _chunk_indices(neighbours, 2, len(chunks), -1, len(chunks)):
        raise IndexBroken(
            f"the index at {index_dir} is damaged (chunk neighbours of shape {neighbours.shape} for {len(chunks)} chunks); "
            f"rebuild it with: zhqa build --index {index_dir}"
        )
    # the BM25 tokens are read when an update needs them (Index.chunk_tokens); their checksum was verified above
    return Index(
        manifest, documents, chunks, dense, bm25, path=index_dir,
        sentences=sentences, sentence_owner=sentence_owner.astype(np.int32, copy=False),
        neighbours=neighbours.astype(np.int32, copy=False), tokens_at=version,
    )


def _read_tokens(version: Path, n_chunks: int, index_dir: Path) -> ChunkTokens:
    try:
        tokens = ChunkTokens.load(version)
    except Exception as exc:
        raise IndexBroken(
            f"the index at {index_dir} is damaged (its BM25 tokens could not be read: {type(exc).__name__}: {exc}); "
            f"rebuild it with: zhqa build --index {index_dir}"
        ) from exc
    if len(tokens) != n_chunks or (tokens.ids.size and (tokens.ids.min() < 0 or tokens.ids.max() >= len(tokens.vocab))):
        raise IndexBroken(
            f"the index at {index_dir} is damaged (BM25 tokens for {len(tokens)} chunks, not {n_chunks}); "
            f"rebuild it with: zhqa build --index {index_dir}"
        )
    return tokens


def _chunk_indices(values: np.ndarray, ndim: int, rows: int, lowest: int, n_chunks: int) -> bool:
    """Whether `values` is an integer array of `ndim` dimensions and `rows` rows, each in [lowest, n_chunks)."""
    return (
        values.ndim == ndim
        and np.issubdtype(values.dtype, np.integer)
        and len(values) == rows
        and (values.size == 0 or (values.min() >= lowest and values.max() < n_chunks))
    )
