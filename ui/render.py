"""HTML for the web page: answer block, result cards, the document view and the report basket.

Every string that comes from a document (text, title, source, date, citation, url ...) goes
through `html.escape` before it enters HTML. Highlighting is computed on offsets of the raw
text; each piece is escaped on its own and only then wrapped in markup, so a document holding
`<script>` shows it as text and a highlight can never split an entity.

The buttons carry what they need in data attributes (escaped): `.zq-copy` holds the exact text
to put on the clipboard in `data-copy`; `.zq-add` / `.zq-open` hold `data-doc`, `data-start`,
`data-end` (offsets into the document's cleaned text). The page's JavaScript (`ui.assets`)
handles the clicks.
"""
from __future__ import annotations

import html
import logging
import re
import unicodedata
from typing import Iterable, Mapping, Sequence

from index.text import TOKENIZER, Tokenizer
from qa import NOT_ANSWERED, cite_document

_log = logging.getLogger(__name__)

# "哪些城市" asks for a kind of place; marking every 城市 in the passages would be noise
_ASKED_KIND = re.compile(r"(哪些|哪个|哪几个|哪几|什么|哪)(城市|地方|地区|省份|省|市|县区|区县|县|区)")


def esc(value) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    text = "" if value is None else str(value)
    # a lone surrogate (a file name that is not UTF-8) cannot go into the page's UTF-8: shown as \udcXX
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return html.escape(text, quote=True)


def attr(value) -> str:
    """Escape for a quoted attribute value, keeping newlines and carriage returns exact."""
    return esc(value).replace("\r", "&#13;").replace("\n", "&#10;")


# --- which parts of a text to mark ------------------------------------------------
def question_terms(question: str, tokenizer: Tokenizer = TOKENIZER) -> list[str]:
    """Words of the question worth highlighting: the words of two or more characters BM25 looks for
    (the shared tokenizer's, stop words left out), without the kind of place asked for."""
    if not question or not str(question).strip():
        return []
    return tokenizer.query_words(_ASKED_KIND.sub(" ", str(question)))


def _folded(text: str) -> str:
    """`text` compared as the tokenizer compares (NFKC, lower case), one character for one, so an
    offset into the result is an offset into `text`."""
    out = []
    for ch in text:
        f = unicodedata.normalize("NFKC", ch).lower()
        out.append(f if len(f) == 1 else ch)
    return "".join(out)


def _find_all(text: str, needle: str) -> Iterable[tuple[int, int]]:
    if not needle:
        return
    start = text.find(needle)
    while start != -1:
        yield start, start + len(needle)
        start = text.find(needle, start + 1)


def term_spans(question: str, text: str, terms: Sequence[str] | None = None,
               tokenizer: Tokenizer = TOKENIZER) -> list[tuple[int, int]]:
    """Offsets (into `text`) of the question's words and of the question's phrases the ranking looks
    for verbatim (so 拿地即开工 is marked whole even though jieba cuts it into single characters)."""
    if terms is None:
        terms = question_terms(question, tokenizer)
    folded = _folded(text)
    spans: list[tuple[int, int]] = []
    for term in terms:
        spans.extend(_find_all(folded, term))
    covered: set[str] = set()  # a phrase inside a longer one already found adds nothing
    for phrase in tokenizer.phrases(str(question or "")):
        if phrase in text and not any(phrase in c for c in covered):
            covered.add(phrase)
            spans.extend(_find_all(text, phrase))
    return merge_spans(spans)


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted((int(s), int(e)) for s, e in spans if e > s):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def layered(text: str, layers: Mapping[str, Sequence[tuple[int, int]]], mark_layer: str = "zq-hit",
            inserts: Mapping[int, str] | None = None) -> str:
    """`text` escaped piece by piece, each piece wrapped in the classes of the layers covering it.

    `layers` maps a CSS class to spans given as offsets into `text`. A piece covered by
    `mark_layer` becomes `<mark class=...>`, any other covered piece `<span class=...>`.
    `inserts` maps an offset to ready-made HTML put there (page markers); it adds no text.
    """
    n = len(text)
    inserts = {k: v for k, v in (inserts or {}).items() if 0 <= k < n}
    cuts = {0, n, *inserts}
    clipped: dict[str, list[tuple[int, int]]] = {}
    for name, spans in layers.items():
        ok = [(max(0, s), min(n, e)) for s, e in spans if min(n, e) > max(0, s)]
        clipped[name] = merge_spans(ok)
        for s, e in clipped[name]:
            cuts.update((s, e))
    points = sorted(cuts)
    parts: list[str] = []
    for a, b in zip(points, points[1:]):
        if a in inserts:
            parts.append(inserts[a])
        piece = esc(text[a:b])
        classes = [name for name, spans in clipped.items() if any(s <= a and b <= e for s, e in spans)]
        if not classes:
            parts.append(piece)
        elif mark_layer in classes:
            parts.append(f'<mark class="{" ".join(classes)}">{piece}</mark>')
        else:
            parts.append(f'<span class="{" ".join(classes)}">{piece}</span>')
    return "".join(parts)


