"""The web page in a real browser: Debian's Chromium driven by Playwright against a real `zhqa serve`.

Screenshots go to the pytest temp folder (printed at the end of the session, see `shots`).
Needs the Debian packages chromium and fonts-noto-cjk; never downloads a browser.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import CHROMIUM, CORPUS, ROOT, free_port

QUESTION = "哪些城市推行拿地即开工?"
PLACES = ("晋城市", "济源市", "保定市")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"),
]


def _zhqa() -> list[str]:
    exe = Path(sys.executable).with_name("zhqa")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ui.cli"]


@pytest.fixture(scope="session")
def zhqa_server(seed_index_dir, tmp_path_factory):
    """A real `zhqa serve` subprocess on a free port (the seed index is already built)."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    cmd = [*_zhqa(), "serve", "--port", str(port), "--index", str(seed_index_dir), "--corpus", str(CORPUS)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"zhqa serve exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"zhqa serve did not answer within 300 s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def documents(seed_index_dir):
    from index import load_index

    return load_index(seed_index_dir).documents


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    print(f"\nscreenshots: {folder}")


def _new_page(browser, width=1280, height=900, locale="zh-CN"):
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True,
                              permissions=["clipboard-read", "clipboard-write"], locale=locale)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.zq_errors = errors  # type: ignore[attr-defined]
    return page


def _ask(page, url, question=QUESTION):
    page.goto(url)
    box = page.locator("#zq-question textarea")
    box.wait_for()
    box.fill(question)
    box.press("Enter")
    page.locator("#zq-results .zq-card").first.wait_for()
    page.wait_for_function("document.querySelector('#zq-results').innerText.includes('共')")


