"""Flat below the size switch, HNSW above it, 8-bit codes above the next: recall against exact search, filters,
a whole index on HNSW and on codes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from index import build_index, load_index
from index.store import CODED_FROM, is_ann, is_coded, kind, nearest, vector_index, vectors
from index.store import live_version
from qa import Filters, Searcher


def _clustered(n: int, d: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 50 centres: nearest-neighbour structure like text embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, d))
    x = centres[rng.integers(0, 50, n)] + 0.6 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_size_switch_and_recall_against_exact_search():
    x = _clustered(6000)
    flat = vector_index(x, 64, ann_from=10_000)
    hnsw = vector_index(x, 64, ann_from=5_000)
    coded = vector_index(x, 64, ann_from=5_000, coded_from=6_000)
    assert [kind(flat), kind(hnsw), kind(coded)] == ["flat", "hnsw", "hnsw-sq8"]
    assert not is_ann(flat) and is_ann(hnsw) and is_ann(coded) and is_coded(coded) and not is_coded(hnsw)
    queries = _clustered(200, seed=1)
    for index in (hnsw, coded):
        recall = []
        for q in queries:
            exact = set(nearest(flat, q, 10).tolist())
            assert len(exact) == 10
            recall.append(len(exact & set(nearest(index, q, 10).tolist())) / 10)
        assert np.mean(recall) >= 0.95, (kind(index), np.mean(recall))


def test_stored_vectors_are_the_vectors_or_their_codes_decoded():
    x = _clustered(6000)
    flat, hnsw = vector_index(x, 64, ann_from=10_000), vector_index(x, 64, ann_from=5_000)
    assert np.array_equal(vectors(hnsw), x) and np.array_equal(vectors(flat), x)
    coded_index = vector_index(x, 64, ann_from=5_000, coded_from=6_000)
    coded = vectors(coded_index)
    rows = np.array([5, 0, 5999, 17])
    decoded = coded[rows]
    assert decoded.shape == (4, 64) and decoded.dtype == np.float32 and coded.shape == x.shape
    # one byte per dimension over each dimension's range: a cosine error of about 1e-3 at most
    assert np.abs(decoded - x[rows]).max() < 0.02
    assert np.abs(decoded @ x[0] - x[rows] @ x[0]).max() < 5e-3
    assert np.array_equal(coded[5], decoded[0])


def test_filtered_search_returns_only_admitted_vectors_and_the_best_of_them():
    x = _clustered(6000)
    q = _clustered(1, seed=2)[0]
    for index in (vector_index(x, 64, ann_from=5_000), vector_index(x, 64, ann_from=5_000, coded_from=5_000)):
        for share in (0.5, 0.002):  # a broad filter walks the graph; a narrow one is scored exactly
            allowed = np.random.default_rng(3).random(6000) < share
            got = nearest(index, q, 10, allowed)
            assert len(got) == min(10, allowed.sum()) and allowed[got].all()
            admitted = np.flatnonzero(allowed)
            best = admitted[np.argsort(-(x[admitted] @ q))[:10]]
            assert len(set(got.tolist()) & set(best.tolist())) >= 0.9 * len(got), (kind(index), share)


@pytest.mark.parametrize("coded_from, stored", [(CODED_FROM, "hnsw"), (1, "hnsw-sq8")])
def test_an_index_on_hnsw_saves_loads_and_answers(tmp_path, corpus_dir, searcher, coded_from, stored):
    build_index(corpus_dir, tmp_path / "idx", progress=False, ann_from=1, coded_from=coded_from)
    manifest = json.loads((live_version(tmp_path / "idx") / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_indexes"] == {"chunks": stored, "sentences": stored}
    loaded = load_index(tmp_path / "idx")
    (segment,) = loaded.segments
    assert is_ann(segment.dense) and is_ann(segment.sentences)
    assert [kind(segment.dense), kind(segment.sentences)] == [stored, stored]
    on_hnsw = Searcher(loaded)
    for question in ("哪些城市推行拿地即开工?", "保定市12345热线接通率是多少？", "商丘市场主体总量居全省第几位？"):
        got = [(p.doc_id, p.start) for p in on_hnsw.search(question, k=5)]
        want = [(p.doc_id, p.start) for p in searcher.search(question, k=5)]
        if stored == "hnsw":
            assert got == want, question  # 72 chunks: the graph finds every candidate the flat index does
        else:  # codes move cosines by ~1e-3: the best passage stays, the rest of the top 5 nearly so
            assert got[0] == want[0] and len(set(got) & set(want)) >= 4, question
    filtered = on_hnsw.search("营商环境", k=5, filters=Filters(sources=("太行日报",)))
    assert filtered and all(p.source == "太行日报" for p in filtered)


def test_an_index_on_coded_vectors_takes_changes(tmp_path, corpus_dir):
    """Removing and adding a document: every segment holding vectors keeps them in graphs on codes, and the
    answers follow."""
    from index.collection import update_index

    index_dir = tmp_path / "idx"
    index, _ = build_index(corpus_dir, index_dir, progress=False, ann_from=1, coded_from=1)
    question = "哪些城市推行拿地即开工?"
    doc_id = Searcher(load_index(index_dir)).search(question, k=5)[0].doc_id
    document = index.documents[doc_id]
    removed, _ = update_index(index_dir, remove={doc_id}, progress=False, ann_from=1, coded_from=1)
    assert all(is_coded(s.dense) and is_coded(s.sentences) for s in removed.segments if len(s))
    assert doc_id not in {p.doc_id for p in Searcher(load_index(index_dir)).search(question, k=10)}
    added, _ = update_index(index_dir, add=[document], progress=False, ann_from=1, coded_from=1)
    assert all(is_coded(s.dense) and is_coded(s.sentences) for s in added.segments if len(s))
    assert len(added.chunks) == len(index.chunks)
    assert doc_id in {p.doc_id for p in Searcher(load_index(index_dir)).search(question, k=5)}
