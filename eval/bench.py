"""BEIR-like benchmark folders, read in place, and their cached indexes.

A benchmark folder holds
    corpus.jsonl    {"doc_id", "title", "text"} one per line
    queries.jsonl   {"qid", "text"} one per line (other fields are ignored)
    qrels.tsv       qid<TAB>doc_id<TAB>relevance, no header (a header line starting "qid" is skipped)

Relevance is by document: a passage of a relevant document counts. The ranked passages become a
document run by first occurrence (the first passage of a document gives the document its rank).

``open_bench_searcher`` builds an index of the corpus once and caches it under
``cache_dir()/bench/<name>-<sha256(corpus.jsonl)[:12]>-<model slug>``; an index built with other
chunk settings is rebuilt.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from index.store import file_sha256
from index.config import Settings, cache_dir
from index.collection import build_and_report, ensure_current
from index.encoder import get_embedder
from index.store import live_version
from index.store import LocalStore
from qa import Searcher

FILES = ("corpus.jsonl", "queries.jsonl", "qrels.tsv")


class BenchError(ValueError):
    """A benchmark folder cannot be read; the message names the file and line."""


@dataclass
class Benchmark:
    name: str
    path: Path
    queries: list[tuple[str, str]]  # (qid, text), only those with at least one relevant document
    qrels: dict[str, dict[str, int]]  # qid -> {doc_id: relevance > 0}
    doc_ids: set[str] = field(default_factory=set)
    corpus_sha256: str = ""
    skipped: list[str] = field(default_factory=list)  # why some queries or qrels were left out

    @property
    def corpus_path(self) -> Path:
        return self.path / "corpus.jsonl"

    def __len__(self) -> int:
        return len(self.queries)


def _jsonl(path: Path):
    try:
        f = open(path, encoding="utf-8-sig")
    except OSError as exc:
        raise BenchError(f"{path}: cannot read ({exc.strerror})") from None
    with f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BenchError(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            except UnicodeDecodeError:
                raise BenchError(f"{path}:{lineno}: not UTF-8 text") from None
            if not isinstance(row, dict):
                raise BenchError(f"{path}:{lineno}: expected a JSON object per line")
            yield lineno, row


def find_shared_bench(name: str, start: Path | None = None) -> Path:
    """Where the shared benchmark `name` (stard_train, cmrc2018) is, wherever the checkout stands: in the folder
    ZHQA_BENCH names, else in a `shared/bench` beside the checkout or one of its parents (or the working
    directory's). Raises BenchError saying where it looked."""
    env = os.environ.get("ZHQA_BENCH")
    places = [Path(env)] if env else []
    for origin in (start or Path(__file__).resolve().parents[1], Path.cwd()):
        places += [parent / "shared" / "bench" for parent in (origin, *origin.parents)]
    for place in dict.fromkeys(places):
        if (place / name / "queries.jsonl").is_file():
            return place / name
    raise BenchError(f"benchmark {name!r} not found (looked in ZHQA_BENCH and in shared/bench beside the checkout "
                     f"and its parents): give its folder, or set ZHQA_BENCH to the folder that holds it")


def load_bench(path: str | Path, limit: int | None = None) -> Benchmark:
    """Read a benchmark folder (``limit``: keep only the first N usable queries)."""
    path = Path(path)
    if not path.is_dir():
        raise BenchError(f"{path}: not a benchmark folder (expected a folder holding {', '.join(FILES)})")
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise BenchError(f"{path}: missing {', '.join(missing)} (a benchmark folder holds {', '.join(FILES)})")

    doc_ids: set[str] = set()
    for lineno, row in _jsonl(path / "corpus.jsonl"):
        doc_id = row.get("doc_id", row.get("_id"))
        if doc_id is None or str(doc_id) == "":
            raise BenchError(f"{path / 'corpus.jsonl'}:{lineno}: missing \"doc_id\"")
        if not isinstance(row.get("text"), str):
            raise BenchError(f"{path / 'corpus.jsonl'}:{lineno}: missing \"text\"")
        if str(doc_id) in doc_ids:
            raise BenchError(f"{path / 'corpus.jsonl'}:{lineno}: doc_id {doc_id!r} appears twice")
        doc_ids.add(str(doc_id))
    if not doc_ids:
        raise BenchError(f"{path / 'corpus.jsonl'}: no documents")

    queries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for lineno, row in _jsonl(path / "queries.jsonl"):
        qid, text = row.get("qid", row.get("_id")), row.get("text")
        if qid is None or str(qid) == "":
            raise BenchError(f"{path / 'queries.jsonl'}:{lineno}: missing \"qid\"")
        if not isinstance(text, str):
            raise BenchError(f"{path / 'queries.jsonl'}:{lineno}: missing \"text\"")
        if str(qid) in seen:
            raise BenchError(f"{path / 'queries.jsonl'}:{lineno}: qid {qid!r} appears twice")
        seen.add(str(qid))
        queries.append((str(qid), text))

    qrels: dict[str, dict[str, int]] = {}
    skipped: list[str] = []
    unknown_docs = 0
    try:
        lines = (path / "qrels.tsv").read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise BenchError(f"{path / 'qrels.tsv'}: not UTF-8 text") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = line.rstrip("\n").split("\t")
        if lineno == 1 and cells[0].strip().lower() in ("qid", "query-id", "query_id"):
            continue
        if len(cells) not in (2, 3, 4):
            raise BenchError(f"{path / 'qrels.tsv'}:{lineno}: expected qid<TAB>doc_id<TAB>relevance, got {len(cells)} cells")
        qid = cells[0].strip()
        doc = (cells[2] if len(cells) == 4 else cells[1]).strip()  # 4 cells: TREC style qid 0 doc rel
        try:
            rel = int(float(cells[-1])) if len(cells) >= 3 else 1
        except ValueError:
            raise BenchError(f"{path / 'qrels.tsv'}:{lineno}: relevance {cells[-1]!r} is not a number") from None
        if rel <= 0:
            continue
        if doc not in doc_ids:
            unknown_docs += 1
            continue
        qrels.setdefault(qid, {})[doc] = rel
    if unknown_docs:
        skipped.append(f"{unknown_docs} qrels line(s) name documents not in corpus.jsonl")

    usable = [(q, t) for q, t in queries if q in qrels and t.strip()]
    if len(usable) < len(queries):
        skipped.append(f"{len(queries) - len(usable)} quer(ies) without relevant documents or text")
    if not usable:
        raise BenchError(f"{path}: no query has a relevant document in qrels.tsv")
    if limit is not None and limit > 0:
        usable = usable[:limit]
    keep = {q for q, _ in usable}
    return Benchmark(
        name=path.resolve().name, path=path, queries=usable, qrels={q: qrels[q] for q in qrels if q in keep},
        doc_ids=doc_ids, corpus_sha256=file_sha256(path / "corpus.jsonl"), skipped=skipped,
    )


def model_slug(model: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model).name if "/" in model or "\\" in model else model).strip("-.")
    return slug or "model"


