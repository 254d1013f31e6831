"""Keeping an index current: the one place that decides when an index is missing or stale and (re)builds it.

`ensure_current` gives the store of an index folder or a Milvus index, building or rebuilding it from its
corpus first when needed (qa only opens what this returns; `zhqa build`, `ask`, `serve` and `eval` all come here).

An index is derived data: when it is missing, made by another version of zhqa or chunked with other
settings, it is remade from the corpus it was built from; when files of its corpus folder were added,
changed or deleted, only those are brought in (see index.collection.folder.sync). An index built
from some other corpus, or with another model than the one asked for, is never overwritten: that is
refused with a clear message instead.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

from index.collection import folder as collection
from index.collection.building import build_index, corpus_changed
from index.collection.folder import Target
from index.config import Settings
from index.ingest.formats import ReadOptions
from index.store.disk import Index, IndexBroken, IndexMismatch, live_version
from index.store.disk import exists as index_exists
from index.store.disk import load as load_index
from index.store import LocalStore, MilvusAddress, MilvusProblem, Store


def say(msg: str) -> None:
    print(msg, file=sys.stderr)


def built_from(index_dir: Path) -> Path | None:
    """The corpus an index says it was built from, read without loading the index."""
    version = live_version(Path(index_dir))
    try:
        return Path(json.loads((version / "manifest.json").read_text(encoding="utf-8"))["corpus"])
    except (TypeError, OSError, ValueError, KeyError):
        return None


def build_and_report(
    corpus: Path, index_dir: Target, model: str | None = None, progress: bool = True, log: Callable[[str], None] = say,
    read: ReadOptions = ReadOptions(),
):
    """Build the index of `corpus` into `index_dir` (a folder, or a Milvus index) and say what was built (and any
    file that was skipped)."""
    settings = Settings()
    milvus = index_dir if isinstance(index_dir, MilvusAddress) else None
    index, report = build_index(corpus, Path() if milvus else index_dir, model=model or settings.model,
                                chunk=settings.chunk, progress=progress, read=read, milvus=milvus)
    for warning in report.warnings:
        log(f"warning: {warning}")
    if report.reused_vectors:
        log(f"reused {report.reused_vectors} of {report.vectors} vectors from the embedding cache of {index_dir}")
    log(f"indexed {report.documents} documents, {report.chunks} chunks in {report.seconds:.1f} s "
        f"({report.chunks_per_second:.1f} chunks/s) -> {index_dir}")
    log(f"time by stage: {report.stage_summary()}")
    return index


def ensure_current(
    index_dir: Target,
    corpus: Path,
    model: str | None = None,
    rebuild_stale: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = say,
    rebuild_damaged: bool = False,
    encoder: str | None = None,
) -> Store:
    """The store at `index_dir`, (re)built from `corpus` first when it is missing or stale.

    Stale: made by another version of zhqa, chunked with other settings, or its corpus changed (a folder is
    synced: only changed files; a .jsonl file is rebuilt). Only an index built from this very corpus is
    rebuilt (`rebuild_stale`); another's is refused. A damaged index is refused with the rebuild command,
    unless `rebuild_damaged` (a cache, such as the benchmarks' indexes)."""
    corpus = Path(corpus)
    if isinstance(index_dir, MilvusAddress):
        return _ensure_current_milvus(index_dir, corpus, model, rebuild_stale, progress, log)
    return LocalStore(_ensure_current_local(Path(index_dir), corpus, model, rebuild_stale, progress, log,
                                            rebuild_damaged, encoder))


def _ensure_current_local(index_dir: Path, corpus: Path, model: str | None, rebuild_stale: bool, progress: bool,
                          log: Callable[[str], None], rebuild_damaged: bool, encoder: str | None) -> Index:

    def build(why: str, with_model: str | None):
        log(f"{why}: {'rebuilding' if index_exists(index_dir) else 'building'} it from {corpus} ...")
        return build_and_report(corpus, index_dir, with_model, progress=progress, log=log)

    if not index_exists(index_dir):
        return build(f"no index at {index_dir}", model)
    own = rebuild_stale and corpus.exists() and built_from(index_dir) == corpus.resolve()
    try:
        index = load_index(index_dir)
        index.check_compatible()  # format and index features
    except IndexMismatch:
        if not own:
            raise
        return build(f"the index at {index_dir} was made by another version of zhqa", model)
    except IndexBroken as exc:
        if not rebuild_damaged:
            raise
        return build(str(exc), model)
    if model is not None:
        index.check_compatible(model=model)
    if own:
        if index.manifest.get("chunk") != Settings().chunk.to_dict():
            index = build(f"the index at {index_dir} was chunked with other settings", index.model)
        elif encoder is not None and index.manifest.get("encoder", "float32") != encoder:
            index = build(f"the index at {index_dir} was built with the {index.manifest.get('encoder', 'float32')} "
                          f"encoder, not {encoder}", index.model)
        elif corpus.is_dir():
            index = sync_and_report(index_dir, progress=progress, log=log) or index
        elif corpus_changed(corpus, index.manifest):
            index = build(f"the corpus {corpus} changed since the index was built", index.model)
    return index


def _ensure_current_milvus(address: MilvusAddress, corpus: Path, model: str | None, rebuild_stale: bool,
                           progress: bool, log: Callable[[str], None]) -> "MilvusStore":  # noqa: F821
    """As ensure_current, for an index on Milvus: built when missing, brought up to date with its corpus folder."""
    from index.store.milvus import MilvusStore  # imported only for a Milvus index (see index.store)

    try:
        store = MilvusStore(address)
    except MilvusProblem:
        if not corpus.exists():
            raise
        log(f"no index {address.name!r} at {address.uri}: building it from {corpus} ...")
        return build_and_report(corpus, address, model, progress=progress, log=log)
    store.check_compatible(model=model)
    if rebuild_stale and corpus.is_dir() and Path(store.manifest.get("corpus", "")) == corpus.resolve():
        store = sync_and_report(address, progress=progress, log=log) or store
    return store


def sync_and_report(index_dir: Target, progress: bool = True, log: Callable[[str], None] = say):
    """Bring the index up to date with its corpus folder, saying what changed; the new index, or None if
    nothing had changed."""
    index, report, changes = collection.sync(index_dir, progress=progress)
    if not changes:
        return None
    for warning in report.warnings:
        log(f"warning: {warning}")
    log(f"the corpus changed ({changes.summary()} files): index updated, {report.summary()}")
    return index
