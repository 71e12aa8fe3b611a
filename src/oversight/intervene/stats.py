"""The statistics that decide whether an intervention worked (numpy; statsmodels for Wilson; no model).

Paired design. Each affected task is drafted with the old prompt and with the new one, and each
draft is scored True when the failure recurs. The effect is the after-rate minus the before-rate
(negative: fewer failures). Pairing removes the between-task spread (hard tasks fail under
both prompts), so the interval is a percentile bootstrap that resamples *tasks*, keeping each
task's before and after outcomes together.

Why the interval must exclude 0. Re-drafting re-samples the model: even a change that does
nothing (a whitespace edit) moves the failure rate by a few points by chance. An intervention is
``validated`` only when the whole interval lies below 0 (``change.high < 0``); with a 95%
two-sided interval, a null change is called validated about 2.5% of the time. An interval
entirely above 0 means the change made the failure more frequent (``not_effective``, said so);
one that straddles 0 is ``not_effective`` too: no evidence of an effect. Below ``min_tasks``
affected tasks the experiment is ``inconclusive`` whatever the numbers say.

Regression rule. The same before/after design runs on control tasks for every other check; a
check whose change interval lies entirely above 0 got worse beyond chance, and the intervention
is ``regressed`` however well it fixed its own failure. With several control checks, each at
about 2.5%, a null intervention is called regressed more often than that: the rule errs on the
side of not shipping.

Judge calibration. When an LLM judge decides whether the failure recurs, its verdicts count only
if it agrees with human labels beyond chance: Cohen's kappa, with the *low* end of its
bootstrap interval at least ``threshold`` (0.4, "moderate" agreement), on at least 5 human
positives and 5 human negatives (otherwise the true-positive or true-negative rate is unknown).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np

from oversight.schemas import Calibration, Interval

__all__ = [
    "KAPPA_THRESHOLD",
    "MIN_PER_CLASS",
    "MIN_TASKS",
    "Outcome",
    "calibrate",
    "cohen_kappa",
    "decide",
    "difference_of_proportions",
    "mean_difference",
    "mean_interval",
    "paired_change",
    "wilson",
]

MIN_TASKS = 10
MIN_PER_CLASS = 5
KAPPA_THRESHOLD = 0.4
_CELLS = 4_000_000  # resampled values held at once: bounds memory for large samples

Outcome = Literal["validated", "not_effective", "regressed", "inconclusive"]


def _pair(a: Sequence[bool], b: Sequence[bool], names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Two equal-length, non-empty boolean arrays; ValueError otherwise."""
    x, y = np.asarray(a, dtype=bool).ravel(), np.asarray(b, dtype=bool).ravel()
    if len(x) != len(y):
        raise ValueError(f"{names[0]} and {names[1]} differ in length: {len(x)} != {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{names[0]} and {names[1]} are empty")
    return x, y


def _check_level(level: float, resamples: int) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")


