"""Short answers: the number, date, body, list or yes/no a question asks for, cut from a sentence of the ranked
evidence, with its offsets and citation. No model: rules over the `Question` and the sentences.

How an answer is found:

1. Evidence sentences are the sentences of the top passages (as deep as place answers read). Each gets a
   coverage: the IDF weight of the question's content words it holds (words of the paragraph around it count
   half), divided by the weight of all of them. Places the question names do not count (a document says 我市).
2. In each sentence with coverage >= `MIN_COVERAGE`, the extractor of the kind asked finds candidates: every
   quantity, date, 牵头单位 field or organisation, enumeration. A candidate must fit what was asked (a unit of
   the kind asked, the noun asked next to it, the number of items asked for) or it is not an answer.
3. The best candidate (coverage, fit, rank of its passage) is the answer; candidates of other sentences with a
   different value are its `alternatives`, those of a document about a place the question names first.

Precision first: when no sentence carries what was asked, there is no short answer (the passages stay).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Mapping, Sequence

from jieba import posseg  # organisations and people are read off part-of-speech tags (nt, nr)

from index.text import split_sentences, strip_span

from .answer_sentences import nfkc_without_spaces_or_quotes, phrase_in
from .citation import cite_document
from .dates import find_dates
from .document_places import doc_places
from .numbers import Quantity, find_quantities
from .question import Question

MIN_COVERAGE = 0.5  # share of the question's content weight an evidence sentence must hold
MAX_ALTERNATIVES = 4
# counting words that stand for one another (多少个项目 -> 293个项目, 多少项 -> 60项 or 60个)
_COUNTERS = set("个项件户家名位条所处起次人批期类座台套笔份场栋间辆部支种张款只株本册轮届")
_ORG_SUFFIX = re.compile(
    r"(?:股份有限公司|有限责任公司|有限公司|公司|集团|委员会|办公室|管理局|服务中心|中心|局|委|办|厅|部|院|所|站|协会|商会|联合会|"
    r"学会|银行|大学|学院|政府|街道|队|署|联)$"
)
_LEADING_FIELDS = re.compile(r"〔[^〔〕\n]*(?:牵头|责任)单位[^〔〕\n]*〕")
_FIELD = re.compile(r"(?P<name>牵头单位|责任单位|牵头部门|责任部门|配合单位)[：:](?P<value>[^；;〕）)\n]+)")


@dataclass
class Evidence:
    doc_id: str
    start: int  # the sentence, offsets into the document
    end: int
    coverage: float
    rank: int  # rank of the passage it stands in
    specific: bool  # the document is about a place the question names (or the question names none)
    own: float = 0.0  # coverage by the sentence alone, without the words around it
    row: bool = False  # the sentence is a spreadsheet's whole row ("header：value；header：value")


@dataclass
class ShortAnswer:
    """One answer of any kind; `text == documents[doc_id].text[start:end]` (null for places)."""

    type: str
    text: str | None
    doc_id: str | None
    start: int | None
    end: int | None
    evidence: str
    evidence_start: int
    evidence_end: int
    citation: str
    items: list[dict] = field(default_factory=list)
    alternatives: list["ShortAnswer"] = field(default_factory=list)
    verdict: str | None = None  # yes/no: 是 or 否 when the sentence states it
    means: str = ""  # a relative date: the year it means (去年 -> 2025年)
    value: float | None = None  # a quantity's value (三十八 -> 38)
    score: float = 0.0

    def to_dict(self, nested: bool = True) -> dict:
        d = {"type": self.type, "text": self.text, "doc_id": self.doc_id, "start": self.start, "end": self.end,
             "evidence": self.evidence, "evidence_start": self.evidence_start, "evidence_end": self.evidence_end,
             "citation": self.citation, "items": [dict(i) for i in self.items]}
        if self.type == "yesno":
            d["verdict"] = self.verdict
        if self.type == "date":
            d["means"] = self.means or None
        if self.type == "quantity":
            d["value"] = self.value
        if nested:
            d["alternatives"] = [a.to_dict(nested=False) for a in self.alternatives]
        return d

    def value_key(self) -> str:
        """What makes two answers the same value (38个 and 三十八个 are one)."""
        if self.value is not None:
            return f"{self.value:g}"
        if self.items:
            return "|".join(nfkc_without_spaces_or_quotes(i["text"]) for i in self.items)
        return nfkc_without_spaces_or_quotes(self.text or "")


# ----------------------------------------------------------------------------- evidence
# words that say what kind of answer is wanted, not what it is about (由哪个部门牵头: 部门, 牵头)
_ASK_WORDS = {
    "body": re.compile(r"部门|单位|机构|机关|牵头|负责|主管|主办|承办|公司"),
    "yesno": re.compile(r"不能|能不能|能否|可以|可否|是否|需要|还能|还要|有没有|是不是|会不会"),
}
# yes/no questions are colloquial (家里老人去世后，各种手续现在能不能一次办完): their evidence shares fewer of their
# words, so a lower bar, with the deciding clause itself holding two of the question's words
MIN_COVERAGE_YESNO = 0.25


def _weights(question: Question) -> list[tuple[str, float]]:
    names = {p.name for p in question.places} | {p.name[:2] for p in question.places}
    ask_words = _ASK_WORDS.get(question.asks)
    return [(t, w) for t, w in (question.analysis.terms if question.analysis else ())
            if t not in names and not any(t in n for n in names) and not (ask_words and ask_words.fullmatch(t))]


def _coverage(weights, sentence: str, context: str) -> float:
    total = sum(w for _, w in weights)
    if total <= 0:
        return 0.0
    got = 0.0
    for t, w in weights:
        if t in sentence:
            got += w
        elif t in context:
            got += 0.5 * w
    return got / total


def _paragraph(text: str, s: int, e: int) -> tuple[int, int]:
    ps = text.rfind("\n", 0, s) + 1
    pe = text.find("\n", e)
    return ps, len(text) if pe < 0 else pe


def gather_evidence(question: Question, passages: Sequence, documents: Mapping[str, object]) -> list[Evidence]:
    """The sentences of the passages with their coverage of the question, best first."""
    weights = _weights(question)
    place_codes = {p.code for p in question.places}
    seen: set[tuple[str, int]] = set()
    out: list[Evidence] = []
    for p in sorted(passages, key=lambda p: getattr(p, "rank", 0)):
        doc = documents.get(p.doc_id)
        if doc is None:
            continue
        text = doc.text
        specific = True
        if place_codes:
            specific = bool(place_codes & set(doc_places(doc).scores))
        # a spreadsheet row is one fact: its cells are one sentence, not one each
        spans = ([(a - p.start, b - p.start) for a, b in doc.paragraph_spans() if a < p.end and b > p.start]
                 if getattr(doc, "rows", ()) else split_sentences(text[p.start:p.end]))
        for s, e in spans:
            s, e = strip_span(text, max(p.start, p.start + s), min(p.end, p.start + e))
            lead = _LEADING_FIELDS.match(text, s, e)
            if lead:  # 〔牵头单位：…〕 closing the previous item of an action plan is not part of this sentence
                s = lead.end()
            if e <= s or (p.doc_id, s) in seen:
                continue
            seen.add((p.doc_id, s))
            ps, pe = _paragraph(text, s, e)
            norm = nfkc_without_spaces_or_quotes(text[s:e])
            cov = _coverage(weights, norm, nfkc_without_spaces_or_quotes(text[max(ps, s - 200):min(pe, e + 100)]))
            out.append(Evidence(p.doc_id, s, e, cov, getattr(p, "rank", 0), specific, _coverage(weights, norm, ""),
                                row=bool(getattr(doc, "rows", ()))))
    out.sort(key=lambda ev: (-ev.coverage, ev.rank, ev.start))
    return out


# ----------------------------------------------------------------------------- candidates
@dataclass
class _Candidate:
    start: int
    end: int
    fit: float
    attach: float = 0.0  # how closely it stands to the noun asked (0..1)
    ask: int = 0  # which of several asked values it answers (平均减少了多少材料、精简了多少环节)
    value: float | None = None
    items: list[tuple[int, int]] = field(default_factory=list)
    verdict: str | None = None
    means: str = ""
    evidence_end: int | None = None  # the evidence reaches past its sentence (to the 〔牵头单位：…〕 it names)


def _overlap(about: str, window: str) -> float:
    """The longest run of `about` found in `window`, as a share of `about` (two characters at least)."""
    if not about or not window:
        return 0.0
    best = SequenceMatcher(None, about, window, autojunk=False).find_longest_match().size
    return best / len(about) if best >= 2 else 0.0


def _word_attach(words: tuple[str, ...], window: str) -> float:
    """0.6 when one telling word of the noun asked stands in the window (失业保险金标准 -> …工资标准的90%)."""
    return 0.6 if any(w in window for w in words) else 0.0


def _unit_fit(question: Question, qty: Quantity, expected: str | None) -> float | None:
    """How well a quantity's unit fits the question; None when it cannot be the answer."""
    if expected == "rank" or qty.ordinal:
        return 1.0 if expected == "rank" and qty.ordinal else None
    if question.unit:
        if qty.unit == question.unit or (question.unit == "日" and qty.unit == "天") or (question.unit == "天" and qty.unit == "日"):
            return 1.0
        if question.unit in _COUNTERS and qty.unit in _COUNTERS and not qty.ordinal:
            return 0.5
        return None
    if expected:
        if qty.kind == expected or (expected == "percent" and qty.unit == "倍"):
            return 1.0
        return None
    return 0.3 if qty.kind != "bare" else None


