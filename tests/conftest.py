"""Shared fixtures: the real seed corpus, indexed once per test session with the real model."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
CHROMIUM = "/usr/bin/chromium"  # Debian's; a browser is never downloaded


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory) -> Path:
    """An index of `corpus/` built with the default model."""
    from index import build_index

    index_dir = tmp_path_factory.mktemp("seed-index")
    build_index(CORPUS, index_dir, progress=False)
    return index_dir


@pytest.fixture(scope="session")
def searcher(seed_index_dir):
    from qa import Searcher

    return Searcher.open(seed_index_dir)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- web page (tests/test_ui.py, tests/test_browser.py) -------------------------------------
EVIL_DOCS = [  # text and metadata holding HTML: the page must show it as text
    {
        "doc_id": "evil", "title": "<b>测试</b>标题<script>alert('t')</script>", "source": "<img src=x onerror=alert(1)>日报",
        "date": "2024-05-01",
        "text": "关于拿地即开工的试点说明。\n网页里混进了<script>alert(1)</script>这样的代码，应当原样显示为文字。"
                "拿地即开工改革让项目审批时间缩短了一半。\n另有 a & b < c > d \"引号\" 'single' 等字符。",
    },
    {"doc_id": "plain", "title": "普通文件", "source": "太行日报", "date": "2023-01-02",
     "text": "营商环境持续优化。\n企业开办时间压缩到一个工作日以内。"},
]


@pytest.fixture(scope="session")
def evil_searcher(tmp_path_factory):
    """A real index of a tiny JSONL corpus whose text and metadata hold HTML and script tags."""
    import json

    from index import build_index
    from qa import Searcher

    root = tmp_path_factory.mktemp("evil")
    corpus = root / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in EVIL_DOCS) + "\n", encoding="utf-8")
    build_index(corpus, root / "index", progress=False)
    return Searcher.open(root / "index")


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole session (Playwright's sync API allows one instance per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()
