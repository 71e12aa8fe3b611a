"""Gold items: drafts whose right answer is known, made by a lead from real tasks, hidden in the queue.

Two kinds (``GoldItem``):

- *planted* (``plant_items``): a real draft with one error planted in it (``refine.plant``:
  a wrong number, an unsupported sentence, an ignored instruction, a fact swapped for another of
  the task's context). The trainer is shown the critique the draft had, as far as it still fits:
  the critic's findings whose quotes still stand in the planted text, and the model-free checks
  run again on it; or, with ``recritique``, the project's critic on the planted text (a real
  model call, through the critique stage). ``critic_pointed``: whether a finding points at the error.
- *expert* (``read_expert_items``, ``from_refinement``, ``from_calibration``): an expert's answer
  to a real draft, as calibration items have; the critique shown is the one the draft had.

A *decoy* is one wrong finding added on purpose: it quotes a sentence of the draft that holds no
error and calls it wrong. A trainer who marks it right defers to the critic.

Nothing here writes until ``keep``: a lead's command makes every item first, then keeps them all
in one transaction. How gold items reach trainers, and how answers are scored: ``gold_queue``.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from oversight.errors import NotFoundError, OversightError
from oversight.refine.answers import RefinementInput
from oversight.refine.checks import check_findings, eval_checks_in_force
from oversight.refine.critique import finding_problem, ground_findings, write_critique
from oversight.refine.plant import plant, planted_prompt, points_at
from oversight.review.calibration import read_expert_answers
from oversight.schemas import (
    Critique,
    Draft,
    Finding,
    GoldItem,
    PlantedError,
    PlantKind,
    Refinement,
    Task,
    content_hash,
)
from oversight.store import Store

if TYPE_CHECKING:
    from oversight.project import Project

__all__ = [
    "DECOY_ISSUES",
    "PLANT_KINDS",
    "Planted",
    "critique_meta",
    "expert_item",
    "from_calibration",
    "from_refinement",
    "keep",
    "listing",
    "plant_items",
    "read_expert_items",
]

PLANT_KINDS: tuple[PlantKind, ...] = ("wrong_number", "unsupported_sentence", "ignored_instruction", "swapped_fact")
# What a decoy says of a sentence that holds no error: the words a critic uses for a real one.
DECOY_ISSUES = (
    "This statement is factually incorrect.",
    "This claim is not supported by the task or its context.",
    "This detail is wrong and should be corrected.",
    "This contradicts the information given in the task.",
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_DECOY_WORDS = 12  # a decoy quotes at most the first words of its sentence, as critics' quotes are short


class Planted(NamedTuple):
    """The planted gold items made, and the tasks passed over (task id, why)."""

    items: list[GoldItem]
    skipped: list[tuple[str, str]]


def critique_meta(critique: Critique) -> dict[str, Any]:
    """What a gold item keeps of the critique it shows, so its queue copy's critique reads like that one."""
    return {"prompt_name": critique.prompt_name, "prompt_version": critique.prompt_version,
            "parameters": critique.parameters, "grounding": critique.grounding, "checks": critique.checks,
            "usage": critique.usage.model_dump(mode="json")}


def _task_text(task: Task) -> str:
    return "\n".join(t for t in (task.prompt, task.input, task.context, task.reference) if t)


# -- planted ------------------------------------------------------------------------------------


def _sources(store: Store, task_ids: Sequence[str] | None, domain: str | None) -> list[tuple[Task, Draft, Critique | None]]:
    """(task, the draft it was reviewed with, that draft's critique) of the tasks to plant in (blocking).

    Raises NotFoundError for a named task that does not exist, or has no draft.
    """
    states = store.task_states(None, list(task_ids)) if task_ids else store.task_states()
    if task_ids:
        known = {s.task_id for s in states if store.gold_copy(s.task_id) is None}
        missing = [i for i in task_ids if i not in known]
        if missing:
            raise NotFoundError(f"no task with id {missing[0]!r}")
        drafted = {s.task_id for s in states if s["draft_id"]}
        if undrafted := [i for i in task_ids if i not in drafted]:
            raise NotFoundError(f"task {undrafted[0]!r} has no draft to plant an error in")
    states = [s for s in states if s["draft_id"]]
    tasks = {t.id: t for t in store.tasks([s.task_id for s in states])}
    drafts = store.drafts({s["draft_id"] for s in states})
    critiques = store.critiques({s["critique_id"] for s in states if s["critique_id"]})
    out = []
    for s in states:
        task, draft = tasks.get(s.task_id), drafts.get(s["draft_id"])
        if task is None or draft is None or "experiment" in task.metadata:  # an experiment's item is planted already
            continue
        if domain is not None and task.domain != domain:
            continue
        out.append((task, draft, critiques.get(s["critique_id"] or "")))
    if task_ids:
        order = {task_id: i for i, task_id in enumerate(task_ids)}
        out.sort(key=lambda source: order[source[0].id])
    return out


