"""Effects with intervals: the statistics against published values, and the summary's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oversight.experiments import summary
from oversight.intervene.stats import difference_of_proportions, mean_difference
from oversight.schemas import Experiment


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 - 48/80, method 10
    d = difference_of_proportions(56, 70, 48, 80)
    assert d.estimate == pytest.approx(0.2)
    assert (round(d.low, 4), round(d.high, 4)) == (0.0524, 0.3339)


def test_newcombe_interval_at_the_edges_stays_inside_minus_one_to_one() -> None:
    d = difference_of_proportions(10, 10, 0, 10)
    assert d.estimate == 1.0 and 0.5 < d.low < 1.0 and d.high == 1.0
    with pytest.raises(ValueError, match="at least one item"):
        difference_of_proportions(0, 0, 1, 2)


def test_mean_difference_paired_sees_what_unpaired_cannot() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(100, 30, size=40)  # tasks differ a lot
    after = base - 5 + rng.normal(0, 1, size=40)  # every task 5 lower
    paired = mean_difference(after, base, paired=True, seed=1)
    unpaired = mean_difference(after, base, paired=False, seed=1)
    assert paired.high < 0  # the paired interval excludes no change
    assert unpaired.low < 0 < unpaired.high  # the between-task spread hides it
    assert paired.estimate == pytest.approx(unpaired.estimate)
    with pytest.raises(ValueError, match="differ in length"):
        mean_difference([1.0], [1.0, 2.0], paired=True, seed=0)


def frame(design: str, data: dict[str, list]) -> tuple[pd.DataFrame, Experiment]:
    experiment = Experiment(name="e", design=design, plant=["wrong_number"], reviewer={"policy": "catches"},
                            conditions=[{"name": "base"}, {"name": "new"}],
                            measures=["caught", "seconds"] + (["agreement"] if design == "paired" else []))
    return pd.DataFrame(data), experiment


def test_a_randomised_summary_compares_independent_groups() -> None:
    caught = [True] * 7 + [False] * 13 + [True] * 14 + [False] * 6  # 35% vs 70%
    rows, experiment = frame("randomised", {
        "task_id": [f"t{i}" for i in range(40)], "condition": ["base"] * 20 + ["new"] * 20,
        "caught": caught, "seconds": [60.0] * 20 + [90.0] * 20, "flagged": caught})
    out = summary(rows, experiment).set_index(["measure", "condition"])
    assert out.loc[("caught", "base"), "value"] == pytest.approx(0.35)
    new = out.loc[("caught", "new")]
    expected = difference_of_proportions(14, 20, 7, 20)
    assert (new.effect, new.effect_low, new.effect_high) == pytest.approx(
        (expected.estimate, expected.low, expected.high))
    assert new.paired == False and new.significant == True and new.pairs == 40  # noqa: E712
    assert out.loc[("seconds", "new"), "effect"] == pytest.approx(30.0)


def test_a_paired_summary_pairs_by_task_and_measures_agreement() -> None:
    tasks = [f"t{i}" for i in range(30)]
    base = [i % 3 == 0 for i in range(30)]
    new = [i % 3 != 2 for i in range(30)]  # catches everything the base did, and more
    rows, experiment = frame("paired", {
        "task_id": tasks * 2, "condition": ["base"] * 30 + ["new"] * 30, "caught": base + new,
        "seconds": [50.0] * 60, "flagged": base + new})
    out = summary(rows, experiment).set_index(["measure", "condition"])
    caught = out.loc[("caught", "new")]
    assert caught.paired == True and caught.pairs == 30  # noqa: E712
    assert caught.effect == pytest.approx(10 / 30) and caught.effect_low > 0
    agreement = out.loc[("agreement", "new")]
    # base flags 10, new flags 20 (a superset): agree on 20 of 30; chance 1/3*2/3*2 = 4/9 -> kappa 0.4
    assert agreement.value == pytest.approx(0.4)
    assert ("agreement", "base") not in out.index


def test_missing_values_are_left_out_not_counted_as_misses() -> None:
    rows, experiment = frame("randomised", {
        "task_id": ["a", "b", "c", "d"], "condition": ["base", "base", "new", "new"],
        "caught": [True, None, False, None], "seconds": [1.0, None, 2.0, None], "flagged": [True, None, False, None]})
    out = summary(rows, experiment).set_index(["measure", "condition"])
    assert out.loc[("caught", "base"), "n"] == 1 and out.loc[("caught", "base"), "value"] == 1.0
