"""A living collection: documents added, changed and removed without a rebuild, with the real model, real
FAISS and real files; the index follows its corpus folder."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from render_formats import pdf_bytes, scanned_pdf_bytes, seed_documents
from test_build_robust import CountingEmbedder

from index import build_index, collection, load_index
from index.encoder import get_embedder
from index.store import EMBEDDINGS
from index.collection import UpdateError
from qa import Searcher, ask

ROOT = Path(__file__).resolve().parents[1]
NEW_NOTICE = """关于推行企业开办“零成本”服务的通知
发布时间：2024-05-06　来源：运城市人民政府
各县（市、区）人民政府：
为进一步优化营商环境，运城市自2024年6月1日起在全市推行企业开办“零成本”服务，新开办企业免费领取印章、免费邮寄营业执照，企业开办时间压缩至0.5个工作日。
各地要加强宣传，确保政策落地见效。
"""
NEW_QUESTION = "哪里推行企业开办零成本服务？"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The seed corpus indexed once; its embedding cache lets each test build its own copy in seconds."""
    root = tmp_path_factory.mktemp("template")
    build_index(ROOT / "corpus", root / "index", progress=False)
    return root / "index" / EMBEDDINGS


@pytest.fixture
def library(tmp_path, template):
    """(corpus folder, index folder): a copy of the seeds, indexed."""
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    shutil.copytree(template, index_dir / EMBEDDINGS)
    build_index(corpus, index_dir, progress=False)
    return corpus, index_dir


def _doc_ids(index_dir: Path, question: str, k: int = 5) -> list[str]:
    return [p.doc_id for p in ask(Searcher(load_index(index_dir)), question, k=k).passages]


def test_adding_one_document_encodes_only_its_chunks(library, tmp_path):
    corpus, index_dir = library
    before = load_index(index_dir)
    new = tmp_path / "incoming" / "零成本.txt"
    new.parent.mkdir()
    new.write_text(NEW_NOTICE, encoding="utf-8")
    counting = CountingEmbedder(get_embedder(before.model, before.manifest["encoder"]))

    index, report, placed, refused = collection.add(index_dir, [new], progress=False, embedder=counting)
    assert refused == [] and placed[0].copied and (corpus / "零成本.txt").read_text(encoding="utf-8") == NEW_NOTICE
    assert report.added == ["零成本"] and report.chunks_removed == 0
    new_chunks = [c for c in index.chunks if c.doc_id == "零成本"]
    # the encoder saw the new chunks and their sentences, nothing of the five documents already indexed
    from index.collection import chunk_sentences

    assert counting.encoded == len(new_chunks) + len(chunk_sentences(new_chunks)[0]) == report.encoded
    assert [c.text for c in index.chunks[: len(before.chunks)]] == [c.text for c in before.chunks]
    assert np.allclose(index.dense.reconstruct_n(0, len(before.chunks)), before.dense.reconstruct_n(0, len(before.chunks)))
    assert _doc_ids(index_dir, NEW_QUESTION)[0] == "零成本"
    assert index.documents["零成本"].added >= before.documents["000_63a4e04b80a11179"].added

    # removing it: gone from answers and from the documents the page can open; its file is kept aside
    index, report, moved = collection.remove(index_dir, ["零成本"], progress=False)
    assert report.removed == ["零成本"] and "零成本" not in index.documents
    assert "零成本" not in _doc_ids(index_dir, NEW_QUESTION, k=10)
    assert not (corpus / "零成本.txt").exists() and (corpus / collection.REMOVED / "零成本.txt").is_file()
    # a sync does not bring it back; the index matches a fresh build of the same folder
    _, _, changes = collection.sync(index_dir, progress=False)
    assert not changes
    fresh, _ = build_index(corpus, tmp_path / "fresh", progress=False)
    now = load_index(index_dir)
    assert [c.text for c in now.chunks] == [c.text for c in fresh.chunks]
    assert np.array_equal(np.sort(now.neighbours, axis=1), np.sort(fresh.neighbours, axis=1))


