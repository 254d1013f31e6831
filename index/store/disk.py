"""The index on disk: a versioned list of immutable segments.

Layout of an index folder:
    CURRENT          name of the live version folder (replaced atomically)
    v-<stamp>/       a version: manifest.json (model, settings, corpus files, and its segments, each with the
                     doc ids of it that are deleted) and checksums.json
    segments/<name>/ a segment: documents, chunks, vectors, BM25 columns, neighbours (see index.store.segment);
                     written once, never changed, shared by every version that names it
    corpus-maps/     the corpus files' hashes and stats as a chain of links, each a change's alterations (see
                     index.store.corpus_map); named by versions like segments
    embeddings/      vectors computed by builds of this folder, kept so no build encodes a text twice
                     (see embedding_cache)
    converted/       office files converted by LibreOffice, under their content hash, so no sync converts
                     a file twice (see ingest.formats.office)
A change writes its new segment (if any), its corpus map link (if any) and a new version folder completely and
flushes them to disk, then swaps CURRENT with os.replace under a writer lock (.lock), so a change that dies
halfway leaves the previous index usable and two writers never delete each other's work. A replaced version is
kept ten minutes for readers, and a segment (or link) is deleted only when no version folder left names it.
Every file is checksummed and checked when it is opened: a damaged file is named, never answered from.
"""
from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from index.document import Document
from index.ingest.duplicates import Known, Signatures
from index.durable import (  # noqa: F401  (the store's own problems and file hash, re-exported)
    IndexBroken, IndexMismatch, IndexMissing, IndexProblem, IndexWriteError, file_sha256, fsync_tree, fsync_folder,
    write_failure,
)
from index.store.ann import kind
from index.store import corpus_map
from index.store.bm25 import CollectionBM25, PostingsPart
from index.store.features import index_features
from index.store.segment import CHECKSUMS, NeighbourUpdates, Segment, read_segment, verify, write_segment
from index.store.vector_parts import VectorParts
from index.text.chunking import Chunk

FORMAT_VERSION = 8  # 2: BM25 over jieba words + CJK characters and bigrams; manifest "features"
# 3: sentence vectors (sentences.faiss, sentence_owner.npy) for sentence-level dense scoring
# 4: chunks embedded with their document's title; chunk_neighbours.npy for score smoothing
# 5: documents carry doc_number, format, a page map and when they were added; chunks their pages; manifest
#    "duplicates"; bm25_tokens.npz (each chunk's BM25 tokens, for updates without re-tokenising); checksums.json
#    (sha256 of every file, verified at load)
# 6: BM25 as term columns scored with the collection's statistics per question (bm25_postings.npz), not bm25s's
#    matrix with them baked in
# 7: a version is a list of immutable segments (segments/), with the doc ids deleted from each
# 8: the corpus map as a chain of links (corpus-maps/), not in the manifest; a format-7 index is read as it is
#    and written as format 8 by its next change
READS = (7, FORMAT_VERSION)
CURRENT = "CURRENT"
LOCK = ".lock"
SEGMENTS = "segments"
EMBEDDINGS = "embeddings"
CONVERTED = "converted"
STAGING = ".building-"


