"""Evaluation reports: a self-contained HTML page (Chinese), Markdown, and a PNG bar chart.

``write_report(result, out_dir)`` writes ``report.html`` (the chart is embedded, every piece of
document text is HTML-escaped), ``report.md`` (links ``metrics.png``) and ``metrics.png``.
Per-question detail is ordered worst first; large benchmarks list only the worst questions.
"""
from __future__ import annotations

import base64
import html
import re
import subprocess
from pathlib import Path

from .answers import SETTING_LABELS, answer_rows
from .questions import locate
from .runner import EvalResult, QuestionOutcome, format_significance

MAX_DETAIL = 300  # questions shown in detail
MD_PASSAGES = 3  # passages per retriever in the Markdown detail
MD_TEXT_CHARS = 160

METRIC_LABELS = {
    "recall@1": "Recall@1", "recall@5": "Recall@5", "recall@10": "Recall@10", "hit@1": "Hit@1", "hit@5": "Hit@5",
    "mrr@10": "MRR@10", "ndcg@10": "nDCG@10",
}
KIND_LABELS = {"fact": "事实", "list": "列举", "paraphrase": "转述", "bench": "基准"}
TEST_LABELS = {"student": "配对 t 检验 (paired Student's t-test)", "fisher": "Fisher 随机化检验 (randomization test)"}


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


# --- chart -----------------------------------------------------------------------------------------
_CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Noto Serif CJK SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Noto Sans CJK JP",
)


