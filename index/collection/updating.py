"""Changing an index without rebuilding it: add, replace and remove documents.

A change writes what it changes, not the index (see index.store.disk and index.store.segment):

* its new documents go into one new segment: only they are read, chunked, tokenised and embedded (embeddings are
  cached by model and text, so a document that comes back is not encoded again), with vector indexes of their own
  (flat, or HNSW when the segment itself is large) and BM25 term columns of their own (BM25's statistics are
  computed per question over every live chunk, so nothing older is re-indexed);
* a removed or replaced document is only named as deleted in the new version's manifest; its chunks stay in
  their segment, never returned, until a merge (index.collection.merging) leaves them out;
* each chunk's nearest chunks stay what a full rebuild would find: the new chunks' lists are searched over every
  live chunk; an older chunk that a new chunk comes nearer than its list's last, or whose list named a deleted
  chunk, gets a new list, stored in the new segment as an update (by chunk uid); a change made in the page leaves
  the second kind to `repair`, a version of its own that the server makes in the background;
* the new version is written and switched to like a build (atomic, fsynced, the previous one kept for readers),
  all under the writer lock, which is held from reading the live version to the switch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from index.store import disk as store
from index.store.ann import ANN_FROM, CODED_FROM, every_core, vector_index
from index.store.bm25 import Postings
from index.store.chunk_tokens import ChunkTokens
from index.store.segment import NeighbourUpdates, Segment
from index.store.vector_parts import VectorParts
from index.collection.building import chunk_sentences, embed_chunks, embedded_text
from index.collection.merging import MergeReport
from index.text.chunking import Chunk, chunk_document
from index.config import ChunkSettings
from index.document import Document
from index.ingest import duplicates
from index.ingest.duplicates import Known, Signatures, drop_duplicates, drop_duplicates_of
from index.encoder.embedding import Embedder, get_embedder
from index.encoder.embedding_cache import EmbeddingCache
from index.store.neighbours import NEIGHBOURS
from index.store.disk import EMBEDDINGS, Index
from index.text.tokenization import tokenize

SIMILARITY_BLOCK = 65_536  # older chunks compared with the new ones at a time (bounds the temporary matrix)


class UpdateError(RuntimeError):
    """The change cannot be made (an index that cannot be updated, an unknown document ...)."""


@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)  # doc ids new to the index
    replaced: list[str] = field(default_factory=list)  # doc ids whose text changed
    removed: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    encoded: int = 0  # vectors computed (not found in the embedding cache)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    merge: MergeReport | None = None  # the merges the policy asked for after the change (index.collection.merging)
    unrepaired: int = 0  # nearest-chunk lists left with a gap for `repair` (a change made with research=False)

    def summary(self) -> str:
        said = (f"{len(self.added)} added, {len(self.replaced)} updated, {len(self.removed)} removed "
                f"({self.chunks_added} chunks in, {self.chunks_removed} out, {self.encoded} vectors computed) "
                f"in {self.seconds:.1f} s")
        return said + (f"; then {self.merge.summary()}" if self.merge is not None and self.merge.merged else "")


def plan_change(documents: dict[str, Document], duplicates: dict[str, list[dict]], add, remove,
                report: UpdateReport, known: Callable[[set[str]], Known] | None = None,
                ) -> tuple[set[str], list[Document], list[Document], dict[str, list[dict]], str, Signatures | None]:
    """What a change does to the documents, for either store: (doc ids that leave, documents kept, documents new
    to the index after near-duplicates are dropped, the copies recorded, the time stamp, the new documents'
    signatures). `known(leaving)`: the signatures of the indexed documents but those leaving, when the store keeps
    them (then only the new documents are read for near-duplicates). Fills `report`'s added, replaced, removed
    and warnings; refuses unknown ids."""
    add = list(add)
    incoming = {d.doc_id for d in add}
    report.replaced = sorted(incoming & set(documents))
    unknown = sorted(set(remove) - set(documents) - {c["doc_id"] for cs in duplicates.values() for c in cs})
    if unknown:
        raise UpdateError(f"not in the index: {', '.join(unknown)} (see zhqa list)")
    gone = (set(remove) | incoming) & set(documents)
    report.removed = sorted(set(remove) & set(documents))
    kept_docs = [d for i, d in documents.items() if i not in gone]
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    candidates = [replace(d, added=now) for d in add if d.text.strip()]
    signatures = None
    if known is not None:
        new_docs, found, notices, signatures = drop_duplicates_of(known(gone), candidates)
    else:
        deduped, found, notices = drop_duplicates(kept_docs + candidates)
        new_docs = deduped[len(kept_docs):]
    report.warnings += notices
    report.added = sorted(d.doc_id for d in new_docs if d.doc_id not in documents)
    # copies recorded before, minus what went, plus what this change found
    dropped = set(remove) | incoming
    copies = {k: [c for c in v if c["doc_id"] not in dropped] for k, v in duplicates.items() if k not in gone}
    for k, v in found.items():
        copies.setdefault(k, []).extend(v)
    return gone, kept_docs, new_docs, {k: v for k, v in copies.items() if v}, now, signatures


def _best(m: int, *candidates: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the `m` best of several candidate lists (uids, cosines; -1 / -inf padded), best first; on a tie
    the earlier candidate list first."""
    uids = np.concatenate([c[0] for c in candidates], axis=1)
    sims = np.concatenate([np.where(c[0] >= 0, c[1], -np.inf) for c in candidates], axis=1).astype(np.float32)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :m]
    uids, sims = np.take_along_axis(uids, order, axis=1), np.take_along_axis(sims, order, axis=1)
    uids = np.where(np.isfinite(sims), uids, -1)
    if uids.shape[1] < m:
        pad = m - uids.shape[1]
        uids = np.pad(uids, ((0, 0), (0, pad)), constant_values=-1)
        sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
    return uids, sims


