"""A small version of bench/load.py against a real `zhqa serve`: HTTP API clients and a Chromium session at once, then
gradio_client callers; no errors and no timeouts (latency is the bench's business, not a test's). The server is probed
with a question from the moment its port opens, and its first HTTP answer must be an answer (it once was a 404)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from load import TIMEOUT, gradio_client, process_tree, questions, rss_mb, run_load, start_server  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium is missing: apt-get install chromium")


def test_api_clients_gradio_clients_and_a_browser_at_once(seed_index_dir, tmp_path):
    proc, url = start_server(Path(seed_index_dir), ROOT / "corpus", 2, tmp_path / "serve.log")
    try:
        api, page = run_load(url, clients=8, per_client=5, browsers=1, per_browser=3)
        assert api.errors == [] and api.timeouts == 0 and len(api.latencies) == 40
        assert page.errors == [] and page.timeouts == 0 and len(page.latencies) == 3
        gradio, _ = run_load(url, clients=4, per_client=3, browsers=0, per_browser=0, client=gradio_client)
        assert gradio.errors == [] and gradio.timeouts == 0 and len(gradio.latencies) == 12
        assert rss_mb(proc.pid) > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _ask(url: str, question: str) -> tuple[int, dict]:
    request = urllib.request.Request(url + "api/ask", json.dumps({"question": question}).encode("utf-8"),
                                     {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _workers(pid: int) -> list[int]:
    """The answering processes of a server (spawned by multiprocessing; its resource tracker is not one)."""
    found = []
    for p in process_tree(pid)[1:]:
        try:
            if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes():
                found.append(p)
        except OSError:
            pass
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


def _until(condition, what: str, seconds: float = 300):
    """Poll `condition` until it holds (a busy machine may take long; a broken server never does it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_api_processes_answer_as_the_server_does_follow_changes_and_outlive_a_killed_worker(tmp_path):
    """`zhqa serve --api-processes 2`: the same JSON as answering in the server's own process; a document added
    with `zhqa add` is answered by the workers; a worker killed costs its questions an error, not the server."""
    from index import build_index
    from qa import Searcher
    from ui.handlers import ask_json

    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    build_index(corpus, index_dir, progress=False)
    in_process = Searcher.open(index_dir)
    proc, url = start_server(index_dir, corpus, 2, tmp_path / "serve.log", api_processes=2)
    try:
        workers = _workers(proc.pid)
        assert len(workers) == 2
        for question in questions()[:6]:
            assert _ask(url, question) == (200, ask_json(in_process, question))

        os.kill(workers[0], signal.SIGKILL)
        # the next questions are answered all the same (by the pool started again, or the other worker before
        # the pool is found broken), and the pool is replaced by two new workers
        expected = {q: ask_json(in_process, q) for q in questions()[:3]}

        def answered_by_a_new_pool() -> bool:
            for q, answer in expected.items():
                assert _ask(url, q) == (200, answer)
            now = _workers(proc.pid)
            return len(now) == 2 and not set(now) & set(workers)

        _until(answered_by_a_new_pool, "two new workers after one was killed")

        notice = tmp_path / "测试市涉企事项通知.txt"
        notice.write_text("测试市涉企事项集成办理通知\n\n测试市推行涉企事项集成办理，今年共办结涉企事项4321件。\n",
                          encoding="utf-8")
        subprocess.run([str(Path(sys.executable).with_name("zhqa")), "add", "--index", str(index_dir), str(notice)],
                       check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})

        def answered_from_the_notice() -> bool:
            status, answer = _ask(url, "测试市今年办结了多少件涉企事项")
            return status == 200 and answer["passages"][0]["doc_id"] == "测试市涉企事项通知"

        _until(answered_from_the_notice, "the workers answer from the added document")
        assert "4321件" in json.dumps(_ask(url, "测试市今年办结了多少件涉企事项")[1], ensure_ascii=False)
        workers = _workers(proc.pid)
    finally:
        proc.terminate()  # SIGTERM: the server ends without shutting its pool down
        proc.wait(timeout=60)
    _until(lambda: not any(_running(p) for p in workers), "the workers end with the server", 60)
