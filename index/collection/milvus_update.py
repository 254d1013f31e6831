"""Changing a Milvus index by document: the counterpart of index.collection.updating for MilvusStore.

Only the new documents are chunked and embedded (through the same embedding cache as a build). Their rows are
inserted; a removed or replaced document's rows are deleted by `doc_id`. Milvus keeps its own BM25 statistics
current as rows come and go. Each chunk's nearest chunks are kept up to date as locally: a new chunk searches
the collection; an old chunk that listed a removed chunk, or that one of the new chunks now comes close to, is
searched again. The manifest is written last.
"""
from __future__ import annotations

import time

import numpy as np

from index.collection.building import chunk_sentences, embed_chunks, embedded_text
from index.text.chunking import chunk_document
from index.config import ChunkSettings
from index.document import Document
from index.encoder.embedding import Embedder, get_embedder
from index.encoder.embedding_cache import EmbeddingCache
from index.store.neighbours import NEIGHBOURS
from index.store.disk import EMBEDDINGS
from index.collection.updating import UpdateError, UpdateReport, plan_change
from index.store.milvus import EF_SEARCH, MilvusStore, quote, delete_documents, insert_rows, write_manifest


def _search_neighbours(store: MilvusStore, vectors: np.ndarray, selves: list[int], m: int = NEIGHBOURS) -> list[list[int]]:
    """The `m` nearest chunks of each vector in the collection, itself left out."""
    if not len(vectors):
        return []
    hits = store.client.search(store.address.collection("chunks"), data=[v.tolist() for v in vectors], anns_field="dense",
                               limit=m + 1, search_params={"metric_type": "IP", "params": {"ef": EF_SEARCH}})
    return [[int(h["id"]) for h in row if int(h["id"]) != me][:m] for row, me in zip(hits, selves)]


def update_milvus(
    store: MilvusStore,
    add: list[Document] = (),
    remove: set[str] | frozenset[str] = frozenset(),
    corpus_files: dict[str, str] | None = None,
    corpus_stat: dict[str, list[int]] | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> tuple[MilvusStore, UpdateReport]:
    """Add the documents `add` (replacing any with the same doc id) and remove the doc ids `remove`.
    The caller holds the writer lock (see collection)."""
    started = time.perf_counter()
    report = UpdateReport()
    old_docs = store.documents
    gone, kept_docs, new_docs, duplicates, now, _ = plan_change(old_docs, store.duplicates, add, remove, report)
    if not kept_docs and not new_docs:
        raise UpdateError("the change would leave the index empty; an index needs at least one document")

    chunk = ChunkSettings(**store.manifest["chunk"])
    new_chunks = [c for d in new_docs for c in chunk_document(d, chunk.min_chars, chunk.max_chars, chunk.overlap_sentences)]
    counts = store.chunk_counts()
    report.chunks_added = len(new_chunks)
    report.chunks_removed = sum(counts.get(d, 0) for d in gone)

    embedder = embedder or get_embedder(store.model, store.encoder)
    cache = EmbeddingCache(store.address.work_dir / EMBEDDINGS, embedder.identity)
    by_id = {d.doc_id: d for d in kept_docs + new_docs}
    texts = [embedded_text(c, by_id[c.doc_id].title) for c in new_chunks]
    sentence_texts, owners = chunk_sentences(new_chunks)
    vectors, sentence_vectors, reused = embed_chunks(embedder, texts, sentence_texts, cache, progress=progress)
    report.encoded = len(texts) + len(sentence_texts) - reused

    client, address = store.client, store.address
    # old chunks whose neighbour lists name a chunk that goes
    gone_ids = [int(r["id"]) for d in sorted(gone) for r in client.query(
        address.collection("chunks"), filter=f"doc_id == {quote(d)}", output_fields=["id"])]
    delete_documents(client, address, sorted(gone))
    first = int(store.manifest.get("next_id", 0))
    ids = list(range(first, first + len(new_chunks)))
    no_neighbours = np.full((len(new_chunks), NEIGHBOURS), -1)
    insert_rows(client, address, by_id, list(zip(ids, new_chunks)), vectors.reshape(-1, store.dimension),
                sentence_vectors.reshape(-1, store.dimension), owners, no_neighbours, progress)
    fields = ["id", "doc_id", "seq", "start", "end", "paragraph_first", "paragraph_last", "page_first", "page_last",
              "text", "dense", "source", "date", "neighbours"]
    stale: dict[int, dict] = {}
    if gone_ids:
        for at in range(0, len(gone_ids), 1000):
            for row in client.query(address.collection("chunks"), output_fields=fields,
                                    filter=f"array_contains_any(neighbours, {gone_ids[at:at + 1000]})"):
                stale[int(row["id"])] = row
    new_lists = _search_neighbours(store, np.asarray(vectors, dtype=np.float32).reshape(-1, store.dimension), ids)
    near_new = {n for row in new_lists for n in row if n < first}  # old chunks a new chunk came close to
    for at in range(0, len(near_new), 4096):
        for row in client.get(address.collection("chunks"), ids=sorted(near_new)[at:at + 4096], output_fields=fields):
            stale.setdefault(int(row["id"]), row)
    rows = client.get(address.collection("chunks"), ids=ids, output_fields=fields) if ids else []
    for row in rows:
        row["neighbours"] = new_lists[ids.index(int(row["id"]))]
    stale_ids = sorted(stale)
    stale_vectors = np.asarray([stale[i]["dense"] for i in stale_ids], dtype=np.float32).reshape(-1, store.dimension)
    for i, near in zip(stale_ids, _search_neighbours(store, stale_vectors, stale_ids)):
        stale[i]["neighbours"] = near
    changed = rows + [stale[i] for i in stale_ids]
    for row in changed:
        row["dense"] = [float(x) for x in row["dense"]]
    for at in range(0, len(changed), 512):
        client.upsert(address.collection("chunks"), changed[at:at + 512])

    manifest = dict(store.manifest)
    manifest.update({"n_documents": len(by_id), "n_chunks": store.n_chunks - report.chunks_removed + len(new_chunks),
                     "duplicates": duplicates, "updated": now, "next_id": first + len(new_chunks)})
    if corpus_files is not None:
        manifest["corpus_files"] = corpus_files
    if corpus_stat is not None:
        manifest["corpus_stat"] = corpus_stat
    write_manifest(client, address, manifest)
    report.seconds = time.perf_counter() - started
    return MilvusStore(address, client), report
