"""Gold items in the queue: when a trainer meets one, the copy that carries it, and the answer's score.

Every claim of a next item passes here first (``review.service.claim`` calls ``due_copy``), so the
review page, the terminal and a script all meet gold items the same way:

- an item the trainer holds comes back as always, a gold item never takes its place;
- a gold copy of theirs still unanswered (they gave it back, or their lease ran out) is theirs to
  finish: it comes first, as an ordinary item given back is the first free one again;
- else, with probability ``gold_rate``, a gold item is due: a draw seeded by the trainer and the
  number of items they answered so far (a claim repeated before they answer draws the same, and a
  run replays), when a gold item is left that they did not make, are not the expert of, and have not
  met (and that fits the claim's batch, domain and model filters).

A due gold item becomes a *copy* (``copy_for``): a task of its own (its id hashed like an imported
task's), with its source task's domain, kind, batch and metadata, a draft with its source draft's
model and prompt, and its critique; awaiting review, for that trainer alone. Answering it (``answer``)
checks the answer as any, scores it (``score``) and keeps a GoldAnswer: never a refinement.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from oversight.config import Settings
from oversight.refine.answers import check_answer, word_diff
from oversight.refine.plant import caught
from oversight.review.calibration import final_text
from oversight.review.calibration import score as calibration_score
from oversight.review.qualify import pending
from oversight.schemas import (
    CalibrationItem,
    Critique,
    Draft,
    GoldAnswer,
    GoldCopy,
    GoldItem,
    Refinement,
    Usage,
    content_hash,
)
from oversight.store import Store

if TYPE_CHECKING:
    from oversight.project import Project

__all__ = ["answer", "copy_for", "draw", "due_copy", "feedback", "is_due", "score"]


def is_due(reviewer: str, answered: int, rate: float) -> bool:
    """Whether a gold item is due for ``reviewer`` after ``answered`` items: a draw seeded by both."""
    return rate > 0 and random.Random(content_hash("gold-due", reviewer, answered)).random() < rate


def draw(items: Iterable[GoldItem], reviewer: str, answered: int, *, met: Collection[str] = ()) -> GoldItem | None:
    """Which gold item a claim gives ``reviewer`` when one is due after ``answered`` items: a draw seeded by both
    among ``items`` (in the order given: the store's) they have not ``met``, did not make and are not the expert
    of; None when none is left. Public so that a simulation serves exactly what a claim would."""
    left = [i for i in items if i.id not in met and reviewer not in (i.made_by, i.expert)]
    return random.Random(content_hash("gold-pick", reviewer, answered)).choice(left) if left else None


def _fits(store: Store, items: list[GoldItem], batch: str | None, domain: str | None,
          model: str | None) -> list[GoldItem]:
    """The items whose copies the claim's filters would let through (batch: the source task's; model: its draft's)."""
    items = [i for i in items if domain is None or i.domain == domain]
    if batch is not None and items:
        sources = store.task_sources([i.source_task_id for i in items])
        items = [i for i in items if sources.get(i.source_task_id) == batch]
    if model is not None and items:
        drafts = store.drafts({i.source_draft_id for i in items})
        items = [i for i in items if (d := drafts.get(i.source_draft_id)) is not None and d.model == model]
    return items


def due_copy(store: Store, reviewer: str, settings: Settings, *, task_id: str | None = None,
             batch: str | None = None, domain: str | None = None, model: str | None = None) -> str | None:
    """The gold copy ``reviewer``'s claim takes instead (its task id, made now if need be), or None (blocking).

    ``task_id``: the claim is of that task (by its address); it goes the way of the queue unless the
    reviewer holds it already or it is their own gold copy.
    """
    if task_id is not None:
        lease = store.review_lease(task_id)
        mine = lease is not None and lease.reviewer == reviewer and lease.lease_until >= store.clock()
        if mine or ((copy := store.gold_copy(task_id)) is not None and copy.reviewer == reviewer):
            return None
    elif store.held_review(reviewer, batch=batch, domain=domain, model=model) is not None:
        return None  # the item they hold comes back
    waiting = store.own_gold_copy(reviewer, batch=batch, domain=domain, model=model)
    if waiting is not None:
        return waiting
    if (assessed := pending(store, reviewer)) is not None:  # an assessment not yet finished comes first
        assessment, gold_id = assessed
        item = store.gold_item(gold_id)
        if item is not None:
            return copy_for(store, item, reviewer, assessment=assessment.name).task_id
    if settings.gold_rate <= 0 or not store.count("gold_items"):
        return None
    answered = store.items_answered(reviewer)  # the draw first: most claims stop here, no item read
    if not is_due(reviewer, answered, settings.gold_rate):
        return None
    met = {c.gold_id for c in store.gold_copies(reviewer)}
    left = [i for i in store.gold_items() if i.id not in met]  # those met left out first: fewer for _fits to look up
    item = draw(_fits(store, left, batch, domain, model), reviewer, answered)
    return None if item is None else copy_for(store, item, reviewer).task_id


def copy_for(store: Store, item: GoldItem, reviewer: str, *, assessment: str | None = None) -> GoldCopy:
    """Put ``item`` in ``reviewer``'s queue as a task of its own (once: the copy made before comes back)."""
    source = store.get_task(item.source_task_id)
    source_draft = store.get_draft(item.source_draft_id)
    if source_draft is None:
        raise ValueError(f"gold item {item.id!r}: its source draft {item.source_draft_id!r} is not in the store")
    task_id = "t_" + content_hash("gold", item.id, reviewer)
    now = store.clock()
    task = source.model_copy(update={"id": task_id, "prompt": item.prompt, "created_at": now})
    draft = Draft(id=Draft.derive_id(task_id, source_draft.model, source_draft.prompt_version, source_draft.parameters),
                  task_id=task_id, model=source_draft.model, prompt_name=source_draft.prompt_name,
                  prompt_version=source_draft.prompt_version, parameters=source_draft.parameters, text=item.text,
                  usage=source_draft.usage, imported_from=source_draft.imported_from, created_at=now)
    critique = None
    if item.critic_model is not None:
        meta = item.critique_meta
        critique = Critique(
            id=Critique.derive_id(draft.id, item.critic_model, meta.get("prompt_version", ""), meta.get("parameters", {})),
            draft_id=draft.id, task_id=task_id, model=item.critic_model,
            prompt_name=meta.get("prompt_name", "critique"), prompt_version=meta.get("prompt_version", ""),
            parameters=meta.get("parameters", {}), findings=item.findings, grounding=meta.get("grounding", ""),
            checks=meta.get("checks", ""), summary=item.critique_summary,
            usage=Usage.model_validate(meta.get("usage") or {}), created_at=now)
    copy = GoldCopy(task_id=task_id, gold_id=item.id, reviewer=reviewer, assessment=assessment)
    return store.add_gold_copy(copy, task, draft, critique, source=store.task_sources([source.id]).get(source.id),
                               thread_id=f"{task_id}::{content_hash(item.id, length=10)}")


def score(item: GoldItem, copy: GoldCopy, refinement: Refinement, draft: Draft) -> GoldAnswer:
    """How a trainer's answer to a gold copy measures against what is known of the item."""
    skipped = refinement.decision == "skip"
    verdict = next((v.verdict for v in refinement.finding_verdicts if v.finding == item.decoy), None)
    measures: dict[str, Any] = {"deferred": None if item.decoy is None or verdict is None else verdict == "right"}
    if item.kind == "planted" and item.plant is not None:
        measures.update(caught=caught(item.plant, item.text, refinement), critic_pointed=item.critic_pointed)
    elif item.decision is not None and not skipped:
        expert = CalibrationItem(task_id=copy.task_id, draft_id=draft.id, decision=item.decision,
                                 refined_text=item.refined_text, tags=item.tags, expert=item.expert or item.made_by)
        compared = calibration_score(expert, refinement, draft)
        measures.update(false_alarm=refinement.decision != "accept" if item.decision == "accept" else None,
                        decision_agrees=compared.decision_agrees, tag_overlap=compared.tag_overlap,
                        text_similarity=compared.text_similarity)
    return GoldAnswer(gold_id=item.id, task_id=copy.task_id, reviewer=refinement.reviewer, kind=item.kind,
                      domain=item.domain, assessment=copy.assessment, refinement=refinement,
                      seconds=refinement.seconds_spent, **measures)


async def answer(project: Project, task_id: str, thread_id: str, value: dict[str, Any]) -> Refinement:
    """Record an answer to a gold copy (``review.service.submit`` sends it here): checked as any answer,
    scored, kept as a GoldAnswer (the copy's task leaves the queue); the refinement it makes is returned,
    as an ordinary item's is, and is written nowhere else. Raises InvalidAnswerError or NotFoundError."""
    store = project.store

    def check_and_keep() -> Refinement:  # in a thread: a long text's diff takes a while
        copy = store.gold_copy(task_id)
        item = store.gold_item(copy.gold_id) if copy is not None else None
        state = store.task_state(task_id)
        draft = store.get_draft(state["draft_id"] or "")
        if copy is None or item is None or draft is None:
            raise ValueError(f"task {task_id!r} is not a gold copy with its item and draft")
        critique = store.get_critique(state["critique_id"]) if state["critique_id"] else None
        refinement = check_answer(value, draft, critique, key=thread_id)
        return store.save_gold_answer(score(item, copy, refinement, draft)).refinement

    return await asyncio.to_thread(check_and_keep)


def feedback(store: Store, task_id: str) -> dict[str, Any] | None:
    """What the page says after a gold copy's answer when the lead turned feedback on: what was planted
    (and whether the answer removed it), the decoy, or the expert's version beside the trainer's; None
    for a task that is no answered gold copy."""
    found = store.gold_answer(task_id)
    item = store.gold_item(found.gold_id) if found is not None else None
    if found is None or item is None:
        return None
    out: dict[str, Any] = {"kind": item.kind, "caught": found.caught, "plant": item.plant,
                           "decoy": item.findings[item.decoy] if item.decoy is not None else None,
                           "deferred": found.deferred, "expert_ops": None}
    if item.kind == "expert" and item.decision is not None:
        theirs = final_text(found.refinement.decision, found.refinement.refined_text, item.text)
        out.update(decision=item.decision, expert_ops=word_diff(theirs, final_text(item.decision, item.refined_text,
                                                                                      item.text)))
    return out
