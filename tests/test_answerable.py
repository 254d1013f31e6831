"""Whether the documents answer, and the paragraph that does: qa.answerable and the leading paragraph of qa.ask,
on the real model and the seed index."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import QuestionSet
from eval.shown import evaluate_shown, load_unanswerable
from qa import NOT_ANSWERED, ask, cite_document

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = "哪些城市推行拿地即开工?"


def test_the_headline_question_shows_every_city_it_names(searcher):
    answer = ask(searcher, HEADLINE, k=5)
    assert {"晋城市", "济源市", "保定市"} <= set(answer.places.names)
    docs = [p.doc_id[:3] for p in answer.passages]
    assert {"000", "001", "003"} <= set(docs), docs
    assert [p.rank for p in answer.passages] == [1, 2, 3, 4, 5]
    assert answer.answerable


@pytest.mark.parametrize("question", [
    "紫色的大象为什么会唱京剧？",  # nonsense
    "红烧肉怎么做才好吃？",  # off the corpus's topic
    "晋城市的常住人口有多少万人？",  # on topic, a fact the corpus never gives
    "广州市推行拿地即开工了吗？",  # a place the corpus never speaks of
])
def test_questions_the_documents_do_not_answer_are_flagged(searcher, question):
    answer = ask(searcher, question, k=5)
    d = answer.to_dict()
    assert d["answerable"] is False and 0 <= d["confidence"] < 0.5
    assert d["unanswerable_reason"]
    assert answer.answer is None or question.startswith("广州")
    assert answer.passages  # the closest passages are still shown, flagged


def test_seed_questions_are_not_flagged_and_unanswerable_sets_are(searcher):
    qset = QuestionSet.load(ROOT / "eval" / "questions" / "seed.jsonl")
    unanswerable = load_unanswerable(ROOT / "eval" / "questions" / "unanswerable.jsonl")
    shown = evaluate_shown(searcher, qset, unanswerable)
    assert shown["answerable"]["flagged"] <= 1, shown["answerable"]["flagged_questions"]
    by_kind = shown["unanswerable"]["by_kind"]
    assert by_kind["nonsense"]["flagged"] == by_kind["nonsense"]["n"]
    assert by_kind["off_topic"]["flagged"] == by_kind["off_topic"]["n"]
    assert by_kind["absent"]["flagged"] >= 0.7 * by_kind["absent"]["n"]
    lead = shown["lead"]
    assert lead["lead_holds_span"] >= 0.95 * lead["cards_holding_gold"] > 0


def test_a_card_leads_with_the_paragraph_that_holds_the_fact(searcher):
    answer = ask(searcher, "身后一件事整合了多少事项", k=5)
    first = answer.passages[0]
    doc = searcher.store.documents[first.doc_id]
    assert first.lead is not None and first.lead.paragraph == 4
    lead_text = doc.text[first.lead.start:first.lead.end]
    assert "38个相关事项整合为“一件事”" in lead_text
    assert first.start <= first.lead.start < first.lead.end <= first.end
    assert first.lead.citation == cite_document(doc, first.lead.start, first.lead.end)
    assert first.lead.citation.endswith("第4段") and first.citation.endswith("第1-4段")
    d = answer.to_dict()
    assert d["passages"][0]["lead"]["citation"] == first.lead.citation and d["answerable"] is True


def test_cli_says_when_nothing_answers(seed_index_dir, corpus_dir):
    import subprocess
    import sys

    zhqa = [str(Path(sys.executable).with_name("zhqa"))]
    where = ["--index", str(seed_index_dir), "--corpus", str(corpus_dir)]
    out = subprocess.run(zhqa + ["ask", "--no-sync", "-k", "2", "紫色的大象为什么会唱京剧？"] + where,
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert NOT_ANSWERED in out.stdout
    out = subprocess.run(zhqa + ["ask", "--no-sync", "--json", "-k", "2", "身后一件事整合了多少事项"] + where,
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    d = json.loads(out.stdout.splitlines()[-1])
    assert d["answerable"] is True and NOT_ANSWERED not in out.stdout