# --- small pieces ------------------------------------------------------------------
def copy_button(text: str, label: str = "复制段落和出处", title: str = "复制原文及其出处，可直接粘贴到报告") -> str:
    return (
        f'<button type="button" class="zq-btn zq-copy" data-copy="{attr(text)}" title="{esc(title)}">'
        f"{esc(label)}</button>"
    )


def add_button(doc_id: str, start: int, end: int, label: str = "", kind: str = "passage") -> str:
    return (
        f'<button type="button" class="zq-btn zq-add" data-doc="{attr(doc_id)}" data-start="{int(start)}" '
        f'data-end="{int(end)}" data-label="{attr(label)}" data-kind="{attr(kind)}" '
        f'title="把这段原文和出处加入报告篮">加入报告</button>'
    )


def copy_text(text: str, citation: str) -> str:
    """What a copy button puts on the clipboard: the exact text, a newline, the citation."""
    return f"{text}\n{citation}"


def message(text: str, kind: str = "info") -> str:
    return f'<div class="zq-msg zq-msg-{esc(kind)}" role="status">{esc(text)}</div>'


# --- the answer and the passages ---------------------------------------------------
def render_places(answer: Mapping | None) -> str:
    """The places answer block (`answer.to_dict()["answer"]`), or "" when there is none."""
    if not answer or not answer.get("items"):
        return ""
    items = answer["items"]
    lis = []
    for item in items:
        evidence = item.get("evidence", "")
        citation = item.get("citation", "")
        lis.append(
            '<li class="zq-place">'
            f'<div class="zq-place-name">{esc(item.get("name", ""))}</div>'
            f'<div class="zq-evidence">{esc(evidence)}</div>'
            + (f'<div class="zq-resolved">{esc(item["resolved_from"])}</div>' if item.get("resolved_from") else "")
            + f'<div class="zq-cite">{esc(citation)}</div>'
            '<div class="zq-actions">'
            + copy_button(copy_text(evidence, citation), "复制依据和出处")
            + add_button(item.get("doc_id", ""), item.get("start", 0), item.get("end", 0), item.get("name", ""), "place")
            + "</div></li>"
        )
    names = "、".join(esc(i.get("name", "")) for i in items)
    return (
        '<section class="zq-answer" aria-label="答案">'
        f'<h3 class="zq-answer-head">答案：{names}</h3>'
        '<p class="zq-answer-note">以下每一项都摘自文件原文，附出处。</p>'
        f'<ol class="zq-places">{"".join(lis)}</ol></section>'
    )


