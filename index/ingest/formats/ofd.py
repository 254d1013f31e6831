"""OFD (GB/T 33190, the fixed-layout format of official e-documents), read natively with the standard library.

An OFD file is a zip of XML: OFD.xml names each document's Document.xml (DocInfo: title, author, dates), which
lists its pages (Pages/Page_N/Content.xml) and page templates; a page's layers hold TextObjects (a Boundary in
millimetres, a Font, a Size, an optional CTM) with TextCodes (X, Y of the baseline inside the boundary, DeltaX
advances, and the text), possibly nested in PageBlocks, and ImageObjects pointing at images in the resources.
Elements are matched by local name: older files use the namespace `http://www.ofdspec.org` without the year.

Glyphs are placed on the page, grouped into lines by their baselines and read left to right, then laid out,
cleaned and paged like a PDF page (running headers, footers and page numbers removed). Text drawn with private-use
codes (a CGTransform to glyphs of an embedded font) cannot be read back without the font's own tables: those
characters are dropped with a note, never indexed. A page that holds only images is read by OCR from the images
it embeds; a page drawn only as outlines (paths) has nothing this can read and is named in a note.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image, UnidentifiedImageError

from index.document import Document
from index.ingest.formats import ocr
from index.ingest.formats.base import FileRejected, ReadOptions
from index.ingest.formats.layout import Page, Piece, pages_text
from index.ingest.formats.word import check_zip
from index.ingest.metadata import parse_date

DEFAULT_PAGE = (210.0, 297.0)  # A4 in millimetres, when a document states no page area
_PRIVATE = re.compile("[\ue000-\uf8ff]")
_MAX_XML = 64 * 2**20  # one XML part larger than this is not a page


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name: str):
    return [c for c in element if _local(c.tag) == name]


def _child(element, name: str):
    return next((c for c in element if _local(c.tag) == name), None)


def _descendants(element, name: str):
    return [e for e in element.iter() if _local(e.tag) == name]


def _text_of(element, name: str) -> str:
    found = _child(element, name) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _numbers(value: str | None) -> list[float]:
    out = []
    for token in (value or "").replace(",", " ").split():
        try:
            out.append(float(token))
        except ValueError:
            pass
    return out


def _advances(delta: str | None, count: int) -> list[float]:
    """DeltaX/DeltaY as one advance per gap between characters; "g N V" repeats V N times."""
    tokens = (delta or "").split()
    out: list[float] = []
    i = 0
    while i < len(tokens) and len(out) < count:
        if tokens[i] == "g" and i + 2 < len(tokens):
            try:
                out += [float(tokens[i + 2])] * int(float(tokens[i + 1]))
            except ValueError:
                pass
            i += 3
        else:
            try:
                out.append(float(tokens[i]))
            except ValueError:
                pass
            i += 1
    return out[:count]


class _Package:
    """The zip and its XML parts, read by the paths the XML names (never extracted to disk)."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.names = {n.lstrip("/"): n for n in zf.namelist()}

    def resolve(self, base: str, location: str) -> str:
        location = (location or "").strip().replace("\\", "/")
        path = location.lstrip("/") if location.startswith("/") else posixpath.join(base, location)
        return posixpath.normpath(path).lstrip("/")

    def xml(self, path: str):
        name = self.names.get(path)
        if name is None:
            return None
        info = self.zf.getinfo(name)
        if info.file_size > _MAX_XML:
            raise FileRejected(f"its part {path} would unpack to {info.file_size / 2**20:.0f} MB: not an OFD page")
        try:
            return ElementTree.fromstring(self.zf.read(name))
        except ElementTree.ParseError:
            return None

    def data(self, path: str) -> bytes | None:
        name = self.names.get(path)
        return None if name is None else self.zf.read(name)


def _ctm_apply(ctm: list[float], x: float, y: float) -> tuple[float, float]:
    if len(ctm) != 6:
        return x, y
    a, b, c, d, e, f = ctm
    return a * x + c * y + e, b * x + d * y + f


