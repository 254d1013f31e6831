"""The web page's parts, for real: rendering (escaping, highlighting), the search handler over a
real index, a real Gradio server answering HTTP and its named API endpoints through gradio_client,
the report export (DOCX read back with python-docx, Markdown) and the 评测 tab's runner."""
from __future__ import annotations

import json
from pathlib import Path
import urllib.error
import urllib.request
import zipfile

import pytest

from conftest import free_port

QUESTION = "哪些城市推行拿地即开工?"
PASSAGE_KEYS = {"rank", "score", "doc_id", "title", "source", "date", "paragraph", "start", "end", "text", "citation"}


# --- rendering ---------------------------------------------------------------------------------
def test_layered_marks_raw_offsets_then_escapes_each_piece():
    from ui.render import layered

    text = "a<b>拿地即开工&c"
    out = layered(text, {"zq-hit": [(4, 9)], "zq-key": [(0, 6)]})
    assert out == ('<span class="zq-key">a&lt;b&gt;</span><mark class="zq-hit zq-key">拿地</mark>'
                   '<mark class="zq-hit">即开工</mark>&amp;c')


def test_question_phrases_are_marked_whole():
    from ui.render import term_spans

    text = "晋城推出拿地即开工等改革举措，城市更新也在推进。"
    marked = [text[s:e] for s, e in term_spans(QUESTION, text)]
    assert "拿地即开工" in marked
    # 哪些城市 names the kind of answer wanted, not a word to find: 城市 stays unmarked
    assert "城市" not in marked
    assert "哪些" not in marked


def test_passage_card_escapes_everything_and_copies_exact_text():
    import html

    from ui.render import render_passage

    p = {
        "rank": 1, "score": 0.0325, "doc_id": "d<1>", "title": "<script>alert(1)</script>", "source": "<i>src</i>",
        "date": "2024-01-01", "paragraph": 3, "start": 10, "end": 40,
        "text": "拿地即开工<script>alert(2)</script>\n第二段 & more", "citation": "《<script>》，<i>src</i>，2024-01-01，第3段",
        "highlights": [[10, 15]],
    }
    out = render_passage(p, QUESTION)
    assert "<script" not in out and "<i>" not in out
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert '<mark class="zq-hit zq-key">拿地即开工</mark>' in out
    # the copy button carries the exact text + newline + citation, entity-encoded in the attribute
    copy = out.split('data-copy="', 1)[1].split('"', 1)[0]
    assert "<" not in copy and "\n" not in copy
    assert html.unescape(copy) == p["text"] + "\n" + p["citation"]
    # the ranking score is no headline figure: it stands in the card's tooltip, said to be no probability
    assert "融合相关度 0.033（只用于本次结果之间比较先后，不是概率或匹配度）" in out and "%" not in out


def test_passage_card_shows_its_pages_and_other_copies_escaped():
    from ui.render import render_passage

    p = {
        "rank": 1, "score": 1.0, "doc_id": "d", "title": "方案", "source": "区政府", "date": "2023-09-18", "paragraph": 12,
        "start": 0, "end": 4, "text": "拿地即开工", "citation": "《方案》，区政府，2023-09-18，第3–4页 第12段",
        "page_first": 3, "page_last": 4,
        "also_in": [{"doc_id": "e", "title": "<b>转载</b>", "source": "新闻网"}, {"doc_id": "f", "title": "", "source": ""}],
    }
    out = render_passage(p)
    assert '<span class="zq-page">第3–4页</span>' in out
    assert '<div class="zq-also">另见：《&lt;b&gt;转载&lt;/b&gt;》，新闻网；f</div>' in out
    single = render_passage({**p, "page_last": 3, "also_in": []})
    assert '<span class="zq-page">第3页</span>' in single and "另见" not in single
    assert "zq-page" not in render_passage({**p, "page_first": None, "page_last": None})


