"""The Milvus store: the same retrieval on Milvus (milvus-lite in-process for a `*.db` URI, or a server).

An index NAME is three collections:
* `NAME_chunks`: one row per chunk: `id` (INT64 primary key), `doc_id` (INVERTED scalar index), the chunk's
  offsets, paragraphs and pages, its `text` (analysed with the `jieba` tokenizer, feeding a BM25 `Function`
  into the sparse field `sparse`), its `dense` vector (HNSW, inner product), the document's `source` and `date`
  (for filter expressions) and its nearest chunks (`neighbours`, an INT64 array);
* `NAME_sentences`: one row per sentence of each chunk: its vector and its chunk's id (and source, date);
* `NAME_blobs`: the documents (their cleaned text and metadata, as JSON cut into parts a VARCHAR holds) and the
  manifest (model, encoder, chunk settings, index features, corpus files; written last by every change).
Embeddings are computed here, with the same model and prompts as the local store; Milvus stores and searches.
BM25 is Milvus's own (its jieba analyser and its statistics), so BM25 scores differ from the local store's
BM25 over words, characters and bigrams; the fusion (z-scores, phrase bonus, neighbours) is ours, as locally.

What Milvus does not give: transactions (a change that dies halfway leaves the rows it wrote; the manifest is
written last, so `zhqa sync` sees the same files as changed and replaces those documents again). milvus-lite
opens a `.db` file in one process at a time (a second one is refused with a message).

Longer than our other modules (~500 lines) because it implements the whole `Store` interface against one engine
(schema, writes, dense and BM25 queries, filters, statistics); its changes by document live in
`index.collection.milvus_update`.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

# gRPC's core prints keep-alive chatter with milvus-lite's in-process server ("too_many_pings", a reconnect
# that is harmless) straight to stderr; set before grpc loads
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import numpy as np  # noqa: E402
from pymilvus import DataType, Function, FunctionType, MilvusClient  # noqa: E402
from pymilvus.exceptions import MilvusException  # noqa: E402
from tqdm import tqdm  # noqa: E402

from index.text.chunking import Chunk
from index.document import Document
from index.store.features import index_features
from index.store import base
from index.store.base import BM25Query, DenseQuery, Filters, Store
from index.store.milvus_address import MilvusAddress, MilvusProblem
from index.store.local import blend, order

# pymilvus logs every failed call with a traceback at ERROR; our callers turn failures into one clear line
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
# milvus-lite's in-process gRPC server lacks AllocTimestamp, which pymilvus's query iterator tries first (and then
# does without); grpc logs that refusal with a traceback
logging.getLogger("grpc._server").setLevel(logging.CRITICAL)

PART_CHARS = 10_000  # characters of JSON per blob row: ASCII-escaped, at most 6 bytes each, under VARCHAR's 65,535
TEXT_BYTES = 65_535
HNSW = {"M": 32, "efConstruction": 200}
EF_SEARCH = 256
INSERT_BATCH = 512
ROW_CACHE = 200_000  # chunk rows (text, vector, neighbours) kept client-side between questions
NO_PAGE = -1


def connect(address: MilvusAddress) -> MilvusClient:
    if address.is_lite:
        Path(address.uri).resolve().parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(str(Path(address.uri).resolve()) if address.is_lite else address.uri)
    except Exception as exc:  # grpc, OS and Milvus errors alike: the user needs where and what
        hint = (" (a milvus-lite file is open to one process at a time: if a zhqa serve uses it, change the collection "
                "in its 文档库 tab, or use a Milvus server)") if address.is_lite else ""
        raise MilvusProblem(f"cannot open Milvus at {address.uri}: {exc}{hint}") from exc


def _schemas(client: MilvusClient, dimension: int):
    chunks = client.create_schema(auto_id=False)
    chunks.add_field("id", DataType.INT64, is_primary=True)
    chunks.add_field("doc_id", DataType.VARCHAR, max_length=4096)
    for name in ("seq", "start", "end", "paragraph_first", "paragraph_last", "page_first", "page_last"):
        chunks.add_field(name, DataType.INT64)
    chunks.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True,
                     analyzer_params={"tokenizer": "jieba"})
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    chunks.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    chunks.add_field("source", DataType.VARCHAR, max_length=1024)
    chunks.add_field("date", DataType.VARCHAR, max_length=16)
    chunks.add_field("neighbours", DataType.ARRAY, element_type=DataType.INT64, max_capacity=64)
    chunks.add_function(Function(name="text_bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    chunk_index = client.prepare_index_params()
    chunk_index.add_index("dense", index_type="HNSW", metric_type="IP", params=HNSW)
    chunk_index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    chunk_index.add_index("doc_id", index_type="INVERTED")

    sentences = client.create_schema(auto_id=True)
    sentences.add_field("id", DataType.INT64, is_primary=True)
    sentences.add_field("chunk_id", DataType.INT64)
    sentences.add_field("doc_id", DataType.VARCHAR, max_length=4096)
    sentences.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    sentences.add_field("source", DataType.VARCHAR, max_length=1024)
    sentences.add_field("date", DataType.VARCHAR, max_length=16)
    sentence_index = client.prepare_index_params()
    sentence_index.add_index("dense", index_type="HNSW", metric_type="IP", params=HNSW)
    sentence_index.add_index("chunk_id", index_type="INVERTED")

    # Milvus wants a vector field in every collection: the blobs carry a constant two-dimensional one
    blobs = client.create_schema(auto_id=False)
    blobs.add_field("key", DataType.VARCHAR, is_primary=True, max_length=4200)
    blobs.add_field("name", DataType.VARCHAR, max_length=4096)
    blobs.add_field("part", DataType.INT64)
    blobs.add_field("body", DataType.VARCHAR, max_length=TEXT_BYTES)
    blobs.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    blob_index = client.prepare_index_params()
    blob_index.add_index("unused", index_type="FLAT", metric_type="L2")
    blob_index.add_index("name", index_type="INVERTED")
    return {"chunks": (chunks, chunk_index), "sentences": (sentences, sentence_index), "blobs": (blobs, blob_index)}


def quote(value: str) -> str:
    """A string literal of a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