class _PageReader:
    def __init__(self, media: dict[str, str]):
        self.media = media
        self.glyphs: list[tuple[str, float, float, float]] = []  # (char, x, baseline y down, size)
        self.images: list[tuple[list[float], str]] = []  # (boundary, resource path)
        self.private = 0
        self.paths = 0

    def read(self, content) -> None:
        for element in content.iter():
            name = _local(element.tag)
            if name == "TextObject":
                self._text_object(element)
            elif name == "ImageObject":
                ref = element.get("ResourceID", "")
                if ref in self.media:
                    self.images.append((_numbers(element.get("Boundary")), self.media[ref]))
            elif name == "PathObject":
                self.paths += 1

    def _text_object(self, element) -> None:
        boundary = _numbers(element.get("Boundary"))
        if len(boundary) < 2:
            return
        bx, by = boundary[0], boundary[1]
        size = (_numbers(element.get("Size")) or [3.5])[0]
        ctm = _numbers(element.get("CTM"))
        scale = abs(ctm[3]) if len(ctm) == 6 and ctm[3] else 1.0
        for code in _children(element, "TextCode"):
            text = code.text or ""
            if not text:
                continue
            x = (_numbers(code.get("X")) or [0.0])[0]
            y = (_numbers(code.get("Y")) or [0.0])[0]
            dx = _advances(code.get("DeltaX"), len(text) - 1)
            dy = _advances(code.get("DeltaY"), len(text) - 1)
            for i, ch in enumerate(text):
                if _PRIVATE.match(ch):
                    self.private += 1
                elif not ch.isspace():
                    px, py = _ctm_apply(ctm, x, y)
                    self.glyphs.append((ch, bx + px, by + py, size * scale))
                x += dx[i] if i < len(dx) else size
                y += dy[i] if i < len(dy) else 0.0


def _line_pieces(glyphs: list[tuple[str, float, float, float]], page_height: float) -> list[Piece]:
    """Glyphs grouped into lines by their baselines, each line left to right, cut at gaps wider than 2.5 em;
    a gap of more than 0.6 em inside a piece is a space (Latin words set without space glyphs)."""
    pieces: list[Piece] = []
    line: list[tuple[str, float, float, float]] = []

    def close() -> None:
        cur: list[str] = []
        box: list[float] | None = None
        for ch, x, y, size in sorted(line, key=lambda g: g[1]):
            left, right = x, x + size
            if box is not None:
                gap = left - box[1]
                if gap > 2.5 * size:
                    pieces.append(_piece(cur, box, page_height))
                    cur, box = [], None
                elif gap > 0.6 * size and cur:
                    cur.append(" ")
            box = [left, right, y, size] if box is None else [box[0], max(box[1], right), box[2], max(box[3], size)]
            cur.append(ch)
        if box is not None:
            pieces.append(_piece(cur, box, page_height))

    for glyph in sorted(glyphs, key=lambda g: (round(g[2], 1), g[1])):
        if line and abs(glyph[2] - line[-1][2]) > 0.4 * max(glyph[3], line[-1][3]):
            close()
            line = []
        line.append(glyph)
    if line:
        close()
    return pieces


def _piece(chars: list[str], box: list[float], page_height: float) -> Piece:
    left, right, baseline, size = box
    # PDF-style coordinates (y up) as the layout expects: the line from its descent to its ascent
    return Piece("".join(chars), left, page_height - baseline - 0.2 * size, right, page_height - baseline + 0.8 * size)


def _ocr_images(package: _Package, images: list[tuple[list[float], str]], page_height: float) -> list[Piece]:
    pieces: list[Piece] = []
    for boundary, path in images:
        if len(boundary) < 4 or boundary[2] <= 0:
            continue
        data = package.data(path)
        if not data:
            continue
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > 60_000_000:
                    continue
                pixels = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError):
            continue  # a JBIG2 or damaged image: nothing we can read
        if ocr.blank(pixels):
            continue
        x0, y0, width, _height = boundary[:4]
        scale = pixels.shape[1] / width  # pixels per millimetre
        for p in ocr.recognise(pixels, scale, page_height - y0):
            pieces.append(Piece(p.text, p.left + x0, p.bottom, p.right + x0, p.top))
    return pieces


