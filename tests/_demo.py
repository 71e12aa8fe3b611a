"""Real tasks for tests: the bundled FineGrainedRLHF demo set."""

from __future__ import annotations

from pathlib import Path

from oversight.refine.tasks import load_tasks
from oversight.schemas import Task

DEMO = Path(__file__).resolve().parents[1] / "src" / "oversight" / "data" / "demo"


def demo_tasks(n: int) -> list[Task]:
    return load_tasks(DEMO / "tasks.jsonl")[:n]
