"""The statistics behind a validation: paired change, the decision, Wilson rates, judge calibration."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.intervene.stats import calibrate, cohen_kappa, decide, paired_change, wilson
from oversight.schemas import Interval


def _iv(estimate: float, low: float, high: float) -> Interval:
    return Interval(estimate=estimate, low=low, high=high)


# paired_change


def test_all_failing_before_none_after_is_minus_one_and_validated() -> None:
    change = paired_change([True] * 20, [False] * 20, seed=1)
    assert change.estimate == -1.0
    assert change.low == change.high == -1.0  # every resample is the same: the tightest interval
    outcome, reason = decide(change, 20, {})
    assert outcome == "validated"
    assert "-100.0 points" in reason


def test_identical_outcomes_are_no_change_and_not_validated() -> None:
    outcomes = [i % 3 == 0 for i in range(30)]
    change = paired_change(outcomes, outcomes, seed=1)
    assert (change.estimate, change.low, change.high) == (0.0, 0.0, 0.0)
    outcome, reason = decide(change, 30, {})
    assert outcome == "not_effective"
    assert reason.startswith("the interval [0.0, 0.0] includes no change")


def test_change_is_after_minus_before_and_seeded() -> None:
    before = [True] * 12 + [False] * 8
    after = [False] * 6 + [True] * 6 + [False] * 6 + [True] * 2  # 8 failures after, 12 before
    change = paired_change(before, after, seed=7)
    assert change.estimate == pytest.approx(-0.2)
    assert change.low < -0.2 < change.high
    assert paired_change(before, after, seed=7) == change


def test_pairing_narrows_the_interval() -> None:
    """The same marginal rates, once paired task by task and once with the after outcomes shuffled."""
    rng = np.random.default_rng(0)
    hard = rng.random(200) < 0.6
    before = hard | (rng.random(200) < 0.1)
    after = hard & (rng.random(200) < 0.7)
    paired = paired_change(before, after, seed=0)
    unpaired = paired_change(before, rng.permutation(after), seed=0)
    assert paired.estimate == unpaired.estimate
    assert paired.high - paired.low < 0.8 * (unpaired.high - unpaired.low)


def test_interval_covers_the_true_difference_in_simulations() -> None:
    """200 validations of 60 tasks, failure rate 0.8 before and 0.5 after, outcomes correlated within a task."""
    rng = np.random.default_rng(20261126)
    covered = 0
    runs = 200
    for run in range(runs):
        u = rng.random(60)
        v = np.where(rng.random(60) < 0.5, u, rng.random(60))  # uniform again: same task half the time
        change = paired_change(u < 0.8, v < 0.5, seed=run)
        covered += change.low <= -0.3 <= change.high
    # near the nominal 95%: not far below it, and not so wide that it always covers (seeded: 96%)
    assert 0.88 <= covered / runs <= 0.99, f"coverage {covered / runs:.1%}"


@pytest.mark.parametrize(("before", "after"), [([True, False], [True]), ([], [])])
def test_paired_change_rejects_mismatched_or_empty_input(before: list[bool], after: list[bool]) -> None:
    with pytest.raises(ValueError):
        paired_change(before, after, seed=0)


def test_paired_change_handles_more_tasks_than_one_block() -> None:
    n = 50_000  # 2000 resamples x 50,000 tasks is 100M cells: resampled in blocks
    before = np.arange(n) % 2 == 0
    change = paired_change(before, np.zeros(n, dtype=bool), seed=3, resamples=200)
    assert change.estimate == -0.5
    assert -0.51 < change.low < -0.5 < change.high < -0.49


# decide


def test_decide_inconclusive_below_min_tasks() -> None:
    assert decide(_iv(-1.0, -1.0, -1.0), 9, {}) == ("inconclusive", "too few tasks: 9 < 10")
    assert decide(_iv(-1.0, -1.0, -1.0), 5, {}, min_tasks=5)[0] == "validated"


def test_decide_regressed_names_the_check() -> None:
    regressions = {"max_words": _iv(0.12, 0.03, 0.21), "valid_json": _iv(0.02, -0.04, 0.08)}
    outcome, reason = decide(_iv(-0.3, -0.4, -0.2), 40, regressions)
    assert outcome == "regressed"
    assert "'max_words' by +12.0 points, interval [+3.0, +21.0]" in reason
    assert "valid_json" not in reason  # its interval includes no change


def test_decide_validated_when_the_interval_is_below_zero() -> None:
    outcome, reason = decide(_iv(-0.25, -0.37, -0.125), 40, {"other": _iv(0.0, -0.05, 0.05)})
    assert outcome == "validated"
    assert reason == ("the failure rate changed by -25.0 points; the 95% interval [-37.0, -12.5] "
                      "excludes no change")


def test_decide_not_effective_when_the_change_made_it_worse() -> None:
    outcome, reason = decide(_iv(0.15, 0.05, 0.25), 40, {})
    assert outcome == "not_effective"
    assert "rose by +15.0 points" in reason and "made it worse" in reason


def test_decide_not_effective_when_the_interval_includes_zero() -> None:
    outcome, reason = decide(_iv(-0.05, -0.12, 0.03), 40, {})
    assert outcome == "not_effective"
    assert reason.startswith("the interval [-12.0, +3.0] includes no change")


def test_decide_needs_the_whole_interval_below_zero() -> None:
    assert decide(_iv(-0.2, -0.4, 0.0), 40, {})[0] == "not_effective"


# wilson


def test_wilson_matches_the_textbook_values() -> None:
    iv = wilson(5, 10)
    assert iv.estimate == 0.5
    assert (iv.low, iv.high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    zero = wilson(0, 20)
    assert zero.low == 0.0 and zero.high == pytest.approx(0.1611, abs=1e-4)
    assert wilson(20, 20).high == 1.0
    assert wilson(0, 0) == Interval(estimate=0.0, low=0.0, high=1.0)
    assert wilson(5, 10, level=0.99).low < iv.low


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
     (29, 29, 0.8830, 1.0)],
)
def test_wilson_matches_newcombe_1998(successes: int, n: int, low: float, high: float) -> None:
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table II, method 3.
    iv = wilson(successes, n)
    assert (iv.low, iv.high) == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        wilson(11, 10)


# kappa and calibration


def test_kappa_matches_a_hand_computed_value() -> None:
    # 10 items: both yes 4, a yes/b no 1, a no/b yes 2, both no 3.
    # observed 0.7; chance 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    a = [True] * 5 + [False] * 5
    b = [True] * 4 + [False] + [True] * 2 + [False] * 3
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == 1.0
    assert cohen_kappa(a, [not x for x in a]) == -1.0


def test_kappa_with_unequal_margins() -> None:
    # 20 items: both yes 2, a yes/b no 2, a no/b yes 6, both no 10.
    # observed 0.6; chance 0.2*0.4 + 0.8*0.6 = 0.56; kappa = 0.04 / 0.44 = 1/11
    a = [True] * 4 + [False] * 16
    b = [True] * 2 + [False] * 2 + [True] * 6 + [False] * 10
    assert cohen_kappa(a, b) == pytest.approx(1 / 11)


def test_kappa_is_zero_not_nan_for_one_class() -> None:
    assert cohen_kappa([True] * 8, [True] * 8) == 0.0
    assert cohen_kappa([False] * 8, [True, False] * 4) == 0.0
    with pytest.raises(ValueError):
        cohen_kappa([True], [True, False])


def test_calibrate_a_good_judge() -> None:
    human = [True] * 20 + [False] * 20
    verdicts = [True] * 19 + [False] + [False] * 19 + [True]
    cal = calibrate("judge:m", human, verdicts, seed=0)
    assert (cal.positives, cal.negatives) == (20, 20)
    assert cal.true_positive_rate.estimate == cal.true_negative_rate.estimate == 0.95
    assert cal.kappa.estimate == pytest.approx(0.9)
    assert 0.4 <= cal.kappa.low < 0.9 < cal.kappa.high <= 1.0
    assert cal.calibrated and cal.threshold == 0.4


def test_calibrate_needs_five_positives() -> None:
    human = [True] * 4 + [False] * 40
    cal = calibrate("judge:m", human, human, seed=0)  # perfect agreement, kappa 1
    assert cal.kappa.low == 1.0
    assert cal.positives == 4 and not cal.calibrated


def test_calibrate_rejects_a_judge_near_chance() -> None:
    rng = np.random.default_rng(1)
    human = rng.random(60) < 0.5
    cal = calibrate("judge:coin", human, rng.random(60) < 0.5, seed=0)
    assert cal.kappa.low < 0.4 and not cal.calibrated


def test_calibrate_with_one_class_is_not_nan() -> None:
    cal = calibrate("judge:m", [False] * 12, [False] * 10 + [True] * 2, seed=0)
    assert cal.kappa.estimate == cal.kappa.low == cal.kappa.high == 0.0
    assert cal.true_positive_rate == Interval(estimate=0.0, low=0.0, high=1.0)  # no positives: unknown
    assert not cal.calibrated
