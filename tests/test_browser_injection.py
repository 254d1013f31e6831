"""HTML injection through every surface, in a real Chromium against a real server: payloads in document text,
titles, sources, file names (doc ids), questions, an uploaded document's and question set's file names and
contents, and the exported reports opened in the browser. Nothing runs (a dialog listener), no injected element
exists (a DOM check), and each payload shows as text."""
from __future__ import annotations

import json
import shutil
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from test_browser import _new_page

from conftest import CHROMIUM, free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"),
]

IMG, SCRIPT, SVG, IFRAME, JS_URL, TEMPLATE, LINK = (
    "<img src=x onerror=alert(1)>", "<script>alert(2)</script>", '"><svg onload=alert(3)>',
    "'><iframe src=javascript:alert(4)>", "javascript:alert(5)", "{{7*7}}", '<a href="javascript:alert(6)">点我</a>')
PAYLOADS = (IMG, SCRIPT, SVG, IFRAME, JS_URL, TEMPLATE, LINK)
TOPICS = ("晋城市推行拿地即开工，项目审批时间缩短了一半。", "济源示范区推行承诺即入驻，企业当天入驻园区。",
          "保定市推行交房即交证，购房人收房当天领证。", "运城市推行企业开办零成本，免费刻制印章。",
          "临汾市推行标准地出让，工业用地带条件供地。")
# (file name in the corpus, title, source): the file name becomes the doc id; a "/" in it makes folders
DOCUMENTS = (
    (IMG, SVG + "关于拿地即开工的通知" + TEMPLATE, SCRIPT + "日报"),
    (SCRIPT, IMG + "拿地即开工办法", IFRAME + "人民政府"),
    (SVG, LINK + "营商环境", JS_URL),
    (JS_URL, TEMPLATE + "拿地即开工标题", TEMPLATE),
    (IFRAME, JS_URL + "标题", IMG),
)
QUESTION = IMG + "拿地即开工" + SVG + TEMPLATE
# what an injected payload would leave in the page: any of these elements, or a script that calls alert (the
# page's own config, which holds the payloads as JSON strings, is checked to be whole by _inert)
INJECTED = """() => [...document.querySelectorAll('img[src="x"], svg[onload], iframe[src^="javascript"], [onerror], '
    + '[onload], a[href^="javascript"]'), ...[...document.scripts].filter(s => s.textContent.includes('alert(')
    && !s.textContent.startsWith('window.gradio_config = '))]
    .map(e => e.outerHTML.slice(0, 300))"""


def _text(i: int, topic: str) -> str:
    lines = [f"{topic}第{j + 1}条：{p}这段代码应当原样显示为文字。" for j, p in enumerate(PAYLOADS)]
    return "\n".join([topic * 2, *lines, f"本文件编号{i}，与其他文件内容不同。{topic}"])


def _inert(page, *shown: str) -> None:
    """No dialog opened, no injected element, and every payload in `shown` is on the page as text."""
    page.wait_for_timeout(200)  # an onerror/onload handler would fire within this (the DOM check does not wait)
    assert page.evaluate(INJECTED) == []
    # a payload's "</script>" never cut the config script short: it parsed whole
    assert page.evaluate("() => !document.querySelector('script') || !window.location.href.startsWith('http') "
                         "|| typeof window.gradio_config === 'object'")
    text = page.evaluate("document.body.innerText")
    for payload in shown:
        assert payload in text, payload
    assert not page.zq_errors, page.zq_errors


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, seed_index_dir):
    """(url, corpus, index): a served index of documents whose names, titles, sources and text are payloads;
    its 文档库 and 评测 tabs open (--allow-changes)."""
    from index import build_index
    from index.store import EMBEDDINGS
    from qa import Searcher
    from ui.access import Access
    from ui.app import serve

    root = tmp_path_factory.mktemp("hostile")
    corpus, index_dir = root / "corpus", root / "index"
    for i, ((name, title, source), topic) in enumerate(zip(DOCUMENTS, TOPICS)):
        path = corpus / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{title}\n发布时间：2024-05-0{i + 1}　来源：{source}\n{_text(i, topic)}\n", encoding="utf-8")
    shutil.copytree(Path(seed_index_dir) / EMBEDDINGS, index_dir / EMBEDDINGS)
    index, report = build_index(corpus, index_dir, progress=False)
    assert {d[0] for d in DOCUMENTS} == set(index.documents), report.warnings
    assert {(d.title, d.source) for d in index.documents.values()} == {(t, s) for _, t, s in DOCUMENTS}
    port = free_port()
    demo = serve(Searcher(index), port=port, block=False, quiet=True, access=Access(allow_changes=True))
    try:
        yield f"http://127.0.0.1:{port}/", corpus, index
    finally:
        demo.close()


