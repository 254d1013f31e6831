"""What a change to a large collection costs, in one run, on an index of segments (index.store.segment):

* adding one document (seed 004: ~13,000 characters, about ten printed pages) besides its embedding, the bytes
  that change writes against the new segment's own size, and removing it again (as the page does: the nearest-
  chunk lists that named its chunks are searched again after, in the background, timed on their own);
* the time until a running server answers from the change (it reads only the new segment);
* questions (200 stard_train queries, hybrid) on 20 unmerged segments against the same documents merged into
  one, p50 and p95, and whether they rank the same top 10;
* what merging costs: the policy's merge of the small segments, and `zhqa optimize` of everything.

    .venv/bin/python bench/collection.py [--docs 2000]     # --docs 40000: ~200,000 chunks
    .venv/bin/python bench/collection.py --docs 40000 --keep DIR   # builds once into DIR, later runs start from it

The corpus is real text (stard_train passages, and CMRC 2018's where present, mixed into ~2,000-character
documents), written as files into a temporary corpus folder. Its vectors come from a stand-in encoder (a hash
of the text: no model), so that building the large index takes minutes, not hours; the change is then timed
with the same stand-in, which is the cost *besides* embedding, and the real model's time to embed the new
document is measured on its own and printed beside it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bench import find_shared_bench  # noqa: E402
from index import build_index, collection, load_index  # noqa: E402
from index.collection import chunk_sentences, embedded_text  # noqa: E402
from index.text import chunk_document  # noqa: E402
from index.encoder import get_embedder  # noqa: E402
from index.ingest import read_one  # noqa: E402
from index.collection.merging import merge  # noqa: E402
from index.collection.updating import prepare, repair  # noqa: E402
from index.store import segment_folders  # noqa: E402
from index.store.ann import ANN_FROM  # noqa: E402
from qa import LiveSearcher, Searcher  # noqa: E402

SHARED = find_shared_bench("stard_train").parent  # wherever the checkout is (ZHQA_BENCH, or shared/bench nearby)
NEW_DOC = ROOT / "corpus" / "004_6a50f008523c6f36.txt"


class HashEmbedder:
    """Stands in for the encoder: a unit vector drawn from the text's hash (same text, same vector)."""

    name = identity = "hash-stand-in"
    encoder = "hash"
    dimension = 384

    def _one(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_passages(self, texts, batch_size: int = 32, **kwargs) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def encode_query(self, text) -> np.ndarray:
        return self.encode_passages([text] if isinstance(text, str) else list(text))

    def fit_to_limit(self, text: str) -> str:
        return text


def write_corpus(folder: Path, n_docs: int, seed: int = 0, prefix: str = "doc") -> None:
    texts = []
    for name in ("stard_train", "cmrc2018"):
        path = SHARED / name / "corpus.jsonl"
        if path.exists():
            with open(path, encoding="utf-8") as f:
                texts += [json.loads(line)["text"].replace("\n", "") for line in f]
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for i in range(n_docs):
        body, paragraphs = 0, []
        while body < 2000:  # a different mix of passages in every document: none is a near-duplicate of another
            t = rng.choice(texts)
            paragraphs.append(t)
            body += len(t)
        (folder / f"{prefix}{i:05d}.txt").write_text(f"{prefix}文件{i}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def files(folder: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def written_mb(before: dict[Path, tuple[int, int]], folder: Path) -> float:
    """What a change wrote: the files of `folder` that are new or changed since `before`."""
    return sum(size for p, (size, mtime) in files(folder).items() if before.get(p) != (size, mtime)) / 2**20


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def questions(n: int) -> list[str]:
    with open(SHARED / "stard_train" / "queries.jsonl", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    return random.Random(1).sample(texts, min(n, len(texts)))


def query_times(searcher: Searcher, asked: list[str]) -> tuple[list[float], list[list[tuple]]]:
    times, tops = [], []
    for q in asked:
        started = time.perf_counter()
        found = searcher.search(q, k=10, retriever="hybrid")
        times.append(time.perf_counter() - started)
        tops.append([(p.doc_id, p.start, round(p.score, 6)) for p in found])
    return times, tops


def same_top(a: list[tuple], b: list[tuple], tie: float = 1e-5) -> bool:
    """The same passages, scores within `tie`, in an order that differs only among passages tied within it."""
    scores_a, scores_b = {x[:2]: x[2] for x in a}, {x[:2]: x[2] for x in b}
    if scores_a.keys() != scores_b.keys() or any(abs(scores_a[k] - scores_b[k]) > tie for k in scores_a):
        return False
    ranked = [x[:2] for x in a]
    return all(scores_b[p] >= scores_b[q] - tie for p, q in zip(ranked, ranked[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000, help="documents of ~2,000 characters (default 2000: ~10k chunks)")
    parser.add_argument("--segments", type=int, default=20, help="unmerged segments to search (default 20)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--ann-from", type=int, default=ANN_FROM,
                        help=f"vectors from which a segment's index is an HNSW graph (default {ANN_FROM:,}); a larger value "
                             "searches exactly, so that unmerged and merged rank alike but for float ties")
    parser.add_argument("--keep", type=Path, help="keep the built corpus and index in this folder (its base/) and start "
                        "later runs with the same --docs and --ann-from from a copy of them (its work/), not a new build")
    args = parser.parse_args()
    stand_in = HashEmbedder()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        if args.keep:  # the same paths every run (the manifest names its corpus), the base copied with its times
            tmp = args.keep.resolve() / "work"
            base = args.keep.resolve() / f"base-{args.docs}-{args.ann_from}"
            shutil.rmtree(tmp, ignore_errors=True)
        corpus, index_dir = tmp / "corpus", tmp / "index"
        if args.keep and base.is_dir():
            _, copy_s = timed(lambda: shutil.copytree(base, tmp, symlinks=True))
            index = load_index(index_dir)
            print(f"index: {len(index.documents)} documents, {len(index.chunks)} chunks, {index.sentences.ntotal} sentence "
                  f"vectors; the kept build, copied in {copy_s:.1f} s")
        else:
            write_corpus(corpus, args.docs)
            (index, report), seconds = timed(lambda: build_index(corpus, index_dir, embedder=stand_in, progress=False,
                                                                 ann_from=args.ann_from))
            print(f"index: {report.documents} documents, {len(index.chunks)} chunks, {index.sentences.ntotal} sentence "
                  f"vectors; built in {seconds:.1f} s with the stand-in encoder ({report.stage_summary()})")
            if args.keep:
                shutil.rmtree(base, ignore_errors=True)
                shutil.copytree(tmp, base, symlinks=True)
        live = LiveSearcher(Searcher(index, embedder=stand_in), index_dir)
        live.current.search("预热的问题", k=3)  # a server has answered questions (jieba loaded) before an upload comes
        prepare(index_dir, stand_in)  # as `zhqa serve` does in the background when it starts

        # one document in, and out again
        new = Path(tmp) / "incoming" / "notice.txt"
        new.parent.mkdir()
        shutil.copy(NEW_DOC, new)
        _, load_s = timed(lambda: load_index(index_dir))
        before = files(index_dir)
        # as a server makes it: the index it answers from is in memory (a fresh `zhqa add` reads it first: load_s)
        (added, add_report, _, _), add_s = timed(lambda: collection.add(index_dir, [new], progress=False, embedder=stand_in,
                                                                         merge=False, previous=live.current.index))
        add_mb = written_mb(before, index_dir)
        segment_mb = folder_mb(segment_folders(index_dir)[-1])
        switched, refresh_s = timed(live.refresh)
        assert switched and "notice" in live.current.index.documents
        doc, _ = read_one(new, doc_id="notice")
        chunks = chunk_document(doc)
        texts = [embedded_text(c, doc.title) for c in chunks] + chunk_sentences(chunks)[0]
        model = get_embedder()
        model.encode_passages(["预热"])
        _, embed_s = timed(lambda: model.encode_passages(texts, batch_size=32))
        before = files(index_dir)
        # as the page removes: the version without it at once, the nearest-chunk lists it broke repaired after
        (_, remove_report, _), remove_s = timed(lambda: collection.remove(index_dir, ["notice"], progress=False,
                                                                           embedder=stand_in, merge=False, repair=False,
                                                                           previous=live.current.index))
        remove_mb = written_mb(before, index_dir)
        _, refresh2_s = timed(live.refresh)
        (_, repaired), repair_s = timed(lambda: repair(index_dir, previous=live.current.index))
        live.refresh()
        print(f"add one document ({len(doc.text):,} characters, {add_report.chunks_added} chunks, {len(texts)} vectors): "
              f"{add_s:.2f} s besides embedding (embedding it with the real model: {embed_s:.2f} s); wrote {add_mb:.2f} MB, "
              f"{add_mb / segment_mb:.2f}x its segment's {segment_mb:.2f} MB")
        print(f"remove it: {remove_s:.2f} s, wrote {remove_mb:.2f} MB; the {repaired} nearest-chunk lists that named its "
              f"chunks searched again after it (a server's background): {repair_s:.2f} s")
        print(f"(a fresh process, as `zhqa add` from a shell, first reads the index: {load_s:.2f} s)")
        print(f"a running server answers from the change {refresh_s:.2f} s (add) / {refresh2_s:.2f} s (remove) after it "
              f"is written, plus up to 2 s until its watcher looks (at once for a change made in the page)")

        # many small changes: as many segments as asked, unmerged, against the same documents merged
        incoming = Path(tmp) / "more"
        write_corpus(incoming, args.segments - len(live.current.index.segments), seed=1, prefix="more")
        extra = sorted(incoming.iterdir())
        started = time.perf_counter()
        for path in extra:  # one new document per change, as uploads come
            collection.add(index_dir, [path], progress=False, embedder=stand_in, merge=False, previous=live.current.index)
            live.refresh()
        adds_s = time.perf_counter() - started
        segmented = live.current
        n_segments = len(segmented.index.segments)
        asked = questions(args.questions)
        query_times(segmented, asked[:20])  # warm
        seg_times, seg_tops = query_times(segmented, asked)
        (_, policy_report), policy_s = timed(lambda: merge(index_dir, ann_from=args.ann_from, previous=live.current.index))
        print(f"the policy's merge: {policy_report.summary()} ({policy_s:.2f} s)")
        (merged_index, merge_report), merge_s = timed(lambda: merge(index_dir, everything=True, ann_from=args.ann_from,
                                                                          previous=live.current.index))
        live.refresh()
        merged = live.current
        query_times(merged, asked[:20])
        merged_times, merged_tops = query_times(merged, asked)
        p = lambda xs, q: float(np.percentile(np.asarray(xs) * 1000, q))  # noqa: E731
        same = sum(same_top(a, b) for a, b in zip(seg_tops, merged_tops))
        print(f"{len(extra)} more adds (one document each, {adds_s / max(len(extra), 1):.2f} s each): {n_segments} segments")
        print(f"questions, hybrid, top 10 ({len(asked)}): {n_segments} segments p50 {p(seg_times, 50):.1f} ms, p95 "
              f"{p(seg_times, 95):.1f} ms; merged p50 {p(merged_times, 50):.1f} ms, p95 {p(merged_times, 95):.1f} ms: "
              f"p50 {p(seg_times, 50) / p(merged_times, 50):.2f}x the merged index's")
        print(f"the same top 10 (passages, scores within 1e-5, order but for ties): {same} of {len(asked)}")
        print(f"merging all {merge_report.merged} segments ({merge_report.chunks} chunks) into one: {merge_s:.1f} s")
        print(f"peak RSS: {peak_rss_mb():,.0f} MB")
        if args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
