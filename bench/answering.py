"""What short answers add to a question, at 10,000 chunks, measured in one run.

    .venv/bin/python bench/answering.py [--chunks 10000] [--questions 300]

The index is compare.py's synthetic one (real sentences of the shared benchmarks recombined into chunks, vectors
from a real sample: see bench/compare.py). The questions are CMRC 2018's (their sentences are in the index, and
a third of them ask for a number, a date, a body or a list) and the seed questions. For each question, timed
apart: the question's analysis (`qa.Question`, built once, new with short answers), the search as before, and
the answering step (`qa.answer_from` over the ten candidates). Printed: median and p95 of each,
and what analysis + answering add to the median question, in milliseconds and as a share of the whole.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bench import find_shared_bench  # noqa: E402
from compare import synthetic_index  # noqa: E402  (bench/ is this script's own folder)
from speed import QUESTIONS as SEED_QUESTIONS  # noqa: E402

from index.encoder import get_embedder  # noqa: E402
from qa import Searcher, analyse_question, answer_from  # noqa: E402
from qa.answer import ANSWER_DEPTH  # noqa: E402

SHARED = find_shared_bench("stard_train").parent  # wherever the checkout is (ZHQA_BENCH, or shared/bench nearby)


def stats(ms: list[float]) -> str:
    s = sorted(ms)
    return f"p50 {statistics.median(s):6.2f} ms  p95 {s[int(round(0.95 * (len(s) - 1)))]:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()

    embedder = get_embedder()
    embedder.encode_passages(["预热"])
    index, _ = synthetic_index(args.chunks, [SHARED / "stard_train" / "corpus.jsonl", SHARED / "cmrc2018" / "corpus.jsonl"],
                               embedder)
    searcher = Searcher(index, embedder=embedder)
    with open(SHARED / "cmrc2018" / "queries.jsonl", encoding="utf-8") as f:
        cmrc = [json.loads(line)["text"] for line in f]
    questions = (list(SEED_QUESTIONS) + cmrc)[: args.questions]
    searcher.search(questions[0], k=ANSWER_DEPTH)  # warm up
    analysis, search, answering, whole, kinds, asking = [], [], [], [], {}, []
    for text in questions:
        analyse_question.cache_clear()  # every question analysed as new
        t0 = time.perf_counter()
        q = searcher.prepare(text)
        t1 = time.perf_counter()
        candidates = searcher.search(q, k=ANSWER_DEPTH)
        t2 = time.perf_counter()
        answer_from(q, candidates, searcher.store.documents)
        t3 = time.perf_counter()
        analysis.append(1000 * (t1 - t0))
        search.append(1000 * (t2 - t1))
        answering.append(1000 * (t3 - t2))
        whole.append(1000 * (t3 - t0))
        kinds[q.asks] = kinds.get(q.asks, 0) + 1
        asking.append(q.asks != "none")
    added = [a + b for a, b in zip(analysis, answering)]
    print(f"{args.chunks} chunks, {len(questions)} questions ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    print(f"  analysis (Question)   {stats(analysis)}")
    print(f"  search                {stats(search)}")
    print(f"  answering             {stats(answering)}")
    print(f"  whole question        {stats(whole)}")
    print(f"  added by short answers (analysis + answering): {stats(added)}; "
          f"{statistics.median(added) / statistics.median(whole):.1%} of the median question")
    kind_added = [a for a, k in zip(added, asking) if k]
    kind_whole = [w for w, k in zip(whole, asking) if k]
    print(f"  the {len(kind_added)} questions asking a number, date, body, list, yes/no or places: added {stats(kind_added)}; "
          f"{statistics.median(kind_added) / statistics.median(kind_whole):.1%} of their median")


if __name__ == "__main__":
    main()
