"""LangGraph's own API server (`langgraph dev`) loads graphs/refine.py and runs a thread
through the human pause and the resume. The model behind it is the stub server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from oversight.local import free_port
from oversight.schemas import Task
from oversight.store import Store
from tests.support.stub_server import StubServer

ROOT = Path(__file__).resolve().parents[1]
LANGGRAPH = shutil.which("langgraph", path=str(Path(sys.executable).parent))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(LANGGRAPH is None, reason="langgraph-cli[inmem] is not installed (it is in the [test] extra)"),
]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"langgraph dev exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/ok", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("langgraph dev did not start")


def test_langgraph_dev_runs_the_refine_graph_through_interrupt_and_resume(tmp_path: Path) -> None:
    from langgraph_sdk import get_client

    db = tmp_path / "server.db"
    with Store.open(db) as store:
        store.add_tasks([Task(id="q1", prompt="What is 2 + 2?")])
    port = free_port()
    with StubServer() as stub:
        env = {**os.environ, "OVERSIGHT_DB": str(db), "OVERSIGHT_MODEL": "openai/stub-model",
               "OVERSIGHT_API_BASE": stub.api_base, "OVERSIGHT_API_KEY": "sk-test"}
        process = subprocess.Popen(
            [LANGGRAPH, "dev", "--config", str(ROOT / "langgraph.json"), "--port", str(port), "--no-browser", "--no-reload"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # paths in langgraph.json are relative
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, process)

            async def drive() -> tuple[dict, dict]:
                client = get_client(url=url)
                thread = await client.threads.create()
                await client.runs.wait(thread["thread_id"], "refine", input={"task_id": "q1"})
                paused = await client.threads.get_state(thread["thread_id"])
                await client.runs.wait(thread["thread_id"], "refine",
                                       command={"resume": {"decision": "reject", "tags": ["wrong-sum"]}})
                done = await client.threads.get_state(thread["thread_id"])
                return paused, done

            paused, done = asyncio.run(drive())
        finally:
            process.terminate()
            process.wait(timeout=20)
    assert paused["next"] == ["human_refine"]
    payload = paused["interrupts"][0]["value"]
    assert payload["task"]["id"] == "q1" and payload["draft"]["text"].startswith("Stub answer")
    assert payload["critique"]["findings"][0]["category"] == "unsupported-claim"
    assert done["next"] == [] and done["values"]["refinement"]["decision"] == "reject"
    with Store.open(db) as store:
        assert [r.tags for r in store.refinements()] == [["wrong-sum"]]
        assert json.loads(json.dumps(store.status()))["states"]["refined"] == 1
