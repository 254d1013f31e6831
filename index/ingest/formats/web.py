"""Saved web pages (.html/.htm) with trafilatura: the article's main text without the site's navigation,
share buttons and footer; title, date, site name (as source) and address from the page."""
from __future__ import annotations

from pathlib import Path

import trafilatura

from index.document import Document
from index.ingest.metadata import parse_date, parse_document
from index.ingest.formats.base import FileRejected


def read_html(path: Path, doc_id: str) -> Document:
    data = path.read_bytes()
    # only dates the page states (meta tags, the byline), never one guessed from the running text
    page = trafilatura.bare_extraction(data, with_metadata=True, include_comments=False, include_tables=True,
                                       favor_precision=True, date_extraction_params={"extensive_search": False})
    if page is None or not (page.text or "").strip():
        raise FileRejected("no article text found in the page")
    title = " ".join((page.title or "").split())
    # the title as the first line lets the metadata rules consume it, so the body does not repeat it
    body, meta = parse_document(f"{title}\n{page.text}" if title else page.text, wrapped=False)
    return Document(
        doc_id=doc_id, text=body, title=title or meta.title, source=(page.sitename or "").strip() or meta.source,
        date=parse_date(page.date or "") or meta.date, url=(page.url or "").strip() or meta.url, path=str(path),
        doc_number=meta.doc_number, format="html",
    )
