"""Spreadsheets (.xlsx with openpyxl; .csv; .xls and .et arrive here converted to .xlsx): every data row becomes
one paragraph that carries its header (任务：……；牵头单位：区发改局；完成时限：2023年12月), so a row answers a
question alone, and is cited to its sheet and row (工作表“任务清单” 第12行).

A sheet's layout is read the way people lay one out: title rows (one value across the table) above the header,
a header of one or two rows (a merged cell over sub-headers gives 完成情况-进度), a merged cell down the data rows
standing for every row it covers. Empty rows and formulas without a saved value are left out.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from index.document import Document
from index.ingest.decoding import DecodeError, decode_bytes
from index.ingest.formats.base import FileRejected

MAX_CELLS = 5_000_000  # a sheet larger than this is a data dump, not a document
HEADER_JOIN = "-"
_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}


def _cell_text(value, number_format: str = "General") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return f"{value.year}年{value.month}月{value.day}日"
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, (int, float)):
        if "%" in (number_format or ""):
            return f"{value * 100:.10g}%"
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}" if isinstance(value, float) else str(value)
    text = str(value)
    if text in _ERRORS:  # a formula that failed says nothing a reader can use
        return ""
    return " ".join(text.split())  # a cell's line breaks would split its row into paragraphs


def _grid(sheet) -> list[list[str]]:
    """The sheet's cell texts; a merged range's value stands in every cell it covers."""
    rows = [[_cell_text(c.value, c.number_format) for c in row] for row in sheet.iter_rows()]
    for merged in sheet.merged_cells.ranges:
        value = _cell_text(sheet.cell(merged.min_row, merged.min_col).value,
                           sheet.cell(merged.min_row, merged.min_col).number_format)
        for r in range(merged.min_row, min(merged.max_row, len(rows)) + 1):
            line = rows[r - 1]
            for c in range(merged.min_col, merged.max_col + 1):
                if c - 1 < len(line):
                    line[c - 1] = value
    return rows


def _distinct(cells: list[str]) -> list[str]:
    """Non-empty values, a value repeated by a merged cell across neighbouring columns kept once."""
    out: list[str] = []
    for i, v in enumerate(cells):
        if v and not (i and cells[i - 1] == v):
            out.append(v)
    return out


def _horizontally_merged(sheet, row: int) -> bool:
    return any(m.min_row <= row <= m.max_row and m.max_col > m.min_col for m in sheet.merged_cells.ranges)


def table_rows(grid: list[list[str]], merged_header=lambda row: False) -> tuple[str, list[tuple[int, str]]]:
    """(title, [(row number, row text)]) of one table: title rows, one or two header rows, data rows."""
    numbered = [(i + 1, r) for i, r in enumerate(grid) if any(r)]
    width = max((len(r) for _, r in numbered), default=0)
    title_parts: list[str] = []
    while numbered and width > 1 and len(set(v for v in numbered[0][1] if v)) == 1 and len(numbered) > 1:
        title_parts.append(_distinct(numbered.pop(0)[1])[0])
    if not numbered:
        return " ".join(title_parts), []
    header_number, header = numbered[0]
    if len(_distinct(header)) < 2:  # a single column, or no header: the values alone
        return " ".join(title_parts), [(n, "　".join(_distinct(r))) for n, r in numbered]
    body = numbered[1:]
    names = list(header)
    if body and merged_header(header_number) and body[0][0] == header_number + 1:
        sub = body.pop(0)[1]
        names = [p if not s or s == p else (f"{p}{HEADER_JOIN}{s}" if p else s)
                 for p, s in zip(names + [""] * (len(sub) - len(names)), sub)]
    lines = []
    for number, row in body:
        cells, previous = [], None
        for i, value in enumerate(row):
            name = names[i] if i < len(names) else ""
            if not value or (name, value) == previous:
                continue  # an empty cell, or a merged cell repeated under the same header
            previous = (name, value)
            cells.append(f"{name}：{value}" if name and name != value else value)
        if cells:
            lines.append((number, "；".join(cells)))
    return " ".join(title_parts), lines


def _document(doc_id: str, path: Path, fmt: str, title: str, sheets: list[tuple[str, list[tuple[int, str]]]]) -> Document:
    text_parts, rows, offsets, pos = [], [], [], 0
    for name, lines in sheets:
        if not lines:
            continue
        offsets.append((pos, name))
        for number, line in lines:
            text_parts.append(line)
            rows.append(number)
            pos += len(line) + 1
    if not text_parts:
        raise FileRejected("no rows with text in any sheet")
    return Document(doc_id=doc_id, text="\n".join(text_parts), title=title, path=str(path), format=fmt,
                    sheets=tuple(offsets), rows=tuple(rows))


def read_xlsx(path: Path, doc_id: str, fmt: str = "xlsx") -> Document:
    try:
        book = openpyxl.load_workbook(str(path), data_only=True)  # formulas as their saved values
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as e:
        raise FileRejected(f"not a readable spreadsheet ({type(e).__name__}: {e})") from None
    try:
        sheets, first_title = [], ""
        for sheet in book.worksheets:
            if (sheet.max_row or 0) * (sheet.max_column or 0) > MAX_CELLS:
                raise FileRejected(f"sheet “{sheet.title}” has {sheet.max_row:,} rows x {sheet.max_column:,} columns: "
                                   f"more than {MAX_CELLS:,} cells is a data dump, not a document")
            title, lines = table_rows(_grid(sheet), lambda row, s=sheet: _horizontally_merged(s, row))
            first_title = first_title or title
            sheets.append((sheet.title, lines))
        title = (book.properties.title or "").strip() or first_title
    finally:
        book.close()
    return _document(doc_id, path, fmt, title, sheets)


def read_csv(path: Path, doc_id: str) -> Document:
    try:
        text, _encoding = decode_bytes(path.read_bytes())
    except DecodeError as e:
        raise FileRejected(str(e)) from None
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    try:  # rows numbered as a spreadsheet program shows them: one per record, whatever its line breaks
        grid = [[" ".join(v.split()) for v in row] for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as e:
        raise FileRejected(f"not a readable CSV file ({e})") from None
    title, lines = table_rows(grid)
    return _document(doc_id, path, "csv", title or "", [("", lines)])  # one table: its rows need no sheet name
