"""Build an index from a corpus: load, clean, chunk, embed, store."""
from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.store import corpus_map, disk as store
from index.store.ann import ANN_FROM, CODED_FROM, kind, vector_index
from index.store.bm25 import Postings
from index.store.chunk_tokens import ChunkTokens
from index.text.chunking import Chunk, chunk_document
from index.config import DEFAULT_MODEL, ChunkSettings
from index.ingest.duplicates import drop_duplicates_signed
from index.encoder.embedding import Embedder, get_embedder
from index.encoder.embedding_cache import EmbeddingCache, encode_cached
from index.store.features import index_features
from index.ingest.formats import ReadOptions
from index.ingest.loading import load_corpus
from index.store.neighbours import NEIGHBOURS, nearest_chunks_with_sims
from index.text.sentences import split_sentences
from index.store.disk import EMBEDDINGS, Index, file_sha256
from index.store.milvus_address import MilvusAddress
from index.text.tokenization import tokenize


class CorpusError(RuntimeError):
    """The corpus cannot be indexed (missing, empty, nothing readable)."""


@dataclass
class BuildReport:
    documents: int
    chunks: int
    seconds: float
    warnings: list[str]
    reused_vectors: int = 0  # vectors taken from the embedding cache (an earlier, unfinished build)
    vectors: int = 0  # vectors the index holds (chunks and sentences)
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage, in build order

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    def stage_summary(self) -> str:
        """"reading 1.2 s, chunking 0.3 s, ...": where the build's time went."""
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.stages.items())


class _Stopwatch:
    """Laps of one build, named by the stage that just ended."""

    def __init__(self):
        self.stages: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + now - self._last
        self._last = now


def _hidden(relative: Path) -> bool:
    """Hidden files and folders (.git, .removed, editor backups) are not part of the corpus."""
    return any(part.startswith(".") for part in relative.parts)


def _corpus_files(corpus: Path) -> tuple[Path, list[Path]]:
    corpus = Path(corpus)
    if corpus.is_file():
        return corpus.parent, [corpus]
    return corpus, sorted(p for p in corpus.rglob("*") if p.is_file() and not _hidden(p.relative_to(corpus)))


def corpus_fingerprint(corpus: Path) -> dict[str, str]:
    """sha256 of every corpus file, keyed by its path relative to the corpus."""
    base, files = _corpus_files(corpus)
    return {str(p.relative_to(base)): file_sha256(p) for p in files}


def corpus_stat(corpus: Path) -> dict[str, list[int]]:
    """[size, modification time in ns] of every corpus file, keyed like `corpus_fingerprint`."""
    corpus = Path(corpus)
    if corpus.is_file():
        st = corpus.stat()
        return {corpus.name: [st.st_size, st.st_mtime_ns]}
    out = {}
    pending = [str(corpus)]
    cut = len(str(corpus)) + 1  # entry.path is the folder's path, "/", the name: the rest is relative
    while pending:  # os.scandir hands over each entry's stat without a second system call per file
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):  # a linked folder could loop back on itself
                    pending.append(entry.path)
                elif entry.is_file():
                    st = entry.stat()
                    out[entry.path[cut:]] = [st.st_size, st.st_mtime_ns]
    return dict(sorted(out.items()))


@dataclass
class CorpusChanges:
    """Files (paths relative to the corpus) added, changed and deleted since the index was built or synced,
    and the corpus's hashes and stats now."""

    added: list[str]
    changed: list[str]
    deleted: list[str]
    hashes: dict[str, str]
    stat: dict[str, list[int]]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.deleted)

    def summary(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.deleted)} deleted"


