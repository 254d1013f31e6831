"""What goes into an index besides the chunk text, recorded in its manifest.

An index whose recorded features differ from these was made by another version of zhqa and is refused
(see store.Index.check_compatible); the command line then rebuilds it from its own corpus.
"""
from __future__ import annotations

from index.store.neighbours import NEIGHBOURS
from index.text.tokenization import BM25_TOKENS


def index_features() -> dict[str, str]:
    return {
        "bm25_tokens": BM25_TOKENS, "embedded_text": "title+chunk", "dense_sentences": "max",
        "chunk_neighbours": str(NEIGHBOURS),
    }
