"""Load on a real `zhqa serve`, in one run, beside the limit measured in the same run.

    .venv/bin/python bench/load.py [--clients 1,8,32] [--questions 30] [--browsers 4] [--concurrency 2]
                                   [--api-processes N] [--soak 5000]

1. The in-process limit: the seed questions answered by as many worker threads as cores, in this process,
   without HTTP (`ask` on the same index): questions per second.
2. `zhqa serve` started on the seed index (with --api-processes workers): seconds until its first answer, and its
   resident memory (with its workers').
3. For each client count: that many HTTP clients (httpx) asking --questions each over `POST /api/ask`: throughput,
   p50, p95, errors, throughput as a share of the limit, and the CPU per answer of the server and of the clients
   (they share the cores); then the largest count again with the standard library's http.client, lighter
   clients; then `gradio_client` at the largest count, while --browsers Chromium sessions ask in the page.
4. Optionally a soak that watches the server's resident memory.
tests/test_load.py runs a small version of the same.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 120.0  # a request slower than this counts as a timeout


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timeouts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: float = 0.0  # wall time of the whole run

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")

    def add(self, seconds: float | None, error: str | None = None) -> None:
        with self.lock:
            if error:
                self.errors.append(error)
            elif seconds is not None and seconds > TIMEOUT:
                self.timeouts += 1
            elif seconds is not None:
                self.latencies.append(seconds)

    def row(self, name: str) -> str:
        lat = sorted(self.latencies)
        if not lat:
            return f"{name:6} no successful requests; errors {len(self.errors)}"
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        return (f"{name:6} requests {len(lat) + len(self.errors) + self.timeouts:5d}  errors {len(self.errors)}  "
                f"timeouts {self.timeouts}  p50 {1000 * statistics.median(lat):6.0f} ms  p95 {1000 * p95:6.0f} ms  "
                f"{self.throughput:6.1f} q/s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions() -> list[str]:
    with open(ROOT / "eval" / "questions" / "seed.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


def start_server(index_dir: Path, corpus: Path, concurrency: int, log: Path,
                 api_processes: int = 0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    zhqa = Path(sys.executable).with_name("zhqa")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    out = open(log, "wb")
    proc = subprocess.Popen([str(zhqa), "serve", "--index", str(index_dir), "--corpus", str(corpus), "--port", str(port),
                             "--concurrency", str(concurrency), "--no-sync", "--api-processes", str(api_processes)],
                            stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    # ready when a question is answered; the first HTTP answer of any kind must be that answer (a server that
    # listened before its routes were in place once answered a busy start's first questions 404)
    first = urllib.request.Request(url + "api/ask", json.dumps({"question": questions()[0]}).encode("utf-8"),
                                   {"Content-Type": "application/json"}, method="POST")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"zhqa serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(first, timeout=TIMEOUT):
                return proc, url
        except urllib.error.HTTPError as exc:
            proc.kill()
            raise RuntimeError(f"zhqa serve's first answer to POST /api/ask was HTTP {exc.code}, not an answer")
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("zhqa serve did not start within 600 s")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a server with --api-processes has its workers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process and its descendants (the live ones) have used so far."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, MB."""
    total = 0
    for p in process_tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total / 1024 if total else float("nan")


def api_client(url: str, asks: list[str], tally: Tally) -> None:
    """One program asking over the plain HTTP route, on one kept-alive connection (as httpx or requests would)."""
    import httpx  # Gradio's own HTTP client, installed with it

    with httpx.Client(base_url=url, timeout=TIMEOUT + 10) as client:
        for q in asks:
            started = time.perf_counter()
            try:
                r = client.post("api/ask", json={"question": q})
                r.raise_for_status()
                if not r.json().get("passages"):
                    raise ValueError("no passages")
                tally.add(time.perf_counter() - started)
            except Exception as e:
                tally.add(None, f"{type(e).__name__}: {str(e)[:200]}")


def gradio_client(url: str, asks: list[str], tally: Tally) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
    except Exception as e:  # the connection itself failed: every question of this client is an error
        for _ in asks:
            tally.add(None, f"connect: {type(e).__name__}: {e}")
        return
    for q in asks:
        started = time.perf_counter()
        try:
            result = client.predict(q, api_name="/ask")
            if not result.get("passages"):
                raise ValueError("no passages")
            tally.add(time.perf_counter() - started)
        except Exception as e:
            tally.add(None, f"{type(e).__name__}: {e}")


def browser_session(url: str, asks: list[str], tally: Tally) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT * 1000)
            page.goto(url)
            box = page.locator("#zq-question textarea")
            box.wait_for()
            for q in asks:
                started = time.perf_counter()
                try:
                    before = page.evaluate("document.querySelector('#zq-results').innerHTML")
                    box.fill(q)
                    box.press("Enter")
                    # answered: the cards changed and show their count (the questions differ one to the next)
                    page.wait_for_function(
                        "(before) => { const r = document.querySelector('#zq-results');"
                        " return r.innerHTML !== before && r.innerText.includes('共'); }", arg=before, polling=100)
                    tally.add(time.perf_counter() - started)
                except Exception as e:
                    tally.add(None, f"{type(e).__name__}: {str(e)[:200]}")
        finally:
            browser.close()


def client_questions(clients: int, per_client: int) -> list[list[str]]:
    qs = questions()
    return [[qs[(c * 7 + i) % len(qs)] for i in range(per_client)] for c in range(clients)]


