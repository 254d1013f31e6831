"""Mark the sentence(s) of a passage that best answer a question.

No model: a sentence scores the IDF-weighted query terms it contains (words of the shared
`index.text` tokenizer, its stop words left out; jieba's own IDF table gives the weights),
plus a bonus for each multi-character query phrase it holds verbatim (拿地即开工, 无证明城市,
承诺制+标准地), so the sentence that says exactly what was asked beats one that only shares common words with it. Whitespace, quotes and full-width forms
are ignored when matching (拿地即开工 matches “拿地即开 工”), never in the offsets returned.

The same query analysis (`analyze`) tells `qa.places` what a place question is about.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba

from index.text import split_sentences, strip_span  # the shared splitter: exact (start, end) offsets
from index.text import TOKENIZER, Tokenizer

from .place_questions import PLACE_QUESTION, place_kind

# place_kind (its home is qa.place_questions) stays importable here with the rest of a question's analysis
__all__ = [
    "GENERIC_VERBS", "QueryAnalysis", "analyze", "best_sentences", "idf", "nfkc_without_spaces_or_quotes", "phrase_in",
    "phrase_weight", "place_kind", "score_sentence", "topic_in",
]

# ----------------------------------------------------------------------------- question words
# words that carry no topic: question particles, fillers
_QUESTION_FILLERS = re.compile(
    r"^(请问|请|我想知道|想知道|都|有|是|在|还)+|(都有|都|有|还有|等|了|吗|呢|呀|啊|的)+$"
)
# generic verbs around the topic (推行拿地即开工): they split the topic, weigh little, and are
# not required in an evidence sentence
GENERIC_VERBS = (
    "推行", "实行", "实施", "推进", "推动", "推广", "开展", "建设", "建立", "打造", "推出", "探索", "实现",
    "深化", "启动", "试行", "落实", "开通", "设立", "采用", "采取", "应用", "利用", "出台", "提出", "进行",
    "做到", "举办", "举行", "召开", "组织", "开设", "通过", "积极", "全面", "持续", "大力",
    "搞", "做", "办", "有", "在", "把", "将", "对", "用", "以",
)
_TELLING_IDF = 6.0
# a question after a number: 多少, 几个, 第几位, 百分之几, 比例 ...
_QUANTITY = re.compile(r"多少|几[个位项家年次件天亿万%]?|百分之几|比例|比重|增速|增幅|增长了?多少")
# tokens that end a topic phrase
_PHRASE_BREAKS = {
    "哪些", "哪个", "哪几个", "哪里", "哪儿", "什么", "怎么", "怎样", "如何", "是否", "是不是", "多少", "是多少",
    "几个", "吗", "呢", "了", "的", "和", "与", "及", "或", "等", "是", "都", "也", "还", "请问", "请",
}
_PUNCT = re.compile(r"[\s\u3000“”‘’\"'「」『』《》〈〉【】（）()〔〕\[\]、，,。．.！!？?；;：:…—\-~·]+")
_IGNORABLE = re.compile(r"[\s\u3000“”‘’\"'「」『』]")


def nfkc_without_spaces_or_quotes(text: str) -> str:
    """Text as compared: NFKC, without whitespace and quotes (拿地即开 工 -> 拿地即开工)."""
    return _IGNORABLE.sub("", unicodedata.normalize("NFKC", text))


# jieba's IDF table, read from its own file as jieba.analyse reads it: importing jieba.analyse would build a
# keyword extractor no one here uses and read the table twice (0.65 s of every question's process)
IDF_TABLE = Path(jieba.__file__).parent / "analyse" / "idf.txt"


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    freq: dict[str, float] = {}
    for line in IDF_TABLE.read_bytes().decode("utf-8").splitlines():
        word, value = line.strip().split(" ")
        freq[word] = float(value)
    return freq, sorted(freq.values())[len(freq) // 2]


def idf(term: str) -> float:
    """IDF weight of a term (jieba's table; unknown words get the median, as in jieba)."""
    freq, median = _idf()
    w = freq.get(term)
    if w is None:
        return median
    return w


@dataclass(frozen=True)
class QueryAnalysis:
    """What a question asks about.

    `terms`: content tokens with their weights (generic verbs down-weighted).
    `phrases`: the question's topic phrases, normalized, generic verbs cut out
    (哪些城市推行拿地即开工？ -> ("拿地即开工",)); a phrase joined by + or 和 is split into its
    parts, each required (承诺制+标准地 -> ("承诺制", "标准地")).
    `topic`: the question without its place-question words and particles.
    """

    question: str
    topic: str
    terms: tuple[tuple[str, float], ...]
    phrases: tuple[str, ...]
    asks_quantity: bool = False


@lru_cache(maxsize=4096)
def _tokens(text: str, tokenizer: Tokenizer = TOKENIZER) -> tuple[str, ...]:
    return tuple(t.text for t in tokenizer.cut(text))


def _strip_place_words(question: str) -> str:
    q = unicodedata.normalize("NFKC", question or "").strip()
    q = PLACE_QUESTION.sub(" ", q)
    parts = [p for p in _PUNCT.split(q) if p]
    kept = []
    for p in parts:
        p = _QUESTION_FILLERS.sub("", p)
        if p:
            kept.append(p)
    return " ".join(kept)


@lru_cache(maxsize=256)
def analyze(question: str, tokenizer: Tokenizer = TOKENIZER) -> QueryAnalysis:
    topic = _strip_place_words(question)
    # terms: content tokens of the topic
    weights: dict[str, float] = {}
    for tok in _tokens(topic.replace(" ", "，"), tokenizer):
        if tokenizer.is_stopword(tok) or _PUNCT.fullmatch(tok) or tok in "+＋":
            continue
        if len(tok) == 1 and not tok.isalnum():
            continue
        w = idf(tok)
        if tok in GENERIC_VERBS:
            w *= 0.3
        elif len(tok) == 1:
            w *= 0.3
        weights[tok] = max(weights.get(tok, 0.0), w)
    # phrases: runs of the topic's tokens between punctuation, connectors, question words and
    # generic verbs (推行|拿地即开工, 承诺制|+|标准地)
    phrases: list[str] = []
    run: list[str] = []

    def flush() -> None:
        text = nfkc_without_spaces_or_quotes("".join(run))
        if len(text) >= 2 and text not in phrases:
            phrases.append(text)
        run.clear()

    for tok in _tokens(topic.replace(" ", "，"), tokenizer):
        if tok in _PHRASE_BREAKS or tok in GENERIC_VERBS or _PUNCT.fullmatch(tok) or tok in "+＋":
            flush()
        else:
            run.append(tok)
    flush()
    asks_quantity = bool(_QUANTITY.search(topic))
    return QueryAnalysis(question=question, topic=topic, terms=tuple(weights.items()), phrases=tuple(phrases),
                         asks_quantity=asks_quantity)


def phrase_in(phrase: str, norm_text: str, tokenizer: Tokenizer = TOKENIZER) -> bool:
    """A topic phrase is in a (normalized) text: verbatim, or - for a phrase of several words
    (城乡综合治理, 企业家日活动) - every one of its telling words (two or more characters, IDF of
    at least 6: not 一次, 活动, 服务) make up at least half of the phrase, or it has three or more
    words one of which is telling (健康行业决赛); and all its words of two or more characters are
    in the text."""
    if phrase in norm_text:
        return True
    words = [t for t in _tokens(phrase, tokenizer)
             if len(t) >= 2 and not tokenizer.is_stopword(t) and t not in GENERIC_VERBS]
    strong = [w for w in words if idf(w) >= _TELLING_IDF]
    if not strong:
        return False
    telling = sum(len(w) for w in strong) >= len(phrase) * 0.5 and (len(strong) >= 2 or len(strong[0]) >= 3)
    if not telling and len(words) < 3:
        return False  # 拿地即开工 -> only 开工: too little of the phrase to stand for it
    return all(w in norm_text for w in words)


def phrase_weight(phrase: str, tokenizer: Tokenizer = TOKENIZER) -> float:
    """How telling a topic phrase is: the IDF of its rarest word."""
    return max((idf(t) for t in _tokens(phrase, tokenizer) if not tokenizer.is_stopword(t)), default=0.0)


def topic_in(analysis: QueryAnalysis, text: str) -> bool:
    """The text says what the question is about: every topic phrase is in it."""
    if not analysis.phrases:
        return False
    norm = nfkc_without_spaces_or_quotes(text)
    return all(phrase_in(p, norm) for p in analysis.phrases)


def score_sentence(analysis: QueryAnalysis, text: str, local_df: dict[str, int] | None = None,
                   tokenizer: Tokenizer = TOKENIZER, norm: str | None = None) -> float:
    """How well one sentence answers: the weights of the query terms it holds, each divided by
    the square root of the number of the passage's sentences holding it (`local_df`: a term
    every sentence repeats tells them apart less), plus the phrase bonus. `norm`: the sentence already
    normalized (nfkc_without_spaces_or_quotes), when the caller has it."""
    norm = nfkc_without_spaces_or_quotes(text) if norm is None else norm
    if not norm:
        return 0.0
    local_df = local_df or {}
    score = 0.0
    for term, w in analysis.terms:
        if term in norm:
            score += w / max(1, local_df.get(term, 1)) ** 0.5
    if analysis.asks_quantity:
        # 接通率是多少? -> the sentence giving a number right after an asked term (接通率98.78%)
        for term, w in analysis.terms:
            if re.search(re.escape(term) + r"[^，。；,;\d]{0,4}[\d０-９一二三四五六七八九十百千万]", norm):
                score += w
    for p in analysis.phrases:
        if p in norm:
            weight = sum(idf(t) for t in _tokens(p, tokenizer) if not tokenizer.is_stopword(t))
            score += weight * (1.0 if len(p) >= 3 else 0.5)
        elif phrase_in(p, norm, tokenizer):
            score += 0.5 * idf(p)
    return score


def best_sentences(
    question, passage_text: str, base_offset: int = 0, max_sentences: int = 2,
    tokenizer: Tokenizer = TOKENIZER, best_first: bool = False,
) -> list[tuple[int, int]]:
    """The 1-2 sentences of `passage_text` that best answer `question`, as (start, end) offsets
    into the document (`base_offset` + offsets in the passage), in text order (best first with `best_first`).

    The best sentence is always returned when it shares anything with the question; a second
    one only when it scores at least 60% of the best. Nothing in common: [].
    """
    if not passage_text or not question:
        return []
    # a `qa.Question` carries its analysis; a plain text is analysed here
    analysis = question.analysis if getattr(question, "analysis", None) is not None else analyze(str(question), tokenizer)
    spans = []
    for s, e in split_sentences(passage_text):
        s, e = strip_span(passage_text, s, e)
        if e > s:
            spans.append((s, e, nfkc_without_spaces_or_quotes(passage_text[s:e])))
    local_df = {term: sum(1 for _, _, n in spans if term in n) for term, _ in analysis.terms}
    # what the question asks about (the noun counted: 事项, 优秀等次) weighs again: the sentence that holds it
    # answers; one sharing only the question's other words does not
    asked = [w for words in getattr(question, "about_words", ()) for w in words]
    scored: list[tuple[float, int, int, int]] = []
    for i, (s, e, norm) in enumerate(spans):
        sc = score_sentence(analysis, passage_text[s:e], local_df, tokenizer, norm=norm)
        if sc > 0 and asked:
            sc += 0.5 * sum(idf(w) for w in asked if w in norm)
        if sc > 0:
            scored.append((sc, i, s, e))
    if not scored:
        return []
    scored.sort(key=lambda x: (-x[0], x[1]))
    best = scored[0][0]
    chosen = [scored[0]] + [x for x in scored[1:max_sentences] if x[0] >= 0.6 * best]
    if not best_first:
        chosen.sort(key=lambda x: x[1])
    return [(base_offset + s, base_offset + e) for _, _, s, e in chosen]
