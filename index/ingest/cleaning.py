"""Cleaning raw document text into a body of paragraphs, one per line.

What is removed: web-page chrome (字号, 打印, 扫一扫…, e-paper page labels like "第07版:国内",
"(上接第一版)", 责任编辑 lines, e-paper footers), page numbers ("- 17 -", "第3页"), form feeds and
other control characters, and - for documents that were hard-wrapped by PDF extraction - the line
breaks and spaces the wrapping introduced. The wording itself is never rewritten: characters are
only ever dropped (whitespace, chrome lines, metadata lines), never replaced, and full-width and
half-width punctuation stay as they are in the source.

Two layouts are recognised:

* paragraph-per-line text (web pages, e-papers, most .txt exports): every non-empty line is a
  paragraph; spaces inside lines are kept;
* hard-wrapped text (PDF extraction): lines end mid-sentence. A line continues into the next one
  unless it ends a sentence (。！？；… and closers) or a clause with a colon, or looks like a heading
  (short, no sentence punctuation inside), and unless the next line starts a list item/heading
  (一、 （一） 1. 第X条 …) or is a byline/caption. In fixed-width wrapped text a full-width line that
  ends with 。 is still continued, because the paragraph only ends on a short line. Spaces between
  CJK characters (and between CJK and digits) are removed, since wrapping put them there.
"""
from __future__ import annotations

import re
import unicodedata

from index.text.sentences import FINAL, ends_sentence, without_closers

# ---------------------------------------------------------------------------------------------
# characters

_ZERO_WIDTH = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad\x00"), None)
_CONTROL_TO_NEWLINE = re.compile(r"\r\n?|[\f\v\x1c\x1d\x1e\x85\u2028\u2029]")
_OTHER_CONTROL = re.compile(r"[\x01-\x08\x0e-\x1b\x1f\x7f]")


def is_cjk(ch: str) -> bool:
    """A CJK ideograph, CJK/full-width punctuation or Chinese quote/ellipsis/dash."""
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x3FFFF
        or 0x3000 <= o <= 0x303F  # CJK symbols and punctuation 、。〈〉《》「」〔〕
        or 0xFF01 <= o <= 0xFF60  # full-width forms ，：；（）！？
        or 0xFE30 <= o <= 0xFE4F
        or ch in "“”‘’…—·"
    )


