"""The one tokenizer (index.text.tokenization): its cuts, stop words and phrases, and that every consumer
uses it, so the page marks exactly what the ranking matched."""
from __future__ import annotations

from dataclasses import replace

import pytest

from index.text import STOPWORDS, TOKENIZER, Tokenizer, phrases, query_tokens, tokenize
from qa.answer_sentences import analyze
from ui.render import question_terms, term_spans

QUESTIONS = ["哪些城市推行拿地即开工?", "晋城市的营商环境怎么样？", "承诺制+标准地改革在哪里试点？", "ＡＩ产业政策有哪些？", "企业开办需要哪些材料？"]


def test_cut_keeps_offsets_and_drops_blanks():
    text = "晋城推出 拿地即开工\n改革。"
    tokens = TOKENIZER.cut(text)
    assert tokens and all(text[t.start : t.end] == t.text and t.text.strip() for t in tokens)
    assert "".join(t.text for t in tokens) == "晋城推出拿地即开工改革。"


def test_bm25_tokens_are_words_characters_and_bigrams():
    assert tokenize("拿地即开工") == TOKENIZER.words("拿地即开工") + list("拿地即开工") + ["拿地", "地即", "即开", "开工"]
    assert TOKENIZER.words("ＡＩ，产业") == ["ai", "产业"]  # NFKC, lower case, punctuation dropped


def test_question_tokens_drop_stop_words_unless_nothing_is_left():
    tokens = query_tokens("哪些城市推行拿地即开工?")
    assert "哪些" not in tokens and "城市" in tokens and "拿地" in tokens
    assert query_tokens("吗？") == tokenize("吗？") == ["吗", "吗"]  # nothing else left: keep them all


def test_phrases_are_runs_of_four_to_ten_characters_longest_first():
    got = phrases("哪些城市推行拿地即开工?")
    assert got[0] == "哪些城市推行拿地即开工"[:10] and "拿地即开工" in got
    assert all(4 <= len(p) <= 10 for p in got)
    assert [len(p) for p in got] == sorted((len(p) for p in got), reverse=True)
    assert phrases("什么是") == []


def test_an_injected_tokenizer_reaches_every_consumer():
    no_stops = Tokenizer(stopwords=frozenset())
    assert "哪些" in no_stops.query_tokens("哪些城市")
    assert "怎么样" not in question_terms("营商环境怎么样") and "怎么样" in question_terms("营商环境怎么样", no_stops)
    terms = dict(analyze("营商环境怎么样", no_stops).terms)
    assert "怎么样" in terms and "怎么样" not in dict(analyze("营商环境怎么样").terms)
    three = replace(TOKENIZER, phrase_min=3)
    assert "开工证" in three.phrases("开工证") and not TOKENIZER.phrases("开工证")


def test_answer_sentences_leave_out_the_same_stop_words():
    for q in QUESTIONS:
        assert not any(term in STOPWORDS for term, _ in analyze(q).terms)


@pytest.mark.parametrize("question", QUESTIONS)
def test_page_marks_what_the_ranking_matched(question, searcher):
    """On the passages the ranking returns, the marked words are the question's BM25 tokens the passage's
    BM25 tokens hold, and the marked phrases are those the phrase bonus found; nothing else."""
    asked = query_tokens(question)
    words = question_terms(question)
    assert set(words) <= set(asked)  # the page marks only tokens the ranking asks for
    for passage in searcher.search(question, k=5):
        text = passage.text
        matched = set(asked) & set(tokenize(text))
        found_phrases = [p for p in phrases(question) if p in text]
        marked = [text[s:e] for s, e in term_spans(question, text)]
        for m in marked:
            assert TOKENIZER.words(m) and (
                any(p in m for p in found_phrases) or set(TOKENIZER.words(m)) & matched or m.lower() in matched
            ), (question, m)
        # every word of the question the ranking matched in this passage (of two characters or more) is marked
        for w in words:
            if w in matched and w in text.lower():
                assert any(w in m.lower() for m in marked), (question, w)
        for p in found_phrases[:1]:
            assert any(p in m for m in marked)
