"""Retrieval metrics and significance tests, computed by ranx (nothing hand-written here).

A *ranking* is what one retriever returned for one question, position by position: at each position
(a passage rank for span gold, a document rank for benchmarks) the list of qrels ids that position
yields. Span gold: the ids ``<qid>-g<i>`` of the gold entries first satisfied by that passage (a passage
that satisfies nothing new yields ``[]``). Benchmarks: ``[doc_id]``.

:func:`to_run` turns rankings into a ranx ``Run``: each position becomes its ids, or one filler id when
it yields nothing, with strictly decreasing scores, so ranx sees the same ranks the reader saw.

Metric ``<name>@K`` is computed on the run cut to the first K *positions*, so a passage that satisfies two
gold entries counts both at its own rank:

* ``recall@K`` = ranx ``recall`` on the cut run: fraction of the question's gold entries found in the top K;
* ``hit@K``    = ranx ``hit_rate``: 1 when any gold entry is found in the top K;
* ``mrr@K``    = ranx ``mrr``: 1 / rank of the first position that yields gold;
* ``ndcg@K``   = ranx ``ndcg@K`` (binary gains; an extra gold id of a multi-gold passage sits right after it).
"""
from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from itertools import combinations
from typing import Mapping, Sequence

Ranking = Sequence[Sequence[str]]

METRICS = ("recall@1", "recall@5", "recall@10", "hit@1", "hit@5", "mrr@10", "ndcg@10")
SIGNIFICANCE_METRICS = ("mrr@10", "ndcg@10", "recall@5")
STAT_TESTS = ("student", "fisher")
_RANX_NAME = {"recall": "recall", "hit": "hit_rate", "mrr": "mrr", "ndcg": "ndcg"}
_METRIC = re.compile(r"^(recall|hit|mrr|ndcg)@(\d+)$")

FILLER = "\u2205"  # marks a position that yields no gold; never a qrels id


def parse_metric(metric: str) -> tuple[str, int]:
    m = _METRIC.match(metric)
    if not m:
        raise ValueError(f"unknown metric {metric!r}; known: recall@K, hit@K, mrr@K, ndcg@K")
    return m.group(1), int(m.group(2))


def metrics_for_depth(k: int, metrics: Sequence[str] = METRICS) -> list[str]:
    """The metrics whose cutoff a retrieval depth of ``k`` can support."""
    return [m for m in metrics if parse_metric(m)[1] <= k]


@contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba type-safety and scipy precision warnings from ranx
        yield


def to_run(rankings: Mapping[str, Ranking], depth: int | None = None, name: str = "run"):
    """A ranx ``Run`` from rankings cut to ``depth`` positions (None: all)."""
    from ranx import Run

    data: dict[str, dict[str, float]] = {}
    for qid, ranking in rankings.items():
        entries: dict[str, float] = {}
        positions = list(ranking)[: depth if depth is not None else None]
        score = float(len(positions) * 4 + 4)
        for pos, ids in enumerate(positions, start=1):
            ids = [i for i in ids if i not in entries] or [f"{FILLER}{pos}"]
            for i in ids:
                entries[i] = score
                score -= 1.0
        if not entries:  # nothing retrieved: one filler keeps the query in the run
            entries[f"{FILLER}0"] = 1.0
        data[qid] = entries
    return Run(data, name=name)


def to_qrels(qrels: Mapping[str, Mapping[str, int]]):
    from ranx import Qrels

    return Qrels({q: {d: int(r) for d, r in rel.items()} for q, rel in qrels.items()})


def _ranx_metric(kind: str, cutoff: int) -> str:
    return f"ndcg@{cutoff}" if kind == "ndcg" else _RANX_NAME[kind]


