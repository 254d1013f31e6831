"""Real documents, measured in one run: reading speed per format (pages/s for text PDFs and for OCR),
recall@5 of the seed questions per format beside the .txt seeds (PDF, DOCX, HTML, scans, and the office formats:
.doc and .wps through LibreOffice, OFD, the seeds inside a .zip), page-citation accuracy, OCR character
accuracy, the near-duplicate similarities the threshold was chosen from; then the office files' costs: 100 .doc
files of 3-10 pages converted and indexed (one LibreOffice call alone, batches, one or two processes), and OFD
pages/s with character accuracy for every shape our writer makes (and for real OFD files given with --ofd).

    .venv/bin/python bench/formats.py [--scanned all|one] [--docs 100] [--ofd FILE ...] [--skip-office]

The documents are the seeds rendered by tests/render_formats.py and tests/ofd_writer.py into a temporary folder.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from eval import QuestionSet, evaluate_questions  # noqa: E402
from index import Document, build_index  # noqa: E402
from index.text import chunk_document  # noqa: E402
from index.ingest import THRESHOLD, minhash, squashed  # noqa: E402
from index.ingest import load_corpus  # noqa: E402
from qa import Searcher, cite_document  # noqa: E402
from index.ingest import ReadOptions  # noqa: E402
from index.ingest.formats import office  # noqa: E402
from ofd_writer import OLD, ofd_bytes  # noqa: E402
from render_formats import TWO_COLUMNS, docx_bytes, render_all, seed_documents, soffice_convert  # noqa: E402

OFD_SHAPES = {"plain": {}, "split lines": {"split_lines": True}, "per char, blocks": {"per_char": True, "nested": True},
              "CTM, old ns": {"ctm": True, "namespace": OLD}}


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
    parser.add_argument("--docs", type=int, default=100, help=".doc files converted and indexed for the cost figures")
    parser.add_argument("--ofd", nargs="*", type=Path, default=[], help="real OFD files to measure the reader on")
    parser.add_argument("--skip-office", action="store_true", help="leave out LibreOffice, OFD and archives")
    args = parser.parse_args()
    seeds = {d.doc_id: d for d in seed_documents()}
    questions = QuestionSet.load(ROOT / "eval" / "questions" / "seed.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        scanned = tuple(seeds) if args.scanned == "all" else (TWO_COLUMNS,)
        folders = render_all(Path(tmp) / "rendered", scanned=scanned)
        folders = {"txt": ROOT / "corpus", **folders}
        if not args.skip_office:
            folders.update(office_renderings(seeds, Path(tmp) / "office"))
        print(f"{'format':8} {'files':>5} {'pages':>5} {'read s':>7} {'pages/s':>8} {'recall@5':>9} {'nDCG@10':>8}")
        loaded = {}
        for name, folder in folders.items():
            started = time.perf_counter()
            docs, warnings = load_corpus(folder)
            seconds = time.perf_counter() - started
            loaded[name] = {d.doc_id: d for d in docs}
            pages = pages_of(folder) if name in ("pdf", "scanned") else sum(len(d.pages) for d in docs) if name in ("doc", "wps", "ofd") else 0
            rate = f"{pages / seconds:8.2f}" if pages else f"{'':8}"
            recall = ndcg = float("nan")
            if name != "scanned" or args.scanned == "all":
                index, _ = build_index(folder, Path(tmp) / f"index-{name}", progress=False)
                asked = questions if name != "zip" else prefixed(questions, "seeds.zip/", Path(tmp))
                metrics = evaluate_questions(Searcher(index), asked, retrievers=("hybrid",), progress=False).metrics["hybrid"]
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

        if not args.skip_office:
            ofd_doc = loaded["ofd"]["004_6a50f008523c6f36"]
            chunk = next(c for c in chunk_document(ofd_doc) if (c.page_first or 0) > 2)
            print(f"an OFD passage's citation: {cite_document(ofd_doc, chunk.start, chunk.end)}")
            doc_costs(seeds, Path(tmp) / "many", args.docs)
            ofd_costs(seeds, Path(tmp) / "ofd", args.ofd)

        print(f"\nnear-duplicates: MinHash of character 5-grams, threshold {THRESHOLD}")
        for name in ("pdf", "docx", "html", "scanned"):
            sims = [minhash(squashed(seeds[d].text)).jaccard(minhash(squashed(doc.text))) for d, doc in loaded[name].items()]
            print(f"  seed vs its {name:7} rendering: min {min(sims):.3f} max {max(sims):.3f}")
        pairs = [minhash(squashed(a.text)).jaccard(minhash(squashed(b.text))) for a, b in itertools.combinations(seeds.values(), 2)]
        print(f"  different seeds: max {max(pairs):.3f}")


def office_renderings(seeds, out: Path) -> dict[str, Path]:
    """The seeds as .doc (LibreOffice's Word 97 writer, from our DOCX rendering), as .wps (the same bytes, as WPS
    Office writes its files), as OFD (our writer, lines drawn as two objects), and as OFD inside one .zip."""
    docx = out / "docx-source"
    docx.mkdir(parents=True)
    for doc in seeds.values():
        (docx / f"{doc.doc_id}.docx").write_bytes(docx_bytes(doc))
    folders = {name: out / name for name in ("doc", "wps", "ofd", "zip")}
    for folder in folders.values():
        folder.mkdir()
    for made in soffice_convert(sorted(docx.glob("*.docx")), "doc", folders["doc"]):
        shutil.copy(made, folders["wps"] / f"{made.stem}.wps")
    with zipfile.ZipFile(folders["zip"] / "seeds.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for doc in seeds.values():
            data = ofd_bytes(doc, split_lines=True)
            (folders["ofd"] / f"{doc.doc_id}.ofd").write_bytes(data)
            z.writestr(f"{doc.doc_id}.ofd", data)
    return folders


def prefixed(questions, prefix: str, tmp: Path):
    """The question set with its gold documents named as members of an archive."""
    path = tmp / "questions-prefixed.jsonl"
    with open(ROOT / "eval" / "questions" / "seed.jsonl", encoding="utf-8") as f, open(path, "w", encoding="utf-8") as out:
        for line in f:
            record = json.loads(line)
            for gold in record.get("gold", []):
                gold["doc"] = prefix + gold["doc"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return QuestionSet.load(path)


def doc_costs(seeds, out: Path, n: int) -> None:
    """n .doc files of 3-10 pages (seed paragraphs drawn at random, numbered so no two are alike), converted and
    indexed: one LibreOffice call for one file, the whole folder cold with one and with two processes, the
    index build with conversions cached, and the same build's embedding share."""
    rng = random.Random(7)
    paragraphs = [p for d in seeds.values() for p in d.paragraphs if len(p) > 30]
    source = out / "docx"
    source.mkdir(parents=True)
    pages_wanted = []
    for i in range(n):
        pages = rng.randint(3, 10)
        pages_wanted.append(pages)
        body, size = [f"关于第{i + 1}批营商环境工作事项的通知"], 0
        while size < pages * 900:  # about 900 characters fill an A4 page at 12 pt
            p = f"（{len(body)}）{rng.choice(paragraphs)}"
            body.append(p)
            size += len(p)
        doc = Document(doc_id=f"d{i:03d}", text="\n".join(body[1:]), title=body[0])
        (source / f"d{i:03d}.docx").write_bytes(docx_bytes(doc))
    corpus = out / "corpus"
    soffice_convert(sorted(source.glob("*.docx")), "doc", corpus)
    files = sorted(corpus.glob("*.doc"))
    with office.Converter() as one:
        started = time.perf_counter()
        one.convert([(files[0], office.plan_for(files[0]))])
        single = time.perf_counter() - started
    print(f"\n{n} .doc files of 3-10 pages ({sum(pages_wanted)} pages as written), 2 cores:")
    print(f"  one LibreOffice call for one file: {single:.2f} s (its start is most of it)")
    converting = {}
    for workers in (1, 2):
        with office.Converter(workers=workers) as converter:
            started = time.perf_counter()
            converter.convert([(f, office.plan_for(f)) for f in files])
            seconds = converting[workers] = time.perf_counter() - started
        print(f"  converted cold in batches of {office.BATCH}, {workers} process(es) at once: {seconds:6.1f} s "
              f"({seconds / n * 1000:.0f} ms a file, {len(converter.failures)} failed)")
    index_dir = out / "index"
    started = time.perf_counter()
    _, report = build_index(corpus, index_dir, progress=False)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    _, report = build_index(corpus, index_dir, progress=False)  # conversions and vectors both cached now
    warm = time.perf_counter() - started
    docs, _ = load_corpus(corpus, ReadOptions(converted=index_dir / "converted"))
    print(f"  zhqa build, cold (convert, read, embed, index): {cold:.1f} s; again with conversions and vectors "
          f"cached (read, chunk, index): {warm:.1f} s; {sum(len(d.pages) for d in docs)} pages read")
    print(f"  converted and indexed besides embedding: {converting[office.WORKERS] + warm:.1f} s (the conversion "
          f"with {office.WORKERS} processes plus the build with vectors cached); embedding took {cold - warm - converting[office.WORKERS]:.1f} s of the cold build")


