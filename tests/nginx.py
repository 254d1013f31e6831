"""Debian's nginx in front of a test server, configured with the very block docs/nginx.md gives administrators
(only its upstream port changed), run unprivileged from a temporary folder: what the docs promise is what the
tests prove.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from conftest import free_port

DOCS = Path(__file__).resolve().parent.parent / "docs" / "nginx.md"
STARTUP_SECONDS = 120  # a deadline, not a wait: the port is polled and nginx's own exit is noticed at once


def documented_block() -> str:
    """The ```nginx block of docs/nginx.md."""
    found = re.search(r"```nginx\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, f"no nginx block in {DOCS}"
    return found.group(1)


def start_nginx(upstream_port: int, folder: Path) -> tuple[subprocess.Popen, str]:
    """nginx on a free port of 127.0.0.1 with the documented block; returns (process, the site's root URL).
    Stop it with `stop_nginx`."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    block = documented_block()
    assert "127.0.0.1:7860/" in block
    block = block.replace("127.0.0.1:7860/", f"127.0.0.1:{upstream_port}/")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    temp = "\n".join(f"  {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # as root, nginx's workers would switch to nobody, who cannot use this private folder
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
  access_log {folder / 'access.log'};
{temp}
  server {{
    listen 127.0.0.1:{port};
{block}
  }}
}}
""", encoding="utf-8")
    process = subprocess.Popen([binary, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(folder / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"nginx did not start: {process.stderr.read().decode(errors='replace')}"
                                 f"{(folder / 'error.log').read_text(errors='replace') if (folder / 'error.log').exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"nginx did not listen on {port} within {STARTUP_SECONDS} s")


def stop_nginx(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
