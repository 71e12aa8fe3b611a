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
