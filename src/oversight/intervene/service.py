"""What the CLI and the intervene graph call: suggest for stored patterns, decide, validate.

Store reads and writes run in worker threads; the model calls are awaited (the one LLM door).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oversight.errors import NotFoundError
from oversight.intervene.suggest import Suggestions, suggest

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt
    from oversight.schemas import Draft, FailureNote, Pattern, Refinement, Task
    from oversight.store import Store

__all__ = ["PatternSuggestions", "gather_evidence", "suggest_for_patterns"]


@dataclass(frozen=True)
class PatternSuggestions:
    """What was proposed for one pattern: the new interventions, those already there, and notes."""

    pattern: Pattern
    suggestions: Suggestions
    added: int
    present: int


def gather_evidence(store: Store, pattern: Pattern) -> tuple[list[FailureNote], list[tuple[Task, Draft, Refinement]]]:
    """A pattern's notes and the (task, draft, refinement) each refinement note came from (blocking)."""
    members = set(pattern.member_ids)
    notes = [n for n in store.notes() if n.id in members]
    refinement_ids = {n.refinement_id for n in notes if n.refinement_id}
    refinements = [r for r in store.refinements() if r.id in refinement_ids]
    tasks = {t.id: t for t in store.tasks({r.task_id for r in refinements})} if refinements else {}
    drafts = store.drafts({r.draft_id for r in refinements}) if refinements else {}
    examples = [(tasks[r.task_id], drafts[r.draft_id], r) for r in refinements
                if r.task_id in tasks and r.draft_id in drafts]
    return notes, examples


async def suggest_for_patterns(
    store: Store,
    pattern_ids: list[str] | None = None,
    *,
    llm: LLM | None = None,
    prompt: Prompt | None = None,
) -> list[PatternSuggestions]:
    """Suggest interventions for the given patterns (default: every active one) and keep them.

    Rules always; ``llm`` (with ``prompt``: suggest_intervention) adds the kinds that need a model.
    Suggesting again adds nothing already proposed. Raises NotFoundError for an unknown pattern id
    (before anything is asked or written) and LLMError."""
    patterns = await asyncio.to_thread(store.patterns)
    if pattern_ids:
        known = {p.id: p for p in await asyncio.to_thread(store.patterns, include_retired=True)}
        missing = [i for i in pattern_ids if i not in known]
        if missing:
            raise NotFoundError(f"no pattern {missing[0]!r}: `oversight patterns` lists them")
        patterns = [known[i] for i in pattern_ids]
    out = []
    for pattern in patterns:
        notes, examples = await asyncio.to_thread(gather_evidence, store, pattern)
        existing = await asyncio.to_thread(store.interventions, pattern_id=pattern.id)
        found = await suggest(pattern, notes, examples, llm=llm, prompt=prompt, existing=existing)
        added, present = await asyncio.to_thread(store.save_interventions, found.interventions)
        out.append(PatternSuggestions(pattern, found, added, present))
    return out
