"""Validation on the embedded model (cassettes): the measured case of the one-word instruction.

SmolLM2-135M ignores "Answer with one word." on capital questions. Two worked examples from the
trainers' refinements make it answer in one word, and make it name the wrong city more often:
the validation must show the drop with its interval and catch the regression through another
pattern's correctness check. The same flow on all 146 tasks is bench/bench_intervene_capitals.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.errors import CannotValidateError
from oversight.intervene.checks import word_count
from oversight.intervene.suggest import suggest_by_rules
from oversight.intervene.validate import validate
from oversight.mine.miner import mine
from oversight.prompts import load_prompt
from oversight.refine.answers import build_refinement
from oversight.refine.drafting import draft_task
from oversight.schemas import CheckCriterion, EvalCheck, FewShot, Intervention, PatternName, RefinementInput, Task

CAPITALS = Path(__file__).resolve().parents[2] / "src" / "oversight" / "data" / "capitals" / "tasks.jsonl"


def capital_tasks(n: int) -> list[Task]:
    rows = [json.loads(line) for line in CAPITALS.read_text(encoding="utf-8").splitlines()[:n]]
    return [Task(id=r["id"], prompt=r["prompt"], reference=r["reference"], domain=r["domain"], kind=r["kind"])
            for r in rows]


async def trainers_refine(store, llm, tasks):
    """Draft with the bundled prompt, then refine the way the bench's scripted trainer does."""
    prompt = load_prompt("draft")
    work = []
    for task in tasks:
        draft = await draft_task(task, llm, prompt, store=store)
        if word_count(draft.text) <= 2:
            continue
        tags = ["ignores-one-word-instruction"]
        if task.reference.casefold() not in draft.text.casefold():
            tags.append("wrong-capital")
        answer = RefinementInput(decision="rewrite", refined_text=task.reference, tags=tags,
                                 rationale="Asked for one word; the draft answered with a sentence.")
        work.append((task, draft, build_refinement(answer, draft, None)))
    store.add_finished_work(work)
    return prompt


def holding(patterns, notes, text):
    return max(patterns, key=lambda p: sum(notes[i].text == text for i in p.member_ids))


async def one_word_pattern(store, llm, embedder):
    """16 capital tasks refined as the bench's trainer does and mined: the prompt, the patterns, the notes,
    the one-word pattern and what the rules suggest for it."""
    tasks = capital_tasks(16)
    store.add_tasks(tasks)
    prompt = await trainers_refine(store, llm, tasks)
    result = await mine(store, names="keywords", embedder=embedder)
    notes = {n.id: n for n in store.notes()}
    one_word = holding(result.patterns, notes, "ignores one word instruction")
    refinements = {r.id: r for r in store.refinements()}
    examples = list({r.id: (store.get_task(r.task_id), store.get_draft(r.draft_id), r)
                     for r in (refinements[notes[i].refinement_id] for i in one_word.member_ids
                               if notes[i].refinement_id)}.values())
    found = suggest_by_rules(one_word, [notes[i] for i in one_word.member_ids], examples)
    return prompt, result.patterns, notes, one_word, found


@pytest.mark.vcr
async def test_few_shot_fixes_the_format_and_the_correctness_check_catches_what_it_breaks(
        recorded_llm, tmp_store, embedder) -> None:
    prompt, patterns, notes, one_word, found = await one_word_pattern(tmp_store, recorded_llm, embedder)
    wrong = holding(patterns, notes, "wrong capital")
    assert one_word.id != wrong.id
    few_shot = next(i for i in found.interventions if isinstance(i.payload, FewShot))
    correct = EvalCheck(criterion=CheckCriterion(kind="contains_reference"))
    lead = Intervention(id=Intervention.derive_id(wrong.id, correct), pattern_id=wrong.id, kind="eval_check",
                        title="The answer names the right capital", payload=correct, proposed_by="lead")
    tmp_store.save_interventions([*found.interventions, lead])
    with pytest.raises(CannotValidateError, match="accept it first"):
        await validate(tmp_store, few_shot.id, drafter=recorded_llm, base_prompt=prompt)
    for item in [*found.interventions, lead]:
        tmp_store.decide_intervention(item.id, "accepted", "test")

    validation = await validate(tmp_store, few_shot.id, drafter=recorded_llm, base_prompt=prompt, seed=7)
    assert validation.tasks >= 10 and validation.decided_by == "check:max_words"
    assert validation.before > 0.8 and validation.after < 0.2
    assert validation.change.high < 0  # the drop in recurrence is real ...
    [(name, regression)] = validation.regressions.items()
    assert "contains_reference" in name and regression.low > 0  # ... and so is the harm to correctness
    assert validation.outcome == "regressed" and "got worse" in validation.reason
    assert tmp_store.intervention(few_shot.id).status == "regressed"

    drafts = tmp_store.count("drafts")
    again = await validate(tmp_store, few_shot.id, drafter=recorded_llm, base_prompt=prompt, seed=7)
    assert tmp_store.count("drafts") == drafts  # a re-run pays for no draft
    assert (again.before, again.after, again.change) == (validation.before, validation.after, validation.change)


