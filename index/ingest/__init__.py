"""Reading files into `Document`s: the folder walk and text encodings (`loading`), the formats read (`formats/`:
PDF with OCR, Word, web pages, OFD, spreadsheets, images, office files through LibreOffice), archives, cleaning (web chrome, PDF wraps, page numbers), stated metadata, and the
near-duplicates left out of an index."""
from index.ingest.cleaning import clean_body, clean_light, is_chrome_line, remove_wrap_spaces
from index.ingest.duplicates import MIN_CHARS, THRESHOLD, drop_duplicates, minhash, squashed
from index.ingest.decoding import DecodeError, decode_bytes
from index.ingest.formats import DEFAULT_MAX_FILE_MB, DEFAULT_OCR_PAGES, FileRejected, ReadOptions, read_document
from index.ingest.loading import DOCUMENT_SUFFIXES, FORMATS_READ, is_readable, load_corpus, read_one
from index.ingest.metadata import clean_text, parse_date

__all__ = [
    "DEFAULT_MAX_FILE_MB", "DEFAULT_OCR_PAGES", "DOCUMENT_SUFFIXES", "DecodeError", "FORMATS_READ", "FileRejected",
    "MIN_CHARS", "ReadOptions", "THRESHOLD", "clean_body", "clean_light", "clean_text", "decode_bytes",
    "drop_duplicates", "is_chrome_line", "is_readable", "load_corpus", "minhash", "parse_date", "read_document", "read_one",
    "remove_wrap_spaces", "squashed",
]
