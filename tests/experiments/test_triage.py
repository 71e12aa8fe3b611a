"""Review triage: signals, ranking, and failure recall at a review budget against random review."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from oversight.audit.datasets import load_llmbar
from oversight.experiments.triage import (
    CRITIC_WEIGHTS,
    FINDINGS_CAP,
    TriageItem,
    budget_for,
    critique_signals,
    judge_items,
    rank,
    recall_at,
    recall_curve,
    route_signal,
)
from oversight.schemas import Critique, DroppedFinding, Finding, GroupRoute, PairwiseJudgment, RoutingRule

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def natural() -> list[PairwiseJudgment]:
    """All 100 LLMBar Natural pairs, GPT-4's verdicts in both orders."""
    return load_llmbar(FIXTURES / "experiments" / "llmbar", file="natural_gpt4_swap.json", subset="Natural")


def _pair(pair_id: str, choices: tuple[str, str], gold: str | None, a: str = "one two three four five six seven eight",
          b: str = "nine ten", annotator: str = "judge") -> list[PairwiseJudgment]:
    return [
        PairwiseJudgment(id=pair_id, prompt="q", response_a=a, response_b=b, annotator=annotator, choice=choice,
                         gold=gold, shown_first=first)
        for first, choice in zip(("a", "b"), choices, strict=True)
    ]


def _items(errors: list[bool]) -> list[TriageItem]:
    """Items whose score falls with their index, so the ranking is the list order."""
    n = len(errors)
    return [TriageItem(id=f"i{k}", signals={"s": (n - k) / n}, error=e) for k, e in enumerate(errors)]


# --- judge signals ---------------------------------------------------------------------------


def test_judge_items_self_disagreement_length_and_pair_level_error() -> None:
    rows = [
        *_pair("flip", ("a", "b"), "a"),  # a has 8 words, b 2: picks a (>= 2x longer) then b
        *_pair("steady", ("b", "b"), "b", a="one two", b="three four five six"),
        *_pair("tied", ("tie", "tie"), "a"),
        *_pair("nogold", ("a", "a"), None),
    ]
    items = {i.id: i for i in judge_items(rows)}
    assert list(items) == ["flip", "steady", "tied", "nogold"]
    assert items["flip"].signals == {"self_disagreement": 1.0, "picked_longer": 0.5}
    assert items["flip"].error is True  # right in one order, wrong in the other: an error
    assert items["steady"].signals["self_disagreement"] == 0.0
    assert items["steady"].signals["picked_longer"] == pytest.approx(math.log(5 / 3) / math.log(2))
    assert items["steady"].error is False
    assert items["tied"].signals["picked_longer"] == 0.0 and items["tied"].error is True
    assert items["nogold"].error is None


def test_model_disagreement_counts_other_raters() -> None:
    rows = [*_pair("p", ("a", "a"), "a"), *_pair("p", ("b", "a"), "a", annotator="human"),
            *_pair("p", ("b", "b"), "a", annotator="other")]
    (item,) = judge_items(rows, judge="judge")
    assert item.signals["model_disagreement"] == pytest.approx((0.5 + 1.0) / 2)
    with pytest.raises(ValueError, match="name the judge"):
        judge_items(rows)
    with pytest.raises(ValueError, match="rated nothing"):
        judge_items(rows, judge="nobody")
    with pytest.raises(ValueError, match="no judgments"):
        judge_items([])
    with pytest.raises(ValueError, match="conflicting gold"):
        judge_items([*_pair("p", ("a", "a"), "a")[:1], *_pair("p", ("a", "a"), "b")[1:]])


def test_natural_self_disagreement_and_errors_from_real_rows(natural: list[PairwiseJudgment]) -> None:
    # counted independently from result.json: winners differ across swap on records 7 9 42 70 81 88 99;
    # 15 of the 200 verdicts miss the label, on 11 pairs; every inconsistent pair is one of them
    assert sum(j.choice != j.gold for j in natural) == 15
    items = judge_items(natural)
    assert len(items) == 100
    flipped = sorted(int(i.id.split("-")[1]) for i in items if i.signals["self_disagreement"] == 1.0)
    assert flipped == [7, 9, 42, 70, 81, 88, 99]
    assert sorted(int(i.id.split("-")[1]) for i in items if i.error) == [7, 9, 12, 23, 42, 45, 58, 70, 81, 88, 99]
    ranked = rank(items, {"self_disagreement": 1.0})
    assert {i.id for i in ranked[:7]} == {f"Natural-{k}" for k in flipped}
    assert budget_for(ranked, recall=7 / 11) == 0.07  # the 7% that disagree with themselves hold 7 of 11 errors