def display_width(s: str) -> int:
    """Width in half-width cells (CJK = 2), used to compare wrapped line lengths."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _joinable_space(before: str, left: str, right: str) -> bool:
    """Is a whitespace run between `left` and `right` a wrap artefact in hard-wrapped text?

    `before` is the character before `left` ("" at the start)."""
    lc, rc = is_cjk(left), is_cjk(right)
    if lc and rc:
        return True
    if lc:
        return right.isdigit() or right in "\"%()"
    if rc:
        # "率93.92%, 群众": an ASCII comma used as a Chinese one
        return left.isdigit() or left in "\"%(),;:!?" and not (before.isascii() and before.isalpha())
    # "今年以来, 359个": an ASCII comma used as a Chinese one
    return left in ",;:!?" and bool(before) and is_cjk(before) and right.isdigit()


_INNER_SPACE = re.compile(r"(?<=\S)[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+(?=\S)")


def remove_wrap_spaces(line: str) -> str:
    """Drop spaces between two CJK characters, or a CJK character and a digit/quote/bracket.

    "全生命周 期" -> "全生命周期", "2023年 9月 18日" -> "2023年9月18日"; "PC 端" and "Windows 10" keep
    their spaces.
    """
    def repl(m: re.Match) -> str:
        a = m.start()
        before = line[a - 2] if a >= 2 else ""
        return "" if _joinable_space(before, line[a - 1], line[m.end()]) else m.group(0)

    return _INNER_SPACE.sub(repl, line)


def split_raw_lines(raw: str) -> list[str]:
    """Normalise line endings and invisible characters; return the stripped lines (blank ones kept)."""
    text = raw.translate(_ZERO_WIDTH)
    text = _CONTROL_TO_NEWLINE.sub("\n", text)
    text = _OTHER_CONTROL.sub("", text)
    return [line.strip() for line in text.split("\n")]


# ---------------------------------------------------------------------------------------------
# chrome and page numbers

_CHROME_PATTERNS = [
    r"字号\s*[:：].*",
    r"[【\[(（]?\s*字[体号]\s*[:：]?\s*[大中小\s]+[】\]）)]?",
    r"[【\[]?\s*(?:打印(?:本页|此页|文章)?|关闭(?:窗口|本页)?|返回顶部|收藏(?:本页)?|分享到\s*[:：]?.{0,20}|纠错)\s*[】\]]?"
    r"(?:\s*[【\[]?\s*(?:打印(?:本页|此页|文章)?|关闭(?:窗口|本页)?|返回顶部|收藏|纠错)\s*[】\]]?)*",
    r".{0,10}扫一扫.{0,20}",
    r"(?:用|请用|请打开)?微信扫.{0,20}",
    r"(?:在)?手机(?:上)?(?:打开|浏览|阅读)当前页",
    r"第\s*[0-9０-９一二三四五六七八九十]+\s*版\s*[:：].{0,20}",
    r"[(（]\s*(?:[上下]?[接转])第?\s*[0-9０-９一二三四五六七八九十A-Za-z]+\s*版\s*[)）]",
    r"[(（]\s*(?:责任)?编辑\s*[:：].{0,20}[)）]",
    r"(?:责任编辑|编辑|校对|审核|审校|值班编辑|终审|初审)\s*[:：].{0,30}",
    r"(?:上一篇|下一篇|上一条|下一条)\s*[:：]?.{0,60}",
    r"(?:当前位置|您(?:现在)?的位置)\s*[:：].*",
    r"(?:浏览|阅读|点击)(?:次数|量)?\s*[:：]\s*\d*\s*次?",
    r".*enpproperty.*",  # Founder e-paper footer: "2024-03-28 1 1 济源日报 c_108830.html 1 标题 /enpproperty-->"
    r"<!--.*-->|.*-->",
]
_CHROME = re.compile("^(?:" + "|".join(_CHROME_PATTERNS) + ")$")

_PAGE_NUMBER = re.compile(
    r"^(?:"
    r"[-－—–−~～·\s]*[0-9０-９]{1,4}[-－—–−~～·\s]*"  # "- 17 -", "—3—", "17"
    r"|第\s*[0-9０-９]+\s*页(?:\s*[/／,，]?\s*共\s*[0-9０-９]+\s*页)?"
    r"|共\s*[0-9０-９]+\s*页\s*第\s*[0-9０-９]+\s*页"
    r"|[0-9]+\s*[/／]\s*[0-9]+"
    r"|(?:page|Page|PAGE)\s*[0-9]+(?:\s*(?:of|/)\s*[0-9]+)?"
    r")$"
)


def is_page_number(line: str) -> bool:
    """"- 17 -", "第3页", "3/12", "Page 3 of 12": a page number standing alone."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def is_chrome_line(line: str) -> bool:
    """A line that belongs to the web page/e-paper/PDF frame, not to the document."""
    s = line.strip()
    if not s:
        return False
    if _PAGE_NUMBER.match(s):
        return True
    # a line that ends a sentence is content, whatever words it contains
    return not ends_sentence(s) and bool(_CHROME.match(s))


# ---------------------------------------------------------------------------------------------
# line shapes

