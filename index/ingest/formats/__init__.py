"""Reading the formats documents come in: PDF (text layer, or OCR for scanned pages), Word (.docx) and web
pages (.html/.htm). Plain text, Markdown and JSONL are read by `index.loading`, which asks this package for
everything else."""
from __future__ import annotations

from pathlib import Path

from index.document import Document
from index.ingest.formats.base import DEFAULT_MAX_FILE_MB, DEFAULT_OCR_PAGES, FileRejected, ReadOptions
from index.ingest.formats.pdf import read_pdf
from index.ingest.formats.web import read_html
from index.ingest.formats.word import read_docx

FORMATS_READ = ".txt .md .pdf .docx .html .htm (and a .jsonl bulk file)"
SUFFIXES = {".pdf": "PDF", ".docx": "Word", ".html": "web page", ".htm": "web page"}
# formats people will have and that are not read, named so the message can say what to do
NOT_READ = {".doc": "old Word format: save it as .docx", ".wps": "WPS format: save it as .docx",
            ".ofd": "OFD: export it as PDF", ".rtf": "save it as .docx"}

__all__ = ["FORMATS_READ", "DEFAULT_MAX_FILE_MB", "DEFAULT_OCR_PAGES", "FileRejected", "ReadOptions", "SUFFIXES", "NOT_READ", "read_document"]


def read_document(path: Path, doc_id: str, options: ReadOptions = ReadOptions()) -> tuple[Document, list[str]]:
    """(document, notes) of a PDF, Word or web page file. Raises `FileRejected` with the reason."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("empty file (0 bytes)")
    if size > options.max_file_mb * 2**20:
        raise FileRejected(f"{size / 2**20:.0f} MB is more than the {options.max_file_mb:g} MB limit (--max-file-mb)")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return read_pdf(path, doc_id, options)
    if suffix == ".docx":
        return read_docx(path, doc_id), []
    if suffix in (".html", ".htm"):
        return read_html(path, doc_id), []
    raise FileRejected(f"not a format this reads ({suffix})")
