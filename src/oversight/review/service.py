"""The review queue as a service: claim an item, open it, submit an answer, skip, release, reset.

`oversight review` (the terminal) and the review page both call these functions; a
researcher's script can too. A trainer claims an item under a lease (``claim``): two
trainers never hold the same item, and an abandoned lease runs out and the item returns
to the queue. The lease also starts the clock: the time on an item is measured from the
claim, not trusted from the client. Submitting resumes the task's paused refine thread, from
any process, any day. An answer is checked before anything is recorded: a bad one
raises InvalidAnswerError and the item stays in the queue, answerable again.

The queue is ordered and labelled by the audit's routing rule when one is stored
(``Store.save_routing_rule``): items that need several raters first, expert-only groups last
and marked as such.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oversight.errors import InvalidAnswerError, LeaseError, NotFoundError, OversightError
from oversight.refine.answers import RefinementInput
from oversight.review import gold_queue, qualify
from oversight.schemas import (
    ARMS,
    Arm,
    Critique,
    Draft,
    GroupRoute,
    Refinement,
    ReviewLease,
    Task,
    new_id,
)
from oversight.store import Store

if TYPE_CHECKING:  # the graph (langgraph, litellm) loads when an answer is submitted, not to read the queue
    from oversight.project import Project

__all__ = ["QueueEntry", "ReviewItem", "arm_of", "claim", "held_item", "item", "load_item", "queue", "release", "renew",
           "reset", "skip", "submit"]

# Which routes a trainer meets first: items that need more raters early, expert-only last.
_ROUTE_ORDER = {"several_raters": 0, "single_rater": 1, "automate": 2, "expert": 3}


@dataclass(frozen=True)
class QueueEntry:
    """One task awaiting review, with its route when the audit gave one."""

    task_id: str
    thread_id: str
    route: GroupRoute | None = None

    @property
    def label(self) -> str:
        """What the queue shows beside the item: '' or e.g. 'expert only', '3 raters'."""
        if self.route is None:
            return ""
        if self.route.route == "expert":
            return "expert only"
        if self.route.route == "several_raters":
            return f"{self.route.raters} raters"
        return self.route.route.replace("_", " ")


@dataclass(frozen=True)
class ReviewItem:
    """What a trainer sees for one task: the task, the draft, the AI critique, the route.

    In an assistance experiment's hidden arm (``arm == "critique_hidden"``) ``critique`` is None:
    the critique exists, the trainer is not shown it.
    """

    entry: QueueEntry
    task: Task
    draft: Draft
    critique: Critique | None
    arm: Arm | None = None


def queue(store: Store) -> list[QueueEntry]:
    """Tasks awaiting review, in the order a trainer should meet them."""
    states = store.task_states("awaiting_review")
    rule = store.routing_rule()
    if rule is None:
        return [QueueEntry(s.task_id, s["thread_id"]) for s in states]
    tasks = {t.id: t for t in store.tasks([s.task_id for s in states])}
    entries = []
    for s in states:
        task = tasks[s.task_id]
        entries.append(QueueEntry(s.task_id, s["thread_id"], rule.route_for(task.kind, task.domain)))
    order = {e.task_id: i for i, e in enumerate(entries)}
    return sorted(entries, key=lambda e: (_ROUTE_ORDER.get(e.route.route if e.route else "", 1), order[e.task_id]))


def _hide_gold(store: Store, task_id: str, reviewer: str | None) -> None:
    """Raise for another trainer's gold copy the NotFoundError a missing task raises: it is theirs alone."""
    if (copy := store.gold_copy(task_id)) is not None and copy.reviewer != reviewer:
        raise NotFoundError(f"no task with id {task_id!r}")


def load_item(store: Store, task_id: str, reviewer: str | None = None) -> ReviewItem:
    """``item``'s blocking read, for code already in a worker thread (an answers file checked whole)."""
    state = store.task_state(task_id)
    _hide_gold(store, task_id, reviewer)
    if state.state != "awaiting_review":
        raise NotFoundError(f"task {task_id!r} is not awaiting review (it is {state.state.replace('_', ' ')})")
    task = store.get_task(task_id)
    draft = store.get_draft(state["draft_id"] or "")
    if draft is None:
        raise NotFoundError(f"task {task_id!r} has no draft")
    rule = store.routing_rule()
    route = None if rule is None else rule.route_for(task.kind, task.domain)
    entry = QueueEntry(task_id, state["thread_id"], route)
    arm = arm_of(task)
    critique = None if arm == "critique_hidden" else store.get_critique(state["critique_id"] or "")
    return ReviewItem(entry, task, draft, critique, arm)


