"""A small version of bench/load.py against a real `zhqa serve`: HTTP API clients and a Chromium session at once, then
gradio_client callers; no errors and no timeouts (latency is the bench's business, not a test's). The server is probed
with a question from the moment its port opens, and its first HTTP answer must be an answer (it once was a 404)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from load import gradio_client, rss_mb, run_load, start_server  # noqa: E402

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
