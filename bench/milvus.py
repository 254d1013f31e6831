"""The Milvus store beside the local store, in one run: quality, top-10 overlap, query latency, build throughput.

    .venv/bin/python bench/milvus.py [--stard DIR] [--queries 200]

For the seed corpus (with eval/questions/seed.jsonl) and stard_train: each store is built from the same corpus
(the Milvus build reuses the local build's embedding cache, so its time is writing and indexing, and the local
build's time is given both with encoding and from a warm cache); then nDCG@10 of the hybrid ranking on every
question, the mean top-10 overlap between the two stores, and query p50/p95 (encoding included) over --queries
questions. Milvus here is milvus-lite, in-process; a server answers over the network and indexes in the
background, so its latencies are not these.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bench import BenchError, find_shared_bench, load_bench  # noqa: E402
from eval.questions import QuestionSet  # noqa: E402
from eval.runner import evaluate_bench, evaluate_questions  # noqa: E402
from index import build_index  # noqa: E402
from index.store import EMBEDDINGS  # noqa: E402
from index.store import MilvusAddress  # noqa: E402
from qa import Searcher  # noqa: E402


def _latency(searcher: Searcher, questions: list[str]) -> tuple[float, float]:
    times = []
    for q in questions:
        started = time.perf_counter()
        searcher.search(q, k=10)
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[int(0.95 * (len(times) - 1))] * 1000


def compare(name: str, corpus: Path, evaluate, questions: list[str], work: Path, n_queries: int) -> dict:
    started = time.perf_counter()
    local_index, report = build_index(corpus, work / "local", progress=False)
    local_cold = time.perf_counter() - started
    shutil.rmtree(work / "local2", ignore_errors=True)
    shutil.copytree(work / "local" / EMBEDDINGS, work / "local2" / EMBEDDINGS)
    started = time.perf_counter()
    build_index(corpus, work / "local2", progress=False)
    local_warm = time.perf_counter() - started
    address = MilvusAddress(str(work / "milvus.db"), name)
    shutil.copytree(work / "local" / EMBEDDINGS, address.work_dir / EMBEDDINGS, dirs_exist_ok=True)
    started = time.perf_counter()
    store, _ = build_index(corpus, work / "unused", milvus=address, progress=False)
    milvus_warm = time.perf_counter() - started
    local = Searcher(local_index)
    milvus = Searcher(store, embedder=local.embedder)
    quality_local = evaluate(local)["hybrid"]["ndcg@10"]
    quality_milvus = evaluate(milvus)["hybrid"]["ndcg@10"]
    overlaps = []
    for q in questions:
        a = {(p.doc_id, p.start) for p in local.search(q, k=10)}
        b = {(p.doc_id, p.start) for p in milvus.search(q, k=10)}
        overlaps.append(len(a & b) / max(1, min(10, len(a))))
    sample = questions[:n_queries]
    _latency(milvus, sample[:5])  # warm both (the first questions load jieba and fill caches)
    _latency(local, sample[:5])
    return {
        "corpus": name, "chunks": report.chunks, "ndcg_local": quality_local, "ndcg_milvus": quality_milvus,
        "overlap": statistics.mean(overlaps), "local_ms": _latency(local, sample), "milvus_ms": _latency(milvus, sample),
        "local_build_s": (local_cold, local_warm), "milvus_build_s": milvus_warm,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stard", type=Path, help="the stard_train folder (default: found by eval.bench.find_shared_bench)")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="zhqa-milvus-bench-") as tmp:
        seed = QuestionSet.from_jsonl_text((ROOT / "eval/questions/seed.jsonl").read_text(encoding="utf-8"), name="seed")
        rows.append(compare("seed", ROOT / "corpus",
                            lambda s: evaluate_questions(s, seed, retrievers=("hybrid",), progress=False).metrics,
                            [q.question for q in seed.questions], Path(tmp) / "seed", args.queries))
        try:
            stard = args.stard or find_shared_bench("stard_train")
        except BenchError as exc:
            print(f"stard_train skipped: {exc}")
            stard = None
        if stard is not None:
            bench = load_bench(stard)
            rows.append(compare("stard_train", bench.corpus_path,
                                lambda s: evaluate_bench(s, bench, retrievers=("hybrid",), progress=False).metrics,
                                [text for _, text in bench.queries], Path(tmp) / "stard", args.queries))
    print("| corpus | chunks | nDCG@10 local | nDCG@10 Milvus | top-10 overlap | query p50/p95 local (ms) | "
          "query p50/p95 Milvus (ms) | build local cold / warm (s) | build Milvus warm (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['corpus']} | {r['chunks']} | {r['ndcg_local']:.4f} | {r['ndcg_milvus']:.4f} | {r['overlap']:.3f} | "
              f"{r['local_ms'][0]:.1f} / {r['local_ms'][1]:.1f} | {r['milvus_ms'][0]:.1f} / {r['milvus_ms'][1]:.1f} | "
              f"{r['local_build_s'][0]:.1f} / {r['local_build_s'][1]:.1f} | {r['milvus_build_s']:.1f} |")


if __name__ == "__main__":
    main()
