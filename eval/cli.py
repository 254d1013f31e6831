"""`zhqa eval`: score retrieval against a question set or a benchmark folder.

    zhqa eval (--questions FILE | --bench DIR) [--retrievers bm25,dense,hybrid] [-k 10] [--json] [--report DIR]
              [--index DIR] [--corpus DIR] [--model M] [--limit N] [--stat-test student|fisher] [--quiet]
              [--answers open|reading|both] [--unanswerable FILE]

ui/cli.py wires this in with ``add_eval_arguments(parser)`` and ``run_eval_command(args)``.
Exit codes: 0 done, 2 bad input (unreadable question set or benchmark, unknown retriever or document,
missing or mismatched index), 1 unexpected failure. Messages go to stderr, never a traceback
(set ZHQA_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class EvalUsageError(ValueError):
    """Bad command-line input (exit code 2)."""


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _k(value: str) -> int:
    n = _positive_int(value)
    if n > 100:
        raise argparse.ArgumentTypeError(f"k must be between 1 and 100, not {n}")
    return n


def _p(value: str) -> float:
    try:
        p = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {value!r}") from None
    if not 0 < p < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {p}")
    return p


def add_eval_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``zhqa eval`` options to ``parser`` (a sub-command parser)."""
    from index.config import Settings

    s = Settings()
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--questions", type=Path, metavar="FILE",
                      help="span-gold question set: .jsonl ({qid, question, gold:[{doc, span}], kind}) or .csv (question, doc, span)")
    what.add_argument("--bench", type=Path, metavar="DIR",
                      help="benchmark folder with corpus.jsonl, queries.jsonl, qrels.tsv (its index is built and cached)")
    parser.add_argument("--retrievers", default="bm25,dense,hybrid", help="comma-separated retrievers (default bm25,dense,hybrid)")
    parser.add_argument("-k", type=_k, default=10, help="passages retrieved per question (default 10; @10 metrics need 10)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON on stdout")
    parser.add_argument("--report", type=Path, metavar="DIR", help="write report.html, report.md and metrics.png into DIR")
    parser.add_argument("--index", type=Path, default=s.index_dir, help=f"questions mode: index folder (default {s.index_dir})")
    parser.add_argument("--corpus", type=Path, default=s.corpus, help=f"questions mode: corpus to build the index from when missing (default {s.corpus})")
    parser.add_argument("--model", default=None, help=f"embedding model (default {s.model})")
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="evaluate only the first N questions")
    parser.add_argument("--stat-test", choices=("student", "fisher"), default="student",
                        help="paired significance test between retrievers (ranx compare; default student)")
    parser.add_argument("--max-p", type=_p, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--cache", type=Path, metavar="DIR", help="bench mode: where benchmark indexes are cached (default <cache_dir>/bench)")
    parser.add_argument("--rebuild", action="store_true", help="bench mode: rebuild the cached benchmark index")
    parser.add_argument("--answers", choices=("open", "reading", "both"),
                        help="also score short answers (questions with gold `answers`): open = retrieve then answer, "
                             "reading = answer from the gold paragraph alone")
    parser.add_argument("--unanswerable", type=Path, metavar="FILE",
                        help="questions mode: questions the documents do not answer (.jsonl {qid, question, kind}); "
                             "the share `ask` flags is reported per kind")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or progress messages")
    return parser


def _retrievers(value: str) -> list[str]:
    from .runner import RETRIEVERS

    names = [r.strip().lower() for r in value.split(",") if r.strip()]
    unknown = [r for r in names if r not in RETRIEVERS]
    if unknown or not names:
        raise EvalUsageError(f"unknown retriever(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(RETRIEVERS)}")
    return list(dict.fromkeys(names))


def _log(args):
    return (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))


def _questions_searcher(args):
    """The project searcher at --index; built from --corpus when missing, rebuilt when stale."""
    from qa.opening import open_or_build

    return open_or_build(args.index, args.corpus, args.model, progress=not args.quiet, log=_log(args))