def _clause(text: str, s: int, e: int, lo: int, hi: int, marks: str = "，,；;：:。") -> tuple[int, int]:
    cs = max((text.rfind(c, lo, s) for c in marks), default=-1)
    ce_candidates = [i for i in (text.find(c, e, hi) for c in marks) if i >= 0]
    return max(lo, cs + 1), min(ce_candidates) if ce_candidates else hi


def _quantities(question: Question, text: str, ev: Evidence, weights) -> list[_Candidate]:
    expected = question.measure
    abouts = question.abouts or ("",)
    about_words = question.about_words or ((),)
    found = find_quantities(text, ev.start, ev.end)
    out = []
    for i, qty in enumerate(found):
        fit = _unit_fit(question, qty, expected)
        if fit is None and len(abouts) == 1:
            continue
        # the noun a number counts stands between it and its neighbours (…事项89个到和黄河流域20个城市: 城市 is 20's)
        lo = found[i - 1].end if i > 0 else ev.start
        hi = found[i + 1].start if i + 1 < len(found) else ev.end
        cs, ce = _clause(text, qty.start, qty.end, ev.start, ev.end, "，,；;：:。、")
        after = nfkc_without_spaces_or_quotes(text[qty.end:min(ce, hi, qty.end + 14)])
        before = nfkc_without_spaces_or_quotes(text[max(cs, lo, qty.start - 14):qty.start])
        # a count's noun follows it (27个营商环境评价指标), a rate's precedes it (接通率98.78%)
        attaches = [max(_overlap(a, after), 0.9 * _overlap(a, before), _word_attach(w, before + after))
                    for a, w in zip(abouts, about_words)]
        ask = max(range(len(abouts)), key=lambda k: attaches[k])
        attach = attaches[ask]
        if fit is None:  # the unit asked belongs to the first ask; a later ask (审批时间缩短了多少) has its own
            if ask == 0 or attach < 0.5:
                continue
            fit = 0.3
        clause_cov = _coverage(weights, nfkc_without_spaces_or_quotes(text[cs:ce]), "")
        if attach < 0.5 and fit < 1.0:
            continue  # neither next to the noun asked nor in the unit asked: some other number of the sentence
        out.append(_Candidate(qty.start, qty.end, fit=0.6 * attach + 0.3 * fit + 0.4 * clause_cov, value=qty.value,
                              attach=attach, ask=ask))
    return out


