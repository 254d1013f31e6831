"""Answering `POST /api/ask` in worker processes: `zhqa serve --api-processes N`.

In the server's own threads, questions share one interpreter lock with each other and with the event loop
that reads and writes every request: measured at 32 clients on two cores, the server then reached 0.74-0.86x of
what the same questions cost without HTTP (bench/load.py). Worker processes each hold their own copy of the
index and the model (300-500 MB each on the seed index) and reached 0.94-0.99x. Off by default: most offices
never ask a hundred questions a second, and the memory is theirs to spend.

Each worker opens the index itself and follows its versions: a question is sent with the version the
server answers from, and a worker on an older one loads the new one first, so an upload is answered by the
workers as soon as by the page. A worker that dies (killed, out of memory) ends its pool; the pool is started
again and the questions it held are asked once more. Workers end with the server, however it ends.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from index.store import open_store
from qa import LiveSearcher, Searcher

from .handlers import ask_json

_log = logging.getLogger(__name__)

_worker_live: LiveSearcher | None = None  # in a worker: the searcher it answers from


PARENT_CHECK_SECONDS = 1.0


def _end_with(server: int) -> None:
    """A worker ends when its server does: a server stopped by SIGTERM or SIGKILL never shuts its pool down, and
    its workers, waiting for questions that will not come, would each keep its copy of the index."""
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != server:
            os._exit(0)


def _open_in_worker(index_dir: str, server: int) -> None:
    global _worker_live
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal stops the server, which stops us
    threading.Thread(target=_end_with, args=(server,), name="zhqa-end-with-server", daemon=True).start()
    _worker_live = LiveSearcher(Searcher(open_store(Path(index_dir))), Path(index_dir))


def _answer_in_worker(version, arguments: tuple) -> dict:
    if version is not None and version != _worker_live.version:
        _worker_live.refresh()  # the server answers from a newer version: load it before answering
    return ask_json(_worker_live.current, *arguments)


class AnswerProcesses:
    """`processes` worker processes answering questions on the local index at `index_dir`."""

    def __init__(self, index_dir: Path, processes: int):
        self.index_dir, self.processes = Path(index_dir), processes
        # spawned, never forked: the server has threads (and ONNX Runtime's pools) a fork would copy mid-flight
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.processes, mp_context=self._context, initializer=_open_in_worker,
                                   initargs=(str(self.index_dir), os.getpid()))
        for _ in range(self.processes):  # start them now: the first questions should not wait for their opening
            pool.submit(int)
        return pool

    async def answer(self, version, arguments: tuple) -> dict:
        """`ask_json(searcher, *arguments)` in a worker on `version` of the index (UserProblem comes back as itself).
        A question that meets a broken pool is asked once more of the new one (a question that itself kills its
        worker fails the second time too, and is not asked a third)."""
        for attempt in (1, 2):
            pool = self._pool
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, _answer_in_worker, version, arguments)
            except BrokenProcessPool:
                with self._lock:
                    if self._pool is pool:
                        _log.error("an answering process died; starting them again")
                        self._pool = self._start()
                        pool.shutdown(wait=False, cancel_futures=True)
                if attempt == 2:
                    raise

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
