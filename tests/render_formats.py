"""Render the seed documents into the formats users keep: PDF (text layer; one of them in two columns),
a scanned PDF (pages as images only), DOCX (with a table, header and footer) and HTML (inside site chrome).

The renderings are made here from the seeds' own cleaned text, never taken from elsewhere, so every test
knows exactly what each file says. Run as a script to look at them:

    python tests/render_formats.py OUT_DIR
"""
from __future__ import annotations

import datetime
import html
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pypdfium2 as pdfium
from docx import Document as DocxDocument
from docx.shared import Pt
from PIL import Image
from rapidfuzz.distance import Levenshtein
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.ingest import load_corpus  # noqa: E402

SEEDS = ROOT / "corpus"
FONT = "STSong-Light"  # Adobe's CID font: reportlab knows it; a PDF viewer maps it to an installed CJK font
TWO_COLUMNS = "003_2a0d0da5d2c1eea9"  # the newspaper page, set in two columns like the original
SCANNED_DPI = 170

pdfmetrics.registerFont(UnicodeCIDFont(FONT))
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=19, firstLineIndent=22, wordWrap="CJK", spaceAfter=2)
_TITLE = ParagraphStyle("title", fontName=FONT, fontSize=17, leading=26, alignment=1, wordWrap="CJK", spaceAfter=10)
_LINE = ParagraphStyle("line", fontName=FONT, fontSize=11, leading=19, alignment=1, wordWrap="CJK")
_RIGHT = ParagraphStyle("right", fontName=FONT, fontSize=11, leading=19, alignment=2, wordWrap="CJK")


def squash(text: str) -> str:
    """Text without whitespace: how two renderings of one document are compared."""
    return re.sub(r"\s+", "", text)


def similarity(a: str, b: str) -> float:
    """1 - normalised edit distance of two texts, whitespace aside."""
    return 1 - Levenshtein.normalized_distance(squash(a), squash(b))


def seed_documents():
    docs, _ = load_corpus(SEEDS)
    return docs


def _header_text(doc) -> str:
    return doc.source or "政务信息"


def pdf_bytes(doc, columns: int = 1) -> bytes:
    """A text PDF of `doc`: title, 发文字号, body paragraphs, signature; a running header and "- N -" page numbers."""
    buf = io.BytesIO()
    width, height = A4
    margin = 22 * mm

    def chrome(canvas, _template):
        canvas.saveState()
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(width / 2, height - 14 * mm, _header_text(doc))
        canvas.line(margin, height - 16 * mm, width - margin, height - 16 * mm)
        canvas.drawCentredString(width / 2, 12 * mm, f"- {canvas.getPageNumber()} -")
        canvas.restoreState()

    template = BaseDocTemplate(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=24 * mm,
                               bottomMargin=22 * mm, title=doc.title, author=doc.source)
    frame_h = height - 46 * mm
    if columns == 2:
        gap = 8 * mm
        col_w = (width - 2 * margin - gap) / 2
        frames = [Frame(margin, 22 * mm, col_w, frame_h, id="left"),
                  Frame(margin + col_w + gap, 22 * mm, col_w, frame_h, id="right")]
    else:
        frames = [Frame(margin, 22 * mm, width - 2 * margin, frame_h, id="body")]
    template.addPageTemplates([PageTemplate(id="page", frames=frames, onPage=chrome)])
    story = []
    if doc.doc_number:
        story.append(Paragraph(escape(doc.doc_number), _LINE))
    if doc.title:
        story.append(Paragraph(escape(doc.title), _TITLE))
    if doc.date and not doc.doc_number:
        story.append(Paragraph(escape(f"发布时间：{doc.date}　来源：{doc.source}" if doc.source else f"发布时间：{doc.date}"), _LINE))
        story.append(Spacer(1, 8))
    body = doc.paragraphs
    if doc.doc_number and doc.source:
        body = [p for p in body if p != doc.doc_number]
    for para in body:
        story.append(Paragraph(escape(para), _BODY))
    if doc.doc_number and doc.source and doc.date:
        y, m, d = doc.date.split("-")
        story += [Spacer(1, 12), Paragraph(escape(doc.source), _RIGHT),
                  Paragraph(escape(f"{int(y)}年{int(m)}月{int(d)}日"), _RIGHT)]
    template.build(story)
    return buf.getvalue()


