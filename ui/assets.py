"""The page's CSS and the JavaScript its HTML blocks run (Gradio's `js_on_load`).

Gradio renders `gr.HTML` through `innerHTML`, so `<script>` inside a value never runs. The
buttons in the rendered HTML are plain elements with data attributes; each HTML block gets
one delegated click handler through `js_on_load`, which
  - copies `data-copy` (the exact passage text + newline + citation) with
    `navigator.clipboard.writeText`, falling back to a hidden textarea and
    `document.execCommand('copy')` where the clipboard API is missing (plain http on a
    non-local address is not a secure context);
  - sends "加入报告", "打开全文" and basket up/down/remove clicks to Python with
    `trigger(EVENT, data)`: the custom events `zq_add`, `zq_open`, `zq_move`, `zq_back`.
"""
from __future__ import annotations

import json

FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", system-ui, sans-serif'
)

CSS = """
.gradio-container, .gradio-container button, .gradio-container input, .gradio-container textarea {
  font-family: %(fonts)s !important;
}
.gradio-container { max-width: 1080px !important; margin: 0 auto !important; }
#zq-header h1 { font-size: 1.45rem; margin: .2rem 0 .1rem; }
#zq-header p { margin: 0; color: var(--body-text-color-subdued); font-size: .92rem; }
#zq-examples button { white-space: normal !important; text-align: left; }
.zq-msg { padding: .7rem .9rem; border-radius: 8px; margin: .4rem 0; line-height: 1.6;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.zq-msg-error { border-color: #e5484d; background: rgba(229,72,77,.08); }
.zq-msg-warn { border-color: #f5a524; background: rgba(245,165,36,.10); }
.zq-results-head { margin: .3rem 0 .6rem; color: var(--body-text-color-subdued); font-size: .9rem;
  display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.zq-card, .zq-answer, .zq-doc, .zq-basket-item {
  border: 1px solid var(--border-color-primary); border-radius: 10px; padding: .85rem 1rem;
  margin: 0 0 .8rem; background: var(--background-fill-primary); }
.zq-answer { border-left: 5px solid var(--color-accent); background: var(--background-fill-secondary); }
.zq-answer-head { margin: 0 0 .2rem !important; font-size: 1.15rem; }
.zq-answer-note { margin: 0 0 .5rem; font-size: .85rem; color: var(--body-text-color-subdued); }
.zq-places { margin: 0; padding-left: 1.4rem; }
.zq-place { margin: 0 0 .7rem; }
.zq-place-name { font-weight: 700; font-size: 1.05rem; }
.zq-evidence { line-height: 1.75; margin: .15rem 0; }
.zq-answer-text { color: var(--color-accent); }
mark.zq-answer-mark { background: #ffe58a; color: inherit; font-weight: 700; padding: 0 .1em; }
.zq-answer-items { margin: .2rem 0 .4rem; padding-left: 1.4rem; }
.zq-alts { margin-top: .6rem; border-top: 1px dashed var(--border-color-primary); padding-top: .4rem; }
.zq-alts-head { font-size: .85rem; color: var(--body-text-color-subdued); }
.zq-alt { margin: .4rem 0 0; }
.zq-alt-value { font-weight: 700; }
.zq-card-head { display: flex; gap: .6rem; align-items: baseline; }
.zq-rank { flex: none; display: inline-flex; align-items: center; justify-content: center; min-width: 1.7rem;
  height: 1.7rem; border-radius: 50%%; background: var(--color-accent); color: #fff; font-weight: 700; font-size: .9rem; }
.zq-title { font-weight: 700; font-size: 1.05rem; color: var(--link-text-color, #2563eb) !important;
  text-decoration: none; cursor: pointer; overflow-wrap: anywhere; }
.zq-title:hover { text-decoration: underline; }
.zq-meta { display: flex; flex-wrap: wrap; gap: .25rem .9rem; font-size: .85rem;
  color: var(--body-text-color-subdued); margin: .3rem 0 .5rem; }
.zq-context { margin-top: .4rem; font-size: .92rem; }
.zq-context > summary { cursor: pointer; color: var(--body-text-color-subdued); font-size: .85rem; }
.zq-context-text { white-space: pre-wrap; line-height: 1.8; overflow-wrap: anywhere; color: var(--body-text-color-subdued);
  border-left: 3px solid var(--border-color-primary); padding-left: .6rem; margin-top: .3rem; }
.zq-lead-in { color: var(--body-text-color); background: rgba(37,99,235,.06); }
.zq-msg-unanswered { border-left: 4px solid #d97706; background: rgba(217,119,6,.08); padding: .6rem .8rem;
  margin: .4rem 0 .6rem; line-height: 1.6; }
.zq-unanswered-why { color: var(--body-text-color-subdued); font-size: .9rem; }
.zq-dim .zq-card { opacity: .62; }
.zq-dim .zq-card:hover, .zq-dim .zq-card:focus-within { opacity: 1; }
.zq-text, .zq-basket-text { white-space: pre-wrap; line-height: 1.8; font-size: 1rem; overflow-wrap: anywhere; }
.zq-page-mark { display: inline-block; margin: 0 .3rem; padding: 0 .35rem; font-size: .75rem; border-radius: .25rem;
  color: var(--body-text-color-subdued); border: 1px dashed var(--border-color-primary); user-select: none; }
.zq-also { font-size: .85rem; color: var(--body-text-color-subdued); margin: .1rem 0 .2rem; }
.zq-cite { font-size: .85rem; color: var(--body-text-color-subdued); margin: .4rem 0 .2rem; overflow-wrap: anywhere; }
.zq-resolved { font-size: .85rem; color: var(--body-text-color-subdued); margin: .2rem 0 0; }
mark.zq-hit { background: #ffe58f; color: #1f1f1f; padding: 0 1px; border-radius: 2px; }
.zq-key { background: rgba(37,99,235,.10); border-bottom: 2px solid rgba(37,99,235,.55); }
mark.zq-key { border-bottom: 2px solid rgba(37,99,235,.55); }
.zq-actions { display: flex; flex-wrap: wrap; align-items: center; gap: .45rem; margin-top: .45rem; }
.zq-btn { display: inline-flex; align-items: center; margin: 0 !important; font-weight: 500 !important;
  font-size: .85rem !important; padding: .3rem .75rem !important; border-radius: 6px !important;
  border: 1px solid var(--border-color-primary) !important; background: var(--button-secondary-background-fill) !important;
  color: var(--body-text-color) !important; cursor: pointer; text-decoration: none !important; line-height: 1.4; }
.zq-btn:hover { border-color: var(--color-accent) !important; }
.zq-btn:disabled { opacity: .4; cursor: default; }
.zq-btn.zq-done { border-color: #16a34a !important; color: #16a34a !important; }
.zq-add { border-color: var(--color-accent) !important; }
.zq-doc-head { border-bottom: 1px solid var(--border-color-primary); margin-bottom: .6rem; padding-bottom: .5rem;
  position: sticky; top: 0; background: var(--background-fill-primary); z-index: 2; }
.zq-back { margin-bottom: .4rem !important; }
.zq-doc-title { font-size: 1.3rem; margin: 0 0 .2rem; overflow-wrap: anywhere; }
.zq-doc-focusbar { font-size: .85rem; background: var(--background-fill-secondary); border-radius: 6px;
  padding: .4rem .6rem; display: flex; flex-wrap: wrap; align-items: center; gap: .4rem; }
.zq-doc-focusbar .zq-actions { margin: 0; }
.zq-doc-para { position: relative; display: grid; grid-template-columns: 2.2rem 1fr; column-gap: .5rem;
  margin: 0 0 .15rem; padding: .35rem .2rem; border-radius: 6px; }
.zq-doc-para:hover { background: var(--background-fill-secondary); }
.zq-doc-para .zq-para-actions { position: absolute; right: .2rem; bottom: -.9rem; z-index: 1; display: none; gap: .3rem;
  padding: .15rem; border-radius: 6px; background: var(--background-fill-primary); box-shadow: 0 1px 4px rgba(0,0,0,.18); }
.zq-doc-para:hover .zq-para-actions, .zq-doc-para:focus-within .zq-para-actions { display: flex; }
.zq-para-actions .zq-btn { font-size: .75rem !important; padding: .1rem .5rem !important; }
.zq-pnum { color: var(--body-text-color-subdued); font-size: .8rem; text-align: right; padding-top: .3rem; }
.zq-doc-text { margin: 0 !important; line-height: 1.85; white-space: pre-wrap; overflow-wrap: anywhere; }
.zq-in-focus { background: rgba(255,229,143,.22); box-shadow: inset 3px 0 0 #f5b800; }
.zq-focus { background: #fff1b8; color: #1f1f1f; }
.zq-basket { padding-left: 1.5rem; }
.zq-basket-label { font-weight: 700; margin-right: .4rem; }
.zq-basket-head { margin: .2rem 0 .5rem; font-weight: 600; }
.zq-eval-q { border-bottom: 1px solid var(--border-color-primary); padding: .5rem 0; }
.zq-eval-q summary { cursor: pointer; }
.zq-eval-miss { color: #e5484d; font-weight: 600; }
.zq-eval-hit { color: #16a34a; font-weight: 600; }
/* the library table scrolls inside its own box on a narrow screen; the page never gets wider than the window */
#zq-library { max-width: 100%%; min-width: 0 !important; }
.gradio-container { min-width: 0 !important; width: 100%% !important; max-width: min(1080px, 100vw) !important; }
.gradio-container .main, .gradio-container main.contain, .gradio-container .tabs, .gradio-container .tabitem {
  min-width: 0 !important; max-width: 100%%; }
#zq-library .table-wrap, #zq-library .table-container { max-width: 100%%; overflow-x: auto !important; }
@media (max-width: 640px) {
  .gradio-container { padding: 0 .4rem !important; }
  #zq-header h1 { font-size: 1.2rem; }
  .zq-card, .zq-answer, .zq-doc, .zq-basket-item { padding: .7rem .7rem; }
  .zq-text, .zq-doc-text, .zq-basket-text { font-size: .98rem; }
  .zq-doc-para { grid-template-columns: 1.6rem 1fr; }
  .zq-doc-head { position: static; }
  .zq-btn { padding: .45rem .8rem !important; }
  /* five tabs fit a phone's width: narrower tab buttons */
  .tab-container button, .tab-wrapper button { padding-left: .5rem !important; padding-right: .5rem !important; }
}
""" % {"fonts": FONT_STACK}