def _card_data(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('#zq-results .zq-card')].map(c => {
        const open = c.querySelector('.zq-title');
        return {doc: open.dataset.doc, start: Number(open.dataset.start), end: Number(open.dataset.end),
                title: open.innerText, source: c.querySelector('.zq-source').innerText,
                cite: c.querySelector('.zq-cite').innerText, text: c.querySelector('.zq-text').innerText};
    })""")


def test_ask_read_answer_copy_and_open_document(browser, zhqa_server, documents, shots):
    page = _new_page(browser)
    _ask(page, zhqa_server)
    cards = _card_data(page)
    assert len(cards) == 5
    assert {"000_63a4e04b80a11179", "003_2a0d0da5d2c1eea9"} <= {c["doc"] for c in cards}
    for c in cards:
        assert c["cite"].startswith("出处：《") and "段" in c["cite"]
        assert c["text"] == documents[c["doc"]].text[c["start"]:c["end"]]
    marks = page.locator("#zq-results mark.zq-hit").all_inner_texts()
    assert "拿地即开工" in marks

    answer = page.locator("#zq-answer").inner_text()
    assert answer.startswith("答案")
    assert all(p in answer for p in PLACES), answer
    page.screenshot(path=str(shots / "1-answer-and-results.png"), full_page=True)

    # copy a passage: the clipboard holds the document's exact text, a newline and the citation
    first = page.locator("#zq-results .zq-card").first
    first.locator(".zq-actions .zq-copy").first.click()
    page.wait_for_function("document.querySelector('#zq-results .zq-copy').innerText === '已复制'")
    clip = page.evaluate("navigator.clipboard.readText()")
    doc = documents[cards[0]["doc"]]
    from qa import cite_document

    citation = cite_document(doc, cards[0]["start"], cards[0]["end"])
    assert clip == doc.text[cards[0]["start"]:cards[0]["end"]] + "\n" + citation
    assert "<" not in clip or "<" in doc.text
    # the card's header, its citation and the copied citation name the same paragraph
    para = first.locator(".zq-para").inner_text()
    assert citation.endswith(para) and cards[0]["cite"].endswith(para)
    # the whole passage is one click away, copied with its range
    context = first.locator(".zq-context")
    if context.count():
        context.locator("summary").click()
        context.locator(".zq-copy").click()
        page.wait_for_function("document.querySelector('#zq-results .zq-context .zq-copy').innerText === '已复制'")
        whole = page.evaluate("navigator.clipboard.readText()")
        start, end = int(context.locator(".zq-context-text").get_attribute("data-start")), int(context.locator(".zq-context-text").get_attribute("data-end"))
        assert whole == doc.text[start:end] + "\n" + cite_document(doc, start, end)
        assert start <= cards[0]["start"] and cards[0]["end"] <= end

    # copy an answer item
    page.locator("#zq-answer .zq-copy").first.click()
    clip = page.evaluate("navigator.clipboard.readText()")
    assert "\n《" in clip

    # open the document view from the third card's title
    third = cards[2]
    page.locator("#zq-results .zq-card .zq-title").nth(2).click()
    page.locator("#zq-doc .zq-doc-title").wait_for()
    doc = documents[third["doc"]]
    assert page.locator("#zq-doc .zq-doc-title").inner_text() == (doc.title or doc.doc_id)
    focus = "".join(page.locator("#zq-doc .zq-focus").all_text_contents())
    assert focus == doc.text[third["start"]:third["end"]].replace("\n", "")
    paras = page.locator("#zq-doc .zq-doc-para").count()
    assert paras == len([1 for s, e in doc.paragraph_spans() if doc.text[s:e].strip()])
    page.wait_for_function("""() => { const r = document.querySelector('#zq-doc .zq-focus').getBoundingClientRect();
                                      return r.top >= 0 && r.bottom <= window.innerHeight + 400 && r.top < window.innerHeight; }""")
    page.screenshot(path=str(shots / "2-document-view.png"))
    page.locator("#zq-doc .zq-back").click()
    page.locator("#zq-results .zq-card").first.wait_for(state="visible")
    assert not page.zq_errors, page.zq_errors


def test_basket_reorder_remove_and_export(browser, zhqa_server, documents, shots, tmp_path):
    from docx import Document as Docx

    page = _new_page(browser)
    _ask(page, zhqa_server)
    cards = _card_data(page)
    page.locator("#zq-results .zq-card > .zq-actions .zq-add").nth(0).click()
    page.get_by_role("tab", name="报告篮（1）").wait_for()
    page.locator("#zq-results .zq-card > .zq-actions .zq-add").nth(1).click()
    page.get_by_role("tab", name="报告篮（2）").wait_for()
    page.locator("#zq-answer .zq-add").first.click()
    page.get_by_role("tab", name="报告篮（3）").click()
    items = page.locator("#zq-basket .zq-basket-item")
    items.nth(2).wait_for()
    assert items.count() == 3
    texts = [t for t in page.locator("#zq-basket .zq-basket-text").all_inner_texts()]
    assert texts[0] == cards[0]["text"] and texts[1] == cards[1]["text"]
    page.screenshot(path=str(shots / "3-basket.png"), full_page=True)

    # move the second up, then remove the answer item
    items.nth(1).locator(".zq-move[data-op=up]").click()
    page.wait_for_function(
        "t => document.querySelector('#zq-basket .zq-basket-text').innerText === t", arg=cards[1]["text"])
    items.nth(2).locator(".zq-remove").click()
    page.get_by_role("tab", name="报告篮（2）").wait_for()
    expected = [cards[1], cards[0]]
    # the basket survives a reload of the page
    page.reload()
    page.get_by_role("tab", name="报告篮（2）").click()
    page.locator("#zq-basket .zq-basket-item").nth(1).wait_for()
    assert page.locator("#zq-basket .zq-basket-text").first.inner_text() == cards[1]["text"]

    with page.expect_download() as dl:
        page.locator("#zq-export-docx").click()
    path = tmp_path / "report.docx"
    dl.value.save_as(path)
    body = "\n".join(p.text for p in Docx(str(path)).paragraphs)
    for c in expected:
        text = documents[c["doc"]].text[c["start"]:c["end"]]
        cite = c["cite"].removeprefix("出处：")
        assert text + "\n——" + cite in body
    assert body.index(expected[0]["text"]) < body.index(expected[1]["text"])
    refs = body[body.index("参考文献"):]
    assert refs.count("\n1. 《") == 1 and ("\n2. 《" in refs) == (cards[0]["doc"] != cards[1]["doc"])

    with page.expect_download() as dl:
        page.locator("#zq-export-md").click()
    md_path = tmp_path / "report.md"
    dl.value.save_as(md_path)
    md = md_path.read_text(encoding="utf-8")
    for c in expected:
        assert documents[c["doc"]].text[c["start"]:c["end"]] + "\n\n——" + c["cite"].removeprefix("出处：") in md
    assert not page.zq_errors, page.zq_errors


def test_short_answer_shown_marked_added_and_exported(browser, zhqa_server, documents, shots, tmp_path):
    """身后一件事整合了多少事项: the page says 38个, marked in its sentence with its own citation; one click puts
    answer, sentence and citation into the basket, and both exports carry them."""
    from docx import Document as Docx

    page = _new_page(browser)
    _ask(page, zhqa_server, "身后一件事整合了多少事项")
    block = page.locator("#zq-answer .zq-answer")
    block.wait_for()
    assert page.locator("#zq-answer .zq-answer-text").inner_text() == "38个"
    assert page.locator("#zq-answer mark.zq-answer-mark").first.inner_text() == "38个"
    evidence = page.locator("#zq-answer .zq-evidence").first.inner_text()
    doc = documents["000_63a4e04b80a11179"]
    assert evidence in doc.text and "38个相关事项整合为“一件事”" in evidence
    cite = page.locator("#zq-answer .zq-cite").first.inner_text()
    assert cite.startswith("出处：《") and "第4段" in cite
    page.screenshot(path=str(shots / "short-answer.png"), full_page=True)
    # a link to the result card holding the sentence
    card = page.locator("#zq-answer .zq-to-card").first.get_attribute("href")
    assert evidence in page.locator(f"#zq-results {card} .zq-text").inner_text()

    page.locator("#zq-answer .zq-copy").first.click()
    clip = page.evaluate("navigator.clipboard.readText()")
    assert clip == "答：38个\n" + evidence + "\n" + cite.removeprefix("出处：")

    page.locator("#zq-answer .zq-add").first.click()
    page.get_by_role("tab", name="报告篮（1）").click()
    page.locator("#zq-basket .zq-basket-item").first.wait_for()
    assert page.locator("#zq-basket .zq-basket-text").first.inner_text().endswith(evidence)
    with page.expect_download() as dl:
        page.locator("#zq-export-md").click()
    md_path = tmp_path / "answer.md"
    dl.value.save_as(md_path)
    md = md_path.read_text(encoding="utf-8")
    assert "**答：38个**" in md and evidence + "\n\n——" + cite.removeprefix("出处：") in md
    with page.expect_download() as dl:
        page.locator("#zq-export-docx").click()
    docx_path = tmp_path / "answer.docx"
    dl.value.save_as(docx_path)
    body = "\n".join(p.text for p in Docx(str(docx_path)).paragraphs)
    assert "答：38个" in body and evidence in body
    assert not page.zq_errors, page.zq_errors


def test_source_filter(browser, zhqa_server, shots):
    page = _new_page(browser)
    page.goto(zhqa_server)
    page.locator("#zq-question textarea").wait_for()
    page.locator("#zq-filters").get_by_text("筛选与设置").click()
    dropdown = page.locator("#zq-sources input")
    dropdown.click()
    page.get_by_role("option", name="太行日报").click()
    page.keyboard.press("Escape")
    page.locator("#zq-question textarea").fill("营商环境考核取得了什么成绩?")
    page.locator("#zq-ask").click()
    page.locator("#zq-results .zq-card").first.wait_for()
    page.wait_for_function("document.querySelector('#zq-results').innerText.includes('已筛选')")
    sources = page.locator("#zq-results .zq-card .zq-source").all_inner_texts()
    assert sources and set(sources) == {"太行日报"}
    assert "source=" in urllib.parse.unquote(page.url)
    page.screenshot(path=str(shots / "9-source-filter.png"))


def test_deep_link_opens_the_answer(browser, zhqa_server, shots):
    page = _new_page(browser)
    page.goto(zhqa_server + "?" + urllib.parse.urlencode({"q": QUESTION, "k": "3"}))
    page.locator("#zq-results .zq-card").first.wait_for()
    assert page.locator("#zq-question textarea").input_value() == QUESTION
    assert page.locator("#zq-results .zq-card").count() == 3
    assert "晋城市" in page.locator("#zq-answer").inner_text()
    # the share button copies a link that opens the same search
    page.locator("#zq-results .zq-share").click()
    link = page.evaluate("navigator.clipboard.readText()")
    assert urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["q"] == [QUESTION]
    page.screenshot(path=str(shots / "4-deep-link.png"))
    # filters travel in the link too
    page.goto(zhqa_server + "?" + urllib.parse.urlencode({"q": QUESTION, "source": "太行日报", "from": "2025"}))
    page.wait_for_function("(document.querySelector('#zq-results') || {innerText: ''}).innerText.includes('已筛选')")
    sources = page.locator("#zq-results .zq-card .zq-source").all_inner_texts()
    assert sources and set(sources) == {"太行日报"}
    assert "太行日报" in page.locator("#zq-sources").inner_text()
    assert page.locator("#zq-from textarea, #zq-from input").first.input_value() == "2025"


def test_phone_width(browser, zhqa_server, shots):
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout if shutil.which("fc-list") else ""
    assert fonts.strip(), "no Chinese font installed: apt-get install fonts-noto-cjk"
    page = _new_page(browser, 390, 844)
    page.goto(zhqa_server + "?" + urllib.parse.urlencode({"q": QUESTION}))
    page.locator("#zq-results .zq-card").first.wait_for()
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / "5-phone.png"))
    page.screenshot(path=str(shots / "5-phone-full.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the phone"
    box = page.locator("#zq-results .zq-card").first.bounding_box()
    assert box["width"] <= 390 and box["x"] >= 0
    # Chinese glyphs come from a CJK font, not tofu: text width matches a CJK font's full-width advance
    width = page.evaluate("""() => { const s = document.createElement('span'); s.textContent = '政策文件问答';
        s.style.cssText = 'position:absolute;white-space:nowrap;font-size:20px'; document.body.appendChild(s); const w = s.getBoundingClientRect().width; s.remove(); return w; }""")
    assert 110 <= width <= 130
    page.locator("#zq-results .zq-card .zq-title").first.click()
    page.locator("#zq-doc .zq-focus").first.wait_for()
    page.wait_for_timeout(800)
    page.screenshot(path=str(shots / "6-phone-document.png"))


# Gradio's own strings a user could meet in English (an English browser gets Gradio's English) and its API link
ENGLISH_UI = ("Drop File Here", "Click to Upload", "- or -", "Filter...", "Search...", "Use via API", "common.",
              "Built with Gradio", "Uploading...", "Loading...")
_ENGLISH_SHOWN = """(words) => {
    const shown = document.body.innerText + '\\n' + [...document.querySelectorAll('input, textarea')]
        .filter(e => e.offsetParent).map(e => e.placeholder).join('\\n');
    return words.filter(w => shown.includes(w));
}"""
TABS = {"检索": "#zq-results", "全文": "#zq-doc", "报告篮": "#zq-basket", "评测": "#zq-eval-run", "文档库": "#zq-library"}


@pytest.mark.parametrize("width", [390, 1280])
def test_every_tab_fits_the_window_and_speaks_chinese(browser, zhqa_server, shots, width):
    # an English browser: Gradio would speak English; the page does not
    page = _new_page(browser, width, 844, locale="en-US")
    _ask(page, zhqa_server, "紫色的大象为什么会唱京剧？")
    # the documents do not answer: said above the passages, which are dimmed
    flag = page.locator("#zq-results .zq-msg-unanswered")
    assert "文件中没有找到能直接回答这个问题的内容" in flag.inner_text()
    assert page.locator("#zq-results .zq-dim .zq-card").count() == 5
    for tab, panel in TABS.items():
        page.get_by_role("tab", name=re.compile("^" + tab)).click()
        page.locator(panel).first.wait_for(state="visible")
        page.wait_for_function(f"(() => {{ const f = {_ENGLISH_SHOWN}; return f({list(ENGLISH_UI)!r}).length === 0; }})()")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{tab} is {overflow}px wider than the {width}px window"
        page.screenshot(path=str(shots / f"tab-{tab}-{width}.png"), full_page=True)
    assert not page.zq_errors, page.zq_errors


def test_eval_tab_upload_and_run(browser, zhqa_server, tmp_path, shots):
    qfile = tmp_path / "questions.jsonl"
    rows = [
        {"qid": "q1", "question": QUESTION, "gold": [{"doc": "000_63a4e04b80a11179", "span": "拿地即开工"},
                                                     {"doc": "003_2a0d0da5d2c1eea9", "span": "拿地即开工"}], "kind": "list"},
        {"qid": "q2", "question": "晋城身后一件事整合了多少事项", "gold": [{"doc": "000_63a4e04b80a11179",
                                                                     "span": "38个相关事项整合为“一件事”"}],
         "answers": ["38个"]},
    ]
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    page = _new_page(browser)
    page.goto(zhqa_server)
    page.get_by_role("tab", name="评测").click()
    page.locator("#zq-eval-file input[type=file]").set_input_files(str(qfile))
    page.locator("#zq-eval-file").get_by_text("questions.jsonl").first.wait_for()  # the upload has landed
    page.locator("#zq-eval-run").click()
    # the run's length depends on the machine: wait for its end, as long as it takes (bounded at 15 min)
    page.locator("#zq-eval-table").wait_for(state="visible", timeout=900_000)
    page.wait_for_function("document.querySelector('#zq-eval-status').innerText.includes('评测完成')", timeout=900_000)
    table = page.locator("#zq-eval-table").inner_text()
    assert "hybrid" in table and "bm25" in table and "dense" in table
    assert page.locator("#zq-eval-detail details").count() == 2
    answers = page.locator("#zq-eval-answers").inner_text()  # q2 carries a gold short answer: scored too
    assert "数量" in answers and "1.000" in answers
    with page.expect_download() as dl:
        page.locator("#zq-eval-zip").click()
    assert dl.value.suggested_filename.endswith(".zip")
    zip_path = tmp_path / "report.zip"
    dl.value.save_as(zip_path)
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        assert "简短答案" in zf.read("report.md").decode("utf-8")
    page.screenshot(path=str(shots / "7-eval.png"), full_page=True)


def test_document_html_is_shown_as_text(browser, evil_searcher, shots):
    """A document holding <script> and <img onerror> shows them as text and runs nothing."""
    from ui.app import serve

    port = free_port()
    demo = serve(evil_searcher, port=port, block=False, quiet=True)
    try:
        page = _new_page(browser)
        page.add_init_script("window.__zq_xss = 0; window.alert = () => { window.__zq_xss += 1; };")
        page.goto(f"http://127.0.0.1:{port}/?q=" + urllib.parse.quote("拿地即开工 代码"))
        page.locator("#zq-results .zq-card").first.wait_for()
        # the whole passages too (each card's 上下文, opened)
        page.evaluate("document.querySelectorAll('#zq-results details').forEach(d => { d.open = true; })")
        cards = page.locator("#zq-results").inner_text()
        assert "<script>alert(1)</script>" in cards
        assert "<img src=x onerror=alert(1)>日报" in cards
        assert "<b>测试</b>标题<script>alert('t')</script>" in cards
        assert page.locator("#zq-results script, #zq-results img, #zq-results b").count() == 0
        page.locator("#zq-results .zq-title").first.click()
        page.locator("#zq-doc .zq-doc-title").wait_for()
        assert "<script>alert(1)</script>" in page.locator("#zq-doc").inner_text()
        para = page.locator("#zq-doc .zq-doc-para", has_text="<script>alert(1)</script>")
        para.hover()  # a paragraph's buttons show on hover
        para.locator(".zq-copy").first.click()
        assert "<script>alert(1)</script>" in page.evaluate("navigator.clipboard.readText()")
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "8-escaped-html.png"))
        assert page.evaluate("window.__zq_xss") == 0 and not page.zq_errors, page.zq_errors
    finally:
        demo.close()


def test_pdf_passage_card_and_copy_carry_the_page(browser, tmp_path_factory, shots):
    """A PDF's passage says its page on the card, in the citation and in the copied text; the 全文 view
    marks where each page begins."""
    from render_formats import render_all

    from index import build_index
    from qa import Searcher, cite_document
    from ui.app import serve

    root = tmp_path_factory.mktemp("pdf-browser")
    folders = render_all(root / "rendered", scanned=())
    index, _ = build_index(folders["pdf"], root / "index", progress=False)
    port = free_port()
    demo = serve(Searcher(index), port=port, block=False, quiet=True)
    try:
        page = _new_page(browser)
        _ask(page, f"http://127.0.0.1:{port}/", "城区推行哪些审批改革？")
        cards = _card_data(page)
        first = cards[0]
        doc = index.documents[first["doc"]]
        page_first, page_last = doc.page_range(first["start"], first["end"])
        pages = f"第{page_first}页" if page_first == page_last else f"第{page_first}–{page_last}页"
        assert page.locator("#zq-results .zq-card").first.locator(".zq-page").inner_text() == pages
        assert f"{pages} 第" in first["cite"]
        page.locator("#zq-results .zq-card").first.locator(".zq-actions .zq-copy").first.click()
        page.wait_for_function("document.querySelector('#zq-results .zq-copy').innerText === '已复制'")
        clip = page.evaluate("navigator.clipboard.readText()")
        assert clip == doc.text[first["start"]:first["end"]] + "\n" + cite_document(doc, first["start"], first["end"])
        assert pages in clip.split("\n")[-1]

        page.locator("#zq-results .zq-card .zq-title").first.click()
        page.locator("#zq-doc .zq-doc-title").wait_for()
        marks = page.locator("#zq-doc .zq-page-mark").all_inner_texts()
        assert marks == [f"第{n}页" for n in range(1, len(doc.pages) + 1)]
        focus = "".join(page.locator("#zq-doc .zq-focus").all_text_contents())
        assert focus == doc.text[first["start"]:first["end"]].replace("\n", "")
        page.screenshot(path=str(shots / "9-pdf-pages.png"))
        assert not page.zq_errors, page.zq_errors
    finally:
        demo.close()


NEW_PDF = ("关于推行“标准地”出让的通知", "运城市人民政府",
           "运城市自2024年起在全市工业用地推行“标准地”出让，企业拿地后即可开工建设，审批时限压缩到5个工作日。")
NEW_DOCX = ("临汾市交房即交证工作方案", "临汾市住房和城乡建设局",
            "临汾市对新建商品房全面推行“交房即交证”，购房人收房当天即可领取不动产权证书，已惠及1.2万户家庭。")


# the library table's rows, header included, as the grid announces them
_ROWS = "document.querySelector('#zq-library [role=grid]')?.getAttribute('aria-rowcount') === String({0} + 1)"


def _notice(doc_id: str, title: str, source: str, body: str):
    from index import Document

    return Document(doc_id, "\n".join([body] * 3), title=title, source=source, date="2024-05-06")


@pytest.fixture
def library_server(request, tmp_path, seed_index_dir):
    """A served copy of the seed library that may be changed from the page (--allow-changes); a test may give
    its upload limits as the fixture's parameter."""
    from index import build_index
    from index.store import EMBEDDINGS
    from qa import Searcher
    from ui.access import Access
    from ui.app import serve
    from ui.library import UploadLimits

    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(Path(seed_index_dir) / EMBEDDINGS, index_dir / EMBEDDINGS)  # no seed text is encoded again
    index, _ = build_index(corpus, index_dir, progress=False)
    port = free_port()
    demo = serve(Searcher(index), port=port, block=False, quiet=True, access=Access(allow_changes=True),
                 upload_limits=UploadLimits(**getattr(request, "param", {})))
    try:
        yield f"http://127.0.0.1:{port}/", corpus, index_dir
    finally:
        demo.close()