def arm_of(task: Task) -> Arm | None:
    """The assistance arm an experiment gave a task (its metadata ``arm``), or None."""
    arm = task.metadata.get("arm")
    return arm if arm in ARMS else None


async def item(project: Project, task_id: str, reviewer: str | None = None) -> ReviewItem:
    """Everything the trainer needs for one queued task. Raises NotFoundError (for a gold copy, unless
    ``reviewer`` is the trainer it was made for: it looks, and is answered, like any other item)."""
    return await asyncio.to_thread(load_item, project.store, task_id, reviewer)


async def claim(
    project: Project,
    reviewer: str,
    *,
    task_id: str | None = None,
    batch: str | None = None,
    domain: str | None = None,
    model: str | None = None,
) -> ReviewLease | None:
    """Claim the next queued item for ``reviewer`` (or one task), under a lease; None when none is free.

    A reviewer who holds an item already gets it back (its lease renewed, its clock not
    restarted). ``batch`` (the import's source), ``domain`` and ``model`` narrow the queue.
    Items the routing rule sends to experts go only to trainers qualified in their domain. A gold item
    may be due instead (``gold_queue.due_copy``: an unfinished assessment's first): the lease is then on
    its copy. Raises TrainerPausedError when a lead paused the reviewer (``qualify.admit``).
    """
    def pick() -> ReviewLease | None:
        tiers = qualify.admit(project.store, reviewer)  # paused: refused, nothing claimed
        gold = gold_queue.due_copy(project.store, reviewer, project.settings, task_id=task_id, batch=batch,
                                   domain=domain, model=model)
        return project.store.claim_review(  # a gold copy is theirs whatever its route: assessments test experts
            reviewer, lease_seconds=project.settings.review_lease_seconds, task_id=gold or task_id, batch=batch,
            domain=domain, model=model, routing=None if gold else tiers.routing, qualified=tiers.qualified)

    return await asyncio.to_thread(pick)


# While an answer is being recorded its item is held this long, whatever the lease was: a slow
# submit must never let the lease run out under it and hand the item to a second trainer.
SUBMIT_HOLD_SECONDS = 3600.0


def _hold_for_submit(store: Store, task_id: str, reviewer: str) -> ReviewLease | None:
    """Hold the item for the reviewer while their answer is recorded; the lease their clock started with.

    Raises LeaseError when someone else holds it (their lease running) or took it after this
    reviewer's lease ran out.
    """
    before = _check_lease(store, task_id, reviewer)
    if store.claim_review(reviewer, task_id=task_id, lease_seconds=SUBMIT_HOLD_SECONDS) is None:
        raise LeaseError(f"task {task_id!r} is being reviewed by someone else")
    return before if before is not None and before.reviewer == reviewer else None


def _check_lease(store: Store, task_id: str, reviewer: str) -> ReviewLease | None:
    lease = store.review_lease(task_id)
    if lease is not None and lease.reviewer != reviewer and lease.lease_until > store.clock():
        raise LeaseError(f"task {task_id!r} is being reviewed by someone else ({lease.reviewer})")
    return lease


async def held_item(project: Project, task_id: str, reviewer: str) -> tuple[ReviewItem, ReviewLease]:
    """A queued item for the reviewer who holds it (claiming it if it is free; the claim may give a
    gold item instead, whose item and lease then come back: see ``claim``).

    Raises LeaseError (another reviewer holds it), NotFoundError (not in the queue), TrainerPausedError
    or NotQualifiedError (an expert-only item outside the domains they are qualified in).
    """
    queued = await item(project, task_id, reviewer)
    lease = await claim(project, reviewer, task_id=task_id)
    if lease is None:
        await asyncio.to_thread(_check_lease, project.store, task_id, reviewer)
        await asyncio.to_thread(qualify.check_tier, project.store, reviewer, queued.entry.route, queued.task.domain)
        raise LeaseError(f"task {task_id!r} cannot be claimed now; take the next item from the queue")
    return (queued if lease.task_id == task_id else await item(project, lease.task_id, reviewer)), lease


