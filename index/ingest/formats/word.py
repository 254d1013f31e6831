"""Word files (.docx) with python-docx: paragraphs and tables in document order, each table row one line;
running headers and footers live in their own parts and are never read."""
from __future__ import annotations

import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table

from index.document import Document
from index.ingest.metadata import parse_document
from index.ingest.formats.base import FileRejected

MAX_UNPACKED_MB = 256  # a .docx whose parts unpack to more than this is a zip bomb, not a document
MAX_RATIO = 200  # nor is one that compresses better than this


def check_zip(path: Path, kind: str = ".docx") -> None:
    """Refuse a file that is not a zip archive or that would unpack to far more than it weighs."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        raise FileRejected(f"not a readable {kind} (not a zip archive: {e})") from None
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > MAX_UNPACKED_MB * 2**20 or (unpacked > 10 * 2**20 and unpacked / packed > MAX_RATIO):
        raise FileRejected(f"refused: it would unpack to {unpacked / 2**20:.0f} MB from {packed / 2**20:.1f} MB "
                           f"(a zip bomb, not a {'Word document' if kind == '.docx' else kind + ' file'})")


def _row_line(row) -> str:
    cells: list[str] = []
    for cell in row.cells:  # a merged cell is repeated once per grid column it spans
        text = " ".join(cell.text.split())
        if text and (not cells or cells[-1] != text):
            cells.append(text)
    return "　".join(cells)


def read_docx(path: Path, doc_id: str) -> Document:
    check_zip(path)
    try:
        d = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise FileRejected(f"not a readable .docx ({type(e).__name__}: {e})") from None
    lines: list[str] = []
    for block in d.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(line for line in (_row_line(r) for r in block.rows) if line)
        else:
            lines.append(block.text)
    body, meta = parse_document("\n".join(lines), wrapped=False)
    title = meta.title or (d.core_properties.title or "").strip()
    return Document(doc_id=doc_id, text=body, title=title, source=meta.source, date=meta.date, url=meta.url,
                    path=str(path), doc_number=meta.doc_number, format="docx")