def render_passage(p: Mapping, question: str = "", terms: Sequence[str] | None = None) -> str:
    """One result card for a passage dict (`Passage.to_dict()`).

    A card leads with the paragraph that answers (its `lead`, set by `qa.ask`), marked, with its own
    citation; the whole passage is one click away below it as context, with its own copy button and range. The
    header, the citation line and the copied citation all name the same paragraph."""
    text = p.get("text", "")
    base, end = int(p.get("start", 0)), int(p.get("end", 0))
    highlights = [(int(s) - base, int(e) - base) for s, e in (p.get("highlights") or [])]
    hits = term_spans(question, text, terms)
    lead = p.get("lead") or {}
    ls, le = (int(lead["start"]), int(lead["end"])) if lead else (base, end)
    has_context = (ls, le) != (base, end)
    shown = text[ls - base:le - base] if has_context else text
    citation = lead.get("citation") or p.get("citation", "")
    paragraph = int(lead.get("paragraph") or p.get("paragraph", 0))
    page_first, page_last = (lead.get("page_first"), lead.get("page_last")) if lead else (p.get("page_first"), p.get("page_last"))
    where = lead if lead else p
    if where.get("sheet") is not None and where.get("row_first"):
        first, last = int(where["row_first"]), int(where.get("row_last") or where["row_first"])
        place = f'工作表“{where["sheet"]}” ' + (f"第{first}-{last}行" if last != first else f"第{first}行")
    else:
        place = f"第{paragraph}段"

    def clip(spans):
        return [(s - (ls - base), e - (ls - base)) for s, e in spans]

    body = layered(shown, {"zq-hit": clip(hits), "zq-key": clip(highlights)})
    meta = [
        f'<span class="zq-source">{esc(p.get("source") or "来源未注明")}</span>',
        f'<span class="zq-date">{esc(p.get("date") or "日期未注明")}</span>',
        *([f'<span class="zq-page">{esc(_pages(page_first, page_last))}</span>'] if page_first else []),
        f'<span class="zq-para">{esc(place)}</span>',
    ]
    context = ""
    if has_context:
        whole = layered(text, {"zq-hit": hits, "zq-key": highlights, "zq-lead-in": [(ls - base, le - base)]})
        context = (
            '<details class="zq-context">'
            f'<summary>上下文：所在检索片段（{esc(_where(p))}）</summary>'
            f'<div class="zq-context-text" data-start="{base}" data-end="{end}">{whole}</div>'
            f'<div class="zq-cite zq-context-cite">出处：{esc(p.get("citation", ""))}</div>'
            '<div class="zq-actions">'
            + copy_button(copy_text(text, p.get("citation", "")), "复制整个片段和出处", "复制整个检索片段的原文及其出处")
            + add_button(p.get("doc_id", ""), base, end)
            + "</div></details>"
        )
    title = p.get("title") or p.get("doc_id", "")
    rank = int(p.get("rank", 0))
    score_note = (f'排序依据：与问题的融合相关度 {float(p.get("score", 0.0)):.3f}（只用于本次结果之间比较先后，'
                  '不是概率或匹配度）')
    return (
        f'<article class="zq-card" id="zq-card-{rank}" data-rank="{rank}" '
        f'data-doc="{attr(p.get("doc_id", ""))}">'
        '<header class="zq-card-head">'
        f'<span class="zq-rank" aria-label="第{rank}条" title="{attr(score_note)}">{rank}</span>'
        f'<a href="#" role="button" class="zq-title zq-open" data-doc="{attr(p.get("doc_id", ""))}" '
        f'data-start="{ls}" data-end="{le}" title="打开全文，定位到这段">{esc(title)}</a>'
        "</header>"
        f'<div class="zq-meta">{"".join(meta)}</div>'
        f'<div class="zq-text" data-start="{ls}" data-end="{le}">{body}</div>'
        f'<div class="zq-cite">出处：{esc(citation)}</div>'
        + _also_in(p.get("also_in") or ())
        + '<div class="zq-actions">'
        + copy_button(copy_text(shown, citation), "复制本段和出处" if has_context else "复制段落和出处")
        + add_button(p.get("doc_id", ""), ls, le)
        + f'<a href="#" role="button" class="zq-btn zq-open zq-open-btn" data-doc="{attr(p.get("doc_id", ""))}" '
        f'data-start="{ls}" data-end="{le}">查看全文</a>'
        "</div>" + context + "</article>"
    )


def _where(p: Mapping) -> str:
    """第1-4段 (or 第3页 第1-4段, 工作表“X” 第3-9行): where the whole passage stands, read off its citation."""
    m = re.search(r"(第[\d–-]+页 )?第[\d-]+段$|(工作表“[^”]*” )?第[\d-]+行$", str(p.get("citation", "")))
    return m.group(0) if m else f"第{int(p.get('paragraph', 0))}段起"


def _pages(first, last) -> str:
    first, last = int(first), int(last or first)
    return f"第{first}–{last}页" if last != first else f"第{first}页"