def _not_held(store: Store, task_id: str, reviewer: str, consequence: str) -> OversightError:
    """Why ``reviewer``'s lease on ``task_id`` could not be used: NotFoundError (not in the queue, or no
    such task for them) or LeaseError naming who holds it, with ``consequence`` said after."""
    try:
        state = store.task_state(task_id)
        _hide_gold(store, task_id, reviewer)
    except NotFoundError as exc:
        return exc
    if state.state != "awaiting_review":
        return NotFoundError(f"task {task_id!r} is not awaiting review (it is {state.state.replace('_', ' ')})")
    lease = store.review_lease(task_id)
    holder = f"{lease.reviewer} holds it" if lease is not None else "nobody holds it"
    return LeaseError(f"task {task_id!r} is {consequence.format(holder=holder)}")


def _renew(store: Store, task_id: str, reviewer: str, lease_seconds: float) -> ReviewLease:
    renewed = store.renew_review(task_id, reviewer, lease_seconds=lease_seconds)
    if renewed is not None:
        return renewed
    raise _not_held(store, task_id, reviewer, "no longer yours ({holder}): your answer cannot be recorded")


async def renew(project: Project, task_id: str, reviewer: str) -> ReviewLease:
    """Extend the reviewer's lease on an item they hold by one lease from now (the page does while they work).

    Their time on the item still runs from their claim. Raises NotFoundError (not in the queue)
    or LeaseError (someone else took it after their lease ran out, or no one holds it).
    """
    return await asyncio.to_thread(_renew, project.store, task_id, reviewer, project.settings.review_lease_seconds)


def _release(store: Store, task_id: str, reviewer: str) -> None:
    if not store.release_review(task_id, reviewer):
        raise _not_held(store, task_id, reviewer, "not yours to give back ({holder}); nothing changed")


async def release(project: Project, task_id: str, reviewer: str) -> None:
    """Give a held item back to the queue at once (the trainer leaves it).

    Raises NotFoundError (no such task in the queue) or LeaseError (the reviewer does not hold it).
    """
    await asyncio.to_thread(_release, project.store, task_id, reviewer)


async def submit(
    project: Project,
    task_id: str,
    answer: RefinementInput | dict[str, Any],
    *,
    reviewer: str | None = None,
    simulated: bool = False,
    timed: bool = True,
) -> Refinement:
    """Record a trainer's answer for a queued task and resume its refine thread.

    The answer is checked against the draft and critique before the thread is touched.
    With ``reviewer`` the item must not be held by anyone else, the answer is recorded
    under that name, and, when the answer gives no time and ``timed``, the time since their claim
    is kept (an answers file applied in bulk says ``timed=False``: its claims time nobody's work).
    The refinement records the item's assistance arm and whether a ``simulated`` reviewer
    answered; the service sets both, whatever the answer says.
    Raises NotFoundError (not in the queue), LeaseError (someone else holds it) or
    InvalidAnswerError (nothing recorded; the task stays in the queue, answerable again).
    """
    from oversight.refine.answers import check_answer

    queued = await item(project, task_id, reviewer)
    entry = queued.entry
    draft, critique = queued.draft, queued.critique
    value = answer.model_dump(mode="json") if isinstance(answer, RefinementInput) else dict(answer)
    value.update(arm=queued.arm, simulated=simulated)
    # before anything moves; in a thread, as a long text's diff takes a while (the event loop serves others)
    await asyncio.to_thread(check_answer, {**value, **({"reviewer": reviewer} if reviewer else {})}, draft, critique)
    if reviewer is not None:
        lease = await asyncio.to_thread(_hold_for_submit, project.store, task_id, reviewer)
        value["reviewer"] = reviewer
        if timed and not value.get("seconds_spent") and lease is not None:
            value["seconds_spent"] = round(min((project.store.clock() - lease.claimed_at).total_seconds(),
                                               project.settings.review_lease_seconds), 1)
    record = gold_queue.answer if await asyncio.to_thread(project.store.gold_copy, task_id) else _resume
    try:
        result = await record(project, task_id, entry.thread_id, value)
    except BaseException:
        if reviewer is not None:  # not recorded: the item stays theirs, on an ordinary lease again
            await asyncio.to_thread(project.store.claim_review, reviewer, task_id=task_id,
                                    lease_seconds=project.settings.review_lease_seconds)
        raise
    return result


