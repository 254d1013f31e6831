"""Calibrating "the documents do not answer this" (qa.answerable), on answerable and unanswerable sets.

    .venv/bin/python bench/abstention.py [--index .zhqa/index] [--stard 200]

Sets (answerable ones first):
  seed            eval/questions/seed.jsonl on the seed index
  stard           the first N stard_train questions on their own (cached) benchmark index
  nonsense, off_topic, absent
                  eval/questions/unanswerable.jsonl on the seed index
  stard@seed      the same stard questions on the seed index (laws asked of business-environment news)
  seed@stard      the seed questions on the stard index
For every question: the signals qa.answerable reads (best similarity, place-aware coverage, whether an answer was
found) and its decision. Printed: the share flagged per set with the shipped constants, then a logistic fit of
answerable vs not on (similarity, coverage), each set weighted equally, whose coefficients qa.answerable ships
(rounded). A figure is reproducible: no randomness, the same index gives the same numbers.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bench import find_shared_bench  # noqa: E402
from eval.bench import load_bench, open_bench_searcher  # noqa: E402
from eval.shown import load_unanswerable  # noqa: E402
from qa import Searcher, answer_from  # noqa: E402
from qa.answer import ANSWER_DEPTH  # noqa: E402
from qa.answerable import SIMILARITY_CENTRE, judge, signals  # noqa: E402

SHARED = find_shared_bench("stard_train").parent  # wherever the checkout is (ZHQA_BENCH, or shared/bench nearby)
ANSWERABLE = ("seed", "stard")


def observe(searcher, text: str) -> dict:
    q = searcher.prepare(text)
    candidates = searcher.search(q, k=ANSWER_DEPTH)
    documents = searcher.store.documents
    answer = answer_from(q, candidates, documents)
    similarity, coverage, _ = signals(q, candidates, documents)
    verdict = judge(q, candidates, documents, answer)
    return {"question": text, "asks": q.asks, "answered": answer is not None, "similarity": similarity,
            "coverage": coverage, "flagged": not verdict.answerable, "confidence": verdict.confidence}


def fit(rows: list[dict], steps: int = 20000, l2: float = 1e-3) -> np.ndarray:
    """Logistic regression of answerable on (1, (similarity - centre) * 100, coverage), sets weighted equally."""
    x = np.array([[1.0, (r["similarity"] - SIMILARITY_CENTRE) * 100, r["coverage"]] for r in rows])
    y = np.array([r["set"] in ANSWERABLE for r in rows], dtype=float)
    count = Counter(r["set"] for r in rows)
    weight = np.array([1.0 / count[r["set"]] for r in rows])
    weight *= len(rows) / weight.sum()
    w = np.zeros(3)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        w -= 0.5 * (x.T @ ((p - y) * weight) / len(rows) + l2 * w)
    return w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / ".zhqa" / "index")
    parser.add_argument("--stard", type=int, default=200, help="stard_train questions used (default 200)")
    args = parser.parse_args()

    seed_questions = [json.loads(line)["question"]
                      for line in (ROOT / "eval" / "questions" / "seed.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    unanswerable = load_unanswerable(ROOT / "eval" / "questions" / "unanswerable.jsonl")
    bench = load_bench(SHARED / "stard_train")
    stard_questions = [text for _, text in bench.queries[: args.stard]]

    seed_searcher = Searcher.open(args.index)
    stard_searcher, _, _ = open_bench_searcher(bench, log=lambda m: print(m, file=sys.stderr))
    plan = [("seed", seed_searcher, seed_questions), ("stard", stard_searcher, stard_questions)]
    kinds = defaultdict(list)
    for row in unanswerable:
        kinds[row["kind"]].append(row["question"])
    plan += [(kind, seed_searcher, qs) for kind, qs in kinds.items()]
    plan += [("stard@seed", seed_searcher, stard_questions), ("seed@stard", stard_searcher, seed_questions)]

    rows = []
    print(f"{'set':12s} {'n':>4s} {'flagged':>8s} {'share':>6s}   (shipped constants)")
    for name, searcher, questions in plan:
        got = [dict(observe(searcher, q), set=name) for q in questions]
        rows += got
        flagged = sum(r["flagged"] for r in got)
        want = "want few" if name in ANSWERABLE else "want >= 90%"
        print(f"{name:12s} {len(got):4d} {flagged:8d} {flagged / max(1, len(got)):6.1%}   {want}")
    w = fit(rows)
    print(f"\nlogistic fit: bias {w[0]:.3f}, similarity weight {w[1]:.3f} (per 0.01 above {SIMILARITY_CENTRE}), "
          f"coverage weight {w[2]:.3f}")
    for name in dict.fromkeys(r["set"] for r in rows):
        got = [r for r in rows if r["set"] == name]
        p = [1.0 / (1.0 + math.exp(-(w[0] + w[1] * (r["similarity"] - SIMILARITY_CENTRE) * 100 + w[2] * r["coverage"])))
             for r in got]
        print(f"  {name:12s} median confidence of the refit {float(np.median(p)):.3f}")


if __name__ == "__main__":
    main()