def run_eval(args):
    """Run the evaluation described by parsed ``args``; return the EvalResult (raises on bad input)."""
    from .bench import load_bench, open_bench_searcher
    from .questions import QuestionSet
    from .runner import evaluate_bench, evaluate_questions

    retrievers = _retrievers(args.retrievers)
    progress = not args.quiet
    log = _log(args)
    if args.questions is not None:
        qset = QuestionSet.load(args.questions)
        if args.limit:
            qset.questions = qset.questions[: args.limit]
        searcher = _questions_searcher(args)
        log(f"evaluating {len(qset)} questions from {args.questions} with {', '.join(retrievers)} (k={args.k}) ...")
        result = evaluate_questions(searcher, qset, retrievers, k=args.k, progress=progress,
                                    stat_test=args.stat_test, max_p=args.max_p)
        _score_answers(result, searcher, args.questions, args, log)
        _score_shown(result, searcher, qset, args, log)
        return result
    bench = load_bench(args.bench, limit=args.limit)
    for note in bench.skipped:
        log(f"note: {note}")
    started = time.perf_counter()
    searcher, index_dir, built = open_bench_searcher(
        bench, model=args.model, cache_root=args.cache, rebuild=args.rebuild, progress=progress, log=log,
    )
    build_seconds = time.perf_counter() - started
    log(f"evaluating {len(bench)} queries of {bench.name} with {', '.join(retrievers)} (k={args.k}) ...")
    result = evaluate_bench(searcher, bench, retrievers, k=args.k, progress=progress,
                            stat_test=args.stat_test, max_p=args.max_p)
    result.info["index"] = str(index_dir)
    result.info["index_seconds"] = round(build_seconds, 2)
    result.info["index_built"] = built
    _score_answers(result, searcher, args.bench, args, log)
    return result


def _score_shown(result, searcher, qset, args, log) -> None:
    """Abstention and leading paragraphs as the page shows them (eval.shown) into result.info["shown"]."""
    from .shown import evaluate_shown, load_unanswerable

    unanswerable = load_unanswerable(args.unanswerable) if getattr(args, "unanswerable", None) else None
    log(f"asking {len(qset)} questions{' and ' + str(len(unanswerable)) + ' unanswerable ones' if unanswerable else ''} "
        "as the page does (answerable or not, leading paragraphs) ...")
    result.info["shown"] = evaluate_shown(searcher, qset, unanswerable)


def _score_answers(result, searcher, source, args, log) -> None:
    """`--answers`: short answers scored (EM, F1, answered share, precision per type) into result.info["answers"]."""
    if not getattr(args, "answers", None):
        return
    from .answers import evaluate_answers, load_answer_questions

    questions = load_answer_questions(source)
    if args.limit:
        questions = questions[: args.limit]
    if not questions:
        raise EvalUsageError(f"{source} has no questions with gold answers (an `answers` list per question)")
    settings = ("open", "reading") if args.answers == "both" else (args.answers,)
    result.info["answers"] = {}
    for setting in settings:
        log(f"scoring short answers of {len(questions)} questions ({setting}) ...")
        result.info["answers"][setting] = evaluate_answers(searcher, questions, setting).to_dict()


def run_eval_command(args) -> int:
    """Entry point for ``zhqa eval``; returns the exit code."""
    from index import CorpusError, IndexProblem
    from index.encoder import ModelError

    from .bench import BenchError
    from .questions import QuestionSetError

    try:
        from qa import QuestionError
    except ImportError:  # pragma: no cover
        QuestionError = ValueError
    try:
        result = run_eval(args)
    except (EvalUsageError, QuestionSetError, BenchError, QuestionError, CorpusError, IndexProblem, ModelError) as exc:
        print(f"zhqa eval: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("zhqa eval: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # no tracebacks for users; --debug (or ZHQA_DEBUG=1) shows one
        if getattr(args, "debug", False) or os.environ.get("ZHQA_DEBUG"):
            raise
        print(f"zhqa eval: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return _output(result, args)


def _output(result, args) -> int:
    from .runner import format_significance, format_table

    if args.report is not None:
        from .report import write_report

        try:
            paths = write_report(result, args.report)
        except OSError as exc:
            print(f"zhqa eval: cannot write the report into {args.report}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if not args.quiet:
            print(f"report: {paths['html']} (also {paths['markdown'].name}, {paths['chart'].name})", file=sys.stderr)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        sys.stdout.write(result.to_json() + "\n")
        return EXIT_OK
    info = result.info
    print(f"{result.name}: {result.n} {'questions' if result.mode == 'questions' else 'queries'}, k={result.k}, "
          f"model {info.get('model', '')}, index {info.get('index', '')}")
    print(format_table(result))
    print()
    print(format_significance(result.significance))
    if info.get("shown"):
        from .shown import format_shown

        print()
        print(format_shown(info["shown"]))
    for setting, scores in (info.get("answers") or {}).items():
        from .answers import format_answer_table

        print()
        print(format_answer_table(setting, scores["by_type"]))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m eval.cli ...``: the same command without the rest of zhqa."""
    parser = argparse.ArgumentParser(prog="zhqa eval", description="score retrieval against a question set or a benchmark")
    add_eval_arguments(parser)
    return run_eval_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
