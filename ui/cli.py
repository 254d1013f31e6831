"""The `zhqa` command: build an index, ask questions, serve the web page, evaluate."""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from eval.cli import add_eval_arguments  # noqa: E402  (after the environment above is set)
from index.ingest import DEFAULT_MAX_FILE_MB, DEFAULT_OCR_PAGES, FORMATS_READ, ReadOptions  # noqa: E402

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1

EXAMPLES = """examples:
  zhqa build
  zhqa ask 哪些城市推行拿地即开工?
  zhqa ask --json -k 3 "拿地即开工" "身后一件事怎么办"
  zhqa ask --file questions.txt --json
  zhqa serve --port 7860
  zhqa add ~/收文/通知.pdf ~/收文/2024/
  zhqa remove 通知
  zhqa sync
  zhqa list --json
  zhqa eval --questions eval/questions/seed.jsonl --report reports/seed
"""


class UsageProblem(Exception):
    """Bad input from the user: reported in one line, exit code 2."""


def _settings():
    from index.config import Settings

    return Settings()


def _add_where_args(p: argparse.ArgumentParser) -> None:
    """Where the index lives: --index for a local folder, or --store milvus with --uri and --collection."""
    s = _settings()
    p.add_argument("--index", type=Path, default=s.index_dir, help=f"index folder (default: {s.index_dir})")
    p.add_argument("--store", choices=("local", "milvus"), default=s.store,
                   help=f"where the index lives: a local folder (--index) or Milvus (--uri, --collection) (default: {s.store})")
    p.add_argument("--uri", default=s.milvus_uri,
                   help="Milvus server URI (http://host:19530) or a milvus-lite file ending in .db, for --store milvus "
                        f"(default: {s.milvus_uri})")
    p.add_argument("--collection", default=s.milvus_collection,
                   help=f"name of the index in Milvus, for --store milvus (default: {s.milvus_collection})")


def _add_index_args(p: argparse.ArgumentParser, with_corpus: bool = True) -> None:
    s = _settings()
    _add_where_args(p)
    if with_corpus:
        p.add_argument("--corpus", type=Path, default=s.corpus,
                       help=f"folder of documents (formats: see zhqa build --help) or a .jsonl file (default: {s.corpus})")
    p.add_argument("--model", default=None, help=f"sentence-transformers model name or local folder (default: {s.model})")


def target(args):
    """Where the command's index lives: the --index folder, or the Milvus index for --store milvus."""
    if getattr(args, "store", "local") != "milvus":
        return args.index
    from index.store import MilvusAddress, MilvusProblem

    try:
        return MilvusAddress(args.uri, args.collection)
    except MilvusProblem as exc:
        raise UsageProblem(str(exc)) from None


def open_searcher(index_dir: Path, corpus: Path, model: str | None, build_if_stale: bool = True, quiet: bool = False):
    """The searcher for `index_dir`, building the index first when there is none (or it is stale).

    `quiet` hides progress bars (for --json callers); what is being rebuilt is always said on stderr."""
    from qa.opening import open_or_build

    return open_or_build(index_dir, corpus, model, rebuild_stale=build_if_stale, progress=not quiet)


# --- commands ------------------------------------------------------------------
def cmd_build(args) -> int:
    from index.collection import build_and_report

    index = build_and_report(args.corpus, target(args), args.model,
                             read=ReadOptions(ocr_pages=args.ocr_pages, max_file_mb=args.max_file_mb))
    # the whole collection is named by its folder and count: listing every document would make one huge line
    _audit_log(args).record("build", getpass.getuser(), "cli", "ok", (),
                            f"{len(index.documents)} documents from {Path(args.corpus).resolve()}")
    return 0


def _read_questions(args) -> list[str]:
    questions = list(args.questions)
    if args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"cannot read questions from {args.file}: {exc}") from exc
        questions += [line.strip() for line in text.splitlines() if line.strip()]
        if not questions:
            raise UsageProblem(f"{args.file} holds no questions (one question per line)")
    if not questions:
        raise UsageProblem("no question given: zhqa ask QUESTION... or zhqa ask --file PATH")
    if any(not q.strip() for q in questions):
        raise UsageProblem("the question is empty: type a question, e.g. zhqa ask 哪些城市推行拿地即开工?")
    return questions


def _copy_name(copy: dict) -> str:
    """《title》，source of another copy of a document."""
    return "，".join(x for x in (f"《{copy.get('title')}》" if copy.get("title") else copy.get("doc_id", ""), copy.get("source", "")) if x)


