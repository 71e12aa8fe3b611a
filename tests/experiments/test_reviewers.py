"""Scripted reviewers: they behave as declared, the same on every re-run."""

from __future__ import annotations

import random

from oversight.experiments.reviewers import Scripted, item_rng
from oversight.review.service import QueueEntry, ReviewItem
from oversight.schemas import Critique, Draft, Finding, PlantedError, ScriptedReviewer, Task

SHORT = "The battle was fought on July 21, 1862 near Manassas."
LONG = SHORT + " " + " ".join(["It was a long day for both armies."] * 12)
ERROR = PlantedError(kind="wrong_number", original="1861", planted="1862", start=SHORT.index("1862"))


def item(text: str = SHORT, *, pointing: bool | None = None) -> ReviewItem:
    task = Task(id="t", prompt="When was Bull Run fought?")
    draft = Draft(id="d", task_id="t", model="m", prompt_name="draft", prompt_version="v", text=text)
    critique = None
    if pointing is not None:
        quote = "July 21, 1862" if pointing else "near Manassas"
        critique = Critique(id="c", draft_id="d", task_id="t", model="m", prompt_name="critique", prompt_version="v",
                            findings=[Finding(quote=quote, issue="Check this.", severity="high",
                                              category="factual-error")])
    return ReviewItem(QueueEntry("t", "th"), task, draft, critique)


def catch_rate(policy: Scripted, shown: ReviewItem, n: int = 2000) -> float:
    rng = random.Random(5)
    return sum(policy.decide(shown, ERROR, rng).decision == "edit" for _ in range(n)) / n


def test_catches_at_p_alone_and_at_p_assisted_only_when_the_critique_points_at_the_error() -> None:
    policy = Scripted(ScriptedReviewer(policy="catches", p=0.4, p_assisted=0.7))
    assert abs(catch_rate(policy, item()) - 0.4) < 0.035  # 2000 draws: SE about 0.011
    assert abs(catch_rate(policy, item(pointing=True)) - 0.7) < 0.035
    assert abs(catch_rate(policy, item(pointing=False)) - 0.4) < 0.035  # a critique that missed helps nothing


def test_a_catch_is_an_edit_that_removes_the_error_and_confirms_the_pointing_finding() -> None:
    answer = Scripted(ScriptedReviewer(policy="catches", p=1.0)).decide(item(pointing=True), ERROR, random.Random(0))
    assert answer.decision == "edit" and answer.refined_text == SHORT.replace("1862", "1861")
    assert answer.tags == ["wrong-number"] and [v.verdict for v in answer.finding_verdicts] == ["right"]
    missed = Scripted(ScriptedReviewer(policy="catches", p=0.0)).decide(item(), ERROR, random.Random(0))
    assert missed.decision == "accept" and missed.refined_text is None


def test_skims_is_faster_and_misses_more() -> None:
    careful = Scripted(ScriptedReviewer(policy="catches", p=0.6))
    skims = Scripted(ScriptedReviewer(policy="skims", p=0.6, miss=0.5))
    assert abs(catch_rate(skims, item()) - 0.3) < 0.035
    rng = random.Random(1)
    fast = [skims.decide(item(), None, rng).seconds_spent for _ in range(200)]
    slow = [careful.decide(item(), None, rng).seconds_spent for _ in range(200)]
    assert max(fast) < min(slow)


def test_prefers_longer_waves_long_drafts_through() -> None:
    policy = Scripted(ScriptedReviewer(policy="prefers_longer", p=0.8, long_words=40, p_accept_long=0.75))
    long_error = ERROR.model_copy()
    rng = random.Random(2)
    long_caught = sum(policy.decide(item(LONG), long_error, rng).decision == "edit" for _ in range(2000)) / 2000
    assert abs(long_caught - 0.8 * 0.25) < 0.035
    assert abs(catch_rate(policy, item()) - 0.8) < 0.035  # a short draft is read


def test_the_same_item_gets_the_same_answer_on_every_run() -> None:
    policy = Scripted(ScriptedReviewer(policy="catches", p=0.5))
    answers = {policy.decide(item(), ERROR, item_rng(3, "x.item", policy.name)).decision for _ in range(20)}
    assert len(answers) == 1
    spread = {policy.decide(item(), ERROR, item_rng(3, f"x.{i}", policy.name)).decision for i in range(40)}
    assert spread == {"accept", "edit"}
