"""Validating a prompt patch or few-shot set: re-draft, decide recurrence, compare, with intervals.

1. The pattern's affected tasks (the tasks of its member notes, a seeded sample of at most
   ``sample``) and a seeded control sample of other tasks are drafted with the old prompt and
   the new one. Drafts are cached by id like every draft: a re-run pays for nothing twice.
2. For each draft, does the failure recur? By the pattern's programmatic ``eval_check`` when it
   has one; else by an LLM judge asked the pattern's inclusion criteria, whose verdicts count
   only after it agrees with the human labels that exist (``stats.calibrate``).
3. Recurrence before and after on the affected tasks, with a paired bootstrap interval; the
   other patterns' checks on every re-drafted task (affected and controls) before and after,
   each with its interval: a check that got worse beyond its interval is a regression.
4. ``stats.decide``: "validated" only when the interval excludes no change; "regressed" when a
   check got worse; "inconclusive" with too few tasks; else "not effective". The validation is
   kept on the intervention (its status becomes the outcome).

Everything that can be refused (unknown id, wrong status or kind, an empty pattern, no way to
decide recurrence) is refused before anything is drafted or written.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from oversight._aio import finish_even_if_cancelled
from oversight.errors import CannotValidateError, NotFoundError, StructuredOutputError
from oversight.intervene.apply import patched_prompt
from oversight.intervene.checks import PROGRAMMATIC, passes
from oversight.intervene.stats import KAPPA_THRESHOLD, MIN_PER_CLASS, calibrate, decide, paired_change, wilson
from oversight.refine.drafting import draft_task
from oversight.schemas import (
    Calibration,
    CheckCriterion,
    EvalCheck,
    FewShot,
    Interval,
    Intervention,
    PromptPatch,
    Task,
    Validation,
    text_hash,
)

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt
    from oversight.schemas import Draft, Pattern
    from oversight.store import Store

__all__ = ["JUDGE_PROMPT", "CannotValidateError", "ValidationPlan", "ask_judge", "judge_recurrence", "pattern_checks",
           "plan_validation",
           "run_validation",
           "validate"]

JUDGE_PROMPT = "judge_failure"
VALIDATABLE = ("prompt_patch", "few_shot")
READY = ("accepted", "validated", "not_effective", "regressed", "inconclusive", "judge_not_calibrated")
LIVE = ("proposed", "accepted", "validated", "not_effective", "regressed", "inconclusive")



# The judge's answer. No docstring: it would enter the JSON schema of every request.
class FailureVerdict(BaseModel):
    present: bool = Field(description="true if the response shows the failure described")


@dataclass(frozen=True)
class ValidationPlan:
    """What a validation will do, fixed before anything is paid for."""

    intervention: Intervention
    pattern: Pattern
    affected: list[Task]
    controls: list[Task]
    check: CheckCriterion | None  # None: a judge decides
    regression_checks: dict[str, CheckCriterion]  # label -> criterion (other patterns' checks)
    reviewers: frozenset[str] | None = None  # a trust decision: only their notes and labels count; None: everyone's


def pattern_checks(store: Store, pattern_id: str) -> list[CheckCriterion]:
    """The programmatic checks of a pattern that decide recurrence: its live eval checks."""
    return [i.payload.criterion for i in store.interventions(pattern_id=pattern_id)
            if isinstance(i.payload, EvalCheck) and i.status in LIVE and i.payload.criterion.kind in PROGRAMMATIC]


def plan_validation(store: Store, intervention_id: str, *, sample: int = 100, controls: int = 50, seed: int = 0,
                    judge: bool = False, reviewers: Collection[str] | None = None) -> ValidationPlan:
    """Check that a validation can run and choose its tasks (blocking reads). Raises NotFoundError or
    CannotValidateError with a message saying what to do.

    ``reviewers`` (a trust decision): the affected tasks are those of these reviewers' notes, and a
    judge is calibrated against their labels only; None: everyone's."""
    intervention = store.intervention(intervention_id)
    if intervention is None:
        raise NotFoundError(f"no intervention {intervention_id!r}: `oversight interventions list` shows them")
    if intervention.kind not in VALIDATABLE:
        raise CannotValidateError(f"{intervention_id} is a {intervention.kind}: only prompt patches and few-shot sets "
                              "are validated by re-drafting")
    if intervention.status not in READY:
        raise CannotValidateError(f"{intervention_id} is {intervention.status}: accept it first "
                              f"(`oversight interventions accept {intervention_id} --reason ...`)")
    pattern = next((p for p in store.patterns(include_retired=True) if p.id == intervention.pattern_id), None)
    if pattern is None:
        raise NotFoundError(f"pattern {intervention.pattern_id} of {intervention_id} is not in this database")
    members = set(pattern.member_ids)
    task_ids = sorted({n.task_id for n in store.notes(reviewers=reviewers) if n.id in members and n.task_id})
    known = {t.id: t for t in store.tasks(task_ids)} if task_ids else {}
    affected = [known[i] for i in task_ids if i in known]
    if not affected:
        raise CannotValidateError(f"pattern {pattern.id} ({pattern.name}) has no tasks in this database to re-draft "
                              "(its notes were imported without tasks)")
    rng = random.Random(seed)
    if len(affected) > sample:
        affected = sorted(rng.sample(affected, sample), key=lambda t: t.id)
    own = pattern_checks(store, pattern.id)
    if not own and not judge:
        raise CannotValidateError(f"nothing decides whether {pattern.name!r} recurs: accept an eval_check for pattern "
                              f"{pattern.id}, or validate with --judge MODEL")
    others = sorted((t for t in store.tasks() if t.id not in set(task_ids)), key=lambda t: t.id)
    control = sorted(rng.sample(others, min(controls, len(others))), key=lambda t: t.id) if others else []
    regression: dict[str, CheckCriterion] = {}
    for other in store.patterns():
        if other.id == pattern.id:
            continue
        for k, criterion in enumerate(pattern_checks(store, other.id)):
            what = criterion.kind if criterion.value is None else f"{criterion.kind} {criterion.value}"
            regression[f"{other.name} [{what}]" + (f" #{k + 1}" if k else "")] = criterion
    return ValidationPlan(intervention, pattern, affected, control, own[0] if own else None, regression,
                          None if reviewers is None else frozenset(reviewers))


