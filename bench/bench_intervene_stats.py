"""Does the validation statistic call a useless prompt change "validated"? And how often does it see a real one?

Simulated validations, no model: each affected task has a failure propensity p ~ Beta(2, 2); the
old and the new prompt each draft it once, and the failure recurs with probability p before and
max(p - effect, 0) after. ``paired_change`` (paired percentile bootstrap, 2000 resamples) and
``decide`` (min 10 tasks) turn the outcomes into a call.

(a) Null intervention, sampled model: a whitespace edit re-samples the model, so the before and
    after outcomes are independent draws with the SAME per-task probability. The share called
    "validated" is the false-validation rate; it should be at most 5% (about 2.5% expected from
    a two-sided 95% interval). N = 100, and N = 30 and N = 10 (the smallest N decided).
(b) Planted effect, sampled model: effect 0.1, 0.2, 0.3 at N = 100 and N = 30: power.
(c) Deterministic model (temperature 0): a draft changes only if the prompt change touches it.
    A share of the tasks is touched; their after outcome is drawn afresh with the after
    probability; untouched tasks give after == before exactly. Nulls (touched 0%, 10%, 30%, no
    effect) and effects (touched 30%, effect 0.2 and 0.5).
(d) Regression rule: effect 0.2 (N = 100) with 1 or 3 control checks, each re-drafted on 50
    control tasks with no change at all (sampled model): how often a working intervention is
    called "regressed" because a control moved by chance.

The true difference is the population one (Beta(2, 2) expectations); coverage is the share of
runs whose interval holds it. Usage: python bench/bench_intervene_stats.py [--runs 2000]
[--power-runs 1000] [--seed 20261126]. Prints a table, then one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad

from oversight.intervene.stats import MIN_TASKS, decide, paired_change, wilson

OUTCOMES = ("validated", "not_effective", "regressed", "inconclusive")
RESAMPLES = 2000


@dataclass(frozen=True)
class Scenario:
    name: str
    n: int
    effect: float = 0.0
    deterministic: bool = False
    touched: float = 1.0  # deterministic model: share of tasks whose draft the change alters
    controls: int = 0  # control checks, each on CONTROL_TASKS tasks with no change
    null: bool = False


CONTROL_TASKS = 50

SCENARIOS = [
    Scenario("a null, sampled", 100, null=True),
    Scenario("a null, sampled", 30, null=True),
    Scenario("a null, sampled", 10, null=True),
    Scenario("b effect 0.1, sampled", 100, 0.1),
    Scenario("b effect 0.2, sampled", 100, 0.2),
    Scenario("b effect 0.3, sampled", 100, 0.3),
    Scenario("b effect 0.1, sampled", 30, 0.1),
    Scenario("b effect 0.2, sampled", 30, 0.2),
    Scenario("b effect 0.3, sampled", 30, 0.3),
    Scenario("c null, temp 0, touched 0%", 100, deterministic=True, touched=0.0, null=True),
    Scenario("c null, temp 0, touched 10%", 100, deterministic=True, touched=0.1, null=True),
    Scenario("c null, temp 0, touched 30%", 100, deterministic=True, touched=0.3, null=True),
    Scenario("c effect 0.2, temp 0, touched 30%", 100, 0.2, deterministic=True, touched=0.3),
    Scenario("c effect 0.5, temp 0, touched 30%", 100, 0.5, deterministic=True, touched=0.3),
    Scenario("d effect 0.2, 1 null control", 100, 0.2, controls=1),
    Scenario("d effect 0.2, 3 null controls", 100, 0.2, controls=3),
]


def true_difference(s: Scenario) -> float:
    """Population after-rate minus before-rate: touched x (E[max(p - effect, 0)] - E[p]), p ~ Beta(2, 2)."""
    after, _ = quad(lambda p: max(p - s.effect, 0.0) * 6 * p * (1 - p), 0.0, 1.0, points=[s.effect])
    return s.touched * (after - 0.5)


def simulate(rng: np.random.Generator, s: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """One validation's (before, after) outcomes, True where the failure recurs."""
    p = rng.beta(2, 2, s.n)
    before = rng.random(s.n) < p
    fresh = rng.random(s.n) < np.clip(p - s.effect, 0.0, 1.0)
    if not s.deterministic:
        return before, fresh
    touched = rng.random(s.n) < s.touched
    return before, np.where(touched, fresh, before)


