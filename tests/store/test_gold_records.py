"""Gold items, answers, standing and assessments as the store keeps them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from oversight.errors import NotFoundError
from oversight.schemas import (
    Assessment,
    AssessmentResult,
    GoldAnswer,
    GoldItem,
    PlantedError,
    Refinement,
    TrainerStanding,
)


def _item(**changes: Any) -> GoldItem:
    base = dict(kind="planted", source_task_id="t1", source_draft_id="d1", prompt="How tall?", text="It is 13 m.",
                plant=PlantedError(kind="wrong_number", original="12", planted="13", start=6), made_by="lea")
    return GoldItem(**{**base, **changes})


def _answer(task_id: str, reviewer: str, caught: bool) -> GoldAnswer:
    refinement = Refinement(task_id=task_id, draft_id="dx", decision="edit" if caught else "accept",
                            refined_text="It is 12 m." if caught else None, reviewer=reviewer)
    return GoldAnswer(gold_id="g1", task_id=task_id, reviewer=reviewer, kind="planted", refinement=refinement,
                      caught=caught)


def test_gold_items_round_trip_and_retire(store: Any) -> None:
    first, second = _item(), _item(kind="expert", plant=None, decision="accept", expert="ed")
    store.save_gold_items([first, second])
    assert store.gold_item(first.id) == first
    assert [i.id for i in store.gold_items()] == [first.id, second.id]
    store.retire_gold_item(first.id)
    assert [i.id for i in store.gold_items()] == [second.id]
    assert store.gold_item(first.id).retired is True
    assert {i.id for i in store.gold_items(retired=True)} == {first.id, second.id}
    with pytest.raises(NotFoundError):
        store.retire_gold_item("g_missing")


def test_a_gold_answer_is_kept_once(store: Any) -> None:
    kept = store.save_gold_answer(_answer("t_copy1", "ann", caught=True))
    again = store.save_gold_answer(_answer("t_copy1", "ann", caught=False))
    assert again == kept and again.caught is True
    store.save_gold_answer(_answer("t_copy2", "bob", caught=False))
    assert [a.reviewer for a in store.gold_answers()] == ["ann", "bob"]
    assert [a.task_id for a in store.gold_answers(reviewer="bob")] == ["t_copy2"]


def test_standing_defaults_and_pauses(store: Any) -> None:
    unknown = store.trainer_standing("ann")
    assert (unknown.paused, unknown.qualified) == (False, {})
    assert store.paused_trainers() == set()
    store.save_trainer_standing(TrainerStanding(reviewer="ann", paused=True, paused_by="lea",
                                                paused_reason="catch rate below the bar"))
    store.save_trainer_standing(TrainerStanding(reviewer="bob", qualified={"medicine": datetime(2026, 1, 1, tzinfo=UTC)}))
    assert store.paused_trainers() == {"ann"}
    assert store.trainer_standing("bob").qualified == {"medicine": datetime(2026, 1, 1, tzinfo=UTC)}
    assert [s.reviewer for s in store.trainer_standings()] == ["ann", "bob"]


def test_assessments_and_results(store: Any) -> None:
    store.save_assessment(Assessment(name="general-1", items=["g1", "g2"]))
    assert store.assessment("general-1").items == ["g1", "g2"]
    assert store.assessment("nope") is None
    result = AssessmentResult(assessment="general-1", reviewer="ann", domain="*", passed=False, answered=2, caught=0,
                              planted=2, false_alarms=0, expert_accepted=0)
    store.save_assessment_result(result)
    store.save_assessment_result(result.model_copy(update={"passed": True}))
    assert [r.passed for r in store.assessment_results(reviewer="ann")] == [True]
