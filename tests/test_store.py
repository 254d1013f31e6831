"""The index on disk: manifest, refusal of mismatched indexes, atomic writes, damage."""
from __future__ import annotations

import errno
import json
import shutil

import pytest

from index import IndexBroken, IndexMismatch, IndexMissing, build_index, index_exists, load_index
from index import IndexWriteError
from index.store import FORMAT_VERSION, live_version, segment_folders


def _refused_as_damaged(index_dir):
    with pytest.raises(IndexBroken, match="damaged"):
        load_index(index_dir)


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
    assert "corpus_files" not in manifest and len(manifest["corpus_maps"]) == 1  # the map is its chain's one link
    assert set(load_index(tmp_path / "idx").manifest["corpus_files"]) == {"a.txt", "b.txt"}
    assert {"faiss-cpu", "jieba", "sentence-transformers"} <= set(manifest["versions"])
    assert report.documents == 2 and report.chunks == manifest["n_chunks"]
    # where the time went, stage by stage in build order, adding up to the build (zhqa build prints it)
    assert list(report.stages) == ["reading", "chunking", "model", "sentences", "embedding", "vector indexes",
                                   "neighbours", "BM25", "writing"]
    assert all(s >= 0 for s in report.stages.values()) and sum(report.stages.values()) <= report.seconds
    assert report.stage_summary().startswith("reading ")


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
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", die)
    with pytest.raises(IndexWriteError, match="could not write the index at .*: the disk is full; the previous index is unchanged"):
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
    (segment_folders(tmp_path / "idx")[0] / "dense.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexBroken, match="damaged"):
        load_index(tmp_path / "idx")
    shutil.rmtree(live_version(tmp_path / "idx"))
    assert not index_exists(tmp_path / "idx")


def test_sentence_vectors_are_stored_and_checked(tmp_path):
    import numpy as np

    from index.collection import chunk_sentences
    from index.text import split_sentences

    corpus = _small_corpus(tmp_path)
    (corpus / "c.txt").write_text("第三篇\n\n保定市推行拿地即开工。审批时间缩短一半！\n\n企业满意度明显提高。\n", encoding="utf-8")
    index, _ = build_index(corpus, tmp_path / "idx", progress=False)
    version = live_version(tmp_path / "idx")
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == FORMAT_VERSION and manifest["features"]["dense_sentences"] == "max"
    loaded = load_index(tmp_path / "idx")
    texts, owners = chunk_sentences(loaded.chunks)
    expected = sum(1 for c in loaded.chunks for a, b in split_sentences(c.text) if c.text[a:b].strip())
    assert len(texts) == expected == loaded.sentences.ntotal > len(loaded.chunks)
    assert loaded.segments[0].sentence_owner.dtype == np.int32
    assert loaded.sentence_owner.tolist() == owners.tolist()
    assert all(t == t.strip() and t for t in texts)
    # the vectors are the sentences embedded as passages
    from index.encoder import get_embedder

    again = get_embedder(loaded.model).encode_passages(texts[:2])
    assert np.allclose(loaded.sentences[np.arange(2)], again, atol=1e-4)

    # an owner list that does not match the vectors, or points past the chunks, is damage
    segment = segment_folders(tmp_path / "idx")[0]
    np.save(segment / "sentence_owner.npy", owners[:-1])
    _refused_as_damaged(tmp_path / "idx")
    bad = owners.copy()
    bad[-1] = len(loaded.chunks)
    np.save(segment / "sentence_owner.npy", bad)
    _refused_as_damaged(tmp_path / "idx")
    (segment / "sentence_owner.npy").unlink()
    _refused_as_damaged(tmp_path / "idx")


def test_chunks_are_embedded_with_their_title_and_neighbours_stored(tmp_path):
    import numpy as np

    from index.collection import embedded_text
    from index.encoder import get_embedder

    corpus = _small_corpus(tmp_path)
    (corpus / "c.txt").write_text("第三篇\n\n保定市推行拿地即开工。审批时间缩短一半！\n\n企业满意度明显提高。\n", encoding="utf-8")
    build_index(corpus, tmp_path / "idx", progress=False)
    loaded = load_index(tmp_path / "idx")
    assert loaded.manifest["features"]["embedded_text"] == "title+chunk"
    first = loaded.chunks[0]
    title = loaded.documents[first.doc_id].title
    assert title and embedded_text(first, title) == f"{title}\n{first.text}"
    embedder = get_embedder(loaded.model)
    stored = loaded.dense[np.arange(1)][0]
    assert np.allclose(stored, embedder.encode_passages([f"{title}\n{first.text}"])[0], atol=1e-4)
    assert not np.allclose(stored, embedder.encode_passages([first.text])[0], atol=1e-3)

    # each chunk's neighbours are the other chunks, nearest first, by the stored vectors
    n = len(loaded.chunks)
    vectors = loaded.dense[np.arange(n)]
    sims = vectors @ vectors.T
    for row, near in enumerate(loaded.neighbours):
        others = [int(i) for i in near if i >= 0]
        assert row not in others and len(others) == min(n - 1, loaded.neighbours.shape[1])
        assert all(sims[row, a] >= sims[row, b] - 1e-6 for a, b in zip(others, others[1:]))
        left_out = [sims[row, j] for j in range(n) if j != row and j not in others]
        assert not left_out or sims[row, others[-1]] >= max(left_out) - 1e-6

    segment = segment_folders(tmp_path / "idx")[0]
    bad = loaded.segments[0].neighbours.copy()
    bad[0, 0] = -2
    np.save(segment / "chunk_neighbours.npy", bad)
    _refused_as_damaged(tmp_path / "idx")
    (segment / "chunk_neighbours.npy").unlink()
    _refused_as_damaged(tmp_path / "idx")


def test_an_older_format_index_is_refused(tmp_path):
    corpus = _small_corpus(tmp_path)
    build_index(corpus, tmp_path / "idx", progress=False)
    path = live_version(tmp_path / "idx") / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format"] = 2
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatch, match="format 2"):
        load_index(tmp_path / "idx")


