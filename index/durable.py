"""Writing the index so that nothing the user had is lost: what a failed write is called (`IndexProblem` and its
kinds, messages meant for the user) and how a write is made durable (fsync of files and folders). The bottom of
index/: the on-disk store and the embedding cache both write through it."""
from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path


class IndexProblem(RuntimeError):
    """Base for index problems; messages are meant for the user."""


class IndexMissing(IndexProblem):
    pass


class IndexBroken(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    pass


class IndexWriteError(IndexProblem):
    """A file of the index could not be written (full disk, file-size limit, I/O error); nothing was switched."""


def write_failure(exc: BaseException, folder: Path) -> IndexWriteError:
    """The user's message for a write into `folder` that failed with `exc` (an OSError, or faiss's
    RuntimeError, which carries the system's reason in its text)."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or "No space left" in text or "quota exceeded" in text.lower():
        why = "the disk is full"
    elif code == errno.EFBIG or "File too large" in text:
        why = "a file grew beyond the largest file this process may write (file-size limit)"
    else:
        why = (getattr(exc, "strerror", None) or text.strip().splitlines()[-1:] or [type(exc).__name__])[0]
    return IndexWriteError(f"could not write the index at {folder}: {why}; the previous index is unchanged "
                           "(free some space and run the command again)")


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder`, and the folders themselves, to disk."""
    for path in sorted(folder.rglob("*"), reverse=True):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in blocks: the store's checksums, the corpus fingerprint and the cache key of a
    converted office file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
