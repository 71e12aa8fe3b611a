"""The demo: the whole refine loop on bundled real tasks, with nobody at the keyboard.

Tasks and human refinements come from FineGrainedRLHF's qa-feedback dev set
(Apache-2.0; see data/demo/README.md). The model drafts and critiques for real; the
refinements are replayed from the annotators' corrections.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight import review
from oversight.pipelines import draft_tasks
from oversight.project import Project
from oversight.refine.export import export_rows, write_jsonl
from oversight.refine.tasks import load_tasks

if TYPE_CHECKING:
    from oversight.mine.miner import Progress
    from oversight.schemas import NamesMode

__all__ = [
    "DEMO_DATA",
    "DemoResult",
    "mine_and_report",
    "refine_capital_questions",
    "run_demo",
    "validate_one_intervention",
]

DEMO_DATA = Path(__file__).resolve().parent / "data" / "demo"


@dataclass
class DemoResult:
    """What the demo did and where it left things."""

    workspace: Path
    db: str
    model: str
    tasks: int
    drafted: int
    refined: int
    seconds: float
    tokens: int
    export_path: Path
    items: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


async def run_demo(
    project: Project,
    workspace: Path,
    *,
    limit: int = 6,
    on_progress: Any = None,
) -> DemoResult:
    """Import ``limit`` bundled tasks, draft and critique them, replay the human refinements.

    Safe to run again: finished work is found in the workspace's database, not redone.
    Raises OversightError (LocalModelError when the embedded model is not installed).
    """
    started = time.monotonic()
    workspace.mkdir(parents=True, exist_ok=True)
    tasks = load_tasks(DEMO_DATA / "tasks.jsonl")[:limit]
    answers = dict(review.read_answers(DEMO_DATA / "refinements.jsonl"))
    store = project.store
    store.add_tasks(tasks, source="oversight demo (FineGrainedRLHF dev)")
    ids = [t.id for t in tasks]
    summary = await draft_tasks(project, ids, on_done=on_progress)
    refined = 0
    for entry in review.queue(store):
        answer = answers.get(entry.task_id)
        if answer is not None and entry.task_id in ids:
            await review.submit(project, entry.task_id, answer)
            refined += 1
    rows = [row for row in export_rows(store) if row["task_id"] in ids]
    export_path = workspace / "refinements.jsonl"
    write_jsonl(rows, export_path)
    status = store.status()
    return DemoResult(
        workspace=workspace,
        db=project.settings.db,
        model=project.drafter.model,
        tasks=len(ids),
        drafted=summary.count("drafted") + summary.count("resumed"),
        refined=refined,
        seconds=round(time.monotonic() - started, 1),
        tokens=status["tokens"],
        export_path=export_path,
        items=rows,
        errors=summary.errors,
    )


async def mine_and_report(project: Project, folder: str | Path, *, names: NamesMode = "llm",
                          progress: Progress | None = None) -> dict[str, Any]:
    """Mine (``oversight.mine.run.mine_project``), then write failure-patterns.html and .md into
    ``folder``: the result, both paths and the lines that say where to look next (the database's
    password masked)."""
    from oversight.leads import write_reports
    from oversight.mine.run import mine_project
    from oversight.store import masked_url

    result = await mine_project(project, names=names, progress=progress or (lambda _m: None))
    paths = await asyncio.to_thread(write_reports, project.store, folder)
    run = result.run
    db = masked_url(project.settings.db)  # printed: never the password
    return {
        "result": result,
        "html": paths["html"],
        "markdown": paths["md"],
        "next": [
            f"  patterns      {run.patterns} from {run.notes} failure notes ({run.noise} noise): "
            f"oversight --db {db} patterns",
            f"  report        {paths['html']}  (open in a browser; also {paths['md'].name})",
        ],
    }


# -- the demo's second part: a known failure, targeted and validated -------------------------

CAPITALS = Path(__file__).resolve().parent / "data" / "capitals" / "tasks.jsonl"
ONE_WORD_TAG = "ignores-one-word-instruction"
WRONG_TAG = "wrong-capital"


async def refine_capital_questions(project: Project, limit: int = 12) -> int:
    """Draft ``limit`` bundled capital questions ("Answer with one word.") and refine them as a
    trainer would: every answer longer than two words becomes the capital, tagged, with a reason
    (and tagged wrong-capital when the draft names another city). Returns how many were refined."""
    from oversight.intervene.checks import word_count
    from oversight.refine.answers import RefinementInput, build_refinement
    from oversight.refine.drafting import draft_task

    store = project.store
    tasks = load_tasks(CAPITALS)[:limit]
    await asyncio.to_thread(store.add_tasks, tasks, source="oversight demo (capital questions)")
    prompt = await asyncio.to_thread(project.prompt, "draft")
    drafts = await asyncio.gather(*(draft_task(t, project.drafter, prompt, store=store) for t in tasks))
    work = []
    for task, draft in zip(tasks, drafts, strict=True):
        if word_count(draft.text) <= 2 or not task.reference:
            continue
        tags, why = [ONE_WORD_TAG], "Asked for one word; the draft answered with a sentence."
        if task.reference.casefold() not in draft.text.casefold():
            tags.append(WRONG_TAG)
        answer = RefinementInput(decision="rewrite", refined_text=task.reference, tags=tags, rationale=why)
        work.append((task, draft, build_refinement(answer, draft, None).model_copy(update={"reviewer": "demo-trainer"})))
    await asyncio.to_thread(store.add_finished_work, work, source="oversight demo (capital questions)")
    return len(work)


async def validate_one_intervention(project: Project) -> dict[str, Any] | None:
    """Propose interventions for the one-word pattern, accept them as a lead would, add the lead's
    correctness check to the wrong-capital pattern, and validate the few-shot set. None when the
    last mining run has no one-word pattern."""
    import asyncio

    from oversight.intervene.service import decide, suggest_for_patterns
    from oversight.intervene.validate import validate
    from oversight.schemas import CheckCriterion, EvalCheck, Intervention

    store = project.store
    patterns = await asyncio.to_thread(store.patterns)
    notes = {n.id: n for n in await asyncio.to_thread(store.notes)}

    def holding(tag: str) -> Any:
        counted = [(sum(notes[i].source == "tag" and notes[i].text == tag.replace("-", " ") for i in p.member_ids
                        if i in notes), p) for p in patterns]
        best = max(counted, key=lambda c: c[0], default=(0, None))
        return best[1] if best[0] else None

    one_word, wrong = holding(ONE_WORD_TAG), holding(WRONG_TAG)
    if one_word is None:
        return None
    [found] = await suggest_for_patterns(store, [one_word.id])
    chosen = [i for i in found.suggestions.interventions if i.kind in ("eval_check", "few_shot")]
    if wrong is not None and wrong.id != one_word.id:
        check = EvalCheck(criterion=CheckCriterion(kind="contains_reference", description="names the right capital"))
        lead = Intervention(id=Intervention.derive_id(wrong.id, check), pattern_id=wrong.id, kind="eval_check",
                            title="The answer names the right capital", payload=check, proposed_by="lead",
                            expected_effect="catches a change that makes the model name the wrong city")
        await asyncio.to_thread(store.save_interventions, [lead])
        chosen.append(lead)
    for item in chosen:
        current = await asyncio.to_thread(store.intervention, item.id)
        if current is not None and current.status in ("proposed", "rejected"):
            await asyncio.to_thread(decide, store, item.id, "accepted",
                                    "demo: the lead accepts what the data supports")
    few_shot = next((i for i in chosen if i.kind == "few_shot"), None)
    if few_shot is None:
        return {"pattern": one_word.name, "proposed": [i.title for i in chosen], "validation": None}
    prompt = await asyncio.to_thread(project.prompt, "draft")
    validation = await validate(store, few_shot.id, drafter=project.drafter, base_prompt=prompt, controls=0)
    return {"pattern": one_word.name, "intervention": few_shot.id, "title": few_shot.title,
            "proposed": [i.title for i in chosen], "validation": validation}
