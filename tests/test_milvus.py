"""The same retrieval on Milvus: milvus-lite in-process (a `*.db` URI), the real model, the seed corpus.

The Milvus store must give what the local store gives: the same questions answered with the same cited
passages (BM25 statistics differ: Milvus analyses with its own jieba and keeps its own statistics), the same
changes by document, the same filters. A test against a real Milvus server runs when ZHQA_MILVUS_URI names one.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from eval.questions import QuestionSet
from eval.runner import evaluate_questions
from index import build_index, collection
from index.store import EMBEDDINGS
from index.store import MilvusAddress, MilvusProblem, MilvusStore
from index.collection import UpdateError
from qa import Filters, Searcher, ask

ROOT = Path(__file__).resolve().parents[1]
NEW_NOTICE = """关于推行企业开办“零成本”服务的通知
发布时间：2024-05-06　来源：运城市人民政府
各县（市、区）人民政府：
为进一步优化营商环境，运城市自2024年6月1日起在全市推行企业开办“零成本”服务，新开办企业免费领取印章、免费邮寄营业执照，企业开办时间压缩至0.5个工作日。
各地要加强宣传，确保政策落地见效。
"""
NEW_QUESTION = "哪里推行企业开办零成本服务？"


def _seed_questions() -> QuestionSet:
    path = ROOT / "eval/questions/seed.jsonl"
    return QuestionSet.from_jsonl_text(path.read_text(encoding="utf-8"), name="seed", path=str(path))


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """(local searcher, Milvus searcher, corpus, address): the seed corpus in both stores, one embedding pass."""
    root = tmp_path_factory.mktemp("milvus")
    corpus = root / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    local_index, _ = build_index(corpus, root / "index", progress=False)
    address = MilvusAddress(str(root / "milvus.db"), "seed")
    shutil.copytree(root / "index" / EMBEDDINGS, address.work_dir / EMBEDDINGS)
    milvus_store, _ = build_index(corpus, root / "unused", milvus=address, progress=False)
    local = Searcher(local_index)
    return local, Searcher(milvus_store, embedder=local.embedder), corpus, address


def test_seed_questions_on_milvus_rank_as_on_the_local_store(stores):
    local, milvus, _, _ = stores
    questions = _seed_questions()
    on_local = evaluate_questions(local, questions, retrievers=("hybrid",), progress=False)
    on_milvus = evaluate_questions(milvus, questions, retrievers=("hybrid",), progress=False)
    ndcg_local, ndcg_milvus = on_local.metrics["hybrid"]["ndcg@10"], on_milvus.metrics["hybrid"]["ndcg@10"]
    assert abs(ndcg_local - ndcg_milvus) <= 0.01, (ndcg_local, ndcg_milvus)
    overlaps = []
    for q in questions.questions:
        a = {(p.doc_id, p.start) for p in local.search(q.question, k=10)}
        got = milvus.search(q.question, k=10)
        overlaps.append(len(a & {(p.doc_id, p.start) for p in got}) / 10)
        for p in got:  # the text shown is the document's own, at its offsets, with its citation
            doc = milvus.store.documents[p.doc_id]
            assert doc.text[p.start:p.end] == p.text and p.citation.startswith(f"《{doc.title}》")
    assert np.mean(overlaps) >= 0.8, np.mean(overlaps)


def test_places_answer_and_filters_on_milvus(stores):
    local, milvus, _, _ = stores
    answer = ask(milvus, "哪些城市推行拿地即开工?", k=5)
    assert {"晋城市", "济源市", "保定市"} <= set(answer.places.names)
    # the cards cover every city named: 济源's passage (001) among the five, not a second passage of a city shown
    assert {"000_63a4e04b80a11179", "001_82eddd6c6af7ca57", "003_2a0d0da5d2c1eea9"} <= {p.doc_id for p in answer.passages}
    assert answer.answerable and not ask(milvus, "紫色的大象为什么会唱京剧？", k=5).answerable
    filters = Filters(sources=("太行日报", "济源日报", "中国经济导报"), date_from="2024-01-01")
    for question in ("营商环境改革举措", "企业开办时间压缩", "拿地即开工"):
        got = milvus.search(question, k=10, filters=filters)
        assert got and all(filters.admits(p.source, p.date) for p in got)
        want = local.search(question, k=10, filters=filters)
        assert len({(p.doc_id, p.start) for p in got} & {(p.doc_id, p.start) for p in want}) >= 8, question
    nothing = Filters(date_from="2099-01-01")
    assert milvus.search("拿地即开工", k=5, filters=nothing) == []


def _neighbour_ids(address: MilvusAddress) -> tuple[set[int], set[int]]:
    """(ids of every chunk, ids named in any chunk's neighbours)."""
    client = MilvusStore(address).client
    rows = client.query(address.collection("chunks"), filter="id >= 0", output_fields=["id", "neighbours"], limit=16384)
    return {int(r["id"]) for r in rows}, {int(n) for r in rows for n in r["neighbours"]}


def test_add_remove_and_sync_on_milvus(stores, tmp_path):
    local, _, corpus, address = stores
    # a copy of the Milvus file and corpus, so the other tests keep theirs
    own_corpus = tmp_path / "corpus"
    shutil.copytree(corpus, own_corpus)
    own = MilvusAddress(str(tmp_path / "m.db"), "changes")
    shutil.copytree(address.work_dir / EMBEDDINGS, own.work_dir / EMBEDDINGS)
    build_index(own_corpus, tmp_path / "unused", milvus=own, progress=False)
    before = MilvusStore(own)

    new_file = tmp_path / "运城通知.txt"
    new_file.write_text(NEW_NOTICE, encoding="utf-8")
    store, report, placed, refused = collection.add(own, [new_file], progress=False, embedder=local.embedder)
    assert not refused and report.added == ["运城通知"] and (own_corpus / "运城通知.txt").is_file()
    assert set(store.documents) == set(before.documents) | {"运城通知"}
    top = ask(Searcher(store, embedder=local.embedder), NEW_QUESTION, k=3).passages[0]
    assert top.doc_id == "运城通知" and "零成本" in top.text

    victim = "001_82eddd6c6af7ca57"
    store, report, moved = collection.remove(own, [victim], progress=False, embedder=local.embedder)
    assert victim not in store.documents and report.removed == [victim]
    assert (own_corpus / ".removed" / f"{victim}.txt").is_file() and not (own_corpus / f"{victim}.txt").exists()
    searcher = Searcher(store, embedder=local.embedder)
    assert all(p.doc_id != victim for p in searcher.search("济源示范区营商环境", k=10))
    ids, named = _neighbour_ids(own)
    assert named <= ids  # no chunk lists a removed chunk as its neighbour

    changed = own_corpus / "002_f759bb1158af3451.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n石家庄市推行“拿地即开工”审批模式，企业拿到土地当天即可开工建设。\n",
                       encoding="utf-8")
    store, report, changes = collection.sync(own, progress=False, embedder=local.embedder)
    assert changes.changed == ["002_f759bb1158af3451.txt"] and report.replaced == ["002_f759bb1158af3451"]
    doc = store.documents["002_f759bb1158af3451"]
    assert "石家庄市" in doc.text
    hits = Searcher(store, embedder=local.embedder).search("石家庄市 拿地即开工 审批模式", k=10)
    assert any(p.doc_id == "002_f759bb1158af3451" and "石家庄市" in p.text for p in hits)
    assert store.n_chunks == sum(store.chunk_counts().values())
    _, report, changes = collection.sync(own, progress=False, embedder=local.embedder)
    assert not changes  # nothing left to do


