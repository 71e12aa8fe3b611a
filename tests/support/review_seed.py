"""Put items in the review queue without a model: tasks with the drafts and critiques a run would make.

Each draft and critique gets the id the project's models and prompts would derive, so the items
are what `oversight draft` leaves: the refine thread's pause is written at the answer, which finds
them in the store and pays for nothing. Used by the web tests and the review benchmark, where
what is measured is the queue, not the words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from oversight.project import Project
from oversight.refine.drafting import draft_parameters
from oversight.schemas import Arm, Critique, Draft, Finding, Task

__all__ = ["arm_task", "finding", "seed_items"]


def seed_items(
    project: Project,
    items: Iterable[tuple[Task, str, Sequence[Finding]]],
    *,
    source: str | None = None,
    model: str | None = None,
) -> list[str]:
    """Add (task, draft text, findings) items, each awaiting review; return their task ids.

    ``model`` records another drafter's name on the drafts (for filters); such drafts are not
    the project's own.
    """
    store = project.store
    items = list(items)
    store.add_tasks([task for task, _, _ in items], source=source)
    draft_params = draft_parameters(project.draft_prompt, project.draft_params)
    critique_params = draft_parameters(project.critique_prompt, project.critique_params)
    drafter = model or project.drafter.model
    ids = []
    for task, text, findings in items:
        draft = Draft(id=Draft.derive_id(task.id, drafter, project.draft_prompt.version, draft_params),
                      task_id=task.id, text=text, model=drafter, prompt_name=project.draft_prompt.name,
                      prompt_version=project.draft_prompt.version, parameters=draft_params)
        store.save_draft(draft)
        critique = Critique(id=Critique.derive_id(draft.id, project.critic.model, project.critique_prompt.version,
                                                  critique_params),
                            draft_id=draft.id, task_id=task.id, model=project.critic.model,
                            prompt_name=project.critique_prompt.name,
                            prompt_version=project.critique_prompt.version, parameters=critique_params,
                            findings=list(findings), summary="Seeded critique.")
        store.save_critique(critique, thread_id=project.thread_id(task.id))
        ids.append(task.id)
    return ids


def finding(quote: str, issue: str, **fields: Any) -> Finding:
    """A critique finding (severity low, category other unless given)."""
    return Finding(quote=quote, issue=issue, severity=fields.get("severity", "low"),
                   category=fields.get("category", "other"))


def arm_task(task_id: str, prompt: str, arm: Arm, **fields: Any) -> Task:
    """A task as an assistance experiment queues it: its arm in the metadata (critique shown or hidden)."""
    metadata = {**fields.pop("metadata", {}), "arm": arm}
    return Task(id=task_id, prompt=prompt, metadata=metadata, **fields)

