"""Flat below the size switch, HNSW above it: recall against exact search, filters, a whole index on HNSW."""
from __future__ import annotations

import json

import numpy as np

from index import build_index, load_index
from index.ann import is_ann, matrix, nearest, vector_index
from index.store import live_version
from qa import Filters, Searcher


def _clustered(n: int, d: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 50 centres: nearest-neighbour structure like text embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, d))
    x = centres[rng.integers(0, 50, n)] + 0.6 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_size_switch_and_recall_against_exact_search():
    vectors = _clustered(6000)
    flat = vector_index(vectors, 64, ann_from=10_000)
    hnsw = vector_index(vectors, 64, ann_from=5_000)
    assert not is_ann(flat) and is_ann(hnsw)
    assert np.array_equal(matrix(hnsw), vectors) and np.array_equal(matrix(flat), vectors)
    queries = _clustered(200, seed=1)
    recall = []
    for q in queries:
        exact = set(nearest(flat, q, 10).tolist())
        assert len(exact) == 10
        recall.append(len(exact & set(nearest(hnsw, q, 10).tolist())) / 10)
    assert np.mean(recall) >= 0.95, np.mean(recall)


def test_filtered_search_returns_only_admitted_vectors_and_the_best_of_them():
    vectors = _clustered(6000)
    hnsw = vector_index(vectors, 64, ann_from=5_000)
    q = _clustered(1, seed=2)[0]
    for share in (0.5, 0.002):  # a broad filter walks the graph; a narrow one is scored exactly
        allowed = np.random.default_rng(3).random(6000) < share
        got = nearest(hnsw, q, 10, allowed)
        assert len(got) == min(10, allowed.sum()) and allowed[got].all()
        admitted = np.flatnonzero(allowed)
        best = admitted[np.argsort(-(vectors[admitted] @ q))[:10]]
        assert len(set(got.tolist()) & set(best.tolist())) >= 0.9 * len(got)


def test_an_index_on_hnsw_saves_loads_and_answers(tmp_path, corpus_dir, searcher):
    index, _ = build_index(corpus_dir, tmp_path / "idx", progress=False, ann_from=1)
    manifest = json.loads((live_version(tmp_path / "idx") / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_indexes"] == {"chunks": "hnsw", "sentences": "hnsw"}
    loaded = load_index(tmp_path / "idx")
    assert is_ann(loaded.dense) and is_ann(loaded.sentences)
    on_hnsw = Searcher(loaded)
    for question in ("哪些城市推行拿地即开工?", "保定市12345热线接通率是多少？", "商丘市场主体总量居全省第几位？"):
        got = [(p.doc_id, p.start) for p in on_hnsw.search(question, k=5)]
        want = [(p.doc_id, p.start) for p in searcher.search(question, k=5)]
        assert got == want, question  # 72 chunks: the graph finds every candidate the flat index does
    filtered = on_hnsw.search("营商环境", k=5, filters=Filters(sources=("太行日报",)))
    assert filtered and all(p.source == "太行日报" for p in filtered)