def _print_answer(answer, out) -> None:
    from qa import NOT_ANSWERED  # qa loads the search stack, which only the asking commands need

    print(f"问：{answer.question}", file=out)
    if answer.notice:
        print(f"注意：{answer.notice}", file=out)
    if answer.answerability is not None and not answer.answerable:
        reason = answer.answerability.reason
        print(f"！{NOT_ANSWERED}" + (f"（{reason}）" if reason else ""), file=out)
    short = answer.answer if answer.answer is not None and not answer.places else None
    if short is not None:
        head = short.text if short.type != "yesno" else f"{short.verdict}（{short.text}）"
        if short.type == "date" and short.means:
            head += f"（即{short.means}）"
        print(f"答：{head}", file=out)
        for item in short.items if short.type == "list" else ():
            print(f"  · {item['text']}", file=out)
        print(f"  依据：{short.evidence}", file=out)
        print(f"  —— {short.citation}", file=out)
        for alt in short.alternatives:
            print(f"  另一说法：{alt.text}（{alt.evidence}）—— {alt.citation}", file=out)
    if answer.places and answer.places.items:
        print("答：", file=out)
        for item in answer.places.items:
            print(f"  · {item.name}：{item.evidence}", file=out)
            if item.resolved_from:
                print(f"    （{item.resolved_from}）", file=out)
            print(f"    —— {item.citation}", file=out)
    if not answer.passages:
        print("  没有找到相关段落。", file=out)
    for p in answer.passages:
        # the paragraph that answers, with its own citation; the passage's range after it
        lead = p.lead if p.lead is not None and (p.lead.start, p.lead.end) != (p.start, p.end) else None
        print(f"\n[{p.rank}] {lead.citation if lead else p.citation}", file=out)
        print(p.text[lead.start - p.start:lead.end - p.start] if lead else p.text, file=out)
        if lead:
            print(f"    （出自检索片段：{p.citation}）", file=out)
        if p.also_in:
            print("    另见：" + "；".join(_copy_name(d) for d in p.also_in), file=out)
    print(file=out)


def cmd_ask(args) -> int:
    from qa import ask

    questions = _read_questions(args)
    searcher = open_searcher(target(args), args.corpus, args.model, build_if_stale=not args.no_sync, quiet=args.json)
    for question in questions:
        answer = ask(searcher, question, k=args.k)
        if answer.notice:
            print(f"notice: {answer.notice}", file=sys.stderr)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        else:
            _print_answer(answer, sys.stdout)
    return 0


def _need_index(args):
    """The target of a command that changes or lists an existing index: refused with a message when there is none."""
    from index import index_exists
    from index.store import MilvusAddress, MilvusStore

    where = target(args)
    if isinstance(where, MilvusAddress):
        MilvusStore(where)  # says how to build one when there is none
    elif not index_exists(where):
        raise UsageProblem(f"no index at {where}; build one first with: zhqa build --index {where}")
    return where


def _report_change(report, what: str) -> None:
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{what}: {report.summary()}", file=sys.stderr)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _audit_log(args):
    """The audit log of the command's index: --audit-log, else beside the index's own files (its folder; for a
    Milvus index, its local work folder, never the default local index's)."""
    from index.store import MilvusAddress
    from ui.audit import AuditLog, default_path

    if getattr(args, "audit_log", None):
        return AuditLog(args.audit_log)
    where = target(args)
    return AuditLog(default_path(where.work_dir if isinstance(where, MilvusAddress) else where))


def _record_change(args, action: str, report) -> None:
    """A change made from the command line, in the index's audit log (the user is the account that ran it)."""
    changed = sorted({*report.added, *report.replaced, *report.removed})
    _audit_log(args).record(action, getpass.getuser(), "cli", "ok" if changed else "unchanged", changed)


def cmd_add(args) -> int:
    from index import collection

    where = _need_index(args)
    _, report, placed, refused = collection.add(
        where, args.paths, read=ReadOptions(ocr_pages=args.ocr_pages, max_file_mb=args.max_file_mb))
    for p in placed:
        if p.copied:
            print(f"copied {p.source} -> {p.target}", file=sys.stderr)
    for reason in refused:
        print(f"refused {reason}", file=sys.stderr)
    _record_change(args, "add", report)
    _report_change(report, "index updated")
    return EXIT_BAD_INPUT if refused and not placed else 0


