"""Evaluation: question sets with span gold, benchmark folders, ranx metrics and reports.

    from eval import QuestionSet, evaluate_questions, write_report
    result = evaluate_questions(searcher, QuestionSet.load("eval/questions/seed.jsonl"))
    print(result.metrics["hybrid"]["mrr@10"]); write_report(result, "reports/seed")

Eval drives ``qa`` from the outside; it never imports ``ui``.
"""
from importlib import import_module

# Each name is imported from its module when first used: `zhqa` wires in `eval.cli` for every command, and
# `zhqa ask` must not pay for the search stack, ranx and the reports (0.8 s) just to parse its arguments.
_HOME = {
    "Benchmark": "bench", "BenchError": "bench", "load_bench": "bench", "open_bench_searcher": "bench",
    "METRICS": "metrics",
    "Gold": "questions", "Question": "questions", "QuestionSet": "questions", "QuestionSetError": "questions",
    "nfkc_without_spaces": "questions",
    "write_report": "report",
    "RETRIEVERS": "runner", "EvalResult": "runner", "evaluate_bench": "runner", "evaluate_questions": "runner",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module 'eval' has no attribute {name!r}")


__all__ = sorted(_HOME)
