"""Changing an index without rebuilding it: add, replace and remove documents.

The cost of a change is the cost of the changed documents, plus copying what the index already holds:

* only the new documents are read, chunked, tokenised and embedded (and embeddings are cached by model and
  text, so a document that comes back is not encoded again);
* the vectors of the chunks kept are taken out of the FAISS indexes as they are (no re-encoding) and the new
  ones appended; below ANN_FROM vectors a flat index is a copy of the vectors. Above it, new vectors join the
  HNSW graph; a removed chunk's sentence vectors stay in the sentence graph as tombstones (owner -1, never
  returned) until they are MAX_DEAD of it, when the graph is rebuilt without them; a removal from a chunk graph
  (ANN_FROM chunks and more) rebuilds that graph from the stored vectors;
* each chunk's nearest chunks are kept up to date incrementally: a new chunk searches the new index; an old
  chunk looks at the new chunks only (a small search), and re-searches only if one of its neighbours went;
* BM25: its term columns are made again from the stored tokens of the chunks kept (see chunk_tokens): no chunk
  is tokenised twice;
* the new version is written and switched to like a build (atomic, fsynced, the previous one kept for readers),
  all under the writer lock, which is held from reading the live version to the switch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import faiss
import numpy as np

from index.store import disk as store
from index.store.ann import ANN_FROM, CODED_FROM, is_ann, kind, vector_index
from index.store.bm25 import Postings
from index.collection.building import chunk_sentences, embed_chunks, embedded_text
from index.text.chunking import Chunk, chunk_document
from index.config import ChunkSettings
from index.document import Document
from index.ingest.duplicates import drop_duplicates
from index.encoder.embedding import Embedder, get_embedder
from index.encoder.embedding_cache import EmbeddingCache
from index.store.neighbours import NEIGHBOURS
from index.store.disk import EMBEDDINGS, Index
from index.text.tokenization import tokenize


MAX_DEAD = 0.25  # tombstoned sentence vectors allowed in an HNSW index before it is rebuilt without them


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

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.replaced)} updated, {len(self.removed)} removed "
                f"({self.chunks_added} chunks in, {self.chunks_removed} out, {self.encoded} vectors computed) "
                f"in {self.seconds:.1f} s")


def plan_change(documents: dict[str, Document], duplicates: dict[str, list[dict]], add, remove,
                report: UpdateReport) -> tuple[set[str], list[Document], list[Document], dict[str, list[dict]], str]:
    """What a change does to the documents, for either store: (doc ids that leave, documents kept, documents new
    to the index after near-duplicates are dropped, the copies recorded, the time stamp). Fills `report`'s
    added, replaced, removed and warnings; refuses unknown ids."""
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
    deduped, found, notices = drop_duplicates(kept_docs + candidates)
    report.warnings += notices
    new_docs = deduped[len(kept_docs):]
    report.added = sorted(d.doc_id for d in new_docs if d.doc_id not in documents)
    # copies recorded before, minus what went, plus what this change found
    dropped = set(remove) | incoming
    copies = {k: [c for c in v if c["doc_id"] not in dropped] for k, v in duplicates.items() if k not in gone}
    for k, v in found.items():
        copies.setdefault(k, []).extend(v)
    return gone, kept_docs, new_docs, {k: v for k, v in copies.items() if v}, now


def _vectors(index: faiss.Index) -> np.ndarray:
    return index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), dtype=np.float32)


def _merge_neighbours(
    old: np.ndarray, keep: np.ndarray, new_pos: np.ndarray, vectors: np.ndarray, dense: faiss.Index, n_new: int,
    m: int = NEIGHBOURS,
) -> np.ndarray:
    """Each chunk's `m` nearest chunks after the change (positions in the new order)."""
    n = len(vectors)
    n_kept = n - n_new
    out = np.full((n, m), -1, dtype=np.int32)
    if n < 2:
        return out
    # the kept chunks' lists, in new positions; a list that lost a neighbour is searched again
    research = []
    if n_kept:
        lists = old[keep]
        mapped = np.where(lists >= 0, new_pos[np.clip(lists, 0, None)], -1)
        lost = ((lists >= 0) & (mapped < 0)).any(axis=1)
        for row in range(n_kept):
            if lost[row]:
                research.append(row)
            else:
                out[row] = mapped[row]
    # new chunks, and kept chunks that lost a neighbour: a k-NN search in the new index
    rows = np.asarray(research + list(range(n_kept, n)), dtype=np.int64)
    if len(rows):
        _, ids = dense.search(np.ascontiguousarray(vectors[rows]), min(m + 1, n))
        for row, hits in zip(rows, ids):
            others = [int(h) for h in hits if h != row and h >= 0][:m]
            out[row] = -1
            out[row, : len(others)] = others
    # kept chunks whose lists were fine: is a new chunk nearer than what they have?
    if n_new and n_kept:
        fine = np.setdiff1d(np.arange(n_kept), np.asarray(research, dtype=np.int64))
        if len(fine):
            added = faiss.IndexFlatIP(vectors.shape[1])
            added.add(np.ascontiguousarray(vectors[n_kept:]))
            new_sims, new_ids = added.search(np.ascontiguousarray(vectors[fine]), min(m, n_new))
            for row, sims, ids in zip(fine, new_sims, new_ids):
                current = [int(j) for j in out[row] if j >= 0]
                current_sims = vectors[current] @ vectors[row] if current else np.zeros(0)
                pool = list(zip(current_sims.tolist(), current)) + [(float(s), n_kept + int(j)) for s, j in zip(sims, ids) if j >= 0]
                best = [j for _, j in sorted(pool, key=lambda t: (-t[0], t[1]))[:m]]
                out[row] = -1
                out[row, : len(best)] = best
    return out


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
) -> tuple[Index, UpdateReport]:
    """Add the documents `add` (replacing any with the same doc id) and remove the doc ids `remove` from the
    index at `index_dir`; `corpus_files`/`corpus_stat` record the corpus as it now is (see `sync`).
    `current` is the live version when the caller already loaded it under the writer lock."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with store.writer_lock(index_dir):
        old = current if current is not None else store.load(index_dir)
        old.check_compatible()
        report = UpdateReport()
        if old.chunk_tokens() is None:
            raise UpdateError(f"the index at {index_dir} cannot be updated; rebuild it with: zhqa build --index {index_dir}")
        gone, kept_docs, new_docs, duplicates, now = plan_change(old.documents, old.duplicates, add, remove, report)

        chunk = ChunkSettings(**old.manifest["chunk"])
        keep = np.asarray([i for i, c in enumerate(old.chunks) if c.doc_id not in gone], dtype=np.int64)
        new_pos = np.full(len(old.chunks), -1, dtype=np.int64)
        new_pos[keep] = np.arange(len(keep))
        new_chunks: list[Chunk] = [c for d in new_docs for c in chunk_document(d, chunk.min_chars, chunk.max_chars, chunk.overlap_sentences)]
        chunks = [old.chunks[i] for i in keep] + new_chunks
        if not chunks:
            raise UpdateError("the change would leave the index empty; an index needs at least one document")
        report.chunks_added, report.chunks_removed = len(new_chunks), len(old.chunks) - len(keep)

        embedder = embedder or get_embedder(old.model, old.manifest.get("encoder", "float32"))
        cache = EmbeddingCache(index_dir / EMBEDDINGS, embedder.identity)
        by_id = {d.doc_id: d for d in kept_docs + new_docs}
        texts = [embedded_text(c, by_id[c.doc_id].title) for c in new_chunks]
        sentence_texts, new_owners = chunk_sentences(new_chunks)
        new_vectors, new_sentence_vectors, reused = embed_chunks(embedder, texts, sentence_texts, cache, progress=progress)
        report.encoded = len(texts) + len(sentence_texts) - reused

        old_vectors = _vectors(old.dense)
        vectors = np.concatenate([old_vectors[keep], new_vectors.reshape(-1, old.dense.d)]).astype(np.float32)
        if is_ann(old.dense) and not len(gone) and len(vectors) >= ann_from:
            dense = faiss.clone_index(old.dense)  # HNSW: the new vectors join the graph
            dense.add(np.ascontiguousarray(new_vectors, dtype=np.float32))
        else:
            dense = vector_index(vectors, old.dense.d, ann_from, coded_from)
        old_owner = np.where(old.sentence_owner >= 0, new_pos[np.clip(old.sentence_owner, 0, None)], -1)
        dead = int((old_owner < 0).sum())
        new_sentence_vectors = new_sentence_vectors.reshape(-1, old.dense.d).astype(np.float32)
        if is_ann(old.sentences) and dead <= MAX_DEAD * (old.sentences.ntotal + len(new_sentence_vectors)):
            # a large sentence index keeps its HNSW graph: the new vectors join it, a removed chunk's sentences
            # stay in it as tombstones (owner -1, never returned) until they are too many
            sentences = faiss.clone_index(old.sentences)
            sentences.add(np.ascontiguousarray(new_sentence_vectors))
            owners = np.concatenate([old_owner, new_owners + len(keep)]).astype(np.int32)
        else:  # a flat index is a copy of its vectors anyway; an HNSW graph with too many tombstones is rebuilt
            alive = np.flatnonzero(old_owner >= 0)
            sentence_vectors = np.concatenate([_vectors(old.sentences)[alive], new_sentence_vectors])
            owners = np.concatenate([old_owner[alive], new_owners + len(keep)]).astype(np.int32)
            sentences = vector_index(sentence_vectors, old.dense.d, ann_from, coded_from)
        neighbours = _merge_neighbours(old.neighbours, keep, new_pos, vectors, dense, len(new_chunks))

        tokens = old.chunk_tokens().keep_and_extend(keep.tolist(), (tokenize(c.text) for c in new_chunks))
        bm25 = Postings.from_tokens(tokens)

        manifest = dict(old.manifest)
        manifest.update({
            "n_documents": len(by_id), "n_chunks": len(chunks), "duplicates": duplicates,
            "updated": now,
            "vector_indexes": {"chunks": kind(dense), "sentences": kind(sentences)},
        })
        if corpus_files is not None:
            manifest["corpus_files"] = corpus_files
        if corpus_stat is not None:
            manifest["corpus_stat"] = corpus_stat
        index = Index(manifest, by_id, chunks, dense, bm25, sentences=sentences, sentence_owner=owners,
                      neighbours=neighbours, tokens=tokens)
        store.save(index, index_dir)
    report.seconds = time.perf_counter() - started
    return index, report
