"""Retrieval and answers: ranked, cited passages of the documents' own text."""
from .answer import Answer, answer_from, ask
from .citation import cite_document, format_citation
from .fusion import FusionSettings
from .live import LiveSearcher
from .passage import Passage
from .question import ASKS, Question, analyse_question
from .search import RETRIEVERS, Filters, QuestionError, Searcher
from .short_answers import ShortAnswer, answer_short

__all__ = [
    "ASKS", "Answer", "Filters", "FusionSettings", "LiveSearcher", "Passage", "Question", "QuestionError", "RETRIEVERS",
    "Searcher", "ShortAnswer", "analyse_question", "answer_from", "answer_short", "ask", "cite_document", "format_citation",
]
