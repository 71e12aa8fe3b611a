"""A scripted OpenAI-compatible HTTP server, for durability tests and benchmarks.

It is a real HTTP server on 127.0.0.1 that answers ``/v1/chat/completions`` after a
fixed latency, with a canned answer (a JSON critique when asked for JSON), and logs
every request it gets. It is not a model: use it to measure and test the plumbing
(concurrency, resume after a kill, "never pay twice") where the words do not matter.

    python -m tests.support.stub_server --port 8799 --latency 0.05 --log requests.jsonl

Faults are opt-in (``Faults``; off by default): a chosen request gets a 200 whose
``choices`` is ``[]``, picked by its number (1-based, in arrival order) or by a marker
in its last message.

    python -m tests.support.stub_server --empty-choices-marker BAD --empty-choices-at 3,7
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Faults", "StubServer", "main"]

CANNED_CRITIQUE = {
    "findings": [
        {"quote": "Stub answer", "issue": "The answer does not cite the context.", "severity": "low", "category": "unsupported-claim"}
    ],
    "summary": "A canned critique from the stub server.",
}


@dataclass(frozen=True)
class Faults:
    """Which chat requests get a 200 with an empty ``choices`` list instead of an answer.

    ``empty_choices_at``: request numbers (1-based, in arrival order, over every chat request).
    ``empty_choices_marker``: any request whose last message contains this text.
    """

    empty_choices_at: frozenset[int] = frozenset()
    empty_choices_marker: str | None = None
    # any request whose last message contains this text gets an answer with no words in it
    # (``content`` null), and with this one whitespace only
    null_content_marker: str | None = None
    blank_content_marker: str | None = None

    def empty_choices(self, number: int, last_message: str) -> bool:
        if number in self.empty_choices_at:
            return True
        return bool(self.empty_choices_marker) and self.empty_choices_marker in last_message  # type: ignore[operator]


class StubServer:
    """Serve canned chat completions on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        port: int = 0,
        *,
        latency: float = 0.0,
        log_path: str | Path | None = None,
        faults: Faults | None = None,
    ):
        self.latency = latency
        self.log_path = Path(log_path) if log_path else None
        self.faults = faults or Faults()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._chats = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _record(self, entry: dict[str, Any], message: str | None = None) -> None:
        """Log a request; mark it ``fault`` if the faults pick it (by number, or a marker in ``message``)."""
        with self._lock:
            self._chats += 1
            if self.faults.empty_choices(self._chats, entry["last_message"] if message is None else message):
                entry["fault"] = "empty_choices"
            self.requests.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry) + "\n")
                    handle.flush()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes; without TCP_NODELAY the body waits
            # for the client's delayed ACK (~40 ms), which would swamp the set latency
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                    return
                messages = request.get("messages") or []
                wants_json = "response_format" in request
                last = str(messages[-1].get("content", "")) if messages else ""
                entry = {
                    "kind": "critique" if wants_json else "draft",
                    "digest": hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16],
                    "last_message": last[:200],
                    "path": self.path,
                    "at": time.time(),
                }
                server._record(entry, last)
                if server.latency:
                    time.sleep(server.latency)
                content = json.dumps(CANNED_CRITIQUE) if wants_json else f"Stub answer to: {last[:80]}"
                choices = [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ]
                if entry.get("fault") == "empty_choices":
                    choices = []
                elif server.faults.null_content_marker and server.faults.null_content_marker in last:
                    choices[0]["message"]["content"] = None
                elif server.faults.blank_content_marker and server.faults.blank_content_marker in last:
                    choices[0]["message"]["content"] = "  \n\t "
                self._send(
                    200,
                    {
                        "id": "chatcmpl-stub",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "stub"),
                        "choices": choices,
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    },
                )

        return Handler

    def start(self) -> StubServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="stub-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--log", help="append one JSON line per request here")
    parser.add_argument("--empty-choices-at", default="", help="answer these requests (1-based, comma-separated) "
                        "with a 200 whose choices is []")
    parser.add_argument("--empty-choices-marker", help="answer requests whose last message contains this with "
                        "a 200 whose choices is []")
    args = parser.parse_args(argv)
    faults = Faults(frozenset(int(n) for n in args.empty_choices_at.split(",") if n.strip()), args.empty_choices_marker)
    server = StubServer(args.port, latency=args.latency, log_path=args.log, faults=faults)
    print(server.api_base, flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
