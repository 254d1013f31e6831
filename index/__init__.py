"""Ingest, clean, chunk, embed and store a corpus of Chinese documents."""
from .building import BuildReport, CorpusError, build_index, corpus_changed, corpus_fingerprint
from .chunking import Chunk, chunk_document
from .config import DEFAULT_MODEL, ChunkSettings, Settings
from .document import Document
from .loading import load_corpus
from .store import Index, IndexBroken, IndexMismatch, IndexMissing, IndexProblem
from .store import exists as index_exists
from .store import load as load_index

__all__ = [
    "BuildReport", "Chunk", "ChunkSettings", "CorpusError", "DEFAULT_MODEL", "Document", "Index", "IndexBroken",
    "IndexMismatch", "IndexMissing", "IndexProblem", "Settings", "build_index", "chunk_document",
    "corpus_changed", "corpus_fingerprint", "index_exists", "load_corpus", "load_index",
]
