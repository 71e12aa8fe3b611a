"""The records of a trainer's judgment profile: every figure with its n, and an interval where it has one.

A figure below the profile's ``min_items`` says so (``too_few``) and is never a reason to act:
its point and interval are kept for a reader who wants them, but nothing decides on them.

- ``Proportion``: k of n, the point, a 95% Wilson interval (catch rate, false alarms, deference).
- ``Difference``: two proportions and their difference with a 95% Newcombe interval (miss rate
  when the critic missed the planted error, against when it pointed at it).
- ``Mean`` / ``Median``: a mean (agreement measures) or a median (seconds per item), with its n.
- ``OddsRatio`` / ``StyleBias``: the trainer's own accept-or-change decisions against the draft's style.
- ``Speed``: seconds per item beside the planted errors left in, and a plain-words verdict.
- ``ProfileSlice``: the main figures over one ISO week or one domain.
- ``TrainerProfile``: all of it for one trainer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from oversight.schemas._base import Record, utcnow

__all__ = [
    "Difference",
    "Mean",
    "Median",
    "OddsRatio",
    "ProfileSlice",
    "Proportion",
    "Speed",
    "StyleBias",
    "TrainerProfile",
]


def _pct(x: float) -> str:
    return f"{x:.0%}"


class _Estimate(Record):
    """A point estimate and its 95% interval; ``too_few`` when it rests on fewer items than the profile's bar."""

    point: float | None = None
    low: float | None = None
    high: float | None = None
    too_few: bool = True

    def shown(self) -> tuple[float, float, float] | None:
        """(point, low, high) when there is one to show, else None."""
        if self.too_few or self.point is None or self.low is None or self.high is None:
            return None
        return self.point, self.low, self.high


class Proportion(_Estimate):
    """k of n, its point estimate and 95% Wilson interval (None when n is 0)."""

    k: int = Field(default=0, ge=0)
    n: int = Field(default=0, ge=0)

    def label(self) -> str:
        """``80% [49%-94%] (8/10)``, or ``too few items (3)``."""
        if (shown := self.shown()) is None:
            return f"too few items ({self.n})"
        point, low, high = shown
        return f"{_pct(point)} [{_pct(low)}-{_pct(high)}] ({self.k}/{self.n})"


class Difference(_Estimate):
    """``first`` minus ``second`` (as proportions), with a 95% Newcombe (hybrid Wilson) interval."""

    first: Proportion = Field(default_factory=Proportion)
    second: Proportion = Field(default_factory=Proportion)

    def label(self) -> str:
        """``+40 pts [+5, +70]``, or ``too few items (3 and 12)``."""
        if (shown := self.shown()) is None:
            return f"too few items ({self.first.n} and {self.second.n})"
        point, low, high = shown
        return f"{point * 100:+.0f} pts [{low * 100:+.0f}, {high * 100:+.0f}]"


class Mean(Record):
    """A mean of values in [0, 1] (tag overlap, text similarity) with its n."""

    n: int = Field(default=0, ge=0)
    mean: float | None = None
    too_few: bool = True

    def label(self) -> str:
        return f"too few items ({self.n})" if self.too_few or self.mean is None else f"{_pct(self.mean)} (n={self.n})"


class Median(Record):
    """A median of seconds (time per item) with its n."""

    n: int = Field(default=0, ge=0)
    median: float | None = None
    too_few: bool = True

    def label(self) -> str:
        return f"too few items ({self.n})" if self.too_few or self.median is None else f"{self.median:.0f}s (n={self.n})"


class OddsRatio(Record):
    """One term of a logistic fit as an odds ratio, with its 95% interval and p-value."""

    term: str
    odds_ratio: float
    low: float
    high: float
    p: float

    def label(self) -> str:
        return f"{self.odds_ratio:.2f} [{self.low:.2f}-{self.high:.2f}]"


class StyleBias(Record):
    """The audit's style model on a trainer's own decisions: accepting a draft (rather than changing it)
    against its length (odds ratio per doubling of words) and its formatting (any markdown or not)."""

    n: int = Field(default=0, ge=0)
    accepted: int = Field(default=0, ge=0)
    changed: int = Field(default=0, ge=0)
    status: Literal["ok", "too_few", "unstable"] = "too_few"
    fit: Literal["mle", "penalised"] | None = None
    length: OddsRatio | None = None
    formatting: OddsRatio | None = None
    note: str = ""

    def label(self) -> str:
        if self.status != "ok" or self.length is None:
            return f"too few items ({self.n})" if self.status == "too_few" else f"could not be fitted ({self.n})"
        return f"odds of accepting x{self.length.label()} per doubling of length (n={self.n})"


class Speed(Record):
    """Seconds per item beside the planted errors left in: fast and accepting them is rubber-stamping."""

    production: Median = Field(default_factory=Median)
    gold: Median = Field(default_factory=Median)
    peers_gold: Median = Field(default_factory=Median, description="Every other trainer's gold items.")
    accepted_planted: Proportion = Field(default_factory=Proportion,
                                         description="Planted errors accepted as they were (not skipped).")
    verdict: str | None = None
    note: str = ""


class ProfileSlice(Record):
    """The main figures over one ISO week (``2025-W23``) or one domain."""

    key: str
    gold_answers: int = 0
    production_items: int = 0
    catch_rate: Proportion = Field(default_factory=Proportion)
    false_alarms: Proportion = Field(default_factory=Proportion)
    deference: Proportion = Field(default_factory=Proportion)
    decision_agreement: Proportion = Field(default_factory=Proportion)
    seconds_per_item: Median = Field(default_factory=Median)


class TrainerProfile(Record):
    """One trainer's judgment, measured on gold items (and their production work for style and speed).

    ``reasons`` are the suggested pause against ``bar``, one per rule that flags the trainer
    (``review.profiles.flags``), when the profile was made with a bar, and ``suggestion`` the same in
    one line (None when no rule does): a lead decides; nothing pauses anyone by itself.
    """

    reviewer: str
    as_of: datetime = Field(default_factory=utcnow)
    since: datetime | None = None
    domain: str | None = None
    min_items: int = Field(ge=1)
    production_items: int = 0
    gold_answers: int = 0
    planted_skipped: int = Field(default=0, description="Planted items skipped: not in the catch rate.")
    catch_rate: Proportion = Field(default_factory=Proportion)
    false_alarms: Proportion = Field(default_factory=Proportion)
    decision_agreement: Proportion = Field(default_factory=Proportion)
    tag_overlap: Mean = Field(default_factory=Mean)
    text_similarity: Mean = Field(default_factory=Mean)
    deference: Proportion = Field(default_factory=Proportion, description="Decoy findings marked right.")
    decoy_unjudged: int = Field(default=0, description="Decoy findings given no verdict: not in deference.")
    missed_by_critic: Difference = Field(
        default_factory=Difference,
        description="Miss rate on planted errors the critic missed (first) and pointed at (second).")
    style_bias: StyleBias = Field(default_factory=StyleBias)
    speed: Speed = Field(default_factory=Speed)
    by_week: list[ProfileSlice] = Field(default_factory=list)
    by_domain: list[ProfileSlice] = Field(default_factory=list)
    bar: float | None = None
    reasons: list[str] = Field(default_factory=list)
    suggestion: str | None = None