def _also_in(copies: Sequence[Mapping]) -> str:
    """另见: the other copies of this document (same text from other outlets or formats), not indexed twice."""
    if not copies:
        return ""
    names = []
    for c in copies:
        title = f"《{c.get('title')}》" if c.get("title") else str(c.get("doc_id", ""))
        names.append(esc("，".join(x for x in (title, str(c.get("source") or "")) if x)))
    return f'<div class="zq-also">另见：{"；".join(names)}</div>'


def share_button(link: str) -> str:
    """A button copying the page's deep link (`?q=...`, made absolute in the browser)."""
    return (
        f'<button type="button" class="zq-btn zq-share" data-link="{attr(link)}" '
        'title="复制一个能直接打开这次检索结果的链接">复制分享链接</button>'
    )


def render_results(result: Mapping, filters_note: str = "", link: str = "") -> str:
    """The result cards for `Answer.to_dict()`, with a header line and any notice. `link` is the
    deep link of this search (`?q=...`): the header carries it for the address bar and a share button."""
    question = result.get("question", "")
    passages = result.get("passages") or []
    terms = question_terms(question)
    share = share_button(link) if link else ""
    head = [
        f'<div class="zq-results-head" data-share="{attr(link)}"><span>共 {len(passages)} 段原文，按相关程度排序'
        f"{esc(filters_note)}</span>{share}</div>"
    ]
    if result.get("notice"):
        head.append(message(result["notice"], "warn"))
    if not passages:
        return "".join(head) + message("没有找到相关段落。可以换个说法，或放宽来源和日期筛选。", "empty")
    cards = "".join(render_passage(p, question, terms) for p in passages)
    if result.get("answerable") is False:
        # the documents do not answer: say so first, and show the closest passages dimmed
        reason = result.get("unanswerable_reason") or ""
        head.append(
            '<div class="zq-msg zq-msg-unanswered" role="status">'
            f'<strong>{esc(NOT_ANSWERED)}</strong>'
            + (f'<span class="zq-unanswered-why">（{esc(reason)}）</span>' if reason else "")
            + "</div>"
        )
        return "".join(head) + f'<div class="zq-dim">{cards}</div>'
    return "".join(head) + cards


_SHORT_KINDS = ("quantity", "date", "body", "list", "yesno")


def _answer_head(a: Mapping) -> str:
    """The answer as one line of text: 38个; 否（招标人、投标人无需现场接触）; 去年（即2025年）."""
    text = str(a.get("text") or "")
    if a.get("type") == "yesno":
        return f"{a.get('verdict') or ''}（{text}）"
    if a.get("type") == "date" and a.get("means"):
        return f"{text}（即{a['means']}）"
    return text


def _marked_evidence(a: Mapping) -> str:
    """The evidence sentence, escaped, with the answer (or each listed item) marked inside it."""
    evidence = str(a.get("evidence") or "")
    base = int(a.get("evidence_start") or 0)
    spans = [(int(i["start"]) - base, int(i["end"]) - base) for i in a.get("items") or () if "start" in i]
    if not spans and a.get("start") is not None:
        spans = [(int(a["start"]) - base, int(a["end"]) - base)]
    return layered(evidence, {"zq-answer-mark": spans}, mark_layer="zq-answer-mark")


def _card_holding(a: Mapping, passages: Sequence[Mapping]) -> int | None:
    """The rank of the result card whose passage holds the answer's sentence, if one is shown."""
    for p in passages:
        if p.get("doc_id") == a.get("doc_id") and int(p.get("start", 0)) <= int(a.get("evidence_start") or 0) \
                and int(a.get("evidence_end") or 0) <= int(p.get("end", 0)):
            return int(p.get("rank", 0))
    return None


