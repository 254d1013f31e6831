"""A million-chunk index on one machine: build, memory, disk, load, queries and ANN recall, per stage.

    .venv/bin/python bench/million.py [--chunks 1000000] [--pool 20000] [--queries 200] [--keep DIR]

Text is real: the sentences of the shared benchmarks' corpora (stard_train, cmrc2018), in their documents' order,
recombined into chunks of 3-8 consecutive sentences from a random place (as a real chunk is a run of one
document's sentences), ten chunks per document (so BM25 indexes real Chinese words; each distinct sentence is
tokenised once and a chunk's tokens are its sentences' tokens; BM25 is indexed first, before any vector index is
held, as its temporary arrays are the largest). Vectors (the stated synthetic method): the real
encoder (the default int8 model) embeds a pool of --pool sentences (a contiguous stretch of the corpora); a
chunk's sentence vectors are its pool sentences' vectors plus Gaussian noise (sigma 0.02 per dimension, then
normalised: every vector distinct), and its chunk vector is the normalised mean of those. The index is the
product's own: HNSW with the product's settings (sentence vectors as 8-bit codes from --coded-from vectors on,
as index.store.ann does), chunk neighbours by k-NN over that HNSW, BM25 by index.store.bm25, written by index.store.disk.save.
Serving is measured in a fresh process (`zhqa`'s own load and Searcher): load time, resident memory, query
p50/p95 over --queries questions (encoding included) and recall@10 of the chunk and sentence HNSW searches
against exact search over the float32 vectors (computed while building, before any coding).
"""
from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bench import find_shared_bench  # noqa: E402
from index.store import disk as store  # noqa: E402
from index.store import CODED_FROM, hnsw_index, kind, nearest, train_codes, vectors  # noqa: E402
from index.store import Postings  # noqa: E402
from index.store import ChunkTokens  # noqa: E402
from index.text import Chunk  # noqa: E402
from index.document import Document  # noqa: E402
from index.encoder import get_embedder  # noqa: E402
from index.store import index_features  # noqa: E402
from index.store import NEIGHBOURS, nearest_chunks_with_sims  # noqa: E402
from index.store import Index  # noqa: E402
from index.text import tokenize  # noqa: E402
from qa.fusion import FusionSettings  # noqa: E402

BENCH = find_shared_bench("stard_train").parent  # wherever the checkout is (ZHQA_BENCH, or shared/bench nearby)
CHUNKS_PER_DOC = 10
NOISE = 0.02
RECALL_QUESTIONS = 100


def peak_rss_gib() -> float:
    """The process's peak resident memory so far (VmHWM), in GiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def pool_sentences(n: int, rng: random.Random) -> list[str]:
    """`n` sentences of the corpora in their documents' order, from a random starting point."""
    sentences: list[str] = []
    for name in ("stard_train", "cmrc2018"):
        path = BENCH / name / "corpus.jsonl"
        if not path.is_file():
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                text = json.loads(line)["text"]
                sentences += [s.strip() + "。" for s in re.split(r"[。！？\n]", text) if 8 <= len(s.strip()) <= 120]
    start = rng.randrange(max(1, len(sentences) - n))
    return sentences[start : start + n]


