"""Experiment items on SQLite and (when configured) PostgreSQL: written whole, once, read back in order."""

from __future__ import annotations

import pytest

from oversight.errors import StoreError
from oversight.schemas import Draft, ExperimentItem, PlantedError, Refinement, Task


def work(experiment: str, key: str, task_ids: list[str], condition: str = "a") -> list[tuple]:
    out = []
    for task_id in task_ids:
        item_id = f"x.{experiment}.{key}.{condition}.{task_id}"
        task = Task(id=item_id, prompt="Q?", metadata={"experiment": experiment, "arm": "critique_hidden"})
        draft = Draft(id=f"d.{item_id}", task_id=item_id, model="m", prompt_name="draft", prompt_version="v",
                      text="It was 1862.")
        item = ExperimentItem(experiment=experiment, key=key, item_id=item_id, task_id=task_id, condition=condition,
                              arm="critique_hidden", draft_id=draft.id, source_draft_id="d.src",
                              plant=PlantedError(kind="wrong_number", original="1861", planted="1862", start=7))
        out.append((item, task, draft))
    return out


def test_items_are_kept_with_their_queue_task_and_draft_once(store) -> None:
    batch = work("e", "k1", ["t2", "t1"])
    assert store.add_experiment_items(batch, source="experiment:e") == 2
    assert store.add_experiment_items(batch + work("e", "k1", ["t3"]), source="experiment:e") == 1  # a re-run
    items = store.experiment_items("e")
    assert [i.task_id for i in items] == ["t1", "t2", "t3"]
    assert items[0].plant == PlantedError(kind="wrong_number", original="1861", planted="1862", start=7)
    assert store.batch_task_ids("experiment:e") == sorted(i.item_id for i in items)
    assert {s.state for s in store.task_states(None, [i.item_id for i in items])} == {"pending"}
    assert store.get_draft(items[0].draft_id).text == "It was 1862."


def test_a_changed_declaration_keeps_its_items_apart(store) -> None:
    store.add_experiment_items(work("e", "k1", ["t1"]), source="experiment:e")
    store.add_experiment_items(work("e", "k2", ["t1"]), source="experiment:e")
    store.add_experiment_items(work("other", "k1", ["t1"]), source="experiment:other")
    assert len(store.experiment_items("e")) == 2
    assert [i.key for i in store.experiment_items("e", "k2")] == ["k2"]
    assert store.experiment_names() == ["e", "other"]


def test_a_batch_that_fails_keeps_nothing(store) -> None:
    good = work("e", "k1", ["t1"])
    clash = work("e", "k1", ["t2"])
    item, task, draft = clash[0]
    broken = (item, task, draft.model_copy(update={"task_id": None}))  # NOT NULL task_id: the insert fails
    with pytest.raises(StoreError):
        store.add_experiment_items([*good, broken], source="experiment:e")
    assert store.experiment_items("e") == [] and store.batch_task_ids("experiment:e") == []


def test_refinements_of_tasks_reads_only_those(store) -> None:
    store.add_experiment_items(work("e", "k1", ["t1", "t2"]), source="experiment:e")
    items = store.experiment_items("e")
    for item in items:
        store.save_refinement(Refinement(task_id=item.item_id, draft_id=item.draft_id, decision="accept",
                                         simulated=True, arm="critique_hidden"))
    found = store.refinements_of_tasks([items[0].item_id])
    assert [r.task_id for r in found] == [items[0].item_id] and found[0].simulated and found[0].arm == "critique_hidden"


def test_draft_workers_never_claim_an_experiments_items(store) -> None:
    store.add_tasks([Task(id="mine", prompt="Q?")])
    store.add_experiment_items(work("e", "k1", ["t1", "t2"]), source="experiment:e")
    claimed = store.claim_tasks(lease_seconds=60, limit=10)
    assert [task_id for task_id, _, _ in claimed] == ["mine"]  # the experiment drafts its own (planted) items
    item = store.experiment_items("e")[0].item_id
    assert [c[0] for c in store.claim_tasks(lease_seconds=60, task_ids=[item])] == [item]  # asked for by id: yes


def test_an_item_nobody_reviews_is_no_task_in_the_queue(store) -> None:
    [(item, _, _)] = work("e", "k1", ["t1"])
    unreviewed = item.model_copy(update={"draft_id": "d.src"})
    assert store.add_experiment_items([(unreviewed, None, None)], source="experiment:e") == 1
    assert store.experiment_items("e")[0].draft_id == "d.src"
    assert store.batch_task_ids("experiment:e") == [] and store.task_ids() == []
