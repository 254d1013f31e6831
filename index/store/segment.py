"""A segment: an immutable group of documents and their chunks, with everything search needs of them.

A version of an index is a list of segments (see index.store.disk); a change writes one new segment and names, in
the version's manifest, the documents of older segments it deletes. A segment folder holds:

    documents.jsonl, chunks.jsonl   its documents and their chunks (some may be deleted by later versions)
    dense.faiss, sentences.faiss     its chunks' and their sentences' vectors (flat or HNSW by its own size)
    sentence_owner.npy               int32: the row of the chunk each sentence vector belongs to
    chunk_uids.npy                   int64: each chunk's id for life, kept through merges
    chunk_neighbours.npy             int64 (rows, m): the uids of each chunk's nearest chunks when it was written,
                                     -1 padded; chunk_neighbour_sims.npy: their cosines
    neighbour_updates.npz            nearest-chunk lists of chunks of older segments that this change altered
                                     (a nearer chunk arrived, or a neighbour was deleted): uids, lists, sims
    bm25_tokens.npz, bm25_postings.npz  its chunks' BM25 tokens and term columns (index.store.bm25)
    doc_signatures.npz               its documents' text digests and MinHash (index.ingest.duplicates), so a change
                                     finds near-duplicates of the library without reading it
    checksums.json                   sha256 of every file, checked when it is opened

Neighbour lists name chunks by uid, not by position: positions change as segments are merged and chunks are
deleted, uids never do.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np

from index.document import Document
from index.ingest.duplicates import Signatures
from index.durable import IndexBroken, file_sha256, fsync_tree
from index.store.bm25 import Postings
from index.store.chunk_tokens import ChunkTokens
from index.text.chunking import Chunk

CHECKSUMS = "checksums.json"
UPDATES = "neighbour_updates.npz"


@dataclass
class NeighbourUpdates:
    """New nearest-chunk lists for chunks (by uid) of older segments; a later segment's supersede earlier ones."""

    uids: np.ndarray  # int64 (k,)
    lists: np.ndarray  # int64 (k, m): uids, -1 padded
    sims: np.ndarray  # float32 (k, m)

    @classmethod
    def empty(cls, m: int) -> "NeighbourUpdates":
        return cls(np.zeros(0, np.int64), np.zeros((0, m), np.int64), np.zeros((0, m), np.float32))

    def __len__(self) -> int:
        return len(self.uids)


@dataclass
class Segment:
    documents: dict[str, Document]
    chunks: list[Chunk]
    dense: faiss.Index
    sentences: faiss.Index
    sentence_owner: np.ndarray  # int32 row of each sentence vector's chunk
    uids: np.ndarray  # int64 per chunk
    neighbours: np.ndarray  # int64 (rows, m) uids
    neighbour_sims: np.ndarray  # float32 (rows, m)
    postings: Postings
    updates: NeighbourUpdates
    tokens: ChunkTokens | None = None
    tokens_at: Path | None = None  # the folder `chunk_tokens` reads them from, when not loaded yet
    name: str = ""  # its folder's name once written
    signatures: Signatures | None = None  # of its documents, in their order (made when written, if missing)
    _row_documents: np.ndarray | None = field(default=None, repr=False, compare=False)
    _row_keys: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.chunks)

    # what every version's view needs of each row, computed once per segment (a segment never changes) so that a
    # version that adds one segment does not walk the chunks of all the others again
    @cached_property
    def document_position(self) -> dict[str, int]:
        """doc id -> its position in `documents`."""
        return {doc_id: i for i, doc_id in enumerate(self.documents)}

    def row_documents(self) -> np.ndarray:
        """int32: each row's document, as its position in `documents`."""
        if self._row_documents is None:
            position = self.document_position
            self._row_documents = np.fromiter((position[c.doc_id] for c in self.chunks), dtype=np.int32, count=len(self.chunks))
        return self._row_documents

    def row_keys(self) -> np.ndarray:
        """uint32: each row's key for the statistics sample, from its document and offset (not its position)."""
        if self._row_keys is None:
            self._row_keys = np.fromiter(
                (zlib.crc32(f"{c.doc_id}\x00{c.start}".encode("utf-8", "surrogatepass")) for c in self.chunks),
                dtype=np.uint32, count=len(self.chunks))
        return self._row_keys

    def live_rows(self, deleted: frozenset[str]) -> np.ndarray:
        """bool: the rows whose documents are not `deleted`."""
        gone = [self.document_position[d] for d in deleted if d in self.document_position]
        if not gone:
            return np.ones(len(self), dtype=bool)
        live = np.ones(len(self.documents), dtype=bool)
        live[gone] = False
        return live[self.row_documents()]

    def chunk_tokens(self) -> ChunkTokens:
        """Its chunks' BM25 tokens, read on first use: only a merge needs them."""
        if self.tokens is None:
            if self.tokens_at is None:
                raise IndexBroken("a segment without its BM25 tokens")
            try:
                self.tokens = ChunkTokens.load(self.tokens_at)
            except Exception as exc:
                raise IndexBroken(f"segment {self.name}: its BM25 tokens could not be read ({type(exc).__name__}: {exc})") from exc
            if len(self.tokens) != len(self.chunks):
                raise IndexBroken(f"segment {self.name}: BM25 tokens for {len(self.tokens)} chunks, not {len(self.chunks)}")
        return self.tokens


