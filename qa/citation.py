"""Citation strings: 《title》，source，发文字号，date，第3页 第12段 — empty fields are left out; pages only for
documents that have them (PDF), sheet and rows for spreadsheets (工作表“任务清单” 第12行); an untitled document is named by its id (文档 d1), so a copied paragraph
always says where it came from."""
from __future__ import annotations


def rows_place(sheet: str, row_first: int, sheet_last: str, row_last: int) -> str:
    """工作表“任务清单” 第12行 / 第12-14行 (or …第40行至工作表“B” 第2行 when a passage crosses sheets)."""
    if sheet_last != sheet:
        return f"工作表“{sheet}” 第{row_first}行至工作表“{sheet_last}” 第{row_last}行"
    rows = f"第{row_first}-{row_last}行" if row_last != row_first else f"第{row_first}行"
    return f"工作表“{sheet}” {rows}" if sheet else rows


def format_citation(title: str, source: str, date: str, paragraph_first: int, paragraph_last: int | None = None,
                    page_first: int | None = None, page_last: int | None = None, doc_number: str = "",
                    rows: str = "") -> str:
    if rows:
        where = rows
    elif paragraph_last and paragraph_last != paragraph_first:
        where = f"第{paragraph_first}-{paragraph_last}段"
    else:
        where = f"第{paragraph_first}段"
    if page_first:
        pages = f"第{page_first}–{page_last}页" if page_last and page_last != page_first else f"第{page_first}页"
        where = f"{pages} {where}"
    parts = [f"《{title}》" if title else "", source, doc_number, date, where]
    return "，".join(p for p in parts if p)


def cite_document(doc, start: int, end: int) -> str:
    """Citation for `doc.text[start:end]` of an `index.Document`: its paragraphs and, if it has pages, its pages;
    for a spreadsheet its sheet and rows instead."""
    end = max(end, start + 1)
    page_first, page_last = doc.page_range(start, end)
    rows = doc.row_range(start, end)
    citation = format_citation(doc.title, doc.source, doc.date, doc.paragraph_at(start), doc.paragraph_at(end - 1),
                               page_first, page_last, doc.doc_number, rows_place(*rows) if rows else "")
    return citation if doc.title else f"文档 {doc.doc_id}，{citation}"
