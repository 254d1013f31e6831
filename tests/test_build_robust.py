"""Any corpus a loader accepts builds; a build never loses what it embedded; failures are one clear line."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from index import build_index, index_exists
from index.encoder import get_embedder
from index.encoder import FLUSH_EVERY
from qa import Searcher

ZHQA = str(Path(sys.executable).with_name("zhqa"))
ROOT = Path(__file__).resolve().parents[1]

UNTITLED = [
    {"doc_id": "d0", "title": "", "text": "北京市关于支持中小企业应对疫情的若干措施。减免房租三个月。"},
    {"doc_id": "d1", "title": "", "text": "上海市发布稳就业政策，对企业给予社保补贴。"},
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


class CountingEmbedder:
    """The real embedder, counting the vectors it is asked to compute."""

    def __init__(self, inner):
        self.inner = inner
        self.encoded = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode_passages(self, texts, **kwargs):
        self.encoded += len(texts)
        return self.inner.encode_passages(texts, **kwargs)


def test_untitled_corpus_builds_and_answers(tmp_path):
    corpus = _jsonl(tmp_path / "c.jsonl", UNTITLED)
    index, report = build_index(corpus, tmp_path / "idx", progress=False)
    assert report.documents == 2
    passages = Searcher(index).search("哪里给企业社保补贴", k=2)
    assert passages[0].doc_id == "d1" and "社保补贴" in passages[0].text
    assert passages[0].citation.startswith("文档 d1")  # an untitled passage still says where it is from


def test_odd_documents_build_and_answer(tmp_path):
    rows = UNTITLED[:1] + [
        {"_id": "latin", "title": "", "text": "The State Council published new rules for small firms."},
        {"doc_id": "stops", "title": "的", "text": "的了吗呢吧。"},
        {"doc_id": "marks", "text": "。。。！！！……"},
        {"doc_id": "sep", "title": "分隔", "text": "第一句\u2028仍在同一行。"},
    ]
    index, report = build_index(_jsonl(tmp_path / "c.jsonl", rows), tmp_path / "idx", progress=False)
    assert report.documents == 5, report.warnings
    searcher = Searcher(index)
    assert searcher.search("State Council rules", k=1)[0].doc_id == "latin"
    assert searcher.search("的", k=5)  # a question of stop words only still gets an answer
    for p in searcher.search("仍在同一行", k=5):
        assert index.documents[p.doc_id].text[p.start : p.end] == p.text


def test_beir_folder_with_empty_titles_evaluates(tmp_path):
    bench = tmp_path / "beir"
    bench.mkdir()
    _jsonl(bench / "corpus.jsonl", [{"_id": r["doc_id"], "title": "", "text": r["text"]} for r in UNTITLED])
    _jsonl(bench / "queries.jsonl", [{"_id": "q1", "text": "社保补贴"}, {"_id": "q2", "text": "减免房租"}])
    (bench / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td0\t1\n", encoding="utf-8")
    out = subprocess.run([ZHQA, "eval", "--bench", str(bench), "--cache", str(tmp_path / "cache"), "--json", "--quiet"],
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert "Traceback" not in out.stderr
    assert result["n"] == 2
    assert result["retrievers"]["hybrid"]["hit@1"] == 1.0


def test_killed_build_resumes_from_what_it_embedded(tmp_path):
    index_dir = tmp_path / "idx"
    shards = index_dir / "embeddings"
    build = subprocess.Popen([ZHQA, "build", "--corpus", str(ROOT / "corpus"), "--index", str(index_dir)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # kill it as soon as its first vectors are on disk, while it is still embedding
        while not any(shards.glob("*/shard-*.npz")) and build.poll() is None:
            time.sleep(0.05)
        assert build.poll() is None, "the build finished before it could be killed"
        build.send_signal(signal.SIGKILL)
    finally:
        build.wait()
    assert not index_exists(index_dir)

    counting = CountingEmbedder(get_embedder())
    _, report = build_index(ROOT / "corpus", index_dir, progress=False, embedder=counting)
    assert report.reused_vectors >= min(FLUSH_EVERY, report.chunks)
    # nothing reused was encoded again (a sentence two chunks share is encoded once, so fewer is fine)
    assert 0 < counting.encoded <= report.vectors - report.reused_vectors

    again = CountingEmbedder(get_embedder())
    _, report = build_index(ROOT / "corpus", index_dir, progress=False, embedder=again)
    assert again.encoded == 0 and report.reused_vectors == report.vectors


def test_unexpected_build_failure_is_one_line_exit_1(tmp_path):
    blocker = tmp_path / "idx"
    blocker.write_text("not a folder", encoding="utf-8")  # the index folder cannot be made
    corpus = _jsonl(tmp_path / "c.jsonl", UNTITLED)
    out = subprocess.run([ZHQA, "build", "--corpus", str(corpus), "--index", str(blocker)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("zhqa build: failed:") and str(blocker) in last
    debug = subprocess.run([ZHQA, "build", "--debug", "--corpus", str(corpus), "--index", str(blocker)],
                           capture_output=True, text=True, timeout=600)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