def test_editing_a_file_and_syncing_answers_the_new_text(library):
    corpus, index_dir = library
    path = corpus / "001_82eddd6c6af7ca57.txt"
    old_sentence = "以愚公移山之志打造济源一流宜商之城"
    text = path.read_text(encoding="utf-8")
    assert old_sentence in text
    path.write_text(text.replace(old_sentence, "济源示范区在全域推行“承诺即入驻”改革，企业签署承诺书后当天即可入驻园区"),
                    encoding="utf-8")
    index, report, changes = collection.sync(index_dir, progress=False)
    assert (changes.added, changes.changed, changes.deleted) == ([], ["001_82eddd6c6af7ca57.txt"], [])
    assert report.replaced == ["001_82eddd6c6af7ca57"]
    top = ask(Searcher(index), "哪里推行承诺即入驻改革？", k=3).passages[0]
    assert top.doc_id == "001_82eddd6c6af7ca57" and "承诺即入驻" in top.text
    assert not any(old_sentence in c.text for c in index.chunks)
    # a file touched but not edited is not a change
    os.utime(corpus / "000_63a4e04b80a11179.txt")
    assert not collection.sync(index_dir, progress=False)[2]


def test_folders_keep_their_path_as_doc_id_and_deleted_files_leave(library, tmp_path):
    corpus, index_dir = library
    folder = tmp_path / "收文" / "2024"
    folder.mkdir(parents=True)
    (folder / "零成本.txt").write_text(NEW_NOTICE, encoding="utf-8")
    (folder / "notes.numbers").write_text("a,b\n", encoding="utf-8")
    index, report, placed, refused = collection.add(index_dir, [tmp_path / "收文"], progress=False)
    assert "收文/2024/零成本" in index.documents
    assert any("notes.numbers" in r for r in refused)
    (corpus / "收文" / "2024" / "零成本.txt").unlink()
    (corpus / "003_2a0d0da5d2c1eea9.txt").unlink()
    index, report, changes = collection.sync(index_dir, progress=False)
    assert sorted(changes.deleted) == ["003_2a0d0da5d2c1eea9.txt", "收文/2024/零成本.txt"]
    assert set(index.documents) == {"000_63a4e04b80a11179", "001_82eddd6c6af7ca57", "002_f759bb1158af3451",
                                    "004_6a50f008523c6f36"}


def test_a_copy_takes_over_when_its_original_goes(library, tmp_path):
    corpus, index_dir = library
    seed = {d.doc_id: d for d in seed_documents()}["002_f759bb1158af3451"]
    (tmp_path / "商丘.pdf").write_bytes(pdf_bytes(seed))
    index, report, _, _ = collection.add(index_dir, [tmp_path / "商丘.pdf"], progress=False)
    assert "商丘" not in index.documents and [c["doc_id"] for c in index.duplicates["002_f759bb1158af3451"]] == ["商丘"]
    index, report, _ = collection.remove(index_dir, ["002_f759bb1158af3451"], progress=False)
    assert "商丘" in index.documents and index.documents["商丘"].format == "pdf"
    assert index.duplicates == {}


def test_bad_changes_are_refused_and_change_nothing(library, tmp_path):
    corpus, index_dir = library
    before = load_index(index_dir)
    with pytest.raises(UpdateError, match="not in the index: nope"):
        collection.remove(index_dir, ["nope"], progress=False)
    other = tmp_path / "000_63a4e04b80a11179.txt"
    other.write_text("另一份同名文件。\n内容不同。", encoding="utf-8")
    _, report, placed, refused = collection.add(index_dir, [other], progress=False)
    assert placed == [] and "already exists with other content" in refused[0]
    after = load_index(index_dir)
    assert [c.text for c in after.chunks] == [c.text for c in before.chunks]


