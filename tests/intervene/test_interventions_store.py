"""Interventions in the store, against SQLite always and PostgreSQL when OVERSIGHT_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oversight.errors import NotFoundError, OversightError
from oversight.schemas import (
    CheckCriterion,
    EvalCheck,
    Interval,
    Intervention,
    PromptPatch,
    Validation,
)
from oversight.store import Store
from oversight.store.migrations import MIGRATIONS

DIFF = """--- a/prompts/draft.md
+++ b/prompts/draft.md
@@ -1,3 +1,4 @@
 You answer the user's question.
+Answer in at most three sentences; do not restate the question.
 Be accurate.
"""
OLD = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def eval_check(pattern_id: str = "p_verbose", *, at: datetime = OLD) -> Intervention:
    payload = EvalCheck(criterion=CheckCriterion(kind="max_words", value=3, description="short answers"),
                        cases=["t1", "t2"])
    return Intervention(id=Intervention.derive_id(pattern_id, payload), pattern_id=pattern_id, kind="eval_check",
                        title="Flag answers over three words", rationale="Leads cut long answers.",
                        expected_effect="Fewer verbose drafts reach review.", payload=payload,
                        note_ids=["n1", "n2"], task_ids=["t1", "t2"], created_at=at, updated_at=at)


def prompt_patch(pattern_id: str = "p_verbose", *, at: datetime = OLD) -> Intervention:
    payload = PromptPatch(prompt="draft", base_version="abc123", diff=DIFF)
    return Intervention(id=Intervention.derive_id(pattern_id, payload), pattern_id=pattern_id, kind="prompt_patch",
                        title="Ask for short answers", payload=payload, note_ids=["n3"], task_ids=["t3"],
                        proposed_by="llm:gpt-4o-mini", created_at=at, updated_at=at)


def validation(outcome: str = "validated", before: float = 0.6, after: float = 0.2) -> Validation:
    return Validation(decided_by="check", tasks=20, controls=20, before=before, after=after,
                      change=Interval(estimate=after - before, low=after - before - 0.1, high=after - before + 0.1),
                      regressions={"valid_json": Interval(estimate=0.0, low=-0.05, high=0.05)},
                      outcome=outcome, reason="the failure recurs less", seed=7, old_version="abc123",
                      new_version="def456")


def test_m008_creates_the_interventions_table(store: Store) -> None:
    assert "m008_interventions" in store.applied_migrations()
    assert "m008_interventions" in dict(MIGRATIONS)
    assert store.count("interventions") == 0


def test_interventions_round_trip_whole(store: Store) -> None:
    check, patch = eval_check(), prompt_patch(at=datetime(2024, 6, 1, tzinfo=UTC))
    assert store.save_interventions([check, patch]) == (2, 0)
    assert store.intervention(check.id) == check
    assert store.intervention(patch.id) == patch
    back = store.intervention(check.id)
    assert isinstance(back.payload, EvalCheck) and back.payload.criterion.value == 3
    assert isinstance(store.intervention(patch.id).payload, PromptPatch)
    assert store.intervention(patch.id).payload.diff == DIFF
    assert store.intervention("iv_nope") is None


def test_list_is_newest_first_and_filters(store: Store) -> None:
    older = eval_check("p_a", at=datetime(2024, 1, 1, tzinfo=UTC))
    newer = prompt_patch("p_a", at=datetime(2024, 3, 1, tzinfo=UTC))
    other = eval_check("p_b", at=datetime(2024, 2, 1, tzinfo=UTC))
    store.save_interventions([older, newer, other])
    assert [i.id for i in store.interventions()] == [newer.id, other.id, older.id]
    assert [i.id for i in store.interventions(pattern_id="p_a")] == [newer.id, older.id]
    store.decide_intervention(other.id, "accepted", "worth a try")
    assert [i.id for i in store.interventions(status="accepted")] == [other.id]
    assert [i.id for i in store.interventions(pattern_id="p_a", status="accepted")] == []
    assert store.interventions(pattern_id="p_none") == []


def test_suggesting_twice_adds_nothing(store: Store) -> None:
    assert store.save_interventions([eval_check()]) == (1, 0)
    store.decide_intervention(eval_check().id, "accepted", "good")
    again = eval_check(at=datetime(2025, 1, 1, tzinfo=UTC))  # the same proposal, suggested later
    assert again.id == eval_check().id
    assert store.save_interventions([again, prompt_patch()]) == (1, 1)
    kept = store.intervention(again.id)
    assert kept.status == "accepted" and kept.created_at == OLD  # the first one stays, decision and all
    assert store.save_interventions([prompt_patch(), prompt_patch()]) == (0, 2)
    assert store.count("interventions") == 2


def test_accept_then_reject_keeps_the_reason_and_refreshes_updated_at(store: Store) -> None:
    item = eval_check()
    store.save_interventions([item])
    accepted = store.decide_intervention(item.id, "accepted", "  cheap to run  ")
    assert accepted.status == "accepted" and accepted.reason == "cheap to run"
    assert accepted.updated_at > OLD and accepted.created_at == OLD
    assert store.intervention(item.id) == accepted
    rejected = store.decide_intervention(item.id, "rejected", "too many false alarms")
    assert rejected.status == "rejected" and rejected.reason == "too many false alarms"
    assert store.intervention(item.id) == rejected
    assert store.interventions(status="rejected") == [rejected]  # the status column moved with the data
    assert store.decide_intervention(item.id, "accepted", "changed my mind").status == "accepted"


@pytest.mark.parametrize("outcome", ["validated", "regressed", "not_effective"])
def test_a_validated_intervention_cannot_be_decided_again(store: Store, outcome: str) -> None:
    item = eval_check()
    store.save_interventions([item])
    store.decide_intervention(item.id, "accepted", "ok")
    before = store.record_validation(item.id, validation(outcome))
    for decision in ("rejected", "accepted"):
        with pytest.raises(ValueError, match=f"is {outcome.replace('_', ' ')}") as caught:
            store.decide_intervention(item.id, decision, "no")
        assert isinstance(caught.value, OversightError)  # the CLI prints it as one line
    assert store.intervention(item.id) == before


def test_unknown_id_and_blank_reason_change_nothing(store: Store) -> None:
    item = eval_check()
    store.save_interventions([item])
    with pytest.raises(NotFoundError, match="no intervention with id 'iv_missing'"):
        store.decide_intervention("iv_missing", "accepted", "why not")
    with pytest.raises(NotFoundError, match="iv_missing"):
        store.record_validation("iv_missing", validation())
    for blank in ("", "   "):
        with pytest.raises(ValueError, match="reason is required"):
            store.decide_intervention(item.id, "rejected", blank)
    with pytest.raises(ValueError, match="'accepted' or 'rejected'"):
        store.decide_intervention(item.id, "validated", "skip the experiment")
    assert store.intervention(item.id) == item
    assert store.count("interventions") == 1


def test_record_validation_sets_the_status_and_appends(store: Store) -> None:
    item = prompt_patch()
    store.save_interventions([item])
    with pytest.raises(ValueError, match="only an accepted"):
        store.record_validation(item.id, validation())  # still proposed
    assert store.intervention(item.id) == item
    store.decide_intervention(item.id, "accepted", "try it")
    first = store.record_validation(item.id, validation("inconclusive", 0.5, 0.45))
    assert first.status == "inconclusive" and [v.outcome for v in first.validations] == ["inconclusive"]
    second = store.record_validation(item.id, validation("validated"))  # re-validation on more tasks
    assert second.status == "validated"
    assert [v.outcome for v in second.validations] == ["inconclusive", "validated"]
    assert second.reason == "try it" and second.updated_at >= first.updated_at
    assert store.intervention(item.id) == second
    assert store.interventions(status="validated") == [second]


def test_a_rejected_intervention_cannot_be_validated(store: Store) -> None:
    item = eval_check()
    store.save_interventions([item])
    rejected = store.decide_intervention(item.id, "rejected", "not our problem")
    with pytest.raises(ValueError, match="is rejected"):
        store.record_validation(item.id, validation())
    assert store.intervention(item.id) == rejected


def test_interventions_survive_reopening(store_url: str) -> None:
    with Store.open(store_url) as first:
        first.save_interventions([eval_check(), prompt_patch()])
        first.decide_intervention(eval_check().id, "accepted", "kept")
    with Store.open(store_url) as again:
        assert again.migrate() == []
        assert again.intervention(eval_check().id).reason == "kept"
        assert len(again.interventions()) == 2
