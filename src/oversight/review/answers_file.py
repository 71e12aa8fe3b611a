"""A file of answers (`oversight review --answers FILE`): recorded all or nothing against the queue.

Scripts and replayed sessions answer many items at once. The whole file is read and checked first,
each line as it would be recorded (its task awaits review, nobody holds it on the review page, the
answer fits its draft and critique); then every item is held for its reviewer and the answers are
recorded in file order through the service's one way to submit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from oversight.errors import InputFileError, InvalidAnswerError, NotFoundError, OversightError
from oversight.files import keyed_rows
from oversight.refine.answers import RefinementInput
from oversight.review.service import SUBMIT_HOLD_SECONDS, load_item, submit
from oversight.schemas import Refinement, ReviewLease

if TYPE_CHECKING:
    from oversight.project import Project

__all__ = ["apply_answers", "read_answers"]


def read_answers(path: str | Path, *, reviewer: str | None = None) -> list[tuple[str, RefinementInput]]:
    """(task_id, answer) pairs from a JSONL/CSV file, the whole file checked first.

    ``reviewer`` is recorded on rows that name none. Raises InputFileError naming the
    line and field (a missing task_id, a bad field, the same task twice).
    """
    return [(task_id, answer) for _, task_id, answer in _read_answers(path, reviewer)]


def _read_answers(path: str | Path, reviewer: str | None) -> list[tuple[int, str, RefinementInput]]:
    out: list[tuple[int, str, RefinementInput]] = []
    for line, task_id, row in keyed_rows(path, "task_id", noun="task"):
        if reviewer and not row.get("reviewer"):
            row["reviewer"] = reviewer
        try:
            out.append((line, task_id, RefinementInput.model_validate(row)))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            raise InputFileError(str(path), line, field, first["msg"].lower()) from exc
    if not out:
        raise InputFileError(str(path), None, None, "the file holds no refinements")
    return out


def _check_and_hold(project: Project, path: str, planned: list[tuple[int, str, RefinementInput]]) -> None:
    """Check every planned answer as it would be recorded, then hold every item for its reviewer.

    Raises InputFileError naming the first line that cannot be recorded (not in the queue, held
    by someone else, an answer its draft or critique refuses); nothing is then left held.
    """
    from oversight.refine.answers import check_answer

    store = project.store
    for line, task_id, answer in planned:
        try:
            queued = load_item(store, task_id, answer.reviewer)
        except NotFoundError as exc:
            raise InputFileError(path, line, "task_id", f"{exc}; nothing recorded") from exc
        lease = store.review_lease(task_id)
        if lease is not None and lease.reviewer != answer.reviewer and lease.lease_until > store.clock():
            raise InputFileError(path, line, "task_id", f"task {task_id!r} is being reviewed by {lease.reviewer} "
                                                        "on the review page; nothing recorded")
        value = {**answer.model_dump(mode="json"), "arm": queued.arm}
        try:
            check_answer(value, queued.draft, queued.critique)
        except InvalidAnswerError as exc:
            raise InputFileError(path, line, None, f"{exc}; nothing recorded") from exc
    held: list[tuple[str, str, ReviewLease | None]] = []
    for line, task_id, answer in planned:
        before = store.review_lease(task_id)
        if store.claim_review(answer.reviewer, task_id=task_id, lease_seconds=SUBMIT_HOLD_SECONDS) is None:
            _unhold(project, held)
            raise InputFileError(path, line, "task_id", f"task {task_id!r} was just taken by someone else on the "
                                                        "review page; nothing recorded")
        held.append((task_id, answer.reviewer, before))


def _unhold(project: Project, held: list[tuple[str, str, ReviewLease | None]]) -> None:
    """Let go of items held for a file: back to the queue, or to the reviewer's own ordinary lease."""
    now = project.store.clock()
    for task_id, reviewer, before in held:
        if before is not None and before.reviewer == reviewer and before.lease_until > now:
            project.store.claim_review(reviewer, task_id=task_id, lease_seconds=project.settings.review_lease_seconds)
        else:
            project.store.release_review(task_id, reviewer)


async def apply_answers(project: Project, path: str | Path, *, reviewer: str | None = None) -> list[Refinement]:
    """Record a JSONL/CSV file of answers (``read_answers``), all or nothing against the queue.

    Every line is checked first, as it would be recorded: its task awaits review, no one else
    holds it on the review page, its answer fits the draft and critique. Then every item is held
    for its reviewer and the answers are recorded in file order. Raises InputFileError naming
    the line and field; before anything is recorded, nothing is (and nothing stays held).
    """
    from oversight.pipelines.refine import holding_refine_graph

    name = str(path)
    planned = await asyncio.to_thread(_read_answers, path, reviewer)
    await asyncio.to_thread(_check_and_hold, project, name, planned)
    recorded: list[Refinement] = []
    async with holding_refine_graph(project):  # one checkpointer for the whole file
        for index, (line, task_id, answer) in enumerate(planned):
            try:
                recorded.append(await submit(project, task_id, answer, reviewer=answer.reviewer, timed=False))
            except BaseException as exc:
                rest = [(t, a.reviewer, None) for _, t, a in planned[index + 1:]]
                await asyncio.to_thread(_unhold, project, rest)
                if isinstance(exc, OversightError):
                    raise InputFileError(name, line, None, f"{exc}; the {index} line(s) before it were recorded, "
                                                           "this one and those after it were not") from exc
                raise
    return recorded
