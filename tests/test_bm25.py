"""Our BM25 score matrix against bm25s's own index() over the same tokens: the same matrix, the same scores."""
from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np

from index.store import bm25 as bm25_module
from index.store import NO_TOKENS, bm25_index
from index.store import ChunkTokens
from index.text import split_sentences
from index.text import query_tokens, tokenize

ROOT = Path(__file__).resolve().parents[1]


def reference(tokens: ChunkTokens) -> bm25s.BM25:
    """bm25s indexing the same token ids itself."""
    vocab = {t: i for i, t in enumerate(tokens.vocab)}
    placeholder = vocab.setdefault(NO_TOKENS, len(vocab))
    ids = [chunk_ids or [placeholder] for chunk_ids in tokens.lists()]
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    return retriever


def seed_tokens() -> ChunkTokens:
    """Every sentence of the seed corpus as a chunk, a few chunks without tokens, and vocabulary no chunk uses
    (as an update leaves it)."""
    texts = []
    for path in sorted((ROOT / "corpus").iterdir()):
        text = path.read_text(encoding="utf-8")
        texts += [text[s:e] for s, e in split_sentences(text)]
    lists = [tokenize(t) for t in texts]
    lists[3:3] = [[], []]
    lists.append([])
    full = ChunkTokens.from_lists(lists + [["只在删去的块里"]])
    return full.keep_and_extend(range(len(lists)), [])


def assert_same_index(ours: bm25s.BM25, theirs: bm25s.BM25) -> None:
    assert ours.vocab_dict == theirs.vocab_dict
    assert ours.scores["num_docs"] == theirs.scores["num_docs"]
    assert np.array_equal(ours.scores["indptr"], theirs.scores["indptr"])
    assert np.array_equal(ours.scores["indices"], theirs.scores["indices"])
    assert ours.scores["data"].dtype == theirs.scores["data"].dtype == np.float32
    assert np.array_equal(ours.scores["data"], theirs.scores["data"])


def test_the_same_matrix_as_bm25s():
    tokens = seed_tokens()
    assert len(tokens) > 500
    assert_same_index(bm25_index(tokens), reference(tokens))


def test_the_same_matrix_when_counted_in_many_blocks(monkeypatch):
    tokens = seed_tokens()
    monkeypatch.setattr(bm25_module, "BLOCK_TOKENS", 1000)  # ~30 blocks, some ending mid-chunk's worth
    assert_same_index(bm25_index(tokens), reference(tokens))


def test_the_same_scores_and_results_for_the_seed_questions(tmp_path):
    tokens = seed_tokens()
    ours, theirs = bm25_index(tokens), reference(tokens)
    questions = [json.loads(line)["question"] for line in (ROOT / "eval/questions/seed.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    ours.save(str(tmp_path / "bm25"), show_progress=False)
    loaded = bm25s.BM25.load(str(tmp_path / "bm25"), show_progress=False, verbosity=0)
    for question in questions:
        q = query_tokens(question)
        want = theirs.get_scores(q)
        assert want.max() > 0
        assert np.array_equal(ours.get_scores(q), want)
        assert np.array_equal(loaded.get_scores(q), want)


def test_selected_chunks_keep_their_tokens_in_the_order_asked():
    tokens = ChunkTokens.from_lists([["a", "b"], [], ["c"], ["a", "d", "e"]])
    picked = tokens.select([3, 0, 3, 1, 2])
    assert [[picked.vocab[i] for i in row] for row in picked.lists()] == [["a", "d", "e"], ["a", "b"], ["a", "d", "e"], [], ["c"]]
