"""The store, against SQLite always and PostgreSQL when OVERSIGHT_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import pytest

from oversight.errors import NotFoundError, StoreError
from oversight.schemas import Critique, Draft, Finding, Refinement, Task
from oversight.store import Store
from oversight.store.migrations import MIGRATIONS
from tests.support.clock import Clock


def make_draft(task_id: str = "t1", text: str = "an answer") -> Draft:
    return Draft(
        id=Draft.derive_id(task_id, "m", "v1", {}),
        task_id=task_id,
        model="m",
        prompt_name="draft",
        prompt_version="v1",
        text=text,
    )


def test_migrations_apply_once(store: Store, store_url: str) -> None:
    assert store.applied_migrations() == sorted(name for name, _ in MIGRATIONS)
    with Store.open(store_url) as again:
        assert again.migrate() == []


def test_add_tasks_skips_existing_ids(store: Store) -> None:
    assert store.add_tasks([Task(id="a", prompt="A?"), Task(id="b", prompt="B?")]) == (2, 0)
    assert store.add_tasks([Task(id="b", prompt="B again?"), Task(id="c", prompt="C?")]) == (1, 1)
    assert store.get_task("b").prompt == "B?"
    assert store.task_ids() == ["a", "b", "c"]


def test_a_failed_batch_leaves_nothing(store: Store) -> None:
    # the same id twice inside one batch violates the primary key half way through
    with pytest.raises(StoreError):
        store.add_tasks([Task(id="x", prompt="1"), Task(id="y", prompt="2"), Task(id="y", prompt="3")])
    assert store.count("tasks") == 0


def test_missing_task_raises(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no task with id 'nope'"):
        store.get_task("nope")


def test_save_draft_keeps_the_first(store: Store) -> None:
    store.add_tasks([Task(id="t1", prompt="Q")])
    first = store.save_draft(make_draft(text="first"))
    second = store.save_draft(make_draft(text="second"))
    assert first.text == second.text == "first"
    assert store.count("drafts") == 1
    assert store.get_draft(first.id) == first


def test_a_task_moves_through_its_states(store: Store) -> None:
    store.add_tasks([Task(id="t1", prompt="Q"), Task(id="t2", prompt="R")])
    assert [s.state for s in store.task_states()] == ["pending", "pending"]
    claimed = store.claim_task(lease_seconds=60, task_ids=["t1"])
    assert claimed is not None and claimed[0] == "t1" and claimed[2] == 1
    assert store.task_state("t1").state == "drafting"
    assert store.claim_task(lease_seconds=60, task_ids=["t1"]) is None  # held: nobody else gets it
    draft = store.save_draft(make_draft())
    critique = store.save_critique(
        Critique(
            id="c1", draft_id=draft.id, task_id="t1", model="m", prompt_name="critique", prompt_version="v",
            findings=[Finding(quote="an", issue="vague", severity="low", category="unclear")], summary="meh",
        ),
        thread_id="th1",
    )
    state = store.task_state("t1")
    assert (state.state, state["thread_id"], state["critique_id"], state["claim"]) == ("awaiting_review", "th1", critique.id, None)
    assert [s.task_id for s in store.task_states("awaiting_review")] == ["t1"]
    ref = Refinement(task_id="t1", draft_id=draft.id, critique_id="c1", decision="reject", tags=["Factual Error", "factual-error"])
    store.save_refinement(ref)
    store.save_refinement(ref)  # recorded twice (a re-run step): still one
    assert store.count("refinements") == 1
    assert store.task_state("t1").state == "refined"
    assert store.refinements()[0].tags == ["factual-error"]
    status = store.status()
    assert status["states"] == {"pending": 1, "drafting": 0, "awaiting_review": 0, "refined": 1, "skipped": 0, "failed": 0}


def test_refinements_of_one_reviewer(store: Store) -> None:
    store.add_tasks([Task(id="t1", prompt="Q"), Task(id="t2", prompt="R")])
    draft = store.save_draft(make_draft())
    for task_id, who in (("t1", "ann"), ("t2", "bob"), ("t1", "bob")):
        store.save_refinement(Refinement(task_id=task_id, draft_id=draft.id, decision="accept", reviewer=who))
    assert [(r.task_id, r.reviewer) for r in store.refinements(reviewer="bob")] == [("t2", "bob"), ("t1", "bob")]
    assert [r.reviewer for r in store.refinements(reviewer="ann")] == ["ann"]
    assert store.refinements(reviewer="cy") == []


def test_an_expired_lease_returns_the_task_and_a_failure_keeps_its_error(store: Store) -> None:
    clock = store.clock = Clock()
    store.add_tasks([Task(id="t1", prompt="Q")])
    first = store.claim_task(lease_seconds=60)  # a worker that then dies
    clock.move(59)
    assert store.claim_task(lease_seconds=60) is None  # its lease still runs
    clock.move(2)  # now it has run out
    again = store.claim_task(lease_seconds=60)
    assert first is not None and again is not None
    assert store.task_state("t1")["lease_until"] is not None
    assert again[0] == "t1" and again[1] != first[1] and again[2] == 2
    store.mark_failed("t1", "boom", claim=first[1])  # the dead worker's late report changes nothing
    assert store.task_state("t1").state == "drafting"
    store.mark_failed("t1", "LLMError: boom", claim=again[1])
    state = store.task_state("t1")
    assert (state.state, state["error"]) == ("failed", "LLMError: boom")
    assert store.claim_task(lease_seconds=60, exclude=["t1"]) is None
    assert store.claim_task(lease_seconds=60)[0] == "t1"  # a failed task is tried again


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open("postgresql://127.0.0.1:1/nothing")