_LIST_MARKER = re.compile(
    r"^(?:"
    r"第[一二三四五六七八九十百千零〇0-9]+[章节条款部分篇编]"
    r"|[一二三四五六七八九十百]+\s*[、.．]"
    r"|[（(]\s*[一二三四五六七八九十百0-9]+\s*[)）]"
    r"|[0-9０-９]{1,3}\s*[、.．](?![0-9０-９])"
    r"|[①-⑳⑴-⒇㈠-㈩]"
    r"|[■□●◆◇▲△★☆※•▪►]"
    r"|附件\s*[0-9０-９一二三四五六七八九十]*\s*[:：]?"
    r"|抄\s*送|抄\s*报|主\s*送"
    r"|[A-Za-z]\s*[.、)）](?![A-Za-z])"
    r")"
)
_BYLINE = re.compile(r"^(?:[□■]|本报记者|本报讯|记者\s|通讯员\s|文\s*[/／:：]|图\s*[/／:：])")
_NAME_LINE = re.compile(r"^(?:[□■]|本报记者|记者|通讯员|文\s*[/／:：]|图\s*[/／:：]).{0,30}$")
_CAPTION = re.compile(r"^.{2,60}[（(][^()（）]{0,30}(?:供图|摄影?|图片|提供)\s*[)）]$")
_BRACKETED = re.compile(r"^[（(][^()（）]*[)）]$|^[【\[][^\[\]【】]*[】\]]$")
_SOFT_END = "：:"
_CONTINUES = "，,、（(“‘《〈【〔[—-/"
# function words that cannot end a heading: a line ending with one is cut mid-phrase
_CONTINUATION_WORDS = set("的和与及或在对把被从向于并而且是让使为将以由")
_WRAP_GAP = re.compile(r"(?<=[\u4e00-\u9fff，、。；：])\s+(?=[\u4e00-\u9fff])")


def _open_ended(line: str) -> bool:
    """Ends with a comma, an opening bracket/quote or a function word: the phrase goes on."""
    last = line[-1]
    if last in "\"'":
        return line.count(last) % 2 == 1  # an odd count: this ASCII quote opens
    return last in _CONTINUES or last in _CONTINUATION_WORDS


def _has_inner_final(line: str) -> bool:
    return any(c in FINAL for c in without_closers(line)[:-1])


def is_standalone(line: str) -> bool:
    """Bylines (□ 宋红敏), photo captions and fully bracketed asides stand alone as paragraphs."""
    return bool(_BYLINE.match(line) or _CAPTION.match(line) or _BRACKETED.match(line))


def starts_block(line: str) -> bool:
    """Does this line start a new paragraph by its own shape (list item, heading marker, byline)?"""
    return bool(_LIST_MARKER.match(line)) or is_standalone(line)


# ---------------------------------------------------------------------------------------------
# layout detection


def _is_wrapped(lines: list[str]) -> bool:
    """Hard-wrapped text: many long-ish lines end without sentence punctuation."""
    long_lines = [line for line in lines if len(line) >= 20]
    if len(long_lines) < 3:
        return False
    open_ended = sum(1 for line in long_lines if not ends_sentence(line) and line[-1] not in _SOFT_END)
    return open_ended >= 3 and open_ended / len(long_lines) >= 0.3


def _widths(lines: list[str]) -> tuple[int, bool]:
    """(typical display width of a wrapped line, whether lines share one fixed width)."""
    widths = sorted(display_width(line) for line in lines if len(line) >= 10)
    if not widths:
        return 0, False
    q = lambda p: widths[int(p * (len(widths) - 1))]  # noqa: E731
    median, p25, p90 = q(0.5), q(0.25), q(0.9)
    fixed = len(widths) >= 10 and median >= 0.9 * p90 and p25 >= 0.8 * p90
    return median, fixed


# ---------------------------------------------------------------------------------------------
# cleaning


_DATELINE_PREFIX = re.compile(r"^(?:本报讯|本报[\u4e00-\u9fff]{0,6}电|[□■])[^。，,]{0,40}?(?:报道|讯|电)\s+")


def _despace(line: str, wrapped: bool) -> str:
    if not wrapped:
        return line
    if _NAME_LINE.match(line):
        return line  # bylines keep their spaces: they separate names (□ 孙贻国 胡天生)
    m = _DATELINE_PREFIX.match(line)
    if m:  # "本报讯 记者王晓涛报道 近日，…": the byline part keeps its spaces too
        return m.group(0) + remove_wrap_spaces(line[m.end():])
    return remove_wrap_spaces(line)


