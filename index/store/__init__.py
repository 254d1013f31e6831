"""Where the chunks live: one interface (`Store`), a local folder (`LocalStore`) and Milvus (`MilvusStore`)."""
from pathlib import Path

from .base import STATS_SAMPLE, BM25Query, DenseQuery, Filters, Store
from .local import LocalStore
from .milvus import MilvusAddress, MilvusProblem, MilvusStore


def open_store(where: Path | MilvusAddress) -> Store:
    """The store at `where`: a local index folder, or a Milvus index."""
    return MilvusStore(where) if isinstance(where, MilvusAddress) else LocalStore.open(Path(where))


__all__ = ["BM25Query", "DenseQuery", "Filters", "LocalStore", "MilvusAddress", "MilvusProblem", "MilvusStore",
           "STATS_SAMPLE", "Store", "open_store"]