def evaluate_rankings(
    qrels: Mapping[str, Mapping[str, int]],
    rankings: Mapping[str, Ranking],
    metrics: Sequence[str] = METRICS,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-question scores of one retriever: ``({metric: mean}, {qid: {metric: score}})``."""
    from ranx import evaluate

    _check(qrels, rankings)
    q = to_qrels(qrels)
    means: dict[str, float] = {}
    per_q: dict[str, dict[str, float]] = {qid: {} for qid in qrels}
    by_cutoff: dict[int, list[tuple[str, str]]] = {}
    for m in metrics:
        kind, cutoff = parse_metric(m)
        by_cutoff.setdefault(cutoff, []).append((m, _ranx_metric(kind, cutoff)))
    with _quiet():
        for cutoff, pairs in by_cutoff.items():
            run = to_run({qid: rankings[qid] for qid in qrels}, depth=cutoff)
            names = sorted({r for _, r in pairs})
            scores = evaluate(q, run, names if len(names) > 1 else names[0])
            if not isinstance(scores, dict):
                scores = {names[0]: scores}
            for m, r in pairs:
                means[m] = float(scores[r])
                for qid, v in run.scores[r].items():
                    per_q[qid][m] = float(v)
    return {m: means[m] for m in metrics}, per_q


def significance(
    qrels: Mapping[str, Mapping[str, int]],
    rankings_by_retriever: Mapping[str, Mapping[str, Ranking]],
    metrics: Sequence[str] = SIGNIFICANCE_METRICS,
    stat_test: str = "student",
    max_p: float = 0.05,
) -> dict | None:
    """Paired significance tests (ranx ``compare``) between every pair of retrievers.

    Returns ``{"test", "max_p", "metrics", "pairs": [{"a", "b", "metric", "a_score", "b_score",
    "p_value", "significant", "better", "wins", "ties", "losses"}]}`` (wins/ties/losses count the
    questions where ``a`` scored higher/equal/lower than ``b``), or None with fewer than two retrievers.
    """
    from ranx import compare

    if stat_test not in STAT_TESTS:
        raise ValueError(f"unknown significance test {stat_test!r}; choose one of {', '.join(STAT_TESTS)}")
    names = list(rankings_by_retriever)
    if len(names) < 2 or not qrels:
        return None
    q = to_qrels(qrels)
    pairs: list[dict] = []
    with _quiet():
        for metric in metrics:
            kind, cutoff = parse_metric(metric)
            ranx_name = _ranx_metric(kind, cutoff)
            runs = []
            for name in names:
                _check(qrels, rankings_by_retriever[name])
                runs.append(to_run({qid: rankings_by_retriever[name][qid] for qid in qrels}, depth=cutoff, name=name))
            report = compare(q, runs, [ranx_name], stat_test=stat_test, max_p=max_p)
            for a, b in combinations(names, 2):
                comp = report.comparisons[a, b][ranx_name]
                a_score = float(report.results[a][ranx_name])
                b_score = float(report.results[b][ranx_name])
                wtl = report.win_tie_loss.get((a, b), {}).get(ranx_name, {})
                p = float(comp["p_value"])
                significant = bool(comp["significant"])
                better = a if a_score > b_score else b if b_score > a_score else ""
                pairs.append({
                    "a": a, "b": b, "metric": metric, "a_score": a_score, "b_score": b_score,
                    "p_value": p if p == p else 1.0,  # NaN (identical runs) -> 1
                    "significant": significant and bool(better), "better": better,
                    "wins": int(wtl.get("W", 0)), "ties": int(wtl.get("T", 0)), "losses": int(wtl.get("L", 0)),
                })
    return {"test": stat_test, "max_p": max_p, "metrics": list(metrics), "pairs": pairs}


def _check(qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Ranking]) -> None:
    missing = [q for q in qrels if q not in rankings]
    if missing:
        raise ValueError(f"no ranking for {len(missing)} question(s), e.g. {missing[0]!r}")
    empty = [q for q, rel in qrels.items() if not any(int(v) > 0 for v in rel.values())]
    if empty:
        raise ValueError(f"question {empty[0]!r} has no relevant entry")
