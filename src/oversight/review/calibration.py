"""Calibration items: drafts every trainer refines blind, then compares with an expert's refinement.

A lead seeds an item with an expert's refinement (from a file, or from a refinement already
in the store). Each trainer meets calibration items in their queue: the first item they
review, then one after every ``calibration_every`` items refined (never an item they are the
expert of; their time on it runs from when the server first served it). After a trainer submits
one, the page shows the expert's version and the differences. Leads read how far each
trainer agrees with the experts and with each other, week by week (``agreement``).

A calibration answer is checked exactly as a queued answer is (``check_answer``), but it is
kept apart from the production refinements: the same draft refined by every trainer would
otherwise weigh on the failure patterns many times over.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ValidationError

from oversight.errors import InputFileError, InvalidAnswerError, NotFoundError
from oversight.files import keyed_rows
from oversight.refine.answers import RefinementInput
from oversight.review.qualify import refuse_paused
from oversight.schemas import CalibrationAnswer, CalibrationItem, Draft, Refinement
from oversight.store import Store

if TYPE_CHECKING:
    from oversight.project import Project

__all__ = [
    "Agreement",
    "ExpertAnswer",
    "PairAgreement",
    "agreement",
    "answer",
    "due",
    "final_text",
    "read_expert_answers",
    "read_items",
    "score",
    "serve",
    "seed_from_refinement",
]

_WORD = re.compile(r"\S+")


def final_text(decision: str, refined_text: str | None, draft_text: str) -> str:
    """The text a decision leaves: the draft when accepted, the refined text when edited, none otherwise."""
    if decision == "accept":
        return draft_text
    if decision in ("edit", "rewrite"):
        return refined_text or ""
    return ""


def _text_similarity(a: str, b: str) -> float:
    """Share of words two texts have in common, in order (1.0 for two identical or two empty texts)."""
    x, y = _WORD.findall(a), _WORD.findall(b)
    if not x and not y:
        return 1.0
    return difflib.SequenceMatcher(a=x, b=y, autojunk=False).ratio()


def _tags(tags: Iterable[str]) -> list[str]:
    """Tags as refinements keep them: trimmed, lower case, spaces as hyphens, each once."""
    return list(dict.fromkeys(t.strip().lower().replace(" ", "-") for t in tags if t.strip()))


def _tag_overlap(a: Iterable[str], b: Iterable[str]) -> float:
    """Jaccard of two tag sets (1.0 when both are empty)."""
    x, y = set(a), set(b)
    return 1.0 if not x and not y else len(x & y) / len(x | y)


def score(item: CalibrationItem, refinement: Refinement, draft: Draft) -> CalibrationAnswer:
    """How close a trainer's refinement of a calibration item came to the expert's."""
    expert = final_text(item.decision, item.refined_text, draft.text)
    theirs = final_text(refinement.decision, refinement.refined_text, draft.text)
    return CalibrationAnswer(
        task_id=item.task_id,
        reviewer=refinement.reviewer,
        refinement=refinement,
        decision_agrees=refinement.decision == item.decision,
        tag_overlap=round(_tag_overlap(item.tags, refinement.tags), 4),
        text_similarity=round(_text_similarity(expert, theirs), 4),
    )


def due(store: Store, reviewer: str, every: int) -> CalibrationItem | None:
    """The calibration item ``reviewer`` should meet now, or None.

    One is due first of all, then after every ``every`` items refined; the oldest item
    they have not answered is the one. Raises TrainerPausedError when a lead paused them.
    """
    refuse_paused(store, reviewer)
    progress = store.reviewer_progress(reviewer, since=_EPOCH)
    if progress["calibration"] * every > progress["done"] + progress.get("skipped", 0):
        return None
    return store.next_calibration_item(reviewer)


# The longest time an answer is credited with: a tab left open overnight is not a day's work.
MAX_SECONDS = 4 * 3600.0


def serve(store: Store, task_id: str, reviewer: str) -> CalibrationItem:
    """The calibration item to show ``reviewer``; the time on it runs from its first serving (server clock).

    Raises NotFoundError (no such item, or the reviewer is its expert: their answer is the yardstick),
    TrainerPausedError (a lead paused them).
    """
    refuse_paused(store, reviewer)
    item = store.calibration_item(task_id)
    if item is None:
        raise NotFoundError(f"task {task_id!r} is not a calibration item")
    if item.expert == reviewer:
        raise NotFoundError(f"calibration item {task_id!r} is not served to {reviewer}: they are its expert")
    store.serve_calibration_item(task_id, reviewer)
    return item


async def answer(
    project: Project, task_id: str, value: RefinementInput | dict[str, Any], *, reviewer: str
) -> CalibrationAnswer:
    """Check and keep a trainer's answer to a calibration item, scored against the expert's.

    An answer that gives no time is credited with the time since the item was first served to
    the reviewer (``serve``), at most MAX_SECONDS. Raises NotFoundError (no such calibration
    item) or InvalidAnswerError (nothing kept; the expert's own answer too). A second answer
    by the same trainer keeps the first.
    """
    from oversight.refine.answers import check_answer

    store = project.store
    item = await asyncio.to_thread(store.calibration_item, task_id)
    if item is None:
        raise NotFoundError(f"task {task_id!r} is not a calibration item")
    if item.expert == reviewer:
        raise InvalidAnswerError(f"you are the expert of calibration item {task_id!r}: "
                                 "your answer is the one others are compared with")
    draft = await asyncio.to_thread(store.get_draft, item.draft_id)
    if draft is None:
        raise NotFoundError(f"calibration item {task_id!r} has no draft")
    critique = await asyncio.to_thread(store.get_critique, item.critique_id) if item.critique_id else None
    data = value.model_dump(mode="json") if isinstance(value, RefinementInput) else dict(value)
    data["reviewer"] = reviewer
    served = await asyncio.to_thread(store.calibration_served_at, task_id, reviewer)
    if not data.get("seconds_spent") and served is not None:
        data["seconds_spent"] = round(max(0.0, min((store.clock() - served).total_seconds(), MAX_SECONDS)), 1)

    def check_and_keep() -> CalibrationAnswer:  # in a thread: a long text's diff takes a while
        refinement = check_answer(data, draft, critique, key=f"calibration::{reviewer}")
        return store.save_calibration_answer(score(item, refinement, draft))

    return await asyncio.to_thread(check_and_keep)


def seed_from_refinement(store: Store, refinement: Refinement, *, expert: str | None = None) -> CalibrationItem:
    """Make a refinement in the store the expert version of a new calibration item on its draft."""
    if refinement.decision == "skip":
        raise ValueError("a skipped item cannot be a calibration item: it has no expert answer")
    item = CalibrationItem(
        task_id=refinement.task_id, draft_id=refinement.draft_id, critique_id=refinement.critique_id,
        decision=refinement.decision,
        refined_text=refinement.refined_text if refinement.decision in ("edit", "rewrite") else None,
        tags=refinement.tags, rationale=refinement.rationale, expert=expert or refinement.reviewer,
    )
    return store.save_calibration_item(item)


class ExpertAnswer(NamedTuple):
    """One row of a file of expert answers: the line, the draft it answers (with the critique shown beside
    it, if any) and the expert's answer (``reviewer``: the expert; tags as refinements keep them)."""

    line: int
    task_id: str
    draft_id: str
    critique_id: str | None
    answer: RefinementInput


def read_expert_answers(store: Store, path: str | Path, *, expert: str | None = None,
                        noun: str = "calibration item") -> list[ExpertAnswer]:
    """Expert answers from a JSONL/CSV file, the whole file checked first (calibration and gold items read it).

    Each row names a task that has a draft (``task_id``; ``draft_id`` optional, else the task's
    newest draft) and the expert's answer (decision, refined_text, tags, rationale; ``expert``,
    else the ``expert`` argument), each task once. Raises InputFileError naming the line and field
    (``noun``: what a row makes, for the messages).
    """
    rows: list[ExpertAnswer] = []
    for line, task_id, row in keyed_rows(path, "task_id", noun="task"):  # a task has one item a file
        drafts = store.drafts_of_task(task_id)
        draft_id = row.pop("draft_id", None) or (drafts[-1].id if drafts else None)
        if draft_id is None or draft_id not in {d.id for d in drafts}:
            raise InputFileError(str(path), line, "draft_id" if row.get("draft_id") else "task_id",
                                 f"task {task_id!r} has no draft {draft_id!r}" if draft_id else
                                 f"task {task_id!r} has no draft to make a {noun} of")
        who = row.pop("expert", None) or expert
        if not who:
            raise InputFileError(str(path), line, "expert", "required field is missing (or pass --expert)")
        if isinstance(row.get("tags"), str):
            row["tags"] = [tag for tag in (t.strip() for t in row["tags"].split(",")) if tag]
        if row.get("decision") in ("edit", "rewrite") and not row.get("refined_text"):  # name the field missing
            raise InputFileError(str(path), line, "refined_text", f"decision {row['decision']!r} needs refined_text")
        try:
            answer_ = RefinementInput.model_validate({**row, "reviewer": who})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or None
            raise InputFileError(str(path), line, where, first["msg"].lower()) from exc
        if answer_.decision == "skip":
            raise InputFileError(str(path), line, "decision", f"a {noun} needs an answer, not 'skip'")
        state = store.task_state(task_id)
        answer_ = answer_.model_copy(update={"tags": _tags(answer_.tags), "rationale": answer_.rationale.strip()})
        rows.append(ExpertAnswer(line, task_id, draft_id,
                                 state["critique_id"] if state["draft_id"] == draft_id else None, answer_))
    if not rows:
        raise InputFileError(str(path), None, None, f"the file holds no {noun}s")
    return rows


def read_items(store: Store, path: str | Path, *, expert: str | None = None) -> list[CalibrationItem]:
    """Calibration items from a JSONL/CSV file of expert answers (``read_expert_answers``), the whole file
    checked first. Raises InputFileError naming the line and field."""
    return [CalibrationItem(task_id=row.task_id, draft_id=row.draft_id, critique_id=row.critique_id,
                            decision=row.answer.decision, refined_text=row.answer.refined_text, tags=row.answer.tags,
                            rationale=row.answer.rationale, expert=row.answer.reviewer)
            for row in read_expert_answers(store, path, expert=expert)]


# -- agreement, for leads ---------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Agreement:
    """One trainer against the experts: overall and by week (ISO week start, UTC)."""

    reviewer: str
    answered: int = 0
    decision_agreement: float = 0.0
    tag_overlap: float = 0.0
    text_similarity: float = 0.0
    by_week: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PairAgreement:
    """Two trainers on the calibration items both answered."""

    a: str
    b: str
    items: int
    decision_agreement: float
    tag_overlap: float
    text_similarity: float


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _summary(answers: list[CalibrationAnswer]) -> dict[str, Any]:
    return {
        "answered": len(answers),
        "decision_agreement": _mean([1.0 if a.decision_agrees else 0.0 for a in answers]),
        "tag_overlap": _mean([a.tag_overlap for a in answers]),
        "text_similarity": _mean([a.text_similarity for a in answers]),
    }


def agreement(store: Store) -> tuple[list[Agreement], list[PairAgreement]]:
    """Each trainer's agreement with the experts (overall, by week) and each pair's with each other."""
    experts = {item.task_id: item.expert for item in store.calibration_items()}
    # an expert's answer to their own item agrees with itself: it says nothing of them
    answers = [a for a in store.calibration_answers() if a.reviewer != experts.get(a.task_id)]
    drafts = store.drafts({a.refinement.draft_id for a in answers})
    by_reviewer: dict[str, list[CalibrationAnswer]] = defaultdict(list)
    for a in answers:
        by_reviewer[a.reviewer].append(a)
    people = []
    for reviewer, theirs in sorted(by_reviewer.items()):
        weeks: dict[datetime, list[CalibrationAnswer]] = defaultdict(list)
        for a in theirs:
            day = a.created_at.replace(hour=0, minute=0, second=0, microsecond=0)
            weeks[day - timedelta(days=day.weekday())].append(a)
        people.append(Agreement(reviewer=reviewer, **_summary(theirs),
                                by_week=[{"week": f"{w:%Y-%m-%d}", **_summary(v)} for w, v in sorted(weeks.items())]))
    pairs = []
    for a, b in combinations(sorted(by_reviewer), 2):
        mine = {x.task_id: x.refinement for x in by_reviewer[a]}
        shared = [(mine[y.task_id], y.refinement) for y in by_reviewer[b] if y.task_id in mine]
        if not shared:
            continue
        texts = []
        for x, y in shared:
            draft_text = drafts[x.draft_id].text if x.draft_id in drafts else ""
            texts.append(_text_similarity(final_text(x.decision, x.refined_text, draft_text),
                                          final_text(y.decision, y.refined_text, draft_text)))
        pairs.append(PairAgreement(
            a=a, b=b, items=len(shared),
            decision_agreement=_mean([1.0 if x.decision == y.decision else 0.0 for x, y in shared]),
            tag_overlap=_mean([_tag_overlap(x.tags, y.tags) for x, y in shared]),
            text_similarity=_mean(texts),
        ))
    return people, pairs