def _blob_rows(name: str, payload: dict) -> list[dict]:
    body = json.dumps(payload, ensure_ascii=True)  # ASCII: a part's byte length is its character count
    parts = [body[i : i + PART_CHARS] for i in range(0, len(body), PART_CHARS)] or [""]
    return [{"key": f"{name}#{i}", "name": name, "part": i, "body": p, "unused": [0.0, 0.0]} for i, p in enumerate(parts)]


def _chunk_row(cid: int, chunk: Chunk, doc: Document, vector: np.ndarray, neighbours) -> dict:
    return {
        "id": int(cid), "doc_id": chunk.doc_id, "seq": chunk.seq, "start": chunk.start, "end": chunk.end,
        "paragraph_first": chunk.paragraph_first, "paragraph_last": chunk.paragraph_last,
        "page_first": NO_PAGE if chunk.page_first is None else chunk.page_first,
        "page_last": NO_PAGE if chunk.page_last is None else chunk.page_last,
        "text": chunk.text, "dense": np.asarray(vector, dtype=np.float32).tolist(), "source": doc.source,
        "date": doc.date, "neighbours": [int(n) for n in neighbours if n >= 0],
    }


def _chunk_of(row: dict) -> Chunk:
    page_first, page_last = int(row["page_first"]), int(row["page_last"])
    return Chunk(row["doc_id"], int(row["seq"]), int(row["start"]), int(row["end"]), row["text"],
                 int(row["paragraph_first"]), int(row["paragraph_last"]),
                 None if page_first == NO_PAGE else page_first, None if page_last == NO_PAGE else page_last)


