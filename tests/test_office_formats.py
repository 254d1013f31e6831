"""The files an office has besides PDF, Word and web pages: old Word (.doc) and WPS (.wps) through LibreOffice,
spreadsheets (.xlsx, .xls, .et, .csv) cited to their rows, scans saved as images. Every file here is written by
a real writer (LibreOffice, openpyxl, Pillow) from the seed documents or a task list made in the test."""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from render_formats import docx_bytes, seed_documents, similarity, soffice_convert, squash, task_list_xlsx

from index import build_index
from index.text import chunk_document
from index.ingest import ReadOptions, load_corpus
from index.ingest.formats import office
from qa import Searcher, ask, cite_document

GOV = "004_6a50f008523c6f36"  # the action plan: 发文字号, issuing body, date, many pages


def bare(text: str) -> str:
    """Without whitespace and quote marks (PDFium gives a PDF's quote marks in drawing order, not reading order)."""
    return re.sub(r"[\s“”‘’\"']+", "", text)


@pytest.fixture(scope="module")
def seeds():
    return {d.doc_id: d for d in seed_documents()}


@pytest.fixture(scope="module")
def word_files(tmp_path_factory, seeds):
    """Every seed as .doc (LibreOffice's Word 97 writer), two of them renamed .wps as WPS Office writes them."""
    root = tmp_path_factory.mktemp("office")
    docx = root / "docx"
    docx.mkdir()
    for doc in seeds.values():
        (docx / f"{doc.doc_id}.docx").write_bytes(docx_bytes(doc))
    made = soffice_convert(sorted(docx.glob("*.docx")), "doc", root / "corpus")
    for path in made[:2]:
        path.rename(path.with_suffix(".wps"))
    return root / "corpus"


@pytest.fixture(scope="module")
def word_docs(word_files, tmp_path_factory):
    cache = tmp_path_factory.mktemp("converted")
    docs, warnings = load_corpus(word_files, ReadOptions(converted=cache))
    assert warnings == []
    return {d.doc_id: d for d in docs}, cache


def test_doc_and_wps_read_like_the_seed(word_docs, seeds):
    docs, _ = word_docs
    assert set(docs) == set(seeds)
    assert sorted(d.format for d in docs.values()) == ["doc", "doc", "doc", "wps", "wps"]
    for doc_id, seed in seeds.items():
        doc = docs[doc_id]
        assert squash(doc.title) == squash(seed.title)
        # the Word rendering adds a table of particulars at the end, left out here as in test_formats
        text = "\n".join(p for p in doc.paragraphs if not p.startswith(("发布单位", "发布日期", "文件编号")))
        assert similarity(seed.text, text) >= 0.98, (doc_id, similarity(seed.text, text))
        assert doc.path.endswith((".doc", ".wps")) and len(doc.pages) >= 1
    gov = docs[GOV]
    assert (gov.doc_number, gov.source, gov.date) == ("城政发〔2023〕7号", "晋城市城区人民政府", "2023-09-18")
    assert len(gov.pages) > 3
    for doc in docs.values():  # offsets into the converted text round-trip
        for chunk in chunk_document(doc):
            assert doc.text[chunk.start:chunk.end] == chunk.text


def test_a_converted_page_is_the_page_of_the_doc(word_docs, word_files):
    """Pages are LibreOffice's pages of the .doc: every page start stands on that page of the converted PDF."""
    docs, cache = word_docs
    gov = docs[GOV]
    source = next(word_files.glob(f"{GOV}.*"))
    pdf = pdfium.PdfDocument(str(cache / f"{office.content_key(source)}.pdf"))
    try:
        pages = [bare(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf))]
    finally:
        pdf.close()
    assert len(gov.pages) == len(pages)
    for number, start in enumerate(gov.pages[1:], start=2):  # page 1 begins with the title, kept out of the text
        assert bare(gov.text[start:start + 40])[:12] in pages[number - 1], number


