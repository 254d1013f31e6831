"""Retrieval and answers: ranked, cited passages of the documents' own text."""
from .answer import Answer, ask
from .citation import cite_document, format_citation
from .fusion import FusionSettings
from .live import LiveSearcher
from .passage import Passage
from .search import RETRIEVERS, Filters, QuestionError, Searcher

__all__ = [
    "Answer", "Filters", "FusionSettings", "LiveSearcher", "Passage", "QuestionError", "RETRIEVERS", "Searcher", "ask",
    "cite_document", "format_citation",
]
