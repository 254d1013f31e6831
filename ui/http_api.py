"""Plain HTTP routes on the page's own server, beside Gradio's: `GET /healthz` for monitoring and
`POST /api/ask` for programs.

Gradio's API puts every call through its event queue and a server-sent-event stream; a program asking many
questions pays for that on each one. `/api/ask` takes a JSON object and answers with the same JSON as
`zhqa ask --json`, with the same argument checks and access rules as Gradio's `/ask` (a login, when the server
has one: the page's session cookie or HTTP Basic). Questions are answered in a pool of one thread per core
(more threads would only make each question wait longer for the same two cores), or in worker processes with
`zhqa serve --api-processes N` (ui.answer_processes).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

from fastapi import Depends, Request  # Gradio's own web framework, loaded with it
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from qa import LiveSearcher

from .access import LOGIN_CLIENT, Access
from .answer_processes import AnswerProcesses
from .handlers import MSG_FAILED, UserProblem, api_arguments, ask_json

_log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a question with its filters is a few KB; anything larger is not one
MSG_LOGIN = "需要登录：请用页面的登录信息（HTTP Basic 或页面登录后的 cookie）调用接口。"
MSG_BODY = "请求体应为 JSON 对象，例如 {\"question\": \"哪些城市推行拿地即开工？\", \"k\": 5}。"
MSG_TOO_LARGE = "请求体太大（上限 64 KB）。"
MSG_FIELDS = "不认识的字段：{}。可用字段：question、k、sources、date_from、date_to。"
FIELDS = ("question", "k", "sources", "date_from", "date_to")


def health(live: LiveSearcher) -> tuple[int, dict]:
    """What `GET /healthz` answers, without login, for an operations team's monitoring: 200 with the index's
    version, documents, chunks and the time of its last change; 503 while no index can serve."""
    try:
        store = live.current.store
        documents, chunks = len(store.documents), int(store.n_chunks)
    except Exception:  # no searcher, or its store cannot be read
        _log.warning("health check: the index cannot serve", exc_info=True)
        return 503, {"status": "unavailable", "reason": "no index can serve"}
    if chunks <= 0:
        return 503, {"status": "unavailable", "reason": "the index is empty"}
    version = live.version
    changed = None
    if isinstance(version, Path) and version.exists():
        changed = datetime.fromtimestamp(version.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    name = version.name if isinstance(version, Path) else (str(version) if version is not None else None)
    return 200, {"status": "ok", "index_version": name, "documents": documents, "chunks": chunks,
                 "last_change": changed}


def _user(request: Request, app, access: Access) -> str | None:
    """Who is asking: the page's login cookie, else HTTP Basic checked like the login form (failures counted)."""
    for name in (f"access-token-{app.cookie_id}", f"access-token-unsecure-{app.cookie_id}"):
        user = app.tokens.get(request.cookies.get(name))
        if user:
            return user
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client = request.client.host if request.client else None
    return name if access.authenticate(name, password, client=client, record_success=False) else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def routes_lifespan(live: LiveSearcher, access: Access, processes: int = 0):
    """A lifespan for Gradio's app (`launch(app_kwargs={"lifespan": ...})`) that adds our routes at the server's
    startup, which runs before it listens: added after `launch` returned, the first questions of a busy start
    could be answered 404 (seen in CI: 9 of 40). `processes`: answer /api/ask in that many worker processes
    (see ui.answer_processes); 0, in a pool of one thread per core in this process."""

    @asynccontextmanager
    async def lifespan(app):
        if not getattr(app.state, "zhqa_routes", False):  # Gradio may start a server twice on one app
            app.state.zhqa_processes = AnswerProcesses(live.index_dir, processes) if processes else None
            add_routes(app, live, access, app.state.zhqa_processes)
            app.state.zhqa_routes = True
        try:
            yield
        finally:
            if getattr(app.state, "zhqa_processes", None) is not None:
                app.state.zhqa_processes.close()
                app.state.zhqa_processes = None

    return lifespan


def add_routes(app, live: LiveSearcher, access: Access, processes: AnswerProcesses | None = None) -> None:
    """GET /healthz and POST /api/ask on Gradio's app, ahead of Gradio's own routes."""
    pool = None if processes else ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="zhqa-ask")

    def healthz():
        status, body = health(live)
        return JSONResponse(body, status_code=status)

    async def api_ask(request: Request):
        user = _user(request, app, access) if access.login else None
        if access.login and user is None:
            return JSONResponse({"error": MSG_LOGIN}, status_code=401, headers={"WWW-Authenticate": 'Basic realm="zhqa"'})
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, MSG_TOO_LARGE)
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error(400, MSG_BODY)
        if not isinstance(payload, dict):
            return _error(400, MSG_BODY)
        unknown = sorted(set(payload) - set(FIELDS))
        if unknown:
            return _error(400, MSG_FIELDS.format("、".join(unknown)[:200]))
        try:
            arguments = api_arguments(*(payload.get(name) for name in FIELDS))
            if processes is not None:
                answer = await processes.answer(live.version, arguments)
            else:
                searcher = live.current
                answer = await asyncio.get_running_loop().run_in_executor(pool, lambda: ask_json(searcher, *arguments))
        except UserProblem as exc:
            return _error(400, str(exc))
        except Exception:
            _log.exception("api ask failed for %r", payload.get("question"))
            return _error(500, MSG_FAILED)
        access.record_question(user, request.client.host if request.client else None, arguments[0], answer)
        return JSONResponse(answer)

    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/api/ask", api_ask, methods=["POST"], include_in_schema=False)
    added = 2
    gradio_login = next((r for r in app.router.routes if getattr(r, "path", "") == "/login"
                         and "POST" in getattr(r, "methods", ())), None)
    if gradio_login is not None and access.login:
        login = gradio_login.endpoint

        async def login_with_client(request: Request, form_data: OAuth2PasswordRequestForm = Depends()):
            # Gradio's own login, with the client's address known to the audit log
            LOGIN_CLIENT.set(request.client.host if request.client else None)
            return await login(request, form_data)

        app.add_api_route("/login", login_with_client, methods=["POST"], include_in_schema=False)
        added += 1
    routes = app.router.routes
    routes[:0] = [routes.pop() for _ in range(added)]  # ahead of Gradio's own routes