@pytest.mark.parametrize("library_server", [{"files": 2, "file_mb": 0.01}], indirect=True)
def test_upload_limits_are_said_in_chinese_and_change_nothing(browser, library_server, tmp_path, shots):
    url, corpus, index_dir = library_server
    up = tmp_path / "up"
    up.mkdir()
    big = up / "太大的文件.txt"
    big.write_text("通知\n" + "拿地即开工" * 3000, encoding="utf-8")  # 45 KB over a 10 KB limit
    small = [up / f"通知{i}.txt" for i in range(3)]
    for i, f in enumerate(small):
        f.write_text(f"通知{i}\n运城市推行企业开办零成本服务。", encoding="utf-8")
    before = sorted(p.name for p in corpus.iterdir())
    page = _new_page(browser)
    page.goto(url)
    page.get_by_role("tab", name="文档库").click()
    page.wait_for_function(_ROWS.format(5))
    assert "一次最多 2 个、每个不超过 0.01 MB" in page.locator("#zq-upload").inner_text()
    # too large: Gradio stops it while it arrives; its message is put into Chinese
    page.locator("#zq-upload input[type=file]").set_input_files([str(big)])
    page.wait_for_function("document.body.innerText.includes('文件超过上传上限（每个不超过')")
    assert "exceed" not in page.locator("body").inner_text()
    page.screenshot(path=str(shots / "12-upload-too-large.png"), full_page=True)
    # too many: refused as a whole, said in the status
    page.goto(url)
    page.get_by_role("tab", name="文档库").click()
    page.locator("#zq-upload input[type=file]").set_input_files([str(f) for f in small])
    page.locator("#zq-upload-btn").click()
    page.wait_for_function("document.querySelector('#zq-library-status').innerText.includes('一次最多上传 2 个文件')")
    assert sorted(p.name for p in corpus.iterdir()) == before
    assert "5 份文件" in page.locator("#zq-header").inner_text()
    assert not page.zq_errors, page.zq_errors