def test_an_unchanged_corpus_is_recognised_without_reading_it(tmp_path, monkeypatch):
    import os

    from index import corpus_changed
    from index.collection import building

    corpus = _small_corpus(tmp_path)
    index, _ = build_index(corpus, tmp_path / "idx", progress=False)
    read = []
    real_sha256 = building.file_sha256
    monkeypatch.setattr(building, "file_sha256", lambda path: read.append(path.name) or real_sha256(path))
    assert not corpus_changed(corpus, index.manifest) and read == []  # sizes and times match: nothing read
    a = corpus / "a.txt"
    os.utime(a, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns + 5_000_000_000))  # touched, not edited
    assert not corpus_changed(corpus, index.manifest) and read == ["a.txt"]  # only that file is read
    a.write_text(a.read_text(encoding="utf-8").replace("30%", "40%"), encoding="utf-8")  # same size, edited
    assert corpus_changed(corpus, index.manifest)
    a.write_text(a.read_text(encoding="utf-8").replace("40%", "30%"), encoding="utf-8")
    (corpus / "c.txt").write_text("新文件\n\n内容。\n", encoding="utf-8")
    assert corpus_changed(corpus, index.manifest)
    (corpus / "c.txt").unlink()
    (corpus / "b.txt").unlink()
    assert corpus_changed(corpus, index.manifest)


def test_writes_are_locked_durable_and_keep_the_replaced_version_for_readers(tmp_path, monkeypatch):
    import os
    import threading
    import time

    from index.store import disk as store

    corpus = _small_corpus(tmp_path)
    index, _ = build_index(corpus, tmp_path / "idx", progress=False)
    first = live_version(tmp_path / "idx")
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(store.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    # two writers at once: each one's version is complete when it goes live, neither deletes the other's
    errors = []

    def write():
        try:
            store.save(index, tmp_path / "idx")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert not errors and synced
    live = live_version(tmp_path / "idx")
    assert live is not None and (live / "manifest.json").is_file()
    assert load_index(tmp_path / "idx").manifest["n_chunks"] == index.manifest["n_chunks"]
    versions = sorted(p.name for p in (tmp_path / "idx").iterdir() if p.name.startswith("v-"))
    assert first.name in versions and len(versions) == 3  # replaced versions stay for readers
    # once they have been replaced for longer than readers need, the next write removes them
    old = time.time() - store.KEEP_PREVIOUS_SECONDS - 60
    for name in versions:
        os.utime(tmp_path / "idx" / name, (old, old))
    newest = store.save(index, tmp_path / "idx")
    left = sorted(p.name for p in (tmp_path / "idx").iterdir() if p.name.startswith("v-"))
    assert newest.name in left and first.name not in left and len(left) == 2  # the live one and the one it replaced


@pytest.mark.parametrize("name,damage", [
    ("chunks.jsonl", "truncate"), ("dense.faiss", "flip"), ("chunk_neighbours.npy", "flip"),
    ("bm25_tokens.npz", "missing"), ("documents.jsonl", "flip"), ("manifest.json", "flip"),
])
def test_a_damaged_index_file_is_named_never_answered_from(tmp_path, name, damage):
    """A truncated, flipped or missing file: a clear message naming it and the command that rebuilds; a flipped
    byte in a vector or neighbour file must not load and give wrong answers."""
    corpus = _small_corpus(tmp_path)
    build_index(corpus, tmp_path / "idx", progress=False)
    path = (live_version(tmp_path / "idx") if name == "manifest.json" else segment_folders(tmp_path / "idx")[0]) / name
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        at = len(data) - 7  # in the data, past any header
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:])
    else:
        path.unlink()
    with pytest.raises((IndexBroken, IndexMismatch)) as caught:
        load_index(tmp_path / "idx")
    message = str(caught.value)
    assert "rebuild it with: zhqa build --index" in message
    assert name in message or damage == "flip" and name == "manifest.json"
