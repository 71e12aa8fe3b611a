"""README is the contract: its test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"```bash\n(python3 -m venv .venv && .*?)\n```", readme)
    assert len(commands) == 2, "README must open with the two commands: set-up + main job, and tests"
    setup, tests = commands
    assert "oversight demo" in setup and ".[local]" in setup
    assert "pytest" in tests and "--record-mode=none" in tests
    assert tests in ci


def test_the_readme_python_example_runs_as_written(tmp_path: Path) -> None:
    """The library example, unchanged, against a local OpenAI-compatible server (no network)."""
    import json
    import os
    import subprocess
    import sys

    from oversight.store import Store
    from tests.support.stub_server import StubServer

    readme = (ROOT / "README.md").read_text()
    examples = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    example = next(e for e in examples if "Project.open" in e)
    (tmp_path / "example.py").write_text(example)
    (tmp_path / "tasks.jsonl").write_text(
        "".join(json.dumps({"id": f"q{i}", "prompt": f"What is {i} + {i}?"}) + "\n" for i in range(3))
    )
    with StubServer() as stub:
        env = {**os.environ, "OVERSIGHT_API_BASE": stub.api_base, "OVERSIGHT_API_KEY": "sk-test",
               "OVERSIGHT_DB": str(tmp_path / "example.db"), "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Store.open(tmp_path / "example.db") as store:
        refinements = store.refinements()
        states = {s.task_id: s.state for s in store.task_states()}
    assert sorted(r.task_id for r in refinements) == ["q0", "q1", "q2"]
    assert {r.decision for r in refinements} == {"reject"}
    assert {r.tags[0] for r in refinements} == {"unsupported-claim"}
    assert states == {"q0": "refined", "q1": "refined", "q2": "refined"}


def test_the_readme_simulated_judge_example_runs_as_written(tmp_path: Path) -> None:
    """The researchers' example, unchanged, on the LLMBar slice the audit tests use."""
    import shutil
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text()
    example = next(e for e in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "PlantedJudge" in e)
    published = tmp_path / "LLMBar" / "Natural" / "evaluators" / "GPT-4" / "Swap"
    published.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "audit" / "llmbar" / "neighbor_gpt4_swap.json", published / "result.json")
    (tmp_path / "example.py").write_text(example)
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    import ast

    lists, fair = (ast.literal_eval(line) for line in done.stdout.strip().splitlines())
    # seeded (seed=1): on this slice the planted list bias is found in 18 of 20 runs, the fair judge never flagged
    assert lists == {"flag_rate": 0.9, "right_sign_rate": 0.9, "coverage": 1.0, "fitted": 20.0}
    assert fair == {"flag_rate": 0.0}


def test_no_file_holds_a_merge_conflict_marker() -> None:
    """A merge that kept both sides' markers ships them to every reader (README did once)."""
    marker = re.compile(r"^(<{7} |={7}$|>{7} )", re.MULTILINE)
    files = [p for folder in ("src", "tests", "prompts", "bench", "graphs", "examples", ".ci")
             for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in {".py", ".md", ".html", ".js",
                                                                                 ".css", ".yaml", ".toml", ""}]
    files += [ROOT / "README.md", ROOT / "pyproject.toml"]
    found = [str(p.relative_to(ROOT)) for p in files if marker.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert found == []


def test_the_readme_chat_log_example_imports_as_shown(tmp_path: Path, monkeypatch) -> None:
    """The worked example of tasks that come with their drafts: its log line, its command, its output."""
    import shlex

    from click.testing import CliRunner

    from oversight.cli import cli
    from oversight.store import Store

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n\$ cat logs.jsonl\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    line, command, *shown = block.group(1).splitlines()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs.jsonl").write_text(line + "\n", encoding="utf-8")
    args = shlex.split(command.removeprefix("$ oversight "))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == shown[0] + "\n"
    assert result.stderr.splitlines()[-1] == shown[1]
    with Store.open(tmp_path / "oversight.db") as store:
        (task,) = store.tasks()
        draft = store.get_draft(store.task_state(task.id)["draft_id"])
    assert task.id == "chat-0192" and task.prompt.startswith("System: You are Acme") and draft is not None
    assert (draft.model, draft.text) == ("support-bot-v3", "Yes, returns are accepted within 60 days, no receipt needed.")
