"""What the CLI and the intervene graph call: suggest for stored patterns, decide, validate.

Store reads and writes run in worker threads; the model calls are awaited (the one LLM door).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oversight.errors import NotFoundError
from oversight.intervene.suggest import Suggestions, suggest
from oversight.schemas import Intervention

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt
    from oversight.schemas import Draft, FailureNote, Pattern, Refinement, Task
    from oversight.store import Store

__all__ = ["PatternSuggestions", "decide", "gather_evidence", "routing_from_audit", "suggest_for_patterns"]


@dataclass(frozen=True)
class PatternSuggestions:
    """What was proposed for one pattern: the new interventions, those already there, and notes."""

    pattern: Pattern
    suggestions: Suggestions
    added: int
    present: int


def decide(store: Store, intervention_id: str, decision: str, reason: str) -> Intervention:
    """Accept or reject an intervention with the lead's reason (blocking); return it as stored.

    Accepting an ``eval_check`` also runs it on every draft waiting for review: a draft that fails
    it gets a finding naming the intervention, added to its critique in the transaction that
    records the acceptance (new drafts get it from the critique stage). Raises as
    ``Store.decide_intervention`` does.
    """
    from oversight.refine.critique import check_waiting

    current = store.intervention(intervention_id)
    findings = None
    if current is not None and current.kind == "eval_check" and decision == "accepted":
        found = check_waiting(store, [current.model_copy(update={"status": "accepted"})])
        findings = {critique_id: (g.findings, g.dropped) for critique_id, g in found.items()}
    return store.decide_intervention(intervention_id, decision, reason, findings=findings)


def routing_from_audit(store: Store, pattern: Pattern, notes: list[FailureNote]) -> Intervention | None:
    """A routing rule for the pattern built from the audit's stored routing rule (``oversight audit ... --save``
    writes it): when most of the pattern's notes fall in a kind or domain the audit sends to experts or
    to several raters, propose routing that group so (blocking). None without such a rule or group."""
    from collections import Counter

    from oversight.schemas import RoutingRuleProposal

    rule = store.routing_rule()
    if rule is None or not notes:
        return None
    for group in rule.rules:
        if group.route not in ("expert", "several_raters") or group.field == "all":
            continue
        values = Counter(getattr(n, group.field) for n in notes)
        share = values.get(group.value, 0) / len(notes)
        if share < 0.5:
            continue
        route = "expert" if group.route == "expert" else "double"
        payload = RoutingRuleProposal(rule=f"Send {group.field} {group.value!r} tasks to {group.route.replace('_', ' ')} "
                                      f"review ({group.raters} rater(s))", route=route,
                                      condition={group.field: group.value})
        return Intervention(
            id=Intervention.derive_id(pattern.id, payload), pattern_id=pattern.id, kind="routing_rule",
            title=f"Route {group.field} {group.value!r} to {group.route.replace('_', ' ')} review", payload=payload,
            rationale=f"{share:.0%} of the pattern's {len(notes)} notes are on {group.field} {group.value!r}, which "
                      f"the audit's routing rule sends to {group.route.replace('_', ' ')}: {group.reason}".strip(": "),
            expected_effect="this failure is caught by the reviewers the audit found reliable on this group",
            note_ids=[n.id for n in notes if getattr(n, group.field) == group.value][:50],
            task_ids=sorted({n.task_id for n in notes if n.task_id and getattr(n, group.field) == group.value})[:50],
            proposed_by="rules")
    return None


def gather_evidence(store: Store, pattern: Pattern, *, reviewers: Collection[str] | None = None,
                    ) -> tuple[list[FailureNote], list[tuple[Task, Draft, Refinement]]]:
    """A pattern's notes and the (task, draft, refinement) each refinement note came from (blocking);
    with ``reviewers`` (a trust decision), only notes and refinements of their work."""
    members = set(pattern.member_ids)
    notes = [n for n in store.notes(reviewers=reviewers) if n.id in members]
    refinement_ids = {n.refinement_id for n in notes if n.refinement_id}
    refinements = [r for r in store.refinements(reviewers=reviewers) if r.id in refinement_ids]
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
    reviewers: Collection[str] | None = None,
) -> list[PatternSuggestions]:
    """Suggest interventions for the given patterns (default: every active one) and keep them.

    ``reviewers`` (a trust decision): the evidence is only their notes and refinements.
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
        notes, examples = await asyncio.to_thread(gather_evidence, store, pattern, reviewers=reviewers)
        existing = await asyncio.to_thread(store.interventions, pattern_id=pattern.id)
        found = await suggest(pattern, notes, examples, llm=llm, prompt=prompt, existing=existing)
        routing = await asyncio.to_thread(routing_from_audit, store, pattern, notes)
        if routing is not None and all(i.id != routing.id for i in [*existing, *found.interventions]):
            found.interventions.append(routing)
            found.needs_model = [k for k in found.needs_model if k != "routing_rule"]
        added, present = await asyncio.to_thread(store.save_interventions, found.interventions)
        out.append(PatternSuggestions(pattern, found, added, present))
    return out
