"""Drafting many tasks with several workers on one database.

Each task is claimed under a lease before any model is called, so no task is paid for twice;
a crashed worker's tasks return to the queue when its lease runs out, or at once when it ran on
this machine and its process is gone.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from oversight.errors import OversightError
from oversight.pipelines.refine import draft_for_review
from oversight.project import Project
from oversight.store import Store

__all__ = ["DraftRunSummary", "ThreadOutcome", "draft_tasks"]

ThreadOutcome = Literal["drafted", "already_drafted", "resumed", "failed"]


@dataclass
class DraftRunSummary:
    """What a `draft` run did, task by task."""

    outcomes: dict[str, ThreadOutcome] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def count(self, outcome: ThreadOutcome) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tasks": len(self.outcomes),
            "drafted": self.count("drafted"),
            "resumed": self.count("resumed"),
            "already_drafted": self.count("already_drafted"),
            "failed": self.count("failed"),
            "errors": self.errors,
        }


async def draft_tasks(
    project: Project,
    task_ids: Iterable[str] | None = None,
    *,
    concurrency: int | None = None,
    on_done: Callable[[str, ThreadOutcome], None] | None = None,
) -> DraftRunSummary:
    """Draft and critique tasks up to the human pause, claiming each one first (``draft_for_review``:
    the refine graph's work before its pause, without the graph; the pause is written at the answer).

    Several workers (processes, machines) can run this on one database: each task is
    claimed under a lease before any model is called, so no task is paid for twice,
    and a crashed worker's tasks return to the queue when its lease expires, or at once
    if it ran on this machine (looked for at the start, and when the queue runs dry). A task
    whose drafting failed keeps its error and is tried again on the next run. Errors
    on one task do not stop the others; they are collected in the summary.
    """
    store = project.store
    wanted = list(dict.fromkeys(task_ids)) if task_ids is not None else None
    summary = DraftRunSummary()

    def finish(task_id: str, outcome: ThreadOutcome) -> None:
        summary.outcomes[task_id] = outcome
        if on_done is not None:
            on_done(task_id, outcome)

    states = await asyncio.to_thread(store.task_states, None, wanted)
    if wanted is not None:
        missing = set(wanted) - {s.task_id for s in states}
        for task_id in wanted:
            if task_id in missing:
                summary.errors[task_id] = f"no task with id {task_id!r}"
                finish(task_id, "failed")
    for s in states:
        if s.state in ("awaiting_review", "refined", "skipped"):
            finish(s.task_id, "already_drafted")
    todo = None if wanted is None else [s.task_id for s in states if s.task_id not in summary.outcomes]
    if todo == []:
        return summary
    lease = project.settings.lease_seconds
    worker = _worker_name()
    await asyncio.to_thread(_release_dead_workers, store)

    claimed: list[tuple[str, str, int]] = []  # claimed in batches, one UPDATE per batch
    claiming = asyncio.Lock()
    workers = concurrency or project.settings.concurrency

    async def claim() -> list[tuple[str, str, int]]:
        return await asyncio.to_thread(store.claim_tasks, lease_seconds=lease, limit=workers, task_ids=todo,
                                       exclude=list(summary.errors), worker=worker)

    async def next_task() -> tuple[str, str, int] | None:
        async with claiming:
            if not claimed:
                claimed.extend(await claim())
            if not claimed and await asyncio.to_thread(_release_dead_workers, store):
                # the queue ran dry while a worker of this machine died holding tasks: take them over
                claimed.extend(await claim())
            return claimed.pop(0) if claimed else None

    async def work() -> None:
        while (job := await next_task()) is not None:
            task_id, claim, attempts = job
            try:
                await draft_for_review(project, task_id, project.thread_id(task_id))
                outcome: ThreadOutcome = "resumed" if attempts > 1 else "drafted"
            except OversightError as exc:
                summary.errors[task_id] = str(exc)
                await asyncio.to_thread(store.mark_failed, task_id, str(exc), claim=claim)
                outcome = "failed"
            finish(task_id, outcome)

    await asyncio.gather(*(work() for _ in range(workers)))
    return summary


def _worker_name() -> str:
    """host/pid: lets a worker on the same machine see that a claim's process is gone."""
    return f"{socket.gethostname()}/{os.getpid()}"


def _release_dead_workers(store: Store) -> int:
    """Return tasks claimed by processes of this machine that no longer run (killed, crashed).

    Claims of other machines wait for their lease to expire: their processes cannot be seen.
    """
    host = socket.gethostname()
    released = 0
    for task_id, claim in store.held_claims():
        parts = (claim or "").split("/")
        if len(parts) < 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if not _process_alive(int(parts[1])) and store.release(task_id, claim):
            released += 1
    return released


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, run by someone else
    return True