def _dates(question: Question, text: str, ev: Evidence, weights, doc_date: str) -> list[_Candidate]:
    out = []
    wants_day, wants_year = question.grain == "day", question.grain == "year"
    sentence = nfkc_without_spaces_or_quotes(text[ev.start:ev.end])
    if question.verbs and not any(v in sentence for v in question.verbs):
        return []  # the date of some other event (成立于哪年: a sentence on its first album's release)
    dates = find_dates(text, ev.start, ev.end, doc_date)
    for d in dates:
        cs, ce = _clause(text, d.start, d.end, ev.start, ev.end)
        # the question's own dates are what it asks about, not the answer (2023年济源… -> not 2023年)
        if nfkc_without_spaces_or_quotes(d.text) in nfkc_without_spaces_or_quotes(question.text):
            continue
        if (wants_day and not d.day) or (wants_year and d.year is None):
            continue
        # which of a sentence's dates: the one whose clause holds the question's words (于1994年落成)
        clause_cov = _coverage(weights, nfkc_without_spaces_or_quotes(text[cs:ce]), "")
        if len(dates) > 1 and clause_cov == 0:
            continue
        fit = 0.3 * d.precision / 3 + 0.5 * clause_cov + (0.2 if wants_day and d.day else 0.0)
        end = d.end
        if wants_year and d.year_end is not None:
            end = d.year_end  # 哪一年 asks for the year: 1995年 of 1995年初
        out.append(_Candidate(d.start, end, fit=fit, means=d.means, attach=clause_cov))
    return out