def _decoy(text: str, error: PlantedError, findings: list[Finding], rng: random.Random) -> Finding | None:
    """A wrong finding on a sentence of ``text`` that holds no error and that no finding quotes whole, or None."""
    planted = (error.start, error.start + len(error.planted)) if error.kind != "ignored_instruction" else (-1, -1)
    quoted = [q for f in findings if (q := f.quote.strip()) and q in text]
    sentences = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        sentence = match.group().strip()
        words = sentence.split()
        if len(words) < 4 or not (end <= planted[0] or start >= planted[1]):
            continue
        if any(sentence in q for q in quoted):  # all of it quoted already: that finding's, not a new one
            continue
        sentences.append(" ".join(words[:_DECOY_WORDS]) if len(words) > _DECOY_WORDS else sentence)
    sentences = [s for s in sentences if s in text and finding_problem(_wrong(s, ""), text) is None]
    if not sentences:
        return None
    return _wrong(rng.choice(sentences), rng.choice(DECOY_ISSUES))


def _wrong(quote: str, issue: str) -> Finding:
    return Finding(quote=quote, issue=issue or "This is wrong.", severity="medium", category="factual-error")


async def plant_items(
    project: Project,
    *,
    made_by: str,
    task_ids: Sequence[str] | None = None,
    count: int | None = None,
    domain: str | None = None,
    kinds: Sequence[PlantKind] = PLANT_KINDS,
    decoys: float = 0.0,
    seed: int = 0,
    recritique: bool = False,
) -> Planted:
    """Planted gold items (not kept: ``keep`` them) from tasks with a draft: the ``task_ids``, or ``count``
    drawn at random (``seed``) from the store's tasks (of ``domain``).

    Each draft gets one error of a kind in ``kinds`` (one that cannot apply gives way to the next;
    a draft where none can is passed over, in ``Planted.skipped``). A share ``decoys`` of the items
    gets a decoy finding. With ``recritique`` the project's critic critiques each planted draft
    (a model call each). Raises NotFoundError (a named task unknown or without a draft) or
    OversightError (nothing to choose from).
    """
    if not task_ids and count is None:
        raise OversightError("say which tasks to plant in (task ids) or how many to draw (count)")
    if not 0.0 <= decoys <= 1.0:
        raise OversightError(f"decoys is a share of the items, from 0 to 1 (got {decoys})")
    store = project.store
    sources = await asyncio.to_thread(_sources, store, task_ids, domain)
    if not task_ids:
        sources.sort(key=lambda source: source[0].id)
        random.Random(seed).shuffle(sources)
    if not sources:
        raise OversightError("no task with a draft to plant an error in" + (f" in domain {domain!r}" if domain else ""))
    in_force = eval_checks_in_force(await asyncio.to_thread(store.interventions, status="accepted"))
    items: list[GoldItem] = []
    skipped: list[tuple[str, str]] = []
    for task, draft, critique in sources:
        if count is not None and len(items) >= count:
            break
        text, error = plant(draft.text, kinds, random.Random(content_hash(seed, task.id, "plant")), context=task.context)
        if error is None:
            skipped.append((task.id, f"none of {', '.join(kinds)} can be planted in its draft"))
            continue
        shown = task.model_copy(update={"prompt": planted_prompt(task.prompt, error)})
        planted = draft.model_copy(update={"id": "d_" + content_hash(draft.id, text, error.model_dump(mode="json")),
                                           "text": text})
        if recritique:
            critique = await write_critique(shown, planted, project.critic, project.critique_prompt,
                                            parameters=project.critique_params)
            findings = list(critique.findings) if critique is not None else []
        elif critique is not None:
            kept = [f for f in critique.findings if f.source == "model" and finding_problem(f, text) is None]
            checked = await asyncio.to_thread(check_findings, shown, text, in_force)
            findings = kept + ground_findings(checked, text, task_text=_task_text(shown)).findings
        else:  # reviewed without a critique, as its source draft was
            findings = []
        rng = random.Random(content_hash(seed, task.id, "decoy"))
        decoy = None
        if critique is not None and rng.random() < decoys and (wrong := _decoy(text, error, findings, rng)):
            decoy = rng.randint(0, len(findings))
            findings.insert(decoy, wrong)
        pointed = any(points_at(error, text, f) for i, f in enumerate(findings) if i != decoy)
        item = GoldItem(
            kind="planted", source_task_id=task.id, source_draft_id=draft.id, prompt=shown.prompt, text=text,
            domain=task.domain, findings=findings, decoy=decoy, plant=error, critic_pointed=pointed, made_by=made_by,
            critique_summary=critique.summary if critique is not None else "",
            critic_model=critique.model if critique is not None else None,
            source_critique_id=critique.id if critique is not None and not recritique else None,
            critique_meta=critique_meta(critique) if critique is not None else {},
        )
        items.append(item.model_copy(update={"id": "g_" + content_hash("planted", draft.id, text, shown.prompt,
                                                                         [f.model_dump(mode="json") for f in findings],
                                                                         decoy)}))
    return Planted(items, skipped)