def scanned_pdf_bytes(text_pdf: bytes, dpi: int = SCANNED_DPI) -> bytes:
    """The pages of `text_pdf` rendered to greyscale images and wrapped into a PDF with no text layer."""
    pdf = pdfium.PdfDocument(text_pdf)
    images = [pdf[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for i in range(len(pdf))]
    pdf.close()
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


def image_only_pdf_bytes(pages: int, dpi: int = 72) -> bytes:
    """A PDF of `pages` blank page images: what a scanner gives for an empty stack."""
    blank = Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), 255)
    buf = io.BytesIO()
    blank.save(buf, format="PDF", save_all=True, append_images=[blank] * (pages - 1), resolution=dpi)
    return buf.getvalue()


def docx_bytes(doc) -> bytes:
    """A Word file: title as a heading, the body paragraphs, a table of the document's particulars, a
    running header and footer that must not be read as text."""
    d = DocxDocument()
    section = d.sections[0]
    section.header.paragraphs[0].text = f"{_header_text(doc)}　内部资料"
    section.footer.paragraphs[0].text = "第 1 页"
    if doc.doc_number:
        d.add_paragraph(doc.doc_number)
    if doc.title:
        d.add_heading(doc.title, level=1)
    if doc.date and not doc.doc_number:
        d.add_paragraph(f"发布时间：{doc.date}　来源：{doc.source}" if doc.source else f"发布时间：{doc.date}")
    for para in doc.paragraphs:
        if doc.doc_number and para == doc.doc_number:
            continue
        p = d.add_paragraph(para)
        p.runs[0].font.size = Pt(12)
    # a table of particulars at the end, as many notices carry one (附表)
    table = d.add_table(rows=3, cols=2)
    for row, (k, v) in zip(table.rows, (("发布单位", doc.source or "未注明"), ("发布日期", doc.date or "未注明"),
                                       ("文件编号", doc.doc_id))):
        row.cells[0].text, row.cells[1].text = k, v
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def html_page(doc) -> str:
    """The article inside a government site's page: navigation, breadcrumbs, share buttons, related links, footer."""
    e = html.escape
    site = doc.source or "政务公开网"
    body = "\n".join(f"<p>{e(p)}</p>" for p in doc.paragraphs)
    date_meta = f'<meta name="PubDate" content="{e(doc.date)}">' if doc.date else ""
    date_line = f'<span class="date">发布时间：{e(doc.date)}</span>' if doc.date else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{e(doc.title)}_{e(site)}</title>
