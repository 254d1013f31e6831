"""Ingest, clean, chunk, embed and store a corpus of Chinese documents.

The packages, bottom to top (every import points down): `document`, `config` and `durable` (shared data, settings,
durable writes); `text` (tokenizer, sentences, chunks); `ingest` (files -> documents); `encoder` (the embedding
model); `store` (what lives on disk or in Milvus, and how it is searched); `collection` (building, updating and
keeping an index current). This face holds what most callers need."""
from index.collection import BuildReport, CorpusError, build_index, corpus_changed, corpus_fingerprint
from index.config import DEFAULT_MODEL, ChunkSettings, Settings
from index.document import Document
from index.durable import IndexBroken, IndexMismatch, IndexMissing, IndexProblem, IndexWriteError
from index.ingest import load_corpus
from index.store import Index
from index.store.disk import exists as index_exists
from index.store.disk import load as load_index
from index.text import Chunk, chunk_document

__all__ = [
    "BuildReport", "Chunk", "ChunkSettings", "CorpusError", "DEFAULT_MODEL", "Document", "Index", "IndexBroken",
    "IndexMismatch", "IndexMissing", "IndexProblem", "IndexWriteError", "Settings", "build_index", "chunk_document",
    "corpus_changed", "corpus_fingerprint", "index_exists", "load_corpus", "load_index",
]
