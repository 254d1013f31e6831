"""Page layout: from positioned text pieces on each page (a PDF's text layer or OCR boxes) to lines in
reading order, without running headers, footers and page numbers; and the page map of the cleaned text.

Coordinates are PDF points with y growing upwards (a PDF's own system); OCR boxes are converted to it.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from index.ingest.cleaning import is_page_number
from index.ingest.metadata import Metadata, parse_document


@dataclass(frozen=True)
class Piece:
    """A run of text on one line of a page: a text-layer line cut at wide gaps, or one OCR box."""

    text: str
    left: float
    bottom: float
    right: float
    top: float

    @property
    def middle_y(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class Page:
    number: int  # 1-based
    width: float
    height: float
    pieces: list[Piece]
    ocr: bool = False


MARGIN_BAND = 0.12  # running headers and footers sit in the top and bottom 12% of a page
MIN_COLUMN_LINES = 4


def _column_of(piece: Piece, width: float) -> str:
    """"left", "right" or "full": which side of the page's middle a piece stands on."""
    middle = width / 2
    slack = width * 0.02
    if piece.right <= middle + slack:
        return "left"
    if piece.left >= middle - slack:
        return "right"
    return "full"


def two_columns(pieces: list[Piece], width: float) -> bool:
    """Does the page set its text in two columns (enough lines on each side of the middle)?"""
    counts = Counter(_column_of(p, width) for p in pieces)
    return counts["left"] >= MIN_COLUMN_LINES and counts["right"] >= MIN_COLUMN_LINES


def reading_order(page: Page) -> list[Piece]:
    """The page's pieces top to bottom; on a two-column page, the left column before the right one
    within each band between full-width pieces (a title across both columns, a table)."""
    pieces = sorted(page.pieces, key=lambda p: (-round(p.middle_y, 0), p.left))
    if not two_columns(pieces, page.width):
        return pieces
    sides = [_column_of(p, page.width) for p in pieces]
    ordered: list[Piece] = []
    left: list[Piece] = []
    right: list[Piece] = []
    for piece, side in zip(pieces, sides):
        if side == "full":
            ordered += left + right
            left, right = [], []
            ordered.append(piece)
        elif side == "left":
            left.append(piece)
        else:
            right.append(piece)
    return ordered + left + right


def merge_lines(pieces: list[Piece], width: float) -> list[Piece]:
    """Join pieces that stand on one line of one column (an OCR box cut in two, a change of font)."""
    out: list[Piece] = []
    for p in pieces:
        if out:
            q = out[-1]
            height = max(q.top - q.bottom, p.top - p.bottom, 1.0)
            same_line = abs(q.middle_y - p.middle_y) < 0.5 * height
            same_column = _column_of(q, width) == _column_of(p, width) or "full" in (_column_of(q, width), _column_of(p, width))
            if same_line and same_column and 0 <= p.left - q.right < 3 * height:
                gap = " " if p.left - q.right > 0.6 * height else ""
                out[-1] = Piece(q.text + gap + p.text, q.left, min(q.bottom, p.bottom), p.right, max(q.top, p.top))
                continue
        out.append(p)
    return out


def _margin_key(text: str) -> str:
    """What a running header or footer keeps from page to page: the text with its numbers blanked."""
    return re.sub(r"[0-9０-９]+", "#", re.sub(r"\s+", "", text))


def running_lines(pages: list[Page], ordered: list[list[Piece]]) -> set[str]:
    """Keys of lines in the top or bottom band that repeat on most pages (at least two): running
    headers and footers such as the issuing body's name or "第 # 页"."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for page, pieces in zip(pages, ordered):
        keys = {_margin_key(p.text) for p in pieces if _in_margin(p, page)}
        seen.update(k for k in keys if k)
    need = max(2, (len(pages) + 1) // 2)
    return {k for k, n in seen.items() if n >= need}


def _in_margin(piece: Piece, page: Page) -> bool:
    band = page.height * MARGIN_BAND
    return piece.bottom >= page.height - band or piece.top <= band


def _side_of(pieces: list[Piece], width: float):
    """What a line's edges are measured against: its column on a two-column page, else the page."""
    if two_columns(pieces, width):
        return lambda p: _column_of(p, width)
    return lambda p: "page"