def _body_fields(question: Question, text: str, ev: Evidence) -> list[_Candidate]:
    """〔牵头单位：区发改局；责任单位：…〕 after the sentence, in the same paragraph (an action plan's item); or
    the 牵头单位：… field of a spreadsheet row (任务：…；牵头单位：区发改局；…), the row being one paragraph."""
    wanted = "责任单位" if "责任" in question.text else "牵头单位"
    ps, pe = _paragraph(text, ev.start, ev.end)
    bracket = text.find("〔", ev.end - 1, pe)
    if bracket < 0 and ev.row:
        bracket, close = ps, -1  # the whole row
    elif bracket < 0 or bracket - ev.end > 400:
        return []
    else:
        close = text.find("〕", bracket, pe)
    for m in _FIELD.finditer(text, bracket, close if close > 0 else pe):
        if m.group("name").startswith(wanted[:2]):
            value_start = m.start("value")
            value_end = m.end("value")
            names = [(value_start + x.start(), value_start + x.end())
                     for x in re.finditer(r"[^、，,]+", text[value_start:value_end])]
            return [_Candidate(value_start, value_end, fit=1.0, items=names, evidence_end=close + 1 if close > 0 else pe)]
    return []


_NAME_FLAGS = ("nr", "nt", "nz", "ns")
_FUNCTION_FLAGS = ("u", "d", "p", "c", "y", "r", "v", "f", "m", "q", "x")
def _name_in(text: str, s: int, e: int, at_end: bool) -> tuple[int, int] | None:
    """The name of a person or organisation at the end (or the start) of text[s:e]: a run of jieba's name words
    (nr, nt, nz, ns; · joins a foreign name), function words around it left out, or a phrase ending in an
    organisation's suffix (有限公司, 局, 委员会)."""
    words, pos = [], s
    for w in posseg.lcut(text[s:e]):
        words.append((pos, pos + len(w.word), w.word, w.flag))
        pos += len(w.word)
    if at_end:
        words.reverse()
    while words and words[0][3].startswith(_FUNCTION_FLAGS) and words[0][2] != "·":
        words.pop(0)
    run = []
    for w in words:
        if w[3].startswith(_NAME_FLAGS) or w[2] == "·" or (run and w[3].startswith(("n", "j")) and not at_end):
            run.append(w)
        else:
            break
    while run and run[-1][2] == "·":
        run.pop()
    if run and any(w[3].startswith(("nr", "nt")) for w in run):
        a, b = min(w[0] for w in run), max(w[1] for w in run)
        return a, b
    # an organisation: the words up to its suffix (南宁世纪空间技术应用有限公司)
    span = text[s:e]
    if at_end and _ORG_SUFFIX.search(span) and len(span) <= 30:
        return s, e
    return None


