"""Gold copies in the store: one trainer's task, added whole and once, which no count or listing of tasks
counts, no other trainer's claim takes, and whose answer moves it out of the queue without a refinement
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from oversight.refine.critic_quality import grounding_rows
from oversight.schemas import (
    Critique,
    Draft,
    DroppedFinding,
    Finding,
    GoldAnswer,
    GoldCopy,
    Refinement,
    Task,
    Usage,
)
from tests.store.test_status import seed_queue
from tests.support.clock import Clock

LEASE = 600.0


def _finding(quote: str) -> Finding:
    return Finding(quote=quote, issue="Wrong.", severity="high", category="factual-error")


def add_copy(store: Any, reviewer: str, n: int = 0, gold_id: str | None = None) -> GoldCopy:
    """A gold copy for ``reviewer`` of the queued task q0, with a paid draft and a critique (one finding shown,
    one dropped) whose critic is the queue's own: counted anywhere, it would show."""
    task_id = f"t_copy{reviewer}{n}"
    task = Task(id=task_id, prompt="Question 0?", domain="geo")
    draft = Draft(id=f"d_copy{reviewer}{n}", task_id=task_id, model="m", prompt_name="draft", prompt_version="v1",
                  text="Answer 0.", usage=Usage(prompt_tokens=10, completion_tokens=3, cost_usd=0.001))
    critique = Critique(id=f"c_copy{reviewer}{n}", draft_id=draft.id, task_id=task_id, model="critic",
                        prompt_name="critique", prompt_version="v2", findings=[_finding("Answer")],
                        dropped=[DroppedFinding(finding=_finding("x"), reason="not-in-draft")],
                        grounding="quote-in-draft/1", usage=Usage(prompt_tokens=5, cost_usd=0.002))
    copy = GoldCopy(task_id=task_id, gold_id=gold_id or f"g{n}", reviewer=reviewer)
    return store.add_gold_copy(copy, task, draft, critique, source="batch-1", thread_id=f"{task_id}::x")


def _everything(store: Any) -> dict[str, Any]:
    """What the stages read of tasks: counts, listings, the queue, the critics' sums."""
    total, page = store.review_queue_page(limit=100)
    return {
        "status": store.status(), "tallies": store.critic_tallies(),
        "grounding": [r.as_dict() for r in grounding_rows(store.critiques_with_verdicts())],
        "tasks": [t.id for t in store.tasks()], "task_ids": store.task_ids(),
        "states": [s.task_id for s in store.task_states()],
        "awaiting": [s.task_id for s in store.task_states("awaiting_review")],
        "batch": store.batch_task_ids("batch-1"), "queue": (total, [r["task_id"] for r in page]),
        "facets": store.review_facets(),
    }


def test_no_count_or_listing_of_tasks_counts_a_gold_copy(store: Any) -> None:
    seed_queue(store, 3)
    store.add_tasks([Task(id="other", prompt="Other?", domain="law")], source="batch-1")
    before = _everything(store)
    add_copy(store, "ana")
    # a gold copy of a batch and domain that no ordinary queued task has: not even a filter offers it
    copy = add_copy(store, "ana", 1)
    with store.transaction() as conn:
        from oversight.store import tables as t

        conn.execute(t.tasks.update().where(t.tasks.c.id == copy.task_id).values(source="only-gold", domain="gold"))
    assert _everything(store) == before
    assert store.count("tasks") == 5 + 1  # the rows are there: only the readers leave them out
    assert store.review_queue_page(limit=100, viewer="ana")[0] == before["queue"][0] + 2  # hers are in her queue
    assert store.tasks([copy.task_id])[0].id == copy.task_id  # asked for by id, it is found


def test_a_gold_copy_is_added_whole_and_once(store: Any) -> None:
    seed_queue(store, 2)
    store.clock = Clock()
    first = add_copy(store, "ana", gold_id="g1")
    again = add_copy(store, "ana", 1, gold_id="g1")  # another task id for the same item: the first comes back
    assert again == first and store.gold_copies("ana") == [first]
    state = store.task_state(first.task_id)
    assert (state.state, state["draft_id"], state["critique_id"]) == ("awaiting_review", "d_copyana0", "c_copyana0")
    head = min(s["updated_at"] for s in store.task_states("awaiting_review"))
    assert state["updated_at"].replace(tzinfo=None) == head.replace(tzinfo=None)  # waits where a claim takes from
    assert store.get_critique("c_copyana0").findings == [_finding("Answer")]
    assert store.gold_copies("ana", open_only=True) == [first]


def test_only_its_trainer_claims_a_gold_copy(store: Any) -> None:
    store.clock = Clock()
    copy = add_copy(store, "ana")  # the only queued task
    assert store.claim_review("ben", lease_seconds=LEASE) is None
    assert store.claim_review("ben", lease_seconds=LEASE, task_id=copy.task_id) is None  # not by its id either
    assert store.own_gold_copy("ben") is None and store.own_gold_copy("ana") == copy.task_id
    held = store.claim_review("ana", lease_seconds=LEASE)
    assert held is not None and held.task_id == copy.task_id
    assert store.held_review("ana") == copy.task_id and store.held_review("ben") is None
    store.clock.move(LEASE + 1)
    assert store.held_review("ana") is None  # ran out: back in her queue, still nobody else's
    assert store.claim_review("ben", lease_seconds=LEASE) is None


def test_an_answer_to_a_gold_copy_leaves_the_queue_and_is_no_refinement(store: Any) -> None:
    seed_queue(store, 1)
    copy, skipped = add_copy(store, "ana"), add_copy(store, "ana", 1)
    for made, decision in ((copy, "accept"), (skipped, "skip")):
        refinement = Refinement(task_id=made.task_id, draft_id=f"d_{made.task_id[2:]}", decision=decision,
                                reviewer="ana")
        store.save_gold_answer(GoldAnswer(gold_id=made.gold_id, task_id=made.task_id, reviewer="ana", kind="planted",
                                          refinement=refinement, caught=decision == "accept" or None))
    assert store.task_state(copy.task_id).state == "refined"
    assert store.task_state(skipped.task_id).state == "skipped"
    assert store.count("refinements") == 0 and store.refinements() == []
    assert store.gold_answer(copy.task_id).refinement.decision == "accept"  # type: ignore[union-attr]
    assert store.gold_copies("ana", open_only=True) == []
    assert store.items_answered("ana") == 2
    progress = store.reviewer_progress("ana", since=store.clock() - timedelta(days=1))
    assert (progress["done"], progress["skipped"]) == (1, 1)  # as any two items would count


@pytest.mark.parametrize("viewer", ["ana", None])
def test_the_queue_page_lists_a_gold_copy_to_its_trainer_only(store: Any, viewer: str | None) -> None:
    seed_queue(store, 2)
    copy = add_copy(store, "ana")
    total, page = store.review_queue_page(limit=10, viewer=viewer)
    listed = [r["task_id"] for r in page]
    assert (copy.task_id in listed) is (viewer == "ana") and total == len(listed)
    if viewer == "ana":
        row = next(r for r in page if r["task_id"] == copy.task_id)
        assert (row["batch"], row["domain"], row["model"]) == ("batch-1", "geo", "m")
