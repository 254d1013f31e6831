"""The `Question`: one question analysed once, then read by search, sentence marking, place answers and
short answers. Nothing further down tokenizes or parses the question again.

What a question asks for (`Question.asks`):

| asks | said with | example |
|---|---|---|
| quantity | 多少, 几(个/项/年…), 多大/多长/多远/多久, 比例/比重, 第几, 百分之几 | 身后一件事整合了多少事项 |
| date | 何时, 什么时候, 哪年/哪一年/哪天/哪一天/几月, 什么时间, 截至何时 | 首个济源企业家日是哪一天 |
| body | 谁, 哪个部门/单位/机构/公司, 由谁负责, 牵头单位, 责任单位 | 公平竞争审查由哪个部门牵头 |
| places | 哪些城市, 哪个区, 哪些地方 (see `qa.place_questions`) | 哪些城市推行拿地即开工 |
| list | 哪些措施/举措/机制, 哪两个/哪三项…, 什么措施/办法 | 湘潭县为民营企业建立了哪三项机制 |
| yesno | 是否, 能不能, 能否, 可不可以, 需不需要, 有没有, …吗 (with no other question word) | 投标人还需要到现场去吗 |
| none | anything else: 是什么, 怎样, 为什么, 有什么作用, and 在哪里 (a location phrase, not places) | |

`about` is the noun or unit the question is about (事项, 城市, 天, 亿元, %, 机制), `unit` the measure word
asked with (个, 项, 天, 年), `count` the number of items a list question names (哪三项 -> 3).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from jieba import posseg  # part-of-speech tags: the noun a question counts is a run of nouns

from index.text import TOKENIZER, Tokenizer

from .answer_sentences import QueryAnalysis, analyze
from .divisions import Division, divisions
from .numbers import UNITS, unit_kind
from .place_questions import is_place_question, place_kind, question_scope

ASKS = ("quantity", "date", "body", "places", "list", "yesno", "none")

_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))

# 多少 / 几 with what follows: a unit (个, 项) and the noun counted (事项)
_HOW_MANY = re.compile(rf"(?:多少|几)(?P<unit>{_UNIT_ALT})?")
# the counted noun is the run of nouns after 多少个 (事项整合在一起 -> 事项; 营商环境评价指标)
_NOUN_FLAGS = ("n", "vn", "b", "j", "l", "an", "s")
_QUANTITY = re.compile(
    r"多少|(?<!哪)几(?=[个位项家年次件天名条所处起户人批期类座台套笔份场倍届轮岁元月周])|多大|多长|多远|多久|多高|多重|多深|"
    r"比例|比重|占比|百分之几|第几|几成|几倍|几何"
)
_DATE = re.compile(
    r"何时|什么时候|什么时间|哪一?年|哪一?天|哪一?日|哪个月|哪一?月|几月|几号|哪年哪月|截至何时|何年|何日|"
    r"时间是|日期是|成文日期|发布日期|哪个时间"
)
_BODY = re.compile(
    r"(?:由)?谁(?!家)|哪(?:个|一个|些|家|几个)?(?:部门|单位|机构|机关|公司|企业|银行|组织|协会|学校|大学|医院|法院|团队|人)|"
    r"什么(?:部门|单位|机构|机关|公司|组织)|牵头单位|责任单位|主办单位|承办单位|负责单位|牵头部门|主管部门|由何|何人"
)
# 由…负责/牵头: the question asks who, even without 谁 (城区营商环境行动方案由哪个部门牵头)
_LEAD = re.compile(r"牵头|负责|主管|主办|承办")
_LIST = re.compile(
    r"哪(?:些|几(?:个|项|类|种|条|方面|大)?|(?P<n>[两二三四五六七八九十])(?:个|项|类|种|条|大|家|方面|件|点))"
    r"|什么(?:措施|举措|办法|机制|政策|手段|渠道)"
)
_WHERE = re.compile(r"哪里|哪儿|何地|何处|何方|什么地方|哪个地方|哪一个地方|什么地区|哪个地区")
_PLACES_LISTED = re.compile(r"哪些|哪几")
# a question word: then 还能/吗 do not make a yes/no question (除了喝凉茶，还能做什么)
_WH = re.compile(r"什么|哪|谁|怎|多少|几|为何|为什么|如何|何时")
_YESNO = re.compile(
    r"是否|能不能|能否|可不可以|可否|需不需要|需要不需要|要不要|有没有|是不是|会不会|用不用|还能|还要|还需要|吗[？?]?$"
)
# the modal a yes/no question turns on: 需要 questions are answered by 无需/需, 能 questions by 能/可/不得
_MODAL_NEED = re.compile(r"需不需要|需要|要不要|还要|必须|用不用|得")
_MODAL_CAN = re.compile(r"能不能|能否|可不可以|可否|可以|还能|能|可|允许")
_CN_DIGITS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


@dataclass(frozen=True)
class Question:
    """One question, analysed once (`analyse_question`).

    `text` is the question as searched: NFC, stripped, cut to what the model reads (`notice` says so when cut).
    `analysis` holds the topic, weighted terms and phrases sentence marking reads; `search_phrases` the runs the
    ranking looks for verbatim; `bm25_tokens` what BM25 matches. `places` are the places the question names;
    `scope_topic` the question without them (what a place answer must hold).
    """

    text: str
    asks: str = "none"
    about: str = ""
    unit: str = ""
    count: int | None = None
    modal: str = ""  # "need" or "can" for a yes/no question
    notice: str = ""
    analysis: QueryAnalysis | None = None
    search_phrases: tuple[str, ...] = ()
    bm25_tokens: tuple[str, ...] = ()
    places: tuple[Division, ...] = field(default=(), compare=False)
    scope_topic: str = ""
    place_kind: str | None = None
    # several values asked at once (平均减少了多少办事材料、精简了多少环节): one `about` per ask
    abouts: tuple[str, ...] = ()
    # the question's own verbs of two characters or more (成立, 退役, 并入): the event a date is asked of
    verbs: tuple[str, ...] = ()
    measure: str | None = None  # what a quantity is measured in: money, percent, duration, area, distance, rank
    grain: str = ""  # a date question's grain: "day" (哪一天), "year" (哪一年), or "" (何时)
    body_verbs: tuple[str, str] = ("", "")  # the verb after the body asked and the one before it (see _body_verbs)
    about_words: tuple[tuple[str, ...], ...] = ()  # each `abouts`' words of two characters or more, no stop words
    lead: str = ""  # a list question's word before 哪 (精通哪四种语言 -> 精通): in the evidence the items follow it

    def __str__(self) -> str:
        return self.text


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _list_count(m: re.Match | None) -> int | None:
    if m is None or not m.group("n"):
        return None
    return _CN_DIGITS.get(m.group("n"))


def _noun_run(text: str, from_end: bool = False) -> str:
    """The run of nouns at the start of `text` (or at its end): 事项整合在一起 -> 事项."""
    words = [(w.word, w.flag) for w in posseg.lcut(text)]
    if from_end:
        words.reverse()
    run: list[str] = []
    for word, flag in words:
        if not (flag.startswith(_NOUN_FLAGS) or (flag.startswith("nr") and len(word) >= 2) or flag in ("ns", "nt", "nz")):
            break
        run.append(word)
    if from_end:
        run.reverse()
    return "".join(run)


def _about_quantity(q: str) -> tuple[str, str, tuple[str, ...]]:
    """(unit, noun, every noun asked): 多少个事项 -> (个, 事项); 接通率是多少 -> ("", 接通率)."""
    abouts: list[str] = []
    unit = ""
    for m in _HOW_MANY.finditer(q):
        unit = unit or (m.group("unit") or "")
        tail = re.split(r"多少|几|[，,。？?！!；;、]", q[m.end():])[0]
        both = re.fullmatch(r"(?P<a>[\u4e00-\u9fff]{1,6})(?:和|与|及)(?P<b>[\u4e00-\u9fff]{1,6}?)(?:[\u4e00-\u9fff]{0,2})", tail)
        if both and _noun_run(both.group("a")) == both.group("a"):
            # 多少个窗口和企业赋码: two things counted
            abouts.extend((both.group("a"), _noun_run(both.group("b")) or both.group("b")))
            continue
        noun = _noun_run(tail) or re.sub(r"[“”\"'‘’]", "", tail)[:8]
        if not noun or not re.search("[\u4e00-\u9fff]", noun):
            # the noun stands before: 接通率是多少, 实际利用外资多少, 增长了多少; 接通率和按时响应率是多少: each
            before = re.split(r"[，,。？?！!；;]", q[: m.start()])[-1]
            before = re.sub(r"(是|有|为|达到?|约|共|一共|总共|累计|大概|大约|分别|了|都|还|要|能|可|就|提高到|增长)+$", "", before)
            parts = [p for p in re.split(r"和|、|与|及", before) if p]
            if len(parts) >= 2 and all(len(p) <= 8 for p in parts[1:]):
                abouts.extend(_noun_run(p.split("的")[-1], from_end=True) or p.split("的")[-1] for p in parts[-3:])
                continue
            # 办结了多少, 审批时间缩短了多少: the verb stands for what is counted
            noun = _noun_run(before, from_end=True) or (before[-4:] if abouts else "")
        abouts.append(noun)
    if not abouts:
        m = re.search(r"(?:是|为|有)?(?:多大|多长|多远|多久|多高|比例|比重|占比|第几)", q)
        abouts.append(_noun_run(q[: m.start()], from_end=True) if m else "")
    return unit, abouts[0], tuple(a for a in abouts if a)


def _about_list(q: str, m: re.Match) -> str:
    """The head noun of a list question: 哪三项机制 -> 机制, 哪两大万亿级产业资源 -> 资源."""
    run = _noun_run(re.sub(r"^[\u4e00-\u9fff]{0,3}级", "", q[m.end():]))
    if not run:
        return ""
    toks = [t.text for t in TOKENIZER.cut(run)]
    return toks[-1]


def classify(question: str) -> tuple[str, str, str, int | None, str, tuple[str, ...]]:
    """(asks, about, unit, count, modal, abouts) of a question (see the module's table)."""
    q = _nfkc(question).strip()
    if is_place_question(q):
        # place answers list the places that do something (哪些城市推行…, 哪个省…); "where is it" (在哪里, 什么地方)
        # asks for a location phrase, which they do not give (measured on CMRC 2018: 2% of them agreed)
        if _WHERE.search(q) and not _PLACES_LISTED.search(q):
            return "none", "", "", None, "", ()
        return "places", "", "", None, "", ()
    if _DATE.search(q):
        return "date", "", "", None, "", ()
    if _QUANTITY.search(q):
        unit, about, abouts = _about_quantity(q)
        return "quantity", about, unit, None, "", abouts
    if _BODY.search(q):
        return "body", "", "", None, "", ()
    lm, lead = _LIST.search(q), _LEAD.search(q)
    if lm is None and lead and re.search(r"哪|谁|什么", q[: lead.start()]):
        return "body", "", "", None, "", ()
    if lm:
        return "list", _about_list(q, lm), "", _list_count(lm), "", ()
    if _YESNO.search(q) and not _WH.search(re.sub(r"是否|能不能|能否|可不可以|可否|是不是|有没有", "", q)):
        modal = "need" if _MODAL_NEED.search(q) else ("can" if _MODAL_CAN.search(q) else "")
        return "yesno", "", "", None, modal, ()
    return "none", "", "", None, "", ()


@lru_cache(maxsize=1024)
def analyse_question(text: str, notice: str = "", tokenizer: Tokenizer = TOKENIZER) -> Question:
    """The `Question` for an already validated question text (see `qa.Searcher.prepare`)."""
    asks, about, unit, count, modal, abouts = classify(text)
    kind = place_kind(text) if asks == "places" else None
    table = divisions()
    scope_topic, scope = question_scope(text, table)
    return Question(
        text=text, asks=asks, about=about, unit=unit, count=count, modal=modal, notice=notice,
        analysis=analyze(text, tokenizer), search_phrases=tuple(tokenizer.phrases(text)),
        bm25_tokens=tuple(tokenizer.query_tokens(text)), places=tuple(scope), scope_topic=scope_topic,
        place_kind=kind, abouts=abouts or ((about,) if about else ()), verbs=_verbs(text),
        measure=_measure(text, unit, abouts or (about,)) if asks == "quantity" else None,
        grain=_grain(text) if asks == "date" else "",
        body_verbs=_body_verbs(text) if asks == "body" else ("", ""),
        lead=_lead(text) if asks == "list" else "",
        about_words=tuple(tuple(w.text for w in tokenizer.cut(a) if len(w.text) >= 2 and not tokenizer.is_stopword(w.text))
                          for a in (abouts or ((about,) if about else ()))),
    )


_LIGHT_VERBS = {"进行", "开始", "成为", "属于", "位于", "叫做", "称为", "发生", "获得", "需要", "可以", "能够", "没有"}


def _verbs(text: str) -> tuple[str, ...]:
    """The question's verbs of two characters or more, light verbs (进行, 成为, 发生) left out."""
    return tuple(dict.fromkeys(w.word for w in posseg.lcut(text)
                               if w.flag == "v" and len(w.word) >= 2 and w.word not in _LIGHT_VERBS))


def _measure(q: str, unit: str, abouts: tuple[str, ...]) -> str | None:
    """What a quantity question's answer is measured in: 第几 -> rank, 率 -> percent, 钱 -> money, 多久 -> duration,
    面积 -> area, 多远 -> distance; None for a count (多少个) or anything else."""
    about = "".join(abouts)
    if re.search(r"第几", q):
        return "rank"
    if unit:
        kind = unit_kind(unit)
        return None if kind == "count" else kind
    if re.search(r"率|比例|比重|占比|增长|增速|增幅|折扣|百分之几|几成", about + q[-8:]):
        return "percent"
    if re.search(r"钱|资金|金额|余额|投资|外资|税费|贷款|融资|收入|产值|总值|资产|补贴|奖励|费用|经费|价格", q):
        return "money"
    if re.search(r"多久|多长时间|工期|时限|用时|时间", q):
        return "duration"
    if re.search(r"面积|占地|多大", q):
        return "area"
    if re.search(r"多远|多长|多高|多深|距离|长度|高度|海拔|全长|体长|身长|翼展|直径|半径|宽度", q):
        return "distance"
    return None


def _grain(q: str) -> str:
    """哪一天 asks for a day, 哪一年 for a year; 何时 for any date."""
    if re.search(r"哪一?天|哪一?日|几号|日期", q):
        return "day"
    if re.search(r"哪一?年|何年|几几年", q):
        return "year"
    return ""


_ASKED_BODY = r"(?:谁|哪(?:个|一个|家|些|位)?[\u4e00-\u9fff]{0,2}?(?:部门|单位|机构|机关|公司|企业|组织|人))"
_NOT_VERBS = {"是", "为", "在", "和", "与", "由", "被", "的", "了"}


def _body_verbs(q: str) -> tuple[str, str]:
    """(the verb after the body asked, the verb before it): 与哪家公司合作 -> (合作, ""),
    由谁负责 -> (负责, ""), 接替谁担任 -> (担任, 接替), 孙权立谁为太子 -> (为太子, 立)."""
    after = before = ""
    m = re.search(_ASKED_BODY + r"(?:来|去|在)?(?P<verb>[\u4e00-\u9fff]{2})", q)
    if m:
        after = m.group("verb")
    else:
        m = re.search(r"(?P<verb>牵头|负责|主管|主办|承办|合作)", q)
        after = m.group("verb") if m else ""
    m = re.search(_ASKED_BODY, q)
    if m and m.start() > 0:
        words = [w for w in posseg.lcut(re.sub(r"了$", "", q[: m.start()])) if w.word.strip()]
        if words and words[-1].word not in _NOT_VERBS and words[-1].flag[:1] in ("v", "p"):
            before = words[-1].word
    return after, before


def _lead(q: str) -> str:
    """The word before 哪 in a list question (精通哪四种语言 -> 精通; 还多出了哪三种 -> 多出)."""
    m = re.search(r"哪", q)
    if not m:
        return ""
    words = [t.text for t in TOKENIZER.cut(re.sub(r"[了的是有]+$", "", q[: m.start()]))]
    return words[-1] if words and len(words[-1]) >= 2 else ""
