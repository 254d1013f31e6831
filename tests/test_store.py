"""The index on disk: manifest, refusal of mismatched indexes, atomic writes, damage."""
from __future__ import annotations

import json
import shutil

import pytest

from index import IndexBroken, IndexMismatch, IndexMissing, build_index, index_exists, load_index
from index.store import live_version


def _small_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("示例标题\n\n我市全面推行拿地即开工改革，项目审批时间平均缩短30%。\n", encoding="utf-8")
    (corpus / "b.txt").write_text("另一篇\n\n济源示范区实行交房即办证。\n", encoding="utf-8")
    return corpus


def test_manifest_records_model_chunking_hashes_versions(tmp_path):
    corpus = _small_corpus(tmp_path)
    index, report = build_index(corpus, tmp_path / "idx", progress=False)
    manifest = json.loads((live_version(tmp_path / "idx") / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == "multilingual-e5-small"
    assert manifest["dimension"] == 384
    assert manifest["chunk"] == {"min_chars": 200, "max_chars": 500, "overlap_sentences": 1}
    assert set(manifest["corpus_files"]) == {"a.txt", "b.txt"}
    assert {"faiss-cpu", "bm25s", "sentence-transformers"} <= set(manifest["versions"])
    assert report.documents == 2 and report.chunks == manifest["n_chunks"]


def test_mismatched_model_or_chunking_is_refused(tmp_path):
    corpus = _small_corpus(tmp_path)
    build_index(corpus, tmp_path / "idx", progress=False)
    index = load_index(tmp_path / "idx")
    with pytest.raises(IndexMismatch, match="built with model"):
        index.check_compatible(model="some-other-model")
    with pytest.raises(IndexMismatch, match="chunk settings"):
        index.check_compatible(chunk={"min_chars": 100, "max_chars": 300, "overlap_sentences": 1})


def test_a_build_that_dies_leaves_the_previous_index(tmp_path, monkeypatch):
    corpus = _small_corpus(tmp_path)
    build_index(corpus, tmp_path / "idx", progress=False)
    before = live_version(tmp_path / "idx")
    (corpus / "c.txt").write_text("第三篇\n\n保定市推行拿地即开工。\n", encoding="utf-8")

    import faiss

    def die(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", die)
    with pytest.raises(OSError):
        build_index(corpus, tmp_path / "idx", progress=False)
    monkeypatch.undo()
    assert live_version(tmp_path / "idx") == before
    index = load_index(tmp_path / "idx")
    assert set(index.documents) == {"a", "b"}
    assert not [p for p in (tmp_path / "idx").iterdir() if p.name.startswith(".building-")]


def test_missing_and_damaged_indexes_get_clear_errors(tmp_path):
    with pytest.raises(IndexMissing, match="zhqa build"):
        load_index(tmp_path / "nothing")
    corpus = _small_corpus(tmp_path)
    build_index(corpus, tmp_path / "idx", progress=False)
    (live_version(tmp_path / "idx") / "dense.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexBroken, match="damaged"):
        load_index(tmp_path / "idx")
    shutil.rmtree(live_version(tmp_path / "idx"))
    assert not index_exists(tmp_path / "idx")
