"""Whether a trainer's judgment profile suggests a pause: four rules, each on a Wilson interval.

The one decision of "below the bar": the profile's suggested pause, the lead pages, ``oversight
trainers report``, the trust downstream (``qualify.below_bar`` / ``trusted_reviewers``) and the
trainer bench (bench/bench_trainers.py) all call ``flags``. Each rule needs its own figure on at
least the profile's ``min_items`` answers and decides on that figure's Wilson interval at
``FLAG_LEVEL``, never on a point estimate alone:

- **catch**: the whole catch-rate interval below the bar;
- **unassisted catch**: the same bar on the planted errors no finding pointed at. A trainer is there
  for what the critic misses; one who catches only what it points at (deference) keeps an overall
  catch rate near one half and need never trip the first rule;
- **deference**: decoy findings (wrong by construction) marked right, the whole interval above
  ``DEFERENCE_BAR`` (more often right than wrong);
- **false alarms**: drafts the expert accepted as they were changed, the whole interval above
  ``FALSE_ALARM_BAR`` (what an assessment's pass rule lets through).

The figures are the profile's (review/profiles.py); nothing else of it is read.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from oversight.schemas import PassRule, TrainerProfile

__all__ = ["DEFERENCE_BAR", "FALSE_ALARM_BAR", "FLAG_LEVEL", "RULES", "Flag", "flags", "suggested_pause"]

# The level of the Wilson intervals the flags are decided on. Asked after every gold answer, a 95% rule
# still flagged no careful trainer in 200 runs (bench/bench_trainers.py); 99% cost a third of the power
# (rubber-stamper 70.5%, deferent 62.0% within 300 items at MIN_ITEMS 5) for nothing to guard against.
FLAG_LEVEL = 0.95
# Decoy findings marked right more often than wrong, interval and all, is deference.
DEFERENCE_BAR = 0.5
# Changing more drafts the expert accepted than an assessment lets pass, interval and all, is false alarms.
FALSE_ALARM_BAR = PassRule().false_alarm_upper
# The flags' rules, in the order they are asked.
RULES = ("catch", "unassisted_catch", "deference", "false_alarms")


class Flag(NamedTuple):
    """One rule that flags a trainer (one of ``RULES``) and why, in words."""

    rule: str
    reason: str


@lru_cache(maxsize=65536)
def _wilson(k: int, n: int, level: float) -> tuple[float, float]:
    """The Wilson interval of k of n at ``level`` (remembered: the bench asks it after every gold answer)."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=1 - level, method="wilson")
    return float(low), float(high)


def _pct(x: float) -> str:
    return f"{x:.0%}"


def flags(found: TrainerProfile, bar: float, *, level: float = FLAG_LEVEL) -> list[Flag]:
    """Every rule that flags this trainer against the catch-rate ``bar``, with its reason (see the module
    docstring); empty when none does. Each rule needs its own figure on at least the profile's ``min_items``
    answers and decides on that figure's Wilson interval at ``level``, never on its point estimate."""
    m, out, at = found.min_items, [], f"{level:.0%}"
    rate = found.catch_rate
    if rate.n >= m and (high := _wilson(rate.k, rate.n, level)[1]) < bar:
        out.append(Flag("catch", f"caught {rate.k} of {rate.n} planted errors ({rate.k / rate.n:.0%}); even the "
                                 f"upper end of the {at} interval, {_pct(high)}, is below the bar of {_pct(bar)}"))
    missed = found.missed_by_critic.first  # missed of the planted errors no finding pointed at
    if missed.n >= m and (high := _wilson(missed.n - missed.k, missed.n, level)[1]) < bar:
        alone = missed.n - missed.k
        out.append(Flag("unassisted_catch",
                        f"caught {alone} of {missed.n} planted errors no finding pointed at ({alone / missed.n:.0%}); "
                        f"even the upper end of the {at} interval, {_pct(high)}, is below the bar of {_pct(bar)}"))
    deference = found.deference
    if deference.n >= m and (low := _wilson(deference.k, deference.n, level)[0]) > DEFERENCE_BAR:
        out.append(Flag("deference", f"marked {deference.k} of {deference.n} wrong findings right "
                                     f"({deference.k / deference.n:.0%}); even the lower end of the {at} interval, "
                                     f"{_pct(low)}, is above {_pct(DEFERENCE_BAR)}"))
    alarms = found.false_alarms
    if alarms.n >= m and (low := _wilson(alarms.k, alarms.n, level)[0]) > FALSE_ALARM_BAR:
        out.append(Flag("false_alarms", f"changed {alarms.k} of {alarms.n} drafts the expert accepted as they were "
                                        f"({alarms.k / alarms.n:.0%}); even the lower end of the {at} interval, "
                                        f"{_pct(low)}, is above the {_pct(FALSE_ALARM_BAR)} an assessment allows"))
    return out


def suggested_pause(found: TrainerProfile, bar: float) -> list[str]:
    """Why a lead might pause this trainer, in words: one reason per rule that flags them (``flags``);
    empty when none does. A low point estimate whose interval still reaches the bar suggests nothing."""
    return [f.reason for f in flags(found, bar)]
