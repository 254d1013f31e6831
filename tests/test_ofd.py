"""OFD read natively: the seeds written by our OFD writer (tests/ofd_writer.py) in the shapes real files take,
read back word for word, paged, with their metadata; hostile OFD files refused with a reason."""
from __future__ import annotations

import io
import re
import zipfile

import pypdfium2 as pdfium
import pytest
from ofd_writer import OLD, ofd_bytes
from render_formats import pdf_bytes, seed_documents, similarity, squash

from index import Document, build_index
from index.ingest import ReadOptions, load_corpus, read_document
from qa import Searcher, ask

GOV = "004_6a50f008523c6f36"
SHAPES = {
    "plain": {},
    "lines in two objects": {"split_lines": True},
    "a text object per character, in page blocks": {"per_char": True, "nested": True},
    "a CTM and the old namespace": {"ctm": True, "namespace": OLD},
}


@pytest.fixture(scope="module")
def seeds():
    return {d.doc_id: d for d in seed_documents()}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_reads_like_the_seed(seeds, tmp_path, shape):
    for doc_id, seed in seeds.items():
        path = tmp_path / f"{doc_id}.ofd"
        path.write_bytes(ofd_bytes(seed, **SHAPES[shape]))
        doc, notes = read_document(path, doc_id)
        assert notes == [] and doc.format == "ofd"
        assert similarity(seed.text, doc.text) >= 0.99, (shape, doc_id)
        assert squash(doc.title) == squash(seed.title)
        # the template's running header and the page numbers are not text
        assert "电子公文" not in doc.text and not re.search(r"(^|\n)- \d+ -", doc.text)
    gov = doc if doc_id == GOV else read_document(tmp_path / f"{GOV}.ofd", GOV)[0]
    assert (gov.doc_number, gov.source, gov.date) == ("城政发〔2023〕7号", "晋城市城区人民政府", "2023-09-18")


def test_each_page_begins_where_the_file_s_page_begins(seeds, tmp_path):
    seed = seeds[GOV]
    path = tmp_path / "plan.ofd"
    path.write_bytes(ofd_bytes(seed))
    doc, _ = read_document(path, GOV)
    with zipfile.ZipFile(path) as z:
        pages = sorted((n for n in z.namelist() if re.fullmatch(r"Doc_0/Pages/Page_\d+/Content.xml", n)),
                       key=lambda n: int(re.search(r"Page_(\d+)", n).group(1)))
        texts = ["".join(re.findall(r">([^<>]+)</ofd:TextCode>", z.read(n).decode())) for n in pages]
    assert len(doc.pages) == len(texts) >= 10
    for number, start in enumerate(doc.pages[1:], start=2):
        assert squash(doc.text[start:start + 30])[:10] in squash(texts[number - 1]), number


def test_several_documents_signatures_and_private_glyphs(seeds, tmp_path):
    first, second = seeds["000_63a4e04b80a11179"], seeds["001_82eddd6c6af7ca57"]
    path = tmp_path / "两份.ofd"
    path.write_bytes(ofd_bytes(first, also=(second,), private=2))
    doc, notes = read_document(path, "两份")
    assert "\ue123" not in doc.text
    assert len(notes) == 1 and "private glyph codes" in notes[0] and "left out" in notes[0]
    # both documents, in order, each on its own pages
    assert similarity(first.text + second.text, doc.text) >= 0.99
    second_start = doc.text.index(squash(second.paragraphs[1])[:12][:6])
    assert doc.page_at(second_start) > doc.page_at(0)