def test_full_text_marks_where_each_page_begins():
    from index import Document
    from ui.render import render_document

    text = "第一页的段落。\n跨页的段落前半，后半在第二页。\n第三页。"
    second = text.index("后半")
    doc = Document("d", text, title="t", pages=(0, second, text.index("第三页。")))
    out = render_document(doc, focus=(text.index("跨页"), text.index("第三页") - 1))
    assert out.count('class="zq-page-mark"') == 3
    # the mark for page 2 stands inside the paragraph, just before 后半, and adds no text of its own to it
    para = out.split('id="zq-p-2"', 1)[1].split("</p>", 1)[0]
    assert '第2页</span>' in para and para.index("第2页") < para.index("后半")
    import html

    copied = [html.unescape(c.split('"', 1)[0]) for c in out.split('data-copy="')[1:]]
    assert copied and all(c.rsplit("\n", 1)[0] in text for c in copied)  # copied text is the document's own


def test_places_block_and_basket_escape():
    from ui.render import render_basket, render_places

    places = {"type": "places", "items": [{"name": "<b>晋城市</b>", "evidence": "拿地即开工<script>", "doc_id": "x",
                                           "start": 0, "end": 9, "citation": "《t》，第1段"}]}
    out = render_places(places)
    assert "&lt;b&gt;晋城市&lt;/b&gt;" in out and "<script" not in out and "加入报告" in out
    assert render_places(None) == "" and render_places({"type": "places", "items": []}) == ""
    basket = render_basket([{"doc_id": "x", "start": 0, "end": 3, "text": "<script>", "citation": "<c>", "label": "<l>"}])
    assert "<script" not in basket and "&lt;c&gt;" in basket and "&lt;l&gt;" in basket


def test_dates_and_filters():
    from ui.handlers import UserProblem, date_bound, make_filters

    assert date_bound("2024") == "2024-01-01"
    assert date_bound("2024", end=True) == "2024-12-31"
    assert date_bound("2024-02", end=True) == "2024-02-29"
    assert date_bound("2024/3/5") == "2024-03-05"
    assert date_bound("2024年3月5日") == "2024-03-05"
    assert date_bound(" ") == ""
    for bad in ("昨天", "2024-13", "2023-02-30"):
        with pytest.raises(UserProblem):
            date_bound(bad)
    with pytest.raises(UserProblem):
        make_filters([], "2025-01-01", "2024-01-01")
    f = make_filters(["太行日报"], "2024", "2024")
    assert (f.sources, f.date_from, f.date_to) == (("太行日报",), "2024-01-01", "2024-12-31")


