"""The searcher a running server answers from, moved to each new version of its index as it appears.

A handler takes `live.current` once and answers the whole question from it, so a question in flight finishes
on the version it started with; the next one gets the new version. The switch is one assignment. A new version
(from `zhqa add` in a shell, or an upload in the page) is loaded beside the old one, with the same loaded model
and the segments the old one holds (only new segments are read), and only then swapped in. After a change made
in the page, a background thread searches again the nearest-chunk lists a removal broke (index.collection.
updating.repair) and merges the segments by the policy (index.collection.merging), so the user's answer waits
for neither.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from index.collection.merging import merge
from index.collection.updating import prepare, repair
from index.store import LocalStore, MilvusAddress, live_version

from .search import Searcher

_log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class LiveSearcher:
    """`index_dir` is the index's folder, or its MilvusAddress (by default, where the searcher's store is)."""

    def __init__(self, searcher: Searcher, index_dir: Path | MilvusAddress | None = None):
        self._current = searcher
        store = searcher.store
        if index_dir is None:
            index_dir = getattr(store, "address", None) or getattr(store, "path", None)  # Milvus, or a folder
        self.index_dir = index_dir if index_dir is None or isinstance(index_dir, MilvusAddress) else Path(index_dir)
        self._version = self._live_version()
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._merge_guard = threading.Lock()
        self._merger: threading.Thread | None = None
        self._merge_again = False

    @property
    def current(self) -> Searcher:
        return self._current

    @property
    def version(self):
        """The version answering: its folder (a local index) or the Milvus index's stamp; None if unknown."""
        return self._version

    def swap(self, searcher: Searcher) -> None:
        self._current = searcher

    def refresh(self) -> bool:
        """Load the index's live version if it is not the one answering; True if it switched."""
        if self.index_dir is None:
            return False
        with self._reload_lock:
            version = self._live_version()
            if version is None or version == self._version:
                return False
            if isinstance(self.index_dir, MilvusAddress):  # the same connection: a milvus-lite file has one owner
                from index.store.milvus import MilvusStore  # imported only for a Milvus index (see index.store)

                store = MilvusStore(self.index_dir, self._current.store.client)
            else:  # the segments the answering version holds are taken from it, not read again
                previous = self._current.store
                store = LocalStore.open(self.index_dir, previous if isinstance(previous, LocalStore) else None)
            self._current = Searcher(store, embedder=self._current.embedder, fusion=self._current.fusion)
            self._version = version
            _log.info("now answering from %s", version)
            return True

    def merge_in_background(self) -> None:
        """Repair the nearest-chunk lists a change left with a gap (index.collection.updating.repair), then merge the
        local index's segments by the policy, in a background thread, then answer from the new version. One merge at a time; a call while one runs asks for another round after it. A merge holds the
        writer lock (changes wait), never the readers; it is a daemon thread because a merge killed at any moment
        leaves the index as it was (see index.store.disk)."""
        if not isinstance(self.index_dir, Path):
            return
        with self._merge_guard:
            if self._merger is not None and self._merger.is_alive():
                self._merge_again = True
                return
            self._merger = threading.Thread(target=self._merge, name="zhqa-merge", daemon=True)
            self._merger.start()

    def _merge(self) -> None:
        while True:
            try:
                answering = self._current.store
                # the segments the server holds are not read again (nor held twice in memory)
                held = answering.index if isinstance(answering, LocalStore) else None
                index, repaired = repair(self.index_dir, previous=held)
                if repaired:
                    _log.info("nearest-chunk lists searched again after a removal: %d", repaired)
                _, report = merge(self.index_dir, current=None, previous=index if repaired else held)
                if report.merged:
                    _log.info("index segments: %s", report.summary())
                if repaired or report.merged:
                    self.refresh()
            except Exception:  # the index stays as it was; the next change tries again
                _log.warning("merging the index's segments failed", exc_info=True)
            with self._merge_guard:
                if not self._merge_again:
                    return
                self._merge_again = False

    def wait_for_merges(self, timeout: float | None = None) -> None:
        """Until the background merge (if any) is done."""
        merger = self._merger
        if merger is not None:
            merger.join(timeout)

    def _live_version(self):
        if self.index_dir is None:
            return None
        if isinstance(self.index_dir, MilvusAddress):
            return self._current.store.stamp()
        return live_version(self.index_dir)

    def watch(self, interval: float = POLL_SECONDS) -> None:
        """Check for a new version every `interval` seconds in a background thread (a daemon)."""
        if self._watcher is not None or self.index_dir is None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.refresh()
                except Exception:  # a version being written or removed: try again at the next tick
                    _log.warning("could not load the new index version yet", exc_info=True)

        self._watcher = threading.Thread(target=loop, name="zhqa-index-watch", daemon=True)
        self._watcher.start()

    def prepare_for_changes(self) -> None:
        """In a background thread, what the first change in this process would otherwise wait for (see
        index.collection.updating.prepare); a local index only."""
        if isinstance(self.index_dir, Path):
            embedder = getattr(self._current, "embedder", None)
            threading.Thread(target=prepare, args=(self.index_dir, embedder), name="zhqa-prepare", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
