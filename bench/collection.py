"""What a change to a large collection costs, in one run: adding one document to and removing one from a
~10,000-chunk index, besides the new document's embedding; the time until a running server answers from the
change; and what writing a new version costs.

    .venv/bin/python bench/collection.py [--docs 2000]

The 10,000-chunk corpus is real text (stard_train passages, and CMRC 2018's where present, mixed into
~2,000-character documents), written as files into a temporary corpus folder. Its vectors come from a stand-in encoder (a hash
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
from index.store import live_version  # noqa: E402
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

    def fit_to_limit(self, text: str) -> tuple[str, bool]:
        return text, False


def write_corpus(folder: Path, n_docs: int) -> None:
    texts = []
    for name in ("stard_train", "cmrc2018"):
        path = SHARED / name / "corpus.jsonl"
        if path.exists():
            with open(path, encoding="utf-8") as f:
                texts += [json.loads(line)["text"].replace("\n", "") for line in f]
    folder.mkdir(parents=True)
    rng = random.Random(0)
    for i in range(n_docs):
        body, paragraphs = 0, []
        while body < 2000:  # a different mix of passages in every document: none is a near-duplicate of another
            t = rng.choice(texts)
            paragraphs.append(t)
            body += len(t)
        (folder / f"doc{i:05d}.txt").write_text(f"文件{i}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000, help="documents of ~2,000 characters (default 2000: ~10k chunks)")
    args = parser.parse_args()
    stand_in = HashEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        write_corpus(corpus, args.docs)
        (index, report), seconds = timed(lambda: build_index(corpus, index_dir, embedder=stand_in, progress=False))
        print(f"index: {report.documents} documents, {len(index.chunks)} chunks, {index.sentences.ntotal} sentence vectors; "
              f"built in {seconds:.1f} s with the stand-in encoder")
        live = LiveSearcher(Searcher(index, embedder=stand_in), index_dir)

        new = Path(tmp) / "incoming" / "notice.txt"
        new.parent.mkdir()
        shutil.copy(NEW_DOC, new)
        (_, add_report, _, _), add_s = timed(lambda: collection.add(index_dir, [new], progress=False, embedder=stand_in))
        switched, refresh_s = timed(live.refresh)
        assert switched and "notice" in live.current.index.documents
        doc, _ = read_one(new, doc_id="notice")
        chunks = chunk_document(doc)
        texts = [embedded_text(c, doc.title) for c in chunks] + chunk_sentences(chunks)[0]
        model = get_embedder()
        model.encode_passages(["预热"])
        _, embed_s = timed(lambda: model.encode_passages(texts, batch_size=32))
        (_, remove_report, _), remove_s = timed(lambda: collection.remove(index_dir, ["notice"], progress=False, embedder=stand_in))
        _, refresh2_s = timed(live.refresh)
        now = load_index(index_dir)
        size = folder_mb(live_version(index_dir))
        print(f"add one document ({add_report.chunks_added} chunks, {len(texts)} vectors): {add_s:.2f} s besides embedding; "
              f"embedding it with the real model: {embed_s:.2f} s")
        print(f"remove one document ({remove_report.chunks_removed} chunks): {remove_s:.2f} s")
        print(f"a running server answers from the change {refresh_s:.2f} s (add) / {refresh2_s:.2f} s (remove) after it "
              f"is written, plus up to 2 s until its watcher looks (at once for a change made in the page)")
        print(f"every change writes a whole new version: {size:.0f} MB at {len(now.chunks)} chunks "
              f"(no segments, so no merge: the cost of a merge is paid by every change)")


if __name__ == "__main__":
    main()