def run(s: Scenario, runs: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    truth = true_difference(s)
    calls: Counter[str] = Counter()
    covered = 0
    widths = []
    for _ in range(runs):
        before, after = simulate(rng, s)
        change = paired_change(before, after, seed=int(rng.integers(2**31)), resamples=RESAMPLES)
        regressions = {}
        for k in range(s.controls):
            c_before, c_after = simulate(rng, Scenario("control", CONTROL_TASKS))
            regressions[f"check{k}"] = paired_change(c_before, c_after, seed=int(rng.integers(2**31)),
                                                     resamples=RESAMPLES)
        outcome, _ = decide(change, s.n, regressions)
        calls[outcome] += 1
        covered += change.low <= truth <= change.high
        widths.append(change.high - change.low)
    validated = wilson(calls["validated"], runs)
    return {
        "scenario": s.name,
        "n": s.n,
        "effect": s.effect,
        "deterministic": s.deterministic,
        "touched": s.touched,
        "controls": s.controls,
        "null": s.null,
        "runs": runs,
        "seed": seed,
        "true_difference": round(truth, 4),
        "shares": {o: calls[o] / runs for o in OUTCOMES},
        "validated_wilson95": [round(validated.low, 4), round(validated.high, 4)],
        "coverage": covered / runs,
        "mean_width": round(float(np.mean(widths)), 4),
    }


def table(results: list[dict]) -> str:
    rows = [("scenario", "N", "runs", "true diff", "validated [Wilson 95%]", "not_eff", "regressed",
             "coverage", "width")]
    for r in results:
        lo, hi = r["validated_wilson95"]
        sh = r["shares"]
        rows.append((r["scenario"], str(r["n"]), str(r["runs"]), f"{r['true_difference'] * 100:+.1f} pts",
                     f"{sh['validated']:.1%} [{lo:.1%}, {hi:.1%}]", f"{sh['not_effective']:.1%}",
                     f"{sh['regressed']:.1%}", f"{r['coverage']:.1%}", f"{r['mean_width'] * 100:.1f} pts"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs per null scenario (at least 1000)")
    parser.add_argument("--power-runs", type=int, default=1000, help="runs per scenario with an effect")
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    start = time.perf_counter()
    results = []
    for i, s in enumerate(SCENARIOS):
        results.append(run(s, args.runs if s.null else args.power_runs, args.seed + 1000 * i))
        print(f"  {s.name}, N={s.n}: {time.perf_counter() - start:.0f}s", file=sys.stderr)
    elapsed = time.perf_counter() - start
    print(f"Validation calls over seeded simulated validations (resamples {RESAMPLES}, min tasks {MIN_TASKS}, "
          f"p ~ Beta(2,2), {CONTROL_TASKS} tasks per control check); {elapsed:.0f}s")
    print(table(results))
    null_main = results[0]
    checks = {
        "null_n100_validated_at_most_5pct": null_main["shares"]["validated"] <= 0.05,
        "null_n100_validated_wilson_high_at_most_5pct": null_main["validated_wilson95"][1] <= 0.05,
        "every_null_validated_at_most_5pct": all(r["shares"]["validated"] <= 0.05 for r in results if r["null"]),
    }
    print("Checks: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in checks.items()))
    print(json.dumps({
        "bench": "intervene_stats",
        "seed": args.seed,
        "seeds": "scenario i uses seed + 1000 * i; each run's bootstrap seed is drawn from the scenario's generator",
        "runs": args.runs,
        "power_runs": args.power_runs,
        "resamples": RESAMPLES,
        "min_tasks": MIN_TASKS,
        "stated": {"level": 0.95, "null_validated_bound": 0.05},
        "checks": checks,
        "ok": all(checks.values()),
        "seconds": round(elapsed, 1),
        "scenarios": results,
    }))


if __name__ == "__main__":
    main()