<meta property="og:site_name" content="{e(site)}">
<meta property="og:title" content="{e(doc.title)}">
{date_meta}
<script>var _hmt = _hmt || []; (function() {{ var hm = document.createElement("script"); }})();</script>
<style>body {{ font-family: sans-serif; }} .nav li {{ display: inline; }}</style>
</head><body>
<div class="top"><a href="/">首页</a> | <a href="/en">English</a> | <a href="/m">无障碍浏览</a> | 登录 注册</div>
<ul class="nav"><li><a href="/">网站首页</a></li><li><a href="/zwgk">政务公开</a></li><li><a href="/bsfw">办事服务</a></li>
<li><a href="/hdjl">互动交流</a></li><li><a href="/zjxx">走进本地</a></li></ul>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a> &gt; 政策文件</div>
<div class="main"><div class="article">
<h1>{e(doc.title)}</h1>
<div class="info">{date_line}<span class="source">来源：{e(site)}</span>
<span class="size">字号：<a>大</a> <a>中</a> <a>小</a></span></div>
<div class="content" id="zoom">
{body}
</div>
<div class="share">分享到：<a>微信</a> <a>微博</a> <a>QQ空间</a> 【打印本页】【关闭窗口】</div>
</div>
<div class="related"><h3>相关链接</h3><ul><li><a href="/a1">关于开展2024年度政务公开工作考核的通知</a></li>
<li><a href="/a2">市政府召开常务会议研究部署重点工作</a></li><li><a href="/a3">我市召开优化营商环境工作推进会</a></li></ul></div>
</div>
<div class="footer"><p>主办单位：{e(site)}　承办：信息中心</p><p>网站标识码：1405000001　备案号：晋ICP备05000001号</p>
<p>联系电话：0356-0000000　建议使用1280×768分辨率浏览</p></div>
</body></html>
"""


def render_all(out: Path, scanned: tuple[str, ...] = (TWO_COLUMNS,)) -> dict[str, Path]:
    """Write every seed as pdf/, docx/, html/ (same file stems, so the same doc ids) and the ones named in
    `scanned` as scanned/. Returns the folder of each format."""
    out = Path(out)
    folders = {name: out / name for name in ("pdf", "docx", "html", "scanned")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for doc in seed_documents():
        pdf = pdf_bytes(doc, columns=2 if doc.doc_id == TWO_COLUMNS else 1)
        (folders["pdf"] / f"{doc.doc_id}.pdf").write_bytes(pdf)
        (folders["docx"] / f"{doc.doc_id}.docx").write_bytes(docx_bytes(doc))
        (folders["html"] / f"{doc.doc_id}.html").write_text(html_page(doc), encoding="utf-8")
        if doc.doc_id in scanned:
            (folders["scanned"] / f"{doc.doc_id}.pdf").write_bytes(scanned_pdf_bytes(pdf))
    return folders


def soffice_convert(sources: list[Path], target: str, out: Path, infilter: str = "") -> list[Path]:
    """Convert `sources` with the real LibreOffice (one process, a private profile) into `out`: the writer of
    .doc, .xls and .rtf files, as an office's own would have written them."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={Path(profile).as_uri()}",
                        *([f"--infilter={infilter}"] if infilter else []),
                        "--convert-to", target, "--outdir", str(out), *map(str, sources)],
                       check=True, capture_output=True, env={**os.environ, "HOME": profile})
    made = [out / f"{Path(s).stem}.{target.split(':')[0]}" for s in sources]
    missing = [m for m in made if not m.is_file()]
    assert not missing, f"LibreOffice did not write {missing}"
    return made


def task_list_xlsx(path: Path) -> Path:
    """A task list laid out as offices lay one out: a title row merged across the table, a two-row header (完成情况
    over 进度 and 完成时限), a 牵头单位 merged down two rows, a percentage, a date cell, a formula with no saved
    value, an empty row and an empty second sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "任务清单"
    sheet.append(["晋城市城区2023年营商环境重点任务清单"])
    sheet.merge_cells("A1:E1")
    sheet.append(["序号", "任务", "牵头单位", "完成情况", None])
    sheet.append([None, None, None, "进度", "完成时限"])
    for cells in ("D2:E2", "A2:A3", "B2:B3", "C2:C3"):
        sheet.merge_cells(cells)
    sheet.append([1, "推行“拿地即开工”审批模式", "区发改局", 0.8, datetime.date(2023, 12, 31)])
    sheet.append([2, "开展工程建设项目审批提速", "区住建局", 0.5, "2023年12月"])
    sheet.append([3, "推进“一件事一次办”", None, 1, "2023年10月"])
    sheet.merge_cells("C5:C6")
    for cell in ("D4", "D5", "D6"):
        sheet[cell].number_format = "0%"
    sheet.append([])
    sheet.append([4, "=A4*2", "区财政局", None, None])
    book.create_sheet("空表")
    book.save(path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/render_formats.py OUT_DIR")
    for name, folder in render_all(Path(sys.argv[1])).items():
        print(f"{name}: {folder}")