def _resampled_indices(rng: np.random.Generator, n: int, resamples: int) -> Iterator[np.ndarray]:
    """Blocks of bootstrap index rows (resamples x n in all), a few million cells at a time."""
    rows = max(1, _CELLS // n)
    for start in range(0, resamples, rows):
        yield rng.integers(0, n, size=(min(rows, resamples - start), n))


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def paired_change(
    before: Sequence[bool], after: Sequence[bool], *, seed: int, resamples: int = 2000, level: float = 0.95
) -> Interval:
    """After-rate minus before-rate (negative: fewer failures), with a percentile paired bootstrap interval.

    Task ``i``'s outcomes are ``before[i]`` and ``after[i]`` (True: the failure recurs); the bootstrap
    resamples task indices with ``numpy.random.default_rng(seed)``. Raises ValueError on unequal
    lengths, empty input, a level outside (0, 1) or fewer than one resample.
    """
    x, y = _pair(before, after, ("before", "after"))
    _check_level(level, resamples)
    diff = y.astype(np.int8) - x.astype(np.int8)
    rng = np.random.default_rng(seed)
    means = np.concatenate([diff[idx].mean(axis=1) for idx in _resampled_indices(rng, len(diff), resamples)])
    low, high = _percentiles(means, level)
    return Interval(estimate=float(diff.mean()), low=low, high=high, level=level)


def _points(x: float) -> str:
    """A rate difference as signed percentage points: "-30.0", "+4.5", "0.0" (never "-0.0")."""
    value = round(x * 100, 1)
    return f"{value:+.1f}" if value else "0.0"


def _span(iv: Interval) -> str:
    return f"[{_points(iv.low)}, {_points(iv.high)}]"


def decide(
    change: Interval, tasks: int, regressions: dict[str, Interval], *, min_tasks: int = MIN_TASKS
) -> tuple[Outcome, str]:
    """The outcome of a validation and a one-sentence reason, numbers in percentage points.

    In order: fewer than ``min_tasks`` affected tasks -> "inconclusive"; a control check whose
    change interval lies entirely above 0 -> "regressed"; ``change.high < 0`` -> "validated";
    ``change.low > 0`` -> "not_effective" (the change made the failure more frequent); otherwise
    "not_effective" (the interval includes no change).
    """
    if tasks < min_tasks:
        return "inconclusive", f"too few tasks: {tasks} < {min_tasks}"
    worse = sorted(name for name, iv in regressions.items() if iv.low > 0)
    if worse:
        said = "; ".join(f"'{name}' by {_points(regressions[name].estimate)} points, "
                         f"interval {_span(regressions[name])}" for name in worse)
        return "regressed", f"control check{'s' if len(worse) > 1 else ''} got worse: {said}"
    level = f"{change.level:.0%}"
    if change.high < 0:
        return "validated", (f"the failure rate changed by {_points(change.estimate)} points; the {level} "
                             f"interval {_span(change)} excludes no change")
    if change.low > 0:
        return "not_effective", (f"the failure rate rose by {_points(change.estimate)} points; the {level} "
                                 f"interval {_span(change)} lies above no change: the change made it worse")
    return "not_effective", (f"the interval {_span(change)} includes no change "
                             f"(change {_points(change.estimate)} points, {tasks} tasks)")


def wilson(successes: int, n: int, level: float = 0.95) -> Interval:
    """A proportion with its Wilson score interval; with ``n == 0``, estimate 0 and interval [0, 1].

    Raises ValueError unless ``0 <= successes <= n`` and ``0 < level < 1``.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    _check_level(level, 1)
    if n == 0:
        return Interval(estimate=0.0, low=0.0, high=1.0, level=level)
    from statsmodels.stats.proportion import proportion_confint  # ~1 s to import: only when a rate is asked for

    low, high = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    # At 0 or n successes the bound is exactly 0 or 1; statsmodels leaves rounding error there.
    low = 0.0 if successes == 0 else max(0.0, float(low))
    high = 1.0 if successes == n else min(1.0, float(high))
    return Interval(estimate=successes / n, low=low, high=high, level=level)


def difference_of_proportions(successes: int, n: int, base_successes: int, base_n: int,
                              level: float = 0.95) -> Interval:
    """``successes/n - base_successes/base_n`` for two independent groups (a randomised design),
    with Newcombe's hybrid score interval: each rate's Wilson interval, combined. It keeps close
    to its stated coverage at small n and near 0 or 1, where the Wald interval does not.
    Raises ValueError as ``wilson`` does, or when a group is empty."""
    if n == 0 or base_n == 0:
        raise ValueError("both groups need at least one item")
    a, b = wilson(successes, n, level), wilson(base_successes, base_n, level)
    d = a.estimate - b.estimate
    low = d - float(np.hypot(a.estimate - a.low, b.high - b.estimate))
    high = d + float(np.hypot(a.high - a.estimate, b.estimate - b.low))
    return Interval(estimate=d, low=max(-1.0, low), high=min(1.0, high), level=level)


def mean_interval(values: Sequence[float], *, seed: int, resamples: int = 2000, level: float = 0.95) -> Interval:
    """The mean of ``values`` with a percentile bootstrap interval (resampled a few million cells at a
    time, so memory stays bounded however many values). Raises ValueError on empty input."""
    x = np.asarray(values, dtype=float).ravel()
    if len(x) == 0:
        raise ValueError("values must not be empty")
    _check_level(level, resamples)
    rng = np.random.default_rng(seed)
    means = np.concatenate([x[idx].mean(axis=1) for idx in _resampled_indices(rng, len(x), resamples)])
    low, high = _percentiles(means, level)
    return Interval(estimate=float(x.mean()), low=low, high=high, level=level)


def mean_difference(values: Sequence[float], base: Sequence[float], *, paired: bool, seed: int,
                    resamples: int = 2000, level: float = 0.95) -> Interval:
    """Mean of ``values`` minus mean of ``base``, with a percentile bootstrap interval: resampling
    pairs (``paired``: equal lengths, item ``i`` of both is one task) or each group apart.
    Raises ValueError on empty input, or unequal lengths when paired."""
    x, y = np.asarray(values, dtype=float).ravel(), np.asarray(base, dtype=float).ravel()
    if len(x) == 0 or len(y) == 0:
        raise ValueError("values and base must not be empty")
    _check_level(level, resamples)
    rng = np.random.default_rng(seed)
    if paired:
        if len(x) != len(y):
            raise ValueError(f"paired values and base differ in length: {len(x)} != {len(y)}")
        diff = x - y
        means = np.concatenate([diff[idx].mean(axis=1) for idx in _resampled_indices(rng, len(diff), resamples)])
    else:
        mx = np.concatenate([x[idx].mean(axis=1) for idx in _resampled_indices(rng, len(x), resamples)])
        my = np.concatenate([y[idx].mean(axis=1) for idx in _resampled_indices(rng, len(y), resamples)])
        means = mx - my
    low, high = _percentiles(means, level)
    return Interval(estimate=float(x.mean() - y.mean()), low=low, high=high, level=level)


def _kappas(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cohen's kappa per row of two boolean matrices; 0 where chance agreement is 1 (one class only)."""
    # in whole counts (n^2 x the usual rates), so one class gives exactly 0, not a rounding error
    n = a.shape[-1]
    agree = (a == b).sum(axis=-1, dtype=np.int64)
    ya, yb = a.sum(axis=-1, dtype=np.int64), b.sum(axis=-1, dtype=np.int64)
    chance = ya * yb + (n - ya) * (n - yb)
    numerator, denominator = n * agree - chance, n * n - chance
    out = np.zeros(numerator.shape)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Cohen's kappa of two raters' yes/no labels; 0.0 when both use one class only (no NaN).

    Raises ValueError on unequal lengths or empty input.
    """
    x, y = _pair(a, b, ("a", "b"))
    return float(_kappas(x, y))


def calibrate(
    judge: str,
    human: Sequence[bool],
    verdicts: Sequence[bool],
    *,
    seed: int,
    threshold: float = KAPPA_THRESHOLD,
    resamples: int = 2000,
    level: float = 0.95,
) -> Calibration:
    """How well a judge's verdicts agree with human labels (True: the failure is present).

    True-positive and true-negative rates with Wilson intervals; Cohen's kappa with a percentile
    bootstrap interval over items (``numpy.random.default_rng(seed)``). The judge is calibrated
    when the interval's low end is at least ``threshold`` AND the humans labelled at least
    5 positives and 5 negatives. Raises ValueError on unequal lengths or empty input.
    """
    h, v = _pair(human, verdicts, ("human", "verdicts"))
    _check_level(level, resamples)
    positives = int(h.sum())
    negatives = len(h) - positives
    rng = np.random.default_rng(seed)
    boot = np.concatenate([_kappas(h[idx], v[idx]) for idx in _resampled_indices(rng, len(h), resamples)])
    low, high = _percentiles(boot, level)
    kappa = Interval(estimate=float(_kappas(h, v)), low=low, high=high, level=level)
    return Calibration(
        judge=judge,
        positives=positives,
        negatives=negatives,
        true_positive_rate=wilson(int((h & v).sum()), positives, level),
        true_negative_rate=wilson(int((~h & ~v).sum()), negatives, level),
        kappa=kappa,
        threshold=threshold,
        calibrated=bool(kappa.low >= threshold and positives >= MIN_PER_CLASS and negatives >= MIN_PER_CLASS),
    )
