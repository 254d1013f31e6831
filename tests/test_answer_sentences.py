"""Answer-sentence marking: the sentence(s) of each passage that best answer the question."""
from __future__ import annotations

from qa.answer_sentences import analyze, best_sentences, place_kind, topic_in

LAND = "哪些城市推行拿地即开工?"


def _marked(searcher, question: str, k: int = 5):
    out = []
    for p in searcher.search(question, k=k):
        doc = searcher.index.documents[p.doc_id]
        spans = best_sentences(question, p.text, p.start)
        out.append((p, doc, spans))
    return out


def test_analysis_of_a_place_question():
    a = analyze(LAND)
    assert a.phrases == ("拿地即开工",)
    assert place_kind(LAND) == "city"
    assert analyze("哪些地方实行承诺制+标准地?").phrases == ("承诺制", "标准地")
    assert analyze("哪些城市建设无证明城市?").phrases == ("无证明城市",)
    assert topic_in(analyze("哪些地方实行承诺制+标准地?"), "示范区实行“拿地即开工”、“标准地+承诺制”等审批模式")
    assert not topic_in(a, "项目开工建设可提前2~3个月")  # 开工 alone is not 拿地即开工


def test_spans_are_document_offsets_of_whole_sentences(searcher):
    for question in (LAND, "保定市12345热线接通率是多少？", "商丘市场主体总量居全省第几位？"):
        for p, doc, spans in _marked(searcher, question):
            # the top passages share words with the question; one further down may be there for its
            # meaning alone (the dense model), and then nothing is marked in it
            assert (1 if p.rank <= 3 else 0) <= len(spans) <= 2
            assert spans == sorted(spans)
            for s, e in spans:
                assert p.start <= s < e <= p.end
                sentence = doc.text[s:e]
                assert sentence == sentence.strip() and "\n" not in sentence
                assert sentence == p.text[s - p.start : e - p.start]


def test_the_exact_phrase_wins_in_the_land_passages(searcher):
    hits = 0
    for p, doc, spans in _marked(searcher, LAND, k=10):
        if "拿地即开工" in p.text.replace('"', "").replace("“", "").replace("”", ""):
            hits += 1
            assert any("拿地即开工" in doc.text[s:e].replace('"', "").replace("“", "").replace("”", "") for s, e in spans)
    assert hits >= 3


def test_the_sentence_with_the_number_asked_for(searcher):
    marked = _marked(searcher, "保定市12345热线接通率是多少？")
    texts = [doc.text[s:e] for _, doc, spans in marked for s, e in spans]
    assert any("接通率98.78%" in t for t in texts)
    marked = _marked(searcher, "商丘市场主体总量居全省第几位？")
    first_p, first_doc, first_spans = marked[0]
    assert any("居全省第4位" in first_doc.text[s:e] for s, e in first_spans)


def test_base_offset_and_edge_cases():
    text = "优化营商环境是一项长期工作。我市推行拿地即开工,项目当天开工。群众满意度持续提升。"
    spans = best_sentences(LAND, text, 100)
    assert spans == [(114, 114 + len("我市推行拿地即开工,项目当天开工。"))]
    assert best_sentences("", text, 0) == []
    assert best_sentences(LAND, "", 0) == []
    assert best_sentences("无人机送快递", text, 0) == []  # nothing in common


def test_a_second_sentence_only_when_nearly_as_good():
    text = "推行拿地即开工改革。拿地即开工让项目提前半年投产。今年天气晴好。"
    spans = best_sentences(LAND, text, 0)
    assert len(spans) == 2 and all("拿地即开工" in text[s:e] for s, e in spans)
