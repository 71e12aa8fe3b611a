"""Durability across processes: a paused thread is answered from another process, and a
`draft` run killed with SIGKILL half way resumes without paying twice.

These run the real CLI in subprocesses against the stub OpenAI-compatible server
(tests/support/stub_server.py), a real HTTP server on 127.0.0.1 that logs every request.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.stub_server import StubServer


def oversight(*args: str, cwd: Path, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oversight", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=240, **kwargs)


@pytest.fixture
def stub(tmp_path: Path):
    with StubServer(latency=0.02, log_path=tmp_path / "requests.jsonl") as server:
        yield server


@pytest.fixture
def env(stub: StubServer, tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_")}
    out.update(OVERSIGHT_DB=str(tmp_path / "work.db"), OVERSIGHT_MODEL="openai/stub-model",
               OVERSIGHT_API_BASE=stub.api_base, OVERSIGHT_API_KEY="sk-test", LITELLM_LOCAL_MODEL_COST_MAP="True")
    return out


def write_tasks(path: Path, n: int) -> Path:
    with path.open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"task-{i:03d}", "prompt": f"Question {i:03d}: what is {i} + {i}?"}) + "\n")
    return path


def draft_requests(log: Path) -> list[str]:
    if not log.exists():
        return []
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [r["last_message"].split(":")[0] for r in rows if r["kind"] == "draft"]


def test_a_paused_thread_is_answered_from_another_process(tmp_path: Path, env: dict[str, str]) -> None:
    write_tasks(tmp_path / "tasks.jsonl", 2)
    assert oversight("tasks", "import", "tasks.jsonl", cwd=tmp_path, env=env).returncode == 0
    first = oversight("draft", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "2 awaiting review" in first.stdout
    # a different process, later: the trainer answers (accept, tags, why, verdict on the one finding, confidence)
    answers = "a\nunsupported-claim\nNo citation.\nr\n4\nx\n\nWrong sum.\nw\n\n"
    second = oversight("review", "--reviewer", "bo", cwd=tmp_path, env=env, input=answers)
    assert second.returncode == 0, second.stderr
    assert "recorded 2 refinement(s)" in second.stdout
    exported = [json.loads(line) for line in oversight("export", cwd=tmp_path, env=env).stdout.splitlines()]
    by_decision = {row["decision"]: row for row in exported}
    assert set(by_decision) == {"accept", "reject"}
    assert by_decision["accept"]["tags"] == ["unsupported-claim"] and by_decision["accept"]["confidence"] == 0.75
    assert by_decision["accept"]["findings"][0]["verdict"] == "right"
    assert by_decision["reject"]["findings"][0]["verdict"] == "wrong"
    assert all(row["reviewer"] == "bo" for row in exported)
    status = json.loads(oversight("status", "--json", cwd=tmp_path, env=env).stdout)
    assert status["states"]["refined"] == 2


def test_draft_killed_half_way_resumes_without_paying_twice(tmp_path: Path, env: dict[str, str], stub: StubServer) -> None:
    n = 200
    write_tasks(tmp_path / "tasks.jsonl", n)
    assert oversight("tasks", "import", "tasks.jsonl", cwd=tmp_path, env=env).returncode == 0
    log = tmp_path / "requests.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "oversight", "draft", "--concurrency", "4"], cwd=tmp_path,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while len(draft_requests(log)) < n // 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    with sqlite3.connect(tmp_path / "work.db") as db:
        drafted_before = {row[0] for row in db.execute("SELECT task_id FROM drafts")}
    assert 0 < len(drafted_before) < n, "the kill should land half way"
    requests_before = len(draft_requests(log))

    rerun = oversight("draft", "--concurrency", "4", cwd=tmp_path, env=env)
    assert rerun.returncode == 0, rerun.stderr

    with sqlite3.connect(tmp_path / "work.db") as db:
        per_task = dict(db.execute("SELECT task_id, COUNT(*) FROM drafts GROUP BY task_id").fetchall())
        critiques = db.execute("SELECT COUNT(*) FROM critiques").fetchone()[0]
    assert len(per_task) == n and set(per_task.values()) == {1}
    assert critiques == n
    asked_again = draft_requests(log)[requests_before:]
    again_prompts = set(asked_again)
    for task_id in drafted_before:  # no second model call for a task already drafted
        assert f"Question {task_id[-3:]}" not in again_prompts
    # every task's draft was asked for at most once more than it was stored (a request in flight at the kill)
    assert len(asked_again) <= n - len(drafted_before)
