"""The 文档库 tab: the documents of the index, and, for an administrator, upload, delete and re-index.

Every change goes through `index.collection` (the same code as `zhqa add/remove`), then the server's searcher
moves to the new version at once; questions in flight finish on the version they started with. Segments are
merged, and nearest-chunk lists a removal broke searched again, afterwards in the background
(LiveSearcher.merge_in_background), not while the user waits. Permission is
checked in each handler from the logged-in user, not only by hiding buttons, so the HTTP API cannot do what
the page would not.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from index import collection
from index.ingest import DEFAULT_MAX_FILE_MB, DOCUMENT_SUFFIXES, ReadOptions, is_readable
from index import IndexWriteError
from index.collection import UpdateError
from qa import LiveSearcher

from . import render
from .access import Access
from .messages import file_problem, reason_in_chinese

_log = logging.getLogger(__name__)

COLUMNS = ["文件编号", "标题", "来源", "日期", "格式", "页数", "片段数", "加入时间"]
NO_RIGHTS = "只有管理员可以更改文档库。"
FORMATS_ZH = ("文本（txt、md）、PDF（含扫描件）、Word（doc、docx）、WPS（wps、et、dps）、OFD、表格（xlsx、xls、csv）、"
              "演示文稿（ppt、pptx）、RTF、网页、图片（png、jpg、tif、bmp）、压缩包（zip、tar.gz）")


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may bring: a shared server's disk and its one indexing queue are not one user's.
    `file_mb` is also Gradio's own limit, so a larger file is stopped while it arrives, before it fills the disk."""
    files: int = 50
    file_mb: float = DEFAULT_MAX_FILE_MB
    total_mb: float = 1000

    def problem(self, paths: list[Path]) -> str | None:
        """Why these files are refused as a whole, or None."""
        if len(paths) > self.files:
            return f"一次最多上传 {self.files} 个文件，这次选了 {len(paths)} 个，请分批上传。"
        sizes = [(p.name, p.stat().st_size) for p in paths if p.is_file()]
        big = list(dict.fromkeys(name for name, size in sizes if size > self.file_mb * 2**20))
        if big:
            return f"单个文件不能超过 {self.file_mb:g} MB：{'、'.join(big[:5])}{' 等' if len(big) > 5 else ''}。"
        if sum(size for _, size in sizes) > self.total_mb * 2**20:
            return f"一次上传的文件合计不能超过 {self.total_mb:g} MB，请分批上传。"
        return None


def table_rows(live: LiveSearcher) -> list[list]:
    return [[r["doc_id"], r["title"], r["source"], r["date"], r["format"], r["pages"] or "", r["chunks"],
             (r["added"] or "")[:19].replace("T", " ")] for r in collection.documents(live.current.store)]


def _choices(live: LiveSearcher) -> list[tuple[str, str]]:
    return [(f"{r['doc_id']}　《{r['title'] or '无标题'}》", r["doc_id"]) for r in collection.documents(live.current.store)]