def corpus_changes(corpus: Path, manifest: dict, only: Iterable[str] | None = None) -> CorpusChanges:
    """What changed in `corpus` since the index in `manifest` was built from it.

    The same file names with the same sizes and modification times are taken as unchanged without reading
    a byte; only a file whose size or time differs is hashed, and it counts as changed only if its sha256
    does too (a file touched but not edited is not a change). `only`: look at these paths (relative to the
    corpus) and take the rest as the manifest has them, as a change that placed those files does (the folder is
    not walked: at 40,000 files that walk is a third of a second)."""
    old_hashes, old_stats = manifest.get("corpus_files") or {}, manifest.get("corpus_stat") or {}
    base = Path(corpus).parent if Path(corpus).is_file() else Path(corpus)
    if only is None or Path(corpus).is_file():
        now = corpus_stat(corpus)
        hashes = {name: old_hashes[name] if name in old_hashes and old_stats.get(name) == st else file_sha256(base / name)
                  for name, st in now.items()}
        return CorpusChanges(
            added=[n for n in now if n not in old_hashes],
            changed=[n for n in now if n in old_hashes and hashes[n] != old_hashes[n]],
            deleted=[n for n in old_hashes if n not in now],
            hashes=hashes, stat=now,
        )
    names = sorted({n for n in only if not _hidden(Path(n))})
    looked: dict[str, list[int] | None] = {}
    for name in names:
        try:
            st = os.stat(base / name)
        except (FileNotFoundError, NotADirectoryError):
            looked[name] = None
            continue
        looked[name] = [st.st_size, st.st_mtime_ns] if stat.S_ISREG(st.st_mode) else None
    found = {n: (old_hashes[n] if n in old_hashes and old_stats.get(n) == st else file_sha256(base / n)) if st else None
             for n, st in looked.items()}
    return CorpusChanges(
        added=[n for n in names if found[n] and n not in old_hashes],
        changed=[n for n in names if found[n] and n in old_hashes and found[n] != old_hashes[n]],
        deleted=[n for n in names if not found[n] and n in old_hashes],
        hashes=corpus_map.Altered(old_hashes, found), stat=corpus_map.Altered(old_stats, looked),
    )


def corpus_changed(corpus: Path, manifest: dict) -> bool:
    """Whether `corpus` differs from what the index in `manifest` was built from (see `corpus_changes`)."""
    return bool(corpus_changes(corpus, manifest))


def _versions() -> dict[str, str]:
    names = ["sentence-transformers", "faiss-cpu", "jieba", "torch", "transformers"]
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


def embed_chunks(
    embedder: Embedder, texts: list[str], sentence_texts: list[str], cache: EmbeddingCache | None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(chunk vectors, sentence vectors, vectors reused from the cache).

    Sentences are embedded as passages of their own, each distinct sentence once (the sentence a chunk
    shares with the next by overlap is not encoded twice). Pooling each sentence's tokens out of its chunk's
    forward pass would spare this second pass, but it was measured to cost ranking quality: the pooled
    vectors carry the whole chunk's context (seed questions, dense nDCG@10 0.945 -> 0.843, hybrid 0.971 ->
    0.927); so did a chunk vector made from its sentences' vectors (stard_train hybrid 0.621 -> 0.597)."""
    encode = partial(embedder.encode_passages, batch_size=32)
    vectors, reused = encode_cached(encode, texts, cache, embedder.dimension, progress=progress)
    sentences, reused_sentences = encode_cached(
        encode, sentence_texts, cache, embedder.dimension, desc="embedding sentences", unit="sentence",
        progress=progress,
    )
    return vectors, sentences, reused + reused_sentences


def reading_for(read: ReadOptions, index_dir) -> ReadOptions:
    """`read` with the index folder's cache of converted office files, unless it names one (a Milvus index has
    no local folder: its conversions go to a private temporary one)."""
    if read.converted is None and isinstance(index_dir, (str, Path)):
        return replace(read, converted=Path(index_dir) / store.CONVERTED)
    return read


