"""Chinese sentence spans.

`split_sentences(text)` returns `(start, end)` offsets into `text` that tile every line of
it (the "\\n" between paragraphs belongs to no sentence), so `text[start:end]` is always one
sentence exactly as written. A sentence ends after 。！？!?；;… (a run of them), together with
any closing quotes/brackets that follow (。” ！」 ？） …). A semicolon inside brackets
(〔牵头单位：…；责任单位：…〕, （…；…）) does not end a sentence. Lines never share a sentence.

The spans are computed with a regex scan rather than a text-splitter library because the
offsets must be exact: callers slice the document with them.
"""
from __future__ import annotations

import re

# sentence-final marks; ASCII "." is deliberately absent (1.保障…, 3.8亿元)
FINAL = "。！？!?；;…"
STRONG_FINAL = "。！？!?…"
# closing quotes/brackets that stay with the sentence they close
CLOSERS = "”’」』）)】》〕］]〉\"'"
OPENERS = "（(〔［[【「『《〈"
_BRACKET_PAIRS = {"（": "）", "(": ")", "〔": "〕", "［": "］", "[": "]", "【": "】"}
_BRACKET_CLOSE = {v: k for k, v in _BRACKET_PAIRS.items()}

_END_RUN = re.compile(f"[{re.escape(FINAL)}]+[{re.escape(CLOSERS)}]*")


def _line_sentences(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    """Append the sentence spans of text[start:end] (one line, no "\\n")."""
    if start >= end:
        return
    depth = 0
    sent_start = start
    i = start
    while i < end:
        ch = text[i]
        if ch in _BRACKET_PAIRS:
            depth += 1
        elif ch in _BRACKET_CLOSE:
            depth = max(0, depth - 1)
        if ch in FINAL:
            m = _END_RUN.match(text, i, end)
            run = m.group(0)
            stop = m.end()
            # a run made only of ；/; inside brackets is not a sentence end
            if depth > 0 and not any(c in STRONG_FINAL for c in run):
                i = stop
                continue
            # recount bracket depth over any closers swallowed by the run
            for c in run:
                if c in _BRACKET_CLOSE:
                    depth = max(0, depth - 1)
            # trailing whitespace belongs to the sentence it follows
            while stop < end and text[stop].isspace():
                stop += 1
            out.append((sent_start, stop))
            sent_start = stop
            i = stop
            continue
        i += 1
    if sent_start < end:
        if text[sent_start:end].strip() or not out or out[-1][1] != sent_start:
            out.append((sent_start, end))
        else:  # whitespace-only tail: give it to the previous sentence
            out[-1] = (out[-1][0], end)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of `text`, in order, never crossing a newline."""
    spans: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        line_end = n if nl < 0 else nl
        _line_sentences(text, pos, line_end, spans)
        if nl < 0:
            break
        pos = nl + 1
    return spans


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) moved inwards past whitespace, so `text[start:end]` is the span's text without it."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def without_closers(fragment: str) -> str:
    """`fragment` without trailing whitespace and the closing quotes/brackets before it."""
    s = fragment.rstrip()
    while s and s[-1] in CLOSERS:
        s = s[:-1]
    return s


def ends_sentence(fragment: str) -> bool:
    """True when `fragment` ends with sentence-final punctuation (closers allowed after it)."""
    s = without_closers(fragment)
    return bool(s) and s[-1] in FINAL
