"""Running a declared experiment: items in the review queue, reviewers, one row per task and condition.

1. **Tasks**: the selection (a file is imported first: its errors name file, line and field,
   and nothing is kept), sampled with the seed; an experiment's own items are never selected.
2. **Assignment**: "paired" puts every task under every condition; "randomised" deals the
   tasks out to the conditions in a seeded shuffle, balanced to within one.
3. **Drafts**: each condition drafts the *source* task with its model and prompt (or the
   prompt patched by an intervention, as a validation does). Drafts are cached by id like
   every draft: the same task, model and prompt version is never paid twice, across
   experiments and validations alike; conditions that draft alike share one request.
4. **Items**: each (task, condition) becomes a review item: a task of its own in batch
   ``experiment:NAME`` (metadata: the source task, the condition, the arm), whose draft is
   the condition's draft with an error planted in it when the experiment plants errors. The
   items, their tasks and drafts are written in one transaction.
5. **Review**: reviewed items run the refine graph to its human pause (the critic critiques
   the draft the reviewer sees; in both arms, so whether it would have pointed at the error
   is known in both). Simulated reviewers then claim, open and answer each item through the
   review service, as a person would; with ``policy: human`` the items wait in the queue.
6. **Rows**: read back from the store. Nothing is kept twice: a re-run (after a kill, say)
   finds the drafts, items, critiques and refinements it has, pays for the rest, and returns
   the same rows.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight import review
from oversight.errors import ExperimentError, NotFoundError
from oversight.experiments.reviewers import REVIEWER_PROMPT, LLMReview, Scripted, SimulatedReviewer, item_rng, unit_of
from oversight.intervene.apply import patched_prompt
from oversight.intervene.checks import passes, word_count
from oversight.intervene.validate import JUDGE_PROMPT, judge_recurrence, pattern_checks
from oversight.refine.drafting import draft_parameters, draft_task
from oversight.refine.plant import caught, critic_pointed, plant, planted_prompt
from oversight.schemas import (
    CheckCriterion,
    Condition,
    Draft,
    Experiment,
    ExperimentItem,
    FewShot,
    HumanReviewers,
    LLMReviewer,
    PromptPatch,
    ScriptedReviewer,
    Task,
    content_hash,
)

if TYPE_CHECKING:
    import pandas as pd

    from oversight.project import Project

__all__ = ["ROW_COLUMNS", "rows", "run", "select_tasks"]

ROW_COLUMNS = [
    "experiment", "task_id", "condition", "arm", "item_id", "model", "prompt_version", "draft_id", "draft_words",
    "plant", "reviewer", "simulated", "state", "decision", "flagged", "caught", "critic_pointed", "seconds", "recurs",
]
_CONCURRENCY = 4



# -- tasks and assignment -------------------------------------------------------------------------


def select_tasks(store: Any, experiment: Experiment, *, base: str | Path | None = None) -> list[Task]:
    """The experiment's tasks, sampled (blocking). A file is imported into the store first.

    Raises InputFileError (a bad file: nothing kept), NotFoundError (unknown ids) or ExperimentError.
    """
    from oversight.refine.tasks import load_tasks

    chosen = experiment.tasks
    if chosen.file:
        path = Path(chosen.file)
        if base is not None and not path.is_absolute():
            path = Path(base) / path
        loaded = load_tasks(path)
        store.add_tasks(loaded, source=str(chosen.file))
        tasks = loaded
    elif chosen.ids:
        tasks = store.tasks(chosen.ids)
        missing = sorted(set(chosen.ids) - {t.id for t in tasks})
        if missing:
            raise NotFoundError(f"no task {missing[0]!r} in this database"
                                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    else:
        ids = store.batch_task_ids(chosen.batch) if chosen.batch else None
        tasks = store.tasks(ids) if ids is not None else store.tasks()
    tasks = [t for t in tasks if "experiment" not in t.metadata
             and (chosen.domain is None or t.domain == chosen.domain)
             and (chosen.kind is None or t.kind == chosen.kind)]
    tasks = sorted({t.id: t for t in tasks}.values(), key=lambda t: t.id)
    if not tasks:
        raise ExperimentError(f"experiment {experiment.name!r} selects no tasks: import some "
                              "(`oversight tasks import FILE`) or give 'tasks: {file: ...}'")
    if experiment.sample is not None and experiment.sample < len(tasks):
        tasks = sorted(random.Random(experiment.seed).sample(tasks, experiment.sample), key=lambda t: t.id)
    return tasks


def assign(tasks: list[Task], experiment: Experiment) -> list[tuple[Task, Condition]]:
    """(task, condition) pairs: every pair when paired; one balanced, seeded condition per task when randomised."""
    if experiment.design == "paired":
        return [(t, c) for t in tasks for c in experiment.conditions]
    order = list(range(len(tasks)))
    random.Random(f"{experiment.seed}:assign").shuffle(order)
    k = len(experiment.conditions)
    return sorted(((tasks[i], experiment.conditions[rank % k]) for rank, i in enumerate(order)),
                  key=lambda pair: pair[0].id)


def item_id(experiment: Experiment, task_id: str, condition: str) -> str:
    """The id of a (task, condition) item's own task: readable, bounded, distinct per declaration."""
    return f"x.{experiment.name[:40]}.{experiment.key}.{condition[:40]}.{content_hash(task_id, length=10)}"


