"""Evaluation: question sets with span gold, benchmark folders, ranx metrics and reports.

    from eval import QuestionSet, evaluate_questions, write_report
    result = evaluate_questions(searcher, QuestionSet.load("eval/questions/seed.jsonl"))
    print(result.metrics["hybrid"]["mrr@10"]); write_report(result, "reports/seed")

Eval drives ``qa`` from the outside; it never imports ``ui``.
"""
from .bench import Benchmark, BenchError, load_bench, open_bench_searcher
from .metrics import METRICS
from .questions import Gold, Question, QuestionSet, QuestionSetError, nfkc_without_spaces
from .report import write_report
from .runner import RETRIEVERS, EvalResult, evaluate_bench, evaluate_questions

__all__ = [
    "METRICS", "RETRIEVERS", "BenchError", "Benchmark", "EvalResult", "Gold", "Question", "QuestionSet",
    "QuestionSetError", "evaluate_bench", "evaluate_questions", "load_bench", "nfkc_without_spaces", "open_bench_searcher",
    "write_report",
]