@dataclass
class Index:
    """A version of an index, in memory: its manifest and segments, and the live view search reads.

    The live chunks (those of documents not deleted) are numbered 0..n-1 segment by segment; a chunk's slot is its
    row in its segment plus the rows of the segments before it (deleted ones included), which is how the vector
    indexes know it."""

    manifest: dict  # in memory also "corpus_files" and "corpus_stat", the maps its "corpus_maps" chain folds to
    segments: list[Segment]
    deleted: list[frozenset[str]] = field(default_factory=list)  # per segment: its doc ids no longer in the index
    path: Path | None = None

    def __post_init__(self) -> None:
        if not self.deleted:
            self.deleted = [frozenset()] * len(self.segments)
        self._view()

    @classmethod
    def of_chunks(cls, manifest: dict, documents: dict[str, Document], chunks: list[Chunk], dense, bm25, sentences,
                  sentence_owner: np.ndarray, neighbours: np.ndarray, neighbour_sims: np.ndarray | None = None,
                  tokens=None, signatures: Signatures | None = None) -> "Index":
        """An index of one segment holding `chunks` (a build): chunk uids are their positions."""
        n = len(chunks)
        uids = np.arange(n, dtype=np.int64)
        neighbours = np.asarray(neighbours, dtype=np.int64)
        sims = np.zeros(neighbours.shape, np.float32) if neighbour_sims is None else np.asarray(neighbour_sims, np.float32)
        segment = Segment(documents, chunks, dense, sentences, np.asarray(sentence_owner, dtype=np.int32), uids,
                          neighbours, sims, bm25, NeighbourUpdates.empty(neighbours.shape[1]),
                          tokens=tokens, signatures=signatures)
        manifest = dict(manifest, next_uid=n)
        return cls(manifest, [segment])

    # --- the live view ---------------------------------------------------------------
    def _view(self) -> None:
        """The live view, from what each segment computed of its rows once (see Segment.row_documents): numpy
        concatenations and gathers over the index, no walk over its chunks."""
        documents: dict[str, Document] = {}
        chunks: list[Chunk] = []
        slot_chunk, parts, chunk_document, keys = [], [], [], []
        next_id = 0
        for segment, gone in zip(self.segments, self.deleted):
            alive = segment.live_rows(gone)
            live_docs = np.ones(len(segment.documents), dtype=bool)
            live_docs[[segment.document_position[d] for d in gone if d in segment.document_position]] = False
            position = np.cumsum(live_docs) - 1 + len(documents)  # a live document's place among the index's
            if live_docs.all():
                documents.update(segment.documents)
            else:
                documents.update((i, d) for i, d in segment.documents.items() if i not in gone)
            everything = bool(alive.all())
            ids = np.full(len(segment), -1, dtype=np.int64)
            ids[alive] = np.arange(next_id, next_id + int(alive.sum()))
            chunks.extend(segment.chunks if everything else itertools.compress(segment.chunks, alive))
            parts.append(PostingsPart(segment.postings, offset=next_id) if everything else PostingsPart(segment.postings, ids=ids))
            chunk_document.append(position[segment.row_documents()[alive]])
            keys.append(segment.row_keys()[alive])
            next_id += int(alive.sum())
            slot_chunk.append(ids)
        self.documents = documents
        self.chunks = chunks
        self.chunk_document = np.concatenate(chunk_document).astype(np.int64) if chunk_document else np.zeros(0, np.int64)
        self.chunk_keys = np.concatenate(keys) if keys else np.zeros(0, np.uint32)  # see Segment.row_keys
        self.slot_chunk = np.concatenate(slot_chunk) if slot_chunk else np.zeros(0, np.int64)  # slot -> live id, -1
        self.chunk_slot = np.flatnonzero(self.slot_chunk >= 0)  # live id -> slot (live ids rise with slots)
        self.slot_alive = None if len(self.chunk_slot) == len(self.slot_chunk) else self.slot_chunk >= 0
        self.dense = VectorParts([s.dense for s in self.segments])
        self.sentences = VectorParts([s.sentences for s in self.segments])
        # each sentence vector's live chunk (-1: a deleted chunk's, never returned)
        starts = np.concatenate([[0], np.cumsum([len(s) for s in self.segments])]).astype(np.int64)
        self.sentence_owner = np.concatenate(
            [self.slot_chunk[s.sentence_owner.astype(np.int64) + a] for s, a in zip(self.segments, starts)]
        ) if self.segments else np.zeros(0, np.int64)
        self.bm25 = CollectionBM25(parts, len(chunks))
        self.uids = np.concatenate([s.uids for s in self.segments]) if self.segments else np.zeros(0, np.int64)
        # uid -> slot as a table (uids are handed out in order and never reused: the table is as long as the
        # uids ever given, and one gather answers a lookup)
        self._uid_slot = np.full(int(self.uids.max(initial=-1)) + 1, -1, dtype=np.int64)
        self._uid_slot[self.uids] = np.arange(len(self.uids))
        self._lists: tuple[np.ndarray, np.ndarray] | None = None
        self._neighbours: np.ndarray | None = None

    @property
    def neighbours(self) -> np.ndarray:
        """Every live chunk's nearest live chunks (int32 live ids, -1 padded), computed on first use: a search
        asks `neighbours_of` its candidates only."""
        if self._neighbours is None:
            self._neighbours = self.neighbours_of(np.arange(len(self.chunks)))
        return self._neighbours

    def neighbours_of(self, ids: np.ndarray) -> np.ndarray:
        """The nearest live chunks (int32 live ids, -1 padded) of live chunks `ids`."""
        lists, _ = self.neighbour_lists()
        named = lists[self.chunk_slot[np.asarray(ids, dtype=np.int64)]]
        slots = self.slots_of(named.ravel()).reshape(named.shape)
        live = np.where(slots >= 0, self.slot_chunk[np.clip(slots, 0, None)], -1)
        # a deleted neighbour leaves a gap until a change re-searches the list: the others move up
        return np.take_along_axis(live, np.argsort(live < 0, axis=1, kind="stable"), axis=1).astype(np.int32)

    def gaps(self) -> int:
        """How many live chunks' nearest-chunk lists name a chunk no longer live (see index.collection.updating.repair)."""
        lists, _ = self.neighbour_lists()
        named = self.slots_of(lists.ravel()).reshape(lists.shape)
        alive = self.slot_chunk >= 0
        dead = (lists >= 0) & ~np.where(named >= 0, alive[np.clip(named, 0, None)], False)
        return int((dead.any(axis=1) & alive).sum())

    def signatures(self, leaving: set[str] = frozenset()) -> Known:
        """The signatures of the documents, segment by segment, with the doc ids of each no longer live or
        `leaving` (see index.ingest.duplicates.drop_duplicates_of)."""
        parts = []
        for segment, gone in zip(self.segments, self.deleted):
            if segment.signatures is None:
                segment.signatures = Signatures.of(list(segment.documents.values()))
            parts.append((segment.signatures, frozenset(gone | {d for d in leaving if d in segment.documents})))
        return parts

    def slots_of(self, uids: np.ndarray) -> np.ndarray:
        """The slot of each chunk uid (-1 for -1 or a uid no segment holds)."""
        uids = np.asarray(uids, dtype=np.int64)
        known = (uids >= 0) & (uids < len(self._uid_slot))
        return np.where(known, self._uid_slot[np.where(known, uids, 0)], -1) if len(self._uid_slot) else np.full(len(uids), -1, np.int64)

    def neighbour_lists(self) -> tuple[np.ndarray, np.ndarray]:
        """Every slot's nearest-chunk list as uids (-1 padded) and cosines: each segment's own lists, then each
        segment's updates to older chunks' lists, in segment order (a later one supersedes an earlier one).
        Computed once per version; not to be changed by the caller."""
        if self._lists is None:
            m = next((s.neighbours.shape[1] for s in self.segments if s.neighbours.ndim == 2), 0)
            lists = np.concatenate([s.neighbours.reshape(-1, m) for s in self.segments]) if self.segments else np.zeros((0, m), np.int64)
            sims = np.concatenate([s.neighbour_sims.reshape(-1, m) for s in self.segments]) if self.segments else np.zeros((0, m), np.float32)
            for s in self.segments:
                if len(s.updates):
                    slots = self.slots_of(s.updates.uids)
                    here = slots >= 0
                    lists[slots[here]] = s.updates.lists[here]
                    sims[slots[here]] = s.updates.sims[here]
            self._lists = lists, sims
        return self._lists

    # --- what the manifest says ------------------------------------------------------
    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

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