def test_payloads_in_documents_and_questions_stay_text_in_search_full_text_and_basket(browser, hostile, tmp_path):
    url, _, index = hostile
    documents = index.documents
    page = _new_page(browser)
    # a question holding payloads, through a deep link
    page.goto(url + "?" + urllib.parse.urlencode({"q": QUESTION, "k": "5"}))
    page.locator("#zq-results .zq-card").first.wait_for()
    page.wait_for_function("document.querySelector('#zq-results').innerText.includes('共')")
    assert page.locator("#zq-question textarea").input_value() == QUESTION
    assert page.locator("#zq-results .zq-card").count() == 5
    shown = {documents[d] for d in page.locator("#zq-results .zq-card .zq-title").evaluate_all("es => es.map(e => e.dataset.doc)")}
    _inert(page, *(d.title for d in shown), *(d.source for d in shown))
    # the source filter's choices are the sources: open the list
    page.locator("#zq-filters").get_by_text("筛选与设置").click()
    page.locator("#zq-sources input").click()
    page.get_by_role("option", name=SCRIPT + "日报").wait_for()
    _inert(page, SCRIPT + "日报", IFRAME + "人民政府", JS_URL, TEMPLATE, IMG)
    page.keyboard.press("Escape")
    # typed, with a script tag
    box = page.locator("#zq-question textarea")
    box.fill(SCRIPT + "承诺即入驻" + LINK)
    box.press("Enter")
    page.wait_for_function("t => document.querySelector('#zq-question textarea').value === t && "
                           "document.querySelector('#zq-results .zq-card')", arg=SCRIPT + "承诺即入驻" + LINK)
    page.locator("#zq-results .zq-card").first.wait_for()
    _inert(page, SCRIPT, LINK)

    # every document's full text: the title, its source, its id, every payload in the text
    for n in range(5):
        card = page.locator("#zq-results .zq-card").nth(n)
        doc_id = card.locator(".zq-title").get_attribute("data-doc")
        card.locator(".zq-actions .zq-add").first.click()  # into the basket as well
        page.get_by_role("tab", name=f"报告篮（{n + 1}）").wait_for()
        card.locator(".zq-title").click()
        page.locator("#zq-doc .zq-doc-title").wait_for()
        doc = documents[doc_id]
        assert page.locator("#zq-doc .zq-doc-title").inner_text() == doc.title
        _inert(page, doc.title, doc.source, *PAYLOADS)
        page.locator("#zq-doc .zq-back").click()
        page.locator("#zq-results .zq-card").first.wait_for(state="visible")

    page.get_by_role("tab", name="报告篮（5）").click()
    page.locator("#zq-basket .zq-basket-item").nth(4).wait_for()
    _inert(page, *PAYLOADS)
    with page.expect_download() as dl:
        page.locator("#zq-export-md").click()
    md = tmp_path / "report.md"
    dl.value.save_as(md)
    text = md.read_text(encoding="utf-8")
    for payload in PAYLOADS:  # an excerpt is exported exactly as the document has it
        assert payload in text
    with page.expect_download() as dl:
        page.locator("#zq-export-docx").click()
    from docx import Document as Docx

    docx = tmp_path / "report.docx"
    dl.value.save_as(docx)
    body = "\n".join(p.text for p in Docx(str(docx)).paragraphs)
    assert all(payload in body for payload in PAYLOADS)
    # the Markdown export opened in the browser shows its text and runs nothing
    viewer = _new_page(browser)
    viewer.goto(md.as_uri())
    _inert(viewer, IMG, SCRIPT)


