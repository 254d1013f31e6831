"""The searcher for an index: opened (and, when missing or stale, first made current by index.collection)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from index.collection import Target
from index.collection import ensure_current, say

from .search import Searcher


def open_or_build(index_dir: Target, corpus: Path, model: str | None = None, rebuild_stale: bool = True,
                  progress: bool = True, log: Callable[[str], None] = say) -> Searcher:
    """A Searcher over `index_dir`, which index.collection (re)builds from `corpus` first when it is missing or stale."""
    return Searcher(ensure_current(index_dir, corpus, model, rebuild_stale=rebuild_stale, progress=progress, log=log))
