"""Run a question set or a benchmark through a Searcher and score every retriever with ranx."""
from __future__ import annotations

import copy
import json
import sys
import time
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

from .metrics import METRICS, SIGNIFICANCE_METRICS, evaluate_rankings, metrics_for_depth, significance
from .questions import GoldJudge, QuestionSet

RETRIEVERS = ("bm25", "dense", "hybrid")
ProgressCallback = Callable[[int, int], None]  # called as callback(done, total)

BENCH_PASSAGES_KEPT = 3  # passages kept per question and retriever in benchmark results
BENCH_TEXT_CHARS = 120  # and the characters of text kept of each


@dataclass
class RetrieverOutcome:
    """What one retriever did for one question."""

    gold_ranks: list[int | None]  # per gold entry (span gold) or relevant document (benchmarks); None = not found
    passages: list[dict]  # rank, score, doc_id, title, paragraph, start, end, citation, text, gold
    metrics: dict[str, float] = field(default_factory=dict)
    docs: list[str] = field(default_factory=list)  # benchmarks: the document run, best first


@dataclass
class QuestionOutcome:
    qid: str
    question: str
    kind: str
    gold: list[dict]  # {"doc", "span"} (span gold) or {"doc", "rel"} (benchmarks)
    retrievers: dict[str, RetrieverOutcome]

    def to_dict(self) -> dict:
        return {
            "qid": self.qid, "question": self.question, "kind": self.kind, "gold": self.gold,
            "retrievers": {name: asdict(r) for name, r in self.retrievers.items()},
        }


@dataclass
class EvalResult:
    """Scores of every retriever on one question set or benchmark, with per-question detail."""

    name: str
    mode: str  # "questions" or "bench"
    k: int
    retrievers: list[str]
    metrics: dict[str, dict[str, float]]  # retriever -> metric -> mean
    significance: dict | None
    per_question: list[QuestionOutcome]
    timing: dict[str, dict[str, float]] = field(default_factory=dict)  # retriever -> seconds, ms_per_question
    info: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.per_question)

    @property
    def metric_names(self) -> list[str]:
        first = next(iter(self.metrics.values()), {})
        return list(first)

    def primary(self) -> str:
        return "hybrid" if "hybrid" in self.retrievers else self.retrievers[0]

    def worst_first(self) -> list[QuestionOutcome]:
        """Questions ordered from worst to best: by the primary retriever, then by the others."""
        main = self.primary()

        def key(q: QuestionOutcome):
            def score(name: str) -> tuple[float, float]:
                m = q.retrievers[name].metrics
                return (m.get("recall@10", m.get("recall@5", 0.0)), m.get("mrr@10", 0.0))

            others = [score(r) for r in self.retrievers if r != main]
            mean_other = sum(a + b for a, b in others) / len(others) if others else 0.0
            return (*score(main), mean_other, q.qid)

        return sorted(self.per_question, key=key)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "mode": self.mode, "n": self.n, "k": self.k, "retrievers": self.metrics,
            "significance": self.significance, "timing": self.timing, "info": self.info,
            "warnings": self.warnings, "per_question": [q.to_dict() for q in self.per_question],
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, d: dict) -> "EvalResult":
        per_q = [
            QuestionOutcome(
                q["qid"], q["question"], q.get("kind", ""), q.get("gold", []),
                {name: RetrieverOutcome(**r) for name, r in q["retrievers"].items()},
            )
            for q in d.get("per_question", [])
        ]
        return cls(
            name=d.get("name", ""), mode=d.get("mode", "questions"), k=d.get("k", 10),
            retrievers=list(d["retrievers"]), metrics=d["retrievers"], significance=d.get("significance"),
            per_question=per_q, timing=d.get("timing", {}), info=d.get("info", {}), warnings=d.get("warnings", []),
        )


