"""The `zhqa` command as users run it: JSON contract, --file, exit codes, mixed-encoding corpora."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ZHQA = str(Path(sys.executable).with_name("zhqa"))
ROOT = Path(__file__).resolve().parents[1]
FIELDS = {"rank", "score", "doc_id", "title", "source", "date", "paragraph", "start", "end", "text", "citation"}


def run(*args, cwd=None, timeout=600):
    return subprocess.run([ZHQA, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_ask_json_contract_and_file(seed_index_dir, tmp_path, corpus_dir):
    questions = tmp_path / "q.txt"
    questions.write_text("哪些城市推行拿地即开工?\n\n身后一件事怎么办理？\n", encoding="utf-8")
    out = run("ask", "--index", str(seed_index_dir), "--corpus", str(corpus_dir), "--json", "-k", "3",
              "--file", str(questions), "营商环境评价")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [o["question"] for o in lines] == ["营商环境评价", "哪些城市推行拿地即开工?", "身后一件事怎么办理？"]
    for obj in lines:
        assert "answer" in obj
        assert 1 <= len(obj["passages"]) <= 3
        for p in obj["passages"]:
            assert FIELDS <= set(p)
            doc = (corpus_dir / f"{p['doc_id']}.txt")
            assert doc.exists()
            assert isinstance(p["score"], float) and isinstance(p["paragraph"], int)
    assert any("拿地即开工" in p["text"] for p in lines[1]["passages"])


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_exits_2_with_a_message(seed_index_dir, question):
    out = run("ask", "--index", str(seed_index_dir), question)
    assert out.returncode == 2
    assert "empty" in out.stderr and "Traceback" not in out.stderr


def test_bad_usage_exits_2(seed_index_dir, tmp_path):
    assert run("ask", "--index", str(seed_index_dir)).returncode == 2
    assert run("ask", "-k", "0", "x").returncode == 2
    missing = run("ask", "--index", str(seed_index_dir), "--file", str(tmp_path / "none.txt"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_huge_question_is_cut_with_a_notice(seed_index_dir, tmp_path):
    # 100,000 characters: too long for one command-line argument, so it comes from a file
    huge = tmp_path / "huge.txt"
    huge.write_text("拿地即开工" * 20_000 + "\n", encoding="utf-8")
    out = run("ask", "--index", str(seed_index_dir), "--json", "-k", "2", "--file", str(huge))
    assert out.returncode == 0, out.stderr
    assert "notice" in out.stderr
    obj = json.loads(out.stdout)
    assert obj["passages"] and "notice" in obj


def test_broken_index_is_reported_and_left_alone(tmp_path, seed_index_dir):
    import shutil

    from index.store import segment_folders

    broken = tmp_path / "broken"
    shutil.copytree(seed_index_dir, broken)
    (segment_folders(broken)[0] / "chunks.jsonl").write_text("{not json", encoding="utf-8")
    before = sorted(p.name for p in broken.rglob("*"))
    out = run("ask", "--index", str(broken), "拿地即开工")
    assert out.returncode == 2 and "damaged" in out.stderr and "Traceback" not in out.stderr
    assert sorted(p.name for p in broken.rglob("*")) == before


def test_binary_and_gb18030_corpus(tmp_path):
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    (corpus / "gbk_doc.txt").write_bytes("济源市推行交房即办证\n\n示范区实行交房即办证审批模式，方便群众。\n".encode("gb18030"))
    (corpus / "utf8_doc.txt").write_text("晋城新闻\n\n我市连续五年开展项目前期手续办理攻坚行动。\n", encoding="utf-8")
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    index_dir = tmp_path / "idx"
    out = run("build", "--corpus", str(corpus), "--index", str(index_dir))
    assert out.returncode == 0, out.stderr
    assert "image.txt" in out.stderr and "warning" in out.stderr.lower()
    asked = run("ask", "--index", str(index_dir), "--corpus", str(corpus), "--json", "-k", "1", "交房即办证")
    assert asked.returncode == 0, asked.stderr
    top = json.loads(asked.stdout)["passages"][0]
    assert top["doc_id"] == "gbk_doc" and "交房即办证" in top["text"]


def test_old_format_index_is_rebuilt_only_from_its_own_corpus(tmp_path):
    from index.store import live_version

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("标题\n\n保定市推行拿地即开工改革。\n", encoding="utf-8")
    index_dir = tmp_path / "idx"
    assert run("build", "--corpus", str(corpus), "--index", str(index_dir)).returncode == 0
    manifest = live_version(index_dir) / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"format": ', '"format": -1, "was": '), encoding="utf-8")
    # asked with another corpus: refused, nothing touched
    other = run("ask", "--index", str(index_dir), "--corpus", str(tmp_path), "拿地即开工")
    assert other.returncode == 2 and "another version" in other.stderr
    assert live_version(index_dir) / "manifest.json" == manifest and manifest.exists()
    # asked with its own corpus: remade
    own = run("ask", "--index", str(index_dir), "--corpus", str(corpus), "--json", "拿地即开工")
    assert own.returncode == 0, own.stderr
    assert "rebuilding" in own.stderr and json.loads(own.stdout)["passages"][0]["doc_id"] == "a"


def test_eval_rebuilds_an_old_format_index_of_its_own_corpus(tmp_path):
    from index.store import live_version

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("标题\n\n保定市推行拿地即开工改革。\n", encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"qid": "q1", "question": "哪里推行拿地即开工？",
                                     "gold": [{"doc": "a", "span": "拿地即开工"}]}, ensure_ascii=False) + "\n", encoding="utf-8")
    index_dir = tmp_path / "idx"
    assert run("build", "--corpus", str(corpus), "--index", str(index_dir)).returncode == 0
    manifest = live_version(index_dir) / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"format": ', '"format": -1, "was": '), encoding="utf-8")
    other = run("eval", "--questions", str(questions), "--index", str(index_dir), "--corpus", str(tmp_path), "--json")
    assert other.returncode == 2 and "another version" in other.stderr and manifest.exists()
    own = run("eval", "--questions", str(questions), "--index", str(index_dir), "--corpus", str(corpus), "--json")
    assert own.returncode == 0, own.stderr
    assert "rebuilding" in own.stderr and json.loads(own.stdout)["retrievers"]["hybrid"]["recall@5"] == 1.0


def test_add_list_remove_sync_and_no_sync_from_the_command_line(tmp_path, seed_index_dir):
    import shutil

    from index.store import EMBEDDINGS

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    shutil.copytree(Path(seed_index_dir) / EMBEDDINGS, index / EMBEDDINGS)
    assert run("build", "--corpus", str(corpus), "--index", str(index)).returncode == 0
    new = tmp_path / "零成本.txt"
    new.write_text("运城市推行企业开办零成本服务\n运城市自2024年6月1日起推行企业开办“零成本”服务，新开办企业免费领取印章。\n",
                   encoding="utf-8")
    r = run("add", "--index", str(index), str(new))
    assert r.returncode == 0 and "1 added" in r.stderr and f"copied {new}" in r.stderr
    rows = json.loads(run("list", "--index", str(index), "--json").stdout)
    assert [r["doc_id"] for r in rows][-1] == "零成本" and rows[-1]["format"] == "txt" and rows[-1]["chunks"] == 1
    r = run("remove", "--index", str(index), "nope")
    assert r.returncode == 2 and "not in the index: nope" in r.stderr
    r = run("remove", "--index", str(index), "零成本")
    assert r.returncode == 0 and "1 removed" in r.stderr and (corpus / ".removed" / "零成本.txt").is_file()
    # a file dropped into the folder: --no-sync answers from the index as it is; a plain ask syncs first
    shutil.copy(new, corpus / "again.txt")
    r = run("ask", "--index", str(index), "--corpus", str(corpus), "--no-sync", "--json", "-k", "3", "哪里推行企业开办零成本服务")
    assert r.returncode == 0 and "again" not in {p["doc_id"] for p in json.loads(r.stdout)["passages"]}
    r = run("ask", "--index", str(index), "--corpus", str(corpus), "--json", "-k", "3", "哪里推行企业开办零成本服务")
    assert r.returncode == 0 and "1 added" in r.stderr
    assert json.loads(r.stdout)["passages"][0]["doc_id"] == "again"
    assert "up to date" in run("sync", "--index", str(index)).stderr


def test_two_builders_at_once_leave_one_whole_index(tmp_path, seed_index_dir):
    import shutil

    from index import load_index
    from index.store import EMBEDDINGS

    index = tmp_path / "index"
    shutil.copytree(Path(seed_index_dir) / EMBEDDINGS, index / EMBEDDINGS)
    procs = [subprocess.Popen([ZHQA, "build", "--corpus", str(ROOT / "corpus"), "--index", str(index)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    built = load_index(index)
    assert len(built.documents) == 5 and len(built.chunks) == built.manifest["n_chunks"]
    r = run("ask", "--index", str(index), "--corpus", str(ROOT / "corpus"), "--json", "-k", "1", "拿地即开工")
    assert r.returncode == 0 and json.loads(r.stdout)["passages"]


@pytest.mark.parametrize("doc_id", ["../../etc/passwd", "/etc/passwd", "", "000_63a4e04b80a11179/../x", "\x00", "a" * 10000])
def test_document_api_never_reads_outside_the_index(searcher, doc_id):
    from ui.app import document_json
    from ui.handlers import UserProblem

    with pytest.raises(UserProblem):
        document_json(searcher, doc_id)
    for wrong in (None, 5, ["000_63a4e04b80a11179"], {"x": 1}):
        with pytest.raises(UserProblem):
            document_json(searcher, wrong)
