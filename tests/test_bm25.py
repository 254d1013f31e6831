"""Our BM25 against bm25s's own index() and get_scores() over the same tokens: term columns scored with the
collection's statistics give the same float32 scores, to the bit, over one group of chunks or several with some
deleted."""
from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np

from index.store import bm25 as bm25_module
from index.store import NO_TOKENS, CollectionBM25, Postings, PostingsPart
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


def test_the_same_scores_when_counted_in_many_blocks(monkeypatch):
    tokens = seed_tokens()
    theirs = reference(tokens)
    monkeypatch.setattr(bm25_module, "BLOCK_TOKENS", 1000)  # ~30 blocks, some ending mid-chunk's worth
    ours = CollectionBM25([PostingsPart(Postings.from_tokens(tokens))], len(tokens))
    for q in seed_questions():
        assert np.array_equal(ours.scores(q), theirs.get_scores(q)), q


def test_selected_chunks_keep_their_tokens_in_the_order_asked():
    tokens = ChunkTokens.from_lists([["a", "b"], [], ["c"], ["a", "d", "e"]])
    picked = tokens.select([3, 0, 3, 1, 2])
    assert [[picked.vocab[i] for i in row] for row in picked.lists()] == [["a", "d", "e"], ["a", "b"], ["a", "d", "e"], [], ["c"]]


def seed_questions() -> list[list[str]]:
    lines = (ROOT / "eval/questions/seed.jsonl").read_text(encoding="utf-8").splitlines()
    return [query_tokens(json.loads(line)["question"]) for line in lines if line.strip()]


def test_term_columns_score_as_bm25s(tmp_path):
    tokens = seed_tokens()
    theirs = reference(tokens)
    Postings.from_tokens(tokens).save(tmp_path)
    ours = CollectionBM25([PostingsPart(Postings.load(tmp_path))], len(tokens))
    for q in seed_questions() + [["只在删去的块里"], ["不在词表里的词"], []]:
        want = theirs.get_scores(q) if theirs.get_tokens_ids(q) else np.zeros(len(tokens), dtype=np.float32)
        got = ours.scores(q)
        assert got.dtype == np.float32 and np.array_equal(got, want), q


def test_groups_with_deleted_chunks_score_as_one_index_of_the_chunks_alive():
    """Three groups, each with its own vocabulary, chunks deleted from two: scores by collection id equal
    bm25s's over the live chunks alone, so deletions leave no trace in idf or the average length."""
    tokens = seed_tokens()
    lists = [[tokens.vocab[i] for i in row] for row in tokens.lists()]
    cuts = [0, 200, 260, len(lists)]
    groups = [lists[a:b] for a, b in zip(cuts, cuts[1:])]
    deleted = [set(range(0, 200, 7)), set(), {0, 5, 6, len(groups[2]) - 1}]
    parts, alive_lists, next_id = [], [], 0
    for group, gone in zip(groups, deleted):
        ids = np.full(len(group), -1, dtype=np.int64)
        for row, chunk in enumerate(group):
            if row not in gone:
                ids[row] = next_id
                next_id += 1
                alive_lists.append(chunk)
        postings = Postings.from_tokens(group)
        parts.append(PostingsPart(postings, ids=ids) if gone else PostingsPart(postings, offset=next_id - len(group)))
    ours = CollectionBM25(parts, next_id)
    theirs = reference(ChunkTokens.from_lists(alive_lists))
    for q in seed_questions():
        assert np.array_equal(ours.scores(q), theirs.get_scores(q)), q