def light_client(url: str, asks: list[str], tally: Tally) -> None:
    """The same program with the standard library's http.client: a fifth of httpx's CPU per request, so on one
    machine the clients leave more of the cores to the server (what clients on other machines would do)."""
    import http.client

    host = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=TIMEOUT + 10)
    try:
        for q in asks:
            started = time.perf_counter()
            try:
                connection.request("POST", host.path + "api/ask", json.dumps({"question": q}).encode("utf-8"),
                                   {"Content-Type": "application/json"})
                r = connection.getresponse()
                body = r.read()
                if r.status != 200:
                    raise ValueError(f"HTTP {r.status}")
                if not json.loads(body).get("passages"):
                    raise ValueError("no passages")
                tally.add(time.perf_counter() - started)
            except Exception as e:
                connection.close()  # a fresh connection for the next question
                tally.add(None, f"{type(e).__name__}: {str(e)[:200]}")
    finally:
        connection.close()


def run_load(url: str, clients: int, per_client: int, browsers: int, per_browser: int,
             client=api_client) -> tuple[Tally, Tally]:
    qs = questions()
    api, page = Tally(), Tally()
    threads = [threading.Thread(target=client, args=(url, asks, api)) for asks in client_questions(clients, per_client)]
    threads += [threading.Thread(target=browser_session, args=(url, [qs[(b * 11 + i) % len(qs)] for i in range(per_browser)], page))
                for b in range(browsers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    api.seconds = page.seconds = time.perf_counter() - started
    return api, page


def in_process_limit(index_dir: Path, asks: list[str]) -> float:
    """Questions a second when the same questions are answered by one worker thread per core in this process,
    without HTTP: what the server could do at best."""
    from concurrent.futures import ThreadPoolExecutor

    from qa import Searcher
    from ui.handlers import ask_json

    searcher = Searcher.open(index_dir)
    for q in asks[:20]:  # warm: the first questions load lazily built tables
        ask_json(searcher, q)
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        started = time.perf_counter()
        answered = sum(1 for r in pool.map(lambda q: ask_json(searcher, q), asks) if r["passages"])
        seconds = time.perf_counter() - started
    return answered / seconds


def soak(url: str, pid: int, n: int) -> tuple[float, float]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    qs = questions()
    warm = min(500, n // 10)
    before = None
    for i in range(n):
        client.predict(qs[i % len(qs)] + ("" if i < len(qs) else f" {i}"), api_name="/ask")
        if i + 1 == warm:
            before = rss_mb(pid)
    return before or float("nan"), rss_mb(pid)


def first_answer_after_start(index_dir: Path, concurrency: int, log: Path,
                             api_processes: int = 0) -> tuple[subprocess.Popen, str, float]:
    """Start `zhqa serve` and ask over /api/ask until an answer comes: (process, url, seconds from start)."""
    started = time.perf_counter()
    proc, url = start_server(index_dir, ROOT / "corpus", concurrency, log, api_processes)  # returns at the first answer
    return proc, url, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,8,32", help="client counts to run, comma-separated")
    parser.add_argument("--questions", type=int, default=30, help="questions per API client")
    parser.add_argument("--browsers", type=int, default=4)
    parser.add_argument("--browser-questions", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2, help="the server's queue concurrency (zhqa serve --concurrency)")
    parser.add_argument("--api-processes", type=int, default=0,
                        help="the server's worker processes for /api/ask (zhqa serve --api-processes; default 0: threads)")
    parser.add_argument("--soak", type=int, default=0, help="questions of a memory soak after the load (0: none)")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]

    from index import build_index

    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        build_index(ROOT / "corpus", index_dir, progress=False)
        limit = in_process_limit(index_dir, [q for asks in client_questions(max(counts), args.questions) for q in asks])
        print(f"in-process limit: {limit:.1f} q/s ({os.cpu_count()} worker threads, no HTTP)")
        proc, url, first = first_answer_after_start(index_dir, args.concurrency, Path(tmp) / "serve.log", args.api_processes)
        print(f"serve{f' --api-processes {args.api_processes}' if args.api_processes else ''}: first answer {first:.1f} s "
              f"after start; RSS {rss_mb(proc.pid):.0f} MB{' (with its workers)' if args.api_processes else ''}")
        try:
            for n, client in [(n, api_client) for n in counts] + [(max(counts), light_client)]:
                server_before, clients_before = cpu_seconds(proc.pid), time.process_time()
                api, _ = run_load(url, n, args.questions, 0, 0, client=client)
                # where the two cores went: the server's CPU per answer against the limit's, and the clients' own
                server = (cpu_seconds(proc.pid) - server_before) / max(1, len(api.latencies))
                clients = (time.process_time() - clients_before) / max(1, len(api.latencies))
                print(api.row(f"api/ask x{n}{' (http.client)' if client is light_client else ''}") + f"  {api.throughput / limit:.2f}x limit; CPU per answer: server "
                      f"{1000 * server:.1f} ms (limit {1000 * (os.cpu_count() or 2) / limit:.1f} ms), clients {1000 * clients:.1f} ms")
            api, page = run_load(url, max(counts), args.questions, args.browsers, args.browser_questions, client=gradio_client)
            print(api.row(f"gradio x{max(counts)}") + f"  {api.throughput / limit:.2f}x limit (queue concurrency "
                  f"{args.concurrency}), with {args.browsers} browsers x {args.browser_questions} in the page:")
            print(page.row("page"))
            for e in (api.errors + page.errors)[:5]:
                print("  error:", e)
            print(f"serve RSS after the load: {rss_mb(proc.pid):.0f} MB")
            if args.soak:
                before, after = soak(url, proc.pid, args.soak)
                print(f"soak: {args.soak} questions; server RSS {before:.0f} MB after warm-up, {after:.0f} MB at the end "
                      f"({after - before:+.0f} MB)")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