def test_payloads_in_the_library_tab_upload_and_delete_confirmation(browser, hostile, tmp_path):
    url, corpus, _ = hostile
    page = _new_page(browser)
    page.goto(url)
    page.get_by_role("tab", name="文档库").click()
    page.locator("#zq-library [role=grid]").wait_for()
    _inert(page, IMG, SCRIPT, SVG, IFRAME, JS_URL, TEMPLATE)
    # an uploaded file whose name is a payload
    upload = tmp_path / f"{SVG}上传.txt"
    upload.write_text("关于推行“交房即交证”的通知\n发布时间：2024-06-01　来源：忻州市人民政府\n忻州市对新建商品房推行交房即交证，"
                      f"购房人收房当天即可领取不动产权证书。{IMG}\n已惠及一万两千户家庭。\n", encoding="utf-8")
    page.locator("#zq-upload input[type=file]").set_input_files(str(upload))
    page.locator("#zq-upload-btn").click()
    page.wait_for_function("document.querySelectorAll('#zq-library-status li').length >= 1", timeout=900_000)
    _inert(page, "上传.txt")
    # the confirmation of a delete lists the chosen document's id, title and file as text
    select = page.locator("#zq-library-select input")
    select.click()
    select.fill("<img src=x")
    page.keyboard.press("Enter")
    page.locator("#zq-delete").click()
    box = page.locator("#zq-confirm-box").first
    box.wait_for(state="visible")
    assert IMG in box.inner_text()
    _inert(page, IMG)
    page.locator("#zq-cancel-delete").click()
    assert (corpus / f"{IMG}.txt").is_file()


def test_payloads_in_an_uploaded_question_set_and_its_reports(browser, hostile, tmp_path):
    from qa import Searcher
    from ui.evaluation import run_eval

    url, _, index = hostile
    folder = tmp_path / "up"
    folder.mkdir()
    qfile = folder / f"{IMG}{TEMPLATE}.jsonl"
    rows = [{"qid": SVG, "question": SCRIPT + "拿地即开工", "gold": [{"doc": IMG, "span": f"{SCRIPT}这段代码"}]},
            {"qid": "q2" + TEMPLATE, "question": LINK + "承诺即入驻", "gold": [{"doc": SCRIPT, "span": "承诺即入驻"}]}]
    qfile.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    page = _new_page(browser)
    page.goto(url)
    page.get_by_role("tab", name="评测").click()
    page.locator("#zq-eval-file input[type=file]").set_input_files(str(qfile))
    page.locator("#zq-eval-file").get_by_text(".jsonl").first.wait_for()
    _inert(page)
    page.locator("#zq-eval-run").click()
    page.wait_for_function("document.querySelector('#zq-eval-status').innerText.includes('评测完成')", timeout=900_000)
    _inert(page, SCRIPT + "拿地即开工", LINK + "承诺即入驻", SVG)
    with page.expect_download() as dl:
        page.locator("#zq-eval-html").click()
    report = tmp_path / "report.html"
    dl.value.save_as(report)
    with page.expect_download() as dl:
        page.locator("#zq-eval-zip").click()
    zipped = tmp_path / "report.zip"
    dl.value.save_as(zipped)
    with zipfile.ZipFile(zipped) as z:
        assert z.read("report.html") == report.read_bytes()

    # the report as written from a file named with payloads (the server may rename an upload; this does not)
    direct = run_eval(Searcher(index), str(qfile), ["bm25", "hybrid"], 5, workdir=tmp_path / "direct")
    assert direct["result"].name == qfile.stem
    for html_file in (report, direct["html"]):
        viewer = _new_page(browser)
        viewer.goto(html_file.as_uri())
        _inert(viewer, SCRIPT + "拿地即开工", LINK + "承诺即入驻", SVG)
    _inert(viewer, qfile.stem)
