"""The `Document`: one cleaned source document and its stated metadata."""
from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass, field


_NEWLINE = re.compile("\n")


@dataclass(frozen=True)
class Document:
    """A cleaned document.

    `text` is the cleaned body: one paragraph per line, joined by "\\n". Every offset
    in the system (chunks, passages, answer evidence) points into this string.
    Metadata fields hold only what the document states; a missing one is "".
    `pages` maps text to pages for formats that have them (PDF): `pages[i]` is the offset in `text` where
    page i+1 begins (a page without text begins where the next one does); empty for other formats.
    Spreadsheets have rows instead: each paragraph is one row, `rows[i]` the number of paragraph i+1's row in
    its sheet (as the spreadsheet numbers it), and `sheets` holds (offset where a sheet's rows begin, its name).
    """

    doc_id: str
    text: str
    title: str = ""
    source: str = ""
    date: str = ""  # ISO yyyy-mm-dd when stated
    url: str = ""
    path: str = ""  # where it was read from, for messages
    doc_number: str = ""  # 发文字号 as stated, e.g. 城政发〔2023〕7号
    format: str = ""  # what it was read from: txt, md, jsonl, pdf, docx, html, doc, wps, ofd, xlsx, csv, png ...
    pages: tuple[int, ...] = ()
    added: str = ""  # when it entered the index (ISO date and time)
    sheets: tuple[tuple[int, str], ...] = ()
    rows: tuple[int, ...] = ()
    _line_starts: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0] + [m.end() for m in _NEWLINE.finditer(self.text)]
        object.__setattr__(self, "_line_starts", tuple(starts))
        object.__setattr__(self, "pages", tuple(int(p) for p in self.pages))
        object.__setattr__(self, "sheets", tuple((int(o), str(n)) for o, n in self.sheets))
        object.__setattr__(self, "rows", tuple(int(r) for r in self.rows))
        if self.rows and len(self.rows) != len(starts):
            raise ValueError(f"{self.doc_id}: {len(self.rows)} row numbers for {len(starts)} paragraphs")

    @property
    def paragraphs(self) -> list[str]:
        return self.text.split("\n")

    def paragraph_spans(self) -> list[tuple[int, int]]:
        """(start, end) of every paragraph in `text`."""
        ends = [s - 1 for s in self._line_starts[1:]] + [len(self.text)]
        return list(zip(self._line_starts, ends))

    def paragraph_at(self, offset: int) -> int:
        """1-based number of the paragraph holding `offset`."""
        return bisect.bisect_right(self._line_starts, offset)

    def page_at(self, offset: int) -> int | None:
        """1-based number of the page holding `offset`; None for a document without pages."""
        if not self.pages:
            return None
        return max(1, bisect.bisect_right(self.pages, offset))

    def page_range(self, start: int, end: int) -> tuple[int | None, int | None]:
        """(first, last) page of `text[start:end]`; (None, None) for a document without pages."""
        return self.page_at(start), self.page_at(max(start, end - 1))

    def sheet_at(self, offset: int) -> str:
        at = bisect.bisect_right([o for o, _ in self.sheets], offset) - 1
        return self.sheets[at][1] if at >= 0 else ""

    def row_range(self, start: int, end: int) -> tuple[str, int, str, int] | None:
        """(sheet, first row, sheet, last row) of `text[start:end]` for a spreadsheet; None for other documents."""
        if not self.rows:
            return None
        last_offset = max(start, end - 1)
        first, last = self.paragraph_at(start), self.paragraph_at(last_offset)
        return self.sheet_at(start), self.rows[first - 1], self.sheet_at(last_offset), self.rows[last - 1]

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("_line_starts")
        d["pages"] = list(self.pages)
        d["sheets"] = [list(s) for s in self.sheets]
        d["rows"] = list(self.rows)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Document":
        fields = {k: d.get(k, "") for k in ("doc_id", "text", "title", "source", "date", "url", "path", "doc_number", "format", "added")}
        return cls(**fields, pages=tuple(d.get("pages") or ()), sheets=tuple(tuple(s) for s in d.get("sheets") or ()),
                   rows=tuple(d.get("rows") or ()))
