"""Reading the formats documents come in: PDF (text layer, or OCR for scanned pages), Word (.docx), web pages
(.html/.htm), OFD (read natively), spreadsheets (.xlsx, .csv), scans saved as images (OCR), and through LibreOffice the office formats we do not read ourselves
(.doc, .wps, .rtf, .xls, .et, .ppt, .pptx, .dps; see `office`). Plain text, Markdown and JSONL are read by
`index.ingest.loading`, which asks this package for everything else."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from index.document import Document
from index.ingest.formats import office
from index.ingest.formats.base import DEFAULT_MAX_FILE_MB, DEFAULT_OCR_PAGES, FileRejected, ReadOptions
from index.ingest.formats.office import OLE

# Each reader is imported when a file of its format is read, not with this package: their libraries (PDFium,
# RapidOCR and its models, Pillow, trafilatura, python-docx, openpyxl) take most of a second to import, and
# answering a question reads no file.
IMAGES = {".png": "PNG image", ".jpg": "JPEG image", ".jpeg": "JPEG image", ".tif": "TIFF image",
          ".tiff": "TIFF image", ".bmp": "BMP image"}

SUFFIXES = {".pdf": "PDF", ".docx": "Word", ".html": "web page", ".htm": "web page",
            ".xlsx": "Excel", ".xlsm": "Excel", ".csv": "CSV", ".ofd": "OFD", **office.SUFFIXES, **IMAGES}
# formats people will have and that are not read, named so the message can say what to do
NOT_READ = {".rar": "unpack it, or pack it as .zip", ".7z": "unpack it, or pack it as .zip"}

__all__ = ["DEFAULT_MAX_FILE_MB", "DEFAULT_OCR_PAGES", "FileRejected", "ReadOptions", "SUFFIXES",
           "NOT_READ", "read_document", "prepare"]


def read_document(path: Path, doc_id: str, options: ReadOptions = ReadOptions()) -> tuple[Document, list[str]]:
    """(document, notes) of a file of any format in `SUFFIXES`. Raises `FileRejected` with the reason."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("empty file (0 bytes)")
    if size > options.max_file_mb * 2**20:
        raise FileRejected(f"{size / 2**20:.0f} MB is more than the {options.max_file_mb:g} MB limit (--max-file-mb)")
    suffix = path.suffix.lower()
    if suffix in (".docx", ".xlsx", ".xlsm") and _starts_with(path, OLE):
        return _read_office(path, doc_id, options)  # an encrypted OOXML file, or an old binary one renamed
    if suffix in office.SUFFIXES:
        return _read_office(path, doc_id, options)
    if suffix in _READER_OF:
        return read_document_as(path, doc_id, options, _READER_OF[suffix])
    raise FileRejected(f"not a format this reads ({suffix})")


_READER_OF = {".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".html": "html",
              ".htm": "html", ".ofd": "ofd", **{suffix: "image" for suffix in IMAGES}}


def _starts_with(path: Path, magic: bytes) -> bool:
    with open(path, "rb") as f:
        return f.read(len(magic)) == magic


def prepare(paths: list[Path], options: ReadOptions = ReadOptions()) -> None:
    """Convert the office files among `paths` in batches before they are read one by one (a file that cannot
    be planned is left for `read_document` to refuse with its reason)."""
    plans = []
    for path in paths:
        if path.suffix.lower() in office.SUFFIXES:
            try:
                plan = office.plan_for(path)
            except (FileRejected, OSError):
                continue
            if plan.reader == "convert":
                plans.append((path, plan))
    if plans:
        office.converter(options).convert(plans, progress=options.progress)


def _read_office(path: Path, doc_id: str, options: ReadOptions) -> tuple[Document, list[str]]:
    plan = office.plan_for(path)
    fmt = path.suffix.lower().lstrip(".")
    if plan.reader != "convert":  # a file that is really another format of ours: read as that format
        doc, notes = read_document_as(path, doc_id, options, plan.reader)
    else:
        converter = office.converter(options)
        key = office.content_key(path)
        converted = converter.cached(key, plan.target)
        if converted is None:
            converter.convert([(path, plan)])
            converted = converter.cached(key, plan.target)
        if converted is None:
            raise FileRejected(converter.failures.get(key) or "LibreOffice could not convert it")
        doc, notes = read_document_as(converted, doc_id, options, plan.target)
        notes = [n.replace(str(converted), str(path)) for n in notes]
    return replace(doc, path=str(path), format=fmt), notes


def read_document_as(path: Path, doc_id: str, options: ReadOptions, reader: str) -> tuple[Document, list[str]]:
    """Read `path` with one of our readers (pdf, docx, xlsx, csv, html, ofd, image), whatever its name says."""
    if reader == "pdf":
        from index.ingest.formats.pdf import read_pdf

        return read_pdf(path, doc_id, options)
    if reader == "ofd":
        from index.ingest.formats.ofd import read_ofd

        return read_ofd(path, doc_id, options)
    if reader == "image":
        from index.ingest.formats.image import read_image

        return read_image(path, doc_id, options)
    if reader == "docx":
        from index.ingest.formats.word import read_docx

        return read_docx(path, doc_id), []
    if reader in ("xlsx", "csv"):
        from index.ingest.formats.sheet import read_csv, read_xlsx

        return (read_xlsx if reader == "xlsx" else read_csv)(path, doc_id), []
    from index.ingest.formats.web import read_html

    return read_html(path, doc_id), []