def _search(parts: VectorParts, uids: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None,
            selves: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The `k` nearest allowed vectors of each query in `parts`, as uids and cosines, leaving out each query's own
    slot (`selves`, -1 for none)."""
    slots, sims = parts.knn(queries, k + (selves is not None), allowed)
    if selves is not None:
        own = slots == selves[:, None]
        slots, sims = np.where(own, -1, slots), np.where(own, -np.inf, sims)
    return np.where(slots >= 0, uids[np.clip(slots, 0, None)], -1), sims


def neighbour_changes(old: Index, alive: np.ndarray, new_vectors: np.ndarray, new_index, new_uids: np.ndarray,
                      m: int = NEIGHBOURS, research: bool = True) -> tuple[np.ndarray, np.ndarray, NeighbourUpdates, int]:
    """Nearest-chunk lists after a change: the new chunks' own (uids, cosines), updates to the lists of older
    live chunks (`alive`: a mask over `old`'s slots after the change) that a new chunk comes nearer than their
    last, or (with `research`) that named a chunk no longer alive; and how many of those were left unsearched
    (they keep a gap until `repair`)."""
    n_new = len(new_vectors)
    new_parts = VectorParts([new_index])
    lists, sims = old.neighbour_lists()
    # the new chunks: over the older live chunks and each other
    if n_new:
        own_lists, own_sims = _best(m, _search(old.dense, old.uids, new_vectors, m, alive),
                                    _search(new_parts, new_uids, new_vectors, m, None, np.arange(n_new)))
    else:
        own_lists, own_sims = np.zeros((0, m), np.int64), np.zeros((0, m), np.float32)
    # older lists that named a chunk gone now: searched again over everything alive
    named = old.slots_of(lists.ravel()).reshape(lists.shape)
    lost = alive & ((lists >= 0) & ~np.where(named >= 0, alive[np.clip(named, 0, None)], False)).any(axis=1)
    changed_slots, changed_lists, changed_sims = [], [], []
    left = int(lost.sum()) if not research else 0
    if not research:
        lost = np.zeros_like(lost)
    again = np.flatnonzero(lost)
    if len(again):
        queries = old.dense[again]
        found = [_search(old.dense, old.uids, queries, m, alive, again)]
        if n_new:
            found.append(_search(new_parts, new_uids, queries, m, None))
        got_lists, got_sims = _best(m, *found)
        changed_slots.append(again)
        changed_lists.append(got_lists)
        changed_sims.append(got_sims)
    # the other older live chunks: does a new chunk come nearer than their list's last? (each segment's vectors
    # read in place, a block of rows at a time)
    new_t = np.ascontiguousarray(new_vectors, dtype=np.float32).T
    top = min(m, n_new)
    blocks = [(int(old.dense.starts[p]) + a, view, a, min(SIMILARITY_BLOCK, len(view) - a))
              for p, view in enumerate(old.dense.views) if n_new for a in range(0, len(view), SIMILARITY_BLOCK)]
    for first, view, a, size in blocks:
        here = alive[first : first + size] & ~lost[first : first + size]
        if here.any():
            block = view[a : a + size] if isinstance(view, np.ndarray) else view[np.arange(a, a + size)]
            cos = block @ new_t
            beats = here & (cos.max(axis=1) > sims[first : first + size, m - 1])
            if not beats.any():
                continue
            rows, cos = first + np.flatnonzero(beats), cos[beats]
            best = np.argsort(-cos, axis=1, kind="stable")[:, :top]
            got_lists, got_sims = _best(m, (lists[rows], sims[rows]),
                                        (new_uids[best], np.take_along_axis(cos, best, axis=1)))
            changed_slots.append(rows)
            changed_lists.append(got_lists)
            changed_sims.append(got_sims)
    if not changed_slots:
        return own_lists, own_sims, NeighbourUpdates.empty(m), left
    slots = np.concatenate(changed_slots)
    return own_lists, own_sims, NeighbourUpdates(old.uids[slots], np.concatenate(changed_lists), np.concatenate(changed_sims)), left


def update_index(
    index_dir: Path,
    add: list[Document] = (),
    remove: set[str] | frozenset[str] = frozenset(),
    corpus_files: dict[str, str] | None = None,
    corpus_stat: dict[str, list[int]] | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
    ann_from: int = ANN_FROM,
    coded_from: int = CODED_FROM,
    current: Index | None = None,
    research: bool = True,
) -> tuple[Index, UpdateReport]:
    """Add the documents `add` (replacing any with the same doc id) and remove the doc ids `remove` from the
    index at `index_dir`; `corpus_files`/`corpus_stat` record the corpus as it now is (see `sync`).
    `current` is the live version when the caller already loaded it under the writer lock. `research`: search
    again at once the nearest-chunk lists that lose a neighbour (else left to `repair`)."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with store.writer_lock(index_dir):
        old = current if current is not None else store.load(index_dir)
        old.check_compatible()
        report = UpdateReport()
        gone, kept_docs, new_docs, duplicates, now, signatures = plan_change(old.documents, old.duplicates, add, remove,
                                                                             report, known=old.signatures)

        chunk = ChunkSettings(**old.manifest["chunk"])
        new_chunks: list[Chunk] = [c for d in new_docs for c in chunk_document(d, chunk.min_chars, chunk.max_chars, chunk.overlap_sentences)]
        # the older chunks' slots that stay
        alive = np.concatenate([s.live_rows(d | gone) for s, d in zip(old.segments, old.deleted)] or [np.zeros(0, bool)])
        n_kept = int(alive.sum())
        if not n_kept + len(new_chunks):
            raise UpdateError("the change would leave the index empty; an index needs at least one document")
        report.chunks_added, report.chunks_removed = len(new_chunks), old.n_chunks - n_kept

        d = old.dense.d
        sentence_texts, new_owners = chunk_sentences(new_chunks)
        if new_chunks:  # a removal needs no model
            embedder = embedder or get_embedder(old.model, old.manifest.get("encoder", "float32"))
            cache = EmbeddingCache(index_dir / EMBEDDINGS, embedder.identity)
            by_id = {doc.doc_id: doc for doc in new_docs}
            texts = [embedded_text(c, by_id[c.doc_id].title) for c in new_chunks]
            new_vectors, new_sentence_vectors, reused = embed_chunks(embedder, texts, sentence_texts, cache, progress=progress)
            report.encoded = len(texts) + len(sentence_texts) - reused
        else:
            new_vectors = new_sentence_vectors = np.zeros((0, d), np.float32)
        new_vectors = np.asarray(new_vectors, dtype=np.float32).reshape(-1, d)
        dense = vector_index(new_vectors, d, ann_from, coded_from)
        sentences = vector_index(np.asarray(new_sentence_vectors, dtype=np.float32).reshape(-1, d), d, ann_from, coded_from)

        next_uid = int(old.manifest.get("next_uid", int(old.uids.max(initial=-1)) + 1))
        uids = np.arange(next_uid, next_uid + len(new_chunks), dtype=np.int64)
        with every_core():
            neighbours, neighbour_sims, updates, report.unrepaired = neighbour_changes(old, alive, new_vectors, dense,
                                                                                       uids, research=research)
        tokens = ChunkTokens.from_lists(tokenize(c.text) for c in new_chunks)

        deleted = [gone_before | (gone & set(s.documents)) for s, gone_before in zip(old.segments, old.deleted)]
        segments = list(old.segments)
        if new_chunks or len(updates):
            segments.append(Segment({d.doc_id: d for d in new_docs}, new_chunks, dense, sentences,
                                    np.asarray(new_owners, dtype=np.int32), uids, neighbours, neighbour_sims,
                                    Postings.from_tokens(tokens), updates, tokens=tokens, signatures=signatures))
            deleted.append(frozenset())
        manifest = dict(old.manifest)
        manifest.update({"duplicates": duplicates, "updated": now, "next_uid": next_uid + len(new_chunks)})
        if corpus_files is not None:
            manifest["corpus_files"] = corpus_files
        if corpus_stat is not None:
            manifest["corpus_stat"] = corpus_stat
        index = Index(manifest, segments, deleted)
        store.save(index, index_dir)
    report.seconds = time.perf_counter() - started
    return index, report


def prepare(index_dir: Path, embedder: Embedder | None = None) -> None:
    """Pay ahead what a process's first change would: MinHash's library, and the embedding cache's table of keys
    (0.3 s at 2.5 million vectors). A server runs it in the background when it starts, so its first upload costs
    what the later ones do."""
    duplicates.prepare()
    if embedder is not None:
        EmbeddingCache(Path(index_dir) / EMBEDDINGS, embedder.identity).get_many([])


def repair(index_dir: Path, current: Index | None = None, previous: Index | None = None) -> tuple[Index, int]:
    """Search again the nearest-chunk lists that still name a deleted chunk (a change made with research=False
    left them so: the removal itself is not kept waiting; a server repairs in the background), as a version of
    its own holding only their new lists. Returns the index and how many lists were repaired (0: nothing to do,
    no version written). `current`/`previous` as for index.collection.merging.merge."""
    with store.writer_lock(Path(index_dir)):
        index = current if current is not None else store.load(Path(index_dir), previous)
        if not index.gaps():
            return index, 0
        return update_index(index_dir, current=index, progress=False)[0], index.gaps()
