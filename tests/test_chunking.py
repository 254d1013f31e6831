"""Chunking and sentence spans, on the real seeds and on synthetic edge cases."""
from __future__ import annotations

from pathlib import Path

import pytest

from index.text import Chunk, chunk_document
from index.config import ChunkSettings
from index.document import Document
from index.ingest import load_corpus
from index.text import ends_sentence, split_sentences

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
S = ChunkSettings()


@pytest.fixture(scope="module")
def seeds() -> list[Document]:
    docs, _ = load_corpus(CORPUS)
    assert len(docs) == 5
    return docs


@pytest.fixture(scope="module")
def chunked(seeds) -> list[tuple[Document, list[Chunk]]]:
    return [(d, chunk_document(d, S.min_chars, S.max_chars, S.overlap_sentences)) for d in seeds]


def test_offsets_round_trip(chunked):
    for doc, chunks in chunked:
        assert chunks, doc.doc_id
        for seq, c in enumerate(chunks):
            assert c.seq == seq and c.doc_id == doc.doc_id
            assert doc.text[c.start : c.end] == c.text
            assert c.paragraph_first == doc.paragraph_at(c.start)
            assert c.paragraph_last == doc.paragraph_at(c.end - 1)
            assert c.text == c.text.strip()
            assert Chunk.from_dict(c.to_dict()) == c


def test_lengths_within_bounds(chunked):
    for doc, chunks in chunked:
        for c in chunks:
            assert len(c.text) <= S.max_chars, c.chunk_id
            if c is not chunks[-1]:
                assert len(c.text) >= S.min_chars // 2, c.chunk_id
        short = [c for c in chunks[:-1] if len(c.text) < S.min_chars]
        assert len(short) <= 1, [(c.chunk_id, len(c.text)) for c in short]


def test_chunks_end_at_sentence_ends(chunked):
    for doc, chunks in chunked:
        spans = split_sentences(doc.text)
        ends = {e for _, e in spans}
        starts = {s for s, _ in spans}
        long_sentences = [(s, e) for s, e in spans if e - s > S.max_chars]
        for c in chunks:
            inside_long = any(s < c.end < e or s < c.start < e for s, e in long_sentences)
            assert inside_long or c.end in ends, (c.chunk_id, c.text[-20:])
            assert inside_long or c.start in starts, (c.chunk_id, c.text[:20])


def test_every_sentence_is_in_a_chunk(chunked):
    for doc, chunks in chunked:
        for s, e in split_sentences(doc.text):
            assert any(c.start <= s and e <= c.end for c in chunks) or e - s > S.max_chars, doc.text[s:e]


def test_one_sentence_overlap_inside_a_paragraph(chunked):
    checked = 0
    for doc, chunks in chunked:
        spans = split_sentences(doc.text)
        for prev, nxt in zip(chunks, chunks[1:]):
            para_end = doc.paragraph_spans()[doc.paragraph_at(prev.end - 1) - 1][1]
            if prev.end < para_end and nxt.paragraph_first == prev.paragraph_last:
                # split inside a paragraph: the next chunk starts with the previous chunk's last sentence
                last = [(s, e) for s, e in spans if s < prev.end <= e][0]
                assert nxt.start == last[0], (prev.chunk_id, nxt.chunk_id)
                checked += 1
            else:
                assert nxt.start >= prev.end, (prev.chunk_id, nxt.chunk_id)
    assert checked >= 3  # 002 and 004 have paragraphs longer than one chunk


def test_short_paragraphs_are_merged(chunked):
    doc, chunks = next((d, c) for d, c in chunked if d.doc_id.startswith("004"))
    assert len(chunks) < len(doc.paragraphs) / 2
    assert any(c.paragraph_last > c.paragraph_first for c in chunks)


