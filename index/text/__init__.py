"""Text shared by every stage: the one tokenizer (BM25 tokens, stop words, question phrases), the sentence splitter
with exact offsets, and the chunker (paragraphs first, then sentence ends)."""
from index.text.chunking import Chunk, chunk_document
from index.text.sentences import ends_sentence, split_sentences, strip_span
from index.text.tokenization import PHRASE_MIN, STOPWORDS, TOKENIZER, Tokenizer, phrases, query_tokens, tokenize

__all__ = ["Chunk", "PHRASE_MIN", "STOPWORDS", "TOKENIZER", "Tokenizer", "chunk_document", "ends_sentence", "phrases",
           "query_tokens", "split_sentences", "strip_span", "tokenize"]