def test_a_missing_milvus_index_is_named_with_the_command_that_builds_it(tmp_path):
    with pytest.raises(MilvusProblem, match="zhqa build --store milvus"):
        MilvusStore(MilvusAddress(str(tmp_path / "none.db"), "nothing"))
    with pytest.raises(MilvusProblem, match="collection name"):
        MilvusAddress(str(tmp_path / "x.db"), "bad name; drop")


def test_cli_on_milvus_lite(stores, tmp_path):
    _, _, corpus, address = stores
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    where = ["--store", "milvus", "--uri", str(tmp_path / "cli.db"), "--collection", "cli"]
    shutil.copytree(address.work_dir / EMBEDDINGS, MilvusAddress(str(tmp_path / "cli.db"), "cli").work_dir / EMBEDDINGS)
    zhqa = [sys.executable, "-m", "ui.cli"]
    missing = subprocess.run(zhqa + ["list"] + where, capture_output=True, text=True, env=env, cwd=ROOT)
    assert missing.returncode == 2 and "zhqa build --store milvus" in missing.stderr and "Traceback" not in missing.stderr
    from index.config import Settings
    from ui.audit import default_path, read_entries

    local_log = default_path(Settings().index_dir)
    local_before = len(read_entries(local_log))
    built = subprocess.run(zhqa + ["build", "--corpus", str(corpus)] + where, capture_output=True, text=True, env=env, cwd=ROOT)
    assert built.returncode == 0, built.stderr
    assert len(read_entries(local_log)) == local_before  # nothing written into the default local index
    assert "Traceback" not in built.stderr
    asked = subprocess.run(zhqa + ["ask", "--json", "--no-sync", "-k", "3", "哪些城市推行拿地即开工?"] + where,
                           capture_output=True, text=True, env=env, cwd=ROOT)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert {"晋城市", "济源市", "保定市"} <= {i["name"] for i in answer["answer"]["items"]}
    listed = subprocess.run(zhqa + ["list", "--json"] + where, capture_output=True, text=True, env=env, cwd=ROOT)
    rows = json.loads(listed.stdout)
    assert len(rows) == len(list(corpus.glob("*.txt"))) and all(r["chunks"] > 0 for r in rows)
    # the build is in the Milvus index's own audit log (its local work folder), not in the default local index's
    log = MilvusAddress(str(tmp_path / "cli.db"), "cli").work_dir / "audit.jsonl"
    assert [(e["action"], e["outcome"], e["client"]) for e in read_entries(log)] == [("build", "ok", "cli")]