def _indented(pieces: list[Piece], width: float) -> set[int]:
    """Positions of lines that start further right than their column's left edge: a first-line indent
    (how Chinese paragraphs begin), a centred heading or a right-aligned signature."""
    side = _side_of(pieces, width)
    edges: dict[str, float] = {}
    for p in pieces:
        edges[side(p)] = min(edges.get(side(p), p.left), p.left)
    out = set()
    for i, p in enumerate(pieces):
        height = max(p.top - p.bottom, 1.0)
        if p.left > edges[side(p)] + 0.8 * height:
            out.add(i)
    return out


def _ending_short(pieces: list[Piece], width: float) -> set[int]:
    """Positions of lines that end well before their column's right edge: a paragraph's last line, a
    centred title, a salutation. The edge is the second rightmost end, so one line drawn past the
    margin (a long number, a table) does not make every line look short."""
    side = _side_of(pieces, width)
    rights: dict[str, list[float]] = {}
    for p in pieces:
        rights.setdefault(side(p), []).append(p.right)
    edges = {k: sorted(v)[-2] for k, v in rights.items() if len(v) >= 2}
    out = set()
    for i, p in enumerate(pieces):
        height = max(p.top - p.bottom, 1.0)
        if side(p) in edges and p.right < edges[side(p)] - 2 * height:
            out.add(i)
    return out


def page_lines(pages: list[Page]) -> list[list[str]]:
    """Each page's lines in reading order, without running headers/footers and page numbers. An empty
    line is put before a line that starts indented and after one that ends short: in wrapped text that
    is where a paragraph begins and ends (a centred title is not joined to the salutation under it)."""
    ordered = [merge_lines(reading_order(p), p.width) for p in pages]
    running = running_lines(pages, ordered)
    out = []
    for page, pieces in zip(pages, ordered):
        kept = [p for p in pieces if p.text.strip() and not (
            _in_margin(p, page) and (_margin_key(p.text) in running or is_page_number(p.text.strip())))]
        indented = _indented(kept, page.width)
        short = _ending_short(kept, page.width)
        lines = []
        for i, p in enumerate(kept):
            if i in indented or (i - 1 in short and lines[-1]):
                lines.append("")
            lines.append(p.text.strip())
        out.append(lines)
    return out


def align_pages(raw: str, raw_page_starts: list[int], body: str, window: int = 20000) -> tuple[int, ...]:
    """Where each page begins in `body`, the cleaned form of `raw`.

    Cleaning drops characters (wrap spaces, line breaks, metadata and chrome lines) and may move a caption
    after the paragraph it interrupted, so `body` is only nearly in order a subsequence of `raw`. Both are
    compared without whitespace, in runs of `RUN` characters: each run of the body is looked for in the raw
    text from the last match on (within `window`). A run that is not found there (a moved caption, a line
    the cleaning rewrote) is skipped, so a few characters can never drag the position pages ahead, as
    matching one character at a time did. Page p begins at the first body character matched at or after its
    raw start; pages after the last match (blank or dropped pages) begin at the end.
    """
    raw_at = [i for i, c in enumerate(raw) if not c.isspace()]
    body_at = [i for i, c in enumerate(body) if not c.isspace()]
    raw_bare = "".join(raw[i] for i in raw_at)
    body_bare = "".join(body[i] for i in body_at)
    starts = [0] * len(raw_page_starts)
    page = 0
    r = 0
    for b in range(0, len(body_bare), RUN):
        run = body_bare[b:b + RUN]
        found = raw_bare.find(run, r, r + window)
        if found < 0:
            continue
        r = found + len(run)
        for k in range(len(run)):
            while page + 1 < len(raw_page_starts) and raw_at[found + k] >= raw_page_starts[page + 1]:
                page += 1
                starts[page] = body_at[b + k]
    for p in range(page + 1, len(starts)):
        starts[p] = len(body)
    return tuple(starts)


RUN = 6  # characters compared at once: long enough to be found only where they belong, short enough to fit
# between two places the cleaning changed


def pages_text(pages: list[Page]) -> tuple[str, Metadata, tuple[int, ...]]:
    """(body, stated metadata, page starts in the body) of laid-out pages: lines in reading order without
    running headers, footers and page numbers, cleaned like every format, with the page map."""
    lines_per_page = page_lines(pages)
    raw_parts, raw_starts, pos = [], [], 0
    for lines in lines_per_page:
        raw_starts.append(pos)
        part = "\n".join(lines) + "\n"
        raw_parts.append(part)
        pos += len(part)
    raw = "".join(raw_parts)
    body, meta = parse_document(raw, wrapped=True)
    return body, meta, align_pages(raw, raw_starts, body)