class RecordedName:
    """Names the one-word pattern as it was named when the judge's cassettes were recorded: the judge's
    prompt holds the pattern's name, description and criteria, and judging should not depend on naming."""

    model = "stand-in/namer"
    prepare = None

    def __init__(self) -> None:
        self.others = 0

    async def structured(self, messages, schema, **params):
        members = messages[-1]["content"].split("A nearby pattern")[0]
        if "- ignores one word instruction" in members:
            return PatternName(name="ignores / instruction / word", criteria=["mentions ignores, instruction, word"],
                               description="12 failure notes whose most distinctive words are: ignores, instruction, "
                                           "word."), None
        self.others += 1
        return PatternName(name=f"Another failure {self.others}", description="d", criteria=["c"]), None


async def seeded_pattern_without_a_check(store, llm, embedder, *, accepted: int):
    """Capital tasks: the first ones refined to one word (the pattern), the last ``accepted`` accepted as drafted."""
    tasks = capital_tasks(12 + accepted)
    store.add_tasks(tasks)
    prompt = await trainers_refine(store, llm, tasks[:12])
    work = []
    for task in tasks[12:]:
        draft = await draft_task(task, llm, prompt, store=store)
        work.append((task, draft, build_refinement(RefinementInput(decision="accept"), draft, None)))
    store.add_finished_work(work)
    result = await mine(store, names="llm", llm=RecordedName(), embedder=embedder)
    notes = {n.id: n for n in store.notes()}
    pattern = holding(result.patterns, notes, "ignores one word instruction")
    few_shot = FewShot(examples=[{"prompt": "What is the capital of Peru? Answer with one word.", "answer": "Lima"},
                                 {"prompt": "What is the capital of Kenya? Answer with one word.", "answer": "Nairobi"}])
    item = Intervention(id=Intervention.derive_id(pattern.id, few_shot), pattern_id=pattern.id, kind="few_shot",
                        title="Two worked examples", payload=few_shot, proposed_by="lead")
    store.save_interventions([item])
    store.decide_intervention(item.id, "accepted", "test")
    return prompt, item


@pytest.mark.vcr
async def test_a_judge_that_does_not_agree_with_the_trainers_does_not_count(recorded_llm, tmp_store, embedder) -> None:
    """Cassette: SmolLM2 judges the trainers' drafts (8 flagged, 6 accepted) before its verdicts may count."""
    prompt, item = await seeded_pattern_without_a_check(tmp_store, recorded_llm, embedder, accepted=6)
    with pytest.raises(CannotValidateError, match="--judge"):
        await validate(tmp_store, item.id, drafter=recorded_llm, base_prompt=prompt)
    drafts = tmp_store.count("drafts")
    validation = await validate(tmp_store, item.id, drafter=recorded_llm, base_prompt=prompt, judge=recorded_llm,
                                judge_prompt=load_prompt("judge_failure"), seed=3)
    calibration = validation.calibration
    assert calibration is not None and calibration.judge == f"judge:{recorded_llm.model}"
    assert calibration.negatives == 6 and calibration.positives >= 5
    assert not calibration.calibrated and calibration.kappa.low < calibration.threshold
    assert validation.outcome == "judge_not_calibrated" and "do not count" in validation.reason
    assert validation.before is None and validation.change is None
    assert tmp_store.count("drafts") == drafts  # nothing re-drafted on the word of an untrusted judge
    assert tmp_store.intervention(item.id).status == "judge_not_calibrated"