def read_ofd(path: Path, doc_id: str, options: ReadOptions) -> tuple[Document, list[str]]:
    """(document, notes) of an OFD file: every document it holds, page by page."""
    check_zip(path, "OFD")
    notes: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise FileRejected(f"not a readable OFD file ({e})") from None
    with zf:
        package = _Package(zf)
        if "OFD.xml" not in package.names:
            raise FileRejected("not an OFD file (it has no OFD.xml)")
        root = package.xml("OFD.xml")
        if root is None or _local(root.tag) != "OFD":
            raise FileRejected("a damaged OFD file (its OFD.xml cannot be read)")
        if any(i.flag_bits & 0x1 for i in zf.infolist()):
            raise FileRejected("the OFD file is encrypted (password protected)")
        pages: list[Page] = []
        info: dict[str, str] = {}
        private = paths_only = ocr_used = skipped_images = 0
        for body in _descendants(root, "DocBody"):
            doc_info = _child(body, "DocInfo")
            if not info and doc_info is not None:
                info = {k: _text_of(doc_info, k) for k in ("Title", "Author", "CreationDate", "Subject")}
            doc_root = _text_of(body, "DocRoot")
            if not doc_root:
                continue
            doc_path = package.resolve("", doc_root)
            document = package.xml(doc_path)
            if document is None:
                notes.append(f"{path}: {doc_root} is missing or damaged; that document is not read")
                continue
            base = posixpath.dirname(doc_path)
            common = _child(document, "CommonData")
            page_box = _numbers(_text_of(_child(common, "PageArea"), "PhysicalBox")) if common is not None else []
            media = _resources(package, base, common)
            templates = {t.get("ID", ""): package.resolve(base, t.get("BaseLoc", ""))
                         for t in (_children(common, "TemplatePage") if common is not None else [])}
            page_list = _child(document, "Pages")
            entries = _descendants(page_list, "Page") if page_list is not None else []
            for entry in entries:
                page_path = package.resolve(base, entry.get("BaseLoc", ""))
                content = package.xml(page_path)
                number = len(pages) + 1
                if content is None:
                    notes.append(f"{path}: page {number} is missing or damaged")
                    pages.append(Page(number, *(page_box[2:4] if len(page_box) >= 4 else DEFAULT_PAGE), []))
                    continue
                area = _numbers(_text_of(_child(content, "Area"), "PhysicalBox")) if _child(content, "Area") is not None else []
                width, height = (area or page_box or [0, 0, *DEFAULT_PAGE])[2:4]
                reader = _PageReader(media)
                for template in _children(content, "Template"):
                    tpl = package.xml(templates.get(template.get("TemplateID", ""), ""))
                    if tpl is not None:
                        reader.read(tpl)
                reader.read(content)
                private += reader.private
                pieces = _line_pieces(reader.glyphs, height)
                if not pieces and reader.images:
                    if options.ocr_pages > ocr_used:
                        ocr_used += 1
                        pieces = _ocr_images(package, reader.images, height)
                        pages.append(Page(number, width, height, pieces, ocr=True))
                        continue
                    skipped_images += 1
                if not pieces and reader.paths and not reader.images:
                    paths_only += 1
                pages.append(Page(number, width, height, pieces))
    if not pages:
        raise FileRejected("the OFD file holds no pages")
    if private:
        notes.append(f"{path}: {private} characters drawn with private glyph codes could not be mapped back to text "
                     "and were left out")
    if paths_only:
        notes.append(f"{path}: {paths_only} page(s) drawn as outlines only: no text to read")
    if skipped_images and options.ocr_pages <= 0:
        notes.append(f"{path}: {skipped_images} scanned page(s) not read: OCR is off")
    elif skipped_images:
        notes.append(f"{path}: {ocr_used + skipped_images} scanned pages, only the first {options.ocr_pages} were "
                     "read by OCR (raise the limit with --ocr-pages)")
    body_text, meta, page_starts = pages_text(pages)
    # what the page states first (its title, 红头 and 成文日期), then what the file's DocInfo says
    return Document(doc_id=doc_id, text=body_text, title=meta.title or info.get("Title", ""),
                    source=meta.source or info.get("Author", ""), date=meta.date or parse_date(info.get("CreationDate", "")),
                    url=meta.url, path=str(path), doc_number=meta.doc_number, format="ofd", pages=page_starts), notes


def _resources(package: _Package, base: str, common) -> dict[str, str]:
    """Multimedia files (images) by ID, from the document's public and document resources."""
    media: dict[str, str] = {}
    if common is None:
        return media
    for res_name in ("PublicRes", "DocumentRes"):
        for ref in _children(common, res_name):
            res_path = package.resolve(base, ref.text or "")
            res = package.xml(res_path)
            if res is None:
                continue
            res_base = package.resolve(posixpath.dirname(res_path), res.get("BaseLoc", "")) if res.get("BaseLoc") \
                else posixpath.dirname(res_path)
            for item in _descendants(res, "MultiMedia"):
                location = _text_of(item, "MediaFile")
                if location:
                    media[item.get("ID", "")] = package.resolve(res_base, location)
    return media
