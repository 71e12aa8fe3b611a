"""The LLM-judge check: an LLM judges the same pairs through the one LLM door, beside the humans.

Each pair is shown in both orders by default (``shown_first`` records which), so the
judge's position bias and its consistency across swaps are measured like a human's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from oversight.audit.agreement_stats import _majority
from oversight.audit.style import ALPHA, MIN_EFFECT, MIN_ITEMS, fit_style
from oversight.errors import StructuredOutputError
from oversight.schemas import Choice, JudgeComparison, PairwiseJudgment

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt

__all__ = ["JudgeVerdict", "compare_with_judge", "judge_pairs"]


class JudgeVerdict(BaseModel):
    """What the judge model is asked to return."""

    reason: str = Field(description="One or two sentences on why.")
    choice: Literal["1", "2", "tie"] = Field(description="The better response as shown: 1, 2, or tie.")


def _unique_pairs(judgments: Sequence[PairwiseJudgment]) -> list[PairwiseJudgment]:
    seen: dict[str, PairwiseJudgment] = {}
    for j in judgments:
        seen.setdefault(j.id, j)
    return list(seen.values())


async def _judge_one(
    pair: PairwiseJudgment, shown_first: Literal["a", "b"], llm: LLM, prompt: Prompt, params: dict[str, Any]
) -> PairwiseJudgment | None:
    first, second = (pair.response_a, pair.response_b) if shown_first == "a" else (pair.response_b, pair.response_a)
    messages = prompt.render(prompt=pair.prompt, first=first, second=second)
    try:
        verdict, completion = await llm.structured(messages, JudgeVerdict, **params)
    except StructuredOutputError:
        return None  # counted as unjudged; one unparseable answer should not sink the audit
    positions: dict[str, Choice] = {"1": shown_first, "2": "b" if shown_first == "a" else "a", "tie": "tie"}
    return PairwiseJudgment(
        id=pair.id,
        prompt=pair.prompt,
        response_a=pair.response_a,
        response_b=pair.response_b,
        annotator=f"llm:{llm.model}",
        choice=positions[verdict.choice],
        gold=pair.gold,
        shown_first=shown_first,
        kind=pair.kind,
        domain=pair.domain,
        metadata={"reason": verdict.reason, "prompt_version": prompt.version, "cost_usd": completion.usage.cost_usd},
    )


async def judge_pairs(
    judgments: Sequence[PairwiseJudgment],
    llm: LLM,
    prompt: Prompt,
    *,
    both_orders: bool = True,
    limit: int | None = None,
    params: dict[str, Any] | None = None,
) -> list[PairwiseJudgment]:
    """The LLM's judgments of each distinct pair (in both orders). Raises LLMError except for bad JSON."""
    pairs = _unique_pairs(judgments)[:limit]
    orders: tuple[Literal["a", "b"], ...] = ("a", "b") if both_orders else ("a",)
    call_params = {**prompt.params, **(params or {})}
    done = await asyncio.gather(*(_judge_one(p, o, llm, prompt, call_params) for p in pairs for o in orders))
    return [j for j in done if j is not None]


def compare_with_judge(
    humans: Sequence[PairwiseJudgment],
    judged: Sequence[PairwiseJudgment],
    *,
    alpha: float = ALPHA,
    min_effect: float = MIN_EFFECT,
    min_items: int = MIN_ITEMS,
) -> JudgeComparison:
    """The judge's agreement with the human majority and with gold, and both style models side by side."""
    majority: dict[str, str] = {}
    votes: dict[str, list[str]] = {}
    for j in humans:
        votes.setdefault(j.id, []).append(j.choice)
    for item, v in votes.items():
        if (m := _majority(v)) is not None:
            majority[item] = str(m)
    compared = [j for j in judged if j.id in majority]
    gold = [j for j in judged if j.gold is not None and j.choice != "tie"]
    human_gold = [(m, next(h.gold for h in humans if h.id == i)) for i, m in majority.items() if m != "tie"]
    human_gold = [(m, g) for m, g in human_gold if g is not None]
    options: dict[str, Any] = {"alpha": alpha, "min_effect": min_effect, "min_items": min_items}
    return JudgeComparison(
        judge=judged[0].annotator if judged else "llm",
        n=len(judged),
        n_majority=len(compared),
        with_human_majority=sum(j.choice == majority[j.id] for j in compared) / len(compared) if compared else None,
        n_gold=len(gold),
        with_gold=sum(j.choice == j.gold for j in gold) / len(gold) if gold else None,
        human_with_gold=sum(m == g for m, g in human_gold) / len(human_gold) if human_gold else None,
        judge_features=fit_style(judged, **options).features if judged else {},
        human_features=fit_style(humans, **options).features,
    )