def test_neighbor_slice_self_disagreement_and_errors() -> None:
    # the audit's fixture (first 60 Adversarial/Neighbor records), counted independently from its JSON
    rows = load_llmbar(FIXTURES / "audit" / "llmbar", file="neighbor_gpt4_swap.json", subset="Neighbor")
    items = judge_items(rows)
    flipped = sorted(int(i.id.split("-")[1]) for i in items if i.signals["self_disagreement"])
    assert flipped == [17, 23, 31, 38, 40, 50, 53]
    assert sum(bool(i.error) for i in items) == 17


# --- critic and routing signals --------------------------------------------------------------


def test_critique_signals_use_shown_findings_only() -> None:
    def finding(severity: str) -> Finding:
        return Finding(quote="x", issue="wrong", severity=severity, category="factual-error")

    critique = Critique(
        id="c", draft_id="d", task_id="t", model="m", prompt_name="critique", prompt_version="v",
        findings=[finding("low"), finding("medium")],
        dropped=[DroppedFinding(finding=finding("high"), reason="not-in-draft")],
    )
    assert critique_signals(critique) == {"critic_severity": pytest.approx(2 / 3), "critic_findings": 2 / FINDINGS_CAP,
                                          "checks": 0.0}
    many = critique.model_copy(update={"findings": [finding("high")] * (FINDINGS_CAP + 2)})
    assert critique_signals(many) == {"critic_severity": 1.0, "critic_findings": 1.0, "checks": 0.0}
    assert critique_signals(None) == {"critic_severity": 0.0, "critic_findings": 0.0, "checks": 0.0}


def test_check_findings_are_a_signal_of_their_own_and_not_the_critics() -> None:
    def finding(severity: str, source: str) -> Finding:
        return Finding(quote="x", issue="wrong", severity=severity, category="unsupported-claim", source=source)

    checked = Critique(id="c", draft_id="d", task_id="t", model="m", prompt_name="critique", prompt_version="v",
                       findings=[finding("low", "model"), finding("high", "check: not in the context"),
                                 finding("low", "check: instructions")])
    signals = critique_signals(checked)
    assert signals["critic_severity"] == pytest.approx(1 / 3) and signals["critic_findings"] == 1 / FINDINGS_CAP
    assert signals["checks"] == pytest.approx(0.5)  # one high and one low: CHECK_HALF
    more = checked.model_copy(update={"findings": [*checked.findings, finding("medium", "check: instructions")]})
    assert signals["checks"] < critique_signals(more)["checks"] < 1  # more found ranks higher, with no cap
    assert CRITIC_WEIGHTS["checks"] > 0


def test_route_signal_reads_the_routing_rule() -> None:
    rule = RoutingRule(
        rules=[GroupRoute(field="kind", value="math", route="expert", raters=1),
               GroupRoute(field="kind", value="chat", route="automate", raters=1),
               GroupRoute(field="kind", value="qa", route="single_rater", raters=1)],
        default=GroupRoute(field="all", value=None, route="several_raters", raters=3),
    )
    assert [route_signal(rule, k) for k in ("math", "chat", "qa", "poetry")] == [1.0, 0.0, 0.5, 1.0]
    assert route_signal(None, "math") == 0.5


# --- ranking ---------------------------------------------------------------------------------


def test_rank_orders_by_weighted_sum() -> None:
    items = [TriageItem("x", {"a": 1.0}), TriageItem("y", {"a": 0.2, "b": 1.0}), TriageItem("z", {})]
    assert [i.id for i in rank(items, {"a": 1.0, "b": 0.5})] == ["x", "y", "z"]
    assert [i.id for i in rank(items, {"a": 1.0, "b": 1.0})] == ["y", "x", "z"]


def test_ties_do_not_depend_on_input_order_or_truth() -> None:
    base = [TriageItem(f"p{k}", {"s": float(k % 3 == 0)}, error=k % 2 == 0) for k in range(40)]
    expected = [i.id for i in rank(base, {"s": 1.0})]
    flipped_truth = [TriageItem(i.id, i.signals, error=not i.error) for i in base]
    assert [i.id for i in rank(flipped_truth, {"s": 1.0})] == expected
    for seed in range(5):
        shuffled = base[:]
        random.Random(seed).shuffle(shuffled)
        assert [i.id for i in rank(shuffled, {"s": 1.0})] == expected
    # the tie order is not simply the ids sorted (which input order would often match)
    ties = [i for i in expected if int(i[1:]) % 3]
    assert ties != sorted(ties) and ties != sorted(ties, key=lambda s: int(s[1:]))