def test_headings_stay_with_the_text_they_introduce(chunked):
    for doc, chunks in chunked:
        for c in chunks[:-1]:
            last = doc.paragraphs[c.paragraph_last - 1]
            if c.paragraph_last > c.paragraph_first:
                assert not (len(last) <= 50 and not ends_sentence(last)), (c.chunk_id, last)


# ---- synthetic --------------------------------------------------------------------------------


def doc_of(text: str) -> Document:
    return Document(doc_id="t", text=text)


def test_empty_and_short_documents():
    assert chunk_document(doc_of("")) == []
    chunks = chunk_document(doc_of("只有一句话。"))
    assert [(c.start, c.end, c.text) for c in chunks] == [(0, 6, "只有一句话。")]


def test_long_paragraph_is_split_with_overlap():
    sentences = [f"这是第{i:02d}句话，内容用来凑足长度以便测试切分效果。" for i in range(40)]
    doc = doc_of("".join(sentences))
    chunks = chunk_document(doc, 200, 500, 1)
    assert len(chunks) > 2
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.text.startswith(prev.text[-len(sentences[0]):])
    for c in chunks:
        assert c.text.endswith("。") and len(c.text) <= 500
    assert chunks[-1].end == len(doc.text)
    no_overlap = chunk_document(doc, 200, 500, 0)
    assert all(b.start == a.end for a, b in zip(no_overlap, no_overlap[1:]))


def test_over_long_sentence_is_cut_at_commas_then_hard():
    clause = "一个很长的分句没有句号" * 3
    doc = doc_of("，".join([clause] * 40) + "。")
    chunks = chunk_document(doc, 200, 500, 1)
    assert all(len(c.text) <= 500 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)
    solid = doc_of("字" * 1300)
    chunks = chunk_document(solid, 200, 500, 1)
    assert [len(c.text) for c in chunks] == [500, 500, 300]
    assert "".join(c.text for c in chunks) == solid.text


def test_over_long_sentence_of_repeated_clauses_keeps_exact_offsets():
    """The clause splitter finds each piece's start by searching the text; identical clauses and spaces
    must not send it to an earlier copy."""
    doc = doc_of("前言：" + "同样的分句 ，" * 150 + "结尾、再来 " * 40 + "。")
    chunks = chunk_document(doc, 200, 500, 1)
    assert len(chunks) >= 3
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text and len(c.text) <= 500
    for a, b in zip(chunks, chunks[1:]):
        assert b.start >= a.end - len("同样的分句 ，") and a.text.rstrip().endswith(("，", "、", "：", "。"))
    assert chunks[0].start == 0 and chunks[-1].end == len(doc.text)


def test_paragraphs_are_merged_up_to_max():
    paragraphs = [f"第{i}段的内容比较短，只有一句话而已。" for i in range(30)]
    doc = doc_of("\n".join(paragraphs))
    chunks = chunk_document(doc, 200, 500, 1)
    for c in chunks:
        assert c.text.endswith("。") and len(c.text) <= 500
        assert c.text.startswith("第")  # chunks start at paragraph starts
        if c is not chunks[-1]:
            assert len(c.text) >= 200
    covered = sum(c.paragraph_last - c.paragraph_first + 1 for c in chunks)
    assert covered == 30  # no overlap across paragraph boundaries


def test_split_sentences():
    text = "他说：“好！”然后走了。问题是什么？〔牵头单位：区财政局；责任单位：区直各部门〕落实政策；加强监管\n第二行没有句号"
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == [
        "他说：“好！”",
        "然后走了。",
        "问题是什么？",
        "〔牵头单位：区财政局；责任单位：区直各部门〕落实政策；",
        "加强监管",
        "第二行没有句号",
    ]


def test_sentences_tile_each_line(seeds):
    for doc in seeds:
        spans = split_sentences(doc.text)
        for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
            assert e1 <= s2 and s1 < e1
            assert e1 == s2 or doc.text[e1:s2] == "\n"
        assert "".join(doc.text[s:e] for s, e in spans) == doc.text.replace("\n", "")
