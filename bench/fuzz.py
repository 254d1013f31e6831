"""Hostile questions at volume: the strategies of tests/test_hostile.py, 10,000 examples each through the JSON API's
handler and the page's handler, on the real seed index and model. Prints examples tried, failures and their
first falsifying example, and the time taken.

    .venv/bin/python bench/fuzz.py [--examples 10000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from test_hostile import dates, ks, questions, sources  # noqa: E402

from index import build_index  # noqa: E402
from qa import Searcher  # noqa: E402
from ui.app import search_page  # noqa: E402
from ui.handlers import UserProblem, ask_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index, _ = build_index(ROOT / "corpus", Path(tmp) / "index", progress=False)
        searcher = Searcher(index)
        tried = {"api": 0, "page": 0}
        config = settings(max_examples=args.examples, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))

        @config
        @given(question=questions, k=ks, date_from=dates, date_to=dates, chosen=sources)
        def api(question, k, date_from, date_to, chosen):
            tried["api"] += 1
            try:
                result = ask_json(searcher, question, k, chosen, date_from, date_to)
            except UserProblem as exc:
                assert str(exc)
                return
            for p in result["passages"]:
                assert index.documents[p["doc_id"]].text[p["start"]:p["end"]] == p["text"]

        @config
        @given(question=questions, k=ks, date_from=dates, date_to=dates, chosen=sources)
        def page(question, k, date_from, date_to, chosen):
            tried["page"] += 1
            answer_html, cards_html, _ = search_page(searcher, question, k, chosen, date_from, date_to)
            assert cards_html and "<script>alert" not in answer_html + cards_html

        for name, test in (("api", api), ("page", page)):
            started = time.perf_counter()
            try:
                test()
                outcome = "no failure"
            except Exception as e:  # hypothesis re-raises the falsifying example's error
                outcome = f"FAILED: {type(e).__name__}: {str(e)[:300]}"
            seconds = time.perf_counter() - started
            print(f"{name:5} {tried[name]:6d} examples in {seconds:6.1f} s ({tried[name] / seconds:5.0f}/s): {outcome}")


if __name__ == "__main__":
    main()
