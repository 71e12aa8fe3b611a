"""The demo: the whole refine loop on bundled real tasks, with nobody at the keyboard.

Tasks and human refinements come from FineGrainedRLHF's qa-feedback dev set
(Apache-2.0; see data/demo/README.md). The model drafts and critiques for real; the
refinements are replayed from the annotators' corrections.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oversight import review
from oversight.export import export_rows, write_jsonl
from oversight.pipelines import draft_tasks
from oversight.runtime import Runtime
from oversight.tasks import load_tasks

__all__ = ["DEMO_DATA", "DemoResult", "run_demo"]

DEMO_DATA = Path(__file__).resolve().parent / "data" / "demo"


@dataclass
class DemoResult:
    """What the demo did and where it left things."""

    workspace: Path
    db: str
    model: str
    tasks: int
    drafted: int
    refined: int
    seconds: float
    tokens: int
    export_path: Path
    items: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


async def run_demo(
    runtime: Runtime,
    workspace: Path,
    *,
    limit: int = 6,
    on_progress: Any = None,
) -> DemoResult:
    """Import ``limit`` bundled tasks, draft and critique them, replay the human refinements.

    Safe to run again: finished work is found in the workspace's database, not redone.
    Raises OversightError (LocalModelError when the embedded model is not installed).
    """
    started = time.monotonic()
    workspace.mkdir(parents=True, exist_ok=True)
    tasks = load_tasks(DEMO_DATA / "tasks.jsonl")[:limit]
    answers = dict(review.read_answers(DEMO_DATA / "refinements.jsonl"))
    store = runtime.store
    store.add_tasks(tasks, source="oversight demo (FineGrainedRLHF dev)")
    ids = [t.id for t in tasks]
    summary = await draft_tasks(runtime, ids, on_done=on_progress)
    refined = 0
    for entry in review.queue(store):
        answer = answers.get(entry.task_id)
        if answer is not None and entry.task_id in ids:
            await review.submit(runtime, entry.task_id, answer)
            refined += 1
    rows = [row for row in export_rows(store) if row["task_id"] in ids]
    export_path = workspace / "refinements.jsonl"
    write_jsonl(rows, export_path)
    status = store.status()
    return DemoResult(
        workspace=workspace,
        db=runtime.settings.db,
        model=runtime.drafter.model,
        tasks=len(ids),
        drafted=summary.count("drafted") + summary.count("resumed"),
        refined=refined,
        seconds=round(time.monotonic() - started, 1),
        tokens=status["tokens"],
        export_path=export_path,
        items=rows,
        errors=summary.errors,
    )