def test_a_converted_copy_is_never_converted_again(word_docs, word_files, monkeypatch):
    """With the cache filled, reading the folder again needs no LibreOffice at all."""
    docs, cache = word_docs
    assert len(list(cache.glob("*.pdf"))) == len(docs)
    monkeypatch.setattr(office, "soffice", lambda: None)
    again, warnings = load_corpus(word_files, ReadOptions(converted=cache))
    assert warnings == [] and {d.doc_id: d.text for d in again} == {k: d.text for k, d in docs.items()}


def test_without_libreoffice_a_doc_is_skipped_naming_the_package(word_files, tmp_path, monkeypatch):
    monkeypatch.setattr(office, "soffice", lambda: None)
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(next(word_files.glob("*.doc")), folder / "通知.doc")
    (folder / "说明.txt").write_text("关于做好营商环境评价工作的说明\n各单位要按时报送材料。\n", encoding="utf-8")
    docs, warnings = load_corpus(folder, ReadOptions(converted=tmp_path / "cache"))
    assert [d.doc_id for d in docs] == ["说明"]
    assert len(warnings) == 1 and "libreoffice-writer-nogui" in warnings[0] and "通知.doc" in warnings[0]


def test_a_conversion_over_its_time_limit_is_refused(word_files, tmp_path):
    source = next(word_files.glob("*.doc"))
    with office.Converter(time_limit=0.05) as converter:
        converter.convert([(source, office.plan_for(source))])
        assert converter.cached(office.content_key(source), "pdf") is None
        assert "more than" in converter.failures[office.content_key(source)]
    assert not converter.cache.exists()  # its private folder is gone


