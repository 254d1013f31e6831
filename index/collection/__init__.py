"""Keeping an index: building it from a corpus (`building`), changing it by document without a rebuild
(`updating`, and `milvus_update` for a Milvus index), the index that follows its corpus folder (`folder`: add,
remove, reindex, sync, list, under the writer lock), and the one place that decides when an index is missing or
stale and (re)builds it (`current`)."""
from index.collection.building import (
    BuildReport, CorpusError, build_index, chunk_sentences, corpus_changed, corpus_fingerprint, corpus_stat,
    embedded_text,
)
from index.collection.current import build_and_report, ensure_current, say, sync_and_report
from index.collection.folder import REMOVED, Placed, Target, add, documents, open_current, reindex, remove, sync
from index.collection.updating import UpdateError, UpdateReport, update_index

__all__ = [
    "BuildReport", "CorpusError", "Placed", "REMOVED", "Target", "UpdateError", "UpdateReport", "add",
    "build_and_report", "build_index", "chunk_sentences", "corpus_changed", "corpus_fingerprint", "corpus_stat",
    "documents", "embedded_text", "ensure_current", "open_current", "reindex", "remove", "say", "sync",
    "sync_and_report", "update_index",
]
