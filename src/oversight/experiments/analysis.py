"""Effects with confidence intervals, from an experiment's rows (pandas in, pandas out).

For every measure and condition: how many rows have it, its rate or mean, and an interval
(Wilson for a rate, a percentile bootstrap for a mean). Every other condition is then compared
with the first (the baseline), the way the design allows:

- **paired** (every task under every condition): on the tasks that have the measure under both,
  the change in rate by a paired bootstrap over tasks (``stats.paired_change``, the validation's
  own statistic), the change in mean likewise;
- **randomised** (each task under one condition): the difference of two independent rates
  with Newcombe's hybrid score interval; of means, a bootstrap of each group.

``agreement`` (paired only): Cohen's kappa between the baseline's reviewer and each other
condition's on whether a draft needs changing (``flagged``), with a bootstrap interval.

A difference is ``significant`` when its interval excludes zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from oversight.intervene.stats import (
    calibrate,
    difference_of_proportions,
    mean_difference,
    mean_interval,
    paired_change,
    wilson,
)
from oversight.schemas import Experiment, Interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "summary"]

SUMMARY_COLUMNS = ["measure", "condition", "n", "value", "low", "high", "vs", "pairs", "effect", "effect_low",
                   "effect_high", "paired", "significant"]
_RATES = {"caught", "flagged", "critic_pointed", "recurrence"}
_COLUMN = {"recurrence": "recurs", "agreement": "flagged"}


def _level(values: Any, rate: bool, seed: int) -> Interval:
    x = np.asarray(values, dtype=float)
    return wilson(int(x.sum()), len(x)) if rate else mean_interval(x, seed=seed)


def _effect(frame: pd.DataFrame, column: str, condition: str, base: str, *, paired: bool, rate: bool,
            seed: int) -> tuple[int, Interval | None]:
    mine = frame[frame.condition == condition].dropna(subset=[column])
    theirs = frame[frame.condition == base].dropna(subset=[column])
    if paired:
        joined = mine[["task_id", column]].merge(theirs[["task_id", column]], on="task_id", suffixes=("", "_base"))
        if joined.empty:
            return 0, None
        after, before = joined[column].to_numpy(), joined[f"{column}_base"].to_numpy()
        if rate:
            return len(joined), paired_change(before.astype(bool), after.astype(bool), seed=seed)
        return len(joined), mean_difference(after.astype(float), before.astype(float), paired=True, seed=seed)
    if mine.empty or theirs.empty:
        return 0, None
    if rate:
        x, y = mine[column].astype(bool), theirs[column].astype(bool)
        return len(mine) + len(theirs), difference_of_proportions(int(x.sum()), len(x), int(y.sum()), len(y))
    return len(mine) + len(theirs), mean_difference(mine[column].astype(float), theirs[column].astype(float),
                                                    paired=False, seed=seed)


def _agreement(frame: pd.DataFrame, condition: str, base: str, seed: int) -> tuple[int, Interval | None]:
    mine = frame[frame.condition == condition].dropna(subset=["flagged"])
    theirs = frame[frame.condition == base].dropna(subset=["flagged"])
    joined = mine[["task_id", "flagged"]].merge(theirs[["task_id", "flagged"]], on="task_id", suffixes=("", "_base"))
    if len(joined) < 2:
        return len(joined), None
    kappa = calibrate("agreement", joined["flagged_base"].astype(bool).tolist(),
                      joined["flagged"].astype(bool).tolist(), seed=seed).kappa
    return len(joined), kappa


def summary(frame: pd.DataFrame, experiment: Experiment | None = None) -> pd.DataFrame:
    """One row per measure and condition (``SUMMARY_COLUMNS``): the level with its interval and, for
    every condition but the first, the effect against the first with its interval.

    ``experiment`` defaults to the one ``run`` kept in ``frame.attrs``. Raises ValueError without one.
    """
    import pandas as pd

    if experiment is None:
        if "experiment" not in frame.attrs:
            raise ValueError("these rows do not say which experiment made them: pass experiment=")
        experiment = Experiment.model_validate(frame.attrs["experiment"])
    paired = experiment.design == "paired"
    names = [c.name for c in experiment.conditions]
    base = names[0]
    out: list[dict[str, Any]] = []
    for measure in experiment.measures:
        column = _COLUMN.get(measure, measure)
        rate = measure in _RATES
        for name in names:
            row: dict[str, Any] = {"measure": measure, "condition": name, "paired": paired}
            if measure == "agreement":
                if name == base:
                    continue
                pairs, kappa = _agreement(frame, name, base, experiment.seed)
                row.update(n=pairs, vs=base, pairs=pairs)
                if kappa is not None:
                    row.update(value=kappa.estimate, low=kappa.low, high=kappa.high)
                out.append(row)
                continue
            values = frame.loc[frame.condition == name, column].dropna()
            row["n"] = len(values)
            if len(values):
                level = _level(values.to_numpy(), rate, experiment.seed)
                row.update(value=level.estimate, low=level.low, high=level.high)
            if name != base:
                pairs, effect = _effect(frame, column, name, base, paired=paired, rate=rate, seed=experiment.seed)
                row.update(vs=base, pairs=pairs)
                if effect is not None:
                    row.update(effect=effect.estimate, effect_low=effect.low, effect_high=effect.high,
                               significant=bool(effect.low > 0 or effect.high < 0))
            out.append(row)
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)