def live_version(index_dir: Path) -> Path | None:
    pointer = Path(index_dir) / CURRENT
    if not pointer.is_file():
        return None
    version = Path(index_dir) / pointer.read_text(encoding="utf-8").strip()
    return version if version.is_dir() else None


def segment_folders(index_dir: Path, version: Path | None = None) -> list[Path]:
    """The folders of the segments the live version (or `version`) names, in its order."""
    version = version or live_version(index_dir)
    if version is None:
        return []
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    return [Path(index_dir) / SEGMENTS / s["name"] for s in manifest.get("segments", [])]


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

    Only its segments not written yet (without a name) are written; the others are on disk already. Everything is
    written completely and flushed to disk before CURRENT points at the version (write, fsync, rename, fsync the
    folder); the renames, the switch and the clean-up run under the writer lock. The version it replaces is kept
    KEEP_PREVIOUS_SECONDS for readers still using it."""
    index_dir = Path(index_dir)
    staged: list[tuple[Segment, Path]] = []
    link: _Link | None = None
    try:
        (index_dir / SEGMENTS).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=index_dir))
    except OSError as exc:
        raise write_failure(exc, index_dir) from exc
    try:
        try:
            for segment in index.segments:
                if not segment.name:
                    folder = Path(tempfile.mkdtemp(prefix=STAGING, dir=index_dir / SEGMENTS))
                    staged.append((segment, folder))
                    write_segment(segment, folder)
            link = _stage_corpus_map(index, index_dir)
        except (OSError, RuntimeError) as exc:  # faiss reports a failed write as RuntimeError
            raise write_failure(exc, index_dir) from exc
        version = _switch(index, staged, link, staging, index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for segment, folder in staged:  # a segment renamed already is named by no version: the next clean-up goes
            shutil.rmtree(folder, ignore_errors=True)
            segment.name = ""
        if link is not None:
            link.path.unlink(missing_ok=True)
        raise
    index.path = index_dir
    _remember_maps(index_dir, index.manifest)
    return version


@dataclass
class _Link:
    """A corpus map link written to a staging file, to be named when the version goes live."""

    path: Path
    sha256: str
    whole: bool


_maps_memo: dict[str, tuple[list[str], corpus_map.Maps]] = {}  # index folder -> its live chain's names, folded
_maps_memo_guard = threading.Lock()


def _remember_maps(index_dir: Path, manifest: dict) -> None:
    """Keep what the chain of `manifest` folds to, so the folder's next change or load folds only new links."""
    names = [e["name"] for e in manifest.get("corpus_maps", [])]
    maps = (manifest.get("corpus_files") or {}, manifest.get("corpus_stat") or {})
    with _maps_memo_guard:
        _maps_memo[str(Path(index_dir).resolve())] = (names, maps)


