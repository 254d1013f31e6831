"""A small reverse proxy for the tests, doing what the nginx example in docs/ does: requests under a prefix
(`/zhqa/`) go to the upstream server with the prefix taken off and X-Forwarded-* headers set; responses are
streamed back as they come (Gradio's server-sent events), so a page served behind it works as it would behind
nginx. Everything else is 404.
"""
from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade"}


def start_proxy(upstream_port: int, prefix: str = "/zhqa") -> tuple[ThreadingHTTPServer, str]:
    """Serve on a free port; returns (server, the prefix's URL ending in "/"). Stop with server.shutdown()."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _forward(self) -> None:
            if self.path == prefix:
                self.send_response(301)
                self.send_header("Location", prefix + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if not self.path.startswith(prefix + "/"):
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
            headers.update({"Host": f"127.0.0.1:{upstream_port}", "X-Forwarded-For": self.client_address[0],
                            "X-Forwarded-Host": self.headers.get("Host", ""), "X-Forwarded-Proto": "http",
                            "X-Forwarded-Prefix": prefix})
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=300)
            try:
                upstream.request(self.command, self.path[len(prefix):], body=body, headers=headers)
                response = upstream.getresponse()
                self.send_response(response.status, response.reason)
                for k, v in response.getheaders():
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while True:
                    chunk = response.read1(65536)
                    if not chunk:
                        break
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            finally:
                upstream.close()

        do_GET = do_POST = do_PUT = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{prefix}/"
