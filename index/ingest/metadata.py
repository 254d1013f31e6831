"""Title, date, source and URL as the document states them.

Only stated metadata is extracted - nothing is guessed from dates mentioned in the running text.
The rules, in order of trust:

* labelled lines near the top or bottom: 发布时间/发布日期/日期/时间 …, 来源/信息来源/稿源 …, 原文链接/网址;
* e-paper footers (Founder "enpproperty" lines): "2024-03-28 1 1 济源日报 c_108830.html 1 标题 /enpproperty-->";
* a signature block: an issuing authority on its own line (…人民政府, …局, …委员会, …办公室) followed by
  a date line (2023年 9月 18日, 二〇二三年九月十八日) gives source and date;
* a "X办公室 2023年9月18日印发" line gives the date (and the source, if nothing else did);
* a news byline at the top: "中国经济导报 中国发展网 刘伟奇 记者范纪安报道 …" -> 中国经济导报,
  "新华社北京3月5日电" -> 新华社;
* the title is the first content line when it is shaped like a title (short, no sentence punctuation,
  not a label/addressee/document number); failing that, a notice's 印发《X》/转发《X》 gives X.

Title lines, labelled metadata lines and e-paper footers are metadata only: `parse_document` leaves
them out of the cleaned body.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.ingest.cleaning import (
    clean_lines,
    ends_sentence,
    is_chrome_line,
    remove_wrap_spaces,
    split_raw_lines,
)


@dataclass
class Metadata:
    title: str = ""
    source: str = ""
    date: str = ""  # yyyy-mm-dd
    url: str = ""
    doc_number: str = ""  # 发文字号
    consumed: set[int] = field(default_factory=set)  # indices of metadata-only lines


# ---------------------------------------------------------------------------------------------
# dates

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_DATE_NUM = r"(\d{4})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|[-/.])\s*(\d{1,2})\s*日?"
_DATE_CN = r"([〇○零Ｏ一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日"
_DATE_ANY = re.compile(f"(?:{_DATE_NUM})|(?:{_DATE_CN})")
_DATE_LINE = re.compile(rf"^(?:{_DATE_NUM}|{_DATE_CN})$")


def _cn_number(s: str) -> int:
    """一 -> 1, 十 -> 10, 十八 -> 18, 二十一 -> 21."""
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS.get(s, 0)


def _iso(y: int, m: int, d: int) -> str:
    if 1900 <= y <= 2100 and 1 <= m <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return ""


def parse_date(text: str) -> str:
    """The first date in `text` as yyyy-mm-dd ("" if none): 2026-01-19, 2023年 9月 18日, 二〇二三年九月十八日."""
    for m in _DATE_ANY.finditer(text):
        if m.group(1):
            iso = _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        else:
            y = int("".join(str(_CN_DIGITS[c]) for c in m.group(4)))
            iso = _iso(y, _cn_number(m.group(5)), _cn_number(m.group(6)))
        if iso:
            return iso
    return ""


# ---------------------------------------------------------------------------------------------
# labelled metadata lines

_DATE_LABELS = "发布时间|发布日期|发表时间|发表日期|发文日期|成文日期|印发日期|更新时间|更新日期|时间|日期"
_SOURCE_LABELS = "信息来源|文章来源|稿件来源|新闻来源|消息来源|来源单位|来源|稿源|出处|发布机构|发文机关|发布单位"
_URL_LABELS = "原文链接|原文地址|原文网址|链接|网址|URL|url"
_OTHER_LABELS = "作者|撰稿|撰文|记者|通讯员|编辑|责任编辑|浏览次数|浏览|点击数|点击|阅读|访问量|字号|索引号|分类|主题分类|发文字号|文号"
_ALL_LABELS = "|".join([_DATE_LABELS, _SOURCE_LABELS, _URL_LABELS, _OTHER_LABELS])
_LABELLED_LINE = re.compile(rf"^[【\[]?\s*(?:{_ALL_LABELS})\s*[】\]]?\s*[:：]")
_FIELD = re.compile(
    rf"(?P<label>{_ALL_LABELS})\s*[】\]]?\s*[:：]\s*(?P<value>.*?)(?=\s*(?:{_ALL_LABELS})\s*[】\]]?\s*[:：]|\s*[【\[]|$)"
)
_URL = re.compile(r"https?://[^\s<>\"'（）()]+")


def _labelled_fields(line: str) -> dict[str, str]:
    """{"date"|"source"|"url": value} from a line made of label: value pairs."""
    found: dict[str, str] = {}
    for m in _FIELD.finditer(line):
        label, value = m.group("label"), m.group("value").strip()
        if not value:
            continue
        if re.fullmatch(_DATE_LABELS, label):
            iso = parse_date(value)
            if iso:
                found.setdefault("date", iso)
        elif re.fullmatch(_SOURCE_LABELS, label):
            value = re.split(r"\s{2,}|\t|[|｜]", value)[0].strip()
            if 0 < len(value) <= 40:
                found.setdefault("source", value)
        elif re.fullmatch(_URL_LABELS, label):
            u = _URL.search(value)
            if u:
                found.setdefault("url", u.group(0))
    return found


def _is_metadata_line(line: str) -> bool:
    return bool(_LABELLED_LINE.match(line)) and len(line) <= 160


# ---------------------------------------------------------------------------------------------
# e-paper footer, signature blocks, bylines

_EPAPER_FOOTER = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})\s+(?P<mid>.*?)\s*\S+\.s?html?\s+\d+\s+(?P<title>.+?)\s*/?\s*enpproperty\s*-->\s*$"
)
_MEDIA = r"[\u4e00-\u9fff]{1,12}(?:日报|晚报|早报|导报|时报|商报|报|网|通讯社|新闻社|社|电视台|广播电台|台|杂志|周刊|刊)"
_AUTHORITY = re.compile(
    r"^[\u4e00-\u9fff（）()·]{2,40}(?:人民政府|政府|委员会|常务委员会|办公室|办公厅|局|厅|部|委|院|中心|公司|集团|协会|学会|"
    r"联合会|总会|党委|党组|支部|小组|指挥部|管委会|管理委员会|研究所|研究院|大学|学院|分局|法院|检察院)$"
)
_PRINTED = re.compile(rf"^(?P<org>[\u4e00-\u9fff（）()]{{2,40}}?)\s*(?P<date>{_DATE_NUM}|{_DATE_CN})\s*(?:印发|发布|印)$")
_BYLINE_MEDIA = re.compile(rf"^(?P<media>{_MEDIA})(?:\s+{_MEDIA})*\s")
_DATELINE = re.compile(rf"^(?P<media>{_MEDIA})[\u4e00-\u9fff]{{2,8}}\d{{1,2}}月\d{{1,2}}日电")
_DOC_NUMBER = re.compile(r"^[\u4e00-\u9fff]{1,10}[〔\[［【(（]\d{4}[〕\]］】)）]\s*\d+\s*号$")
# a 发文字号 inside a line: 城政发〔2023〕7号, 国办发[2024]3号
_DOC_NUMBER_IN = re.compile(r"[\u4e00-\u9fff]{1,10}[〔\[［【(（]\s*\d{4}\s*[〕\]］】)）]\s*\d+\s*号")
# 发文机关标志 (the masthead, 红头) above a 发文字号: an issuing body's name, maybe with 文件 / 电子公文
_MASTHEAD = re.compile(r"^(?P<org>[\u4e00-\u9fff（）()·、\s]{2,60}?)\s*(?:文件|电子公文|公文|文件处理笺)?$")
_TITLE_LABEL = re.compile(r"^(?:摘要|编者按|导读|核心提示|内容提要|提要|关键词|按)\s*[:：]?")
_NOTICE_TITLE = re.compile(r"(?:现将|现把|特将|关于印发|关于转发|印发|转发)\s*《(?P<title>[^《》]{2,100}?)》")


def _epaper_footer(line: str) -> dict[str, str] | None:
    m = _EPAPER_FOOTER.match(line)
    if not m:
        return None
    found = {"date": _iso(*map(int, m.group("date").split("-"))), "title": m.group("title").strip()}
    media = re.findall(rf"(?<!\S){_MEDIA}(?!\S)", m.group("mid"))
    if media:
        found["source"] = media[0]
    return found


def _title_like(line: str) -> bool:
    s = line.strip()
    if not (2 <= len(s) <= 60):
        return False
    if _TITLE_LABEL.match(s) or _is_metadata_line(s) or _DOC_NUMBER.match(s) or _DATE_LINE.match(s):
        return False
    if s[-1] in "。；;，,、：:" or (ends_sentence(s) and s.rstrip("”’」』）)】》\"'")[-1:] in "。；;"):
        return False
    if re.fullmatch(r"[\d\W_]+", s):
        return False
    return True


def _is_masthead(line: str) -> bool:
    m = _MASTHEAD.match(line.strip())
    return bool(m) and bool(_AUTHORITY.match(re.sub(r"[\s、]+", "", m.group("org"))))


def _normalise_title(s: str) -> str:
    s = re.sub(r"^#+\s*", "", s.strip())  # markdown heading
    return re.sub(r"\s+", " ", s).strip()


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def extract_metadata(lines: list[str]) -> Metadata:
    """Metadata from the stripped lines of a raw document (see `cleaning.split_raw_lines`)."""
    meta = Metadata()
    content = [i for i, line in enumerate(lines) if line and not is_chrome_line(line)]
    footer_title = ""

    def take(key: str, value: str, how: str) -> None:
        """Set a field unless a more trusted rule already did (`how` names the rule, for reading)."""
        if value and not getattr(meta, key):
            setattr(meta, key, value)

    # e-paper footer anywhere (it is also chrome, so look at the raw lines)
    for i, line in enumerate(lines):
        if "enpproperty" in line:
            footer = _epaper_footer(line)
            meta.consumed.add(i)
            if footer:
                take("date", footer.get("date", ""), "footer")
                take("source", footer.get("source", ""), "footer")
                footer_title = footer.get("title", "")

    # labelled metadata lines: the top 15 and bottom 10 content lines
    near = content[:15] + content[-10:]
    for i in dict.fromkeys(near):
        line = lines[i]
        if _is_metadata_line(line) or (i in content[:15] and _FIELD.search(line) and len(line) <= 100 and not ends_sentence(line)):
            fields = _labelled_fields(line)
            if fields or _is_metadata_line(line):
                meta.consumed.add(i)
                if "date" not in fields and parse_date(line):
                    # "来源：新华社 | 2024年01月02日 10:00", "2024-01-02 10:00 来源：人民网"
                    fields["date"] = parse_date(line)
            for key, value in fields.items():
                take(key, value, "label")
        elif _URL.fullmatch(line):
            take("url", line, "label")
            meta.consumed.add(i)

    # 发文字号: on its own line (or beside the signatory) near the top
    for i in content[:15]:
        m = _DOC_NUMBER_IN.search(lines[i])
        if m and len(lines[i]) <= 60:
            meta.doc_number = re.sub(r"\s+", "", m.group(0))
            break

    # title: the first content line, if it is shaped like one
    numbered = [n for n, i in enumerate(content[:6]) if _DOC_NUMBER_IN.search(lines[i]) and len(lines[i]) <= 60]
    for n, i in enumerate(content[:6]):
        line = lines[i]
        if i in meta.consumed:
            continue
        if _DOC_NUMBER.match(line) or re.fullmatch(r"[\d\s]+", line):
            continue  # 城政发〔2023〕7号 / a stray number above the title
        if numbered and n < numbered[0] and _is_masthead(line):
            continue  # 某某市人民政府文件 above the 发文字号: the title stands under them
        candidate = _normalise_title(line)
        if _title_like(candidate):
            if not footer_title or _squash(candidate) == _squash(footer_title):
                meta.title = candidate
                meta.consumed.add(i)
        break
    if not meta.title and footer_title:
        meta.title = _normalise_title(footer_title)

    # a notice that prints/forwards a named document: 现将《X》印发给你们 -> X
    if not meta.title:
        head = "\n".join(lines[i] for i in content[:40])
        m = _NOTICE_TITLE.search(head)
        if m:
            meta.title = remove_wrap_spaces(m.group("title").replace("\n", ""))

    # signature block: authority line followed by a date line
    for n, i in enumerate(content[:-1]):
        line, nxt = lines[i], lines[content[n + 1]]
        if _AUTHORITY.match(line) and _DATE_LINE.match(nxt):
            take("source", line, "signature")
            take("date", parse_date(nxt), "signature")
            break
        one_line = re.match(rf"^(?P<org>.+?)\s+(?P<date>{_DATE_NUM}|{_DATE_CN})$", line)
        if one_line and _AUTHORITY.match(one_line.group("org")):
            take("source", one_line.group("org"), "signature")
            take("date", parse_date(one_line.group("date")), "signature")
            break

    # a date alone on its line right under the title or the 发文字号 (a notice's heading)
    for n, i in enumerate(content[:6]):
        if _DATE_LINE.match(lines[i]) and n > 0 and (content[n - 1] in meta.consumed or _DOC_NUMBER_IN.search(lines[content[n - 1]])):
            take("date", parse_date(lines[i]), "heading")
            break

    # 成文日期: a date alone on one of the last lines, under a signature that names no authority or after
    # （此件公开发布）
    for i in reversed(content[-4:]):
        if _DATE_LINE.match(lines[i]):
            take("date", parse_date(lines[i]), "closing")
            break

    # "X办公室 2023 年 9月 18 日印发"
    for i in reversed(content[-15:]):
        m = _PRINTED.match(lines[i])
        if m:
            take("date", parse_date(m.group("date")), "printed")
            take("source", m.group("org").strip(), "printed")
            break

    # bylines in the first lines of the body
    if not meta.source:
        for i in content[:8]:
            line = lines[i]
            m = _DATELINE.match(line)
            if m:
                take("source", m.group("media"), "byline")
                break
            m = _BYLINE_MEDIA.match(line)
            if m and re.search(r"记者|通讯员|报道|讯", line[:80]) and not line.startswith("本报"):
                take("source", m.group("media"), "byline")
                break
    return meta


def parse_document(raw: str, wrapped: bool | None = None) -> tuple[str, Metadata]:
    """(cleaned body, metadata) of a raw document; metadata-only lines are not in the body.
    `wrapped`: see `cleaning.clean_lines`."""
    lines = split_raw_lines(raw)
    meta = extract_metadata(lines)
    body = clean_lines(lines, drop=meta.consumed, wrapped=wrapped)
    if meta.title:
        # the body must not open with the title again
        first, _, rest = body.partition("\n")
        if _squash(first) == _squash(meta.title):
            body = rest
    return body, meta


def clean_text(raw: str) -> str:
    """The cleaned body of a raw document: paragraphs joined by "\\n", no empty lines.

    The title line and metadata-only lines (发布时间/来源 lines, e-paper footers) are left out;
    `parse_document` gives them as fields at the same time.
    """
    return parse_document(raw)[0]
