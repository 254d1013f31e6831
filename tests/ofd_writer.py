"""An OFD writer for the tests and the benchmark: a document laid out on A4 pages as an e-document system lays
it out (GB/T 33190): DocInfo, a page template with a running header, title and 发文字号 centred, paragraphs
wrapped with a two-character first-line indent, a page number at the foot of each page, a signature and an
annotation part. Options make the files the reader must survive: each line drawn as two text objects or one
object per character, lines nested in PageBlocks, a CTM that scales the glyph space, the old namespace without
its year, several documents in one file, private-use glyph codes, and pages that are only images (scans).
"""
from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

NEW = "http://www.ofdspec.org/2016"
OLD = "http://www.ofdspec.org"
WIDTH, HEIGHT = 210.0, 297.0
LEFT, TOP, BOTTOM = 25.0, 30.0, 270.0
SIZE = 4.2333  # 12 pt in millimetres
LEADING = 7.6
PER_LINE = int((WIDTH - 2 * LEFT) // SIZE)


def _lines(doc) -> list[tuple[str, float, float]]:
    """(text, x, size) of every line of `doc` as laid out: centred 发文字号 and title, indented paragraphs."""
    out: list[tuple[str, float, float]] = []

    def centred(text: str, size: float) -> None:
        for i in range(0, len(text), int((WIDTH - 2 * LEFT) // size)):
            part = text[i:i + int((WIDTH - 2 * LEFT) // size)]
            out.append((part, (WIDTH - len(part) * size) / 2, size))

    if doc.doc_number:
        centred(doc.doc_number, SIZE)
    if doc.title:
        centred(doc.title, 6.0)
    for paragraph in doc.paragraphs:
        if doc.doc_number and paragraph == doc.doc_number:
            continue
        text = "".join(paragraph.split()) if not any("a" <= c.lower() <= "z" for c in paragraph) else paragraph
        first = True
        while text:
            room = PER_LINE - (2 if first else 0)
            out.append((text[:room], LEFT + (2 * SIZE if first else 0), SIZE))
            text, first = text[room:], False
    return out


def _text_object(ids, text: str, x: float, y: float, size: float, *, ctm: bool) -> str:
    n = next(ids)
    width = len(text) * size + 1
    if ctm:  # glyph space in ems, scaled to millimetres by the CTM
        return (f'<ofd:TextObject ID="{n}" Boundary="{x:.3f} {y - size:.3f} {width:.3f} {size * 1.4:.3f}" Font="3" '
                f'Size="1" CTM="{size:.4f} 0 0 {size:.4f} 0 0"><ofd:FillColor Value="0 0 0"/>'
                f'<ofd:TextCode X="0" Y="1" DeltaX="g {max(len(text) - 1, 0)} 1">{escape(text)}</ofd:TextCode></ofd:TextObject>')
    return (f'<ofd:TextObject ID="{n}" Boundary="{x:.3f} {y - size:.3f} {width:.3f} {size * 1.4:.3f}" Font="3" '
            f'Size="{size:.4f}"><ofd:FillColor Value="0 0 0"/>'
            f'<ofd:TextCode X="0" Y="{size:.4f}" DeltaX="g {max(len(text) - 1, 0)} {size:.4f}">{escape(text)}'
            '</ofd:TextCode></ofd:TextObject>')


def _page_xml(ns: str, body: str, template: bool) -> str:
    tpl = '<ofd:Template TemplateID="2" ZOrder="Background"/>' if template else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{ns}">{tpl}'
            f'<ofd:Area><ofd:PhysicalBox>0 0 {WIDTH} {HEIGHT}</ofd:PhysicalBox></ofd:Area>'
            f'<ofd:Content><ofd:Layer ID="4">{body}</ofd:Layer></ofd:Content></ofd:Page>')


def _counter(start: int = 10):
    n = start
    while True:
        yield n
        n += 1


def _document_parts(doc, ns: str, *, split_lines: bool, per_char: bool, nested: bool, ctm: bool, private: int,
                    images) -> tuple[dict[str, bytes], int]:
    """The parts of one Doc_N folder (paths relative to it) and its page count."""
    ids = _counter()
    parts: dict[str, bytes] = {}
    pages: list[str] = []
    if images:
        for i, image in enumerate(images):
            buf = io.BytesIO()
            image.save(buf, format="PNG")
            parts[f"Res/page{i}.png"] = buf.getvalue()
            pages.append(f'<ofd:ImageObject ID="{next(ids)}" ResourceID="{100 + i}" Boundary="0 0 {WIDTH} {HEIGHT}" '
                         f'CTM="{WIDTH} 0 0 {HEIGHT} 0 0"/>')
    else:
        lines = _lines(doc)
        per_page = int((BOTTOM - TOP) // LEADING)
        hidden = private
        for start in range(0, len(lines), per_page):
            objects = []
            for row, (text, x, size) in enumerate(lines[start:start + per_page]):
                y = TOP + (row + 1) * LEADING
                if hidden and len(text) > 4:  # a glyph drawn by its code in an embedded font's private area
                    text = text[:2] + "\ue123" + text[3:]
                    hidden -= 1
                if per_char:
                    pieces = [(ch, x + i * size) for i, ch in enumerate(text)]
                elif split_lines and len(text) > 6:
                    cut = len(text) // 3
                    pieces = [(text[:cut], x), (text[cut:], x + cut * size)]
                else:
                    pieces = [(text, x)]
                drawn = "".join(_text_object(ids, t, px, y, size, ctm=ctm) for t, px in pieces)
                objects.append(f"<ofd:PageBlock ID=\"{next(ids)}\">{drawn}</ofd:PageBlock>" if nested else drawn)
            number = f"- {start // per_page + 1} -"
            objects.append(_text_object(ids, number, (WIDTH - len(number) * 3.0) / 2, 285.0, 3.0, ctm=False))
            pages.append("".join(objects))
    for i, body in enumerate(pages):
        parts[f"Pages/Page_{i}/Content.xml"] = _page_xml(ns, body, template=not images).encode("utf-8")
    header = f"{doc.source or '政务信息'}　电子公文"
    parts["Tpls/Tpl_0/Content.xml"] = _page_xml(
        ns, _text_object(ids, header, LEFT, 18.0, 3.5, ctm=False), template=False).encode("utf-8")
    media = "".join(f'<ofd:MultiMedia ID="{100 + i}" Type="Image" Format="PNG"><ofd:MediaFile>page{i}.png'
                    '</ofd:MediaFile></ofd:MultiMedia>' for i in range(len(images or ())))
    parts["PublicRes.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{ns}" BaseLoc="Res">'
                              '<ofd:Fonts><ofd:Font ID="3" FontName="宋体" FamilyName="宋体"/></ofd:Fonts>'
                              f'<ofd:MultiMedias>{media}</ofd:MultiMedias></ofd:Res>').encode("utf-8")
    page_list = "".join(f'<ofd:Page ID="{1000 + i}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i in range(len(pages)))
    parts["Document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{ns}"><ofd:CommonData>'
        f'<ofd:MaxUnitID>{next(ids)}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 {WIDTH} {HEIGHT}'
        '</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>'
        '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
        f'<ofd:Pages>{page_list}</ofd:Pages><ofd:Annotations>Annots/Annotations.xml</ofd:Annotations>'
        '</ofd:Document>').encode("utf-8")
    parts["Annots/Annotations.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Annotations xmlns:ofd="{ns}">'
                                       '<ofd:Page PageID="1000"><ofd:FileLoc>Annots/Page_0/Annotation.xml</ofd:FileLoc>'
                                       '</ofd:Page></ofd:Annotations>').encode("utf-8")
    parts["Annots/Page_0/Annotation.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:PageAnnot xmlns:ofd="{ns}">'
                                             '<ofd:Annot ID="1" Type="Stamp"/></ofd:PageAnnot>').encode("utf-8")
    parts["Signs/Signatures.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="{ns}">'
                                     '<ofd:Signature ID="1" BaseLoc="Sign_0/Signature.xml"/></ofd:Signatures>').encode()
    parts["Signs/Sign_0/Signature.xml"] = b'<?xml version="1.0" encoding="UTF-8"?><Signature/>'
    parts["Signs/Sign_0/SignedValue.dat"] = bytes(range(256))
    return parts, len(pages)


def ofd_bytes(doc, *, namespace: str = NEW, split_lines: bool = False, per_char: bool = False, nested: bool = False,
              ctm: bool = False, also=(), private: int = 0, images=None) -> bytes:
    """An OFD file of `doc` (an `index.Document`), and of the documents in `also` after it (several documents
    in one file); `images` (PIL images) makes its pages scans instead of text."""
    buf = io.BytesIO()
    bodies = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in enumerate((doc, *also)):
            parts, _ = _document_parts(d, namespace, split_lines=split_lines, per_char=per_char, nested=nested,
                                       ctm=ctm, private=private, images=images if n == 0 else None)
            for name, data in parts.items():
                z.writestr(f"Doc_{n}/{name}", data)
            date = f"<ofd:CreationDate>{d.date}</ofd:CreationDate>" if d.date else ""
            bodies.append(
                f'<ofd:DocBody><ofd:DocInfo><ofd:DocID>{n:032x}</ofd:DocID><ofd:Title>{escape(d.title)}</ofd:Title>'
                f'<ofd:Author>{escape(d.source)}</ofd:Author>{date}</ofd:DocInfo>'
                f'<ofd:DocRoot>Doc_{n}/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_{n}/Signs/Signatures.xml'
                '</ofd:Signatures></ofd:DocBody>')
        z.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{namespace}" Version="1.0" '
                              f'DocType="OFD">{"".join(bodies)}</ofd:OFD>')
    return buf.getvalue()
