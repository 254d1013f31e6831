"""Citation strings: 《title》，source，date，第N段 — empty fields are left out; an untitled document is
named by its id (文档 d1), so a copied paragraph always says where it came from."""
from __future__ import annotations


def format_citation(title: str, source: str, date: str, paragraph_first: int, paragraph_last: int | None = None) -> str:
    if paragraph_last and paragraph_last != paragraph_first:
        where = f"第{paragraph_first}-{paragraph_last}段"
    else:
        where = f"第{paragraph_first}段"
    parts = [f"《{title}》" if title else "", source, date, where]
    return "，".join(p for p in parts if p)


def cite_document(doc, paragraph_first: int, paragraph_last: int | None = None) -> str:
    """Citation for paragraph(s) of an `index.Document`."""
    citation = format_citation(doc.title, doc.source, doc.date, paragraph_first, paragraph_last)
    return citation if doc.title else f"文档 {doc.doc_id}，{citation}"