def _join(a: str, b: str) -> str:
    if a and b and a[-1].isascii() and a[-1].isalpha() and b[0].isascii() and b[0].isalpha():
        return a + " " + b
    return a + b


def _paragraphs_wrapped(items: list[str | None]) -> list[str]:
    """Rebuild paragraphs from hard-wrapped lines; `None` marks a blank line."""
    lines = [x for x in items if x is not None]
    typical, fixed = _widths(lines)
    # are blank lines meaningful? Not when (nearly) every line is followed by one.
    transitions = blanks = 0
    prev_content = False
    seen_blank = False
    for x in items:
        if x is None:
            seen_blank = True
            continue
        if prev_content:
            transitions += 1
            blanks += seen_blank
        prev_content, seen_blank = True, False
    blank_breaks = transitions > 0 and blanks / transitions < 0.6

    def is_heading(line: str) -> bool:
        if ends_sentence(line) or line[-1] in _SOFT_END or _open_ended(line):
            return False
        if _has_inner_final(line):
            return False
        if len(_WRAP_GAP.findall(line)) > 1:
            return False
        plain = remove_wrap_spaces(line)
        return len(plain) <= 40 and (not typical or display_width(plain) <= 0.75 * typical)

    def is_full(line: str) -> bool:
        return fixed and display_width(line) >= 0.85 * typical

    paragraphs: list[str] = []
    deferred: list[str] = []  # captions met inside a paragraph, emitted after it
    current: str | None = None
    last_line = ""
    pending_blank = False

    def flush() -> None:
        nonlocal current
        if current is not None:
            paragraphs.append(current)
        paragraphs.extend(deferred)
        deferred.clear()
        current = None

    for x in items:
        if x is None:
            pending_blank = True
            continue
        line = x
        if current is None:
            current, last_line = line, line
        elif is_standalone(line):
            if _CAPTION.match(line) and not ends_sentence(last_line) and not is_heading(last_line):
                deferred.append(line)  # a photo caption dropped into the middle of a paragraph
            else:
                flush()
                paragraphs.append(line)
        else:
            brk = (
                (blank_breaks and pending_blank)
                or starts_block(line)
                or is_standalone(last_line)
                or is_heading(last_line)
                or ((ends_sentence(last_line) or last_line[-1] in _SOFT_END) and not is_full(last_line))
                # in column layouts (not one fixed width) a heading-shaped line is a heading even
                # after a cut-off line; in fixed-width text it is the tail of a wrapped line
                or (not fixed and is_heading(line) and not _open_ended(last_line))
            )
            if brk:
                flush()
                current = line
            else:
                current = _join(current, line)
            last_line = line
        pending_blank = False
    flush()
    return paragraphs


def clean_lines(lines: list[str], drop: set[int] | frozenset[int] = frozenset(), wrapped: bool | None = None) -> str:
    """Clean already split lines (see `split_raw_lines`), leaving out the indices in `drop`.

    `wrapped` says whether lines are hard-wrapped (a PDF page's lines: True) or paragraphs (Word, web
    pages: False); None detects it from the lines' shapes."""
    items: list[str | None] = []
    for i, line in enumerate(lines):
        if i in drop:
            continue
        if not line:
            items.append(None)
            continue
        if is_chrome_line(line):
            continue
        items.append(line)
    content = [x for x in items if x is not None]
    if not content:
        return ""
    if wrapped is None:
        wrapped = _is_wrapped(content)
    if wrapped:
        paragraphs = _paragraphs_wrapped(items)
    else:
        paragraphs = content
    out = []
    for p in paragraphs:
        p = _despace(p, wrapped).strip()
        if p:
            out.append(p)
    return "\n".join(out)


def clean_body(raw: str) -> str:
    """Clean `raw` without removing its title/metadata lines (see `metadata.clean_text`)."""
    return clean_lines(split_raw_lines(raw))


def clean_light(text: str) -> str:
    """Light cleaning for already-structured text (JSONL records): line endings, blank lines."""
    return "\n".join(line for line in split_raw_lines(text) if line)