# shared helpers for every HTML block's js_on_load
_JS_HELPERS = r"""
const zqCopy = async (text) => {
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); return true; }
  } catch (e) { /* fall back below */ }
  const ta = document.createElement('textarea');
  ta.value = text; ta.setAttribute('readonly', '');
  ta.style.position = 'fixed'; ta.style.top = '-1000px'; ta.style.opacity = '0';
  document.body.appendChild(ta); ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
  ta.remove();
  return ok;
};
const zqFlash = (btn, text, ok) => {
  if (!btn.dataset.label0) btn.dataset.label0 = btn.textContent;
  btn.textContent = text; btn.classList.toggle('zq-done', ok !== false);
  clearTimeout(btn._zqTimer);
  btn._zqTimer = setTimeout(() => { btn.textContent = btn.dataset.label0; btn.classList.remove('zq-done'); }, 1800);
};
const zqScrollToFocus = (tries) => {
  const el = element.querySelector('.zq-focus') || element.querySelector('.zq-in-focus');
  if (!el) return;
  if (el.getClientRects().length === 0) { if (tries > 0) setTimeout(() => zqScrollToFocus(tries - 1), 120); return; }
  el.scrollIntoView({block: 'center'});
};
element.addEventListener('click', async (ev) => {
  const btn = ev.target.closest('.zq-copy, .zq-add, .zq-open, .zq-move, .zq-goto, .zq-share, .zq-back');
  if (!btn || !element.contains(btn)) return;
  ev.preventDefault();
  if (btn.classList.contains('zq-copy')) {
    const ok = await zqCopy(btn.dataset.copy || '');
    zqFlash(btn, ok ? '已复制' : '复制失败，请手动选中文字复制', ok);
  } else if (btn.classList.contains('zq-share')) {
    const url = new URL(btn.dataset.link || '', window.location.href).href;
    const ok = await zqCopy(url);
    zqFlash(btn, ok ? '链接已复制' : url, ok);
  } else if (btn.classList.contains('zq-add')) {
    trigger('zq_add', {doc: btn.dataset.doc, start: Number(btn.dataset.start), end: Number(btn.dataset.end),
                       label: btn.dataset.label || ''});
    zqFlash(btn, '已加入报告', true);
  } else if (btn.classList.contains('zq-open')) {
    trigger('zq_open', {doc: btn.dataset.doc, start: Number(btn.dataset.start), end: Number(btn.dataset.end)});
  } else if (btn.classList.contains('zq-move')) {
    trigger('zq_move', {i: Number(btn.dataset.i), op: btn.dataset.op});
  } else if (btn.classList.contains('zq-back')) {
    trigger('zq_back', {});
  } else if (btn.classList.contains('zq-goto')) {
    zqScrollToFocus(20);
  }
});
"""