def _short_block(a: Mapping, alternative: bool = False, passages: Sequence[Mapping] = ()) -> str:
    head = _answer_head(a)
    citation = str(a.get("citation") or "")
    doc_id = str(a.get("doc_id") or "")
    es, ee = int(a.get("evidence_start") or 0), int(a.get("evidence_end") or 0)
    items = ""
    if a.get("type") == "list" and a.get("items"):
        items = '<ol class="zq-answer-items">' + "".join(f"<li>{esc(i.get('text', ''))}</li>" for i in a["items"]) + "</ol>"
    label = f"答：{head}"
    rank = _card_holding(a, passages)
    to_card = (f'<a class="zq-btn zq-to-card" href="#zq-card-{rank}" title="跳到这句话所在的检索结果">'
               f'看所在段落（第{rank}条）</a>' if rank else "")
    return (
        f'<div class="zq-short{" zq-alt" if alternative else ""}">'
        + (f'<div class="zq-alt-value">{esc(head)}</div>' if alternative else "")
        + items
        + f'<div class="zq-evidence">{_marked_evidence(a)}</div>'
        f'<div class="zq-cite">出处：{esc(citation)}</div>'
        '<div class="zq-actions">'
        + copy_button(f"{label}\n" + copy_text(str(a.get("evidence") or ""), citation), "复制答案和出处",
                      "复制答案、依据原文及其出处")
        + add_button(doc_id, es, ee, label, "answer")
        + to_card
        + f'<a href="#" role="button" class="zq-btn zq-open zq-open-btn" data-doc="{attr(doc_id)}" '
        f'data-start="{es}" data-end="{ee}" title="打开全文，定位到这句">查看全文</a>'
        "</div></div>"
    )


def render_short(answer: Mapping | None, passages: Sequence[Mapping] = ()) -> str:
    """The short answer block (a number, date, body, list or yes/no with its evidence), or ""."""
    if not answer or answer.get("type") not in _SHORT_KINDS or answer.get("text") is None:
        return ""
    alts = answer.get("alternatives") or []
    alt_html = ""
    if alts:
        alt_html = ('<div class="zq-alts"><div class="zq-alts-head">其他出处的说法（数值不同，请按出处核对）：</div>'
                    + "".join(_short_block(a, True, passages) for a in alts) + "</div>")
    return (
        f'<section class="zq-answer zq-answer-{esc(answer["type"])}" aria-label="答案">'
        f'<h3 class="zq-answer-head">答案：<span class="zq-answer-text">{esc(_answer_head(answer))}</span></h3>'
        '<p class="zq-answer-note">答案摘自文件原文，下面是它所在的句子和出处。</p>'
        + _short_block(answer, False, passages) + alt_html + "</section>"
    )


def render_answer(result: Mapping) -> str:
    """The answer block standing above the passages ("" when there is no answer)."""
    answer = result.get("answer")
    if answer and answer.get("type") == "places":
        return render_places(answer)
    return render_short(answer, result.get("passages") or ())


# --- the document view ---------------------------------------------------------------
def _safe_url(url: str) -> str:
    url = (url or "").strip()
    return url if re.match(r"^https?://", url, re.IGNORECASE) else ""