def cmd_remove(args) -> int:
    from index import collection

    where = _need_index(args)
    _, report, moved = collection.remove(where, args.doc_ids)
    for line in moved:
        print(f"moved {line}", file=sys.stderr)
    _record_change(args, "remove", report)
    _report_change(report, "index updated")
    return 0


def cmd_sync(args) -> int:
    from index import collection

    where = _need_index(args)
    if args.corpus is not None:
        built = Path(collection.open_current(where).manifest.get("corpus", ""))
        if built.resolve() != args.corpus.resolve():
            raise UsageProblem(f"the index at {where} follows {built}, not {args.corpus}; "
                               f"build an index of that folder with: zhqa build --corpus {args.corpus} --index DIR")
    _, report, changes = collection.sync(where, read=ReadOptions(ocr_pages=args.ocr_pages, max_file_mb=args.max_file_mb))
    _record_change(args, "sync", report)
    if not changes:
        print("the index is up to date with its corpus", file=sys.stderr)
        return 0
    _report_change(report, f"corpus: {changes.summary()} files; index updated")
    return 0


def cmd_optimize(args) -> int:
    from index.collection.merging import merge
    from index.store import MilvusAddress

    where = _need_index(args)
    if isinstance(where, MilvusAddress):
        raise UsageProblem("a Milvus index merges its own segments; zhqa optimize is for a local index")
    _, report = merge(where, everything=not args.policy)
    _audit_log(args).record("optimize", getpass.getuser(), "cli", "ok" if report.merged else "unchanged", [])
    print(f"index optimized: {report.summary()}", file=sys.stderr)
    return 0


def cmd_list(args) -> int:
    from index import collection
    from index.store import open_store

    where = _need_index(args)
    rows = collection.documents(open_store(where))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        pages = f", {r['pages']} pages" if r["pages"] else ""
        copies = f"\tcopies: {', '.join(r['also_in'])}" if r["also_in"] else ""
        print(f"{r['doc_id']}\t《{r['title'] or '(无标题)'}》\t{r['source'] or '-'}\t{r['date'] or '-'}\t"
              f"{r['format']}{pages}, {r['chunks']} chunks\tadded {r['added'] or '-'}{copies}")
    print(f"{len(rows)} documents", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    from ui.access import Access, AccessError
    from ui.app import serve
    from ui.library import UploadLimits

    try:
        access = Access.from_file(args.auth) if args.auth else Access(allow_changes=args.allow_changes)
    except AccessError as exc:
        raise UsageProblem(str(exc)) from None
    if access.allow_changes and args.host not in LOOPBACK:
        raise UsageProblem("--allow-changes without --auth lets anyone who reaches the page change the collection; "
                           "it only works on 127.0.0.1 (use --auth FILE to serve other machines)")
    if not args.auth and args.host not in LOOPBACK and not args.public_read_only:
        raise UsageProblem(f"--host {args.host} without --auth lets anyone on the network read every document; "
                           "give --auth FILE (see zhqa user add), or say --public-read-only if that is meant")
    if args.root_path and not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", args.root_path):
        raise UsageProblem(f"--root-path {args.root_path}: give the proxy's sub-path, such as /zhqa (no trailing /)")
    if args.api_processes and args.store == "milvus":
        raise UsageProblem("--api-processes works with a local index (a Milvus index is answered by its own server)")
    if args.api_processes > (os.cpu_count() or 1):
        raise UsageProblem(f"--api-processes {args.api_processes}: at most one per core ({os.cpu_count()} here); "
                           "more would only wait for the same cores, each holding its own copy of the index")
    access.audit = _audit_log(args)
    searcher = open_searcher(target(args), args.corpus, args.model, build_if_stale=not args.no_sync)
    access.log_questions = args.log_questions
    limits = UploadLimits(files=args.max_upload_files, file_mb=args.max_file_mb, total_mb=args.max_upload_mb)
    serve(searcher, host=args.host, port=args.port, access=access, concurrency=args.concurrency, root_path=args.root_path,
          upload_limits=limits, api_processes=args.api_processes)
    return 0


def cmd_audit(args) -> int:
    from ui.audit import format_entry, read_entries

    since = ""
    if args.since:
        from ui.handlers import UserProblem, date_bound

        try:
            since = date_bound(args.since)
        except UserProblem:
            raise UsageProblem(f"--since {args.since}: give a date such as 2026-12-01") from None
    path = _audit_log(args).path
    if not path.exists():
        print(f"no audit log at {path} yet (it starts with the first login or change)", file=sys.stderr)
        return 0
    for entry in read_entries(path, since=since, user=args.user):
        print(json.dumps(entry, ensure_ascii=False) if args.json else format_entry(entry))
    return 0


def cmd_user(args) -> int:
    from ui.access import AccessError, add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise UsageProblem("the two passwords differ")
    try:
        add_user(args.auth, args.name, password, admin=args.admin)
    except AccessError as exc:
        raise UsageProblem(str(exc)) from None
    print(f"user {args.name} ({'admin' if args.admin else 'reader'}) saved in {args.auth}", file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    from eval.cli import run_eval_command

    return run_eval_command(args)


def _k(value: str) -> int:
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"k must be a whole number, not {value!r}")
    if not 1 <= k <= 100:
        raise argparse.ArgumentTypeError("k must be between 1 and 100")
    return k


def _add_read_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ocr-pages", type=_non_negative, default=DEFAULT_OCR_PAGES, metavar="N",
                   help=f"scanned PDF pages read by OCR per file at most; 0 turns OCR off (default {DEFAULT_OCR_PAGES})")
    p.add_argument("--max-file-mb", type=_positive_float, default=DEFAULT_MAX_FILE_MB, metavar="MB",
                   help=f"files larger than this are skipped (default {DEFAULT_MAX_FILE_MB})")