def _write_jsonl(path: Path, rows) -> None:
    # a file name that is not UTF-8 reaches Python with lone surrogates; "backslashreplace" writes such a character
    # as \udcXX, which is that very character's JSON escape, so it reads back the same
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def checksums(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != CHECKSUMS}


def verify(folder: Path) -> None:
    """Every file of `folder` is there and holds what was written: a flipped byte in a vector or offset file
    would otherwise load and give wrong answers."""
    expected = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            raise IndexBroken(f"{name} is missing")
        if file_sha256(path) != digest:
            raise IndexBroken(f"{name} is damaged (its checksum does not match)")


def write_segment(segment: Segment, folder: Path) -> None:
    """Every file of `segment` into `folder` (which exists and is empty), checksummed and flushed to disk."""
    _write_jsonl(folder / "documents.jsonl", (d.to_dict() for d in segment.documents.values()))
    _write_jsonl(folder / "chunks.jsonl", (c.to_dict() for c in segment.chunks))
    faiss.write_index(segment.dense, str(folder / "dense.faiss"))
    faiss.write_index(segment.sentences, str(folder / "sentences.faiss"))
    np.save(folder / "sentence_owner.npy", np.asarray(segment.sentence_owner, dtype=np.int32))
    np.save(folder / "chunk_uids.npy", np.asarray(segment.uids, dtype=np.int64))
    np.save(folder / "chunk_neighbours.npy", np.asarray(segment.neighbours, dtype=np.int64))
    np.save(folder / "chunk_neighbour_sims.npy", np.asarray(segment.neighbour_sims, dtype=np.float32))
    u = segment.updates
    np.savez(folder / UPDATES, uids=u.uids.astype(np.int64), lists=u.lists.astype(np.int64), sims=u.sims.astype(np.float32))
    segment.postings.save(folder)
    segment.chunk_tokens().save(folder)
    if segment.signatures is None:
        segment.signatures = Signatures.of(list(segment.documents.values()))
    segment.signatures.save(folder)
    (folder / CHECKSUMS).write_text(json.dumps(checksums(folder), indent=1), encoding="utf-8")
    fsync_tree(folder)


def read_segment(folder: Path) -> Segment:
    """The segment in `folder`, its checksums verified; IndexBroken (naming the file) if anything is off."""
    verify(folder)
    documents = {d["doc_id"]: Document.from_dict(d) for d in _read_jsonl(folder / "documents.jsonl")}
    chunks = [Chunk.from_dict(c) for c in _read_jsonl(folder / "chunks.jsonl")]
    dense = faiss.read_index(str(folder / "dense.faiss"))
    sentences = faiss.read_index(str(folder / "sentences.faiss"))
    owner = np.load(folder / "sentence_owner.npy", allow_pickle=False)
    uids = np.load(folder / "chunk_uids.npy", allow_pickle=False)
    neighbours = np.load(folder / "chunk_neighbours.npy", allow_pickle=False)
    sims = np.load(folder / "chunk_neighbour_sims.npy", allow_pickle=False)
    with np.load(folder / UPDATES, allow_pickle=False) as data:
        updates = NeighbourUpdates(data["uids"], data["lists"], data["sims"])
    postings = Postings.load(folder)
    signatures = Signatures.load(folder)
    n = len(chunks)
    problems = []
    if dense.ntotal != n:
        problems.append(f"{dense.ntotal} vectors for {n} chunks")
    if sentences.d != dense.d or not _integers(owner, 1, sentences.ntotal, 0, n):
        problems.append(f"{sentences.ntotal} sentence vectors, {owner.size} sentence owners for {n} chunks")
    if not _integers(uids, 1, n, 0, 2**62) or len(np.unique(uids)) != n:
        problems.append(f"chunk ids of shape {uids.shape} for {n} chunks")
    if not _integers(neighbours, 2, n, -1, 2**62) or sims.shape != neighbours.shape:
        problems.append(f"chunk neighbours of shape {neighbours.shape} for {n} chunks")
    if (not _integers(updates.uids, 1, len(updates.uids), 0, 2**62) or updates.lists.shape != updates.sims.shape
            or len(updates.lists) != len(updates.uids)):
        problems.append("neighbour updates of mismatched shapes")
    if len(postings) != n:
        problems.append(f"BM25 columns for {len(postings)} chunks, not {n}")
    if signatures.doc_ids != list(documents) or signatures.minhashes.shape[0] != len(documents):
        problems.append(f"document signatures for {len(signatures)} documents, not {len(documents)}")
    if problems:
        raise IndexBroken("; ".join(problems))
    return Segment(documents, chunks, dense, sentences, owner.astype(np.int32, copy=False), uids.astype(np.int64, copy=False),
                   neighbours.astype(np.int64, copy=False), sims.astype(np.float32, copy=False), postings, updates,
                   tokens_at=folder, name=folder.name, signatures=signatures)


def _integers(values: np.ndarray, ndim: int, rows: int, lowest: int, below: int) -> bool:
    """Whether `values` is an integer array of `ndim` dimensions and `rows` rows, each in [lowest, below)."""
    return (
        values.ndim == ndim
        and np.issubdtype(values.dtype, np.integer)
        and len(values) == rows
        and (values.size == 0 or (values.min() >= lowest and values.max() < below))
    )