def test_a_scanned_ofd_is_read_by_ocr(seeds, tmp_path):
    seed = seeds["001_82eddd6c6af7ca57"]
    pdf = pdfium.PdfDocument(pdf_bytes(seed))
    images = [pdf[i].render(scale=150 / 72).to_pil().convert("L") for i in range(len(pdf))]
    pdf.close()
    path = tmp_path / "扫描件.ofd"
    path.write_bytes(ofd_bytes(seed, images=images))
    doc, notes = read_document(path, "扫描件")
    assert len(doc.pages) == len(images) >= 2
    assert similarity(seed.text, doc.text) >= 0.9
    off, notes = read_document(path, "扫描件", ReadOptions(ocr_pages=0))
    assert off.text.strip() == "" and notes == [f"{path}: {len(images)} scanned page(s) not read: OCR is off"]
    cut, notes = read_document(path, "扫描件", ReadOptions(ocr_pages=1))
    assert "only the first 1 were read by OCR" in notes[0] and 0 < len(cut.text) < len(doc.text)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_hostile_ofd_files_are_refused_and_the_rest_indexed(seeds, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "通知.ofd").write_bytes(ofd_bytes(seeds[GOV]))
    (folder / "炸弹.ofd").write_bytes(_zip({"OFD.xml": b"<OFD/>", "Doc_0/Pages/Page_0/Content.xml": b" " * 400 * 2**20}))
    (folder / "不是压缩包.ofd").write_bytes("这是一段文字，不是OFD文件。".encode("utf-8"))
    (folder / "没有入口.ofd").write_bytes(_zip({"Doc_0/Document.xml": b"<Document/>"}))
    (folder / "坏的XML.ofd").write_bytes(_zip({"OFD.xml": b"<ofd:OFD xmlns:ofd='x'><DocBody><DocRoot>Doc_0/Document.xml",
                                              "Doc_0/Document.xml": b"<<<"}))
    docs, warnings = load_corpus(folder)
    assert [d.doc_id for d in docs] == ["通知"]
    said = {w.split(":")[0].rsplit("/", 1)[-1]: w for w in warnings}
    assert set(said) == {"炸弹.ofd", "不是压缩包.ofd", "没有入口.ofd", "坏的XML.ofd"}
    assert "zip bomb" in said["炸弹.ofd"]
    assert "not a zip" in said["不是压缩包.ofd"]
    assert "no OFD.xml" in said["没有入口.ofd"] and "damaged OFD file" in said["坏的XML.ofd"]
    assert all(len(w.splitlines()) == 1 for w in warnings)


def test_an_ofd_passage_is_cited_to_its_page(seeds, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for doc_id, seed in seeds.items():
        (folder / f"{doc_id}.ofd").write_bytes(ofd_bytes(seed, split_lines=True))
    index, _ = build_index(folder, tmp_path / "index", progress=False)
    answer = ask(Searcher(index), "公平竞争审查由哪个部门牵头？", k=5).to_dict()
    top = answer["passages"][0]
    assert top["doc_id"] == GOV and top["page_first"] >= 1 and re.search(r"第\d+(–\d+)?页 第\d+", top["citation"])
    doc = index.documents[GOV]
    assert doc.text[top["start"]:top["end"]] == top["text"]
    assert answer["answer"]["text"] == doc.text[answer["answer"]["start"]:answer["answer"]["end"]]


def test_a_one_page_notice_has_its_own_title_and_salutation(tmp_path):
    """One page cannot show which lines repeat, so the template's masthead stays on the page; the title is
    still the line under the 发文字号, and the centred title is not joined to the salutation under it."""
    body = "自2024年5月1日起，全区工程建设项目推行“多测合一”改革，测绘成果一次委托、联合测绘、成果共享，由区自然资源局牵头负责。"
    notice = Document(doc_id="notice", title="关于推行工程建设项目“多测合一”改革的通知", source="晋城市城区人民政府",
                      doc_number="城政办发〔2024〕3号", date="2024-04-08",
                      text="\n".join(["城政办发〔2024〕3号", "各有关单位：", body, "晋城市城区人民政府办公室", "2024年4月8日"]))
    path = tmp_path / "notice.ofd"
    path.write_bytes(ofd_bytes(notice))
    doc, notes = read_document(path, "notice")
    assert notes == [] and doc.title == notice.title
    assert doc.doc_number == "城政办发〔2024〕3号" and doc.date == "2024-04-08"
    paragraphs = doc.text.split("\n")
    assert "各有关单位：" in paragraphs and body in paragraphs
    assert not any(notice.title in p for p in paragraphs)
