"""The int8 ONNX Runtime encoder against the float32 model it was exported from."""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CORPUS
from index.collection import embedded_text
from index.config import converted_model_dir
from index.encoder import Embedder, ModelError, get_embedder
from index.encoder.lean_tokens import LeanTokens, TokenizerFilesError, sentencepiece_paths, write_sentencepiece


def test_int8_is_the_default_and_close_to_float32(searcher):
    int8, float32 = get_embedder(encoder="int8"), get_embedder(encoder="float32")
    assert int8.encoder == "int8" and float32.encoder == "float32"
    assert get_embedder().encoder == "int8"  # setup made the export, so it is the default
    assert int8.identity != float32.identity  # cached vectors of one are never taken for the other's
    index = searcher.index
    texts = [embedded_text(c, index.documents[c.doc_id].title) for c in index.chunks]
    a, b = int8.encode_passages(texts), float32.encode_passages(texts)
    assert a.shape == b.shape == (len(texts), 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cosines = (a * b).sum(axis=1)
    assert cosines.mean() >= 0.99 and cosines.min() >= 0.98, (cosines.mean(), cosines.min())
    # queries take the query prompt in both, one by one or in a batch
    q = ["哪些城市推行拿地即开工?", "身后一件事怎么办理"]
    assert (int8.encode_queries(q) * float32.encode_queries(q)).sum(axis=1).min() >= 0.98
    assert np.allclose(int8.encode_queries(q)[1], int8.encode_query(q[1])[0], atol=1e-5)


def test_an_index_is_queried_with_the_encoder_it_was_built_with(searcher):
    assert searcher.index.manifest["encoder"] == "int8" and searcher.embedder.encoder == "int8"


def test_unknown_encoder_is_refused():
    with pytest.raises(ModelError, match="unknown encoder"):
        Embedder(encoder="int4")


def test_the_lean_tokenizer_gives_sentence_transformers_own_ids_and_cuts(searcher):
    """The int8 path tokenizes from tokenizer.json with `tokenizers` alone: the same ids and the same cut at the
    token limit as the sentence-transformers model's tokenizer, so the same vectors."""
    lean = get_embedder()
    full = get_embedder(encoder="float32")
    assert lean.encoder == "int8" and lean.model is None and full.model is not None
    index = searcher.index
    chunk_texts = [embedded_text(c, index.documents[c.doc_id].title) for c in index.chunks]
    texts = chunk_texts + ["营商环境" * 600, "", "A b\tc\n中文 123%，“引号”"]
    for prompt in ("query: ", "passage: "):
        wanted = full.model.tokenizer([prompt + t for t in texts], truncation=True, max_length=512)["input_ids"]
        assert lean._tokens.ids([prompt + t for t in texts]) == wanted
    assert all(lean.fit_to_limit(t) == full.fit_to_limit(t) for t in texts)
    assert len(lean.fit_to_limit(texts[-3])) < len(texts[-3])
    # the very vectors the index was built with
    assert np.array_equal(lean.encode_passages(chunk_texts[:5]), index.dense.reconstruct_n(0, 5))


def test_the_split_export_gives_the_whole_export_s_vectors_to_the_bit(searcher, monkeypatch, tmp_path):
    """Setup splits the int8 export into its graph and a memory-mapped word-embedding table: the encoder uses
    the split, and its vectors are the whole export's, bit for bit (passages, queries, a text cut at the limit)."""
    import index.encoder.embedding as embedding

    split = get_embedder()
    assert split._words is not None and split._exported.endswith(".body.onnx")
    assert isinstance(split._words, np.memmap) and split._words.shape == (250037, 384)
    monkeypatch.setattr(embedding, "int8_split_paths", lambda folder: (tmp_path / "none.onnx", tmp_path / "none.npy"))
    whole = Embedder()
    assert whole._words is None and whole._exported.endswith("fp32.onnx") and whole.identity == split.identity
    index = searcher.index
    texts = [embedded_text(c, index.documents[c.doc_id].title) for c in index.chunks] + ["营商环境" * 600, "A b"]
    assert np.array_equal(split.encode_passages(texts), whole.encode_passages(texts))
    q = ["哪些城市推行拿地即开工?", "身后一件事怎么办理"]
    assert np.array_equal(split.encode_queries(q), whole.encode_queries(q))


# what a tokenizer can stumble on: spaces of every kind and in runs, full-width forms, expansions (㍻ -> 平成, ﬁ),
# removed characters, combining marks, the special tokens' own text, other scripts
EDGES = [" a", "a ", "  a  b  ", "\u3000你好\u3000\u3000世界\u3000", "a\tb\n\nc", "", " ", "\n\n", "ＡＢＣ１２３", "①②",
         "ﬁx", "㍻年", "<s>你好</s>", "x<mask>y", "x <mask> y", "  <s> a", "a  <pad>", "<unk>", "\u00a0x\u00a0\u00a0y",
         "e\u0301", "😀表情", "\x00a", "a\u200bb", "\u200b", "query: 哪些城市推行拿地即开工?", "第一千二百五十一条　城政发〔2023〕7号",
         "a\r\nb", "x \r\nb", "\r\n", "\r\n\r\n", "ﬁ\u0301", "Ａ\u0301", "👍🏽好", "नमस्ते", "한국어"]
_ALPHABET = st.sampled_from(list("拿地即开工城市营商环境　 \t\r\n\u00a0\u200bａＡ１1aZ，。、“”（）〔〕①㍻ﬁé\u0301😀<>/smakpdun"))
_PIECES = st.sampled_from(["<s>", "</s>", "<pad>", "<unk>", "<mask>", " <mask>", "query: ", "  "])


@lru_cache(maxsize=1)
def tokenizer_pair():
    """The lean tokenizer (sentencepiece) and `tokenizers` reading the same tokenizer.json (not a fixture:
    hypothesis would print it with every example)."""
    from tokenizers import Tokenizer

    folder = converted_model_dir()
    reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
    reference.no_truncation()
    return LeanTokens(folder), reference


def _same_tokens(text: str) -> None:
    lean, reference = tokenizer_pair()
    want = reference.encode(text, add_special_tokens=False)
    ids, offsets = lean.encode(text)
    assert (ids, offsets) == (want.ids, [tuple(o) for o in want.offsets]), (text, want.tokens)


def test_the_lean_tokenizer_is_tokenizers_to_the_id_and_offset():
    """sentencepiece running tokenizer.json's pipeline gives `tokenizers`' ids and offsets: every paragraph of
    the seed corpus, and the edge cases."""
    paragraphs = [p for f in sorted(CORPUS.iterdir()) for p in f.read_text(encoding="utf-8").split("\n")]
    assert len(paragraphs) > 100
    for text in paragraphs + EDGES:
        _same_tokens(text)


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.text(_ALPHABET, max_size=12), _PIECES), max_size=8).map("".join))
def test_fuzzed_text_tokenizes_the_same(text):
    _same_tokens(text)


def test_setup_writes_the_sentencepiece_files_from_tokenizer_json(tmp_path):
    """What setup does on a fresh machine: the two files made from tokenizer.json alone tokenize as the cached
    ones; a damaged pieces file is said plainly; a tokenizer.json of another pipeline is refused."""
    import shutil

    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(converted_model_dir() / "tokenizer.json", folder / "tokenizer.json")
    pieces, normalizer = write_sentencepiece(folder)
    assert (pieces, normalizer) == sentencepiece_paths(folder) and pieces.stat().st_mode & 0o044 == 0o044
    assert pieces.read_bytes() == sentencepiece_paths(converted_model_dir())[0].read_bytes()
    made = LeanTokens(folder)
    for text in EDGES[:10] + ["哪些城市推行拿地即开工?"]:
        assert made.encode(text) == tokenizer_pair()[0].encode(text)
    pieces.write_bytes(pieces.read_bytes()[:1000])
    with pytest.raises(ValueError, match="damaged"):
        LeanTokens(folder).encode("拿地即开工")
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    spec["pre_tokenizer"] = {"type": "Whitespace"}
    (folder / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(TokenizerFilesError):
        write_sentencepiece(folder, force=True)
