"""OCR of scanned pages with RapidOCR (PP-OCR models in ONNX, shipped inside the rapidocr wheel: nothing is
downloaded). One engine per process, made on first use."""
from __future__ import annotations

import logging
import threading

import numpy as np
from rapidocr import RapidOCR

from index.ingest.formats.layout import Piece

OCR_DPI = 200  # what PP-OCR reads best at for body text of 10-12 pt
MIN_SCORE = 0.5
BLANK_CONTRAST = 48  # grey levels: a page image with less contrast than this holds no text

_engine: RapidOCR | None = None
_engine_lock = threading.Lock()


def engine() -> RapidOCR:
    global _engine
    with _engine_lock:
        if _engine is None:
            # no angle classifier: on upright scans it turned whole lines upside down and read them as nonsense
            # (seed renderings: 0.84 -> 0.91 of a page's characters right); one line per recognition batch:
            # batching pads every line to the widest one (2.4 s a page instead of 3.7)
            _engine = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False, "Rec.rec_batch_num": 1})
            # rapidocr logs every model it loads at INFO through its own logger; users need none of it
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return _engine


def blank(image: np.ndarray) -> bool:
    """A page with nothing for OCR to find (it would take half a second to say so)."""
    return int(image.max()) - int(image.min()) < BLANK_CONTRAST


def recognise(image: np.ndarray, scale: float, page_height: float) -> list[Piece]:
    """Text boxes of a page image (pixels at `scale` times PDF points) as pieces in PDF coordinates."""
    result = engine()(image)
    if result.boxes is None or result.txts is None:
        return []
    pieces = []
    for box, text, score in zip(result.boxes, result.txts, result.scores):
        if score < MIN_SCORE or not text.strip():
            continue
        xs, ys = box[:, 0] / scale, box[:, 1] / scale
        pieces.append(Piece(text, float(xs.min()), float(page_height - ys.max()), float(xs.max()), float(page_height - ys.min())))
    return pieces
