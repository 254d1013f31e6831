"""Retrieval and answers: ranked, cited passages of the documents' own text."""
from .answer import Answer, answer_from, ask
from .answerable import NOT_ANSWERED, Answerability
from .citation import cite_document, format_citation
from .fusion import FusionSettings
from .live import LiveSearcher
from .passage import Lead, Passage
from .question import ASKS, Question, analyse_question
from .search import RETRIEVERS, Filters, QuestionError, Searcher
from .short_answers import ShortAnswer, answer_short

__all__ = [
    "ASKS", "Answer", "Answerability", "Filters", "FusionSettings", "Lead", "LiveSearcher", "NOT_ANSWERED", "Passage",
    "Question", "QuestionError", "RETRIEVERS", "Searcher", "ShortAnswer", "analyse_question", "answer_from",
    "answer_short", "ask", "cite_document", "format_citation",
]
