"""Where the chunks live: one interface (`Store`), a local folder (`LocalStore`) and Milvus (`MilvusStore`)."""
from .base import STATS_SAMPLE, BM25Query, DenseQuery, Filters, Store
from .local import LocalStore

__all__ = ["BM25Query", "DenseQuery", "Filters", "LocalStore", "STATS_SAMPLE", "Store"]