def noisy(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = vectors + rng.normal(0, NOISE, vectors.shape).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


class ExactTop:
    """The exact top 10 of each question over vectors seen a block at a time (float32, before any coding)."""

    def __init__(self, queries: np.ndarray, k: int = 10):
        self.queries, self.k = queries, k
        self.ids = np.zeros((len(queries), 0), dtype=np.int64)
        self.scores = np.zeros((len(queries), 0), dtype=np.float32)
        self.seen = 0

    def add(self, block: np.ndarray) -> None:
        scores = np.concatenate([self.scores, self.queries @ block.T], axis=1)
        ids = np.concatenate([self.ids, np.broadcast_to(np.arange(self.seen, self.seen + len(block)), (len(self.queries), len(block)))], axis=1)
        top = np.argpartition(-scores, self.k - 1, axis=1)[:, : self.k]
        self.scores, self.ids = np.take_along_axis(scores, top, 1), np.take_along_axis(ids, top, 1)
        self.seen += len(block)


def build(args, out: Path) -> dict:
    timings: dict[str, float] = {}
    rng, nrng = random.Random(0), np.random.default_rng(0)
    started = time.perf_counter()
    pool = pool_sentences(args.pool, rng)
    embedder = get_embedder()
    pool_vectors = embedder.encode_passages(pool, batch_size=32).astype(np.float32)
    questions = [s[: rng.randint(8, 24)] for s in rng.sample(pool, args.queries)]
    query_vectors = np.vstack([embedder.encode_query(q)[0] for q in questions[:RECALL_QUESTIONS]]).astype(np.float32)
    timings["encode pool"] = time.perf_counter() - started
    started = time.perf_counter()
    # each pool sentence's token ids, flat: a chunk's tokens are gathered from them without Python lists
    pool_tokens = ChunkTokens.from_lists(tokenize(s) for s in tqdm(pool, desc="tokenising the pool", unit="sentence"))
    timings["tokenise pool"] = time.perf_counter() - started

    started = time.perf_counter()
    dimension = pool_vectors.shape[1]
    chunks: list[Chunk] = []
    documents: dict[str, Document] = {}
    picks_of: list[list[int]] = []
    for d in tqdm(range(0, args.chunks, CHUNKS_PER_DOC), desc="documents", unit="doc"):
        texts, offsets, at = [], [], 0
        for _ in range(min(CHUNKS_PER_DOC, args.chunks - d)):
            size = rng.randint(3, 8)
            first = rng.randrange(len(pool) - size)
            picks = list(range(first, first + size))
            picks_of.append(picks)
            text = "".join(pool[j] for j in picks)
            offsets.append((at, at + len(text)))
            texts.append(text)
            at += len(text) + 1
        doc_id = f"doc{d // CHUNKS_PER_DOC:06d}"
        doc = Document(doc_id=doc_id, text="\n".join(texts), title="", source=f"来源{(d // CHUNKS_PER_DOC) % 17}",
                       date=f"20{10 + (d // CHUNKS_PER_DOC) % 15}-0{1 + d % 9}-15")
        documents[doc_id] = doc
        for seq, ((s, e), text) in enumerate(zip(offsets, texts)):
            chunks.append(Chunk(doc_id, seq, s, e, text, seq + 1, seq + 1))
    counts = np.array([len(p) for p in picks_of])
    flat_picks = np.fromiter((j for p in picks_of for j in p), dtype=np.int64, count=int(counts.sum()))
    del picks_of
    timings["make chunks"] = time.perf_counter() - started

    # BM25 first: its temporary arrays are the largest, and nothing else is held yet
    started = time.perf_counter()
    chunk_ends = np.cumsum(counts)
    by_sentence = pool_tokens.select(flat_picks)  # every chunk's sentences' tokens, one sentence after another
    tokens = ChunkTokens(by_sentence.ids, by_sentence.offsets[np.concatenate([[0], chunk_ends])], pool_tokens.vocab)
    del by_sentence
    bm25 = Postings.from_tokens(tokens)
    timings["BM25"] = time.perf_counter() - started

    started = time.perf_counter()
    n_sentences = int(counts.sum())
    coded = n_sentences >= args.coded_from
    dense, sentences = hnsw_index(dimension), hnsw_index(dimension, coded=coded)
    if coded:
        train_codes(sentences, noisy(pool_vectors, np.random.default_rng(1)))
    owners = np.repeat(np.arange(len(chunks), dtype=np.int32), counts)
    exact_sentences = ExactTop(query_vectors)
    batch = 20_000
    chunk_vectors = np.empty((len(chunks), dimension), dtype=np.float32)
    for start in tqdm(range(0, len(chunks), batch), desc="vectors + HNSW (sentences)", unit="batch"):
        rows = counts[start : start + batch]
        a, b = int(chunk_ends[start] - counts[start]), int(chunk_ends[start + len(rows) - 1])
        sentence_vectors = noisy(pool_vectors[flat_picks[a:b]], nrng)
        exact_sentences.add(sentence_vectors)
        sentences.add(sentence_vectors)
        sums = np.add.reduceat(sentence_vectors, np.cumsum(rows) - rows)
        chunk_vectors[start : start + len(rows)] = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    del sentence_vectors, flat_picks
    timings["HNSW sentences"] = time.perf_counter() - started
    started = time.perf_counter()
    exact_chunks = ExactTop(query_vectors)
    for start in tqdm(range(0, len(chunks), batch * 5), desc="HNSW (chunks)", unit="batch"):
        dense.add(chunk_vectors[start : start + batch * 5])
        exact_chunks.add(chunk_vectors[start : start + batch * 5])
    timings["HNSW chunks"] = time.perf_counter() - started
    started = time.perf_counter()
    neighbours, neighbour_sims = nearest_chunks_with_sims(chunk_vectors, NEIGHBOURS, progress=True, search=dense)
    del chunk_vectors
    timings["neighbours"] = time.perf_counter() - started

    started = time.perf_counter()
    manifest = {
        "format": store.FORMAT_VERSION, "model": embedder.name, "dimension": dimension, "encoder": embedder.encoder,
        "vector_indexes": {"chunks": kind(dense), "sentences": kind(sentences)}, "chunk": {}, "features": index_features(),
        "corpus": "synthetic", "corpus_files": {}, "corpus_stat": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "n_documents": len(documents), "n_chunks": len(chunks), "duplicates": {},
    }
    index = Index.of_chunks(manifest, documents, chunks, dense, bm25, sentences, owners, neighbours, neighbour_sims,
                            tokens=tokens)
    version = store.save(index, out)
    timings["save"] = time.perf_counter() - started
    size = sum(p.stat().st_size for p in version.rglob("*") if p.is_file())
    (out / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    np.savez(out / "exact.npz", chunks=exact_chunks.ids, sentences=exact_sentences.ids)
    return {"timings": timings, "peak_rss_gib": peak_rss_gib(), "size_gib": size / 2**30,
            "sentences": int(sentences.ntotal), "chunks": len(chunks), "n_tokens": int(tokens.ids.size),
            "vector_indexes": manifest["vector_indexes"]}


def serve(index_dir: Path) -> dict:
    """Run in a fresh process: load, answer, measure recall; print one JSON line."""
    from qa import Searcher

    started = time.perf_counter()
    index = store.load(index_dir)
    searcher = Searcher(index)
    load_seconds = time.perf_counter() - started
    rss_loaded = peak_rss_gib()
    questions = json.loads((index_dir / "questions.json").read_text(encoding="utf-8"))
    searcher.search(questions[0], k=10)  # warm the model
    times = []
    for q in questions:
        t = time.perf_counter()
        searcher.search(q, k=10)
        times.append(time.perf_counter() - t)
    times.sort()
    # recall of the searches the searcher makes (the top 10 of its candidate depth) against exact search over
    # the float32 vectors, computed while building (before any coding)
    serving_peak = peak_rss_gib()  # before the recall check below, which decodes every stored vector
    exact = np.load(index_dir / "exact.npz")
    query_vectors = np.vstack([searcher.embedder.encode_query(q)[0] for q in questions[:RECALL_QUESTIONS]])
    recall, recall_stored = {}, {}
    for name, vectors_index in (("chunks", index.dense), ("sentences", index.sentences)):
        found = [set(nearest(vectors_index, q, FusionSettings().candidates)[:10].tolist()) for q in query_vectors]
        recall[name] = statistics.mean(len(got & set(want.tolist())) / 10 for got, want in zip(found, exact[name]))
        # and against exact search over the vectors as stored (8-bit codes decoded): what the graph walk loses
        stored, top = vectors(vectors_index), ExactTop(query_vectors)
        for start in range(0, len(stored), 200_000):
            top.add(np.asarray(stored[np.arange(start, min(start + 200_000, len(stored)))]))
        recall_stored[name] = statistics.mean(len(got & set(want.tolist())) / 10 for got, want in zip(found, top.ids))
    return {"load_seconds": load_seconds, "rss_loaded_gib": rss_loaded, "peak_rss_serving_gib": serving_peak,
            "p50_ms": statistics.median(times) * 1000, "p95_ms": times[int(0.95 * (len(times) - 1))] * 1000,
            "recall_at_10": recall, "recall_at_10_stored": recall_stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=20_000, help="distinct sentences embedded by the real encoder")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--coded-from", type=int, default=CODED_FROM, help="sentence vectors from which they are stored as 8-bit codes")
    parser.add_argument("--keep", type=Path, default=None, help="build into this folder and keep it")
    parser.add_argument("--serve", type=Path, default=None, help=argparse.SUPPRESS)  # the serving child process
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.serve)))
        return
    tmp = None
    out = args.keep
    if out is None:
        tmp = tempfile.mkdtemp(prefix="zhqa-million-")
        out = Path(tmp) / "index"
    try:
        built = build(args, out)
        print(json.dumps(built), flush=True)
        child = subprocess.run([sys.executable, __file__, "--serve", str(out)], capture_output=True, text=True)
        if child.returncode:
            sys.exit(f"serving failed: {child.stderr[-2000:]}")
        served = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    t = built["timings"]
    print(f"\n{built['chunks']:,} chunks, {built['sentences']:,} sentence vectors, {built['n_tokens']:,} BM25 tokens; "
          f"vector indexes {built['vector_indexes']}")
    print("| stage | seconds |\n|---|---|")
    for stage, seconds in t.items():
        print(f"| {stage} | {seconds:.0f} |")
    print(f"| build total | {sum(t.values()):.0f} |")
    print(f"peak RSS while building: {built['peak_rss_gib']:.1f} GiB; on disk: {built['size_gib']:.2f} GiB")
    print(f"load (fresh process, checksums included): {served['load_seconds']:.1f} s; RSS after load "
          f"{served['rss_loaded_gib']:.1f} GiB; peak RSS while serving {served['peak_rss_serving_gib']:.1f} GiB")
    print(f"queries (hybrid, k=10, encoding included, {args.queries}): p50 {served['p50_ms']:.1f} ms, "
          f"p95 {served['p95_ms']:.1f} ms")
    print(f"HNSW recall@10 against exact float32 search: chunks {served['recall_at_10']['chunks']:.3f}, "
          f"sentences {served['recall_at_10']['sentences']:.3f}; against exact search over the stored vectors: chunks "
          f"{served['recall_at_10_stored']['chunks']:.3f}, sentences {served['recall_at_10_stored']['sentences']:.3f}")


if __name__ == "__main__":
    main()
