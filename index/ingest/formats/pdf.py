"""PDF files with pypdfium2 (PDFium; BSD/Apache licensed): the text layer page by page, OCR for scanned
pages, then the same cleaning as every other format, with a page map from cleaned offsets to pages."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from tqdm import tqdm

from index.document import Document
from index.ingest.formats import ocr
from index.ingest.formats.base import FileRejected, ReadOptions
from index.ingest.formats.layout import Page, Piece, pages_text

SCANNED_BELOW = 20  # a page with fewer characters in its text layer than this is read by OCR, if it has an image


def _text_pieces(page: pdfium.PdfPage) -> list[Piece]:
    """The text layer as pieces: PDFium's characters grouped into lines, each line in left-to-right order (a
    writer may draw a line's quote marks, set in a Latin font, after its Chinese characters), cut where a wide
    gap separates two columns."""
    textpage = page.get_textpage()
    try:
        n = textpage.count_chars()
        text = textpage.get_text_range(0, n) if n else ""
        pieces: list[Piece] = []
        line: list[tuple[str, tuple[float, float, float, float]]] = []
        band: list[float] | None = None  # the line's bottom and top

        def close() -> None:
            nonlocal line, band
            pieces.extend(_cut_at_gaps(sorted(line, key=lambda c: c[1][0])))
            line, band = [], None

        for i, ch in enumerate(text[:n]):
            if ch in "\r\n":
                close()
                continue
            # loose: the font's full height, so a quote mark (a small box high on the line) stays on its line
            box = textpage.get_charbox(i, loose=True)
            left, bottom, right, top = box
            if ch.isspace():
                if band is not None:
                    line.append((ch, box))
                continue
            if band is not None:
                height = max(band[1] - band[0], top - bottom, 1.0)
                if abs((top + bottom) / 2 - (band[0] + band[1]) / 2) > 0.6 * height:
                    close()
            band = [bottom, top] if band is None else [min(band[0], bottom), max(band[1], top)]
            line.append((ch, box))
        close()
        return pieces
    finally:
        textpage.close()


def _cut_at_gaps(chars: list[tuple[str, tuple[float, float, float, float]]]) -> list[Piece]:
    """A line's characters (left to right) as pieces, cut where a gap wider than 2.5 character heights stands."""
    pieces: list[Piece] = []
    cur: list[str] = []
    box: list[float] | None = None

    def close() -> None:
        nonlocal cur, box
        if box is not None and "".join(cur).strip():
            pieces.append(Piece("".join(cur), *box))
        cur, box = [], None

    for ch, (left, bottom, right, top) in chars:
        if ch.isspace():
            if box is not None:
                cur.append(ch)
            continue
        if box is not None and left - box[2] > 2.5 * max(box[3] - box[1], top - bottom, 1.0):
            close()
        box = [left, bottom, right, top] if box is None else [min(box[0], left), min(box[1], bottom),
                                                                max(box[2], right), max(box[3], top)]
        cur.append(ch)
    close()
    return pieces


def _has_image(page: pdfium.PdfPage) -> bool:
    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


def _ocr_pieces(page: pdfium.PdfPage) -> list[Piece]:
    scale = ocr.OCR_DPI / 72
    bitmap = page.render(scale=scale, grayscale=True)
    image = np.ascontiguousarray(bitmap.to_numpy())
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if ocr.blank(image):
        return []
    image = np.stack([image] * 3, axis=-1) if image.ndim == 2 else image[:, :, :3]
    return ocr.recognise(image, scale, page.get_height())


def _title_field(pdf: pdfium.PdfDocument) -> str:
    """The PDF's Title field when it reads as a title (not a file name such as "Microsoft Word - 1.doc")."""
    try:
        title = (pdf.get_metadata_dict().get("Title") or "").strip()
    except pdfium.PdfiumError:
        return ""
    if not title or not re.search(r"[\u4e00-\u9fff]", title) or re.search(r"\.(docx?|wps|pdf|txt)$|Microsoft|WPS", title, re.I):
        return ""
    return title


def open_pdf(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        reason = str(e)
        if "password" in reason.lower():
            raise FileRejected("the PDF is encrypted (password protected); save an unprotected copy to index it") from None
        if "format" in reason.lower():
            raise FileRejected("not a readable PDF (damaged or truncated file)") from None
        raise FileRejected(f"PDFium cannot open it ({reason})") from None


def read_pdf(path: Path, doc_id: str, options: ReadOptions) -> tuple[Document, list[str]]:
    """(document, notes) of a PDF; notes say what was cut or could not be read."""
    notes: list[str] = []
    pdf = open_pdf(path)
    try:
        pages: list[Page] = []
        scanned: list[int] = []
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                width, height = page.get_size()
                pieces = _text_pieces(page)
                if sum(len(p.text.strip()) for p in pieces) < SCANNED_BELOW and _has_image(page):
                    scanned.append(i)
                pages.append(Page(i + 1, width, height, pieces))
            finally:
                page.close()
        if scanned and options.ocr_pages <= 0:
            notes.append(f"{path}: {len(scanned)} scanned page(s) not read: OCR is off")
            scanned = []
        elif len(scanned) > options.ocr_pages:
            notes.append(f"{path}: {len(scanned)} scanned pages, only the first {options.ocr_pages} were read by OCR "
                         f"(raise the limit with --ocr-pages)")
            scanned = scanned[: options.ocr_pages]
        bar = tqdm(scanned, desc=f"OCR {path.name}", unit="page", disable=not options.progress, file=sys.stderr, leave=False)
        for i in bar:
            page = pdf[i]
            try:
                pages[i] = Page(i + 1, pages[i].width, pages[i].height, _ocr_pieces(page), ocr=True)
            finally:
                page.close()
        title_field = _title_field(pdf)
    finally:
        pdf.close()

    body, meta, page_starts = pages_text(pages)
    doc = Document(
        doc_id=doc_id, text=body, title=meta.title or title_field, source=meta.source, date=meta.date, url=meta.url,
        path=str(path), doc_number=meta.doc_number, format="pdf", pages=page_starts,
    )
    return doc, notes

