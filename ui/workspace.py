"""Where the web page writes its exports (report basket DOCX/Markdown, evaluation reports) and how long they stay.

Every export gets its own folder under one root per server. A folder older than KEPT_SECONDS is removed when
the next export is made, and the root goes when the server process exits; Gradio's own cache of uploaded and
served files is cleaned on the same schedule (`DELETE_CACHE`, given to gr.Blocks).
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
import time
from pathlib import Path

KEPT_SECONDS = 24 * 3600  # a day: long enough to download what was exported
DELETE_CACHE = (3600, KEPT_SECONDS)  # Gradio: look every hour, delete files older than a day


def new_root() -> Path:
    """A fresh export root for one server, removed when the process exits."""
    root = Path(tempfile.mkdtemp(prefix="zhqa-ui-"))
    atexit.register(shutil.rmtree, root, True)
    return root


def work_folder(root: Path, prefix: str) -> str:
    """A new folder under `root` for one export, after removing the folders older than KEPT_SECONDS."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for child in root.iterdir():
        try:
            stale = child.is_dir() and now - child.stat().st_mtime > KEPT_SECONDS
        except FileNotFoundError:  # removed meanwhile by another request
            continue
        if stale:
            shutil.rmtree(child, ignore_errors=True)
    return tempfile.mkdtemp(prefix=prefix, dir=root)