# --- the handlers over a real index -------------------------------------------------------------
def test_search_handler_returns_escaped_html_with_citations(evil_searcher):
    from ui.app import search_page

    answer_html, cards, result = search_page(evil_searcher, "拿地即开工 代码", 5)
    assert result and result["passages"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cards
    assert "<script" not in cards and "<script" not in answer_html
    assert "<img" not in cards and "&lt;img src=x onerror=alert(1)&gt;日报" in cards
    assert "&lt;b&gt;测试&lt;/b&gt;标题" in cards
    for p in result["passages"]:
        assert p["citation"] and f"出处：{__import__('html').escape(p['citation'])}" in cards
    assert "zq-copy" in cards and "加入报告" in cards and 'data-share="?q=' in cards


def test_search_handler_messages_not_tracebacks(evil_searcher):
    from ui.app import search_page

    for bad in ("", "   "):
        answer_html, cards, result = search_page(evil_searcher, bad, 5)
        assert result is None and answer_html == ""
        assert "请输入问题" in cards and "Traceback" not in cards
    _, cards, result = search_page(evil_searcher, "营商环境", 5, [], "明天", "")
    assert result is None and "看不懂" in cards


def test_search_handler_filters_by_source_and_date(evil_searcher):
    from ui.app import search_page

    _, cards, result = search_page(evil_searcher, "营商环境 拿地即开工", 5, ["太行日报"])
    assert result["passages"] and {p["source"] for p in result["passages"]} == {"太行日报"}
    _, _, result = search_page(evil_searcher, "营商环境 拿地即开工", 5, [], "2024-01-01", "")
    assert result["passages"] and {p["doc_id"] for p in result["passages"]} == {"evil"}


def test_document_view_escapes_and_marks_the_passage(evil_searcher):
    from ui.app import document_page

    doc = evil_searcher.index.documents["evil"]
    start = doc.text.index("网页里")
    end = doc.text.index("\n", start)
    page = document_page(evil_searcher, "evil", start, end, "拿地即开工")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="zq-focus"' in page and 'zq-in-focus' in page
    assert "第2段" in page and "&lt;b&gt;测试&lt;/b&gt;" in page
    assert "找不到文件" in document_page(evil_searcher, "no-such-doc")


# --- the report export -----------------------------------------------------------------------------
def _items(searcher):
    from ui import report

    docs = searcher.index.documents
    picks = []
    for doc_id in sorted(docs)[:2]:
        doc = docs[doc_id]
        spans = doc.paragraph_spans()
        picks.append((doc_id, spans[1][0], spans[2][1]))  # paragraphs 2-3: an excerpt spanning a line break
        picks.append((doc_id, spans[0][0], spans[0][1]))
    return [report.make_item(docs, *p) for p in picks]


def test_report_exports_exact_excerpts_citations_and_references(searcher, tmp_path):
    from docx import Document as Docx

    from ui import report

    items = _items(searcher)
    docs = searcher.index.documents
    for it in items:
        assert it["text"] == docs[it["doc_id"]].text[it["start"]:it["end"]]
        assert it["citation"].startswith(f"《{docs[it['doc_id']].title}》")
    assert "\n" in items[0]["text"] and "第2-3段" in items[0]["citation"]

    docx_path, md_path = report.export_files(items, tmp_path)
    md = md_path.read_text(encoding="utf-8")
    paras = [p.text for p in Docx(str(docx_path)).paragraphs]
    body = "\n".join(paras)
    refs, numbers = report.references(items)
    assert len(refs) == 2 and numbers == [1, 1, 2, 2]
    for text in (md, body):
        pos = 0
        for it, n in zip(items, numbers):
            at = text.index(it["text"], pos)  # each excerpt verbatim, in basket order ...
            cite = f"——{it['citation']} [{n}]"
            assert text.index(cite, at) == at + len(it["text"]) + (2 if text is md else 1)  # ... followed by its citation
            pos = at
        tail = text[text.index("参考文献"):]
        for i, ref in enumerate(refs, start=1):
            d = docs[ref["doc_id"]]
            line = f"{i}. " + "，".join(x for x in (f"《{d.title}》", d.source, d.date) if x)
            assert line in tail
    # Word's view of the heading and the citation style
    assert paras[0] == "报告摘录"
    with zipfile.ZipFile(docx_path) as z:
        assert "word/document.xml" in z.namelist()


def test_basket_add_move_remove(searcher):
    from ui import report

    a, b, c = _items(searcher)[:3]
    items, note = report.add([], a)
    items, _ = report.add(items, b)
    items, note = report.add(items, dict(a))
    assert len(items) == 2 and "已经在" in note
    items, _ = report.add(items, c)
    assert [i["start"] for i in report.move(items, 2, "up")] == [a["start"], c["start"], b["start"]]
    assert report.move(items, 0, "up") == items and report.move(items, 9, "remove") == items
    assert [i["start"] for i in report.move(items, 0, "remove")] == [b["start"], c["start"]]
    stored = [dict(a), {**b, "text": b["text"] + "x"}, {"doc_id": "nope", "start": 0, "end": 3}, "junk", dict(c)]
    assert report.restore(searcher.index.documents, stored) == [a, c]
    assert report.restore(searcher.index.documents, None) == []
    with pytest.raises(report.BasketError):
        report.make_item(searcher.index.documents, "nope", 0, 5)
    with pytest.raises(report.BasketError):
        report.make_item(searcher.index.documents, a["doc_id"], 5, 10**9)


# --- a real server --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(searcher):
    from ui.app import serve

    port = free_port()
    demo = serve(searcher, port=port, block=False, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_server_answers_http(server):
    with urllib.request.urlopen(server, timeout=30) as r:
        assert r.status == 200
        page = r.read().decode("utf-8")
    assert "政策文件问答" in page
    with urllib.request.urlopen(server + "gradio_api/info", timeout=30) as r:
        info = json.loads(r.read().decode("utf-8"))
    assert {"/ask", "/document", "/index_info"} <= set(info["named_endpoints"])


def test_healthz_says_the_index_state_without_login(server, searcher):
    from qa import LiveSearcher
    from ui.http_api import health

    with urllib.request.urlopen(server + "healthz", timeout=30) as r:
        assert r.status == 200 and r.headers["content-type"].startswith("application/json")
        body = json.loads(r.read().decode("utf-8"))
    assert body["status"] == "ok" and body["documents"] == 5 and body["chunks"] == searcher.store.n_chunks > 0
    assert body["index_version"].startswith("v-") and body["last_change"][:4].isdigit()
    live = LiveSearcher(searcher)
    live.swap(None)  # no searcher can serve (an index that failed to load)
    assert health(live) == (503, {"status": "unavailable", "reason": "no index can serve"})


def test_api_ask_has_the_cli_json_structure(server, searcher):
    from gradio_client import Client

    from qa import ask

    client = Client(server, verbose=False)
    got = client.predict(QUESTION, 5, [], "", "", api_name="/ask")
    assert set(got) >= {"question", "passages", "answer"} and got["question"] == QUESTION
    assert len(got["passages"]) == 5
    for p in got["passages"]:
        assert PASSAGE_KEYS <= set(p)
        assert p["text"] == searcher.index.documents[p["doc_id"]].text[p["start"]:p["end"]]
    assert json.loads(json.dumps(ask(searcher, QUESTION, k=5).to_dict(), ensure_ascii=False)) == got
    top5 = {p["doc_id"] for p in got["passages"]}
    assert {"000_63a4e04b80a11179", "003_2a0d0da5d2c1eea9"} <= top5

    only = client.predict(QUESTION, 3, ["太行日报"], "", "", api_name="/ask")
    assert only["passages"] and {p["source"] for p in only["passages"]} == {"太行日报"}

    info = client.predict(api_name="/index_info")
    assert "太行日报" in info["sources"] and info["documents"] == len(searcher.index.documents)
    doc = client.predict("000_63a4e04b80a11179", api_name="/document")
    assert doc["text"] == searcher.index.documents["000_63a4e04b80a11179"].text and doc["paragraphs"][0]["paragraph"] == 1

    with pytest.raises(Exception, match="请输入问题"):
        client.predict("   ", 5, [], "", "", api_name="/ask")


def _post_api_ask(server: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(server + "api/ask", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode("utf-8"))


def test_plain_http_api_ask_answers_like_gradio_s(server, searcher, capfd):
    """POST /api/ask: the same object as the Gradio endpoint and `zhqa ask --json`, in one round trip; bad
    arguments are HTTP 400 with the Chinese message the Gradio endpoint gives, never a traceback."""
    from gradio_client import Client

    from qa import ask

    status, got = _post_api_ask(server, json.dumps({"question": QUESTION, "k": 5}).encode("utf-8"))
    assert status == 200
    assert got == Client(server, verbose=False).predict(QUESTION, 5, [], "", "", api_name="/ask")
    assert got == json.loads(json.dumps(ask(searcher, QUESTION, k=5).to_dict(), ensure_ascii=False))
    for p in got["passages"]:
        assert p["text"] == searcher.index.documents[p["doc_id"]].text[p["start"]:p["end"]]
    status, only = _post_api_ask(server, json.dumps({"question": QUESTION, "k": 3, "sources": ["太行日报"]}).encode())
    assert status == 200 and {p["source"] for p in only["passages"]} == {"太行日报"} and len(only["passages"]) <= 3
    capfd.readouterr()
    for body, message in [(b"not json", "JSON"), (b"[1, 2]", "JSON"), (b'{"question": "  "}', "请输入问题"),
                          (b'{"question": 3}', "question"), (b'{"question": "x", "k": 0}', "k 应在"),
                          (b'{"question": "x", "date_from": "abc"}', "看不懂"), (b'{"q": "x"}', "不认识的字段"),
                          ("\xff".encode("latin-1"), "JSON"), (json.dumps({"question": "拿地" * 40000}).encode(), "太大")]:
        status, answer = _post_api_ask(server, body)
        assert status in (400, 413) and message in answer["error"], (body[:40], answer)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def test_bad_api_input_is_a_message_not_a_server_traceback(server, capfd):
    from gradio_client import Client

    client = Client(server, verbose=False)
    capfd.readouterr()
    for args, message in [(("", 5, [], "", ""), "请输入问题"), (("拿地", 5, [], "abc", ""), "看不懂"),
                          (("拿地", 5, [], "2024-05-01", "2023-01-01"), "晚于")]:
        with pytest.raises(Exception, match=message):
            client.predict(*args, api_name="/ask")
    with pytest.raises(Exception, match="找不到文件"):
        client.predict("no-such-doc", api_name="/document")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def _http_call(server: str, endpoint: str, data) -> tuple[str, object]:
    """Gradio's plain-HTTP call: post the inputs, read the outcome from the event stream: ("complete", result),
    ("error", message) or ("http <status>", body) when the post itself is refused."""
    body = json.dumps({"data": data}).encode("utf-8")
    post = urllib.request.Request(f"{server}gradio_api/call/{endpoint}", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(post, timeout=60) as r:
            event = json.loads(r.read())["event_id"]
    except urllib.error.HTTPError as exc:
        return f"http {exc.code}", exc.read().decode("utf-8", "replace")
    with urllib.request.urlopen(f"{server}gradio_api/call/{endpoint}/{event}", timeout=300) as r:
        stream = r.read().decode("utf-8")
    kind = stream.split("event: ", 1)[1].split("\n", 1)[0].strip()
    payload = json.loads(stream.split("data: ", 1)[1].split("\n", 1)[0])
    return (kind, payload[0]) if kind == "complete" else (kind, (payload or {}).get("error"))


WRONG_TYPES = [  # (endpoint, arguments, what the error message must say)
    ("ask", [5, 5, [], "", ""], "question 应为文字"), ("ask", [["拿地"], 5, [], "", ""], "question 应为文字"),
    ("ask", [{"q": "拿地"}, 5, [], "", ""], "question 应为文字"), ("ask", [None, 5, [], "", ""], "question 应为文字"),
    ("ask", [True, 5, [], "", ""], "question 应为文字"), ("ask", ["", 5, [], "", ""], "请输入问题"),
    ("ask", ["拿地即开工", True, [], "", ""], "k 应为 1 到 100 之间的整数"), ("ask", ["拿地即开工", "5", [], "", ""], "k 应为"),
    ("ask", ["拿地即开工", 2.5, [], "", ""], "k 应为"), ("ask", ["拿地即开工", [5], [], "", ""], "k 应为"),
    ("ask", ["拿地即开工", {"k": 5}, [], "", ""], "k 应为"), ("ask", ["拿地即开工", 10**30, [], "", ""], "k 应在 1 到 100 之间"),
    ("ask", ["拿地即开工", -5, [], "", ""], "k 应在 1 到 100 之间"), ("ask", ["拿地即开工", 0, [], "", ""], "k 应在"),
    ("ask", ["拿地即开工", 1e308, [], "", ""], "k 应在"), ("ask", ["拿地即开工", 5, 7, "", ""], "sources 应为"),
    ("ask", ["拿地即开工", 5, {"a": 1}, "", ""], "sources 应为"), ("ask", ["拿地即开工", 5, [1, None], "", ""], "sources 应为"),
    ("ask", ["拿地即开工", 5, [], 2024, ""], "date_from 应为"), ("ask", ["拿地即开工", 5, [], "", ["2024"]], "date_to 应为"),
    ("ask", ["拿地即开工", 5, [], {}, ""], "date_from 应为"), ("ask", ["拿地即开工", 5, [], "2024-02-30", ""], "不存在"),
    ("ask", [], "参数不够"), ("ask", ["拿地即开工"], "参数不够"),
    ("document", [5], "doc_id 应为文字"), ("document", [None], "doc_id 应为文字"), ("document", [["x"]], "doc_id 应为文字"),
    ("document", [{"doc_id": "x"}], "doc_id 应为文字"), ("document", ["../../etc/passwd"], "找不到文件"), ("document", [], "参数不够"),
]


@pytest.mark.parametrize("endpoint, data, message", WRONG_TYPES, ids=[f"{e}{d!r}"[:40] for e, d, _ in WRONG_TYPES])
def test_wrong_types_over_http_are_a_message_not_a_server_traceback(server, capfd, caplog, endpoint, data, message):
    capfd.readouterr()
    kind, said = _http_call(server, endpoint, data)
    assert kind == "error" and message in str(said), (kind, said)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert not [r for r in caplog.records if r.exc_info], "the server logged a traceback"
    # the server keeps answering
    kind, answer = _http_call(server, "ask", [QUESTION, 3, [], "", ""])
    assert kind == "complete" and len(answer["passages"]) == 3


def test_defaults_and_null_over_http(server):
    kind, answer = _http_call(server, "ask", [QUESTION, None, None, None, None])
    assert kind == "complete" and len(answer["passages"]) == 5  # null is the default
    kind, answer = _http_call(server, "ask", [QUESTION, 7.0, "太行日报", "", ""])  # 7.0 is a whole number
    assert kind == "complete" and len(answer["passages"]) >= 1 and {p["source"] for p in answer["passages"]} == {"太行日报"}
    assert _http_call(server, "index_info", [])[0] == "complete"
    assert _http_call(server, "ask", "not a list")[0] == "http 422"


def test_page_search_endpoint_returns_escaped_cards(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    out = client.predict(QUESTION, 5, [], "", "", api_name="/search_html")
    answer_html, cards = out[0], out[1]
    assert cards.count('class="zq-card"') == 5 and "出处：《" in cards and "<script" not in cards


# --- the 评测 tab's runner ------------------------------------------------------------------------
def test_eval_tab_runs_an_uploaded_question_set(searcher, tmp_path):
    from ui.evaluation import metrics_rows, render_detail, run_eval

    doc = searcher.index.documents["000_63a4e04b80a11179"]
    span = "38个相关事项整合为“一件事”"
    assert span in doc.text
    qfile = tmp_path / "mini.csv"
    qfile.write_text("qid,question,doc,span\nq1,晋城身后一件事整合了多少事项,000_63a4e04b80a11179,"
                     f"{span}\nq2,<script>x</script>拿地即开工,000_63a4e04b80a11179,拿地即开工\n", encoding="utf-8")
    seen = []
    out = run_eval(searcher, str(qfile), ["bm25", "hybrid"], 5, progress=lambda frac, desc="": seen.append(frac))
    result = out["result"]
    assert result.n == 2 and set(result.retrievers) == {"bm25", "hybrid"}
    assert seen and seen[-1] == (4, 4)
    header, rows = metrics_rows(result)
    assert header[0] == "检索器" and len(rows) == 2 and all(0 <= v <= 1 for v in rows[0][1:-1])
    detail = render_detail(result)
    assert "&lt;script&gt;x&lt;/script&gt;" in detail and "<script" not in detail
    with zipfile.ZipFile(out["zip"]) as z:
        assert {"report.html", "report.md", "metrics.png", "result.json"} <= set(z.namelist())
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="读不懂"):
        run_eval(searcher, str(bad), ["hybrid"], 5)


def test_exports_live_under_one_root_and_old_ones_are_cleaned(searcher, tmp_path):
    import os
    import time

    from ui import workspace
    from ui.app import build_app
    from ui.evaluation import run_eval

    root = tmp_path / "exports"
    old = Path(workspace.work_folder(root, "basket-"))
    (old / "report.docx").write_bytes(b"x")
    stale = time.time() - workspace.KEPT_SECONDS - 60
    os.utime(old, (stale, stale))
    fresh = Path(workspace.work_folder(root, "basket-"))
    assert fresh.is_dir() and fresh.parent == root and not old.exists()  # the day-old export went
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"qid": "q1", "question": QUESTION, "gold": [{"doc": "000_63a4e04b80a11179", "span": "拿地即开工"}]},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    out = run_eval(searcher, str(qfile), ["hybrid"], 5, workdir=root)
    assert out["zip"].is_file() and root in out["zip"].parents  # evaluation reports go under the same root
    demo = build_app(searcher)
    assert demo.delete_cache == workspace.DELETE_CACHE  # Gradio's uploads and served files are cleaned too
