"""Our build and queries side by side with what a user would write instead, in one run on one machine.

    .venv/bin/python bench/compare.py [--stard DIR] [--queries 200] [--synthetic 10000]

Three contenders over the same corpus and the same sentence-transformers model (multilingual-e5-small):
  ours       zhqa's whole build (load, clean, chunk, embed chunks and sentences, BM25, neighbours, save) and
             its hybrid query (encoding, candidates, fusion, citations), with the default (int8) encoder;
  bare       the bare encoder over exactly our chunks, float32 and int8 (what embedding alone costs);
  langchain  a plain LangChain + FAISS script: RecursiveCharacterTextSplitter at 400 characters, the same
             model and prompts in float32 sentence-transformers, faiss.IndexFlatIP, query = encode + search.
Corpora: corpus/ (the seeds), stard_train (with nDCG@10 of ours and of the script, by document), and a
synthetic index of --synthetic chunks for query latency at size. Its text is real: sentences of the shared
benchmarks' corpora recombined into chunks of 3-8 sentences; its vectors are real sentence vectors of a sample
of those sentences, each chunk's vector the normalised mean of its sentences' (stated synthetic method: no
encoder pass over every synthetic chunk).

Prints absolute times for this machine and ratios measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bench import find_shared_bench, load_bench  # noqa: E402
from eval.metrics import evaluate_rankings  # noqa: E402
from index import build_index, load_corpus  # noqa: E402
from index.store import is_ann, vector_index  # noqa: E402
from index.store import Postings  # noqa: E402
from index.collection import chunk_sentences, embedded_text  # noqa: E402
from index.text import Chunk  # noqa: E402
from index.document import Document  # noqa: E402
from index.encoder import get_embedder  # noqa: E402
from index.store import nearest_chunks  # noqa: E402
from index.store import Index  # noqa: E402
from index.text import tokenize  # noqa: E402
from qa import Searcher  # noqa: E402
from speed import QUESTIONS as SEED_QUESTIONS  # noqa: E402  (bench/ is this script's own folder)



def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in seconds)
    return statistics.median(ms), ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]


class LangChainScript:
    """What a user writes in twenty lines: split, embed, IndexFlatIP."""

    def __init__(self, documents: list[Document], embedder):
        self.embedder = embedder
        if not documents:  # an empty script, to be handed an index made elsewhere
            return
        splitter = RecursiveCharacterTextSplitter(chunk_size=400, chunk_overlap=0)
        self.chunks: list[tuple[str, str]] = [(d.doc_id, piece) for d in documents for piece in splitter.split_text(d.text)]
        vectors = embedder.encode_passages([text for _, text in self.chunks])
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def search(self, question: str, k: int = 10) -> list[str]:
        _, ids = self.index.search(self.embedder.encode_query(question), k)
        return [self.chunks[i][0] for i in ids[0] if i >= 0]


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def build_row(name: str, corpus: Path, embedder, float32, tmp: Path) -> tuple[Searcher, LangChainScript]:
    (index, report), ours = timed(build_index, corpus, tmp / name, progress=False, embedder=embedder)
    titles = [index.documents[c.doc_id].title for c in index.chunks]
    texts = [embedded_text(c, t) for c, t in zip(index.chunks, titles)]
    _, bare32 = timed(float32.encode_passages, texts)
    _, bare8 = timed(embedder.encode_passages, texts)
    documents, _ = load_corpus(corpus)
    script, theirs = timed(LangChainScript, documents, float32)
    n = len(index.chunks)
    print(f"{name:12s} {n:6d} chunks  ours ({embedder.encoder}) {n / ours:6.1f}/s  bare float32 {n / bare32:6.1f}/s  "
          f"bare {embedder.encoder} {n / bare8:6.1f}/s  langchain {len(script.chunks) / theirs:6.1f}/s "
          f"({len(script.chunks)} chunks)  ratio ours/bare-float32 {bare32 / ours:.2f}  ours/bare-{embedder.encoder} "
          f"{bare8 / ours:.2f}")
    print(f"{'':12s} our build by stage: {report.stage_summary()}")
    return Searcher(index, embedder=embedder), script


def query_row(name: str, searcher: Searcher, script: LangChainScript | None, questions: list[str]) -> None:
    searcher.search(questions[0], k=10)
    ours = [timed(searcher.search, q, k=10)[1] for q in questions]
    p50, p95 = percentiles(ours)
    line = f"{name:12s} {len(questions)} questions  ours p50 {p50:6.1f} ms p95 {p95:6.1f} ms"
    if script is not None:
        script.search(questions[0])
        t50, t95 = percentiles([timed(script.search, q)[1] for q in questions])
        line += f"  langchain p50 {t50:6.1f} ms p95 {t95:6.1f} ms  ratio p50 {p50 / t50:.2f} p95 {p95 / t95:.2f}"
    print(line)


def ndcg_row(searcher: Searcher, script: LangChainScript, bench) -> None:
    ours, theirs = {}, {}
    for qid, text in bench.queries:
        docs: list[str] = []
        for p in searcher.search(text, k=20):
            if p.doc_id not in docs:
                docs.append(p.doc_id)
        ours[qid] = [[d] for d in docs[:10]]
        docs = []
        for d in script.search(text, k=20):
            if d not in docs:
                docs.append(d)
        theirs[qid] = [[d] for d in docs[:10]]
    a, _ = evaluate_rankings(bench.qrels, ours, ["ndcg@10"])
    b, _ = evaluate_rankings(bench.qrels, theirs, ["ndcg@10"])
    print(f"stard_train nDCG@10 over {len(bench.queries)} queries: ours {a['ndcg@10']:.4f}  langchain {b['ndcg@10']:.4f}")


def synthetic_index(n_chunks: int, corpora: list[Path], embedder, sample: int = 2000) -> tuple[Index, list[str]]:
    """`n_chunks` chunks of real benchmark sentences; vectors from a real sample (see the module docstring)."""
    rng = random.Random(0)
    sentences: list[str] = []
    for path in corpora:
        with open(path, encoding="utf-8") as f:
            for line in f:
                text = json.loads(line)["text"]
                sentences += [s.strip() + "。" for s in text.replace("\n", "。").split("。") if len(s.strip()) >= 8]
    pool = rng.sample(sentences, min(sample, len(sentences)))
    vectors = embedder.encode_passages(pool, batch_size=64)
    chunks, documents, chunk_vectors, sentence_rows, owners = [], {}, [], [], []
    for i in range(n_chunks):
        picks = [rng.randrange(len(pool)) for _ in range(rng.randint(3, 8))]
        text = "".join(pool[j] for j in picks)
        doc_id = f"syn{i:07d}"
        documents[doc_id] = Document(doc_id=doc_id, text=text, title="", source=f"来源{i % 7}", date=f"20{10 + i % 15}-01-01")
        chunks.append(Chunk(doc_id=doc_id, seq=0, start=0, end=len(text), text=text, paragraph_first=1, paragraph_last=1))
        v = vectors[picks].mean(axis=0)
        chunk_vectors.append(v / np.linalg.norm(v))
        sentence_rows += picks
        owners += [i] * len(picks)
    matrix = np.asarray(chunk_vectors, dtype=np.float32)
    dense = vector_index(matrix, vectors.shape[1])  # flat or HNSW by the product's own size switch
    sentence_index = vector_index(vectors[sentence_rows], vectors.shape[1])
    bm25 = Postings.from_tokens([tokenize(c.text) for c in chunks])
    index = Index.of_chunks({"model": embedder.name, "n_chunks": n_chunks}, documents, chunks, dense, bm25,
                            sentence_index, np.asarray(owners, dtype=np.int32), nearest_chunks(matrix, search=dense))
    questions = [s[: rng.randint(8, 24)] for s in rng.sample(pool, 200)]
    return index, questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--stard", type=Path, help="the stard_train folder (default: found by eval.bench.find_shared_bench)")
    parser.add_argument("--queries", type=int, default=200, help="questions timed per corpus (default 200)")
    parser.add_argument("--synthetic", type=int, default=10_000, help="chunks of the synthetic index (0: none)")
    args = parser.parse_args()

    embedder, float32 = get_embedder(), get_embedder(encoder="float32")
    for warm in (embedder, float32):
        warm.encode_passages(["预热"])  # load and warm the models outside every timing
    args.stard = args.stard or find_shared_bench("stard_train")
    bench = load_bench(args.stard)
    stard_questions = [text for _, text in bench.queries]
    with tempfile.TemporaryDirectory() as tmp:
        print("== build (chunks per second; ratio = our whole build's throughput / the bare encoder's)")
        seed, seed_script = build_row("corpus/", args.corpus, embedder, float32, Path(tmp))
        stard, stard_script = build_row("stard_train", bench.corpus_path, embedder, float32, Path(tmp))
        print("\n== queries (hybrid, k=10, encoding included)")
        query_row("corpus/", seed, seed_script, (SEED_QUESTIONS * (args.queries // len(SEED_QUESTIONS) + 1))[: args.queries])
        query_row("stard_train", stard, stard_script, stard_questions[: args.queries])
        if args.synthetic:
            index, questions = synthetic_index(args.synthetic, [bench.corpus_path, args.stard.parent / "cmrc2018" / "corpus.jsonl"], embedder)
            searcher = Searcher(index, embedder=embedder)
            flat = LangChainScript([], float32)
            flat.index, flat.chunks = index.dense, [(c.doc_id, c.text) for c in index.chunks]
            kinds = f"chunks {'hnsw' if is_ann(index.dense) else 'flat'}, sentences {'hnsw' if is_ann(index.sentences) else 'flat'}"
            print(f"synthetic index: {args.synthetic} chunks, {index.sentences.ntotal} sentences ({kinds})")
            query_row(f"synthetic {args.synthetic}", searcher, flat, questions[: args.queries])
        print("\n== quality")
        ndcg_row(stard, stard_script, bench)


if __name__ == "__main__":
    main()