def find_cjk_font() -> str | None:
    """The family name of a CJK-capable font matplotlib can use, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in names:
            return family
    try:  # fontconfig may know fonts matplotlib has not scanned (installed after its cache was made)
        out = subprocess.run(["fc-list", ":lang=zh", "file", "style"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = []
    for line in out.splitlines():
        path, _, style = line.partition(":")
        path = path.strip()
        if path and Path(path).is_file():
            # regular weight first, sans before serif
            found.append(("Regular" not in style, "Serif" in Path(path).name, path))
    for _, _, path in sorted(found):
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except Exception:  # an unreadable or unsupported font file: try the next
            continue
    return None


def _ascii(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]+", "", text).strip()


def write_chart(result: EvalResult, path: Path) -> Path:
    """A grouped bar chart: one group per metric, one bar per retriever."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    font = find_cjk_font()
    metrics = result.metric_names
    retrievers = result.retrievers
    rc = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(metrics) + 2), 4.2), dpi=120)
        width = 0.8 / max(1, len(retrievers))
        colors = {"bm25": "#4C72B0", "dense": "#DD8452", "hybrid": "#55A868"}
        for i, r in enumerate(retrievers):
            xs = [j + (i - (len(retrievers) - 1) / 2) * width for j in range(len(metrics))]
            ys = [result.metrics[r][m] for m in metrics]
            bars = ax.bar(xs, ys, width, label=r, color=colors.get(r))
            for b, y in zip(bars, ys):
                ax.text(b.get_x() + b.get_width() / 2, y + 0.01, f"{y:.2f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(metrics)))
        ax.set_xticklabels([_label(m) for m in metrics])
        ax.set_ylim(0, 1.2)
        ax.set_ylabel("score")
        name = result.name if font else (_ascii(result.name) or "evaluation")
        title = f"检索评测 {name} (n={result.n})" if font else f"retrieval evaluation: {name} (n={result.n})"
        ax.set_title(title)
        ax.legend(loc="upper center", ncol=max(1, len(retrievers)), fontsize=8, frameon=False)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
    return path


# --- shared pieces -------------------------------------------------------------------------------------
def _rank_text(rank: int | None, k: int) -> str:
    return f"{rank}" if rank is not None else f">{k}"


def _best(result: EvalResult, metric: str) -> float:
    return max(result.metrics[r][metric] for r in result.retrievers)


def _detail_questions(result: EvalResult, limit: int) -> tuple[list[QuestionOutcome], int]:
    ordered = result.worst_first()
    return ordered[:limit], len(ordered)


def _gold_label(g: dict) -> str:
    if "span" in g:
        return f"{g['doc']}: {g['span']}"
    title = f" 《{g['title']}》" if g.get("title") else ""
    return f"{g['doc']}{title} (rel {g.get('rel', 1)})"


def _p_text(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


# --- HTML --------------------------------------------------------------------------------------------
_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.55}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}td.l,th.l{text-align:left}
.best{font-weight:bold;background:#eef7ee}.sig{color:#1a7f37;font-weight:bold}.ns{color:#777}
.q{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}.q.fail{border-left:5px solid #d1242f}
.q.part{border-left:5px solid #bf8700}.q.ok{border-left:5px solid #1a7f37}.qid{color:#666;font-family:monospace}
.kind{font-size:.8em;background:#eee;border-radius:3px;padding:0 .4em;margin-left:.4em}
.miss{color:#d1242f;font-weight:bold}.hit{color:#1a7f37}
details{margin:.3em 0}summary{cursor:pointer;color:#0550ae}
ol.p li{margin:.4em 0}.ptext{white-space:pre-wrap;font-size:.92em}.rel{background:#f0fff4}
img{max-width:100%;height:auto}mark{background:#ffe58f}.meta{color:#666;font-size:.85em}.warn{color:#9a6700}
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _highlight(text: str, spans: list[str]) -> str:
    """``text`` HTML-escaped, with every occurrence of the gold spans marked."""
    marks: list[tuple[int, int]] = []
    for span in spans:
        marks.extend(locate(span, text))
    marks.sort()
    out, pos = [], 0
    for s, e in marks:
        if s < pos:
            continue
        out.append(_esc(text[pos:s]))
        out.append(f"<mark>{_esc(text[s:e])}</mark>")
        pos = e
    out.append(_esc(text[pos:]))
    return "".join(out)


def _html_metrics(result: EvalResult) -> str:
    metrics = result.metric_names
    head = "".join(f"<th>{_esc(_label(m))}</th>" for m in metrics)
    rows = []
    for r in result.retrievers:
        cells = []
        for m in metrics:
            v = result.metrics[r][m]
            cls = ' class="best"' if abs(v - _best(result, m)) < 1e-12 and len(result.retrievers) > 1 else ""
            cells.append(f"<td{cls}>{v:.3f}</td>")
        ms = result.timing.get(r, {}).get("ms_per_question")
        rows.append(f"<tr><td>{_esc(r)}</td>{''.join(cells)}<td>{'' if ms is None else f'{ms:.1f}'}</td></tr>")
    return f"<table><tr><th>检索器</th>{head}<th>毫秒/题</th></tr>{''.join(rows)}</table>"


def _html_significance(result: EvalResult) -> str:
    sig = result.significance
    if not sig:
        return "<p>只有一个检索器，无需检验。</p>"
    rows = []
    for p in sig["pairs"]:
        verdict = (f'<span class="sig">{_esc(p["better"])} 显著更好</span>' if p["significant"]
                   else '<span class="ns">差异不显著</span>')
        rows.append(
            f"<tr><td>{_esc(_label(p['metric']))}</td><td class='l'>{_esc(p['a'])} vs {_esc(p['b'])}</td>"
            f"<td>{p['a_score']:.3f}</td><td>{p['b_score']:.3f}</td><td>{_p_text(p['p_value'])}</td>"
            f"<td class='l'>{verdict}</td><td>{p['wins']}/{p['ties']}/{p['losses']}</td></tr>"
        )
    label = TEST_LABELS.get(sig["test"], sig["test"])
    return (
        f"<p>方法：{_esc(label)}，显著性水平 p &lt; {sig['max_p']}（由 ranx compare 计算）。"
        "胜/平/负 = 前者得分高于/等于/低于后者的题数。</p>"
        "<table><tr><th>指标</th><th class='l'>比较</th><th>前者</th><th>后者</th><th>p 值</th>"
        f"<th class='l'>结论</th><th>胜/平/负</th></tr>{''.join(rows)}</table>"
    )


def _status(q: QuestionOutcome, main: str) -> str:
    ranks = q.retrievers[main].gold_ranks
    found = sum(r is not None for r in ranks)
    return "ok" if found == len(ranks) else "fail" if found == 0 else "part"


def _html_question(result: EvalResult, q: QuestionOutcome) -> str:
    k = result.k
    main = result.primary()
    spans = [g["span"] for g in q.gold if "span" in g]
    head = "".join(f"<th>{_esc(r)}</th>" for r in result.retrievers)
    gold_rows = []
    for i, g in enumerate(q.gold):
        cells = []
        for r in result.retrievers:
            rank = q.retrievers[r].gold_ranks[i]
            cls = "hit" if rank is not None else "miss"
            cells.append(f'<td class="{cls}">{_rank_text(rank, k)}</td>')
        gold_rows.append(f"<tr><td class='l'>{_esc(_gold_label(g))}</td>{''.join(cells)}</tr>")
    metric_bits = " · ".join(
        f"{_esc(r)}: MRR@10 {q.retrievers[r].metrics.get('mrr@10', 0):.2f}" for r in result.retrievers
        if "mrr@10" in q.retrievers[r].metrics
    )
    passages = []
    for r in result.retrievers:
        items = []
        for p in q.retrievers[r].passages:
            rel = " rel" if p.get("gold") else ""
            mark = " ✔" if p.get("gold") else ""
            items.append(
                f'<li class="{rel.strip()}"><span class="meta">[{p["rank"]}]{mark} {_esc(p["doc_id"])} · '
                f'{_esc(p.get("citation") or (p.get("title", "") + " 第 " + str(p.get("paragraph", "")) + " 段"))} · '
                f'score {p.get("score", 0):.4f}</span><div class="ptext">{_highlight(p.get("text", ""), spans)}</div></li>'
            )
        open_attr = " open" if r == main and _status(q, main) != "ok" else ""
        passages.append(
            f"<details{open_attr}><summary>{_esc(r)} 检索到的段落（{len(items)}）</summary>"
            f"<ol class='p'>{''.join(items)}</ol></details>"
        )
    return (
        f'<div class="q {_status(q, main)}"><div><span class="qid">{_esc(q.qid)}</span>'
        f'<span class="kind">{_esc(KIND_LABELS.get(q.kind, q.kind))}</span> <b>{_esc(q.question)}</b></div>'
        f'<div class="meta">{metric_bits}</div>'
        f"<table><tr><th class='l'>标准答案（文档: 原文片段）— 各检索器中的排名</th>{head}</tr>{''.join(gold_rows)}</table>"
        f"{''.join(passages)}</div>"
    )


_ANSWER_NOTE = ("作答精确率：作答的题中与标准答案一致（相同，或一方包含另一方）的比例；其中完全一致：逐字相同的比例；"
                "EM、F1 按 CMRC 2018 官方脚本计算（去标点、按字切分），对全部有标准答案的题取平均。")
ANSWER_MISSES = 30


def _answer_misses(scores: dict) -> list[dict]:
    return [q for q in scores["questions"] if q["answers"] and q["prediction"] and not q.get("agrees")][:ANSWER_MISSES]


def _html_answers(result: EvalResult) -> str:
    """The short-answer section, when the evaluation scored answers (`zhqa eval --answers`, or a set with answers)."""
    parts = []
    for setting, scores in (result.info.get("answers") or {}).items():
        headers, rows = answer_rows(scores["by_type"])
        head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
        misses = "".join(f"<li>{_esc(q['question'])}：答 <b>{_esc(q['prediction'])}</b>，标准答案 {_esc('／'.join(q['answers']))}</li>"
                         for q in _answer_misses(scores))
        parts.append(f"<h3>{_esc(SETTING_LABELS.get(setting, setting))}</h3><table><tr>{head}</tr>{body}</table>"
                     + (f"<p>答得不对的题（最多 {ANSWER_MISSES} 题）：</p><ul>{misses}</ul>" if misses else ""))
    if not parts:
        return ""
    return f"<h2>简短答案</h2><p class='meta'>{_esc(_ANSWER_NOTE)}</p>" + "".join(parts)


def _md_answers(result: EvalResult) -> list[str]:
    lines = []
    for setting, scores in (result.info.get("answers") or {}).items():
        headers, rows = answer_rows(scores["by_type"])
        lines += [f"### {SETTING_LABELS.get(setting, setting)}", "", "| " + " | ".join(headers) + " |",
                  "|---" * len(headers) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        misses = _answer_misses(scores)
        if misses:
            lines += ["", f"答得不对的题（最多 {ANSWER_MISSES} 题）：", ""]
            lines += [f"- {_md_cell(q['question'])}：答 **{_md_cell(q['prediction'])}**，标准答案 {_md_cell('／'.join(q['answers']))}"
                      for q in misses]
        lines.append("")
    return (["## 简短答案", "", _ANSWER_NOTE, ""] + lines) if lines else []


def render_html(result: EvalResult, chart_png: bytes | None = None, max_detail: int = MAX_DETAIL) -> str:
    info = result.info
    detail, total = _detail_questions(result, max_detail)
    chart = (f'<img alt="metrics chart" src="data:image/png;base64,{base64.b64encode(chart_png).decode()}">'
             if chart_png else "")
    warn = "".join(f"<li class='warn'>{_esc(w)}</li>" for w in result.warnings[:50])
    facts = [
        ("数据", f"{_esc(result.name)}（{'问题集' if result.mode == 'questions' else '基准'}，{_esc(info.get('source', ''))}）"),
        ("题数", str(result.n)),
        ("检索深度 k", str(result.k) + (f"（取前 {info['depth']} 个段落折算为文档排名）" if info.get("depth") else "")),
        ("模型", _esc(info.get("model", ""))),
        ("索引", f"{_esc(info.get('index', ''))}（{info.get('documents', '')} 篇文档，{info.get('chunks', '')} 个段落块）"),
        ("时间", _esc(info.get("created", ""))),
    ]
    if info.get("query_vectors_reused"):
        facts.append(("计时", "每个问题只编码一次、各检索器共用，故排在 dense 之后的 hybrid 计时不含问题编码时间"))
    relevance = (
        "段落来自标准答案所在文档、且（NFKC 规范化并去除空白后）包含标准片段，或覆盖该片段在文档中位置的至少一半，即算命中。"
        if result.mode == "questions" else "段落所属文档在 qrels 中被标为相关即算命中；段落按首次出现折算为文档排名。"
    )
    more = f"<p>共 {total} 题，仅列出最差的 {len(detail)} 题。</p>" if total > len(detail) else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>检索评测报告 — {_esc(result.name)}</title>
<style>{_CSS}</style></head><body>
<h1>检索评测报告 — {_esc(result.name)}</h1>
<table>{''.join(f"<tr><th class='l'>{a}</th><td class='l'>{b}</td></tr>" for a, b in facts)}</table>
<p class="meta">相关性判定：{relevance} Recall@k = 前 k 个结果找到的标准答案比例；Hit@k = 前 k 个结果中至少找到一个；
MRR@10 = 第一个命中结果排名的倒数；nDCG@10 为二元相关性的归一化折损累计增益。全部指标由 ranx 计算。</p>
{f"<ul>{warn}</ul>" if warn else ""}
<h2>指标</h2>
{_html_metrics(result)}
{chart}
<h2>显著性检验</h2>
{_html_significance(result)}
{_html_answers(result)}
<h2>逐题详情（最差在前）</h2>
{more}
{''.join(_html_question(result, q) for q in detail)}
</body></html>
"""


# --- Markdown ------------------------------------------------------------------------------------------
def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: EvalResult, chart_name: str = "metrics.png", max_detail: int = MAX_DETAIL) -> str:
    metrics = result.metric_names
    info = result.info
    lines = [f"# 检索评测报告 — {result.name}", ""]
    lines.append(f"- 数据: {result.name} ({info.get('source', '')}), {result.n} 题, k = {result.k}")
    lines.append(f"- 模型: {info.get('model', '')}; 索引: {info.get('index', '')} "
                 f"({info.get('documents', '')} 篇文档, {info.get('chunks', '')} 个段落块)")
    lines.append(f"- 时间: {info.get('created', '')}")
    if info.get("query_vectors_reused"):
        lines.append("- 计时: 每个问题只编码一次、各检索器共用，hybrid 计时不含问题编码时间")
    for w in result.warnings[:50]:
        lines.append(f"- 注意: {_md_cell(w)}")
    lines += ["", "## 指标", "", "| 检索器 | " + " | ".join(_label(m) for m in metrics) + " | 毫秒/题 |",
              "|---" * (len(metrics) + 2) + "|"]
    for r in result.retrievers:
        ms = result.timing.get(r, {}).get("ms_per_question")
        cells = []
        for m in metrics:
            v = result.metrics[r][m]
            best = len(result.retrievers) > 1 and abs(v - _best(result, m)) < 1e-12
            cells.append(f"**{v:.3f}**" if best else f"{v:.3f}")
        lines.append(f"| {r} | " + " | ".join(cells) + f" | {'' if ms is None else f'{ms:.1f}'} |")
    lines += ["", f"![metrics]({chart_name})", "", "## 显著性检验", "", "```", format_significance(result.significance), "```", ""]
    lines += _md_answers(result)
    detail, total = _detail_questions(result, max_detail)
    lines += ["## 逐题详情（最差在前）", ""]
    if total > len(detail):
        lines += [f"共 {total} 题，仅列出最差的 {len(detail)} 题。", ""]
    for q in detail:
        lines.append(f"### {q.qid} [{KIND_LABELS.get(q.kind, q.kind)}] {_md_cell(q.question)}")
        lines.append("")
        lines.append("| 标准答案 | " + " | ".join(result.retrievers) + " |")
        lines.append("|---" * (len(result.retrievers) + 1) + "|")
        for i, g in enumerate(q.gold):
            ranks = [_rank_text(q.retrievers[r].gold_ranks[i], result.k) for r in result.retrievers]
            lines.append(f"| {_md_cell(_gold_label(g))} | " + " | ".join(ranks) + " |")
        lines.append("")
        for r in result.retrievers:
            lines.append(f"- {r}:")
            for p in q.retrievers[r].passages[:MD_PASSAGES]:
                text = p.get("text", "")
                text = text if len(text) <= MD_TEXT_CHARS else text[:MD_TEXT_CHARS] + "…"
                mark = " ✔" if p.get("gold") else ""
                lines.append(f"  {p['rank']}.{mark} `{p['doc_id']}` 第{p.get('paragraph', '')}段: {_md_cell(text)}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(result: EvalResult, out_dir: str | Path, max_detail: int = MAX_DETAIL) -> dict[str, Path]:
    """Write report.html, report.md and metrics.png into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = write_chart(result, out / "metrics.png")
    html_path = out / "report.html"
    html_path.write_text(render_html(result, png.read_bytes(), max_detail), encoding="utf-8")
    md_path = out / "report.md"
    md_path.write_text(render_markdown(result, png.name, max_detail), encoding="utf-8")
    return {"html": html_path, "markdown": md_path, "chart": png}