# result blocks: also keep the address bar on ?q=... so the page's URL can be shared as is.
# (A MutationObserver rather than `watch`: it sees every re-render, whatever caused it.)
JS_RESULTS = _JS_HELPERS + r"""
let zqShared = null;
const zqOnRender = () => {
  const row = element.querySelector('[data-share]');
  const link = row ? row.dataset.share : null;
  if (link && link !== zqShared && window.history && window.history.replaceState) {
    zqShared = link;
    try { window.history.replaceState(null, '', link); } catch (e) {}
  }
};
new MutationObserver(zqOnRender).observe(element, {childList: true, subtree: true});
zqOnRender();
"""

# the document view: scroll to the passage every time a document is opened (the tab may still
# be hidden for a moment when the new value lands, so zqScrollToFocus retries until it is shown)
JS_DOCUMENT = _JS_HELPERS + r"""
let zqShown = null;
const zqOnRender = () => {
  const art = element.querySelector('.zq-doc');
  const key = art ? (art.dataset.doc + ':' + (art.dataset.focus || '')) : null;
  if (key && key !== zqShown) { zqShown = key; setTimeout(() => zqScrollToFocus(30), 50); }
};
new MutationObserver(zqOnRender).observe(element, {childList: true, subtree: true});
zqOnRender();
"""