def _username(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


def client_address(request: gr.Request | None) -> str | None:
    """The address a page event came from, for the audit log (the proxy's, behind one)."""
    client = getattr(request, "client", None) if request is not None else None
    return getattr(client, "host", None)


def _lines(ok: list[str], bad: list[str]) -> str:
    items = [f'<li class="zq-ok">✓ {render.esc(x)}</li>' for x in ok] + [f'<li class="zq-bad">✗ {render.esc(x)}</li>' for x in bad]
    return f'<ul class="zq-library-status">{"".join(items)}</ul>' if items else ""


def upload_files(live: LiveSearcher, access: Access, username: str | None, paths: list[str],
                 client: str | None = None, limits: UploadLimits = UploadLimits()) -> tuple[str, bool]:
    """Add uploaded files to the collection; (HTML status, whether the index changed). The audit log gets the
    outcome: the documents added, or why nothing was."""
    names = [Path(p).name for p in paths]
    refusal = _refusal(access, username, paths, "上传")
    if refusal:
        access.record("upload", username, client, "refused" if paths else "unchanged", names)
        return refusal, False
    too_much = limits.problem([Path(p) for p in paths])
    if too_much:
        access.record("upload", username, client, "refused", names, "over the upload limits")
        return render.message(too_much, "error"), False
    ok, bad, accepted = [], [], []
    for p in map(Path, paths):
        if not is_readable(p):
            bad.append(f"{p.name}：不支持的格式（{FORMATS_ZH}）")
        else:
            accepted.append(p)
    if not accepted:
        access.record("upload", username, client, "unchanged", names, "no readable file")
        return _lines(ok, bad), False
    before = set(live.current.store.documents)
    try:
        index, report, placed, refused = collection.add(live.index_dir, accepted, read=ReadOptions(max_file_mb=limits.file_mb),
                                                         progress=True, merge=False, repair=False, previous=_in_memory(live))
    except (UpdateError, IndexWriteError) as e:  # a full disk is said as plainly as a refusal
        access.record("upload", username, client, "failed", names, type(e).__name__)
        return _lines(ok, bad + [_change_failed(e)]), False
    bad += [file_problem(r) for r in refused]
    for item in placed:
        name = item.target.name
        problems = [w for w in report.warnings if str(item.target) in w]
        doc_id = next((d for d in index.documents if d not in before and Path(index.documents[d].path).name == name), None)
        if doc_id:
            chunks = index.chunk_counts().get(doc_id, 0)
            ok.append(f"{name}：已加入（{chunks} 个片段）" + (f"；注意：{file_problem(problems[0], name).split('：', 1)[1]}" if problems else ""))
        else:
            bad.append(file_problem(problems[0], name) if problems else f"{name}：没有新内容（与已有文件相同）")
    live.refresh()
    live.merge_in_background()
    added = sorted(set(index.documents) - before)
    access.record("upload", username, client, "ok" if added else "unchanged", added,
                  f"{len(bad)} file(s) not added" if bad else "")
    return _lines(ok, bad), True


def _in_memory(live: LiveSearcher):
    """The index the server answers from, whose segments a change takes as they are instead of reading them again
    (None for a Milvus index)."""
    return getattr(live.current.store, "index", None)


def _change_failed(e: Exception) -> str:
    """A failed change of the index, in Chinese, without the server's paths."""
    if isinstance(e, IndexWriteError):
        return "写入索引失败（磁盘已满或没有写权限）；原来的索引没有改变。"
    return f"无法更改索引：{reason_in_chinese(str(e))}"


def _refusal(access: Access, username: str | None, chosen, what: str) -> str | None:
    """Why a change cannot be made (no rights, nothing chosen), or None."""
    if not access.may_change(username):
        return render.message(NO_RIGHTS, "error")
    if not chosen:
        return render.message(f"请先选择要{what}的文件。", "info")
    return None


def delete_documents(live: LiveSearcher, access: Access, username: str | None, doc_ids: list[str],
                     client: str | None = None) -> tuple[str, bool]:
    refusal = _refusal(access, username, doc_ids, "删除")
    if refusal:
        access.record("delete", username, client, "refused" if doc_ids else "unchanged", doc_ids or [])
        return refusal, False
    try:
        _, report, moved = collection.remove(live.index_dir, list(doc_ids), progress=False, merge=False, repair=False,
                                             previous=_in_memory(live))
    except (UpdateError, IndexWriteError) as e:
        access.record("delete", username, client, "failed", doc_ids, type(e).__name__)
        return render.message(_change_failed(e), "error"), False
    live.refresh()
    live.merge_in_background()
    access.record("delete", username, client, "ok" if report.removed else "unchanged", list(report.removed))
    kept = [f"原文件已移到文档库的 .removed 文件夹：{Path(m.split(' -> ')[-1]).name}" for m in moved]
    return _lines([f"已删除 {d}" for d in report.removed] + kept, []), True


def reindex_documents(live: LiveSearcher, access: Access, username: str | None, doc_ids: list[str],
                      client: str | None = None) -> tuple[str, bool]:
    refusal = _refusal(access, username, doc_ids, "重新索引")
    if refusal:
        access.record("reindex", username, client, "refused" if doc_ids else "unchanged", doc_ids or [])
        return refusal, False
    try:
        _, report = collection.reindex(live.index_dir, list(doc_ids), progress=True, merge=False, repair=False, previous=_in_memory(live))
    except (UpdateError, IndexWriteError) as e:
        access.record("reindex", username, client, "failed", doc_ids, type(e).__name__)
        return render.message(_change_failed(e), "error"), False
    live.refresh()
    live.merge_in_background()
    access.record("reindex", username, client, "ok", doc_ids)
    return _lines([f"已重新索引 {d}" for d in doc_ids], [file_problem(w) for w in report.warnings]), True


def confirmation(live: LiveSearcher, doc_ids: list[str]) -> str:
    """Exactly what a delete would take away."""
    docs = live.current.store.documents
    items = "".join(
        f"<li><b>{render.esc(d)}</b>　《{render.esc(docs[d].title or '无标题')}》　{render.esc(Path(docs[d].path).name)}</li>"
        for d in doc_ids if d in docs)
    return (f'<div class="zq-confirm"><p>将从索引中删除以下 {len(doc_ids)} 份文件（原文件移到文档库的 .removed 文件夹，'
            f"不会被删掉）：</p><ul>{items}</ul></div>")


def build_library_tab(live: LiveSearcher, access: Access, header: gr.HTML, header_html,
                      limits: UploadLimits = UploadLimits()) -> tuple:
    """The tab's components and handlers; `header` (rendered by `header_html(current)`) shows the index's counts
    and is updated with every change made here. Returns (the handler showing the tab, its outputs)."""
    can_change_somebody = access.login or access.allow_changes
    note = ("需要管理员登录才能上传、删除或重新索引。" if access.login else
            "文档库可以更改（服务以 --allow-changes 启动）。" if access.allow_changes else
            "文档库只读：以 --allow-changes 或 --auth 启动服务后，管理员可以上传和删除文件。")
    gr.Markdown(f"索引中的文件，点击表头排序，用搜索框筛选。{note}", elem_id="zq-library-note")
    table = gr.Dataframe(value=table_rows(live), headers=COLUMNS, interactive=False, show_search="filter",
                         wrap=True, max_height=520, min_width=0, elem_id="zq-library")
    with gr.Group(visible=can_change_somebody, elem_id="zq-library-admin") as admin_box:
        files = gr.File(label=f"上传文件（可多选，一次最多 {limits.files} 个、每个不超过 {limits.file_mb:g} MB）：{FORMATS_ZH}",
                        file_count="multiple",
                        file_types=sorted(DOCUMENT_SUFFIXES | {".gz"}), min_width=0, elem_id="zq-upload")
        upload_btn = gr.Button("加入文档库", variant="primary", elem_id="zq-upload-btn")
        selected = gr.Dropdown(choices=_choices(live), value=[], multiselect=True, label="选择文件（删除或重新索引）",
                               elem_id="zq-library-select")
        with gr.Row():
            delete_btn = gr.Button("删除所选…", variant="stop", elem_id="zq-delete", min_width=100)
            reindex_btn = gr.Button("重新索引所选", elem_id="zq-reindex", min_width=100)
        with gr.Group(visible=False, elem_id="zq-confirm-box") as confirm_box:
            confirm_html = gr.HTML("")
            with gr.Row():
                confirm_btn = gr.Button("确认删除", variant="stop", elem_id="zq-confirm-delete", min_width=100)
                cancel_btn = gr.Button("取消", elem_id="zq-cancel-delete", min_width=100)
    status = gr.HTML("", elem_id="zq-library-status")

    def refreshed(message: str, changed: bool):
        if not changed:
            return message, gr.update(), gr.update(), gr.update(visible=False), gr.update()
        return (message, table_rows(live), gr.update(choices=_choices(live), value=[]), gr.update(visible=False),
                header_html(live.current))

    outputs = [status, table, selected, confirm_box, header]

    def on_upload(paths, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        try:
            message, changed = upload_files(live, access, _username(request), paths or [], client_address(request), limits)
        except Exception:
            _log.exception("upload failed")
            message, changed = render.message("上传时出错了，请重试。", "error"), False
        return (*refreshed(message, changed), None)

    upload_btn.click(on_upload, inputs=[files], outputs=[*outputs, files], api_visibility="private",
                     concurrency_id="library", concurrency_limit=1)

    def on_ask_delete(doc_ids, request: gr.Request):
        if not access.may_change(_username(request)):
            return render.message(NO_RIGHTS, "error"), gr.update(visible=False), ""
        if not doc_ids:
            return render.message("请先选择要删除的文件。", "info"), gr.update(visible=False), ""
        return "", gr.update(visible=True), confirmation(live, doc_ids)

    delete_btn.click(on_ask_delete, inputs=[selected], outputs=[status, confirm_box, confirm_html], api_visibility="private")
    cancel_btn.click(lambda: gr.update(visible=False), outputs=confirm_box, api_visibility="private", queue=False)

    def on_delete(doc_ids, request: gr.Request):
        return refreshed(*delete_documents(live, access, _username(request), doc_ids or [], client_address(request)))

    confirm_btn.click(on_delete, inputs=[selected], outputs=outputs, api_visibility="private",
                      concurrency_id="library", concurrency_limit=1)

    def on_reindex(doc_ids, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        return refreshed(*reindex_documents(live, access, _username(request), doc_ids or [], client_address(request)))

    reindex_btn.click(on_reindex, inputs=[selected], outputs=outputs, api_visibility="private",
                      concurrency_id="library", concurrency_limit=1)

    def on_show(request: gr.Request):
        # the table as it is now (another admin or `zhqa add` may have changed it); controls for admins only
        return (table_rows(live), gr.update(choices=_choices(live)), gr.update(visible=access.may_change(_username(request))),
                header_html(live.current))

    return on_show, [table, selected, admin_box, header]
