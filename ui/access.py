"""Who may change the collection: users with salted password hashes and a role.

* reader: ask, read, export; admin: also add, delete and re-index documents and run evaluations.
* The users file (`zhqa user add NAME [--admin] --auth FILE`) holds scrypt hashes with a random salt per user,
  never a password; it is written atomically and readable by its owner only.
* Without a users file, the server binds 127.0.0.1 as always and nobody logs in: the 文档库 tab is read-only
  unless `zhqa serve --allow-changes`.
* Failed logins are rate-limited per user name: after MAX_FAILURES within WINDOW_SECONDS, that name is refused
  (even with the right password) until the window has passed, and every failure costs a short wait.
* With an audit log (`ui.audit`), every login through the page and every refused API login is recorded.
"""
from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .audit import AuditLog

ROLES = ("reader", "admin")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
FAILURE_DELAY = 0.5
# the address of the client whose login is being checked: Gradio calls `authenticate` without its request, so the
# login route sets this first (see ui.http_api)
LOGIN_CLIENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("login_client", default=None)
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@")


class AccessError(ValueError):
    """A bad users file or user name; the message is for the user."""


def _hash(password: str, salt: bytes, params: dict) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=params["n"], r=params["r"], p=params["p"],
                          maxmem=64 * 2**20).hex()


def load_users(path: Path) -> dict[str, dict]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        users = data["users"]
        for name, user in users.items():
            if user["role"] not in ROLES or not user["salt"] or not user["hash"]:
                raise ValueError(f"user {name!r} is incomplete")
        return users
    except FileNotFoundError:
        raise AccessError(f"users file not found: {path} (create it with: zhqa user add NAME --admin --auth {path})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise AccessError(f"{path} is not a zhqa users file ({e})") from None


def add_user(path: Path, name: str, password: str, admin: bool = False) -> None:
    """Add or replace a user in the users file at `path` (created if missing)."""
    if not name or set(name) - NAME_CHARS or len(name) > 64:
        raise AccessError("a user name is 1-64 letters, digits or . _ - @")
    if len(password) < 8:
        raise AccessError("a password needs at least 8 characters")
    path = Path(path)
    users = load_users(path) if path.exists() else {}
    salt = secrets.token_bytes(16)
    users[name] = {"role": "admin" if admin else "reader", "salt": salt.hex(), "scrypt": SCRYPT,
                   "hash": _hash(password, salt, SCRYPT)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"users": users}, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class Access:
    users: dict[str, dict] | None = None  # None: no login (nobody is an admin unless allow_changes)
    allow_changes: bool = False
    audit: AuditLog | None = None
    log_questions: bool = False  # questions may be personal data (a name, a case): kept only when asked to
    _failures: dict[str, deque] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_file(cls, path: Path) -> "Access":
        return cls(users=load_users(path))

    @property
    def login(self) -> bool:
        return self.users is not None

    def role(self, username: str | None) -> str | None:
        if self.users is None:
            return "admin" if self.allow_changes else "reader"
        user = self.users.get(username or "")
        return user["role"] if user else None

    def may_change(self, username: str | None) -> bool:
        """May this user add, delete and re-index documents (and run evaluations)?"""
        return self.role(username) == "admin"

    def may_evaluate(self, username: str | None) -> bool:
        return self.users is None or self.may_change(username)

    def record(self, action: str, user: str | None, client: str | None, outcome: str, documents=(), detail: str = "") -> None:
        """One line in the audit log, when the server keeps one."""
        if self.audit is not None:
            self.audit.record(action, user, client, outcome, documents, detail)

    def record_question(self, user: str | None, client: str | None, question: str, answer: dict | None) -> None:
        """An answered question and the documents its passages came from, with --log-questions only."""
        if self.log_questions and answer is not None:
            docs = list(dict.fromkeys(p["doc_id"] for p in answer.get("passages", ())))
            self.record("ask", user, client, "ok", docs, question)

    def authenticate(self, username: str, password: str, client: str | None = None, record_success: bool = True) -> bool:
        """The check Gradio's login calls; failures are counted and slowed down, and logged (successes too, unless
        `record_success` is False: an API call that carries its password would log every question)."""
        now = time.monotonic()
        with self._lock:
            recent = self._failures.setdefault(username, deque())
            while recent and now - recent[0] > WINDOW_SECONDS:
                recent.popleft()
            locked = len(recent) >= MAX_FAILURES
        user = (self.users or {}).get(username)
        ok = False
        if user is not None and not locked:
            ok = hmac.compare_digest(_hash(password, bytes.fromhex(user["salt"]), user.get("scrypt", SCRYPT)), user["hash"])
        if not ok:
            with self._lock:
                self._failures.setdefault(username, deque()).append(now)
            time.sleep(FAILURE_DELAY)
        if not ok or record_success:
            detail = "too many failures: locked for a while" if locked else ""
            self.record("login", username, client or LOGIN_CLIENT.get(), "ok" if ok else "refused", detail=detail)
        return ok