def _number(kind: type, lowest: float, strict: bool = False):
    """An argparse type: a `kind` number at least `lowest` (above it when `strict`), finite."""
    def parse(value: str):
        try:
            x = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {'whole ' if kind is int else ''}number, not {value!r}")
        if x != x or x in (float("inf"), float("-inf")) or x < lowest or (strict and x == lowest):
            raise argparse.ArgumentTypeError(f"must be a number {'above' if strict else 'of at least'} {lowest:g}")
        return x
    return parse


_non_negative = _number(int, 0)
_positive_int = _number(int, 1)
_positive_float = _number(float, 0, strict=True)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zhqa",
        description="Ranked, cited passages from Chinese government and news documents (no generative model).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "build", help="build the index from a corpus",
        description=f"Build the index from a corpus folder. Formats read: {FORMATS_READ}; a scanned PDF page is read "
                    "by OCR. Other files (.doc, .wps, .ofd, images, archives) are skipped with a message naming them.",
    )
    _add_index_args(p)
    _add_read_args(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("add", help="copy documents into the corpus folder and index them (no rebuild)",
                       description="Copy files (or folders of them) into the index's corpus folder and index just "
                                   f"those. Formats read: {FORMATS_READ}. A file already in the folder is indexed "
                                   "where it is; a file whose name is taken by other content is refused.")
    _add_where_args(p)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders to add")
    _add_read_args(p)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="take documents out of the index (their files move to .removed/)",
                       description="Take documents out of the index by doc id (see zhqa list). Their files move to "
                                   "the corpus folder's .removed/ folder, so a later sync does not bring them back "
                                   "and nothing is deleted.")
    _add_where_args(p)
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="ids of the documents to remove")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("sync", help="bring the index up to date with its corpus folder (only changed files)",
                       description="Find the files of the corpus folder that were added, changed or deleted since "
                                   "the index was built or last synced (by size, time and content hash) and index "
                                   "only those.")
    _add_where_args(p)
    p.add_argument("--corpus", type=Path, default=None, help="the corpus folder (default: the one the index was built from)")
    _add_read_args(p)
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("optimize", help="merge the index's segments into one (deleted documents' chunks dropped)",
                       description="Every change (add, remove, sync, an upload) writes a small segment of its own, "
                                   "and the changes merge them by a tiered policy as they go (ten of a size make one "
                                   "of the next). optimize merges every segment into one: searches touch one set of "
                                   "indexes, and the chunks of deleted documents leave memory and disk. Readers keep "
                                   "answering meanwhile; other changes wait for it.")
    _add_where_args(p)
    p.add_argument("--policy", action="store_true", help="merge only what the tiered policy asks for")
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser("list", help="list the indexed documents")
    _add_where_args(p)
    p.add_argument("--json", action="store_true", help="print the documents as JSON")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("ask", help="answer questions with ranked, cited passages")
    _add_index_args(p)
    p.add_argument("-k", type=_k, default=5, help="passages per question (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object per question, one per line")
    p.add_argument("--file", type=Path, help="read questions from a file, one per line")
    p.add_argument("questions", nargs="*", metavar="QUESTION", help="one or more questions (quote one that has spaces)")
    p.add_argument("--no-sync", action="store_true", help="answer from the index as it is, even if the corpus changed")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="serve the web page (builds the index first if needed)")
    _add_index_args(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--no-sync", action="store_true", help="serve the index as it is, even if the corpus changed")
    p.add_argument("--concurrency", type=_positive_int, default=2, metavar="N",
                   help="questions answered at once (default 2: one per core; see bench/load.py)")
    p.add_argument("--auth", type=Path, default=None, metavar="FILE",
                   help="users file (see zhqa user add): everybody logs in; admins may change the collection")
    p.add_argument("--allow-changes", action="store_true",
                   help="without --auth: let the page upload, delete and re-index documents (127.0.0.1 only)")
    p.add_argument("--public-read-only", action="store_true",
                   help="serve another --host without --auth: anyone who reaches it may read and ask (never change)")
    p.add_argument("--audit-log", type=Path, default=None, metavar="FILE",
                   help="where logins and changes are recorded (default: audit.jsonl in the index folder; for "
                        "--store milvus, in its local work folder)")
    p.add_argument("--root-path", default="", metavar="/PATH",
                   help="the sub-path a reverse proxy serves the page at, e.g. /zhqa (see docs/nginx.md)")
    p.add_argument("--api-processes", type=_non_negative, default=0, metavar="N",
                   help="answer POST /api/ask in N worker processes (a local index only): for programs asking "
                        "more than ~100 questions a second; each holds its own copy of the index and model "
                        "(~300 MB more on a small index). Default 0: threads of this process")
    p.add_argument("--log-questions", action="store_true",
                   help="also record each question asked, with its user, in the audit log (off by default: "
                        "questions may be personal data)")
    p.add_argument("--max-upload-files", type=_positive_int, default=50, metavar="N",
                   help="files one upload in the page may bring (default 50)")
    p.add_argument("--max-file-mb", type=_positive_float, default=DEFAULT_MAX_FILE_MB, metavar="MB",
                   help=f"the largest file an upload may bring; stopped while it arrives (default {DEFAULT_MAX_FILE_MB})")
    p.add_argument("--max-upload-mb", type=_positive_float, default=1000, metavar="MB",
                   help="all files of one upload together (default 1000)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("audit", help="print the audit log: logins, uploads, deletions, re-indexing, syncs, evaluations")
    _add_where_args(p)
    p.add_argument("--audit-log", type=Path, default=None, metavar="FILE",
                   help="the log to read (default: audit.jsonl in the index folder)")
    p.add_argument("--since", default="", metavar="DATE", help="only entries from this date on (e.g. 2026-12-01)")
    p.add_argument("--user", default=None, metavar="NAME", help="only this user's entries")
    p.add_argument("--json", action="store_true", help="one JSON object per line, as stored")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("user", help="add a user to a users file for zhqa serve --auth")
    user_sub = p.add_subparsers(dest="user_command", metavar="add", required=True)
    q = user_sub.add_parser("add", help="add or replace a user (asks for the password)")
    q.add_argument("name", help="user name: letters, digits or . _ - @")
    q.add_argument("--auth", type=Path, required=True, metavar="FILE", help="the users file (created if missing)")
    q.add_argument("--admin", action="store_true", help="may manage documents and run evaluations (default: reader)")
    q.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    q.set_defaults(func=cmd_user)

    p = sub.add_parser("eval", help="score retrieval against a question set or a benchmark")
    add_eval_arguments(p)
    p.set_defaults(func=cmd_eval)
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true", help="on an unexpected failure, show the Python traceback")
    return parser


def main(argv: list[str] | None = None) -> int:
    # a file name that is not UTF-8 must not crash a listing: such characters print as \udcXX
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s", stream=sys.stderr)
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    from index import CorpusError, IndexProblem
    from index import IndexWriteError
    from index.encoder import ModelError
    from index.store import MilvusProblem
    from index.collection import UpdateError
    from qa import QuestionError

    try:
        return args.func(args)
    except (UsageProblem, QuestionError, CorpusError, IndexProblem, ModelError, UpdateError, MilvusProblem) as exc:
        print(f"zhqa: {exc}", file=sys.stderr)
        return EXIT_FAILURE if isinstance(exc, IndexWriteError) else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("zhqa: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a failure we did not foresee: one line for users, the traceback on --debug
        if args.debug:
            raise
        print(f"zhqa {args.command}: failed: {type(exc).__name__}: {exc} (run again with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