# -- expert -------------------------------------------------------------------------------------


def expert_item(store: Store, *, task_id: str, draft_id: str, critique_id: str | None, answer: RefinementInput,
                made_by: str) -> GoldItem:
    """A gold item whose yardstick is an expert's answer (``answer.reviewer``) to a draft. Raises NotFoundError."""
    if answer.decision == "skip":
        raise OversightError("a skip is no expert answer: a gold item needs a decision")
    task = store.get_task(task_id)
    draft = store.get_draft(draft_id)
    if draft is None or draft.task_id != task_id:
        raise NotFoundError(f"no draft {draft_id!r} of task {task_id!r}")
    critique = store.get_critique(critique_id) if critique_id else None
    return GoldItem(
        id="g_" + content_hash("expert", draft_id, answer.reviewer), kind="expert", source_task_id=task_id,
        source_draft_id=draft_id, prompt=task.prompt, text=draft.text, domain=task.domain,
        findings=list(critique.findings) if critique else [], critique_summary=critique.summary if critique else "",
        critic_model=critique.model if critique else None, source_critique_id=critique.id if critique else None,
        critique_meta=critique_meta(critique) if critique else {}, decision=answer.decision,
        refined_text=answer.refined_text if answer.decision in ("edit", "rewrite") else None, tags=answer.tags,
        rationale=answer.rationale.strip(), expert=answer.reviewer, made_by=made_by,
    )


def read_expert_items(store: Store, path: str | Path, *, made_by: str, expert: str | None = None) -> list[GoldItem]:
    """Expert gold items from a JSONL/CSV file of expert answers (the rows calibration items read:
    ``calibration.read_expert_answers``), the whole file checked first. Raises InputFileError naming the
    file, line and field."""
    return [expert_item(store, task_id=row.task_id, draft_id=row.draft_id, critique_id=row.critique_id,
                        answer=row.answer, made_by=made_by)
            for row in read_expert_answers(store, path, expert=expert, noun="gold item")]


def from_refinement(store: Store, refinement: Refinement, *, made_by: str, expert: str | None = None) -> GoldItem:
    """An expert gold item from a refinement in the store (its reviewer, or ``expert``, is the expert)."""
    answer = RefinementInput(decision=refinement.decision, refined_text=refinement.refined_text, tags=refinement.tags,
                             rationale=refinement.rationale, reviewer=expert or refinement.reviewer)
    return expert_item(store, task_id=refinement.task_id, draft_id=refinement.draft_id,
                       critique_id=refinement.critique_id, answer=answer, made_by=made_by)


def from_calibration(store: Store, *, made_by: str, task_ids: Sequence[str] | None = None) -> list[GoldItem]:
    """Expert gold items from the calibration items (all, or those of ``task_ids``). Raises NotFoundError."""
    items = store.calibration_items()
    if task_ids is not None:
        found = {i.task_id for i in items}
        if missing := [t for t in task_ids if t not in found]:
            raise NotFoundError(f"no calibration item for task {missing[0]!r}")
        items = [i for i in items if i.task_id in set(task_ids)]
    return [expert_item(store, task_id=i.task_id, draft_id=i.draft_id, critique_id=i.critique_id, made_by=made_by,
                        answer=RefinementInput(decision=i.decision, refined_text=i.refined_text, tags=i.tags,
                                               rationale=i.rationale, reviewer=i.expert))
            for i in items]


# -- keeping and listing ------------------------------------------------------------------------


def keep(store: Store, items: Sequence[GoldItem]) -> tuple[int, int]:
    """Keep new gold items in one transaction; one made before (the same id) is left as it is
    (retired, if a lead retired it). Returns (added, already there)."""
    ids = list(dict.fromkeys(i.id for i in items))
    there = {i.id for i in store.gold_items(retired=True, ids=ids)}
    fresh = list({i.id: i for i in items if i.id not in there}.values())
    store.save_gold_items(fresh)
    return len(fresh), len(ids) - len(fresh)


def listing(store: Store, *, retired: bool = False) -> list[dict[str, Any]]:
    """Each gold item as a row for leads: what it is, who made it, how many trainers answered it (and, planted,
    caught its error)."""
    found = store.gold_answers()
    answers, caught = Counter(a.gold_id for a in found), Counter(a.gold_id for a in found if a.caught)
    return [{"id": i.id, "kind": i.kind, "domain": i.domain, "task_id": i.source_task_id,
             "plant": i.plant.kind if i.plant else None, "expert": i.expert, "decision": i.decision,
             "decoy": i.decoy is not None, "critic_pointed": i.critic_pointed, "made_by": i.made_by,
             "retired": i.retired, "answers": answers.get(i.id, 0), "caught": caught.get(i.id, 0),
             "created_at": i.created_at.isoformat()}
            for i in store.gold_items(retired=retired)]