# -- conditions ---------------------------------------------------------------------------------


def condition_project(project: Project, condition: Condition) -> Project:
    """The base project with the condition's drafting model and prompt (it shares store and models).

    Raises NotFoundError or ExperimentError (a patch that is not a prompt patch or few-shot set).
    """
    prompt = project.prompt(condition.prompt) if condition.prompt else project.draft_prompt
    if condition.patch:
        intervention = project.store.intervention(condition.patch)
        if intervention is None:
            raise NotFoundError(f"condition {condition.name!r}: no intervention {condition.patch!r}")
        if not isinstance(intervention.payload, PromptPatch | FewShot):
            raise ExperimentError(f"condition {condition.name!r}: {condition.patch} is a {intervention.kind}; "
                                  "only a prompt patch or few-shot set changes how drafts are made")
        prompt = patched_prompt(prompt, intervention.payload)
    return project.drafting_with(drafter=project.llm_for(condition.model) if condition.model else None,
                                 prompt=prompt)


def _reviewer(project: Project, spec: Any) -> SimulatedReviewer | None:
    if isinstance(spec, ScriptedReviewer):
        return Scripted(spec)
    if isinstance(spec, LLMReviewer):
        llm = project.llm_for(spec.model) if spec.model else project.judge
        return LLMReview(spec, llm, project.prompt(REVIEWER_PROMPT), project.store)
    return None  # humans, or no reviewer


# -- the run --------------------------------------------------------------------------------------


