"""The document collection as its keeper sees it: a corpus folder that the index follows.

* `sync`: the index follows the folder; files added, changed and deleted are found by size, time and content
  hash, and only those are read and indexed (see updating);
* `add`: files from elsewhere are copied into the folder (a folder keeps its name and structure), then those
  files are synced (the rest of the folder is not walked: other changes there wait for a sync);
* `remove`: documents leave the index, and their files move to the folder's `.removed/` (hidden, so a later
  sync does not bring them back; nothing the user had is deleted);
* `documents`: what `zhqa list` and the 文档库 tab show.
A document's id is its path in the folder without the extension, so it stays the same across changes.
Each works on a local index folder or a Milvus index (`MilvusAddress`) alike: `Target` names either.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from index.store import disk as store
from index.collection.building import CorpusChanges, corpus_changes, file_sha256, reading_for
from index.encoder.embedding import Embedder
from index.ingest.formats import ReadOptions
from index.ingest.loading import archive_id, doc_id_for, is_readable, load_folder
from index.ingest.archives import is_archive
from index.store.disk import Index
from index.store import Store
from index.store.corpus_map import Altered
from index.store.milvus_address import MilvusAddress
from index.collection import merging
from index.collection.updating import UpdateError, UpdateReport, update_index

REMOVED = ".removed"

Target = Path | MilvusAddress  # a local index folder, or a Milvus index
Current = Index | Store  # what a change reads and returns: the local index in memory, or the Milvus store


def writer_lock(target: Target):
    """The exclusive right to change `target` (for Milvus, held in a folder beside the milvus-lite file, or in
    the cache folder for a server: one machine changes a server index at a time)."""
    return store.writer_lock(target.work_dir if isinstance(target, MilvusAddress) else Path(target))


def open_current(target: Target, previous: Current | None = None) -> Current:
    """The index's live version; the segments `previous` (an earlier version in memory, a server's) holds are taken
    from it, not read again."""
    if isinstance(target, MilvusAddress):
        from index.store.milvus import MilvusStore  # imported only for a Milvus index (see index.store)

        return MilvusStore(target)
    return store.load(Path(target), previous if isinstance(previous, Index) else None)


def _update(target: Target, current: Current, merge: bool = True, repair: bool = True,
            **change) -> tuple[Current, UpdateReport]:
    """The change, then (a local index, unless `merge` is False) the merges the policy asks for. `repair`: the
    nearest-chunk lists that lose a neighbour are searched again at once (False: left to updating.repair, which a
    server runs in the background)."""
    if isinstance(target, MilvusAddress):
        from index.collection.milvus_update import update_milvus  # see index.store

        return update_milvus(current, **change)
    index, report = update_index(Path(target), current=current, research=repair, **change)
    if merge and merging.plan_merge(index):
        index, report.merge = merging.merge(Path(target), current=index)
    return index, report


def _corpus_of(index: Current, index_dir: Target) -> Path:
    corpus = Path(index.manifest.get("corpus", ""))
    if not corpus.is_dir():
        raise UpdateError(
            f"the index at {index_dir} was built from {corpus}, which is not a folder; adding, removing and syncing "
            f"work on a folder of documents (rebuild with: zhqa build --corpus FOLDER --index {index_dir})")
    return corpus


def _orphaned_copies(index: Current, gone: set[str], corpus: Path) -> set[str]:
    """Paths (relative to the corpus) of the recorded copies of documents that leave the index: a copy was
    left out only because its original was in; now it is indexed in its place."""
    corpus = corpus.resolve()
    out = set()
    for doc_id in gone:
        for copy in index.duplicates.get(doc_id, []):
            path = Path(copy.get("path") or "").resolve()
            if copy["doc_id"] not in gone and path.is_file() and path.is_relative_to(corpus):
                out.add(path.relative_to(corpus).as_posix())
    return out


def sync(index_dir: Target, read: ReadOptions = ReadOptions(), progress: bool = True,
         embedder: Embedder | None = None, merge: bool = True, repair: bool = True,
         ) -> tuple[Current, UpdateReport, CorpusChanges]:
    """Bring the index up to date with its corpus folder: only added, changed and deleted files are processed.
    `merge`: merge segments by the policy afterwards (see merging; a server does it in the background)."""
    with writer_lock(index_dir):
        index = open_current(index_dir)
        return _sync(index_dir, index, read, progress, embedder, merge, repair)


def _sync(index_dir: Target, index: Current, read: ReadOptions, progress: bool,
          embedder: Embedder | None, merge: bool = True, repair: bool = True,
          only: list[str] | None = None) -> tuple[Current, UpdateReport, CorpusChanges]:
    """`sync` of an index already loaded under the writer lock; `only`: of these files (paths relative to the
    corpus), not the whole folder."""
    corpus = _corpus_of(index, index_dir)
    changes = corpus_changes(corpus, index.manifest, only)
    if not changes:
        return index, UpdateReport(), changes
    known = set(index.documents) | {c["doc_id"] for cs in index.duplicates.values() for c in cs}
    gone = set()
    for p in changes.deleted + changes.changed:
        if is_archive(corpus / p):  # an archive's members: every doc id under the archive's own
            prefix = archive_id(corpus / p, corpus) + "/"
            gone |= {d for d in known if d.startswith(prefix)}
        else:
            gone.add(doc_id_for(corpus / p, corpus))
    gone &= known
    read_now = set(changes.added + changes.changed) | _orphaned_copies(index, gone, corpus)
    docs, warnings = load_folder(corpus, reading_for(read, index_dir), only=read_now)
    index, report = _update(index_dir, index, add=docs, remove=gone - {d.doc_id for d in docs},
                            corpus_files=changes.hashes, corpus_stat=changes.stat, progress=progress, embedder=embedder,
                            merge=merge, repair=repair)
    report.warnings = warnings + report.warnings
    return index, report, changes


@dataclass
class Placed:
    source: Path
    target: Path
    copied: bool  # False: already in the corpus (or the same file was there)


def _place(source: Path, target: Path) -> bool:
    """Copy `source` to `target` (write to a temporary name, fsync, rename); False if the same bytes are there."""
    if target.exists():
        if target.is_file() and file_sha256(target) == file_sha256(source):
            return False
        raise UpdateError(f"{target} already exists with other content; remove that document first "
                          f"(zhqa remove {target.stem}) or rename the new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    shutil.copyfile(source, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    store.fsync_folder(target.parent)
    return True


def add(index_dir: Target, paths: list[Path], read: ReadOptions = ReadOptions(), progress: bool = True,
        name_as: dict[Path, str] | None = None, embedder: Embedder | None = None, merge: bool = True,
        previous: Current | None = None, repair: bool = True) -> tuple[Current, UpdateReport, list[Placed], list[str]]:
    """Copy the document files at `paths` (files, or folders of them) into the corpus folder and sync those files.
    `name_as` gives a file another name in the folder (an upload's original name). Returns what was placed
    and the files refused (with the reason)."""
    placed: list[Placed] = []
    refused: list[str] = []
    with writer_lock(index_dir):
        current = open_current(index_dir, previous)
        corpus = _corpus_of(current, index_dir).resolve()
        for path in map(Path, paths):
            if not path.exists():
                refused.append(f"{path}: not found")
                continue
            if path.is_dir():
                files = [(f, Path(path.name) / f.relative_to(path)) for f in sorted(path.rglob("*"))
                         if f.is_file() and not any(p.startswith(".") for p in f.relative_to(path).parts)]
            else:
                files = [(path, Path((name_as or {}).get(path, path.name)))]
            for source, relative in files:
                if not is_readable(source):
                    refused.append(f"{source}: {source.suffix or 'no extension'} is not a format that is read")
                    continue
                if source.resolve().is_relative_to(corpus):
                    placed.append(Placed(source, source.resolve(), False))  # already in the folder: sync reads it
                    continue
                try:
                    placed.append(Placed(source, corpus / relative, _place(source, corpus / relative)))
                except UpdateError as e:
                    refused.append(str(e))
        # only the files placed are looked at: a change made elsewhere in the folder waits for a sync
        only = [str(p.target.relative_to(corpus)) for p in placed]
        index, report, _ = _sync(index_dir, current, read, progress, embedder, merge, repair, only)
    return index, report, placed, refused


def remove(index_dir: Target, doc_ids: list[str], progress: bool = True,
           embedder: Embedder | None = None, merge: bool = True, previous: Current | None = None,
           repair: bool = True) -> tuple[Current, UpdateReport, list[str]]:
    """Take documents out of the index; their files move to the corpus folder's .removed/ (kept, not deleted).
    Returns the new index, the report and where each file went."""
    moved: list[str] = []
    with writer_lock(index_dir):
        index = open_current(index_dir, previous)
        corpus = _corpus_of(index, index_dir).resolve()
        copies = {c["doc_id"]: c for cs in index.duplicates.values() for c in cs}
        unknown = [d for d in doc_ids if d not in index.documents and d not in copies]
        if unknown:
            raise UpdateError(f"not in the index: {', '.join(unknown)} (see zhqa list)")
        gone_paths: dict[str, None] = {}
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for doc_id in doc_ids:
            path_text = index.documents[doc_id].path if doc_id in index.documents else copies[doc_id].get("path", "")
            path = Path(path_text).resolve() if path_text else None
            if path is None or not path.is_file() or not path.is_relative_to(corpus):
                continue
            relative = path.relative_to(corpus)
            target = corpus / REMOVED / relative
            if target.exists():
                target = target.with_name(f"{target.stem}.{stamp}{target.suffix}")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            store.fsync_folder(path.parent)
            store.fsync_folder(target.parent)
            gone_paths[str(relative)] = None
            moved.append(f"{path} -> {target}")
        orphans, warnings = load_folder(corpus, reading_for(ReadOptions(), index_dir),
                                        only=_orphaned_copies(index, set(doc_ids), corpus))
        index, report = _update(index_dir, index, add=orphans, remove=set(doc_ids),
                                corpus_files=Altered(index.manifest.get("corpus_files") or {}, gone_paths),
                                corpus_stat=Altered(index.manifest.get("corpus_stat") or {}, gone_paths),
                                progress=progress, embedder=embedder, merge=merge, repair=repair)
        report.warnings = warnings + report.warnings
    return index, report, moved


def reindex(index_dir: Target, doc_ids: list[str], read: ReadOptions = ReadOptions(), progress: bool = True,
            embedder: Embedder | None = None, merge: bool = True, previous: Current | None = None,
            repair: bool = True) -> tuple[Current, UpdateReport]:
    """Read documents again from their files (after a change of OCR limit, say) and replace them."""
    with writer_lock(index_dir):
        index = open_current(index_dir, previous)
        corpus = _corpus_of(index, index_dir).resolve()
        unknown = [d for d in doc_ids if d not in index.documents]
        if unknown:
            raise UpdateError(f"not in the index: {', '.join(unknown)} (see zhqa list)")
        paths = {Path(index.documents[d].path).resolve() for d in doc_ids}
        missing = [str(p) for p in paths if not p.is_file() or not p.is_relative_to(corpus)]
        if missing:
            raise UpdateError(f"no file to read again for: {', '.join(missing)}")
        docs, warnings = load_folder(corpus, reading_for(read, index_dir), only={p.relative_to(corpus).as_posix() for p in paths})
        index, report = _update(index_dir, index, add=docs, remove=set(doc_ids) - {d.doc_id for d in docs},
                                progress=progress, embedder=embedder, merge=merge, repair=repair)
        report.warnings = warnings + report.warnings
    return index, report


def documents(store: Store) -> list[dict]:
    """One row per indexed document: id, title, source, date, format, pages, chunks, added, and its copies."""
    chunks = store.chunk_counts()
    rows = []
    for doc in store.documents.values():
        rows.append({
            "doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "date": doc.date,
            "doc_number": doc.doc_number, "format": doc.format, "pages": len(doc.pages) or None,
            "chunks": chunks.get(doc.doc_id, 0), "added": doc.added, "path": doc.path,
            "also_in": [c["doc_id"] for c in store.duplicates.get(doc.doc_id, [])],
        })
    return sorted(rows, key=lambda r: r["doc_id"])

