"""Real documents: the seeds rendered into PDF (one in two columns), a scanned PDF, DOCX and HTML by
tests/render_formats.py, read back with the real libraries (PDFium, RapidOCR, python-docx, trafilatura),
indexed with the real model and checked against the .txt seeds: text, metadata, pages, recall."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from rapidfuzz.distance import Levenshtein
from render_formats import TWO_COLUMNS, docx_bytes, image_only_pdf_bytes, pdf_bytes, render_all, seed_documents
from reportlab.lib import pdfencrypt
from reportlab.pdfgen import canvas

from eval import QuestionSet, evaluate_questions
from eval.questions import locate
from index import build_index
from index.ingest import FileRejected, ReadOptions, read_document
from index.ingest import load_corpus
from qa import Searcher, ask, cite_document

ROOT = Path(__file__).resolve().parents[1]
SEED_QUESTIONS = ROOT / "eval" / "questions" / "seed.jsonl"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_all(tmp_path_factory.mktemp("formats"))


@pytest.fixture(scope="module")
def seeds():
    return {d.doc_id: d for d in seed_documents()}


@pytest.fixture(scope="module")
def loaded(rendered):
    out = {}
    for name in ("pdf", "docx", "html"):
        docs, warnings = load_corpus(rendered[name])
        assert warnings == [], (name, warnings)
        out[name] = {d.doc_id: d for d in docs}
    return out


@pytest.mark.parametrize("fmt", ["pdf", "docx", "html"])
def test_every_format_reads_like_the_text_seed(loaded, seeds, fmt):
    docs = loaded[fmt]
    assert set(docs) == set(seeds)
    for doc_id, seed in seeds.items():
        doc = docs[doc_id]
        assert doc.format == fmt
        assert squash(doc.title) == squash(seed.title), (fmt, doc_id)
        # the same words in the same order: only whitespace and the odd paragraph break may differ
        # (the Word rendering adds a table of particulars, checked on its own below)
        text = "\n".join(p for p in doc.paragraphs if not p.startswith(("发布单位　", "发布日期　", "文件编号　")))
        similarity = 1 - Levenshtein.normalized_distance(squash(seed.text), squash(text))
        assert similarity >= 0.985, (fmt, doc_id, similarity)
    # 发文字号, issuing body and date as the government document states them
    gov = docs["004_6a50f008523c6f36"]
    assert (gov.doc_number, gov.source, gov.date) == ("城政发〔2023〕7号", "晋城市城区人民政府", "2023-09-18")


@pytest.mark.parametrize("fmt", ["pdf", "docx", "html"])
def test_gold_spans_are_found_in_every_format(loaded, fmt):
    questions = QuestionSet.load(SEED_QUESTIONS)
    missing = [(q.qid, g.span) for q in questions.questions for g in q.gold
               if not locate(g.span, loaded[fmt][g.doc].text)]
    assert missing == []


def test_pdf_chrome_is_left_out(loaded, rendered):
    for doc in loaded["pdf"].values():
        paragraphs = set(doc.paragraphs)
        assert "政务信息" not in paragraphs and (not doc.source or doc.source not in paragraphs or doc.doc_number)
        assert not any(re.fullmatch(r"- \d+ -", p) for p in paragraphs)
    # the running header of the two-column newspaper ("政务信息") stands on every page and nowhere in the text
    assert "政务信息" not in loaded["pdf"][TWO_COLUMNS].text


def test_two_columns_are_read_column_by_column(loaded, seeds):
    doc, seed = loaded["pdf"][TWO_COLUMNS], seeds[TWO_COLUMNS]
    pdf_text = pdfium.PdfDocument(pdf_bytes(seed, columns=2))
    assert len(pdf_text) >= 3
    # a sentence that wraps across a line of the left column reads whole
    for sentence in ("数智赋能保定打造服务周到便利高效政务环境", "聚力深化\"拿地即开工\""):
        assert sentence in doc.text
    assert 1 - Levenshtein.normalized_distance(squash(seed.text), squash(doc.text)) >= 0.99


def _page_texts(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [squash(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf))]
    finally:
        pdf.close()


def _stands_on(piece: str, pages: list[str]) -> bool:
    """Does `piece` stand on one of `pages`, or begin on one and end on the next?"""
    if any(piece in page for page in pages):
        return True
    return any(piece[:k] in a and piece[k:] in b for a, b in zip(pages, pages[1:]) for k in range(1, len(piece)))


def test_every_chunk_stands_on_the_pages_it_cites(rendered, loaded):
    from index.text import chunk_document

    checked = wrong = 0
    for doc in loaded["pdf"].values():
        pages = _page_texts(rendered["pdf"] / f"{doc.doc_id}.pdf")
        assert len(doc.pages) == len(pages)
        for chunk in chunk_document(doc):
            assert doc.text[chunk.start:chunk.end] == chunk.text
            # every paragraph piece of the chunk stands on its pages; it begins on the first and ends on the
            # last (between pages stand a running header and a page number; the title is not in the text)
            pieces = [squash(p) for p in chunk.text.split("\n") if squash(p)]
            cited = pages[chunk.page_first - 1 : chunk.page_last]
            checked += 1
            wrong += (
                pieces[0][:10] not in pages[chunk.page_first - 1]
                or pieces[-1][-10:] not in pages[chunk.page_last - 1]
                or not all(_stands_on(p, cited) for p in pieces)
                or (chunk.page_last > chunk.page_first and squash(chunk.text) in pages[chunk.page_first - 1])
            )
    assert checked > 60 and wrong == 0


def test_citation_names_the_page(loaded):
    doc = loaded["pdf"]["004_6a50f008523c6f36"]
    assert len(doc.pages) > 3
    second = doc.pages[1]
    cite = cite_document(doc, second - 30, second + 30)
    assert cite.startswith("《晋城市城区2023年营商环境创新提升行动方案》，晋城市城区人民政府，城政发〔2023〕7号，2023-09-18，第1–2页 第")
    assert "第2页 第" in cite_document(doc, second + 1, second + 20)
    # formats without pages cite paragraphs only
    assert "页" not in cite_document(loaded["docx"]["004_6a50f008523c6f36"], 0, 10).split("，")[-1]


def test_docx_tables_and_no_running_header(loaded):
    doc = loaded["docx"]["004_6a50f008523c6f36"]
    assert "发布单位　晋城市城区人民政府" in doc.paragraphs
    assert "内部资料" not in doc.text and "第 1 页" not in doc.text


def test_html_main_text_without_site_chrome(loaded):
    for doc in loaded["html"].values():
        for chrome in ("网站首页", "当前位置", "分享到", "备案号", "相关链接", "打印本页", "无障碍浏览"):
            assert chrome not in doc.text, (doc.doc_id, chrome)
    doc = loaded["html"]["000_63a4e04b80a11179"]
    assert (doc.source, doc.date) == ("太行日报", "2026-01-19")


def test_scanned_pdf_is_read_by_ocr(rendered, seeds):
    path = rendered["scanned"] / f"{TWO_COLUMNS}.pdf"
    assert squash("".join(_page_texts(path))) == ""  # no text layer at all
    doc, notes = read_document(path, TWO_COLUMNS, ReadOptions())
    assert notes == []
    accuracy = 1 - Levenshtein.distance(squash(seeds[TWO_COLUMNS].text), squash(doc.text)) / len(squash(seeds[TWO_COLUMNS].text))
    assert accuracy >= 0.97, accuracy
    assert len(doc.pages) >= 3 and doc.page_at(len(doc.text) - 1) == len(doc.pages)


@pytest.fixture(scope="module")
def recall(rendered, tmp_path_factory):
    """recall@5 (hybrid) of the seed questions over the .txt seeds and each rendering."""
    questions = QuestionSet.load(SEED_QUESTIONS)
    out = {}
    for name, corpus in (("txt", ROOT / "corpus"), ("pdf", rendered["pdf"]), ("docx", rendered["docx"]), ("html", rendered["html"])):
        index, _ = build_index(corpus, tmp_path_factory.mktemp(f"index-{name}"), progress=False)
        result = evaluate_questions(Searcher(index), questions, retrievers=("hybrid",), progress=False)
        out[name] = result.metrics["hybrid"]["recall@5"]
    return out


@pytest.mark.parametrize("fmt", ["pdf", "docx", "html"])
def test_recall_from_each_format_matches_the_text_corpus(recall, fmt):
    assert recall[fmt] >= recall["txt"] - 0.01, recall


def test_pdf_answers_carry_their_pages(rendered, tmp_path):
    index, _ = build_index(rendered["pdf"], tmp_path / "index", progress=False)
    answer = ask(Searcher(index), "城区推行哪些审批改革？", k=5).to_dict()
    for p in answer["passages"]:
        assert p["page_first"] >= 1 and p["page_last"] >= p["page_first"]
        assert f"第{p['page_first']}" in p["citation"]
        doc = index.documents[p["doc_id"]]
        assert doc.text[p["start"]:p["end"]] == p["text"]


# --- bad input --------------------------------------------------------------------------------
def _encrypted_pdf(path: Path) -> None:
    c = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("secret", canPrint=0))
    c.drawString(72, 700, "confidential")
    c.save()


def _zip_bomb_docx(path: Path, seed) -> None:
    """A real .docx with one more part that unpacks to 1 GB of zeros."""
    path.write_bytes(docx_bytes(seed))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("word/media/padding.bin", "w", force_zip64=True) as f:
            block = b"\0" * 2**24
            for _ in range(64):
                f.write(block)


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_indexed(seeds, tmp_path):
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    good = seeds["000_63a4e04b80a11179"]
    (corpus / "news.pdf").write_bytes(pdf_bytes(good))
    (corpus / "report.docx").write_bytes(docx_bytes(seeds["001_82eddd6c6af7ca57"]))
    (corpus / "plain.txt").write_text((ROOT / "corpus" / "002_f759bb1158af3451.txt").read_text(encoding="utf-8"), encoding="utf-8")
    _encrypted_pdf(corpus / "locked.pdf")
    whole = pdf_bytes(seeds["004_6a50f008523c6f36"])
    (corpus / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    (corpus / "empty.docx").write_bytes(b"")
    _zip_bomb_docx(corpus / "bomb.docx", good)
    with open(corpus / "huge.pdf", "wb") as f:  # 300 MB, sparse: nothing is written but its size
        f.truncate(300 * 2**20)
    (corpus / "blank-scan.pdf").write_bytes(image_only_pdf_bytes(200))
    (corpus / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    (corpus / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (corpus / "bundle.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)

    index, report = build_index(corpus, tmp_path / "index", progress=False)
    assert set(index.documents) == {"news", "report", "plain"}
    messages = "\n".join(report.warnings)

    def said(name: str, reason: str) -> bool:
        return any(name in w and re.search(reason, w) for w in report.warnings)

    assert said("locked.pdf", "encrypted"), messages
    assert said("truncated.pdf", "damaged or truncated"), messages
    assert said("empty.docx", r"empty file \(0 bytes\)"), messages
    assert said("bomb.docx", "zip bomb"), messages
    assert said("huge.pdf", "300 MB is more than the 200 MB limit"), messages
    assert said("blank-scan.pdf", "200 scanned pages, only the first 100"), messages
    assert said("blank-scan.pdf", "no text after cleaning"), messages
    assert said("old.doc", r"not a real old Word file"), messages
    assert said("photo.png", r"not a readable image"), messages
    assert said("bundle.zip", r"the archive holds no files"), messages



def test_reading_a_bad_file_directly_raises_a_clear_error(tmp_path, seeds):
    locked = tmp_path / "locked.pdf"
    _encrypted_pdf(locked)
    with pytest.raises(FileRejected, match="encrypted"):
        read_document(locked, "x")
    not_docx = tmp_path / "fake.docx"
    not_docx.write_bytes(b"this is not a zip archive")
    with pytest.raises(FileRejected, match="not a zip archive"):
        read_document(not_docx, "x")


NOTICE = ("山西省人民政府办公厅关于进一步优化营商环境的通知", "晋政办发〔2025〕12号", "2025年3月6日",
          "各市人民政府，省直各部门：", "为进一步优化营商环境，现将有关事项通知如下。一、全面推行拿地即开工。")


def _notice_pdf(path: Path) -> None:
    """A notice as offices print it: title, 发文字号, the date under them, then the body (reportlab, CJK font)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    y = 780
    for n, line in enumerate(NOTICE):
        c.setFont("STSong-Light", 16 if n == 0 else 12)
        c.drawString(60, y, line)
        y -= 30
    c.save()