JS_PLAIN = _JS_HELPERS

# Gradio's own interface strings that stay English whatever the browser's language (the upload box, the table's
# filter box) or show a raw key: put into Chinese wherever they appear, now and after every re-render. Document
# text (cards, the document view, the basket) is never touched.
UI_STRINGS = {
    "Drop File Here": "把文件拖到这里", "- or -": "或", "Click to Upload": "点击选择文件", "Filter...": "筛选…",
    "Search...": "搜索…", "common.complete": "完成", "Uploading...": "正在上传…", "Loading...": "正在加载…",
    "Error": "出错了", "Close": "关闭", "Clear": "清除", "Copy": "复制", "Copied": "已复制", "Fullscreen": "全屏",
    "Exit fullscreen mode": "退出全屏", "Copy table data": "复制表格", "Remove": "移除", "Download": "下载",
    "Sort ascending": "升序", "Sort descending": "降序", "Clear sort": "取消排序", "Filter": "筛选",
}
# Gradio's messages that carry a value: (pattern, Chinese with $1...)
UI_PATTERNS = [
    (r'^File\(s\) exceed the maximum allowed size of ([\d.]+) ?([KMG])b: (.*)$', "文件超过上传上限（每个不超过 $1 $2B）：$3"),
]
JS_PAGE = r"""
() => {
  const words = %(words)s;
  const patterns = %(patterns)s.map(([p, r]) => [new RegExp(p), r]);
  const say = (t) => {
    if (Object.prototype.hasOwnProperty.call(words, t)) return words[t];
    for (const [p, r] of patterns) if (p.test(t)) return t.replace(p, r);
    return null;
  };
  const keep = '.zq-card, .zq-doc, .zq-answer, .zq-basket, .zq-eval-q';
  const fixText = (node) => {
    const t = node.nodeValue && node.nodeValue.trim();
    const said = t && !(node.parentElement && node.parentElement.closest(keep)) ? say(t) : null;
    if (said !== null) node.nodeValue = node.nodeValue.replace(t, said);
  };
  const fixAttrs = (el) => {
    for (const a of ['placeholder', 'aria-label', 'title']) {
      const v = el.getAttribute && el.getAttribute(a);
      if (v && Object.prototype.hasOwnProperty.call(words, v) && !el.closest(keep)) el.setAttribute(a, words[v]);
    }
  };
  const fix = (root) => {
    if (root.nodeType === 3) { fixText(root); return; }
    if (root.nodeType !== 1) return;
    fixAttrs(root);
    root.querySelectorAll('[placeholder], [aria-label], [title]').forEach(fixAttrs);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let n; while ((n = walker.nextNode())) fixText(n);
  };
  fix(document.body);
  new MutationObserver((changes) => {
    for (const c of changes) {
      if (c.type === 'childList') c.addedNodes.forEach(fix); else fix(c.target);
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true,
                             attributeFilter: ['placeholder', 'aria-label', 'title']});
}
""" % {"words": json.dumps(UI_STRINGS, ensure_ascii=False), "patterns": json.dumps(UI_PATTERNS, ensure_ascii=False)}
