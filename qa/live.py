"""The searcher a running server answers from, moved to each new version of its index as it appears.

A handler takes `live.current` once and answers the whole question from it, so a question in flight finishes
on the version it started with; the next one gets the new version. The switch is one assignment. A new version
(from `zhqa add` in a shell, or an upload in the page) is loaded beside the old one, with the same loaded model,
and only then swapped in.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from index.store import live_version
from index.store import MilvusAddress, open_store

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
            else:
                store = open_store(self.index_dir)
            self._current = Searcher(store, embedder=self._current.embedder, fusion=self._current.fusion)
            self._version = version
            _log.info("now answering from %s", version)
            return True

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

    def stop(self) -> None:
        self._stop.set()
