"""A fault-injecting HTTP proxy, used only while recording cassettes.

It answers the first N requests itself with a real 429 (with Retry-After) or 500, then
forwards everything to the real model server, so the cassette holds what a client sees
from a rate-limited or failing endpoint followed by the real model's answer.

    python -m tests.support.fault_proxy --port 8766 --upstream http://127.0.0.1:8765 --fail 429,500
"""

from __future__ import annotations

import argparse
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def serve(port: int, upstream: str, failures: list[int]) -> ThreadingHTTPServer:
    lock = threading.Lock()
    pending = list(failures)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                fail = pending.pop(0) if pending else None
            if fail == 429:
                payload = {"error": {"message": "Rate limit reached; retry after 1s", "type": "rate_limit_error"}}
                self._reply(429, json.dumps(payload).encode(), {"content-type": "application/json", "retry-after": "1"})
                return
            if fail is not None:
                payload = {"error": {"message": "upstream overloaded", "type": "server_error"}}
                self._reply(fail, json.dumps(payload).encode(), {"content-type": "application/json"})
                return
            request = urllib.request.Request(
                upstream + self.path, data=body, method="POST", headers={"content-type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    self._reply(response.status, response.read(), {"content-type": "application/json"})
            except urllib.error.HTTPError as exc:
                self._reply(exc.code, exc.read(), {"content-type": "application/json"})

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    return httpd


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--upstream", default="http://127.0.0.1:8765")
    parser.add_argument("--fail", default="429", help="comma-separated statuses for the first requests")
    args = parser.parse_args()
    serve(args.port, args.upstream, [int(s) for s in args.fail.split(",") if s]).serve_forever()