def test_rank_refuses_what_it_cannot_rank() -> None:
    with pytest.raises(ValueError, match="no items"):
        rank([], {"s": 1.0})
    with pytest.raises(ValueError, match="duplicate"):
        rank([TriageItem("a", {"s": 1.0}), TriageItem("a", {"s": 0.0})], {"s": 1.0})
    with pytest.raises(ValueError, match="no item has any weighted signal"):
        rank([TriageItem("a", {"s": 1.0})], {"t": 1.0})


# --- recall ----------------------------------------------------------------------------------


def test_recall_at_exact_counts() -> None:
    ranked = _items([True, False, True, False, False, False, False, True, False, False])
    table = recall_at(ranked, (0.1, 0.25, 0.5, 1.0), random_runs=500).set_index("budget")
    assert table["reviewed"].tolist() == [1, 3, 5, 10]
    assert table["caught"].tolist() == [1, 2, 2, 3]
    assert table["recall"].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1.0])
    assert table["random_recall"].tolist() == pytest.approx([0.1, 0.3, 0.5, 1.0])
    assert table["lift"].tolist() == pytest.approx([10 / 3, 20 / 9, 4 / 3, 1.0])
    assert (table["errors"] == 3).all()
    assert (table["recall_low"] <= table["recall"]).all() and (table["recall"] <= table["recall_high"]).all()
    assert table.loc[1.0, "random_low"] == table.loc[1.0, "random_high"] == 1.0  # reviewing all catches all


def test_reviewed_count_is_not_fooled_by_float_rounding() -> None:
    ranked = _items([k < 7 or k == 14 for k in range(100)])
    table = recall_at(ranked, (0.07, 0.14, 0.55), random_runs=10)
    assert table["reviewed"].tolist() == [7, 14, 55]  # 0.07*100 is 7.000000000000001 in floating point
    assert table["caught"].tolist() == [7, 7, 8]
    assert budget_for(ranked, recall=7 / 8) == 0.07


def test_random_baseline_is_seeded_and_brackets_the_expectation() -> None:
    ranked = _items([k % 5 == 0 for k in range(200)])  # 40 errors spread evenly: ranking no better than chance
    first = recall_at(ranked, seed=3)
    assert first.equals(recall_at(ranked, seed=3))
    assert (first["random_low"] < first["random_recall"]).all() and (first["random_recall"] < first["random_high"]).all()
    assert first["random_recall"].tolist() == [0.1, 0.25, 0.5]
    # a 95% band for 40 errors at a 10% budget is a few errors wide, not a point or everything
    assert 0.0 <= first.loc[0, "random_low"] <= 0.05 and 0.15 <= first.loc[0, "random_high"] <= 0.25


def test_recall_curve_and_budget_for() -> None:
    ranked = _items([True, False, True, False, False, False, False, True, False, False])
    curve = recall_curve(ranked, step=0.05)
    assert len(curve) == 20 and curve["budget"].iloc[-1] == 1.0
    assert curve["recall"].iloc[-1] == 1.0 and curve["reviewed"].iloc[-1] == 10
    assert curve.set_index("budget").loc[0.3, "caught"] == 2
    assert budget_for(ranked, recall=0.5) == 0.3
    assert budget_for(ranked, recall=0.8) == 0.8
    assert budget_for(ranked, recall=1 / 3) == 0.1


@pytest.mark.parametrize("budgets", [(0.0,), (1.5,), (-0.1, 0.5)])
def test_budgets_outside_the_unit_interval_are_refused(budgets: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        recall_at(_items([True, False]), budgets)


def test_recall_needs_items_truth_and_errors() -> None:
    with pytest.raises(ValueError, match="no items"):
        recall_at([])
    with pytest.raises(ValueError, match="no known errors"):
        recall_at(_items([False, False]))
    with pytest.raises(ValueError, match="error=None"):
        recall_at([TriageItem("a", {}, error=True), TriageItem("b", {}, error=None)])
    with pytest.raises(ValueError, match="step"):
        recall_curve(_items([True]), step=0)
    with pytest.raises(ValueError, match="random_runs"):
        recall_at(_items([True]), random_runs=0)
