"""The LLM-judge check: order handling with a queued fake, and the real wire from a cassette."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from oversight.audit import FEATURES, PairwiseJudgment, compare_with_judge, judge_pairs
from oversight.audit.judge import JudgeVerdict
from oversight.errors import StructuredOutputError
from oversight.llm import Completion
from oversight.prompts import load_prompt


class QueuedJudge:
    """Answers structured calls from a queue (an exception in the queue is raised)."""

    model = "fake/judge"

    def __init__(self, answers: list[Any]):
        self.answers = list(answers)
        self.seen: list[list[dict[str, str]]] = []

    async def structured(self, messages: list[dict[str, str]], schema: type, **params: Any) -> tuple[Any, Completion]:
        self.seen.append(messages)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return JudgeVerdict(reason="because", choice=answer), Completion(text="{}", model=self.model)


def _pair(i: int, gold: str = "a") -> PairwiseJudgment:
    return PairwiseJudgment(
        id=str(i),
        prompt=f"question {i}",
        response_a=f"alpha {i}",
        response_b=f"beta {i}",
        annotator="human",
        choice="a",
        gold=gold,
    )  # type: ignore[arg-type]


def test_judge_sees_both_orders_and_answers_map_back() -> None:
    fake = QueuedJudge(["1", "1", "2", StructuredOutputError("bad json")])
    got = asyncio.run(
        judge_pairs([_pair(0), _pair(0).model_copy(update={"annotator": "h2"}), _pair(1)], fake, load_prompt("judge"))
    )  # type: ignore[arg-type]
    assert len(fake.seen) == 4  # two distinct pairs, two orders each
    user = [m[-1]["content"] for m in fake.seen]
    assert user[0].index("alpha 0") < user[0].index("beta 0") and user[1].index("beta 0") < user[1].index("alpha 0")
    # pair 0: "1" shown a-first -> a; "1" shown b-first -> b (position bias!); pair 1: "2" a-first -> b; one bad answer
    assert [(j.id, j.shown_first, j.choice) for j in got] == [("0", "a", "a"), ("0", "b", "b"), ("1", "a", "b")]
    assert all(j.annotator == "llm:fake/judge" and j.metadata["prompt_version"] for j in got)


def test_compare_with_judge_figures() -> None:
    humans = [_pair(i) for i in range(4)] + [_pair(i).model_copy(update={"annotator": "h2"}) for i in range(4)]
    judged = [_pair(i).model_copy(update={"annotator": "llm", "choice": "a" if i < 3 else "b"}) for i in range(4)]
    got = compare_with_judge(humans, judged)
    assert (got.with_human_majority, got.n_majority) == (0.75, 4)
    assert (got.with_gold, got.human_with_gold) == (0.75, 1.0)
    assert set(got.judge_features) == set(FEATURES) and set(got.human_features) == set(FEATURES)


@pytest.mark.vcr
def test_llm_judge_over_the_wire(recorded_llm: Any, neighbor: list[PairwiseJudgment]) -> None:
    """Recorded from `oversight model serve --port 8765` (SmolLM2-135M): the real request and answer."""
    shortest = sorted({j.id: j for j in neighbor}.values(), key=lambda j: len(j.prompt + j.response_a + j.response_b))
    humans = shortest[:3]
    judged = asyncio.run(judge_pairs(humans, recorded_llm, load_prompt("judge")))
    # the recorded answers, mapped back from the order shown: "1" shown b-first is b, and so on
    assert [(j.id, j.shown_first, j.choice) for j in judged] == [
        ("Neighbor-35", "a", "tie"), ("Neighbor-35", "b", "a"),
        ("Neighbor-1", "a", "b"), ("Neighbor-1", "b", "a"),
        ("Neighbor-10", "a", "b"), ("Neighbor-10", "b", "a"),
    ]
    reasons = [",1.25,3,", ",1", "1", "1", ",1. Dogs are commonly kept as pets.", ",1"]  # a 135M model's reasons
    assert [j.metadata["reason"] for j in judged] == reasons
    assert all(j.annotator == "llm:openai/smollm2-135m-instruct" for j in judged)
    comparison = compare_with_judge(humans, judged)
    # the tie has no verdict against gold: 5 decisive, of which 2 match gold; 2 of 6 match the one human
    assert (comparison.n, comparison.n_majority, comparison.n_gold) == (6, 6, 5)
    assert comparison.with_gold == pytest.approx(2 / 5) and comparison.with_human_majority == pytest.approx(2 / 6)


def test_compare_with_judge_counts_only_decisive_judgments_with_gold() -> None:
    humans = [_pair(i) for i in range(3)]  # one human, gold "a" everywhere
    judged = [
        _pair(0).model_copy(update={"annotator": "llm", "choice": "a"}),  # with gold
        _pair(1).model_copy(update={"annotator": "llm", "choice": "tie"}),  # a tie: no verdict on gold
        _pair(2).model_copy(update={"annotator": "llm", "choice": "b", "gold": None}),  # no gold
        _pair(9, gold="b").model_copy(update={"annotator": "llm", "choice": "b"}),  # no human saw it; gold b
    ]
    got = compare_with_judge(humans, judged)
    assert (got.n, got.n_majority, got.n_gold) == (4, 3, 2)
    assert (got.with_gold, got.with_human_majority) == (1.0, pytest.approx(1 / 3))