async def _resume(project: Project, task_id: str, thread_id: str, value: dict[str, Any]) -> Refinement:
    from langgraph.types import Command

    from oversight.pipelines.context import PipelineContext
    from oversight.pipelines.refine import HUMAN_REFINE, pause_as_stored, refine_graph

    config = {"configurable": {"thread_id": thread_id}}
    context = PipelineContext(project=project)
    async with refine_graph(project) as graph:
        snapshot = await graph.aget_state(config)
        if not snapshot.next or HUMAN_REFINE in snapshot.next:
            if not snapshot.next:
                # the first answer on this thread: drafting leaves no checkpoint (pipelines.refine), or it
                # was lost; its pause is written from the draft and critique the trainer was shown
                await pause_as_stored(graph, project, task_id, thread_id)
            else:
                await _with_stored_critique(project, graph, config, snapshot.values.get("critique"))
            result = await graph.ainvoke(Command(resume=value), config, context=context)
        else:  # answered, but recording it failed: finish that step
            result = await graph.ainvoke(None, config, context=context)
    if result.get("__interrupt__") or "refinement" not in result:
        problem = next((i.value.get("problem") for i in result.get("__interrupt__", ())), None)
        raise InvalidAnswerError(f"{problem or 'the answer was not recorded'}; the task is still awaiting review")
    return Refinement.model_validate(result["refinement"])


async def _with_stored_critique(project: Project, graph: Any, config: dict[str, Any], held: dict[str, Any] | None) -> None:
    """A paused thread gets its critique as stored if checks added findings while it waited (the trainer saw them)."""
    stored = await asyncio.to_thread(project.store.get_critique, str(held.get("id") or "")) if held else None
    if stored is not None and len(stored.findings) != len(held.get("findings") or []):  # type: ignore[union-attr]
        await graph.aupdate_state(config, {"critique": stored.model_dump(mode="json")}, as_node="critique_draft")


async def skip(project: Project, task_id: str, *, reviewer: str = "anonymous", seconds_spent: float = 0.0) -> Refinement:
    """Skip a queued task (recorded as a 'skip' decision). Raises NotFoundError or LeaseError."""
    answer = RefinementInput(decision="skip", reviewer=reviewer, seconds_spent=seconds_spent)
    return await submit(project, task_id, answer, reviewer=reviewer)


async def reset(project: Project, task_id: str) -> QueueEntry:
    """Put a task back in the queue on a fresh thread (a thread stuck after a failed answer).

    Its draft and critique, as stored, await review on the new thread, whose pause the answer writes
    (``pipelines.refine.pause_as_stored``): no model is asked and nothing is paid twice. Raises NotFoundError.
    """
    store = project.store
    state = await asyncio.to_thread(store.task_state, task_id)
    if await asyncio.to_thread(store.gold_copy, task_id):  # a gold copy has no refine thread: nothing to reset
        raise NotFoundError(f"task {task_id!r} is {state.state.replace('_', ' ')}: there is no review to reset")
    # a draft imported to review without a critique (`tasks import --no-critique`) is queued with none
    reviewed = (await asyncio.to_thread(store.get_critique, state["critique_id"] or "")
                or (await asyncio.to_thread(store.get_draft, state["draft_id"] or "")
                    if state.state == "awaiting_review" else None))
    if state.state not in ("awaiting_review", "failed") or reviewed is None:
        raise NotFoundError(f"task {task_id!r} is {state.state.replace('_', ' ')}: there is no review to reset")
    fresh = f"{project.thread_id(task_id)}::{new_id('reset')}"
    await asyncio.to_thread(store.mark_awaiting_review, reviewed, thread_id=fresh)
    return (await item(project, task_id)).entry
