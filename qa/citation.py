"""Citation strings: 《title》，source，发文字号，date，第3页 第12段 — empty fields are left out; pages only for
documents that have them (PDF); an untitled document is named by its id (文档 d1), so a copied paragraph
always says where it came from."""
from __future__ import annotations


def format_citation(title: str, source: str, date: str, paragraph_first: int, paragraph_last: int | None = None,
                    page_first: int | None = None, page_last: int | None = None, doc_number: str = "") -> str:
    if paragraph_last and paragraph_last != paragraph_first:
        where = f"第{paragraph_first}-{paragraph_last}段"
    else:
        where = f"第{paragraph_first}段"
    if page_first:
        pages = f"第{page_first}–{page_last}页" if page_last and page_last != page_first else f"第{page_first}页"
        where = f"{pages} {where}"
    parts = [f"《{title}》" if title else "", source, doc_number, date, where]
    return "，".join(p for p in parts if p)


def cite_document(doc, start: int, end: int) -> str:
    """Citation for `doc.text[start:end]` of an `index.Document`: its paragraphs and, if it has pages, its pages."""
    end = max(end, start + 1)
    page_first, page_last = doc.page_range(start, end)
    citation = format_citation(doc.title, doc.source, doc.date, doc.paragraph_at(start), doc.paragraph_at(end - 1),
                               page_first, page_last, doc.doc_number)
    return citation if doc.title else f"文档 {doc.doc_id}，{citation}"