def _notice_docx(path: Path) -> None:
    from docx import Document as DocxDocument

    d = DocxDocument()
    d.add_heading(NOTICE[0], level=1)
    for line in NOTICE[1:]:
        d.add_paragraph(line)
    d.save(str(path))


@pytest.mark.parametrize("make, suffix", [(_notice_pdf, ".pdf"), (_notice_docx, ".docx")])
def test_a_notice_date_under_its_title_and_number_is_its_date(tmp_path, make, suffix):
    path = tmp_path / f"notice{suffix}"
    make(path)
    doc, _ = read_document(path, "notice")
    assert doc.date == "2025-03-06"
    assert doc.doc_number == "晋政办发〔2025〕12号"
    assert "拿地即开工" in doc.text
    assert cite_document(doc, 0, 5).count("2025-03-06") == 1


def test_page_map_survives_a_caption_moved_by_the_cleaning():
    from index.ingest.formats.layout import align_pages

    # the caption interrupts a paragraph on page 1; the cleaning moves it after the paragraph. Its first
    # characters (保, 定) also stand on page 2: matching one character at a time walked the position there.
    page1 = "聚焦企业群众急难愁盼，建立全面受理、高效办理、未诉先办的\n保定市政务服务中心一角（供图）\n12345热线接诉即办工作机制。\n畅通渠道，开发保省心移动端。\n"
    page2 = "一个平台构建四端五全新模式，保定市政务服务中心提供帮办代办。\n"
    body = ("聚焦企业群众急难愁盼，建立全面受理、高效办理、未诉先办的12345热线接诉即办工作机制。\n保定市政务服务中心一角（供图）\n"
            "畅通渠道，开发保省心移动端。\n一个平台构建四端五全新模式，保定市政务服务中心提供帮办代办。")
    starts = align_pages(page1 + page2, [0, len(page1)], body)
    assert body[starts[1]:].startswith("一个平台")