async def _draft_both(
    tasks: list[Task], drafter: LLM, old: Prompt, new: Prompt, store: Store
) -> list[tuple[Draft, Draft]]:
    async def both(task: Task) -> tuple[Draft, Draft]:
        return (await draft_task(task, drafter, old, store=store), await draft_task(task, drafter, new, store=store))

    return list(await asyncio.gather(*(both(t) for t in tasks)))


async def judge_recurrence(store: Store, judge: LLM, prompt: Prompt, pattern: Pattern, task: Task, text: str) -> bool | None:
    """The judge's verdict on one draft, asked once: a verdict already paid for (same model, prompt
    version, failure, request and response) is read from the store, a new one kept as it arrives."""
    key = text_hash(json.dumps([pattern.name, pattern.description, pattern.criteria, task.prompt, text]))
    known = await asyncio.to_thread(store.judge_verdicts, judge.model, prompt.version, [key])
    if key in known:
        return known[key]
    present = await ask_judge(judge, prompt, name=pattern.name, description=pattern.description,
                              criteria=pattern.criteria, request=task.prompt, response=text)
    if present is None:
        return None
    return await finish_even_if_cancelled(
        asyncio.to_thread(store.save_judge_verdict, judge.model, prompt.version, key, present))


async def ask_judge(judge: LLM, prompt: Prompt, *, name: str, description: str, criteria: list[str], request: str,
                    response: str) -> bool | None:
    """Does ``response`` show the failure (``prompt``: judge_failure)? None when the answer never fit. Raises LLMError."""
    messages = prompt.render(name=name, description=description, criteria=criteria, prompt=request, response=response)
    try:
        verdict, _ = await judge.structured(messages, FailureVerdict, **prompt.params)
    except StructuredOutputError:
        return None
    return verdict.present


async def _calibration(store: Store, plan: ValidationPlan, judge: LLM, prompt: Prompt, seed: int) -> Calibration:
    """The judge against the trainers: drafts refined with a note in the pattern (failure present) and
    refined drafts without one (absent)."""
    members = set(plan.pattern.member_ids)
    notes = await asyncio.to_thread(store.notes, reviewers=plan.reviewers)
    flagged = {n.refinement_id for n in notes if n.id in members and n.refinement_id}
    refinements = [r for r in await asyncio.to_thread(store.refinements, reviewers=plan.reviewers)
                   if r.decision != "skip"]
    drafts = await asyncio.to_thread(store.drafts, {r.draft_id for r in refinements})
    tasks = {t.id: t for t in await asyncio.to_thread(store.tasks, {r.task_id for r in refinements})}
    pairs = [(r.id in flagged, tasks[r.task_id], drafts[r.draft_id].text) for r in refinements
             if r.draft_id in drafts and r.task_id in tasks]
    positives = sum(human for human, _, _ in pairs)
    if positives < MIN_PER_CLASS or len(pairs) - positives < MIN_PER_CLASS:  # cannot be trusted: ask nothing
        return Calibration(
            judge=f"judge:{judge.model}", positives=positives, negatives=len(pairs) - positives,
            true_positive_rate=wilson(0, 0), true_negative_rate=wilson(0, 0),
            kappa=Interval(estimate=0.0, low=0.0, high=0.0), threshold=KAPPA_THRESHOLD, calibrated=False)
    verdicts = await asyncio.gather(*(judge_recurrence(store, judge, prompt, plan.pattern, task, text)
                                      for _, task, text in pairs))
    kept = [(human, bool(v)) for (human, _, _), v in zip(pairs, verdicts, strict=True) if v is not None]
    return calibrate(f"judge:{judge.model}", [h for h, _ in kept], [v for _, v in kept], seed=seed)