def _folded_maps(index_dir: Path, chain: list[dict]) -> corpus_map.Maps:
    """What `chain` folds to: from memory when this process wrote or read it (or a first part of it), else read."""
    names = [e["name"] for e in chain]
    with _maps_memo_guard:
        known, maps = _maps_memo.get(str(Path(index_dir).resolve()), ([], ({}, {})))
    if known != names[: len(known)] or not known:
        known, maps = [], ({}, {})
    return corpus_map.read_chain(Path(index_dir) / corpus_map.MAPS, chain, maps, len(known))


def _stage_corpus_map(index: Index, index_dir: Path) -> _Link | None:
    """The link that takes the live chain to the corpus maps `index` holds, written to a staging file and flushed
    (None when they are what the chain already says)."""
    chain = index.manifest.get("corpus_maps", [])
    wanted = (index.manifest.get("corpus_files") or {}, index.manifest.get("corpus_stat") or {})
    data, whole = corpus_map.next_link(chain, _folded_maps(index_dir, chain), wanted)
    corpus_map.settle(wanted)
    if data is None:
        return None
    (index_dir / corpus_map.MAPS).mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=STAGING, dir=index_dir / corpus_map.MAPS)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return _Link(Path(name), hashlib.sha256(data).hexdigest(), whole)


def _on_disk(manifest: dict) -> dict:
    """What of a manifest in memory is written to its file (the corpus maps are in their chain)."""
    return {k: v for k, v in manifest.items() if k not in corpus_map.KINDS}


def _write_manifest(index: Index, staging: Path) -> None:
    """The version's manifest (naming its segments and corpus map links) and checksums into `staging`, flushed to
    disk."""
    manifest = dict(index.manifest)
    manifest["format"] = FORMAT_VERSION
    manifest["segments"] = [
        {"name": s.name, "chunks": len(s), "deleted": sorted(gone),
         "vector_indexes": {"chunks": kind(s.dense), "sentences": kind(s.sentences)}}
        for s, gone in zip(index.segments, index.deleted)
    ]
    largest = max(manifest["segments"], key=lambda s: s["chunks"])
    manifest["vector_indexes"] = largest["vector_indexes"]
    manifest["n_chunks"] = index.n_chunks
    manifest["n_documents"] = len(index.documents)
    index.manifest = manifest
    data = json.dumps(_on_disk(manifest), ensure_ascii=False, indent=2).encode("utf-8", "backslashreplace")
    sums = {"manifest.json": hashlib.sha256(data).hexdigest()}
    (staging / CHECKSUMS).write_text(json.dumps(sums, indent=1), encoding="utf-8")
    (staging / "manifest.json").write_bytes(data)
    fsync_tree(staging)