def test_library_upload_ask_delete_after_confirmation(browser, library_server, tmp_path, shots):
    from render_formats import docx_bytes, pdf_bytes

    url, corpus, index_dir = library_server
    pdf, docx = tmp_path / "up" / "标准地.pdf", tmp_path / "up" / "交房即交证.docx"
    pdf.parent.mkdir()
    pdf.write_bytes(pdf_bytes(_notice("x", *NEW_PDF)))
    docx.write_bytes(docx_bytes(_notice("y", *NEW_DOCX)))

    page = _new_page(browser)
    page.goto(url)
    page.get_by_role("tab", name="文档库").click()
    page.wait_for_function(_ROWS.format(5))
    damaged = tmp_path / "up" / "损坏的文件.pdf"
    damaged.write_bytes(pdf.read_bytes()[:400])  # a truncated download
    assert "5 份文件" in page.locator("#zq-header").inner_text()
    page.locator("#zq-upload input[type=file]").set_input_files([str(pdf), str(docx), str(damaged)])
    page.locator("#zq-upload-btn").click()
    page.wait_for_function("document.querySelectorAll('#zq-library-status li.zq-ok').length === 2", timeout=900_000)
    status = page.locator("#zq-library-status").inner_text()
    assert "标准地.pdf：已加入" in status and "交房即交证.docx：已加入" in status
    # the damaged file is named, its reason is Chinese, and no path of the server is shown
    bad = page.locator("#zq-library-status li.zq-bad").inner_text()
    assert bad == "✗ 损坏的文件.pdf：不是可读取的 PDF（文件损坏或不完整）", bad
    assert str(tmp_path) not in status and "/" not in status and not re.search("[A-Za-z]{4,}", status.replace("docx", ""))
    page.wait_for_function(_ROWS.format(7))
    # the header counts follow the index
    page.wait_for_function("document.querySelector('#zq-header').innerText.includes('7 份文件')")
    assert (corpus / "标准地.pdf").is_file() and (corpus / "交房即交证.docx").is_file()
    page.screenshot(path=str(shots / "10-library-uploaded.png"), full_page=True)

    # answered at once, without a restart; the PDF passage carries its page
    page.get_by_role("tab", name="检索").click()
    _ask(page, url, "哪里推行标准地出让？")
    first = _card_data(page)[0]
    assert first["doc"] == "标准地" and "第1页" in first["cite"]
    _ask(page, url, "哪里推行交房即交证？")
    assert _card_data(page)[0]["doc"] == "交房即交证"

    # delete the Word document: the confirmation lists exactly it; then it is gone from answers
    page.get_by_role("tab", name="文档库").click()
    select = page.locator("#zq-library-select input")
    select.click()
    select.fill("交房即交证")
    page.keyboard.press("Enter")
    page.locator("#zq-delete").click()
    box = page.locator("#zq-confirm-box").first
    box.wait_for(state="visible")
    listed = box.inner_text()
    assert "交房即交证" in listed and "标准地" not in listed and "000_63a4e04b80a11179" not in listed
    page.screenshot(path=str(shots / "11-library-confirm.png"), full_page=True)
    page.locator("#zq-confirm-delete").click()
    page.wait_for_function("document.querySelector('#zq-library-status').innerText.includes('已删除 交房即交证')")
    page.wait_for_function(_ROWS.format(6))
    assert (corpus / ".removed" / "交房即交证.docx").is_file()
    page.get_by_role("tab", name="检索").click()
    _ask(page, url, "哪里推行交房即交证？")
    assert "交房即交证" not in {c["doc"] for c in _card_data(page)}
    assert not page.zq_errors, page.zq_errors


