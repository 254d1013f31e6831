"""The web page (Gradio Blocks, in Chinese) and its JSON API.

Tabs: 检索 (question, filters, answer block, result cards), 全文 (the cleaned document,
scrolled to a passage), 报告篮 (collected excerpts, reordered and exported to DOCX and
Markdown), 评测 (upload a question set, run it, see and download the report).

The JSON API (see the README): named Gradio endpoints `/ask`, `/document`, `/index_info`, for `gradio_client`;
`/ask` answers with the same structure as `zhqa ask --json`. Plain HTTP routes beside them (`POST /api/ask`,
`GET /healthz`) are in `http_api`; what both check and answer is in `handlers`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from qa import LiveSearcher

from . import render, report, workspace
from .access import Access
from .handlers import DEFAULT_K, MSG_FAILED, UserProblem, api_arguments, ask_json, json_kind, k_of, make_filters
from .http_api import routes_lifespan
from .evaluation import build_eval_tab
from .library import UploadLimits, build_library_tab, client_address
from .assets import CSS, FONT_STACK, JS_DOCUMENT, JS_PAGE, JS_PLAIN, JS_RESULTS

_log = logging.getLogger(__name__)

TITLE = "政策文件问答"
EXAMPLES = (
    "哪些城市推行拿地即开工?",
    "办理亲人后事有哪些便民服务?",
    "营商环境考核取得了什么成绩?",
    "如何缩短企业开办时间?",
)
K_CHOICES = (3, 5, 10, 20)

# questions answered at once per event (see bench/load.py): one per core; more only makes each question slower
DEFAULT_CONCURRENCY = 2


# --- what the index offers for filtering --------------------------------------------
@dataclass(frozen=True)
class Facets:
    sources: tuple[str, ...]  # most frequent first
    date_min: str
    date_max: str
    documents: int
    undated: int

    def to_dict(self) -> dict:
        return {"sources": list(self.sources), "date_from": self.date_min, "date_to": self.date_max,
                "documents": self.documents, "undated": self.undated}


HEADER_REFRESH_SECONDS = 10


def header_html(current) -> str:
    """The page's title line with the index's counts as they are now."""
    return (f"<h1>{render.esc(TITLE)}</h1><p>输入问题，直接看文件原文里的相关段落，每段都附出处（标题、来源、日期、第几段）。"
            f'<span class="zq-counts">当前索引：{len(current.store.documents)} 份文件，{current.store.n_chunks} 个片段。</span></p>')


def index_facets(searcher) -> Facets:
    docs = list(searcher.store.documents.values())
    counts = Counter(d.source for d in docs if d.source)
    sources = tuple(s for s, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    dates = sorted(d.date for d in docs if d.date)
    return Facets(sources, dates[0] if dates else "", dates[-1] if dates else "", len(docs),
                  sum(1 for d in docs if not d.date))


def share_link(question: str, k: int = DEFAULT_K, sources=(), date_from: str = "", date_to: str = "") -> str:
    """The relative deep link (`?q=...`) that opens the page with this question answered."""
    params: list[tuple[str, str]] = [("q", question)]
    if k != DEFAULT_K:
        params.append(("k", str(k)))
    params += [("source", s) for s in sources or ()]
    if date_from:
        params.append(("from", date_from))
    if date_to:
        params.append(("to", date_to))
    return "?" + urllib.parse.urlencode(params)


# --- the handlers, plain functions of the searcher (the tests call them too) ------------
def _filters_note(sources, date_from: str, date_to: str) -> str:
    bits = []
    if sources:
        bits.append("来源：" + "、".join(sources))
    if date_from or date_to:
        bits.append(f"日期：{date_from or '最早'} 至 {date_to or '最新'}")
    return ("（已筛选 " + "；".join(bits) + "）") if bits else ""


def search_page(searcher, question: str, k=DEFAULT_K, sources=None, date_from: str = "", date_to: str = "") -> tuple[str, str, dict | None]:
    """The page's search: (answer block HTML, result cards HTML, the answer dict or None).

    Never raises: bad input and failures come back as a Chinese message in the cards' place.
    """
    try:
        result = ask_json(searcher, question, k, sources, date_from, date_to)
        filters = make_filters(sources, date_from, date_to)
    except UserProblem as exc:
        return "", render.message(str(exc), "error"), None
    except Exception:
        _log.exception("search failed for %r", question)
        return "", render.message(MSG_FAILED, "error"), None
    link = share_link(result["question"], k_of(k), filters.sources, filters.date_from, filters.date_to)
    note = _filters_note(filters.sources, filters.date_from, filters.date_to)
    return render.render_answer(result), render.render_results(result, note, link), result


def document_page(searcher, doc_id: str, start=None, end=None, question: str = "", highlights=()) -> str:
    doc = searcher.store.documents.get(str(doc_id or ""))
    if doc is None:
        return render.message(f"找不到文件 {doc_id}（索引可能已重建），请重新检索。", "error")
    focus = None
    try:
        if start is not None and end is not None:
            focus = (int(start), int(end))
    except (TypeError, ValueError):
        focus = None
    return render.render_document(doc, focus, question, [tuple(h) for h in highlights or ()])


def document_json(searcher, doc_id: str) -> dict:
    if not isinstance(doc_id, str):
        raise UserProblem(f"doc_id 应为文字（文件编号，见 /ask 的结果），收到的是{json_kind(doc_id)}。")
    doc = searcher.store.documents.get(doc_id)
    if doc is None:
        raise UserProblem(f"找不到文件 {doc_id}")
    return {
        "doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "date": doc.date, "url": doc.url,
        "text": doc.text,
        "paragraphs": [{"paragraph": n, "start": s, "end": e} for n, (s, e) in enumerate(doc.paragraph_spans(), start=1)],
    }


# --- the page ----------------------------------------------------------------------------
def _event_data(evt: Any) -> dict:
    data = getattr(evt, "_data", None)
    return data if isinstance(data, dict) else {}


def _basket_outputs(items: list[dict], folder: str):
    """Basket HTML, the two download buttons and the tab label for `items`."""
    label = f"报告篮（{len(items)}）" if items else "报告篮"
    if not items:
        return (render.render_basket(items), gr.update(value=None, interactive=False),
                gr.update(value=None, interactive=False), gr.update(label=label))
    docx_path, md_path = report.export_files(items, Path(folder))
    return (render.render_basket(items), gr.update(value=str(docx_path), interactive=True),
            gr.update(value=str(md_path), interactive=True), gr.update(label=label))


def _basket_secret(searcher) -> str:
    manifest = searcher.store.manifest
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]


def build_app(searcher, examples=EXAMPLES, access: Access | None = None,
              upload_limits: UploadLimits = UploadLimits()) -> gr.Blocks:
    """The Gradio Blocks page for `searcher` (a `qa.Searcher`, or a `qa.LiveSearcher` that follows its index).

    Every handler answers from `live.current`, taken once per request: a question in flight finishes on the
    index version it started with. `access` says who may change the collection (see ui.access)."""
    live = searcher if isinstance(searcher, LiveSearcher) else LiveSearcher(searcher)
    access = access or Access()
    facets = index_facets(live.current)
    export_root = workspace.new_root()

    span = f"{facets.date_min} 至 {facets.date_max}" if facets.date_min else "索引中的文件都没有注明日期"
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=workspace.DELETE_CACHE) as demo:
        gr.HTML(f"<style>{CSS}</style>", elem_id="zq-style", js_on_load=None, padding=False)
        header = gr.HTML(header_html(live.current), elem_id="zq-header", js_on_load=None)
        # the counts follow the index: after an upload here, and within seconds of a change made elsewhere
        gr.Timer(HEADER_REFRESH_SECONDS).tick(lambda: header_html(live.current), outputs=header,
                                              api_visibility="private", queue=False, show_progress="hidden")
        last = gr.State(None)  # the last answer dict, for highlighting in the document view
        # the basket survives a reload of the page (the browser's localStorage); the key changes with
        # the index, so a basket collected from another index is not offered here
        basket = gr.BrowserState([], storage_key="zhqa-basket", secret=_basket_secret(live.current))
        export_dir = gr.State(None)

        with gr.Tabs(selected="ask") as tabs:
            with gr.Tab("检索", id="ask"):
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        label="问题", placeholder="例如：哪些城市推行拿地即开工？（按回车检索）", lines=1, max_lines=4,
                        autofocus=True, scale=5, min_width=220, elem_id="zq-question",
                    )
                    ask_btn = gr.Button("检索", variant="primary", scale=1, min_width=90, elem_id="zq-ask")
                with gr.Row(elem_id="zq-examples"):
                    example_btns = [gr.Button(q, size="sm", variant="secondary", min_width=120) for q in examples]
                with gr.Accordion("筛选与设置", open=False, elem_id="zq-filters") as filters_box:
                    with gr.Row():
                        k = gr.Dropdown(list(K_CHOICES), value=DEFAULT_K, label="显示段落数", min_width=120,
                                        elem_id="zq-k", scale=1)
                        sources = gr.Dropdown(
                            list(facets.sources), value=[], multiselect=True, label="来源",
                            info="不选则检索全部来源", min_width=200, scale=3, elem_id="zq-sources",
                        )
                    with gr.Row():
                        date_from = gr.Textbox(label="起始日期", placeholder=facets.date_min or "例如 2024-01-01",
                                               min_width=150, elem_id="zq-from")
                        date_to = gr.Textbox(label="截止日期", placeholder=facets.date_max or "例如 2025-12-31",
                                             min_width=150, elem_id="zq-to")
                    gr.Markdown(
                        f"索引中文件的日期范围：{span}。日期可写成 2024-03-05、2024-03 或 2024；"
                        f"设置日期后，未注明日期的文件（{facets.undated} 份）不参与检索。",
                        elem_id="zq-filter-help",
                    )
                answer_html = gr.HTML("", elem_id="zq-answer", js_on_load=JS_PLAIN)
                results_html = gr.HTML("", elem_id="zq-results", js_on_load=JS_RESULTS)

            with gr.Tab("全文", id="doc"):
                doc_html = gr.HTML(render.render_document_placeholder(), elem_id="zq-doc", js_on_load=JS_DOCUMENT)

            with gr.Tab("报告篮", id="basket") as basket_tab:
                gr.Markdown("导出的文件里，每条摘录与文件原文一字不差，后面跟着出处；文末附编号的参考文献列表。")
                with gr.Row():
                    docx_btn = gr.DownloadButton("导出 Word（DOCX）", value=None, interactive=False, variant="primary",
                                                 elem_id="zq-export-docx", min_width=160)
                    md_btn = gr.DownloadButton("导出 Markdown", value=None, interactive=False, elem_id="zq-export-md",
                                               min_width=160)
                    clear_btn = gr.Button("清空报告篮", variant="secondary", elem_id="zq-clear", min_width=120)
                basket_html = gr.HTML(render.render_basket([]), elem_id="zq-basket", js_on_load=JS_PLAIN)

            with gr.Tab("评测", id="eval"):
                build_eval_tab(live, export_root, access)

            with gr.Tab("文档库", id="library") as library_tab:
                show_library, library_outputs = build_library_tab(live, access, header, header_html, upload_limits)

        # --- search -----------------------------------------------------------------
        def on_search(q, k_value, srcs, d_from, d_to, request: gr.Request):
            answer, cards, result = search_page(live.current, q, k_value, srcs, d_from, d_to)
            access.record_question(getattr(request, "username", None), client_address(request), q, result)
            return answer, cards, result

        search_io = dict(inputs=[question, k, sources, date_from, date_to], outputs=[answer_html, results_html, last])
        question.submit(on_search, **search_io, api_name="search_html", api_visibility="undocumented")
        ask_btn.click(on_search, **search_io, api_visibility="private")
        for btn, text in zip(example_btns, examples):
            btn.click(lambda t=text: t, outputs=question, api_visibility="private", queue=False).then(
                on_search, **search_io, api_visibility="private")

        # --- deep links: ?q=...&k=...&source=...&from=...&to=... --------------------------
        def on_load(request: gr.Request):
            params = getattr(request, "query_params", None) or {}
            q = (params.get("q") or "").strip() if hasattr(params, "get") else ""
            if not q:
                return (gr.update(),) * 9
            getlist = getattr(params, "getlist", None)
            srcs = [s for s in (getlist("source") if getlist else []) if s in facets.sources]
            k_value = k_of(params.get("k") or DEFAULT_K)
            d_from, d_to = params.get("from") or "", params.get("to") or ""
            answer, cards, result = search_page(live.current, q, k_value, srcs, d_from, d_to)
            access.record_question(getattr(request, "username", None), client_address(request), q, result)
            k_shown = k_value if k_value in K_CHOICES else gr.update(choices=sorted({*K_CHOICES, k_value}), value=k_value)
            filtered = bool(srcs or d_from or d_to or k_value != DEFAULT_K)
            box = gr.Accordion(open=True) if filtered else gr.update()  # show the link's filters
            return q, k_shown, srcs, d_from, d_to, answer, cards, result, box

        demo.load(on_load, outputs=[question, k, sources, date_from, date_to, answer_html, results_html, last,
                                    filters_box],
                  api_visibility="private")

        # --- the document view ------------------------------------------------------------
        def on_open(result, evt: gr.EventData):
            data = _event_data(evt)
            doc_id, start, end = data.get("doc"), data.get("start"), data.get("end")
            q, highlights = "", []
            if result:
                q = result.get("question", "")
                for p in result.get("passages", []):
                    if p["doc_id"] == doc_id and p["start"] == start and p["end"] == end:
                        highlights = p.get("highlights") or []
            try:
                page = document_page(live.current, doc_id, start, end, q, highlights)
            except Exception:
                _log.exception("document view failed for %r", doc_id)
                page = render.message("打开文件时出错了，请重新检索后再试。", "error")
            return page, gr.Tabs(selected="doc")

        for block in (answer_html, results_html):
            block.zq_open(on_open, inputs=[last], outputs=[doc_html, tabs], api_visibility="private")
        doc_html.zq_back(lambda: gr.Tabs(selected="ask"), outputs=tabs, api_visibility="private", queue=False)

        # --- the document library: current rows, and controls for administrators -----------------
        library_tab.select(show_library, outputs=library_outputs, api_visibility="private")
        demo.load(show_library, outputs=library_outputs, api_visibility="private")

        # --- the report basket ------------------------------------------------------------
        basket_outputs = [basket, basket_html, docx_btn, md_btn, basket_tab, export_dir]

        def _folder(current):
            # a session's folder, unless it is new or was cleaned away after a day
            return current if current and Path(current).is_dir() else workspace.work_folder(export_root, "basket-")

        def on_add(items, folder, evt: gr.EventData):
            data = _event_data(evt)
            folder = _folder(folder)
            try:
                item = report.make_item(live.current.store.documents, data.get("doc"), data.get("start"), data.get("end"),
                                        data.get("label", ""))
                items, note = report.add(items, item)
                gr.Info(note, duration=3)
            except report.BasketError as exc:
                gr.Warning(str(exc))
            except Exception:
                _log.exception("adding to the basket failed: %r", data)
                gr.Warning("加入报告篮时出错了，请重试。")
            return (items, *_basket_outputs(items, folder), folder)

        def on_move(items, folder, evt: gr.EventData):
            data = _event_data(evt)
            folder = _folder(folder)
            try:
                items = report.move(items, int(data.get("i", -1)), str(data.get("op", "")))
            except (TypeError, ValueError):
                pass
            return (items, *_basket_outputs(items, folder), folder)

        def on_restore(items, folder):
            kept = report.restore(live.current.store.documents, items)
            if items and len(kept) < len(items):
                gr.Warning(f"报告篮里有 {len(items) - len(kept)} 条摘录在当前索引里找不到了，已移除。")
            if not kept and not items:
                return (gr.update(),) * len(basket_outputs)
            folder = _folder(folder)
            return (kept, *_basket_outputs(kept, folder), folder)

        demo.load(on_restore, inputs=[basket, export_dir], outputs=basket_outputs, api_visibility="private")

        def on_clear(folder):
            return ([], *_basket_outputs([], _folder(folder)), folder)

        for block in (answer_html, results_html, doc_html):
            block.zq_add(on_add, inputs=[basket, export_dir], outputs=basket_outputs, api_visibility="private")
        basket_html.zq_move(on_move, inputs=[basket, export_dir], outputs=basket_outputs, api_visibility="private")
        clear_btn.click(on_clear, inputs=[export_dir], outputs=basket_outputs, api_visibility="private")

        # --- the JSON API -------------------------------------------------------------------
        def ask(question: str, k: int = DEFAULT_K, sources: list[str] | None = None, date_from: str = "",
                date_to: str = "", request: gr.Request = None) -> dict:
            """Ranked, cited passages for a question: the same JSON object as `zhqa ask --json`.

            sources: keep only these sources (names as in /index_info); date_from/date_to: ISO dates, inclusive.
            """
            try:
                result = ask_json(live.current, *api_arguments(question, k, sources, date_from, date_to))
                access.record_question(getattr(request, "username", None), client_address(request), question, result)
                return result
            except UserProblem as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            except Exception:
                _log.exception("api ask failed for %r", question)
                raise gr.Error(MSG_FAILED, print_exception=False) from None

        def document(doc_id: str) -> dict:
            """One cleaned document: doc_id, title, source, date, url, text, and paragraph offsets."""
            try:
                return document_json(live.current, doc_id)
            except UserProblem as exc:
                raise gr.Error(str(exc), print_exception=False) from None

        def index_info() -> dict:
            """What the index holds: its sources (most frequent first), date span and number of documents."""
            return index_facets(live.current).to_dict()

        gr.api(ask, api_name="ask")
        gr.api(document, api_name="document")
        gr.api(index_info, api_name="index_info")
    _missing_arguments_are_a_message(demo)
    return demo


def _missing_arguments_are_a_message(demo: gr.Blocks) -> None:
    """A call with too few arguments fails in Gradio before any handler runs, as a ValueError whose traceback
    the server prints and whose message the caller never sees; say instead what is missing."""
    validate = demo.validate_inputs

    def validate_inputs(block_fn, inputs):
        try:
            validate(block_fn, inputs)
        except ValueError:
            wanted = len(block_fn.inputs)
            raise gr.Error(f"参数不够：{block_fn.api_name or block_fn.name} 需要 {wanted} 个参数，收到 {len(inputs)} 个。",
                           print_exception=False) from None

    demo.validate_inputs = validate_inputs


def theme():
    return gr.themes.Default(
        primary_hue="blue",
        # plain family names: a LocalFont or GoogleFont would make the page fetch font files
        font=[gr.themes.Font(f.strip().strip('"')) for f in FONT_STACK.split(",")],
        font_mono=[gr.themes.Font("Noto Sans Mono CJK SC"), gr.themes.Font("monospace")],
    )


def launch_options() -> dict:
    """Keyword arguments for `Blocks.launch` that the page needs (theme with local CJK fonts)."""
    # no footer links: Gradio's API page is English; the JSON API is described in the README
    return {"theme": theme(), "ssr_mode": False, "show_error": False, "footer_links": [], "js": JS_PAGE}


def serve(searcher, host: str = "127.0.0.1", port: int = 7860, block: bool = True, quiet: bool = False,
          access: Access | None = None, concurrency: int = DEFAULT_CONCURRENCY, root_path: str = "",
          upload_limits: UploadLimits = UploadLimits(), api_processes: int = 0) -> gr.Blocks:
    """Serve the page on http://host:port (this machine only by default). With `block=False`
    it returns the running app at once (call `.close()` to stop it). `api_processes`: answer POST /api/ask in that
    many worker processes (ui.answer_processes), not in threads. The page follows its index: a new
    version (from `zhqa add` in a shell, or an upload) is answered from within seconds."""
    access = access or Access()
    live = searcher if isinstance(searcher, LiveSearcher) else LiveSearcher(searcher)
    if api_processes and not isinstance(live.index_dir, Path):
        raise ValueError("api_processes needs a local index folder: its workers open it themselves")
    live.watch()
    live.prepare_for_changes()
    demo = build_app(live, access=access, upload_limits=upload_limits)
    demo.queue(default_concurrency_limit=concurrency)
    if not quiet:
        print(f"zhqa: serving on http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}", flush=True)
    login = {"auth": access.authenticate, "auth_message": "请登录（管理员可以管理文档库）"} if access.login else {}
    # behind a reverse proxy at a sub-path (docs/nginx.md): the page's own links and assets carry the prefix
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=quiet, root_path=root_path or None,
                inbrowser=False, share=False, max_file_size=int(upload_limits.file_mb * 2**20), **login, **launch_options(),
                app_kwargs={"lifespan": routes_lifespan(live, access, api_processes)})
    if block:
        demo.block_thread()
    return demo