def _entity_before(text: str, lo: int, pos: int) -> tuple[int, int] | None:
    """The organisation or person standing right before `pos` (after 由/与/被/是 or a clause break)."""
    cut = max(lo, *(text.rfind(c, lo, pos) + 1 for c in "，,；;：:。——、（("))
    for marker in ("由", "与", "同", "被", "是", "和", "会同"):
        i = text.rfind(marker, cut, pos)
        if i >= 0 and pos - i <= 30:
            cut = max(cut, i + len(marker))
    if not 2 <= pos - cut <= 30:
        return None
    return _name_in(text, cut, pos, at_end=True)


def _entity_after(text: str, pos: int, hi: int) -> tuple[int, int] | None:
    """The person or organisation right after `pos`, within its clause (接替王光宇 -> 王光宇)."""
    stop = min([i for i in (text.find(c, pos, hi) for c in "，,；;。、（(") if i >= 0] + [hi, pos + 24])
    return _name_in(text, pos, stop, at_end=False) if stop - pos >= 2 else None


_LEADING_PREPOSITIONS = "由被把将向从"


def _holds_phrases(question: Question, sentence: str) -> bool:
    """Every topic phrase of the question (公平竞争审查; not 城区营商环境行动方案) is in the sentence."""
    ask_words = _ASK_WORDS.get(question.asks)
    # a phrase cut where the question turns to what it asks keeps the preposition that leads there
    # (拿地即开工由|哪个部门): the document's sentence says 拿地即开工 without it
    phrases = [p.rstrip(_LEADING_PREPOSITIONS) if len(p) > 3 else p
               for p in (question.analysis.phrases if question.analysis else ())
               if not (ask_words and ask_words.search(p) and len(p) <= 4)]
    norm = nfkc_without_spaces_or_quotes(sentence)
    return all(phrase_in(p, norm) for p in phrases)


def _bodies(question: Question, text: str, ev: Evidence) -> list[_Candidate]:
    # an action plan's field names the body of its own item only: the sentence itself must hold the topic
    fields = re.search(r"牵头|负责|部门|单位", question.text) and ev.own >= MIN_COVERAGE \
        and _holds_phrases(question, text[ev.start:ev.end])
    found = _body_fields(question, text, ev) if fields else []
    after, before = question.body_verbs
    sentence = text[ev.start:ev.end]
    if after:
        for m in re.finditer(re.escape(after), sentence):
            span = _entity_before(text, ev.start, ev.start + m.start())
            if span:
                found.append(_Candidate(span[0], span[1], fit=0.8, attach=1.0))
    if before:
        for m in re.finditer(re.escape(before), sentence):
            span = _entity_after(text, ev.start + m.end(), ev.end)
            if span:
                found.append(_Candidate(span[0], span[1], fit=0.8, attach=1.0))
    return found


