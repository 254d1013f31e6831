"""Build an index from a corpus: load, clean, chunk, embed, store."""
from __future__ import annotations

import hashlib
import logging
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import bm25s
import faiss
import numpy as np
from tqdm import tqdm

from . import store
from .chunking import Chunk, chunk_document
from .config import DEFAULT_MODEL, ChunkSettings
from .embedding import get_embedder
from .features import index_features
from .loading import load_corpus
from .neighbours import NEIGHBOURS, nearest_chunks
from .sentences import split_sentences
from .store import Index
from .tokenization import tokenize

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.ERROR)  # it warns on every build about token input


class CorpusError(RuntimeError):
    """The corpus cannot be indexed (missing, empty, nothing readable)."""


@dataclass
class BuildReport:
    documents: int
    chunks: int
    seconds: float
    warnings: list[str]

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


def corpus_fingerprint(corpus: Path) -> dict[str, str]:
    """sha256 of every corpus file, keyed by its path relative to the corpus."""
    corpus = Path(corpus)
    files = [corpus] if corpus.is_file() else sorted(p for p in corpus.rglob("*") if p.is_file())
    base = corpus.parent if corpus.is_file() else corpus
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _versions() -> dict[str, str]:
    names = ["sentence-transformers", "faiss-cpu", "bm25s", "jieba", "torch", "transformers"]
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def embedded_text(chunk: Chunk, title: str) -> str:
    """What the model reads for a chunk: its document's title, then the chunk.

    The title says what the whole document is about (which law an article belongs to, which city a
    report covers), which a chunk cut from the middle often does not. Only the vector sees it: the
    chunk's text and offsets are unchanged."""
    return f"{title}\n{chunk.text}" if title else chunk.text


def chunk_sentences(chunks: list[Chunk]) -> tuple[list[str], np.ndarray]:
    """The non-empty, stripped sentences of each chunk and the index of the chunk each came from."""
    texts: list[str] = []
    owners: list[int] = []
    for i, c in enumerate(chunks):
        for start, end in split_sentences(c.text):
            text = c.text[start:end].strip()
            if text:
                texts.append(text)
                owners.append(i)
    return texts, np.array(owners, dtype=np.int32)


def _bm25(token_lists: list[list[str]]) -> bm25s.BM25:
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(token_lists, show_progress=False)
    return retriever


def build_index(
    corpus: Path,
    index_dir: Path,
    model: str = DEFAULT_MODEL,
    chunk: ChunkSettings = ChunkSettings(),
    progress: bool = True,
) -> tuple[Index, BuildReport]:
    """Index `corpus` (a folder of .txt/.md or a .jsonl file) into `index_dir`."""
    started = time.perf_counter()
    corpus = Path(corpus)
    if not corpus.exists():
        raise CorpusError(f"corpus not found: {corpus}")
    documents, warnings = load_corpus(corpus)
    for warning in warnings:
        log.warning(warning)
    documents = [d for d in documents if d.text.strip()]
    if not documents:
        raise CorpusError(f"no readable documents in {corpus}")
    seen: set[str] = set()
    for doc in documents:
        if doc.doc_id in seen:
            raise CorpusError(f"two documents share the id {doc.doc_id!r} in {corpus}; doc ids are file stems and must be unique")
        seen.add(doc.doc_id)

    chunks: list[Chunk] = []
    for doc in tqdm(documents, desc="chunking", unit="doc", disable=not progress, file=sys.stderr):
        chunks.extend(chunk_document(doc, chunk.min_chars, chunk.max_chars, chunk.overlap_sentences))
    if not chunks:
        raise CorpusError(f"the documents in {corpus} produced no text to index")

    by_id = {d.doc_id: d for d in documents}
    embedder = get_embedder(model)
    texts = [embedded_text(c, by_id[c.doc_id].title) for c in chunks]
    batch = 32
    parts = []
    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress, file=sys.stderr) as bar:
        for i in range(0, len(texts), batch):
            parts.append(embedder.encode_passages(texts[i : i + batch], batch_size=batch))
            bar.update(len(texts[i : i + batch]))
    vectors = np.vstack(parts)
    dense = faiss.IndexFlatIP(embedder.dimension)  # inner product over normalised vectors = cosine
    dense.add(vectors)
    neighbours = nearest_chunks(vectors, NEIGHBOURS, progress=progress)

    # every sentence of every chunk, embedded on its own: search scores a chunk by its best sentence too
    sentence_texts, owners = chunk_sentences(chunks)
    parts = []
    with tqdm(total=len(sentence_texts), desc="embedding sentences", unit="sentence", disable=not progress, file=sys.stderr) as bar:
        for i in range(0, len(sentence_texts), batch):
            parts.append(embedder.encode_passages(sentence_texts[i : i + batch], batch_size=batch))
            bar.update(len(sentence_texts[i : i + batch]))
    sentences = faiss.IndexFlatIP(embedder.dimension)
    if parts:
        sentences.add(np.vstack(parts))

    bm25 = _bm25([tokenize(c.text) for c in tqdm(chunks, desc="BM25", unit="chunk", disable=not progress, file=sys.stderr)])
    # the title as its own field, scored per chunk through its document
    title_bm25 = _bm25([tokenize(by_id[c.doc_id].title) for c in chunks])

    manifest = {
        "format": store.FORMAT_VERSION,
        "model": model,
        "dimension": embedder.dimension,
        "chunk": chunk.to_dict(),
        "features": index_features(),
        "corpus": str(corpus.resolve()),
        "corpus_files": corpus_fingerprint(corpus),
        "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "n_documents": len(documents),
        "n_chunks": len(chunks),
    }
    index = Index(manifest, by_id, chunks, dense, bm25, title_bm25, sentences=sentences, sentence_owner=owners,
                  neighbours=neighbours)
    store.save(index, Path(index_dir))
    report = BuildReport(len(documents), len(chunks), time.perf_counter() - started, warnings)
    return index, report
