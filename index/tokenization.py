"""Chinese word segmentation for BM25: jieba tokens, lower-cased, punctuation dropped.

One tokenizer serves both indexing and querying, so the two always agree.
"""
from __future__ import annotations

import logging
import unicodedata
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)


def _is_noise(token: str) -> bool:
    token = token.strip()
    return not token or all(unicodedata.category(ch)[0] in "PZSC" for ch in token)


@lru_cache(maxsize=1)
def _initialised() -> bool:
    jieba.initialize()  # loads the dictionary once, up front, rather than on the first query
    return True


def tokenize(text: str) -> list[str]:
    """Word tokens of `text` for BM25 (jieba precise mode)."""
    _initialised()
    return [t.lower() for t in jieba.lcut(unicodedata.normalize("NFKC", text)) if not _is_noise(t)]
