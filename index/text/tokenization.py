"""The one tokenizer of the project: how a document or a question is cut into words, which words
carry nothing, and which runs of a question are looked for verbatim.

Every consumer (BM25 building and querying, answer sentences, place mentions, the page's marks)
takes a `Tokenizer`, defaulting to the one instance `TOKENIZER`, so what the page marks is what
the ranking matched. Injectable like bm25s's Tokenizer: a test or an experiment hands in another.

BM25 tokens are jieba words plus CJK characters and character bigrams. Documents and questions are
tokenized alike (``tokenize``), so the two always agree; questions additionally drop stop words
(``query_tokens``).

Why characters and bigrams as well as words: jieba cuts the same phrase differently in a question and
in a document (劳动合同法 / 劳动 合同 法, 拿地即开工 / 拿地 即 开工), and a word-only index then misses
the match. Overlapping bigrams (the usual unit of Chinese n-gram retrieval) and single characters
recover it while the words keep exact multi-character terms strong. On the benchmarks this lifts BM25
nDCG@10 from 0.496 to 0.544 on stard_train and MRR@10 from 0.929 to 0.954 on the seed questions.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

# What the BM25 index holds, recorded in the index manifest: an index made with other tokens is refused.
BM25_TOKENS = "jieba-precise+cjk-chars+cjk-bigrams"

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")

# General Chinese function words, pronouns and question fillers: frequent in questions, rare in the
# documents, so BM25 would give them high weight for no reason (我 / 怎么办 match chatty passages), an
# answer sentence would score for them and the page would mark them everywhere. A general list, not
# tuned on any question set.
STOPWORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 嘛 么 哦 是 在 我 你 您 他 她 它 我们 你们 他们 她们 咱们 自己 什么 怎么 怎么办
    怎样 怎么样 如何 哪些 哪个 哪里 哪儿 哪几个 哪家 为什么 为何 请问 请 是否 是不是 能不能 可不可以 有没有
    会不会 可以 能 能否 会 和 与 及 或 或者 还是 一个 这 那 这个 那个 这些 那些 这样 那样 被 把 给 让 对 就 都
    也 还 还有 又 要 想 该 应该 需要 有 没有 没 不 之 其 所 而 等 啥 多少 几 几个 谁 哪 时 以及 如果 但是 但
    因为 所以 然后 现在 已经 一下 一些 一定 关于 有关 相关 情况 主要 目前 进行 为 将 得""".split()
)

PHRASE_MIN = 4  # shorter runs are mostly two jieba words that BM25 already matches
PHRASE_MAX = 10


@dataclass(frozen=True)
class Token:
    """One jieba word of a text, with its offsets: ``text[start:end] == token.text``."""

    text: str
    start: int
    end: int


def _is_noise(token: str) -> bool:
    token = token.strip()
    return not token or all(unicodedata.category(ch)[0] in "PZSC" for ch in token)


@lru_cache(maxsize=1)
def _initialised() -> bool:
    jieba.initialize()  # loads the dictionary once, up front, rather than on the first query
    return True


@dataclass(frozen=True)
class Tokenizer:
    """Cuts Chinese text; frozen and hashable, so cached functions can take it as an argument."""

    stopwords: frozenset[str] = STOPWORDS
    phrase_min: int = PHRASE_MIN
    phrase_max: int = PHRASE_MAX

    def cut(self, text: str) -> list[Token]:
        """jieba precise-mode words of `text` as given (no normalisation), with offsets; blanks dropped."""
        _initialised()
        return [Token(w, s, e) for w, s, e in jieba.tokenize(text) if w.strip()]

    def words(self, text: str) -> list[str]:
        """jieba precise-mode words of `text` after NFKC, lower-cased, punctuation dropped."""
        _initialised()
        return [t.lower() for t in jieba.lcut(unicodedata.normalize("NFKC", text)) if not _is_noise(t)]

    def char_grams(self, text: str) -> list[str]:
        """Every CJK character of `text`, then every pair of adjacent CJK characters."""
        runs = _CJK_RUN.findall(unicodedata.normalize("NFKC", text))
        chars = [ch for run in runs for ch in run]
        pairs = [run[i : i + 2] for run in runs for i in range(len(run) - 1)]
        return chars + pairs

    def tokenize(self, text: str) -> list[str]:
        """BM25 tokens of `text`: jieba words, CJK characters and CJK character bigrams."""
        return self.words(text) + self.char_grams(text)

    def is_stopword(self, token: str) -> bool:
        return token in self.stopwords

    def query_tokens(self, text: str) -> list[str]:
        """BM25 tokens of a question: ``tokenize`` without stop words (all of them if nothing else is left)."""
        tokens = self.tokenize(text)
        kept = [t for t in tokens if t not in self.stopwords]
        return kept or tokens

    def query_words(self, text: str) -> list[str]:
        """The question's words of two or more characters that BM25 looks for (no stop words,
        no punctuation), each once, in question order: the words the page marks."""
        seen: dict[str, None] = {}
        for w in self.words(text):
            if len(w) >= 2 and w not in self.stopwords and any(ch.isalnum() for ch in w):
                seen.setdefault(w, None)
        return list(seen)

    def phrases(self, question: str) -> list[str]:
        """Runs of `phrase_min` to `phrase_max` CJK characters of the question, longest first, to be
        found verbatim in a passage (拿地即开工 even where jieba cuts it into single characters)."""
        out: list[str] = []
        for run in _CJK_RUN.findall(question):
            for size in range(min(len(run), self.phrase_max), self.phrase_min - 1, -1):
                out.extend(run[i : i + size] for i in range(len(run) - size + 1))
        return out


TOKENIZER = Tokenizer()


# The default tokenizer's methods, for callers that need no other.
def words(text: str) -> list[str]:
    return TOKENIZER.words(text)


def char_grams(text: str) -> list[str]:
    return TOKENIZER.char_grams(text)


def tokenize(text: str) -> list[str]:
    return TOKENIZER.tokenize(text)


def query_tokens(text: str) -> list[str]:
    return TOKENIZER.query_tokens(text)


def phrases(question: str) -> list[str]:
    return TOKENIZER.phrases(question)