def bench_cache_root() -> Path:
    return cache_dir() / "bench"


def bench_index_dir(bench: Benchmark, model: str, root: Path | None = None) -> Path:
    root = Path(root) if root is not None else bench_cache_root()
    return root / f"{bench.name}-{bench.corpus_sha256[:12]}-{model_slug(model)}"


def open_bench_searcher(
    bench: Benchmark,
    model: str | None = None,
    cache_root: Path | None = None,
    rebuild: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = lambda msg: None,
):
    """(a Searcher over the benchmark's corpus, its index folder, whether it was built now): the index is built
    once and cached, by index.collection's rules; a cached index that is damaged or built with another encoder is
    rebuilt (it is only a cache), and `rebuild` forces it."""
    settings = Settings()
    model = model or settings.model
    index_dir = bench_index_dir(bench, model, cache_root)
    before = live_version(index_dir)
    if rebuild:
        # the folder is not wiped: its embedding cache spares a rebuild (or a build that died) the encoding
        store = LocalStore(build_and_report(bench.corpus_path, index_dir, model, progress=progress, log=log))
    else:
        store = ensure_current(index_dir, bench.corpus_path, model, progress=progress, log=log, rebuild_damaged=True,
                               encoder=get_embedder(model).encoder)
    built = live_version(index_dir) != before
    if not built:
        log(f"using cached benchmark index {index_dir}")
    return Searcher(store), index_dir, built