def build_index(
    corpus: Path,
    index_dir: Path,
    model: str = DEFAULT_MODEL,
    chunk: ChunkSettings = ChunkSettings(),
    progress: bool = True,
    embedder: Embedder | None = None,
    ann_from: int = ANN_FROM,
    coded_from: int = CODED_FROM,
    read: ReadOptions = ReadOptions(),
    milvus: MilvusAddress | None = None,
) -> tuple[Index | "MilvusStore", BuildReport]:  # noqa: F821
    """Index `corpus` (a folder of documents in any format read, or a .jsonl file) into `index_dir`.

    `read` holds the limits for reading files (OCR pages per file, file size); progress bars follow `progress`.
    `embedder` defaults to the loaded `model`; vectors already in the index folder's embedding cache
    are reused, not computed again. Chunk and sentence vectors go into HNSW indexes from `ann_from`
    vectors on (over 8-bit codes from `coded_from` on; see ann.py), flat indexes below."""
    started = time.perf_counter()
    watch = _Stopwatch()
    corpus = Path(corpus)
    if not corpus.exists():
        raise CorpusError(f"corpus not found: {corpus}")
    # taken before reading: a file edited during the build shows as changed afterwards
    stat_before, hashes_before = corpus_stat(corpus), corpus_fingerprint(corpus)
    try:
        documents, warnings = load_corpus(corpus, replace(reading_for(read, index_dir), progress=progress))
    except ValueError as exc:  # an unsupported corpus file
        raise CorpusError(str(exc)) from exc
    documents = [d for d in documents if d.text.strip()]
    if not documents:
        raise CorpusError(f"no readable documents in {corpus}")
    documents, duplicates, notices, signatures = drop_duplicates_signed(documents)
    warnings = warnings + notices
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    documents = [replace(d, added=now) for d in documents]
    seen: set[str] = set()
    for doc in documents:
        if doc.doc_id in seen:
            raise CorpusError(f"two documents share the id {doc.doc_id!r} in {corpus}; doc ids (paths without the extension) must be unique")
        seen.add(doc.doc_id)
    watch.lap("reading")

    chunks: list[Chunk] = []
    for doc in tqdm(documents, desc="chunking", unit="doc", disable=not progress, file=sys.stderr):
        chunks.extend(chunk_document(doc, chunk.min_chars, chunk.max_chars, chunk.overlap_sentences))
    if not chunks:
        raise CorpusError(f"the documents in {corpus} produced no text to index")
    watch.lap("chunking")

    by_id = {d.doc_id: d for d in documents}
    embedder = embedder or get_embedder(model)
    watch.lap("model")
    # vectors go to disk as they are computed: a build that fails or is killed later resumes from them
    work_dir = milvus.work_dir if milvus is not None else Path(index_dir)
    cache = EmbeddingCache(work_dir / EMBEDDINGS, embedder.identity)
    texts = [embedded_text(c, by_id[c.doc_id].title) for c in chunks]
    # every sentence of every chunk gets a vector too: search scores a chunk by its best sentence as well
    sentence_texts, owners = chunk_sentences(chunks)
    watch.lap("sentences")
    vectors, sentence_vectors, reused = embed_chunks(embedder, texts, sentence_texts, cache, progress=progress)
    watch.lap("embedding")
    dense = vector_index(vectors, embedder.dimension, ann_from, coded_from)  # inner product over normalised vectors = cosine
    sentences = vector_index(sentence_vectors, embedder.dimension, ann_from, coded_from)
    watch.lap("vector indexes")
    neighbours, neighbour_sims = nearest_chunks_with_sims(vectors, NEIGHBOURS, progress=progress, search=dense)
    watch.lap("neighbours")

    if milvus is None:  # Milvus analyses the text for BM25 itself
        tokens = ChunkTokens.from_lists(tokenize(c.text) for c in tqdm(chunks, desc="BM25", unit="chunk", disable=not progress, file=sys.stderr))
        bm25 = Postings.from_tokens(tokens)
        watch.lap("BM25")

    manifest = {
        "format": store.FORMAT_VERSION,
        "model": model,
        "dimension": embedder.dimension,
        "encoder": embedder.encoder,
        "vector_indexes": {"chunks": kind(dense), "sentences": kind(sentences)},
        "chunk": chunk.to_dict(),
        "features": index_features(),
        "corpus": str(corpus.resolve()),
        "corpus_files": hashes_before,
        "corpus_stat": stat_before,
        "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "n_documents": len(documents),
        "n_chunks": len(chunks),
        "duplicates": duplicates,
    }
    if milvus is not None:
        manifest.update(corpus=str(corpus.resolve()), vector_indexes={"chunks": "milvus hnsw", "sentences": "milvus hnsw"})
        from index.store.milvus import write_index  # imported only for a Milvus index (see index.store)

        index = write_index(milvus, manifest, by_id, chunks, vectors, sentence_vectors, owners, neighbours, progress)
    else:
        index = Index.of_chunks(manifest, by_id, chunks, dense, bm25, sentences, owners, neighbours, neighbour_sims,
                                tokens=tokens, signatures=signatures)
        store.save(index, Path(index_dir))
    watch.lap("writing")
    report = BuildReport(len(documents), len(chunks), time.perf_counter() - started, warnings,
                         reused_vectors=reused, vectors=len(chunks) + len(owners), stages=watch.stages)
    return index, report