def _switch(index: Index, staged: list[tuple[Segment, Path]], link: _Link | None, staging: Path, index_dir: Path) -> Path:
    """Name the new segments and corpus map link, write the version naming them and make it the live one, under
    the writer lock."""
    with writer_lock(index_dir):
        previous = live_version(index_dir)
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{staging.name[-6:]}"
        for n, (segment, folder) in enumerate(staged):
            segment.name = f"g-{stamp}-{n}"
            os.replace(folder, index_dir / SEGMENTS / segment.name)
        if staged:
            fsync_folder(index_dir / SEGMENTS)
        if link is not None:
            name = f"m-{stamp}.json"
            os.replace(link.path, index_dir / corpus_map.MAPS / name)  # a failure after this: unnamed, cleaned up
            fsync_folder(index_dir / corpus_map.MAPS)
            chain = [] if link.whole else list(index.manifest.get("corpus_maps", []))
            index.manifest = dict(index.manifest, corpus_maps=chain + [{"name": name, "sha256": link.sha256}])
        else:
            index.manifest = dict(index.manifest, corpus_maps=list(index.manifest.get("corpus_maps", [])))
        try:
            _write_manifest(index, staging)
        except OSError as exc:
            raise write_failure(exc, index_dir) from exc
        version = index_dir / f"v-{stamp}"
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
    """Drop replaced versions once no reader can still be opening them, staging folders of writers that died
    (never the live version), and segments no version left names. Runs under the writer lock, so no writer is
    between writing a segment and naming it."""
    now = time.time()
    for child in index_dir.iterdir():
        if not child.is_dir() or child == keep:
            continue
        age = now - child.stat().st_mtime
        # a staging folder may belong to a build still writing before it takes the lock: only old ones go
        if (child.name.startswith(STAGING) and age > 3600) or (child.name.startswith("v-") and age > KEEP_PREVIOUS_SECONDS):
            shutil.rmtree(child, ignore_errors=True)
    named: set[str] = set()
    for version in index_dir.glob("v-*"):
        try:
            manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # a version that cannot be read: keep every segment rather than guess
        named |= {s["name"] for s in manifest.get("segments", []) + manifest.get("corpus_maps", [])}
    for folder in (index_dir / SEGMENTS, index_dir / corpus_map.MAPS):
        for path in folder.iterdir() if folder.is_dir() else ():
            if path.name.startswith(STAGING) and now - path.stat().st_mtime > 3600 or (
                    not path.name.startswith(STAGING) and path.name not in named):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def exists(index_dir: Path) -> bool:
    return live_version(Path(index_dir)) is not None


def load(index_dir: Path, previous: Index | None = None) -> Index:
    """Load the live version of `index_dir`; clear errors when it is missing or damaged. Segments `previous` (an
    earlier version of the same folder, in memory) already holds are taken from it, not read again: a change
    costs a reader what it wrote."""
    index_dir = Path(index_dir)
    version = live_version(index_dir)
    if version is None:
        raise IndexMissing(f"no index at {index_dir}; build one with: zhqa build --index {index_dir}")
    known = {s.name: s for s in previous.segments} if previous is not None and previous.path == index_dir else {}
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") not in READS:
            raise IndexMismatch(
                f"the index at {index_dir} has format {manifest.get('format')}, made by another version of zhqa "
                f"(this one reads formats {', '.join(map(str, READS))}); rebuild it with: zhqa build --index {index_dir}"
            )
        verify(version)
        if previous is not None and previous.path == index_dir and manifest == _on_disk(previous.manifest):
            return previous  # the version it is (a server's change starts from it: no new view to compute)
        if "corpus_maps" in manifest:  # else a format-7 manifest, holding the maps itself
            manifest["corpus_files"], manifest["corpus_stat"] = _folded_maps(index_dir, manifest["corpus_maps"])
        segments, deleted = [], []
        for entry in manifest["segments"]:
            name = entry["name"]
            if name in known:
                segment = known[name]
            else:
                try:
                    segment = read_segment(index_dir / SEGMENTS / name)
                except IndexBroken as exc:
                    raise IndexBroken(f"segment {name}: {exc}") from exc
                except FileNotFoundError as exc:
                    raise IndexBroken(f"segment {name}: {Path(exc.filename or name).name} is missing") from exc
            segments.append(segment)
            deleted.append(frozenset(entry.get("deleted", ())))
        index = Index(manifest, segments, deleted, path=index_dir)
    except IndexMismatch:
        raise
    except IndexBroken as exc:
        raise IndexBroken(f"the index at {index_dir} is damaged ({exc}); rebuild it with: zhqa build --index {index_dir}") from exc
    except Exception as exc:  # json, faiss, numpy and OS errors all mean the same to the user
        raise IndexBroken(
            f"the index at {index_dir} is damaged ({type(exc).__name__}: {exc}); "
            f"rebuild it with: zhqa build --index {index_dir}"
        ) from exc
    if manifest.get("n_chunks") != index.n_chunks:
        raise IndexBroken(
            f"the index at {index_dir} is damaged ({index.n_chunks} chunks where its manifest says {manifest.get('n_chunks')}); "
            f"rebuild it with: zhqa build --index {index_dir}"
        )
    _remember_maps(index_dir, manifest)
    return index
