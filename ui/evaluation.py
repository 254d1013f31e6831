"""The 评测 tab: upload a question set (JSONL span gold, or CSV with question/doc/span), run it
against the page's index with a progress bar, show the metrics and per-question detail (worst
first), and offer the report (zip of report.html, report.md, metrics.png, result.json) for download.
"""
from __future__ import annotations

import logging
import tempfile
import zipfile
from pathlib import Path

import gradio as gr

from . import workspace
from .access import Access
from .library import client_address
from .render import esc, message

_log = logging.getLogger(__name__)

RETRIEVER_LABELS = {"hybrid": "hybrid（融合）", "bm25": "bm25（关键词）", "dense": "dense（向量）"}
DETAIL_LIMIT = 200  # questions shown in detail on the page (the downloaded report has more)
PASSAGES_SHOWN = 3


def _eval_api():
    from eval.questions import QuestionSet, QuestionSetError
    from eval.report import write_report
    from eval.runner import evaluate_questions

    return QuestionSet, QuestionSetError, evaluate_questions, write_report


def _answers_api():
    from eval.answers import answer_rows, evaluate_answers, load_answer_questions

    return answer_rows, evaluate_answers, load_answer_questions


def metrics_rows(result) -> tuple[list[str], list[list]]:
    try:
        from eval.report import METRIC_LABELS
    except ImportError:
        METRIC_LABELS = {}
    names = result.metric_names
    header = ["检索器", *[METRIC_LABELS.get(m, m) for m in names], "毫秒/题"]
    rows = []
    for r in result.retrievers:
        ms = result.timing.get(r, {}).get("ms_per_question")
        rows.append([r, *[round(float(result.metrics[r][m]), 3) for m in names], ms])
    return header, rows


def _rank(rank, k: int) -> str:
    return f'<span class="zq-eval-hit">第 {rank} 名</span>' if rank else f'<span class="zq-eval-miss">前 {k} 名未找到</span>'


def render_detail(result, limit: int = DETAIL_LIMIT) -> str:
    """Per-question detail, worst first: the question, where each gold ranked, the passages retrieved."""
    main = result.primary()
    questions = result.worst_first()
    parts = [
        f'<div class="zq-results-head">共 {result.n} 题，按 {esc(main)} 的表现从差到好排列'
        + (f"（页面只列出最差的 {limit} 题，完整内容见下载的报告）" if result.n > limit else "") + "</div>"
    ]
    for q in questions[:limit]:
        ranks = q.retrievers[main].gold_ranks
        found = sum(r is not None for r in ranks)
        status = "全部找到" if found == len(ranks) else ("都没找到" if found == 0 else f"找到 {found}/{len(ranks)}")
        gold = []
        for i, g in enumerate(q.gold):
            cells = "；".join(f"{esc(r)}：{_rank(q.retrievers[r].gold_ranks[i], result.k)}" for r in result.retrievers)
            label = g.get("span") or g.get("doc", "")
            gold.append(f"<li><b>{esc(g.get('doc', ''))}</b>：{esc(label)}<br>{cells}</li>")
        passages = []
        for p in q.retrievers[main].passages[:PASSAGES_SHOWN]:
            mark = "✔ " if p.get("gold") else ""
            text = p.get("text", "")
            if len(text) > 160:
                text = text[:160] + "…"
            passages.append(f"<li>{mark}[{int(p.get('rank', 0))}] {esc(p.get('citation', ''))}<br>"
                            f'<span class="zq-cite">{esc(text)}</span></li>')
        parts.append(
            '<details class="zq-eval-q">'
            f"<summary><b>{esc(q.qid)}</b> {esc(q.question)} —— {esc(status)}</summary>"
            f"<div>标准答案及排名：<ul>{''.join(gold)}</ul></div>"
            f"<div>{esc(main)} 检索到的前 {PASSAGES_SHOWN} 段：<ol>{''.join(passages)}</ol></div>"
            "</details>"
        )
    return "".join(parts)


def run_eval(searcher, path: str | None, retrievers, k, progress=None, workdir: Path | None = None) -> dict:
    """Load, evaluate and write the report. Returns {"result", "zip", "html"}; raises ValueError with
    a Chinese message for bad input."""
    QuestionSet, QuestionSetError, evaluate_questions, write_report = _eval_api()
    if not path:
        raise ValueError("请先上传问题集文件（.jsonl 或 .csv）。")
    shown_name = Path(path).name
    try:
        qset = QuestionSet.load(path)
    except QuestionSetError as exc:
        raise ValueError(f"问题集 {shown_name} 读不懂：{str(exc).replace(str(path), shown_name)}") from None
    if not len(qset):
        raise ValueError(f"问题集 {shown_name} 里没有问题。")
    retrievers = [r for r in (retrievers or []) if r in RETRIEVER_LABELS] or ["hybrid"]
    try:
        k = max(1, min(int(k), 100))
    except (TypeError, ValueError):
        k = 10
    callback = None
    if progress is not None:
        def callback(done: int, total: int) -> None:
            progress((done, total), desc=f"评测中 {done}/{total}")
    try:
        result = evaluate_questions(searcher, qset, retrievers=retrievers, k=k, progress=callback)
    except QuestionSetError as exc:
        raise ValueError(f"问题集 {shown_name} 和当前索引对不上：{str(exc).replace(str(path), shown_name)}") from None
    _, evaluate_answers, load_answer_questions = _answers_api()
    with_answers = load_answer_questions(path) if str(path).endswith((".jsonl", ".json")) else []
    if with_answers:  # the set carries gold short answers: they are scored as `zhqa ask` answers them
        result.info["answers"] = {"open": evaluate_answers(searcher, with_answers, "open").to_dict()}
    out = Path(workspace.work_folder(workdir, "eval-") if workdir is not None else tempfile.mkdtemp(prefix="zhqa-eval-"))
    report_dir = out / "report"
    paths = write_report(result, report_dir)
    (report_dir / "result.json").write_text(result.to_json(indent=1), encoding="utf-8")
    zip_path = out / f"eval-report-{Path(shown_name).stem}.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(report_dir.iterdir()):
            zf.write(f, f.name)
    return {"result": result, "zip": zip_path, "html": Path(paths["html"])}


