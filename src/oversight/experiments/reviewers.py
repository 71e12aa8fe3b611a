"""Simulated reviewers: test a design before human hours are spent on it.

A simulated reviewer sees what a trainer sees (``review.ReviewItem``: no critique in the
hidden arm) and answers through the same review service, ``review.submit(..., simulated=True)``,
so every downstream stage treats its refinements like a person's, marked as simulated.

Scripted policies (``ScriptedReviewer``), each deterministic given the experiment's seed and
the item (a re-run answers the same):

- ``catches``: finds a planted error with probability ``p``; with ``p_assisted`` when the critique
  is shown and one of its findings points at the error (a shown critique that missed it helps
  nothing). Catching means an edit that removes the error, tagged with its kind; missing it
  means an accept.
- ``prefers_longer``: accepts a draft of ``long_words`` words or more without looking with
  probability ``p_accept_long`` (the length bias audits look for); otherwise as ``catches``.
- ``skims``: a quarter of the time on the item, and both probabilities times ``1 - miss``.

Time on an item is modelled, not measured: ``seconds`` times a uniform 0.75..1.25, half as
long again for an edit, a quarter for a skim.

The LLM reviewer asks a model (prompts/simulated_reviewer.md) through the one LLM door; its
answer is kept in the store under what it was asked, so a run killed after paying for an answer
and before recording it does not pay again. Its time is a reading model (4 words a second
over what it was shown, plus 10 seconds), so that re-runs give the same rows.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, Field

from oversight.errors import StructuredOutputError
from oversight.intervene.checks import word_count
from oversight.refine.plant import critic_pointed, points_at
from oversight.review.service import ReviewItem
from oversight.schemas import FindingVerdict, LLMReviewer, PlantedError, RefinementInput, ScriptedReviewer, content_hash

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt
    from oversight.store import Store

__all__ = ["REVIEWER_PROMPT", "LLMReview", "Scripted", "SimulatedReviewer", "item_rng", "unit_of"]

REVIEWER_PROMPT = "simulated_reviewer"
_TAG = {"wrong_number": "wrong-number", "unsupported_sentence": "unsupported-claim",
        "ignored_instruction": "ignores-instruction"}
_WHY = {"wrong_number": "A number in the draft is wrong.",
        "unsupported_sentence": "The draft states something nothing in the task supports.",
        "ignored_instruction": "The draft ignores the length the prompt asks for."}


class SimulatedReviewer(Protocol):
    """What the experiment runner asks of a simulated reviewer."""

    name: str

    async def answer(self, item: ReviewItem, error: PlantedError | None, *, seed: int) -> RefinementInput: ...


def item_rng(seed: int, unit: str, reviewer: str) -> random.Random:
    """The random stream of one reviewer on one unit (``unit_of``): the same on every re-run, in any order."""
    return random.Random(content_hash(seed, unit, reviewer))


def unit_of(task_id: str, condition: str) -> str:
    """What an item is: a source task under a condition (not its queue id, which changes with the declaration)."""
    return f"{task_id}\x1f{condition}"


def _unit(item: ReviewItem) -> str:
    meta = item.task.metadata
    if isinstance(meta.get("task"), str) and isinstance(meta.get("condition"), str):
        return unit_of(meta["task"], meta["condition"])
    return item.task.id


def _remove(error: PlantedError, text: str) -> str:
    if error.kind == "ignored_instruction":
        return " ".join(text.split()[:error.limit or 1])
    end = error.start + len(error.planted)
    return (text[:error.start] + error.original + text[end:]).strip()


@dataclass(frozen=True)
class Scripted:
    """A scripted policy (see the module docstring)."""

    spec: ScriptedReviewer

    @property
    def name(self) -> str:
        return self.spec.label

    def decide(self, item: ReviewItem, error: PlantedError | None, rng: random.Random) -> RefinementInput:
        """The answer to one item, drawing from ``rng`` (pure: the bench calls it directly)."""
        spec = self.spec
        pace = 0.25 if spec.policy == "skims" else 1.0
        seconds = spec.seconds * pace * rng.uniform(0.75, 1.25)
        text = item.draft.text
        looks = not (spec.policy == "prefers_longer" and word_count(text) >= spec.long_words
                     and rng.random() < spec.p_accept_long)
        pointed = error is not None and critic_pointed(error, text, item.critique)
        p = spec.p_assisted if pointed and spec.p_assisted is not None else spec.p
        if spec.policy == "skims":
            p *= 1 - spec.miss
        if error is None or not looks or rng.random() >= p:
            return RefinementInput(decision="accept", seconds_spent=round(seconds, 1), confidence=0.75)
        shown = item.critique.findings if item.critique is not None else []
        verdicts = [FindingVerdict(finding=i, verdict="right") for i, f in enumerate(shown) if points_at(error, text, f)]
        return RefinementInput(decision="edit", refined_text=_remove(error, text), tags=[_TAG[error.kind]],
                               rationale=_WHY[error.kind], finding_verdicts=verdicts, confidence=0.9,
                               seconds_spent=round(seconds * 1.5, 1))

    async def answer(self, item: ReviewItem, error: PlantedError | None, *, seed: int) -> RefinementInput:
        return self.decide(item, error, item_rng(seed, _unit(item), self.name))


# The reviewer model's answer. No docstring: it would enter the JSON schema of every request.
class ReviewerAnswer(BaseModel):
    decision: Literal["accept", "edit", "reject"] = Field(
        description="accept if the response has no problem, edit to fix it, reject if it cannot be saved")
    refined_text: str = Field(default="", description="the corrected response when the decision is edit")
    tags: list[str] = Field(default_factory=list, description="short names of the problems found")
    rationale: str = Field(default="", description="one sentence: what is wrong, or why it is fine")


@dataclass
class LLMReview:
    """A model as the reviewer (its prompt: prompts/simulated_reviewer.md)."""

    spec: LLMReviewer
    llm: LLM
    prompt: Prompt
    store: Store

    @property
    def name(self) -> str:
        return self.spec.label

    async def answer(self, item: ReviewItem, error: PlantedError | None, *, seed: int) -> RefinementInput:
        task, critique = item.task, item.critique
        findings = [f.model_dump(mode="json") for f in critique.findings] if critique is not None else []
        messages = self.prompt.render(prompt=task.prompt, input=task.input, context=task.context,
                                      draft=item.draft.text, findings=findings, shown=critique is not None)
        key = "sim-review:" + content_hash(self.llm.model, self.prompt.version, messages, length=24)
        kept = await asyncio.to_thread(self.store.get_document, key)
        if kept is None:
            try:
                value, _ = await self.llm.structured(messages, ReviewerAnswer, **self.prompt.params)
                kept = value.model_dump(mode="json")
            except StructuredOutputError:  # it never answered in form: it passes the item unchanged
                kept = ReviewerAnswer(decision="accept", rationale="(no answer in form)").model_dump(mode="json")
            await asyncio.to_thread(self.store.put_document, key, kept)
        said = ReviewerAnswer.model_validate(kept)
        shown_words = word_count(" ".join([task.prompt, item.draft.text, *(f["issue"] for f in findings)]))
        seconds = round(10 + shown_words / 4, 1)
        refined = said.refined_text.strip()
        decision = said.decision
        if decision == "edit" and (not refined or refined == item.draft.text.strip()):
            decision = "accept" if not refined or not said.tags else "reject"
        return RefinementInput(
            decision=decision, refined_text=refined if decision == "edit" else None,
            tags=[t for t in said.tags if t.strip()][:5], rationale=said.rationale.strip()[:500], seconds_spent=seconds)
