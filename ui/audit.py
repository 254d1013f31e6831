"""The audit log: who changed the collection, logged in or ran an evaluation, from where, and how it ended.

One JSON object per line, appended and fsynced, never rewritten: {"time", "user", "client", "action",
"documents", "outcome", "detail"}. Actions: login, upload, delete, reindex, evaluate (from the page), add,
remove, sync, build, optimize (from `zhqa`); ask, only with `zhqa serve --log-questions`: questions may be personal
data (a name, a case), so by default none is kept. Outcomes: ok, refused (no rights, a wrong password, over
an upload limit), failed (the change did not happen), unchanged (nothing to do). The file is created
owner-only (0600).

    zhqa audit [--since 2026-12-01] [--user alice]
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ACTIONS = ("login", "upload", "delete", "reindex", "evaluate", "add", "remove", "sync", "build", "optimize", "ask")
OUTCOMES = ("ok", "refused", "failed", "unchanged")
FILE_NAME = "audit.jsonl"


def default_path(index_dir: Path) -> Path:
    """Where an index's audit log lives when no other place is named: beside its versions."""
    return Path(index_dir) / FILE_NAME


@dataclass
class AuditLog:
    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, action: str, user: str | None, client: str | None, outcome: str, documents=(), detail: str = "") -> dict:
        """Append one line and fsync it before returning: an acknowledged change is in the log."""
        assert action in ACTIONS and outcome in OUTCOMES, (action, outcome)
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "user": user, "client": client,
                 "action": action, "documents": [str(d) for d in documents], "outcome": outcome, "detail": detail}
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a line torn by a crash stays alone; this entry starts its own line
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        return entry


def read_entries(path: Path, since: str = "", user: str | None = None) -> list[dict]:
    """The log's entries, oldest first; `since` an ISO date or time (UTC), `user` one user's. A line that is
    not an entry (a torn last line after a crash) is skipped."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("time", "") < since or (user is not None and entry.get("user") != user):
            continue
        out.append(entry)
    return out


def format_entry(entry: dict) -> str:
    docs = entry.get("documents") or []
    shown = "、".join(docs[:5]) + (f" 等 {len(docs)} 份" if len(docs) > 5 else "")
    return "  ".join(x for x in (entry.get("time", ""), entry.get("user") or "-", entry.get("client") or "-",
                                  entry.get("action", ""), entry.get("outcome", ""), shown, entry.get("detail", "")) if x)
