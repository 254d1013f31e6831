"""Near-duplicates and exact duplicates are indexed once; the copy kept says 另见 with the others."""
from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from render_formats import docx_bytes, html_page, pdf_bytes, scanned_pdf_bytes, seed_documents

from index import build_index
from index.ingest import MIN_CHARS, THRESHOLD, minhash, squashed, drop_duplicates
from index.ingest import read_document
from index.ingest import load_corpus
from qa import Searcher, ask

ROOT = Path(__file__).resolve().parents[1]
NEWS = "000_63a4e04b80a11179"


@pytest.fixture(scope="module")
def seeds():
    return {d.doc_id: d for d in seed_documents()}


def _similarity(a: str, b: str) -> float:
    return minhash(squashed(a)).jaccard(minhash(squashed(b)))


def test_threshold_separates_copies_from_different_documents(seeds, tmp_path):
    """The measurement behind THRESHOLD: every rendering of a seed is above it, different seeds far below."""
    seed = seeds["003_2a0d0da5d2c1eea9"]
    (tmp_path / "a.pdf").write_bytes(pdf_bytes(seed, columns=2))
    (tmp_path / "b.docx").write_bytes(docx_bytes(seed))
    (tmp_path / "c.html").write_text(html_page(seed), encoding="utf-8")
    (tmp_path / "d.pdf").write_bytes(scanned_pdf_bytes(pdf_bytes(seed)))
    for name in ("a.pdf", "b.docx", "c.html", "d.pdf"):
        copy, _ = read_document(tmp_path / name, name)
        assert _similarity(seed.text, copy.text) >= THRESHOLD + 0.1, name
    for a, b in itertools.combinations(seeds.values(), 2):
        assert _similarity(a.text, b.text) < 0.1


def test_short_texts_that_differ_by_a_word_are_both_kept():
    from index.document import Document

    a = Document("a", "委托开发合同的当事人违反约定造成研究开发工作停滞、延误或者失败的，应当承担违约责任。")
    b = Document("b", "合作开发合同的当事人违反约定造成研究开发工作停滞、延误或者失败的，应当承担违约责任。")
    assert len(squashed(a.text)) < MIN_CHARS
    kept, copies, notices = drop_duplicates([a, b])
    assert [d.doc_id for d in kept] == ["a", "b"] and copies == {} and notices == []


def test_copies_are_indexed_once_and_cited_as_also_in(seeds, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / f"{NEWS}.txt", corpus / "a_news.txt")
    shutil.copy(ROOT / "corpus" / "001_82eddd6c6af7ca57.txt", corpus / "b_other.txt")
    shutil.copy(ROOT / "corpus" / f"{NEWS}.txt", corpus / "c_same_bytes.txt")
    # the same article on another site, with that site's line about where it came from
    repost = html_page(seeds[NEWS]).replace("太行日报", "晋城新闻网").replace(
        '<div class="content" id="zoom">', '<div class="content" id="zoom"><p>本文转自太行日报客户端，转载请注明出处。</p>')
    (corpus / "d_repost.html").write_text(repost, encoding="utf-8")

    index, report = build_index(corpus, tmp_path / "index", progress=False)
    assert set(index.documents) == {"a_news", "b_other"}
    assert any("c_same_bytes.txt: the same text as" in w and "a_news.txt" in w for w in report.warnings), report.warnings
    assert any("d_repost.html: a near-duplicate of" in w and "a_news.txt" in w for w in report.warnings), report.warnings
    also = index.duplicates["a_news"]
    assert [(c["doc_id"], c["kind"]) for c in also] == [("c_same_bytes", "exact"), ("d_repost", "near")]
    assert also[1]["source"] == "晋城新闻网" and also[1]["title"] == seeds[NEWS].title

    answer = ask(Searcher(index), "晋城的身后一件事联办服务整合了多少事项？", k=3).to_dict()
    top = [p for p in answer["passages"] if p["doc_id"] == "a_news"][0]
    assert {c["doc_id"] for c in top["also_in"]} == {"c_same_bytes", "d_repost"}
    others = [p for p in answer["passages"] if p["doc_id"] == "b_other"]
    assert all(p["also_in"] == [] for p in others)


def test_a_folder_without_copies_loses_nothing():
    docs, _ = load_corpus(ROOT / "corpus")
    kept, copies, notices = drop_duplicates(docs)
    assert kept == docs and copies == {} and notices == []


def test_a_change_finds_the_copies_a_whole_pass_would_among_live_documents_part_by_part(seeds):
    from dataclasses import replace

    from index.ingest.duplicates import Signatures, drop_duplicates_of, drop_duplicates_signed

    docs = list(seeds.values())
    a, b, c, d = docs[:4]
    near = lambda doc, new_id: replace(doc, doc_id=new_id, text=doc.text.replace("。", "，", 2))  # noqa: E731
    known = [(Signatures.of([a, b, c]), frozenset({b.doc_id})), (Signatures.of([d]), frozenset())]  # b is gone
    new = [replace(a, doc_id="a_again"), near(b, "b_near"), replace(b, doc_id="b_again"), near(d, "d_near"),
           near(c, "c_near")]
    kept, copies, notices, signatures = drop_duplicates_of(known, new)
    # the reference: one pass over the live documents, then the new ones
    whole_kept, whole_copies, _, _ = drop_duplicates_signed([a, c, d] + new)
    assert [x.doc_id for x in kept] == [x.doc_id for x in whole_kept[3:]] == ["b_near"]
    assert copies == whole_copies
    assert {k: [x["doc_id"] for x in v] for k, v in copies.items()} == {
        a.doc_id: ["a_again"], "b_near": ["b_again"], d.doc_id: ["d_near"], c.doc_id: ["c_near"]}
    assert signatures.doc_ids == ["b_near"] and len(notices) == 4
