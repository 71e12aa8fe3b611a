"""The intervene graph: suggest_interventions -> lead_decision (interrupt) -> record_decisions -> validate_accepted.

A thread starts from a pattern id. The suggestions are kept in the store at once; the thread
then pauses for the lead, who may answer days later from another process (the checkpointer is
the refine graph's: SQLite or PostgreSQL). Their answer, ``{"decisions": {ID: {"decision":
"accepted" | "rejected", "reason": "..."}}}``, is checked where it is given: a bad one pauses
again with a ``problem``, never fails the thread. Accepted prompt patches and few-shot sets are
validated by re-drafting (drafts cached by id, so a resumed thread pays nothing twice); a
validation that cannot run (no check, no tasks) is reported in the state, not raised.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypedDict

from oversight.errors import NotFoundError, OversightError
from oversight.pipelines.checkpointer import compiled_graph
from oversight.pipelines.context import PipelineContext, project_of
from oversight.project import Project

if TYPE_CHECKING:
    from langgraph.runtime import Runtime

__all__ = [
    "LEAD_DECISION",
    "InterveneInput",
    "InterveneState",
    "build_intervene_graph",
    "check_decisions",
    "intervene_graph",
    "lead_decision",
    "record_decisions",
    "suggest_interventions",
    "validate_accepted",
]

LEAD_DECISION = "lead_decision"
CHOICES = ("accepted", "rejected")


class InterveneInput(TypedDict):
    """What an intervene thread starts from."""

    pattern_id: str


class InterveneState(TypedDict, total=False):
    pattern_id: str
    proposals: list[dict[str, Any]]
    needs_model: list[str]
    decisions: dict[str, dict[str, str]]
    validations: list[dict[str, Any]]


async def suggest_interventions(state: InterveneState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Propose interventions for the pattern (rules; the namer model too when it is available) and keep them."""
    project = await project_of(runtime)
    from oversight.intervene.service import suggest_for_patterns

    llm = project.namer if await project.model_available(project.namer) else None
    prompt = await asyncio.to_thread(project.prompt, "suggest_intervention") if llm is not None else None
    [found] = await suggest_for_patterns(project.store, [state["pattern_id"]], llm=llm, prompt=prompt)
    live = await asyncio.to_thread(project.store.interventions, pattern_id=state["pattern_id"])
    return {
        "proposals": [{"id": i.id, "kind": i.kind, "title": i.title, "status": i.status,
                       "expected_effect": i.expected_effect} for i in live if i.status == "proposed"],
        "needs_model": list(found.suggestions.needs_model),
    }


def check_decisions(answer: Any, proposals: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The lead's decisions, checked: every id proposed here, a known decision, a reason. Raises ValueError."""
    if not isinstance(answer, dict) or not isinstance(answer.get("decisions"), dict):
        raise ValueError('answer with {"decisions": {ID: {"decision": "accepted" or "rejected", "reason": "..."}}}')
    ids = {p["id"] for p in proposals}
    out: dict[str, dict[str, str]] = {}
    for key, value in answer["decisions"].items():
        if key not in ids:
            raise ValueError(f"{key!r} is not one of this pattern's proposals ({', '.join(sorted(ids)) or 'none'})")
        if not isinstance(value, dict) or value.get("decision") not in CHOICES:
            raise ValueError(f"{key}: decision must be one of {', '.join(CHOICES)}")
        reason = value.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{key}: a reason is required")
        out[key] = {"decision": value["decision"], "reason": reason.strip()}
    return out


def lead_decision(state: InterveneState) -> dict[str, Any]:
    """Pause for the lead with the proposals; re-pause with ``problem`` until the answer fits."""
    from langgraph.types import interrupt

    proposals = state.get("proposals", [])
    problem: str | None = None
    while True:
        answer = interrupt({"pattern_id": state["pattern_id"], "proposals": proposals,
                            "needs_model": state.get("needs_model", []), "choices": list(CHOICES),
                            "problem": problem})
        try:
            return {"decisions": check_decisions(answer, proposals)}
        except ValueError as exc:
            problem = str(exc)


async def record_decisions(state: InterveneState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Keep each decision (idempotent: deciding the same way again changes nothing but the reason); an
    accepted eval check also checks the drafts waiting for review (``intervene.service.decide``)."""
    from oversight.intervene.service import decide

    project = await project_of(runtime)
    for intervention_id, decided in state.get("decisions", {}).items():
        await asyncio.to_thread(decide, project.store, intervention_id, decided["decision"], decided["reason"])
    return {}


async def validate_accepted(state: InterveneState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Validate each accepted prompt patch or few-shot set; say why when one cannot be validated."""
    project = await project_of(runtime)
    from oversight.intervene.validate import VALIDATABLE, validate

    out = []
    prompt = await asyncio.to_thread(project.prompt, "draft")
    for intervention_id, decided in state.get("decisions", {}).items():
        current = await asyncio.to_thread(project.store.intervention, intervention_id)
        if decided["decision"] != "accepted" or current is None or current.kind not in VALIDATABLE:
            continue
        try:
            validation = await validate(project.store, intervention_id, drafter=project.drafter, base_prompt=prompt)
        except (NotFoundError, ValueError, OversightError) as exc:
            out.append({"id": intervention_id, "outcome": None, "problem": str(exc)})
            continue
        out.append({"id": intervention_id, "outcome": validation.outcome, "reason": validation.reason,
                    "before": validation.before, "after": validation.after})
    return {"validations": out}


def build_intervene_graph() -> Any:
    """The intervene graph's builder (a StateGraph, not compiled); run it with ``context=PipelineContext(...)``."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(InterveneState, context_schema=PipelineContext, input_schema=InterveneInput)
    builder.add_node("suggest_interventions", suggest_interventions)
    builder.add_node(LEAD_DECISION, lead_decision)
    builder.add_node("record_decisions", record_decisions)
    builder.add_node("validate_accepted", validate_accepted)
    builder.add_edge(START, "suggest_interventions")
    builder.add_edge("suggest_interventions", LEAD_DECISION)
    builder.add_edge(LEAD_DECISION, "record_decisions")
    builder.add_edge("record_decisions", "validate_accepted")
    builder.add_edge("validate_accepted", END)
    return builder


def intervene_graph(project: Project) -> AbstractAsyncContextManager[Any]:
    """The intervene graph compiled with the project's checkpointer (``async with intervene_graph(project) as graph``;
    run it with ``context=PipelineContext(project=...)``)."""
    return compiled_graph(build_intervene_graph(), project.settings.checkpoint_location(), "intervene")