def test_the_reader_is_chosen_by_the_bytes_not_the_name(word_files, seeds, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    # a .docx saved under a .doc name, a web page saved as .doc, a text file named .doc, an encrypted .xlsx,
    # a Word document named .xls (read as the Word document it is)
    (folder / "伪装.doc").write_bytes(docx_bytes(seeds[GOV]))
    (folder / "网页.doc").write_text("<html><head><title>通知</title></head><body><p>关于开展营商环境评价的通知，"
                                     "请各单位于三月底前报送材料。</p></body></html>", encoding="utf-8")
    (folder / "不是文档.doc").write_text("这只是一段文字，不是Word文件。", encoding="utf-8")
    plain = io.BytesIO(task_list_xlsx(tmp_path / "plain.xlsx").read_bytes())
    locked = io.BytesIO()
    encryptor = OOXMLFile(plain)
    encryptor.encrypt("密码123", locked)
    (folder / "加密.xlsx").write_bytes(locked.getvalue())
    shutil.copy(word_files / f"{GOV}.doc", folder / "错名.xls")
    docs, warnings = load_corpus(folder, ReadOptions(converted=tmp_path / "cache"))
    by_id = {d.doc_id: d for d in docs}
    assert set(by_id) == {"伪装", "网页", "错名"}
    assert "南村镇人民政府" in by_id["错名"].text
    assert by_id["伪装"].format == "doc" and by_id["伪装"].doc_number == "城政发〔2023〕7号"
    assert "三月底前报送材料" in by_id["网页"].text
    reasons = {Path(w.split(":")[0].removeprefix("skipped ")).name: w for w in warnings}
    assert set(reasons) == {"不是文档.doc", "加密.xlsx"}
    assert "not a real old Word file" in reasons["不是文档.doc"]
    assert "encrypted" in reasons["加密.xlsx"]
    assert all(len(w.splitlines()) == 1 for w in warnings)


def test_presentations_and_rtf_read_slide_by_slide(seeds, tmp_path):
    """A .pptx (LibreOffice Impress made it from LibreOffice's PDF of the seed, a slide per page), the same as an
    old .ppt and as a WPS .dps, and the seed as .rtf from its Word rendering."""
    seed = seeds["001_82eddd6c6af7ca57"]
    source = tmp_path / "source"
    source.mkdir()
    (source / "说明.docx").write_bytes(docx_bytes(seed))
    pdf = soffice_convert([source / "说明.docx"], "pdf", tmp_path / "pdf")[0]
    (source / "汇报.pdf").write_bytes(pdf.read_bytes())
    slides = len(pdfium.PdfDocument(str(pdf)))
    folder = tmp_path / "corpus"
    pptx = soffice_convert([source / "汇报.pdf"], "pptx", folder, infilter="impress_pdf_import")[0]
    ppt = soffice_convert([pptx], "ppt", tmp_path / "old")[0]
    shutil.copy(ppt, folder / "汇报旧版.ppt")
    shutil.copy(ppt, folder / "汇报WPS.dps")
    soffice_convert([source / "说明.docx"], "rtf", folder)
    docs, warnings = load_corpus(folder, ReadOptions(converted=tmp_path / "cache"))
    assert warnings == []
    by_id = {d.doc_id: d for d in docs}
    assert {d.format for d in docs} == {"pptx", "ppt", "dps", "rtf"}
    for doc_id in ("汇报", "汇报旧版", "汇报WPS"):
        doc = by_id[doc_id]
        text = "\n".join(p for p in doc.paragraphs if not p.startswith(("发布单位", "发布日期", "文件编号")))
        # a slide imported from a PDF is a text box per line: a few lines come out of order after two conversions
        assert len(doc.pages) == slides and similarity(seed.text, text) >= 0.93, (doc_id, similarity(seed.text, text))
    rtf = "\n".join(p for p in by_id["说明"].paragraphs if not p.startswith(("发布单位", "发布日期", "文件编号")))
    assert similarity(seed.text, rtf) >= 0.98


# ----------------------------------------------------------------------------- spreadsheets
TASK_ROWS = [
    (4, "序号：1；任务：推行“拿地即开工”审批模式；牵头单位：区发改局；完成情况-进度：80%；完成情况-完成时限：2023年12月31日"),
    (5, "序号：2；任务：开展工程建设项目审批提速；牵头单位：区住建局；完成情况-进度：50%；完成情况-完成时限：2023年12月"),
    (6, "序号：3；任务：推进“一件事一次办”；牵头单位：区住建局；完成情况-进度：100%；完成情况-完成时限：2023年10月"),
]


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sheets")
    xlsx = task_list_xlsx(folder / "任务清单.xlsx")
    xls = soffice_convert([xlsx], "xls", folder / "old")[0]  # LibreOffice computes the formula as it saves
    shutil.copy(xls, folder / "任务清单旧版.xls")
    shutil.copy(xls, folder / "任务清单WPS.et")
    shutil.rmtree(folder / "old")
    (folder / "联系人.csv").write_bytes("姓名,职务,单位\n张三,主任,区发改局\n李四,\"副主任\n（兼）\",区财政局\n"
                                     .encode("gbk"))
    docs, warnings = load_corpus(folder, ReadOptions(converted=tmp_path_factory.mktemp("cache")))
    assert warnings == []
    return {d.doc_id: d for d in docs}


def test_each_row_carries_its_header_and_its_row_number(sheets):
    doc = sheets["任务清单"]
    assert doc.title == "晋城市城区2023年营商环境重点任务清单" and doc.format == "xlsx"
    # the formula with no saved value is left out; its row keeps what it has
    assert list(zip(doc.rows, doc.paragraphs)) == TASK_ROWS + [(8, "序号：4；牵头单位：区财政局")]
    assert doc.sheets == ((0, "任务清单"),)
    start = doc.text.index("区发改局")
    assert cite_document(doc, start, start + 4) == "《晋城市城区2023年营商环境重点任务清单》，工作表“任务清单” 第4行"
    assert doc.row_range(0, len(doc.text)) == ("任务清单", 4, "任务清单", 8)


def test_old_excel_and_wps_sheets_read_like_the_xlsx(sheets):
    for doc_id, fmt in (("任务清单旧版", "xls"), ("任务清单WPS", "et")):
        doc = sheets[doc_id]
        assert doc.format == fmt and doc.title == "晋城市城区2023年营商环境重点任务清单"
        assert list(zip(doc.rows, doc.paragraphs))[:3] == TASK_ROWS
        assert doc.paragraphs[3] == "序号：4；任务：2；牵头单位：区财政局"  # LibreOffice saved the formula's value


def test_a_gbk_csv_with_a_line_break_in_a_cell(sheets):
    doc = sheets["联系人"]
    assert doc.paragraphs == ["姓名：张三；职务：主任；单位：区发改局", "姓名：李四；职务：副主任 （兼）；单位：区财政局"]
    assert doc.rows == (2, 3) and cite_document(doc, 0, 5).endswith("第2行")


def test_a_row_answers_a_question_with_its_citation(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    task_list_xlsx(folder / "任务清单.xlsx")
    for doc in seed_documents():
        (folder / f"{doc.doc_id}.txt").write_text(doc.text, encoding="utf-8")
    index, _ = build_index(folder, tmp_path / "index", progress=False)
    answer = ask(Searcher(index), "拿地即开工由哪个部门牵头？", k=5).to_dict()
    short = answer["answer"]
    assert short["text"] == "区发改局" and short["doc_id"] == "任务清单"
    assert short["citation"].endswith("工作表“任务清单” 第4行")
    row = next(p for p in answer["passages"] if p["doc_id"] == "任务清单")
    assert (row["sheet"], row["row_first"]) == ("任务清单", 4) and row["row_last"] >= 4
    doc = index.documents["任务清单"]
    assert doc.text[short["start"]:short["end"]] == "区发改局"


# ----------------------------------------------------------------------------- images
@pytest.fixture(scope="module")
def scans(tmp_path_factory, seeds):
    """Seed 001 printed by reportlab and scanned at 170 dpi: one page as PNG, every page as one TIFF."""
    from render_formats import pdf_bytes

    folder = tmp_path_factory.mktemp("scans")
    pdf = pdfium.PdfDocument(pdf_bytes(seeds["001_82eddd6c6af7ca57"]))
    images = [pdf[i].render(scale=170 / 72).to_pil().convert("L") for i in range(len(pdf))]
    pdf.close()
    images[0].save(folder / "第一页.png", dpi=(170, 170))
    images[0].save(folder / "手机拍照.jpg", dpi=(170, 170), quality=90)
    images[0].save(folder / "全文.tif", save_all=True, append_images=images[1:], dpi=(170, 170),
                   compression="tiff_lzw")
    (folder / "坏图.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    docs, warnings = load_corpus(folder)
    return {d.doc_id: d for d in docs}, warnings, len(images)


def test_scanned_images_are_read_by_ocr(scans, seeds):
    docs, warnings, n_pages = scans
    seed = seeds["001_82eddd6c6af7ca57"]
    assert set(docs) == {"第一页", "手机拍照", "全文"}
    whole = docs["全文"]
    assert whole.format == "tif" and len(whole.pages) == n_pages >= 2
    assert squash(whole.title) == squash(seed.title)
    assert similarity(seed.text, whole.text) >= 0.9
    first_page = whole.text[:whole.pages[1]]
    for name in ("第一页", "手机拍照"):
        assert docs[name].pages == () and similarity(docs[name].text, first_page) >= 0.95, name
    assert len(warnings) == 1 and "坏图.png" in warnings[0] and "image" in warnings[0]


def test_a_row_card_names_its_sheet_and_row():
    from ui.render import render_passage

    text = TASK_ROWS[0][1]
    passage = {"rank": 1, "score": 1.0, "doc_id": "任务清单", "title": "任务清单", "start": 0, "end": len(text),
               "text": text, "paragraph": 1, "citation": "《任务清单》，工作表“任务清单” 第4行",
               "sheet": "任务清单", "row_first": 4, "row_last": 4}
    html = render_passage(passage, "拿地即开工由哪个部门牵头")
    assert "工作表“任务清单” 第4行" in html and "第1段" not in html
