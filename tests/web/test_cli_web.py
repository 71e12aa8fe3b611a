"""`oversight serve`, `oversight users` and `oversight calibration` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.config import load_settings
from oversight.project import Project
from oversight.review.accounts import authenticate, token_hash
from oversight.schemas import Task
from tests.support.review_seed import seed_items
from tests.web.conftest import free_port


def run(db: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def test_serve_help_documents_host_port_workers_and_the_database() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--proxy-headers", "--forwarded-allow-ips"):
        assert option in result.output
    assert "PostgreSQL URL" in result.output
    assert "--db" in result.output


def test_users_add_prints_the_token_once_and_keeps_only_its_hash(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    added = run(db, "users", "add", "ana", "--role", "trainer")
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    assert token.startswith("ovt_")
    assert "shown once" in added.stderr
    again = run(db, "users", "add", "ana", "--role", "lead")
    assert again.exit_code == 1
    assert "user 'ana' exists" in again.output
    bad = run(db, "users", "add", "<script>", "--role", "lead")
    assert bad.exit_code == 1
    assert "letters, digits" in bad.output
    with Project.open(load_settings(db=str(db))) as rt:
        assert authenticate(rt.store, token).name == "ana"  # type: ignore[union-attr]
        assert authenticate(rt.store, token + "x") is None
    raw = db.read_bytes()
    assert token.encode() not in raw
    assert token_hash(token).encode() in raw
    listed = run(db, "users", "list", "--json")
    assert [u["name"] for u in json.loads(listed.stdout)] == ["ana"]
    renewed = run(db, "users", "token", "ana")
    assert renewed.exit_code == 0
    with Project.open(load_settings(db=str(db))) as rt:
        assert authenticate(rt.store, token) is None
        assert authenticate(rt.store, renewed.stdout.strip()).name == "ana"  # type: ignore[union-attr]
    assert run(db, "users", "disable", "ana").exit_code == 0
    with Project.open(load_settings(db=str(db))) as rt:
        assert authenticate(rt.store, renewed.stdout.strip()) is None


def test_calibration_add_checks_the_whole_file_first(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    with Project.open(load_settings(db=str(db), model="openai/x", api_base="http://127.0.0.1:9/v1")) as rt:
        seed_items(rt, [(Task(id="q1", prompt="Capital of Peru? One word."), "Lima is the capital.", []),
                        (Task(id="q2", prompt="Capital of Chad? One word."), "N'Djamena.", [])])
    good = tmp_path / "expert.jsonl"
    good.write_text(json.dumps({"task_id": "q1", "decision": "edit", "refined_text": "Lima", "tags": "verbose"})
                    + "\n" + json.dumps({"task_id": "q2", "decision": "accept"}) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "q1", "decision": "edit", "refined_text": "Lima"}) + "\n"
                   + json.dumps({"task_id": "q2", "decision": "edit"}) + "\n")
    refused = run(db, "calibration", "add", str(bad), "--expert", "eve")
    assert refused.exit_code == 1
    assert "bad.jsonl:2" in refused.output
    assert "needs refined_text" in refused.output
    no_expert = run(db, "calibration", "add", str(good))
    assert no_expert.exit_code == 1
    assert "field 'expert'" in no_expert.output
    with Project.open(load_settings(db=str(db))) as rt:
        assert rt.store.calibration_items() == []  # nothing from either bad file
    added = run(db, "calibration", "add", str(good), "--expert", "eve")
    assert added.exit_code == 0, added.output
    with Project.open(load_settings(db=str(db))) as rt:
        items = {i.task_id: i for i in rt.store.calibration_items()}
    assert (items["q1"].refined_text, items["q1"].tags, items["q1"].expert) == ("Lima", ["verbose"], "eve")
    assert items["q2"].decision == "accept"


@pytest.mark.slow
def test_serve_runs_a_real_server_process(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    token = run(db, "users", "add", "lea", "--role", "lead").stdout.strip()  # type: ignore[attr-defined]
    port = free_port()
    (tmp_path / "none.toml").write_text("")  # no settings from the working folder (a named file must exist)
    env = {**os.environ, "OVERSIGHT_CONFIG": str(tmp_path / "none.toml")}
    process = subprocess.Popen([sys.executable, "-m", "oversight", "--db", str(db), "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the server did not answer in 60 s"
            time.sleep(0.2)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            login = client.get("/login")
            nonce = login.text.split('name="nonce" value="', 1)[1].split('"', 1)[0]
            signed = client.post("/login", data={"token": token, "nonce": nonce, "next": "/lead"})
            assert signed.status_code == 303
            assert "Failure patterns" in client.get("/lead").text
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)


def test_calibration_add_refuses_a_task_twice_in_one_file(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    with Project.open(load_settings(db=str(db), model="openai/x", api_base="http://127.0.0.1:9/v1")) as rt:
        seed_items(rt, [(Task(id="q1", prompt="Capital of Peru? One word."), "Lima is the capital.", [])])
    twice = tmp_path / "twice.jsonl"
    twice.write_text(json.dumps({"task_id": "q1", "decision": "accept"}) + "\n"
                     + json.dumps({"task_id": "q1", "decision": "edit", "refined_text": "Lima"}) + "\n")
    refused = run(db, "calibration", "add", str(twice), "--expert", "eve")
    assert refused.exit_code == 1
    assert "twice.jsonl:2: field 'task_id': task 'q1' again (first on line 1)" in refused.output
    with Project.open(load_settings(db=str(db))) as rt:
        assert rt.store.calibration_items() == []