def ofd_costs(seeds, out: Path, real: list[Path]) -> None:
    out.mkdir(parents=True)
    print("\nOFD (our reader), every seed in every shape:")
    print(f"  {'shape':18} {'pages':>5} {'read s':>7} {'pages/s':>8} {'min char. accuracy':>19}")
    for shape, options in OFD_SHAPES.items():
        files = []
        for doc in seeds.values():
            path = out / f"{doc.doc_id}-{len(files)}.ofd"
            path.write_bytes(ofd_bytes(doc, **options))
            files.append((path, doc))
        pages = 0
        accuracy = []
        started = time.perf_counter()
        read = [load_corpus(path)[0][0] for path, _ in files]
        seconds = time.perf_counter() - started
        for got, (_, doc) in zip(read, files):
            pages += len(got.pages)
            ref = squash(doc.text)
            accuracy.append(1 - Levenshtein.distance(ref, squash(got.text)) / len(ref))
        print(f"  {shape:18} {pages:5d} {seconds:7.2f} {pages / seconds:8.1f} {min(accuracy):19.4f}")
    for path in real:
        with zipfile.ZipFile(path) as z:
            drawn = "".join("".join(re.findall(r"<(?:\w+:)?TextCode[^>]*>([^<]*)<", z.read(n).decode("utf-8", "replace")))
                            for n in z.namelist() if n.endswith("Content.xml"))
        doc = load_corpus(path)[0][0]
        want = Counter(squash(drawn))
        got = Counter(squash(doc.title + doc.text))
        missing = want - got
        recall = 1 - sum(missing.values()) / max(1, sum(want.values()))
        print(f"  real file {path.name}: {len(doc.pages)} page(s), {recall:.4f} of the characters its pages draw "
              f"are in its title and text (order aside); not there: {''.join(sorted(missing.elements()))!r} "
              f"(page-number lines and the date line read as its date {doc.date or '-'}); title {doc.title!r}")


if __name__ == "__main__":
    main()
