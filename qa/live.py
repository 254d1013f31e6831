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

from index import load_index
from index.store import live_version

from .search import Searcher

_log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class LiveSearcher:
    def __init__(self, searcher: Searcher, index_dir: Path | None = None):
        self._current = searcher
        self.index_dir = Path(index_dir) if index_dir is not None else getattr(searcher.index, "path", None)
        self._version = live_version(self.index_dir) if self.index_dir is not None else None
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def current(self) -> Searcher:
        return self._current

    def swap(self, searcher: Searcher) -> None:
        self._current = searcher

    def refresh(self) -> bool:
        """Load the index's live version if it is not the one answering; True if it switched."""
        if self.index_dir is None:
            return False
        with self._reload_lock:
            version = live_version(self.index_dir)
            if version is None or version == self._version:
                return False
            index = load_index(self.index_dir)
            self._current = Searcher(index, embedder=self._current.embedder, fusion=self._current.fusion)
            self._version = version
            _log.info("now answering from %s", version.name)
            return True

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