def test_two_writers_at_once_lose_nothing(library, tmp_path):
    corpus, index_dir = library
    files = []
    for i, city in enumerate(("运城市", "临汾市")):
        path = tmp_path / f"n{i}.txt"
        path.write_text(NEW_NOTICE.replace("运城市", city), encoding="utf-8")
        files.append(path)
    # near-duplicates of each other: make the second a different notice
    files[1].write_text("临汾市推行“交房即交证”改革\n临汾市自2024年起对新建商品房推行交房即交证，购房人收房当天即可领取不动产权证书。\n",
                        encoding="utf-8")
    errors = []

    def add(path):
        try:
            collection.add(index_dir, [path], progress=False)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(p,)) for p in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {"n0", "n1"} <= set(load_index(index_dir).documents)


def _zhqa() -> list[str]:
    exe = Path(sys.executable).with_name("zhqa")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ui.cli"]


def test_sigkill_during_add_leaves_the_index_answering(library, tmp_path):
    """Ten `zhqa add` runs of a scanned PDF (OCR takes a while) killed at random moments: each time the index
    loads and answers as before."""
    corpus, index_dir = library
    seed = {d.doc_id: d for d in seed_documents()}["003_2a0d0da5d2c1eea9"]
    big = tmp_path / "scan.pdf"
    big.write_bytes(scanned_pdf_bytes(pdf_bytes(seed, columns=2)))
    before = load_index(index_dir)
    answer_before = _doc_ids(index_dir, "哪些城市推行拿地即开工?")
    rng = random.Random(7)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for attempt in range(10):
        proc = subprocess.Popen([*_zhqa(), "add", "--index", str(index_dir), str(big)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 12.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = load_index(index_dir)
        if "scan" in now.documents:  # this run got to the switch before the kill: the change is complete
            assert len(now.chunks) > len(before.chunks)
            collection.remove(index_dir, ["scan"], progress=False)
            (corpus / collection.REMOVED / "scan.pdf").unlink()
            now = load_index(index_dir)
        assert [c.text for c in now.chunks] == [c.text for c in before.chunks], attempt
        assert _doc_ids(index_dir, "哪些城市推行拿地即开工?") == answer_before
        (corpus / "scan.pdf").unlink(missing_ok=True)  # a copy made before the kill; the next add copies it again


def test_a_removed_documents_vectors_stay_in_their_segment_never_returned_until_a_merge(tmp_path, template):
    """A removal writes no vectors: the document is named deleted in the new version, its chunks' and sentences'
    vectors stay in their segment's HNSW graph and flat index, never returned; a merge leaves them out."""
    from index.store import is_ann
    from index.collection import update_index
    from index.collection.merging import merge

    index_dir = tmp_path / "index"
    shutil.copytree(template, index_dir / EMBEDDINGS)
    index, _ = build_index(ROOT / "corpus", index_dir, progress=False, ann_from=100)  # 72 chunks flat, ~600 sentences HNSW
    assert is_ann(index.segments[0].sentences) and not is_ann(index.segments[0].dense)
    total = index.sentences.ntotal
    index, report = update_index(index_dir, remove={"001_82eddd6c6af7ca57"}, progress=False, ann_from=100)
    assert index.sentences.ntotal == total and (index.sentence_owner == -1).sum() > 0
    assert index.manifest["segments"][0]["deleted"] == ["001_82eddd6c6af7ca57"]
    searcher = Searcher(load_index(index_dir))
    for question in ("济源示范区营商环境有什么做法？", "营商沃土夯实高质量发展之基", "黄河流域政务通办圈"):
        for retriever in ("dense", "hybrid", "bm25"):
            assert "001_82eddd6c6af7ca57" not in {p.doc_id for p in searcher.search(question, k=10, retriever=retriever)}
    index, merged = merge(index_dir, everything=True, ann_from=100)
    assert merged.merged >= 1 and merged.dropped == report.chunks_removed > 0
    assert len(index.segments) == 1 and (index.sentence_owner >= 0).all() and index.sentences.ntotal < total
    assert is_ann(index.segments[0].sentences) and load_index(index_dir).n_chunks == index.n_chunks