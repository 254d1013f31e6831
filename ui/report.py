"""The report basket: collected excerpts, and their export to DOCX (python-docx) and Markdown.

A basket item is a plain dict (it lives in the page's session state):
    {"doc_id", "start", "end", "text", "citation", "title", "source", "date", "label"}
`text` is always `document.text[start:end]`, taken from the index, never from the browser.
The export writes each excerpt exactly as in the document (its paragraphs one per line),
then its citation with the number of its entry in the reference list, and ends with the
numbered reference list (title, source, date), one entry per document in order of first use.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Mapping, Sequence

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from qa import cite_document

MAX_ITEMS = 200


class BasketError(ValueError):
    """The item cannot be added (unknown document, bad offsets ...); the message is for the user."""


def make_item(documents: Mapping, doc_id: str, start, end, label: str = "") -> dict:
    """A basket item for `documents[doc_id].text[start:end]`, cited by its paragraph numbers."""
    doc = documents.get(str(doc_id))
    if doc is None:
        raise BasketError(f"找不到文件 {doc_id}（索引可能已重建），请重新检索后再加入。")
    try:
        start, end = int(start), int(end)
    except (TypeError, ValueError):
        raise BasketError("摘录位置无效，请重新检索后再加入。") from None
    if not 0 <= start < end <= len(doc.text):
        raise BasketError("摘录位置超出了文件范围（索引可能已重建），请重新检索后再加入。")
    return {
        "doc_id": doc.doc_id, "start": start, "end": end, "text": doc.text[start:end],
        "citation": cite_document(doc, start, end), "title": doc.title, "source": doc.source,
        "date": doc.date, "label": str(label or ""),
    }


def restore(documents: Mapping, items) -> list[dict]:
    """The items of a stored basket that still match the index exactly (others are dropped)."""
    kept = []
    for raw in items if isinstance(items, list) else []:
        try:
            item = make_item(documents, raw["doc_id"], raw["start"], raw["end"], raw.get("label", ""))
        except (BasketError, KeyError, TypeError, AttributeError):
            continue
        if item["text"] == raw.get("text") and len(kept) < MAX_ITEMS:
            kept.append(item)
    return kept


def add(items: Sequence[dict], item: dict) -> tuple[list[dict], str]:
    """`items` with `item` appended (unless already there), and a message for the user."""
    items = list(items or [])
    if any(i["doc_id"] == item["doc_id"] and i["start"] == item["start"] and i["end"] == item["end"] for i in items):
        return items, "这段已经在报告篮里了。"
    if len(items) >= MAX_ITEMS:
        return items, f"报告篮最多放 {MAX_ITEMS} 条摘录，请先导出或移除一些。"
    items.append(item)
    return items, f"已加入报告篮（共 {len(items)} 条）。"


def move(items: Sequence[dict], index: int, op: str) -> list[dict]:
    """Move item `index` up or down, or remove it; out-of-range requests change nothing."""
    items = list(items or [])
    if not 0 <= index < len(items):
        return items
    if op == "up" and index > 0:
        items[index - 1], items[index] = items[index], items[index - 1]
    elif op == "down" and index < len(items) - 1:
        items[index + 1], items[index] = items[index], items[index + 1]
    elif op == "remove":
        del items[index]
    return items


def references(items: Sequence[Mapping]) -> tuple[list[dict], list[int]]:
    """The reference list (one entry per document, in order of first use) and each item's entry number."""
    refs: list[dict] = []
    where: dict[str, int] = {}
    numbers = []
    for item in items:
        if item["doc_id"] not in where:
            refs.append({k: item.get(k, "") for k in ("doc_id", "title", "source", "date")})
            where[item["doc_id"]] = len(refs)
        numbers.append(where[item["doc_id"]])
    return refs, numbers


def reference_line(ref: Mapping) -> str:
    """《title》，source，date — empty fields left out; an untitled document is named by its id."""
    title = f"《{ref['title']}》" if ref.get("title") else f"《{ref.get('doc_id', '')}》"
    return "，".join(p for p in (title, ref.get("source", ""), ref.get("date", "")) if p)


def to_markdown(items: Sequence[Mapping], heading: str = "报告摘录") -> str:
    """The basket as Markdown: each excerpt verbatim, its citation, then the reference list."""
    refs, numbers = references(items)
    out = [f"# {heading}", ""]
    for item, n in zip(items, numbers):
        if item.get("label"):
            out += [f"**{item['label']}**", ""]
        out += [item["text"], "", f"——{item['citation']} [{n}]", ""]
    out += ["## 参考文献", ""]
    out += [f"{i}. {reference_line(ref)}" for i, ref in enumerate(refs, start=1)]
    return "\n".join(out) + "\n"


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    # Word cannot store control characters; the cleaned documents hold none, but never crash on one
    return _XML_BAD.sub("", text)


def _set_cjk_font(style, name: str) -> None:
    style.font.name = name
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), name)


def to_docx(items: Sequence[Mapping], path: Path, heading: str = "报告摘录") -> Path:
    """Write the basket as a Word document: excerpts (one document paragraph per Word paragraph),
    each followed by its citation, and the numbered reference list at the end."""
    refs, numbers = references(items)
    doc = Document()
    doc.core_properties.title = heading
    doc.core_properties.author = "zhqa"
    _set_cjk_font(doc.styles["Normal"], "宋体")
    doc.styles["Normal"].font.size = Pt(12)
    for style in ("Title", "Heading 1", "Heading 2"):
        _set_cjk_font(doc.styles[style], "黑体")
    doc.add_heading(heading, level=1)
    for item, n in zip(items, numbers):
        if item.get("label"):
            doc.add_paragraph().add_run(_xml_safe(item["label"])).bold = True
        for line in item["text"].split("\n"):
            doc.add_paragraph(_xml_safe(line))
        cite = doc.add_paragraph()
        run = cite.add_run(_xml_safe(f"——{item['citation']} [{n}]"))
        run.italic = True
        run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
        run.font.size = Pt(10.5)
    doc.add_heading("参考文献", level=2)
    for i, ref in enumerate(refs, start=1):
        doc.add_paragraph(_xml_safe(f"{i}. {reference_line(ref)}"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def export_files(items: Sequence[Mapping], folder: Path) -> tuple[Path, Path]:
    """Write report-<stamp>.docx and report-<stamp>.md into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    docx_path = to_docx(items, folder / f"report-{stamp}.docx")
    md_path = folder / f"report-{stamp}.md"
    md_path.write_text(to_markdown(items), encoding="utf-8")
    return docx_path, md_path