async def run(
    experiment: Experiment,
    project: Project,
    *,
    base: str | Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> pd.DataFrame:
    """Run (or resume) ``experiment``; one row per task and condition (``ROW_COLUMNS``).

    ``base`` resolves a relative task file (the YAML file's folder). Raises InputFileError,
    NotFoundError, ExperimentError (before anything is paid for), or LLMError.
    """
    store = project.store
    projects = await asyncio.to_thread(  # refuses an unknown patch before any task is imported
        lambda: {c.name: condition_project(project, c) for c in experiment.conditions})
    tasks = await asyncio.to_thread(select_tasks, store, experiment, base=base)
    pairs = assign(tasks, experiment)
    progress(f"{experiment.name}: {len(tasks)} tasks, {len(pairs)} items under {len(experiment.conditions)} "
             f"conditions ({experiment.design})")
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def source_draft(task: Task, condition: Condition) -> Draft:
        rt = projects[condition.name]
        async with limit:
            return await draft_task(task, rt.drafter, rt.draft_prompt, store=store, parameters=rt.draft_params)

    drafts = await asyncio.gather(*(source_draft(t, c) for t, c in pairs))
    work = [_item(experiment, task, condition, draft, projects[condition.name],
                  queued=experiment.reviewer_of(condition) is not None)
            for (task, condition), draft in zip(pairs, drafts, strict=True)]
    added = await asyncio.to_thread(store.add_experiment_items, work, source=experiment.batch)
    if added:
        progress(f"{added} new items" + (f" (review items in batch {experiment.batch})"
                                         if any(task for _, task, _ in work) else ""))
    await _review(experiment, project, projects, [item for item, _, _ in work], progress, limit)
    if experiment.recurrence is not None and experiment.recurrence.pattern is not None:
        return await _rows_with_judge(experiment, project)
    return await asyncio.to_thread(rows, store, experiment)


def _item(experiment: Experiment, task: Task, condition: Condition, source: Draft, rt: Project, *,
          queued: bool) -> tuple[ExperimentItem, Task | None, Draft | None]:
    """The item of ``task`` under ``condition``; with ``queued`` (someone reviews it) also its review
    task and the draft the reviewer sees. Unreviewed items are measured on the source draft alone."""
    iid = item_id(experiment, task.id, condition.name)
    # seeded by what the item is, not by its id (which holds the declaration's key): the same task
    # under the same condition and seed gets the same error wherever the file lies
    text, error = plant(source.text, experiment.plant, item_rng(experiment.seed, unit_of(task.id, condition.name),
                                                                "plant")) if experiment.plant else (source.text, None)
    review_task = Task(id=iid, prompt=planted_prompt(task.prompt, error), input=task.input, context=task.context,
                       domain=task.domain, kind=task.kind, reference=task.reference,
                       metadata={"experiment": experiment.name, "condition": condition.name, "task": task.id,
                                 "arm": condition.arm})
    params = draft_parameters(rt.draft_prompt, rt.draft_params)
    shown = Draft(id=Draft.derive_id(iid, rt.drafter.model, rt.draft_prompt.version, params), task_id=iid,
                  model=source.model, prompt_name=source.prompt_name, prompt_version=source.prompt_version,
                  parameters=params, text=text, usage=source.usage)
    item = ExperimentItem(experiment=experiment.name, key=experiment.key, item_id=iid, task_id=task.id,
                          condition=condition.name, arm=condition.arm,
                          draft_id=shown.id if queued else source.id, source_draft_id=source.id, plant=error)
    return (item, review_task, shown) if queued else (item, None, None)


async def _review(experiment: Experiment, project: Project, projects: dict[str, Project], items: list[ExperimentItem],
                  progress: Callable[[str], None], limit: asyncio.Semaphore) -> None:
    from oversight.pipelines.refine import draft_for_review, holding_refine_graph

    store = project.store
    by_condition: dict[str, list[ExperimentItem]] = {}
    for item in items:
        condition = next(c for c in experiment.conditions if c.name == item.condition)
        if experiment.reviewer_of(condition) is not None:
            by_condition.setdefault(item.condition, []).append(item)
    for name, queued in by_condition.items():
        rt = projects[name]
        states = {s.task_id: s.state for s in await asyncio.to_thread(store.task_states, None,
                                                                       [i.item_id for i in queued])}
        fresh = [i for i in queued if states.get(i.item_id) in (None, "pending", "drafting", "failed")]
        if fresh:
            progress(f"{name}: critiquing {len(fresh)} items and queueing them for review")

            async def to_review(item: ExperimentItem, rt: Project = rt) -> None:
                async with limit:
                    await draft_for_review(rt, item.item_id, rt.thread_id(item.item_id))

            await asyncio.gather(*(to_review(i) for i in fresh))
        condition = next(c for c in experiment.conditions if c.name == name)
        reviewer = _reviewer(project, experiment.reviewer_of(condition))
        if reviewer is None:
            waiting = sum(1 for i in queued if states.get(i.item_id) != "refined")
            if waiting and isinstance(experiment.reviewer_of(condition), HumanReviewers):
                progress(f"{name}: {waiting} items wait for reviewers in batch {experiment.batch}")
            continue
        states = {s.task_id: s.state for s in await asyncio.to_thread(store.task_states, None,
                                                                       [i.item_id for i in queued])}
        todo = [i for i in queued if states.get(i.item_id) == "awaiting_review"]
        if todo:
            progress(f"{name}: {reviewer.name} reviews {len(todo)} items")

        async def answer(item: ExperimentItem, rt: Project = rt, reviewer: SimulatedReviewer = reviewer) -> None:
            async with limit:
                lease = await review.claim(rt, reviewer.name, task_id=item.item_id)
                if lease is None:  # someone holds it (a person on the page): theirs to answer
                    return
                shown = await review.item(rt, item.item_id)
                said = await reviewer.answer(shown, item.plant, seed=experiment.seed)
                await review.submit(rt, item.item_id, said, reviewer=reviewer.name, simulated=True)

        async with holding_refine_graph(rt):  # one checkpointer for the condition's answers
            await asyncio.gather(*(answer(i) for i in todo))


# -- rows -----------------------------------------------------------------------------------------


def _recurrence_check(store: Any, experiment: Experiment) -> CheckCriterion | None:
    spec = experiment.recurrence
    if spec is None:
        return None
    if spec.check is not None:
        return spec.check
    checks = pattern_checks(store, spec.pattern or "")  # as a validation decides recurrence
    return checks[0] if checks else None


async def _rows_with_judge(experiment: Experiment, project: Project) -> pd.DataFrame:
    """Rows whose recurrence a judge decides (a pattern with no programmatic check): verdicts are cached."""
    store = project.store
    if await asyncio.to_thread(_recurrence_check, store, experiment) is not None:
        return await asyncio.to_thread(rows, store, experiment)
    pattern_id = experiment.recurrence.pattern  # type: ignore[union-attr]
    pattern = next((p for p in await asyncio.to_thread(store.patterns, include_retired=True) if p.id == pattern_id),
                   None)
    if pattern is None:
        raise NotFoundError(f"recurrence: no pattern {pattern_id!r} in this database")
    items = await asyncio.to_thread(store.experiment_items, experiment.name, experiment.key)
    drafts = await asyncio.to_thread(store.drafts, {i.source_draft_id for i in items})
    tasks = {t.id: t for t in await asyncio.to_thread(store.tasks, {i.task_id for i in items})}
    prompt = project.prompt(JUDGE_PROMPT)
    verdicts = await asyncio.gather(*(judge_recurrence(store, project.judge, prompt, pattern, tasks[i.task_id],
                                                       drafts[i.source_draft_id].text) for i in items))
    judged = {i.item_id: v for i, v in zip(items, verdicts, strict=True)}
    frame = await asyncio.to_thread(rows, store, experiment, judged=judged)
    # unlike a validation, the judge is not calibrated against the trainers' labels first
    frame.attrs["recurrence"] = (f"judge:{project.judge.model} (not calibrated against the trainers' labels: "
                                 "`oversight interventions validate --judge` calibrates it)")
    return frame


def rows(store: Any, experiment: Experiment, *, judged: dict[str, bool | None] | None = None) -> pd.DataFrame:
    """The experiment's rows as the store holds them now (blocking; pays for nothing). ``judged``:
    a judge's recurrence verdicts by item, when no programmatic check decides."""
    import pandas as pd

    items = store.experiment_items(experiment.name, experiment.key)
    ids = [i.item_id for i in items]
    drafts = store.drafts({i.draft_id for i in items} | {i.source_draft_id for i in items})
    states = {s.task_id: s for s in store.task_states(None, ids)}
    critiques = store.critiques({s["critique_id"] for s in states.values() if s["critique_id"]})
    refinements = {}
    for r in store.refinements_of_tasks(ids):
        refinements.setdefault(r.task_id, r)  # the first answer counts
    tasks = {t.id: t for t in store.tasks({i.task_id for i in items})}
    check = _recurrence_check(store, experiment)
    out: list[dict[str, Any]] = []
    for item in items:
        shown, source = drafts.get(item.draft_id), drafts.get(item.source_draft_id)
        state = states.get(item.item_id)
        critique = critiques.get(state["critique_id"]) if state is not None and state["critique_id"] else None
        ref = refinements.get(item.item_id)
        decided = ref is not None and ref.decision != "skip"
        recurs = None
        if check is not None and source is not None:
            recurs = not passes(check, source.text, reference=tasks[item.task_id].reference)
        elif judged is not None:
            recurs = judged.get(item.item_id)
        out.append({
            "experiment": experiment.name, "task_id": item.task_id, "condition": item.condition, "arm": item.arm,
            "item_id": item.item_id, "model": source.model if source else None,
            "prompt_version": source.prompt_version if source else None, "draft_id": item.source_draft_id,
            "draft_words": word_count(shown.text) if shown else None,
            "plant": item.plant.kind if item.plant else None,
            "reviewer": ref.reviewer if ref else None, "simulated": ref.simulated if ref else None,
            "state": state.state if state else None, "decision": ref.decision if ref else None,
            "flagged": (ref.decision != "accept") if decided else None,
            "caught": caught(item.plant, shown.text, ref) if ref and item.plant and shown else None,
            "critic_pointed": critic_pointed(item.plant, shown.text, critique) if item.plant and shown and critique
            else None,
            "seconds": ref.seconds_spent if decided else None,
            "recurs": recurs,
        })
    frame = pd.DataFrame(out, columns=ROW_COLUMNS)
    frame.attrs["experiment"] = experiment.model_dump(mode="json")
    if check is not None:
        frame.attrs["recurrence"] = f"check:{check.kind}" + (f" {check.value}" if check.value is not None else "")
    return frame
