"""Where the chunks live and how they are searched: one interface (`Store`), a local folder (`LocalStore` over
`disk`: checksummed versions of immutable `segment`s, switched atomically, their vector indexes searched as one
by `vector_parts`) and Milvus (`MilvusStore`); the vector indexes (`ann`: flat, HNSW, HNSW over 8-bit codes), BM25
(`bm25`: term columns scored with the collection's statistics, from each chunk's kept tokens, `chunk_tokens`),
each chunk's nearest chunks (`neighbours`) and the features an index records (`features`)."""
from pathlib import Path

from index.store.ann import CODED_FROM, hnsw_index, is_ann, is_coded, kind, nearest, train_codes, vector_index, vectors
from index.store.base import STATS_SAMPLE, BM25Query, DenseQuery, Filters, Store
from index.store.bm25 import NO_TOKENS, CollectionBM25, Postings, PostingsPart
from index.store.chunk_tokens import ChunkTokens
from index.store.disk import EMBEDDINGS, FORMAT_VERSION, Index, file_sha256, live_version, segment_folders
from index.store.features import index_features
from index.store.local import LocalStore
from index.store.milvus_address import MilvusAddress, MilvusProblem
from index.store.neighbours import NEIGHBOURS, nearest_chunks, nearest_chunks_with_sims
from index.store.segment import NeighbourUpdates, Segment
from index.store.vector_parts import VectorParts


def open_store(where: Path | MilvusAddress) -> Store:
    """The store at `where`: a local index folder, or a Milvus index."""
    if isinstance(where, MilvusAddress):
        from index.store.milvus import MilvusStore  # see __getattr__

        return MilvusStore(where)
    return LocalStore.open(Path(where))


def __getattr__(name: str):
    # the Milvus store is imported when it is first named: pymilvus (with pandas) takes half a second to import,
    # and a local index never needs it
    if name == "MilvusStore":
        from index.store.milvus import MilvusStore

        return MilvusStore
    raise AttributeError(f"module 'index.store' has no attribute {name!r}")


__all__ = [
    "BM25Query", "CODED_FROM", "ChunkTokens", "CollectionBM25", "DenseQuery", "EMBEDDINGS", "FORMAT_VERSION", "Filters", "Index",
    "LocalStore", "MilvusAddress", "NeighbourUpdates", "Segment", "VectorParts", "MilvusProblem", "MilvusStore", "NEIGHBOURS", "NO_TOKENS", "Postings", "PostingsPart", "STATS_SAMPLE", "Store",
    "file_sha256", "hnsw_index", "index_features", "is_ann", "is_coded", "kind", "live_version", "segment_folders",
    "nearest", "nearest_chunks", "nearest_chunks_with_sims", "open_store", "train_codes", "vector_index", "vectors",
]
