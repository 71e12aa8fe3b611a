"""A validation is one kind of experiment: the same drafts, the same check, the same statistic.

The few-shot fix for "Answer with one word" (tests/intervene/test_validate.py) is validated, then
declared as a paired experiment (the bundled prompt vs the intervention's patch, recurrence by
the pattern's accepted check) on the validation's tasks. The experiment finds every draft the
validation paid for (the cassette holds only the validation's requests: a new one would fail
the test) and reports the same change with the same interval.
"""

from __future__ import annotations

import pytest

from oversight.experiments import run, summary
from oversight.intervene.validate import plan_validation, validate
from oversight.project import Project
from oversight.schemas import Experiment, FewShot
from tests.conftest import RECORDED_MODEL
from tests.intervene.conftest import embedder  # noqa: F401
from tests.intervene.test_validate import capital_tasks, one_word_pattern


@pytest.mark.vcr
async def test_a_validation_declared_as_an_experiment_pays_nothing_and_agrees(
        recorded_llm, recorded_settings, tmp_store, embedder) -> None:  # noqa: F811
    prompt, _, _, one_word, found = await one_word_pattern(tmp_store, recorded_llm, embedder)
    tmp_store.save_interventions(found.interventions)
    for item in found.interventions:
        tmp_store.decide_intervention(item.id, "accepted", "test")
    few_shot = next(i for i in found.interventions if isinstance(i.payload, FewShot))
    validation = await validate(tmp_store, few_shot.id, drafter=recorded_llm, base_prompt=prompt, seed=7)
    affected = [t.id for t in plan_validation(tmp_store, few_shot.id, seed=7).affected]
    drafts = tmp_store.count("drafts")

    experiment = Experiment(name="one-word-fix", tasks={"ids": affected}, seed=7,
                            conditions=[{"name": "bundled"}, {"name": "few-shot", "patch": few_shot.id}],
                            recurrence={"pattern": one_word.id})
    with Project.open(recorded_settings, store=tmp_store) as rt:
        frame = await run(experiment, rt)
        assert tmp_store.count("drafts") == drafts  # every draft found: no model call, no copy
    assert len(frame) == 2 * len(affected) and frame["recurs"].notna().all()
    before = frame[frame.condition == "bundled"]["recurs"].mean()
    after = frame[frame.condition == "few-shot"]["recurs"].mean()
    assert (before, after) == pytest.approx((validation.before, validation.after))
    effect = summary(frame).set_index("condition").loc["few-shot"]
    assert effect.paired and effect.pairs == validation.tasks
    assert (effect.effect, effect.effect_low, effect.effect_high) == pytest.approx(
        (validation.change.estimate, validation.change.low, validation.change.high))


@pytest.mark.vcr
async def test_recurrence_of_a_pattern_without_a_check_is_asked_of_the_judge_once(
        recorded_llm, recorded_settings, tmp_store, embedder) -> None:  # noqa: F811
    from tests.intervene.test_validate import seeded_pattern_without_a_check

    _, item = await seeded_pattern_without_a_check(tmp_store, recorded_llm, embedder, accepted=0)
    experiment = Experiment(name="judged", tasks={"ids": [t.id for t in capital_tasks(12)]}, seed=1,
                            conditions=[{"name": "bundled"}, {"name": "few-shot", "patch": item.id}],
                            recurrence={"pattern": item.pattern_id})
    with Project.open(recorded_settings, store=tmp_store) as rt:
        frame = await run(experiment, rt)
        asked = tmp_store.count("judge_verdicts")
        again = await run(experiment, rt)  # verdicts are kept: the judge is asked nothing twice
        assert tmp_store.count("judge_verdicts") == asked
    assert len(frame) == 24 and frame["recurs"].notna().all() and asked == frame["draft_id"].nunique()
    assert frame.attrs["recurrence"].startswith(f"judge:{RECORDED_MODEL}") and "not calibrated" in \
        frame.attrs["recurrence"]
    assert frame["recurs"].tolist() == again["recurs"].tolist()