_ENUM_SEP = re.compile(r"[、]|(?<=[\u4e00-\u9fff])(?:和|与|及)(?=[\u4e00-\u9fff])")
_COUNT_WORD = re.compile(r"(?P<n>[两二三四五六七八九十]|[2-9])(?:个|项|大|类|种|条|家|方面|件|点)")
_CN = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _split_items(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """An enumeration's items (A、B、C / A、B及C / A和B), quotes and a closing 等/的 left out of each item's span."""
    items = []
    pos = s
    seps = [m for m in _ENUM_SEP.finditer(text, s, e)]
    if any(m.group(0) == "、" for m in seps):
        # with 、 the list's own 和/与 join words of an item (生物医药与健康); only the last item may be "C及D"
        last = max(m.end() for m in seps if m.group(0) == "、")
        seps = [m for m in seps if m.group(0) == "、" or (m.start() >= last and m.group(0) in ("及", "和"))]
    for m in seps + [None]:
        stop = m.start() if m else e
        a, b = strip_span(text, pos, stop)
        while a < b and text[a] in "“\"'「『":
            a += 1
        b = a + len(re.sub(r"(?:等|的)+$", "", text[a:b]))
        while b > a and text[b - 1] in "”\"'」』":
            b -= 1
        if b > a:
            items.append((a, b))
        pos = m.end() if m else e
    return items


def _after_verb(text: str, s: int, e: int) -> int:
    """Where an enumeration begins in text[s:e]: after the last verb before its first item (他精通汉语、日语 ->
    汉语; 还多出了绩分战、… -> 绩分战)."""
    first = min([i for i in (text.find(c, s, e) for c in "、和与及") if i >= 0] + [e])
    quote = max(text.rfind(c, s, first) for c in "“\"「『")
    if quote >= 0:
        return quote  # a quoted list starts at its quote (建立"运行监测、…")
    pos, start = s, s
    for w in posseg.lcut(text[s:first]):
        pos += len(w.word)
        if (w.flag.startswith("v") or w.word in ("有", "为", "是")) and pos < first:
            start = pos
    while start < first and text[start] in "了着过的为有：:":
        start += 1
    return start


def _enumeration_after(text: str, pos: int, hi: int) -> tuple[int, int]:
    """The names listed right after `pos` up to the next verb or clause end (选取高平市和阳城县作为试点 -> 高平市和阳城县)."""
    stop = min([i for i in (text.find(c, pos, hi) for c in "，,；;。") if i >= 0] + [hi])
    end = pos
    at = pos
    for w in posseg.lcut(text[pos:stop]):
        if w.flag.startswith(("v", "p", "f", "d", "u")) and at > pos:
            break
        at += len(w.word)
        end = at
    return pos, end


def _lists(question: Question, text: str, ev: Evidence) -> list[_Candidate]:
    out = []
    sentence = text[ev.start:ev.end]
    # 1. A、B、C三项机制 / A和B两大资源: the enumeration right before the count the question asks for
    for m in _COUNT_WORD.finditer(sentence):
        n = int(m.group("n")) if m.group("n").isdigit() else _CN[m.group("n")]
        if question.count and n != question.count:
            continue
        end = ev.start + m.start()
        head = sentence[m.end():m.end() + 12]
        if question.about and question.about not in head:
            continue
        cut = max(ev.start, max(text.rfind(c, ev.start, end) for c in "，,；;：:。") + 1)
        lead = question.lead
        at = text.rfind(lead, cut, end) if lead else -1
        start = at + len(lead) if at >= 0 else _after_verb(text, cut, end)
        while start < end and text[start] in "了着过的：:":
            start += 1
        items = _split_items(text, start, end)
        if len(items) >= 2 and (not n or len(items) == n):
            out.append(_Candidate(items[0][0], items[-1][1], fit=1.0, items=items))
        # …两个族：扁掌龙族、倾齿龙族: the count, then the items
        colon = re.match(r"[^，,；;。：:]{0,10}[：:]", sentence[m.end():])
        if colon:
            s = ev.start + m.end() + colon.end()
            stop = min([i for i in (text.find(c, s, ev.end) for c in "，,；;。") if i >= 0] + [ev.end])
            items = _split_items(text, s, stop)
            if len(items) == n:
                out.append(_Candidate(items[0][0], items[-1][1], fit=1.0, items=items))
    if not out and question.count:
        # 选取哪两个地方… -> 选取高平市和阳城县作为试点: the names right after the question's verb
        m = re.search(r"(?P<verb>[\u4e00-\u9fff]{2})哪", question.text)
        if m:
            for v in re.finditer(re.escape(m.group("verb")), sentence):
                s, e = _enumeration_after(text, ev.start + v.end(), ev.end)
                items = _split_items(text, s, e)
                if len(items) == question.count:
                    out.append(_Candidate(items[0][0], items[-1][1], fit=0.9, items=items))
    if out or question.count:
        return out
    # 2. 包括A、B、C等 / 不得A，不得B，不得C: an open enumeration of what the question names (作品包括…)
    m = re.search(r"(?:包括|包含|涵盖|主要有|分别是|即)(?P<body>[^。；;，,]+?(?:、[^。；;，,]+?)+)(?:等|。|；|，|$)", sentence)
    if m and question.about and question.about in sentence[: m.start()]:
        s, e = ev.start + m.start("body"), ev.start + m.end("body")
        items = _split_items(text, s, e)
        if len(items) >= 2:
            out.append(_Candidate(items[0][0], items[-1][1], fit=0.8, items=items))
    clauses = [(ev.start + c.start(), ev.start + c.end()) for c in re.finditer(r"[^，,；;。]+", sentence)]
    heads: dict[str, list[tuple[int, int]]] = {}
    for cs, ce in clauses:
        heads.setdefault(text[cs:cs + 2], []).append((cs, ce))
    for head, group in heads.items():
        if len(group) >= 3 and re.match(r"不得|严禁|禁止|不准|支持|鼓励|推动|加快|实现", head):
            out.append(_Candidate(group[0][0], group[-1][1], fit=0.7, items=group))
    # 3. 一是…二是… / （一）…（二）…
    marks = list(re.finditer(r"(?:^|(?<=[，,；;：:。]))(?:[一二三四五六七八九十]是|（[一二三四五六七八九十]）)", sentence))
    if len(marks) >= 2:
        items = []
        for a, b in zip(marks, marks[1:] + [None]):
            s, e = strip_span(text, ev.start + a.end(), ev.start + (b.start() if b else len(sentence)))
            items.append((s, e))
        out.append(_Candidate(items[0][0], items[-1][1], fit=0.8, items=items))
    return out


_NEGATIVE = re.compile(r"无需|无须|不需要?|不用|不必|免于|不得|不能|不可|禁止|严禁|不允许|并不|不会|尚未|未能|从未|没有|不再")
_POSITIVE_CAN = re.compile(r"(?<![不无])(?:可以|可|能够|能|允许|即可|就能)")
_POSITIVE_NEED = re.compile(r"(?<![不无])(?:需要|必须|须|应当|应)")


def _yesno(question: Question, text: str, ev: Evidence, weights) -> list[_Candidate]:
    sentence = text[ev.start:ev.end]
    clauses = [(ev.start + c.start(), ev.start + c.end()) for c in re.finditer(r"[^，,；;。]+", sentence)]
    for cs, ce in clauses:
        clause = text[cs:ce]
        norm = nfkc_without_spaces_or_quotes(clause)
        if sum(1 for t, _ in weights if len(t) >= 2 and t in norm) < 2:
            continue  # a clause that says 能 or 不得 about something else
        verdict = None
        if _NEGATIVE.search(clause) and question.modal in ("need", "can"):
            verdict = "否"
        elif question.modal == "can" and _POSITIVE_CAN.search(clause):
            verdict = "是"
        elif question.modal == "need" and _POSITIVE_NEED.search(clause):
            verdict = "是"
        if verdict:
            s, e = strip_span(text, cs, ce)
            return [_Candidate(s, e, fit=1.0, verdict=verdict)]
    return []  # no clause says yes or no: no short answer (the sentence stays marked in its passage)


# ----------------------------------------------------------------------------- answering
def _candidates(question: Question, doc, ev: Evidence, weights) -> list[_Candidate]:
    text = doc.text
    if question.asks == "quantity":
        return _quantities(question, text, ev, weights)
    if question.asks == "date":
        return _dates(question, text, ev, weights, doc.date or "")
    if question.asks == "body":
        return _bodies(question, text, ev)
    if question.asks == "list":
        return _lists(question, text, ev)
    if question.asks == "yesno":
        return _yesno(question, text, ev, weights)
    return []


def _make(question: Question, doc, ev: Evidence, c: _Candidate) -> ShortAnswer:
    text = doc.text
    items = [{"text": text[s:e], "doc_id": doc.doc_id, "start": s, "end": e} for s, e in c.items]
    ev_end = max(ev.end, c.evidence_end or ev.end)
    return ShortAnswer(
        type=question.asks, text=text[c.start:c.end], doc_id=doc.doc_id, start=c.start, end=c.end,
        evidence=text[ev.start:ev_end], evidence_start=ev.start, evidence_end=ev_end,
        citation=cite_document(doc, ev.start, ev_end), items=items, verdict=c.verdict, means=c.means,
        value=c.value, score=round(ev.coverage + c.fit - 0.02 * ev.rank, 4),
    )


def answer_short(question: Question, passages: Sequence, documents: Mapping[str, object]) -> ShortAnswer | None:
    """The short answer to a quantity, date, body, list or yes/no question, or None when the evidence holds none."""
    if question.asks not in ("quantity", "date", "body", "list", "yesno"):
        return None
    weights = _weights(question)
    if not weights:
        return None
    found: list[tuple[Evidence, _Candidate, ShortAnswer]] = []
    bar = MIN_COVERAGE_YESNO if question.asks == "yesno" else MIN_COVERAGE
    for ev in gather_evidence(question, passages, documents):
        if ev.coverage < bar:
            break
        doc = documents[ev.doc_id]
        for c in _candidates(question, doc, ev, weights):
            found.append((ev, c, _make(question, doc, ev, c)))
    if not found:
        return None
    found.sort(key=lambda x: (-x[2].score, not x[0].specific))
    best_ev, best_c, best = found[0]
    asks = len(question.abouts) if question.asks == "quantity" else 1
    if asks > 1:
        # several values asked at once: the best of each ask in the best sentence, in text order
        per_ask: dict[int, _Candidate] = {}
        for ev, c, _ in found:
            if ev is best_ev and c.attach >= 0.5 and c.ask not in per_ask:
                per_ask[c.ask] = c
        if len(per_ask) >= 2:
            text = documents[best.doc_id].text
            chosen = sorted(per_ask.values(), key=lambda c: c.start)
            best.items = [{"text": text[c.start:c.end], "doc_id": best.doc_id, "start": c.start, "end": c.end}
                          for c in chosen]
            best.start, best.end = chosen[0].start, chosen[-1].end
            best.text = text[best.start:best.end]
            best.value = None
    seen = {best.value_key()}
    # other values the documents give for the same thing (another year, another city): from other sentences,
    # as closely tied to what was asked; documents about the place asked first
    for ev, c, a in sorted(found[1:], key=lambda x: (not x[0].specific, -x[2].score)):
        key = a.value_key()
        if key in seen or ev is best_ev or a.score < best.score - 0.6 or c.attach < min(best_c.attach, 0.5) \
                or ev.coverage < best_ev.coverage - 0.25:
            continue
        seen.add(key)
        best.alternatives.append(a)
        if len(best.alternatives) >= MAX_ALTERNATIVES:
            break
    return best
