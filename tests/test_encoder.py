"""The int8 ONNX Runtime encoder against the float32 model it was exported from."""
from __future__ import annotations

import numpy as np
import pytest

from index.collection import embedded_text
from index.encoder import Embedder, ModelError, get_embedder


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
