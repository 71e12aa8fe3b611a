"""A guideline for trainers from the data itself: the pattern as a rubric item, with a bad example
(a draft that showed the failure) and a good one (the same answer after a trainer refined it)."""

from __future__ import annotations

from collections.abc import Sequence

from oversight.schemas import Draft, FailureNote, Guideline, Intervention, Pattern, Refinement, Task

__all__ = ["guideline_from_examples"]

MAX_EXAMPLE_CHARS = 600


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[: MAX_EXAMPLE_CHARS - 1] + "…"


def guideline_from_examples(pattern: Pattern, members: Sequence[FailureNote],
                            examples: Sequence[tuple[Task, Draft, Refinement]]) -> Intervention | None:
    """The rubric item, or None when no refinement of the pattern changed its draft (nothing to show)."""
    changed = [(t, d, r) for t, d, r in examples
               if r.refined_text and r.refined_text.strip() and " ".join(r.refined_text.split()) != " ".join(d.text.split())]
    if not changed:
        return None
    task, draft, refinement = min(changed, key=lambda e: (len(e[2].refined_text or ""), e[0].id))
    criteria = "; ".join(pattern.criteria[:3])
    rubric = f"Flag and fix: {pattern.name}." + (f" A response shows it if it {criteria}." if criteria else "")
    if refinement.rationale.strip():
        rubric += f" As a trainer put it: \u201c{_trim(refinement.rationale.strip())[:200]}\u201d"
    payload = Guideline(rubric=rubric, good_example=_trim(refinement.refined_text or ""),
                        bad_example=_trim(draft.text))
    cited = [n.id for n in members if n.refinement_id == refinement.id] or [n.id for n in members[:3]]
    return Intervention(
        id=Intervention.derive_id(pattern.id, payload), pattern_id=pattern.id, kind="guideline",
        title=f"A rubric item for trainers: {pattern.name}", payload=payload,
        rationale=f"From refinement {refinement.id} of task {task.id}: the draft as the bad example, the "
                  f"trainer's refinement as the good one ({len(changed)} refinements of this pattern to choose from).",
        expected_effect="trainers flag and fix this failure the same way", note_ids=cited, task_ids=[task.id],
        proposed_by="rules")
