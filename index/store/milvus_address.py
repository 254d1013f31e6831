"""Where a Milvus index lives, and the error Milvus problems are told with: kept apart from the Milvus store so
that naming a Milvus index does not import pymilvus (with pandas, half a second of every process)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from index.config import cache_dir


class MilvusProblem(RuntimeError):
    """Milvus refused or failed; the message is meant for the user."""


@dataclass(frozen=True)
class MilvusAddress:
    """Where a Milvus index lives: a server URI (http://host:19530) or a milvus-lite file (`*.db`), and a name."""

    uri: str
    name: str = "zhqa"

    def __post_init__(self):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", self.name):
            raise MilvusProblem(f"{self.name!r} is not a Milvus collection name: use letters, digits and _")

    @property
    def is_lite(self) -> bool:
        return not re.match(r"^[a-z]+://", self.uri)

    @property
    def work_dir(self) -> Path:
        """A local folder for the writer lock and the embedding cache: beside a milvus-lite file, or in the
        cache folder for a server (one machine writes to a server index at a time)."""
        if self.is_lite:
            path = Path(self.uri).resolve()
            return path.with_name(f".{path.name}.zhqa-{self.name}")
        return cache_dir() / "milvus" / re.sub(r"[^A-Za-z0-9]+", "_", self.uri) / self.name

    def __str__(self) -> str:
        return f"{self.uri} (collection {self.name})"

    def collection(self, kind: str) -> str:
        return f"{self.name}_{kind}"