class MilvusStore(Store):
    def __init__(self, address: MilvusAddress, client: MilvusClient | None = None):
        self.address = address
        self.client = client or connect(address)
        self._c = {kind: address.collection(kind) for kind in ("chunks", "sentences", "blobs")}
        missing = [name for name in self._c.values() if not self.client.has_collection(name)]
        if missing:
            raise MilvusProblem(f"no index {address.name!r} at {address.uri}; build one with: "
                                f"zhqa build --store milvus --uri {address.uri} --collection {address.name}")
        for name in self._c.values():
            self.client.load_collection(name)
        blobs = self._blobs()
        if "manifest" not in blobs:
            raise MilvusProblem(f"the index {address} is incomplete (no manifest: a build stopped halfway); "
                                f"rebuild it with: zhqa build --store milvus --uri {address.uri} --collection {address.name}")
        self.manifest = blobs.pop("manifest")
        self.documents = {d["doc_id"]: Document.from_dict(d) for d in blobs.values()}
        self._rows: dict[int, dict] = {}
        self._sentences: dict[int, np.ndarray] = {}
        # statistics samples by filter expression: (ids, the expression that selects exactly them)
        self._samples: dict[str, tuple[np.ndarray, str]] = {}
        self._sample = self._sample_for("")
        self.version = self.stamp()

    # --- reading ---------------------------------------------------------------------
    def _blobs(self) -> dict[str, dict]:
        parts: dict[str, list[tuple[int, str]]] = {}
        for row in self._iterate(self._c["blobs"], "part >= 0", ["name", "part", "body"]):
            parts.setdefault(row["name"], []).append((int(row["part"]), row["body"]))
        return {name: json.loads("".join(body for _, body in sorted(p))) for name, p in parts.items()}

    def _iterate(self, collection: str, expr: str, fields: list[str], batch: int = 1000):
        iterator = self.client.query_iterator(collection, batch_size=batch, filter=expr, output_fields=fields)
        try:
            while True:
                rows = iterator.next()
                if not rows:
                    return
                yield from rows
        finally:
            iterator.close()

    def _ids(self, expr: str | None, limit: int) -> np.ndarray:
        rows = self.client.query(self._c["chunks"], filter=expr or "id >= 0", output_fields=["id"], limit=limit)
        return np.sort(np.array([int(r["id"]) for r in rows], dtype=np.int64))

    def _fetch(self, ids) -> dict[int, dict]:
        """Chunk rows by id, from the client-side cache or Milvus."""
        ids = [int(i) for i in ids]
        need = [i for i in dict.fromkeys(ids) if i not in self._rows]
        if need:
            if len(self._rows) + len(need) > ROW_CACHE:
                self._rows.clear()
            fields = ["id", "doc_id", "seq", "start", "end", "paragraph_first", "paragraph_last", "page_first",
                      "page_last", "text", "dense", "neighbours"]
            for at in range(0, len(need), 4096):
                for row in self.client.get(self._c["chunks"], ids=need[at : at + 4096], output_fields=fields):
                    row["dense"] = np.asarray(row["dense"], dtype=np.float32)
                    self._rows[int(row["id"])] = row
        return {i: self._rows[i] for i in ids if i in self._rows}

    def _sentence_vectors(self, ids) -> dict[int, np.ndarray]:
        need = [int(i) for i in dict.fromkeys(int(i) for i in ids) if int(i) not in self._sentences]
        if need:
            if len(self._sentences) + len(need) > ROW_CACHE:
                self._sentences.clear()
            found: dict[int, list] = {i: [] for i in need}
            for at in range(0, len(need), 1024):
                part = need[at : at + 1024]
                for row in self._iterate(self._c["sentences"], f"chunk_id in {part}", ["chunk_id", "dense"], batch=4096):
                    found[int(row["chunk_id"])].append((int(row["id"]), row["dense"]))
            for i, rows in found.items():
                rows.sort()  # sentence order within the chunk (ids grow as rows are inserted)
                self._sentences[i] = np.asarray([v for _, v in rows], dtype=np.float32).reshape(-1, self.dimension)
        return {int(i): self._sentences[int(i)] for i in ids}

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    @property
    def location(self) -> str:
        return str(self.address)

    @property
    def path(self) -> None:
        return None

    @property
    def n_chunks(self) -> int:
        return int(self.manifest.get("n_chunks", 0))

    def chunks(self, ids) -> list[Chunk]:
        rows = self._fetch(ids)
        return [_chunk_of(rows[int(i)]) for i in ids]

    def chunk_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self._iterate(self._c["chunks"], "id >= 0", ["doc_id"], batch=4096):
            counts[row["doc_id"]] = counts.get(row["doc_id"], 0) + 1
        return counts

    def check_compatible(self, model: str | None = None) -> None:
        features = index_features()
        if self.manifest.get("features") != features:
            raise MilvusProblem(f"the index {self.address} was built with index features {self.manifest.get('features')}, "
                                f"not {features} (an older version of zhqa); rebuild it with: zhqa build --store milvus")
        if model is not None and model != self.model:
            raise MilvusProblem(f"the index {self.address} was built with model {self.model!r}, not {model!r}; "
                                f"rebuild it with: zhqa build --store milvus --model {model}")

    def neighbours(self, ids: np.ndarray) -> dict[int, np.ndarray] | None:
        rows = self._fetch(ids)
        return {int(i): np.asarray(rows[int(i)]["neighbours"], dtype=np.int64) for i in ids if int(i) in rows}

    def stamp(self) -> str:
        """Changes with every change of the index (its manifest is rewritten last by each)."""
        rows = self.client.query(self._c["blobs"], filter='name == "manifest"', output_fields=["key", "body"])
        return json.dumps(sorted((r["key"], len(r["body"]), hash(r["body"])) for r in rows))

    # --- filters -----------------------------------------------------------------------
    def select(self, filters: Filters | None):
        if filters is None or not filters.active():
            return None
        parts = []
        if filters.sources:
            parts.append(f"source in [{', '.join(quote(s) for s in filters.sources)}]")
        if filters.date_from or filters.date_to:
            parts.append('date != ""')  # an undated document cannot be shown to fall inside a date range
        if filters.date_from:
            parts.append(f"date >= {quote(filters.date_from)}")
        if filters.date_to:
            parts.append(f"date <= {quote(filters.date_to)}")
        return filters, " and ".join(parts)

    def admitted(self, ids: np.ndarray, selection) -> np.ndarray:
        if selection is None:
            return np.ones(len(ids), dtype=bool)
        filters, _ = selection
        rows = self._fetch(ids)
        docs = self.documents
        return np.array([filters.admits(docs[rows[int(i)]["doc_id"]].source, docs[rows[int(i)]["doc_id"]].date)
                         for i in ids], dtype=bool)

    def stats_sample(self, selection=None) -> np.ndarray:
        """Every chunk (within the filter) while they are at most STATS_SAMPLE, else every step-th id, so that
        about STATS_SAMPLE remain: a sample an expression can name, for the BM25 scores (see MilvusBM25.scores)."""
        return self._sample if selection is None else self._sample_for(selection[1])

    def sample_expr(self, ids: np.ndarray) -> str | None:
        """The filter expression that selects exactly the sample `ids`, if `ids` is one of the samples."""
        return next((expr for sample, expr in self._samples.values() if sample is ids), None)

    def _sample_for(self, selection_expr: str) -> np.ndarray:
        if selection_expr not in self._samples:
            if len(self._samples) > 64:
                self._samples.clear()
            where = selection_expr or "id >= 0"
            count = int(self.client.query(self._c["chunks"], filter=where, output_fields=["count(*)"])[0]["count(*)"])
            step = -(-count // base.STATS_SAMPLE)
            expr = where if step <= 1 else f"({where}) and id % {step} == 0"
            self._samples[selection_expr] = (self._ids(expr, 16_384), expr)
        return self._samples[selection_expr][0]

    # --- scores ------------------------------------------------------------------------
    def dense(self, query: np.ndarray, sentence_blend: float) -> "MilvusDense":
        return MilvusDense(self, query, sentence_blend)

    def bm25(self, question: str, tokens: list[str] | None = None) -> "MilvusBM25":
        return MilvusBM25(self, question)  # Milvus analyses the text with its own jieba analyser

    def search(self, kind: str, data, field: str, limit: int, expr: str, fields=(), params=None) -> list[dict]:
        if limit <= 0:
            return []
        return self.client.search(self._c[kind], data=data, anns_field=field, limit=min(limit, 16_384),
                                  filter=expr, output_fields=list(fields), search_params=params or {})[0]


class MilvusDense(DenseQuery):
    def __init__(self, store: MilvusStore, query: np.ndarray, sentence_blend: float):
        self.store, self.query, self.b = store, np.asarray(query, dtype=np.float32), sentence_blend

    def scores(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros(0)
        rows = self.store._fetch(ids)
        chunk_cos = (np.stack([rows[int(i)]["dense"] for i in ids]) @ self.query).astype(np.float64)
        if not self.b:
            return chunk_cos
        sentences = self.store._sentence_vectors(ids)
        counts = np.array([len(sentences[int(i)]) for i in ids])
        stacked = np.concatenate([sentences[int(i)] for i in ids]) if counts.sum() else np.zeros((0, len(self.query)), np.float32)
        return blend(chunk_cos, (stacked @ self.query).astype(np.float64), counts, self.b)

    def top(self, depth: int, selection=None) -> tuple[np.ndarray, np.ndarray]:
        expr = selection[1] if selection is not None else ""
        params = {"metric_type": "IP", "params": {"ef": max(EF_SEARCH, depth)}}
        vector = [self.query.tolist()]
        found = [hit["id"] for hit in self.store.search("chunks", vector, "dense", depth, expr, params=params)]
        if self.b:
            found += [hit["entity"]["chunk_id"] for hit in
                      self.store.search("sentences", vector, "dense", depth, expr, ["chunk_id"], params)]
        pool = np.unique(np.asarray(found, dtype=np.int64))
        scores = self.scores(pool)
        best = order(scores, pool)
        return pool[best], scores[best]


class MilvusBM25(BM25Query):
    """Milvus's BM25 over its jieba analyser. milvus-lite reports a BM25 hit's distance as the negated score,
    a server as the score: the score is its absolute value (BM25 scores are never negative)."""

    def __init__(self, store: MilvusStore, question: str):
        self.store, self.question = store, question
        self.known: dict[int, float] = {}

    def _search(self, limit: int, expr: str) -> list[tuple[int, float]]:
        try:
            hits = self.store.search("chunks", [self.question], "sparse", limit, expr, params={"metric_type": "BM25"})
        except MilvusException as exc:
            if "empty" in str(exc).lower():  # a question without any token the analyser keeps
                return []
            raise
        return [(int(h["id"]), abs(float(h["distance"]))) for h in hits]

    def top(self, depth: int, selection=None) -> tuple[np.ndarray, np.ndarray]:
        hits = [(i, s) for i, s in self._search(depth, selection[1] if selection is not None else "") if s > 0]
        self.known.update(hits)
        hits.sort(key=lambda h: (-h[1], h[0]))
        return np.array([i for i, _ in hits], dtype=np.int64), np.array([s for _, s in hits], dtype=np.float64)

    def scores(self, ids: np.ndarray) -> np.ndarray:
        sample = self.store.sample_expr(ids)
        if sample is not None:  # the statistics sample: one search over its expression, not a list of its ids
            found = dict(self._search(len(ids), sample))
            scores = np.array([found.get(int(i), 0.0) for i in ids], dtype=np.float64)
            self.known.update(zip(ids.tolist(), scores.tolist()))  # a pool inside the sample is known already
            return scores
        ids = [int(i) for i in ids]
        need = [i for i in dict.fromkeys(ids) if i not in self.known]
        for at in range(0, len(need), 4096):
            part = need[at : at + 4096]
            found = dict(self._search(len(part), f"id in {part}"))
            self.known.update({i: found.get(i, 0.0) for i in part})
        return np.array([self.known[i] for i in ids], dtype=np.float64)


# --- writing ---------------------------------------------------------------------------------
def write_index(address: MilvusAddress, manifest: dict, documents: dict[str, Document], chunks: list[Chunk],
                vectors: np.ndarray, sentence_vectors: np.ndarray, sentence_owner: np.ndarray,
                neighbours: np.ndarray, progress: bool = True) -> MilvusStore:
    """Replace the index at `address` with these documents and chunks (ids 0..n-1), the manifest last."""
    client = connect(address)
    for kind in ("chunks", "sentences", "blobs"):
        if client.has_collection(address.collection(kind)):
            client.drop_collection(address.collection(kind))
    for kind, (schema, index_params) in _schemas(client, int(manifest["dimension"])).items():
        # Strong: a question right after a change sees it (a server defaults to Bounded staleness)
        client.create_collection(address.collection(kind), schema=schema, index_params=index_params,
                                 consistency_level="Strong")
    manifest = dict(manifest, next_id=len(chunks), store="milvus")
    insert_rows(client, address, documents, list(enumerate(chunks)), vectors, sentence_vectors, sentence_owner,
                neighbours, progress)
    client.upsert(address.collection("blobs"), _blob_rows("manifest", manifest))
    client.flush(address.collection("blobs"))
    return MilvusStore(address, client)


def insert_rows(client: MilvusClient, address: MilvusAddress, documents: dict[str, Document],
                chunks: list[tuple[int, Chunk]], vectors: np.ndarray, sentence_vectors: np.ndarray,
                sentence_owner: np.ndarray, neighbours: np.ndarray, progress: bool = True) -> None:
    """Insert documents, chunks `[(id, chunk)]` and their sentences (`sentence_owner` = positions in `chunks`)."""
    docs = {c.doc_id for _, c in chunks}
    blob_rows = [r for doc_id in sorted(docs) for r in _blob_rows(f"doc:{doc_id}", documents[doc_id].to_dict())]
    for at in range(0, len(blob_rows), INSERT_BATCH):
        client.insert(address.collection("blobs"), blob_rows[at : at + INSERT_BATCH])
    ids = np.array([cid for cid, _ in chunks], dtype=np.int64)
    bar = tqdm(total=len(chunks) + len(sentence_owner), desc="writing to Milvus", unit="row", disable=not progress)
    for at in range(0, len(chunks), INSERT_BATCH):
        rows = [_chunk_row(cid, c, documents[c.doc_id], vectors[at + j], ids[neighbours[at + j][neighbours[at + j] >= 0]])
                for j, (cid, c) in enumerate(chunks[at : at + INSERT_BATCH])]
        client.insert(address.collection("chunks"), rows)
        bar.update(len(rows))
    for at in range(0, len(sentence_owner), INSERT_BATCH):
        rows = []
        for j in range(at, min(at + INSERT_BATCH, len(sentence_owner))):
            cid, c = chunks[int(sentence_owner[j])]
            doc = documents[c.doc_id]
            rows.append({"chunk_id": int(cid), "doc_id": c.doc_id, "dense": sentence_vectors[j].tolist(),
                         "source": doc.source, "date": doc.date})
        client.insert(address.collection("sentences"), rows)
        bar.update(len(rows))
    bar.close()
    for kind in ("chunks", "sentences", "blobs"):
        client.flush(address.collection(kind))


def delete_documents(client: MilvusClient, address: MilvusAddress, doc_ids) -> None:
    for at in range(0, len(doc_ids), 500):
        part = sorted(doc_ids)[at : at + 500]
        quoted = ", ".join(quote(d) for d in part)
        client.delete(address.collection("chunks"), filter=f"doc_id in [{quoted}]")
        client.delete(address.collection("sentences"), filter=f"doc_id in [{quoted}]")
        client.delete(address.collection("blobs"), filter=f"name in [{', '.join(quote('doc:' + d) for d in part)}]")


def write_manifest(client: MilvusClient, address: MilvusAddress, manifest: dict) -> None:
    client.delete(address.collection("blobs"), filter='name == "manifest"')
    client.upsert(address.collection("blobs"), _blob_rows("manifest", manifest))
    for kind in ("chunks", "sentences", "blobs"):
        client.flush(address.collection(kind))


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