def render_document(doc, focus: tuple[int, int] | None = None, question: str = "",
                    highlights: Sequence[tuple[int, int]] = ()) -> str:
    """The cleaned document, metadata on top, paragraphs numbered, the focus passage marked.

    `doc` is an `index.Document`; `focus` and `highlights` are offsets into `doc.text`.
    """
    spans = doc.paragraph_spans()
    fs, fe = focus if focus else (-1, -1)
    focus_ok = 0 <= fs < fe <= len(doc.text)
    terms = question_terms(question) if question and focus_ok else []
    meta = [
        f'<span class="zq-source">{esc(doc.source or "来源未注明")}</span>',
        f'<span class="zq-date">{esc(doc.date or "日期未注明")}</span>',
        f'<span class="zq-npara">共 {len(spans)} 段</span>',
        f'<span class="zq-docid">{esc(doc.doc_id)}</span>',
    ]
    url = _safe_url(doc.url)
    if url:
        meta.append(f'<a class="zq-url" href="{attr(url)}" target="_blank" rel="noopener noreferrer">原文链接</a>')
    elif doc.url:
        meta.append(f'<span class="zq-url">{esc(doc.url)}</span>')
    head = (
        '<header class="zq-doc-head">'
        '<button type="button" class="zq-btn zq-back" title="回到检索结果">← 返回结果</button>'
        f'<h2 class="zq-doc-title">{esc(doc.title or doc.doc_id)}</h2>'
        f'<div class="zq-meta">{"".join(meta)}</div>'
    )
    if focus_ok:
        citation = cite_document(doc, fs, fe)
        excerpt = doc.text[fs:fe]
        head += (
            f'<div class="zq-doc-focusbar">高亮的是检索到的段落（{esc(citation)}）'
            '<span class="zq-actions">'
            + copy_button(copy_text(excerpt, citation))
            + add_button(doc.doc_id, fs, fe)
            + '<button type="button" class="zq-btn zq-goto">回到高亮处</button></span></div>'
        )
    head += "</header>"
    paras = []
    # where each page's text begins (a page without text has no marker); markers sit inside the paragraph
    # a page break falls in, so a paragraph that runs on to the next page stays one paragraph
    page_marks = {}
    for page, offset in enumerate(doc.pages, start=1):
        if doc.page_at(offset) == page and offset < len(doc.text):
            page_marks[offset] = f'<span class="zq-page-mark" data-page="{page}">第{page}页</span>'
    for n, (ps, pe) in enumerate(spans, start=1):
        text = doc.text[ps:pe]
        layers: dict[str, list[tuple[int, int]]] = {}
        in_focus = focus_ok and fs < pe and ps < fe
        if in_focus:
            layers["zq-focus"] = [(max(fs, ps) - ps, min(fe, pe) - ps)]
            if terms:
                inside = text[max(fs, ps) - ps : min(fe, pe) - ps]
                off = max(fs, ps) - ps
                layers["zq-hit"] = [(s + off, e + off) for s, e in term_spans(question, inside, terms)]
            layers["zq-key"] = [(s - ps, e - ps) for s, e in highlights if s < pe and ps < e]
        if not text.strip():
            continue
        inserts = {o - ps: mark for o, mark in page_marks.items() if ps <= o < pe}
        body = layered(text, layers, inserts=inserts) if layers or inserts else esc(text)
        cite = cite_document(doc, ps, pe)
        paras.append(
            f'<div class="zq-doc-para{" zq-in-focus" if in_focus else ""}" id="zq-p-{n}">'
            f'<span class="zq-pnum" title="第{n}段">{n}</span>'
            f'<p class="zq-doc-text">{body}</p>'
            '<span class="zq-para-actions">'
            + copy_button(copy_text(text, cite), "复制", "复制本段原文及其出处")
            + add_button(doc.doc_id, ps, pe)
            + "</span></div>"
        )
    body = "".join(paras)
    focus_attr = f"{fs}-{fe}" if focus_ok else ""
    return f'<article class="zq-doc" data-doc="{attr(doc.doc_id)}" data-focus="{focus_attr}">{head}<div class="zq-doc-body">{body}</div></article>'


def render_document_placeholder() -> str:
    return message("在“检索”页点击结果的标题或“查看全文”，这里会显示整篇文件，并定位到那一段。", "empty")


# --- the report basket ---------------------------------------------------------------------
def render_basket(items: Sequence[Mapping]) -> str:
    """The basket: numbered excerpts with their citations and up / down / remove buttons."""
    if not items:
        return message("报告篮是空的。在答案或结果段落上点“加入报告”，摘录会出现在这里，可排序后导出为 Word 或 Markdown。", "empty")
    lis = []
    last = len(items) - 1
    for i, item in enumerate(items):
        label = f'<span class="zq-basket-label">{esc(item["label"])}</span>' if item.get("label") else ""
        lis.append(
            f'<li class="zq-basket-item" data-i="{i}">'
            f'<div class="zq-basket-text">{label}{esc(item.get("text", ""))}</div>'
            f'<div class="zq-cite">{esc(item.get("citation", ""))}</div>'
            '<div class="zq-actions">'
            f'<button type="button" class="zq-btn zq-move" data-i="{i}" data-op="up"{" disabled" if i == 0 else ""} title="上移">↑ 上移</button>'
            f'<button type="button" class="zq-btn zq-move" data-i="{i}" data-op="down"{" disabled" if i == last else ""} title="下移">↓ 下移</button>'
            f'<button type="button" class="zq-btn zq-move zq-remove" data-i="{i}" data-op="remove" title="从报告篮移除">移除</button>'
            "</div></li>"
        )
    return f'<div class="zq-basket-head">报告篮里有 {len(items)} 条摘录</div><ol class="zq-basket">{"".join(lis)}</ol>'
