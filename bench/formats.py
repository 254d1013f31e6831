"""Real documents, measured in one run: reading speed per format (pages/s for text PDFs and for OCR),
recall@5 of the seed questions per format beside the .txt seeds, page-citation accuracy, OCR character
accuracy, and the near-duplicate similarities the threshold was chosen from.

    .venv/bin/python bench/formats.py [--scanned all|one]

The documents are the seeds rendered by tests/render_formats.py into a temporary folder.
"""
from __future__ import annotations

import argparse
import itertools
import re
import sys
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium
from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from eval import QuestionSet, evaluate_questions  # noqa: E402
from index import build_index  # noqa: E402
from index.text import chunk_document  # noqa: E402
from index.ingest import THRESHOLD, minhash, squashed  # noqa: E402
from index.ingest import load_corpus  # noqa: E402
from qa import Searcher  # noqa: E402
from render_formats import TWO_COLUMNS, render_all, seed_documents  # noqa: E402


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pages_of(folder: Path) -> int:
    n = 0
    for path in folder.glob("*.pdf"):
        pdf = pdfium.PdfDocument(str(path))
        n += len(pdf)
        pdf.close()
    return n


def page_accuracy(folder: Path, docs) -> tuple[int, int]:
    """(chunks whose every paragraph piece stands on the pages cited, chunks)."""
    good = total = 0
    for doc in docs:
        pdf = pdfium.PdfDocument(str(folder / f"{doc.doc_id}.pdf"))
        pages = [squash(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf))]
        pdf.close()
        for chunk in chunk_document(doc):
            cited = pages[chunk.page_first - 1 : chunk.page_last]
            pieces = [squash(p) for p in chunk.text.split("\n") if squash(p)]

            def on(piece: str) -> bool:
                return any(piece in p for p in cited) or any(
                    piece[:k] in a and piece[k:] in b for a, b in zip(cited, cited[1:]) for k in range(1, len(piece)))

            total += 1
            good += pieces[0][:10] in cited[0] and pieces[-1][-10:] in cited[-1] and all(on(p) for p in pieces)
    return good, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scanned", choices=("all", "one"), default="all", help="OCR every seed's scan, or only the newspaper")
    args = parser.parse_args()
    seeds = {d.doc_id: d for d in seed_documents()}
    questions = QuestionSet.load(ROOT / "eval" / "questions" / "seed.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        scanned = tuple(seeds) if args.scanned == "all" else (TWO_COLUMNS,)
        folders = render_all(Path(tmp) / "rendered", scanned=scanned)
        folders = {"txt": ROOT / "corpus", **folders}
        print(f"{'format':8} {'files':>5} {'pages':>5} {'read s':>7} {'pages/s':>8} {'recall@5':>9} {'nDCG@10':>8}")
        loaded = {}
        for name, folder in folders.items():
            started = time.perf_counter()
            docs, warnings = load_corpus(folder)
            seconds = time.perf_counter() - started
            loaded[name] = {d.doc_id: d for d in docs}
            pages = pages_of(folder) if name in ("pdf", "scanned") else 0
            rate = f"{pages / seconds:8.2f}" if pages else f"{'':8}"
            recall = ndcg = float("nan")
            if name != "scanned" or args.scanned == "all":
                index, _ = build_index(folder, Path(tmp) / f"index-{name}", progress=False)
                metrics = evaluate_questions(Searcher(index), questions, retrievers=("hybrid",), progress=False).metrics["hybrid"]
                recall, ndcg = metrics["recall@5"], metrics["ndcg@10"]
            print(f"{name:8} {len(docs):5d} {pages or '':>5} {seconds:7.2f} {rate} {recall:9.4f} {ndcg:8.4f}"
                  + (f"   warnings: {warnings}" if warnings else ""))

        good, total = page_accuracy(folders["pdf"], loaded["pdf"].values())
        print(f"\npage citations (text PDFs): {good}/{total} chunks stand on the pages they cite ({good / total:.4f})")
        for name in ("scanned",):
            for doc_id, doc in loaded[name].items():
                ref = squash(seeds[doc_id].text)
                acc = 1 - Levenshtein.distance(ref, squash(doc.text)) / len(ref)
                print(f"OCR character accuracy {doc_id}: {acc:.4f}")

        print(f"\nnear-duplicates: MinHash of character 5-grams, threshold {THRESHOLD}")
        for name in ("pdf", "docx", "html", "scanned"):
            sims = [minhash(squashed(seeds[d].text)).jaccard(minhash(squashed(doc.text))) for d, doc in loaded[name].items()]
            print(f"  seed vs its {name:7} rendering: min {min(sims):.3f} max {max(sims):.3f}")
        pairs = [minhash(squashed(a.text)).jaccard(minhash(squashed(b.text))) for a, b in itertools.combinations(seeds.values(), 2)]
        print(f"  different seeds: max {max(pairs):.3f}")


if __name__ == "__main__":
    main()