def test_behind_nginx_at_a_sub_path(browser, tmp_path, seed_index_dir, shots):
    """`zhqa serve --root-path /zhqa` behind Debian's nginx configured with docs/nginx.md's block: the page, a
    deep link, the full text, an upload, /api/ask and /healthz; the audit log has the user's own address."""
    from nginx import start_nginx, stop_nginx

    from index import build_index
    from index.store import EMBEDDINGS
    from qa import Searcher
    from ui.access import Access
    from ui.app import serve
    from ui.audit import AuditLog, read_entries

    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(Path(seed_index_dir) / EMBEDDINGS, index_dir / EMBEDDINGS)
    index, _ = build_index(corpus, index_dir, progress=False)
    port = free_port()
    log = tmp_path / "audit.jsonl"
    access = Access(allow_changes=True, audit=AuditLog(log), log_questions=True)
    demo = serve(Searcher(index), port=port, block=False, quiet=True, access=access, root_path="/zhqa")
    nginx, site = start_nginx(port, tmp_path / "nginx")
    url = site + "/zhqa/"
    try:
        with urllib.request.urlopen(site + "/zhqa", timeout=30) as r:  # the bare prefix is redirected
            assert r.url == url and json.loads(urllib.request.urlopen(url + "healthz", timeout=30).read())["documents"] == 5
        # a question from another address of this machine, with a forged X-Forwarded-For: the log has the real one
        asking = http.client.HTTPConnection("127.0.0.1", int(site.rsplit(":", 1)[1]), timeout=60,
                                            source_address=("127.0.0.2", 0))
        asking.request("POST", "/zhqa/api/ask", json.dumps({"question": QUESTION}).encode("utf-8"),
                       {"Content-Type": "application/json", "X-Forwarded-For": "6.6.6.6"})
        answered = asking.getresponse()
        assert answered.status == 200 and json.loads(answered.read().decode("utf-8"))["passages"]
        asking.close()
        assert [(e["action"], e["client"], e["detail"]) for e in read_entries(log)] == [("ask", "127.0.0.2", QUESTION)]
        page = _new_page(browser)
        outside = []  # every request the page makes stays under the proxy's prefix
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) and r.url.startswith("http") else None)
        page.goto(url + "?q=" + urllib.parse.quote(QUESTION))
        page.locator("#zq-results .zq-card").first.wait_for()
        assert {"000_63a4e04b80a11179", "003_2a0d0da5d2c1eea9"} <= {c["doc"] for c in _card_data(page)}
        page.locator("#zq-results .zq-title").first.click()
        page.locator("#zq-doc .zq-doc-title").wait_for()
        new = tmp_path / "up" / "新规.txt"
        new.parent.mkdir()
        new.write_text("运城市推行企业开办零成本\n运城市全面推行企业开办零成本服务，免费刻制公章。", encoding="utf-8")
        page.get_by_role("tab", name="文档库").click()
        page.wait_for_function(_ROWS.format(5))
        page.locator("#zq-upload input[type=file]").set_input_files([str(new)])
        page.locator("#zq-upload-btn").click()
        page.wait_for_function("document.querySelectorAll('#zq-library-status li.zq-ok').length === 1", timeout=900_000)
        assert "新规.txt：已加入" in page.locator("#zq-library-status").inner_text()
        page.get_by_role("tab", name="检索").click()
        _ask(page, url, "哪里推行企业开办零成本？")
        assert _card_data(page)[0]["doc"] == "新规"
        page.screenshot(path=str(shots / "13-behind-nginx.png"))
        assert outside == [] and not page.zq_errors, (outside, page.zq_errors)
        uploads = [e for e in read_entries(log) if e["action"] == "upload"]
        assert [(e["outcome"], e["documents"], e["client"]) for e in uploads] == [("ok", ["新规"], "127.0.0.1")]
    finally:
        stop_nginx(nginx)
        demo.close()