def build_eval_tab(live, workdir: Path | None = None, access: Access | None = None) -> None:
    """The tab's components and events (call inside a `gr.Tab`); `live` is the server's `qa.LiveSearcher`.
    With logins (`access`), only an administrator may run an evaluation."""
    access = access or Access()
    gr.Markdown(
        "上传问题集，检验检索质量。格式：JSONL，每行 "
        '`{"qid": "q01", "question": "…", "gold": [{"doc": "文件编号", "span": "原文片段"}]}`；'
        "或带表头 `question,doc,span` 的 CSV（同一问题多行即多个标准答案）。"
        "检索到的段落来自标准答案所在文件并包含原文片段，即算命中。"
    )
    with gr.Row():
        upload = gr.File(label="问题集（.jsonl / .csv）", file_types=[".jsonl", ".csv", ".json"], type="filepath",
                         elem_id="zq-eval-file", min_width=220)
        with gr.Column(min_width=220):
            retrievers = gr.CheckboxGroup(
                [(label, name) for name, label in RETRIEVER_LABELS.items()], value=list(RETRIEVER_LABELS),
                label="检索器", elem_id="zq-eval-retrievers",
            )
            k = gr.Dropdown([5, 10, 20], value=10, label="每题取前 k 段", elem_id="zq-eval-k")
            run = gr.Button("开始评测", variant="primary", elem_id="zq-eval-run")
    status = gr.HTML("", elem_id="zq-eval-status", js_on_load=None)
    table = gr.Dataframe(label="指标（各题平均）", interactive=False, visible=False, elem_id="zq-eval-table", wrap=True)
    answer_table = gr.Dataframe(label="简短答案（问题集带 answers 时：作答比例、精确率、EM、F1，按问题类型）",
                                interactive=False, visible=False, elem_id="zq-eval-answers", wrap=True)
    with gr.Row():
        zip_btn = gr.DownloadButton("下载评测报告（zip）", value=None, visible=False, elem_id="zq-eval-zip")
        html_btn = gr.DownloadButton("下载报告网页（html）", value=None, visible=False, elem_id="zq-eval-html")
    detail = gr.HTML("", elem_id="zq-eval-detail", js_on_load=None)

    def on_run(path, chosen, k_value, request: gr.Request, progress=gr.Progress()):
        hidden = (gr.update(visible=False), gr.update(visible=False), gr.update(visible=False), "",
                  gr.update(visible=False))
        user, client = getattr(request, "username", None), client_address(request)
        named = [Path(path).name] if path else []
        if not access.may_evaluate(user):
            access.record("evaluate", user, client, "refused", named)
            return (message("只有管理员可以运行评测。", "error"), *hidden)
        try:
            out = run_eval(live.current, path, chosen, k_value, progress, workdir)
        except ValueError as exc:
            access.record("evaluate", user, client, "failed", named, "bad question set")
            return (message(str(exc), "error"), *hidden)
        except ImportError:
            _log.exception("the eval package is missing")
            access.record("evaluate", user, client, "failed", named, "eval package missing")
            return (message("评测模块没有安装完整，暂时不能评测。", "error"), *hidden)
        except Exception:
            _log.exception("evaluation failed")
            access.record("evaluate", user, client, "failed", named, "error")
            return (message("评测时出错了，请检查问题集后重试。（详细原因已记录在服务器日志里）", "error"), *hidden)
        result = out["result"]
        access.record("evaluate", user, client, "ok", named, f"{result.n} questions")
        header, rows = metrics_rows(result)
        answers = (result.info.get("answers") or {}).get("open")
        answer_rows = _answers_api()[0]
        note = f"评测完成：{result.n} 题，检索器 {'、'.join(result.retrievers)}，k = {result.k}。"
        if result.warnings:
            note += f" 注意：{len(result.warnings)} 条标准答案在当前索引的文本里定位不到，只按包含关系判断。"
        return (
            message(note, "info"),
            gr.update(value={"headers": header, "data": rows}, visible=True),
            gr.update(value=str(out["zip"]), visible=True),
            gr.update(value=str(out["html"]), visible=True),
            render_detail(result),
            (gr.update(value=dict(zip(("headers", "data"), answer_rows(answers["by_type"]))), visible=True)
             if answers else gr.update(visible=False)),
        )

    run.click(on_run, inputs=[upload, retrievers, k], outputs=[status, table, zip_btn, html_btn, detail, answer_table],
              api_visibility="private", concurrency_limit=1)