@pytest.mark.milvus_server
def test_on_a_real_milvus_server(stores):
    uri = os.environ.get("ZHQA_MILVUS_URI", "")
    if not uri:
        pytest.skip("no Milvus server: set ZHQA_MILVUS_URI=http://host:19530 to run this test against one")
    local, _, corpus, _ = stores
    address = MilvusAddress(uri, "zhqa_test")
    store, _ = build_index(corpus, Path("unused"), milvus=address, progress=False)
    milvus = Searcher(store, embedder=local.embedder)
    questions = _seed_questions()
    on_local = evaluate_questions(local, questions, retrievers=("hybrid",), progress=False)
    on_server = evaluate_questions(milvus, questions, retrievers=("hybrid",), progress=False)
    assert abs(on_local.metrics["hybrid"]["ndcg@10"] - on_server.metrics["hybrid"]["ndcg@10"]) <= 0.01


# --- the local store's collection tests, on Milvus ---------------------------------------------------------
@pytest.fixture
def milvus_library(stores, tmp_path):
    """(corpus folder, Milvus address, embedder): a copy of the seeds indexed in its own milvus-lite file."""
    local, _, corpus, address = stores
    own_corpus = tmp_path / "corpus"
    shutil.copytree(corpus, own_corpus)
    own = MilvusAddress(str(tmp_path / "lib.db"), "library")
    shutil.copytree(address.work_dir / EMBEDDINGS, own.work_dir / EMBEDDINGS)
    build_index(own_corpus, tmp_path / "unused", milvus=own, progress=False, embedder=local.embedder)
    return own_corpus, own, local.embedder


def test_milvus_folders_keep_their_path_as_doc_id_and_deleted_files_leave(milvus_library, tmp_path):
    corpus, address, embedder = milvus_library
    folder = tmp_path / "收文" / "2024"
    folder.mkdir(parents=True)
    (folder / "零成本.txt").write_text(NEW_NOTICE, encoding="utf-8")
    (folder / "notes.numbers").write_text("a,b\n", encoding="utf-8")
    store, _, _, refused = collection.add(address, [tmp_path / "收文"], progress=False, embedder=embedder)
    assert "收文/2024/零成本" in store.documents and any("notes.numbers" in r for r in refused)
    (corpus / "收文" / "2024" / "零成本.txt").unlink()
    (corpus / "003_2a0d0da5d2c1eea9.txt").unlink()
    store, _, changes = collection.sync(address, progress=False, embedder=embedder)
    assert sorted(changes.deleted) == ["003_2a0d0da5d2c1eea9.txt", "收文/2024/零成本.txt"]
    assert set(store.documents) == {"000_63a4e04b80a11179", "001_82eddd6c6af7ca57", "002_f759bb1158af3451",
                                    "004_6a50f008523c6f36"}
    assert set(MilvusStore(address).chunk_counts()) == set(store.documents)


def test_milvus_a_copy_takes_over_when_its_original_goes(milvus_library, tmp_path):
    corpus, address, embedder = milvus_library
    original = corpus / "002_f759bb1158af3451.txt"
    (tmp_path / "商丘转载.txt").write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    store, _, _, _ = collection.add(address, [tmp_path / "商丘转载.txt"], progress=False, embedder=embedder)
    assert "商丘转载" not in store.documents
    assert [c["doc_id"] for c in store.duplicates["002_f759bb1158af3451"]] == ["商丘转载"]
    store, _, _ = collection.remove(address, ["002_f759bb1158af3451"], progress=False, embedder=embedder)
    assert "商丘转载" in store.documents and store.duplicates == {}
    hits = Searcher(store, embedder=embedder).search("商丘 营商环境", k=5)
    assert any(p.doc_id == "商丘转载" for p in hits)


def test_milvus_bad_changes_are_refused_and_change_nothing(milvus_library, tmp_path):
    corpus, address, embedder = milvus_library
    before = MilvusStore(address)
    with pytest.raises(UpdateError, match="not in the index: nope"):
        collection.remove(address, ["nope"], progress=False, embedder=embedder)
    other = tmp_path / "000_63a4e04b80a11179.txt"
    other.write_text("另一份同名文件。\n内容不同。", encoding="utf-8")
    _, _, placed, refused = collection.add(address, [other], progress=False, embedder=embedder)
    assert placed == [] and "already exists with other content" in refused[0]
    after = MilvusStore(address)
    assert after.chunk_counts() == before.chunk_counts() and after.manifest == before.manifest


def test_milvus_two_writers_at_once_lose_nothing(milvus_library, tmp_path):
    corpus, address, embedder = milvus_library
    files = [tmp_path / "n0.txt", tmp_path / "n1.txt"]
    files[0].write_text(NEW_NOTICE, encoding="utf-8")
    files[1].write_text("临汾市推行“交房即交证”改革\n临汾市自2024年起对新建商品房推行交房即交证，购房人收房当天即可领取不动产权证书。\n",
                        encoding="utf-8")
    errors = []

    def add(path):
        try:
            collection.add(address, [path], progress=False, embedder=embedder)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(p,)) for p in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = MilvusStore(address)
    assert {"n0", "n1"} <= set(store.documents) and {"n0", "n1"} <= set(store.chunk_counts())