# --- progress --------------------------------------------------------------------------------
class _Progress:
    def __init__(self, progress, total: int, desc: str):
        self.total, self.done, self.bar, self.callback = total, 0, None, None
        if callable(progress):
            self.callback = progress
        elif progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="q", file=sys.stderr, dynamic_ncols=True)

    def set_description(self, desc: str) -> None:
        if self.bar is not None:
            self.bar.set_description(desc)

    def step(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _encode_batch(embedder, texts: list[str]):
    """Query vectors for many texts at once, as ``encode_query`` makes them one by one, or None."""
    batch = getattr(embedder, "encode_queries", None)
    if callable(batch):
        return batch(texts)
    model = getattr(embedder, "model", None)
    if model is None or not hasattr(embedder, "_query_prompt"):
        return None
    import numpy as np

    vectors = model.encode(texts, prompt_name=embedder._query_prompt, batch_size=32, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
    return np.ascontiguousarray(vectors, dtype=np.float32)


class _MemoEmbedder:
    """An embedder that answers `encode_query` from a memo filled in advance, and otherwise is `inner`."""

    def __init__(self, inner, memo: dict):
        self._inner, self._memo = inner, memo

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def encode_query(self, text: str):
        if text not in self._memo:
            self._memo[text] = self._inner.encode_query(text)
        return self._memo[text]


@contextmanager
def _reuse_query_vectors(searcher, questions: Sequence[str] = (), progress=None):
    """Encode each question once, in batches, for all retrievers (dense and hybrid both embed it).

    Yields ``(searcher for the run, whether vectors are reused)``. The run's searcher is a shallow copy
    whose embedder answers from a memo filled in batches; the searcher and embedder that live questions
    use (the web page's, in other threads) are never touched. Retriever timings therefore exclude query
    encoding.
    """
    embedder = getattr(searcher, "embedder", None)
    if embedder is None or not hasattr(embedder, "encode_query"):
        yield searcher, False  # nothing to memoise
        return
    memo: dict[str, object] = {}
    run_searcher = copy.copy(searcher)
    run_searcher.embedder = _MemoEmbedder(embedder, memo)
    prepared = []
    for q in questions:
        try:
            prepared.append(searcher.prepare(q).text)
        except Exception:  # an empty question fails later, in search, with its own message
            pass
    prepared = list(dict.fromkeys(prepared))
    # a tqdm bar only: a callback (a web progress bar) sees one run from 0 to total, the evaluation
    bar = _Progress(None if callable(progress) else progress, len(prepared), "encoding questions") if prepared else None
    step = 256
    for i in range(0, len(prepared), step):
        part = prepared[i : i + step]
        vectors = _encode_batch(embedder, part)
        if vectors is None:
            break
        for j, text in enumerate(part):
            memo[text] = vectors[j : j + 1]
        if bar is not None:
            for _ in part:
                bar.step()
    if bar is not None:
        bar.close()
    yield run_searcher, True


def _check_args(retrievers: Sequence[str], k: int) -> list[str]:
    retrievers = list(dict.fromkeys(retrievers))
    unknown = [r for r in retrievers if r not in RETRIEVERS]
    if unknown or not retrievers:
        raise ValueError(f"unknown retriever(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(RETRIEVERS)}")
    if int(k) < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    return retrievers


def _passage_dict(p, gold: list[int], text_chars: int | None = None) -> dict:
    text = p.text if text_chars is None or len(p.text) <= text_chars else p.text[:text_chars] + "…"
    return {
        "rank": p.rank, "score": p.score, "doc_id": p.doc_id, "title": p.title, "paragraph": p.paragraph,
        "start": p.start, "end": p.end, "citation": p.citation, "text": text, "gold": gold,
    }


def _index_info(searcher) -> dict:
    store = searcher.store
    manifest = store.manifest
    return {
        "index": store.location,
        "model": manifest.get("model", ""),
        "documents": manifest.get("n_documents", len(store.documents)),
        "chunks": manifest.get("n_chunks", store.n_chunks),
        "chunk": manifest.get("chunk", {}),
    }


def _score(
    qrels: dict[str, dict[str, int]],
    rankings: dict[str, dict[str, list[list[str]]]],
    outcomes: list[QuestionOutcome],
    k: int,
    stat_test: str,
    max_p: float,
) -> tuple[dict, dict | None]:
    metrics = metrics_for_depth(k, METRICS)
    means: dict[str, dict[str, float]] = {}
    by_qid = {q.qid: q for q in outcomes}
    for name, ranks in rankings.items():
        means[name], per_q = evaluate_rankings(qrels, ranks, metrics)
        for qid, scores in per_q.items():
            by_qid[qid].retrievers[name].metrics = scores
    sig_metrics = [m for m in SIGNIFICANCE_METRICS if m in metrics] or metrics[:1]
    sig = significance(qrels, rankings, sig_metrics, stat_test=stat_test, max_p=max_p)
    return means, sig


# --- question sets ------------------------------------------------------------------------------
def evaluate_questions(
    searcher,
    qset: QuestionSet,
    retrievers: Sequence[str] = RETRIEVERS,
    k: int = 10,
    progress: bool | ProgressCallback | None = True,
    stat_test: str = "student",
    max_p: float = 0.05,
) -> EvalResult:
    """Ask every question of ``qset`` with each retriever; score the span gold (see ``eval.questions``).

    ``progress``: True for a tqdm bar on stderr, a callable ``callback(done, total)``, or None.
    Gold documents given as file names or unique id prefixes are mapped onto the index's doc ids;
    a gold document the index does not hold raises ``QuestionSetError``.
    """
    from .questions import QuestionSetError

    retrievers = _check_args(retrievers, k)
    documents = searcher.store.documents
    problems = qset.resolve_docs(documents)
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise QuestionSetError("gold documents not in the index:\n  " + "\n  ".join(problems[:10]) + more)
    judge = GoldJudge(documents)
    warnings = [f"{w}; judged by containment only" for w in judge.unresolved(qset.questions)]

    outcomes = [
        QuestionOutcome(q.qid, q.question, q.kind, [g.to_dict() for g in q.gold], {}) for q in qset.questions
    ]
    qrels = {q.qid: {gid: 1 for gid in q.gold_ids()} for q in qset.questions}
    rankings: dict[str, dict[str, list[list[str]]]] = {}
    timing: dict[str, dict[str, float]] = {}
    needs_vectors = [q.question for q in qset.questions] if set(retrievers) & {"dense", "hybrid"} else []
    with _reuse_query_vectors(searcher, needs_vectors, progress) as (searcher, reused), closing(
        _Progress(progress, len(qset) * len(retrievers), "evaluating")
    ) as bar:
        for name in retrievers:
            bar.set_description(name)
            started = time.perf_counter()
            rankings[name] = {}
            for q, out in zip(qset.questions, outcomes):
                passages = searcher.search(q.question, k=k, retriever=name)
                ids = q.gold_ids()
                gold_ranks: list[int | None] = [None] * len(q.gold)
                ranking, views = [], []
                for pos, p in enumerate(passages, start=1):
                    hits = judge.matches(q, p.doc_id, p.start, p.end, p.text)
                    new = [i for i in hits if gold_ranks[i] is None]
                    for i in new:
                        gold_ranks[i] = pos
                    ranking.append([ids[i] for i in new])
                    views.append(_passage_dict(p, hits))
                rankings[name][q.qid] = ranking
                out.retrievers[name] = RetrieverOutcome(gold_ranks, views)
                bar.step()
            seconds = time.perf_counter() - started
            timing[name] = {"seconds": round(seconds, 3), "ms_per_question": round(1000 * seconds / max(1, len(qset)), 2)}
    means, sig = _score(qrels, rankings, outcomes, k, stat_test, max_p)
    info = {**_index_info(searcher), "source": qset.path, "k": k, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "query_vectors_reused": reused}
    return EvalResult(qset.name, "questions", k, retrievers, means, sig, outcomes, timing, info, warnings)


# --- benchmarks ------------------------------------------------------------------------------------
def evaluate_bench(
    searcher,
    bench,
    retrievers: Sequence[str] = RETRIEVERS,
    k: int = 10,
    progress: bool | ProgressCallback | None = True,
    stat_test: str = "student",
    max_p: float = 0.05,
    depth: int | None = None,
) -> EvalResult:
    """Score a benchmark by document: passages -> document run by first occurrence, cut to ``k`` documents.

    ``depth`` passages are retrieved (default ``2 * k``, at most 100) so the document run can hold ``k``
    distinct documents when a document has several passages near the top.
    """
    retrievers = _check_args(retrievers, k)
    depth = int(depth or min(100, 2 * k))
    documents = searcher.store.documents

    def gold(d: str, r: int) -> dict:
        doc = documents.get(d)
        return {"doc": d, "rel": r, "title": getattr(doc, "title", "") if doc is not None else ""}

    outcomes = [
        QuestionOutcome(qid, text, "bench", [gold(d, r) for d, r in bench.qrels[qid].items()], {})
        for qid, text in bench.queries
    ]
    rankings: dict[str, dict[str, list[list[str]]]] = {}
    timing: dict[str, dict[str, float]] = {}
    warnings = list(bench.skipped)
    copies_left_out = {c["doc_id"] for cs in searcher.store.duplicates.values() for c in cs}
    missing_docs = set(d for rel in bench.qrels.values() for d in rel) - set(documents) - copies_left_out
    if missing_docs:
        warnings.append(f"{len(missing_docs)} relevant document(s) are not in the index, e.g. {sorted(missing_docs)[0]!r}")
    needs_vectors = [q.question for q in outcomes] if set(retrievers) & {"dense", "hybrid"} else []
    with _reuse_query_vectors(searcher, needs_vectors, progress) as (searcher, reused), closing(
        _Progress(progress, len(outcomes) * len(retrievers), "evaluating")
    ) as bar:
        for name in retrievers:
            bar.set_description(f"{bench.name} {name}")
            started = time.perf_counter()
            rankings[name] = {}
            for out in outcomes:
                relevant = bench.qrels[out.qid]
                passages = searcher.search(out.question, k=depth, retriever=name)
                docs: list[str] = []
                copies: dict[str, list[str]] = {}  # a document and its duplicates left out of the index rank as one
                for p in passages:
                    if p.doc_id not in docs:
                        docs.append(p.doc_id)
                        copies[p.doc_id] = [p.doc_id] + [c["doc_id"] for c in p.also_in]
                docs = docs[:k]
                rankings[name][out.qid] = [copies[d] for d in docs]
                gold_ranks = [next((r for r, d in enumerate(docs, 1) if g["doc"] in copies[d]), None) for g in out.gold]
                views = [
                    _passage_dict(p, [0] if set(copies.get(p.doc_id, [p.doc_id])) & set(relevant) else [], BENCH_TEXT_CHARS)
                    for p in passages[:BENCH_PASSAGES_KEPT]
                ]
                out.retrievers[name] = RetrieverOutcome(gold_ranks, views, docs=docs)
                bar.step()
            seconds = time.perf_counter() - started
            timing[name] = {"seconds": round(seconds, 3), "ms_per_question": round(1000 * seconds / max(1, len(outcomes)), 2)}
    means, sig = _score(bench.qrels, rankings, outcomes, k, stat_test, max_p)
    info = {
        **_index_info(searcher), "source": str(bench.path), "k": k, "depth": depth,
        "corpus_sha256": bench.corpus_sha256, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "query_vectors_reused": reused,
    }
    return EvalResult(bench.name, "bench", k, retrievers, means, sig, outcomes, timing, info, warnings)


def format_table(result: EvalResult, digits: int = 3) -> str:
    """The metrics as a plain-text table (one row per retriever)."""
    names = result.metric_names
    header = ["retriever", *names, "ms/q"]
    rows = [header]
    for r in result.retrievers:
        ms = result.timing.get(r, {}).get("ms_per_question")
        rows.append([r, *(f"{result.metrics[r][m]:.{digits}f}" for m in names), f"{ms:.1f}" if ms is not None else ""])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_significance(sig: dict | None, digits: int = 3) -> str:
    if not sig:
        return "significance: (needs two or more retrievers)"
    label = {"student": "paired Student's t-test", "fisher": "Fisher's randomization test"}.get(sig["test"], sig["test"])
    lines = [f"significance: {label}, p < {sig['max_p']}"]
    for p in sig["pairs"]:
        verdict = f"{p['better']} better" if p["significant"] else "no significant difference"
        ptext = "p<0.0001" if p["p_value"] < 1e-4 else f"p={p['p_value']:.4f}"
        lines.append(
            f"  {p['metric']:<9} {p['a']} {p['a_score']:.{digits}f} vs {p['b']} {p['b_score']:.{digits}f}: "
            f"{ptext}  {verdict}  (W/T/L {p['wins']}/{p['ties']}/{p['losses']})"
        )
    return "\n".join(lines)
