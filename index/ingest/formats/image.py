"""Scans saved as images (.png, .jpg/.jpeg, .tif/.tiff with one page per frame, .bmp): each page read by the
OCR we already ship, then laid out, cleaned and paged exactly as a scanned PDF page is, under the same
`--ocr-pages` budget."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError
from tqdm import tqdm

from index.document import Document
from index.ingest.formats import ocr
from index.ingest.formats.base import FileRejected, ReadOptions
from index.ingest.formats.layout import Page, pages_text

MAX_PIXELS = 60_000_000  # per page: an A3 scan at 400 dpi is 31 M; more is a decompression bomb, not a page
DEFAULT_DPI = 200  # when the file does not say; only scales the page size, OCR reads the pixels as they are


def _dpi(frame: Image.Image) -> float:
    dpi = frame.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    return value if 50 <= value <= 1200 else DEFAULT_DPI


def read_image(path: Path, doc_id: str, options: ReadOptions) -> tuple[Document, list[str]]:
    notes: list[str] = []
    if options.ocr_pages <= 0:
        raise FileRejected("an image is read by OCR, which is off (--ocr-pages 0)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            frames = getattr(image, "n_frames", 1)
            pages: list[Page] = []
            if frames > options.ocr_pages:
                notes.append(f"{path}: {frames} pages, only the first {options.ocr_pages} were read by OCR "
                             "(raise the limit with --ocr-pages)")
            bar = tqdm(ImageSequence.Iterator(image), total=min(frames, options.ocr_pages), desc=f"OCR {path.name}",
                       unit="page", disable=not options.progress, file=sys.stderr, leave=False)
            for number, frame in enumerate(bar, start=1):
                if number > options.ocr_pages:
                    break
                if frame.width * frame.height > MAX_PIXELS:
                    raise FileRejected(f"page {number} is {frame.width} x {frame.height} pixels: more than "
                                       f"{MAX_PIXELS // 1_000_000} million is not a scanned page")
                scale = _dpi(frame) / 72
                pixels = np.asarray(frame.convert("RGB"))
                height = frame.height / scale
                pieces = ocr.recognise(pixels, scale, height) if not ocr.blank(pixels) else []
                pages.append(Page(number, frame.width / scale, height, pieces, ocr=True))
            image.close()
    except FileRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise FileRejected(f"not a readable image ({type(e).__name__})") from None
    except (OSError, SyntaxError, ValueError) as e:  # PIL's errors for truncated or damaged files
        raise FileRejected(f"a damaged image ({e})") from None
    body, meta, page_starts = pages_text(pages)
    doc = Document(doc_id=doc_id, text=body, title=meta.title, source=meta.source, date=meta.date, url=meta.url,
                   path=str(path), doc_number=meta.doc_number, format=path.suffix.lower().lstrip("."),
                   pages=page_starts if len(pages) > 1 else ())
    return doc, notes
