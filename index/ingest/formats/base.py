"""What every format reader shares: its options and the one error that rejects a file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_OCR_PAGES = 100  # pages OCR'd per file at most; a scan longer than this is cut, with a message
DEFAULT_MAX_FILE_MB = 200


class FileRejected(ValueError):
    """The file cannot be read (encrypted, damaged, too large, a zip bomb ...); the message says why."""


@dataclass(frozen=True)
class ReadOptions:
    ocr_pages: int = DEFAULT_OCR_PAGES  # 0 turns OCR off
    max_file_mb: float = DEFAULT_MAX_FILE_MB
    progress: bool = False  # a progress bar per OCR'd file
    # where converted copies of office files are kept (an index keeps them in its folder); None: a private
    # temporary folder for this process
    converted: Path | None = None