@pytest.mark.vcr
async def test_with_no_labels_to_calibrate_on_the_judge_is_not_asked(recorded_llm, tmp_store, embedder) -> None:
    """Every refinement shows the failure: no negatives, so no calibration is possible and no judge call is made."""
    prompt, item = await seeded_pattern_without_a_check(tmp_store, recorded_llm, embedder, accepted=0)

    class NoCalls:
        model = "never/called"

        async def structured(self, *args, **kwargs):
            raise AssertionError("the judge was asked although it could not be calibrated")

    validation = await validate(tmp_store, item.id, drafter=recorded_llm, base_prompt=prompt, judge=NoCalls(),
                                judge_prompt=load_prompt("judge_failure"))
    assert validation.outcome == "judge_not_calibrated" and validation.calibration.negatives == 0


def test_an_empty_pattern_is_refused_before_anything_is_paid(tmp_store) -> None:
    """Notes imported without tasks: nothing to re-draft, a clear message, nothing changed."""
    import asyncio

    from oversight.intervene.validate import plan_validation
    from oversight.schemas import FailureNote
    from tests.mine.conftest import MemoEmbedder

    tmp_store.save_notes([FailureNote(id=f"n{i}", text="The answer is far too long for the question.",
                                      source="import") for i in range(4)])
    result = asyncio.run(mine(tmp_store, names="keywords", embedder=MemoEmbedder()))
    few_shot = FewShot(examples=[{"prompt": "q", "answer": "a"}])
    item = Intervention(id="iv_empty", pattern_id=result.patterns[0].id, kind="few_shot", title="t",
                        payload=few_shot)
    tmp_store.save_interventions([item])
    tmp_store.decide_intervention(item.id, "accepted", "test")
    with pytest.raises(CannotValidateError, match="no tasks in this database"):
        plan_validation(tmp_store, item.id)
    assert tmp_store.intervention(item.id).validations == []


class CountingJudge:
    """A judge that agrees with the trainers (present: an answer of more than two words) and counts its calls."""

    model = "fake/judge"

    def __init__(self) -> None:
        self.calls = 0

    async def structured(self, messages, schema, **params):
        self.calls += 1
        response = messages[-1]["content"].split("Response:", 1)[1].split("Return a JSON object")[0]
        return schema(present=word_count(response) > 2), None


@pytest.mark.vcr
async def test_a_calibrated_judge_decides_and_is_asked_once_per_draft(recorded_llm, tmp_store, embedder) -> None:
    """Cassette for the drafts: 12 wordy SmolLM2 answers refined (the failure), 6 one-word answers accepted."""
    from oversight.schemas import Draft

    prompt, item = await seeded_pattern_without_a_check(tmp_store, recorded_llm, embedder, accepted=0)
    short = capital_tasks(18)[12:]
    tmp_store.add_tasks(short)
    tmp_store.add_finished_work([
        (task, draft, build_refinement(RefinementInput(decision="accept"), draft, None))
        for task in short
        for draft in [Draft(id=f"d-short-{task.id}", task_id=task.id, model="human", prompt_name="draft",
                            prompt_version="hand", text=task.reference)]])
    judge = CountingJudge()
    validation = await validate(tmp_store, item.id, drafter=recorded_llm, base_prompt=prompt, judge=judge,
                                judge_prompt=load_prompt("judge_failure"), seed=5, controls=0)
    calibration = validation.calibration
    assert calibration.calibrated and (calibration.positives, calibration.negatives) == (12, 6)
    assert calibration.kappa.estimate == 1.0 and validation.decided_by == "judge:fake/judge"
    assert validation.tasks == 12 and validation.before == 1.0
    asked = judge.calls
    # the 18 labelled drafts once; the old drafts of the 12 affected tasks are among them (same verdict,
    # not asked again); then the 12 new drafts
    assert asked == 18 + 12
    again = await validate(tmp_store, item.id, drafter=recorded_llm, base_prompt=prompt, judge=judge,
                           judge_prompt=load_prompt("judge_failure"), seed=5, controls=0)
    assert judge.calls == asked  # every verdict was kept: the re-run pays the judge nothing
    assert (again.before, again.after, again.outcome) == (validation.before, validation.after, validation.outcome)