async def run_validation(
    store: Store,
    plan: ValidationPlan,
    *,
    drafter: LLM,
    base_prompt: Prompt,
    judge: LLM | None = None,
    judge_prompt: Prompt | None = None,
    seed: int = 0,
    min_tasks: int = 10,
    progress: Callable[[str], None] = lambda _: None,
) -> Validation:
    """Draft, decide and compare as planned; keep the validation on the intervention. Raises LLMError."""
    payload = plan.intervention.payload
    assert isinstance(payload, PromptPatch | FewShot)
    new_prompt = patched_prompt(base_prompt, payload)
    calibration = None
    if plan.check is None:
        assert judge is not None and judge_prompt is not None
        progress(f"calibrating judge {judge.model} against the trainers' labels")
        calibration = await _calibration(store, plan, judge, judge_prompt, seed)
        if not calibration.calibrated:  # its verdicts would not count: draft nothing
            return await _keep(store, plan, Validation(
                decided_by=f"judge:{judge.model}", tasks=len(plan.affected), controls=len(plan.controls),
                before=None, after=None, calibration=calibration, outcome="judge_not_calibrated",
                reason=_uncalibrated(calibration), seed=seed, old_version=base_prompt.version,
                new_version=new_prompt.version))
    tasks = plan.affected + plan.controls
    progress(f"drafting {len(tasks)} tasks with prompt {base_prompt.version} and {new_prompt.version}")
    drafts = await _draft_both(tasks, drafter, base_prompt, new_prompt, store)
    affected = drafts[:len(plan.affected)]
    if plan.check is not None:
        check = plan.check
        pairs = list(zip(plan.affected, affected, strict=True))
        before = [not passes(check, old.text, reference=t.reference) for t, (old, _) in pairs]
        after = [not passes(check, new.text, reference=t.reference) for t, (_, new) in pairs]
        decided_by = f"check:{check.kind}"
    else:
        assert judge is not None and judge_prompt is not None
        verdicts = await asyncio.gather(*(judge_recurrence(store, judge, judge_prompt, plan.pattern, t, d.text)
                                          for t, pair in zip(plan.affected, affected, strict=True) for d in pair))
        before = [bool(v) for v in verdicts[0::2]]
        after = [bool(v) for v in verdicts[1::2]]
        decided_by = f"judge:{judge.model}"
    change = paired_change(before, after, seed=seed)
    regressions: dict[str, Interval] = {}
    for label, criterion in plan.regression_checks.items():
        rows = [(t, old, new) for t, (old, new) in zip(tasks, drafts, strict=True)
                if criterion.kind != "contains_reference" or t.reference]
        if len(rows) >= 2:
            old_fails = [not passes(criterion, o.text, reference=t.reference) for t, o, _ in rows]
            new_fails = [not passes(criterion, n.text, reference=t.reference) for t, _, n in rows]
            regressions[label] = paired_change(old_fails, new_fails, seed=seed)
    outcome, reason = decide(change, len(plan.affected), regressions, min_tasks=min_tasks)
    validation = Validation(
        decided_by=decided_by, tasks=len(plan.affected), controls=len(plan.controls),
        before=sum(before) / len(before), after=sum(after) / len(after), change=change, regressions=regressions,
        calibration=calibration, outcome=outcome, reason=reason, seed=seed,
        old_version=base_prompt.version, new_version=new_prompt.version,
    )
    return await _keep(store, plan, validation)


async def _keep(store: Store, plan: ValidationPlan, validation: Validation) -> Validation:
    await asyncio.to_thread(store.record_validation, plan.intervention.id, validation)
    return validation


def _uncalibrated(calibration: Calibration) -> str:
    k = calibration.kappa
    return (f"the judge's agreement with the trainers' labels (kappa {k.estimate:.2f}, interval {k.low:.2f} to "
            f"{k.high:.2f}, on {calibration.positives} drafts with the failure and {calibration.negatives} without) "
            f"is below {calibration.threshold} or rests on fewer than 5 of either: its verdicts do not count, and "
            "nothing was re-drafted")


async def validate(store: Store, intervention_id: str, *, drafter: LLM, base_prompt: Prompt, judge: LLM | None = None,
                   judge_prompt: Prompt | None = None, sample: int = 100, controls: int = 50, seed: int = 0,
                   min_tasks: int = 10, progress: Callable[[str], None] = lambda _: None,
                   reviewers: Collection[str] | None = None) -> Validation:
    """Plan (refusing what cannot run, before paying) and run a validation (``reviewers``: whose
    notes and labels count, ``plan_validation``). Raises NotFoundError, CannotValidateError,
    PatchError or LLMError."""
    plan = await asyncio.to_thread(plan_validation, store, intervention_id, sample=sample, controls=controls,
                                   seed=seed, judge=judge is not None, reviewers=reviewers)
    return await run_validation(store, plan, drafter=drafter, base_prompt=base_prompt, judge=judge,
                                judge_prompt=judge_prompt, seed=seed, min_tasks=min_tasks, progress=progress)
