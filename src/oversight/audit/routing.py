"""Quality ceilings: per task kind or domain, how much raters disagree, and where to route it.

A kind whose raters agree and whose majority matches gold has a low ceiling: one rater,
or an automated judge, reaches what experts reach. A kind where raters disagree, or where
their agreement hides a miss that gold exposes, has a high ceiling: it needs experts or
several raters. The thresholds are stated constants so a lead can see why a kind went where.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

import numpy as np

from oversight.audit.agreement_stats import _gold_of, _majority, item_votes, krippendorff_alpha
from oversight.schemas import Ceiling, GroupRoute, Judgment, PointwiseJudgment, Route, RoutingRule

__all__ = [
    "AUTOMATE_MAX",
    "GOLD_MIN",
    "MIN_GROUP_ITEMS",
    "SEVERAL_MAX",
    "SINGLE_MAX",
    "ceilings",
    "routing_rule",
    "wilson_upper",
]

AUTOMATE_MAX = 0.10  # disagreement at most this (and gold agrees): automate or one rater
SINGLE_MAX = 0.20  # up to this: one rater
SEVERAL_MAX = 0.40  # up to this: several raters, majority vote; beyond: experts
GOLD_MIN = 0.80  # a majority that matches gold less often than this needs experts
MIN_GROUP_ITEMS = 10  # fewer multi-rated items than this: not enough to loosen review
_RATERS: dict[Route, int] = {"automate": 1, "single_rater": 1, "several_raters": 3, "expert": 1}


def group_field(judgments: Sequence[Judgment]) -> Literal["kind", "domain", "all"]:
    """Group by kind when any judgment has one, else by domain, else everything together."""
    if any(j.kind for j in judgments):
        return "kind"
    if any(j.domain for j in judgments):
        return "domain"
    return "all"


def _spread(judgments: Sequence[Judgment]) -> float | None:
    """Mean within-item SD for scores; mean minority share for choices and labels."""
    votes = [v for v in item_votes(judgments).values() if len(v) >= 2]
    if not votes:
        return None
    if isinstance(judgments[0], PointwiseJudgment) and judgments[0].score is not None:
        return float(np.mean([np.std([float(x) for _, x in v]) for v in votes]))
    shares = []
    for v in votes:
        values = [x for _, x in v]
        m = _majority(values)
        shares.append(1.0 - (values.count(m) / len(values) if m is not None else 0.5))
    return float(np.mean(shares))


def wilson_upper(successes: int, n: int, level: float = 0.95) -> float:
    """Upper end of the Wilson interval for a proportion (1 when there are no items)."""
    if n == 0:
        return 1.0
    from statsmodels.stats.proportion import proportion_confint  # heavy: loaded on first use

    return min(1.0, float(proportion_confint(successes, n, alpha=1 - level, method="wilson")[1]))


def _route(disagreement: float | None, gold_accuracy: float | None, n_multi: int) -> tuple[Route, str]:
    """Tighten review on the point estimate; loosen it only when the 95% upper bound allows."""
    if disagreement is None or n_multi < MIN_GROUP_ITEMS:
        return "several_raters", f"only {n_multi} items with 2+ raters: too few to loosen review"
    upper = wilson_upper(round(disagreement * n_multi), n_multi)
    if gold_accuracy is not None and gold_accuracy < GOLD_MIN:
        return "expert", f"the raters' majority matches gold on {gold_accuracy:.0%} (< {GOLD_MIN:.0%})"
    if disagreement > SEVERAL_MAX:
        return "expert", f"raters disagree on {disagreement:.0%} of items (> {SEVERAL_MAX:.0%})"
    if upper > SINGLE_MAX:
        return "several_raters", (
            f"raters disagree on {disagreement:.0%} of {n_multi} items (95% upper bound {upper:.0%} > {SINGLE_MAX:.0%})"
        )
    if upper <= AUTOMATE_MAX and gold_accuracy is not None:
        return (
            "automate",
            f"raters disagree on {disagreement:.0%} (upper bound {upper:.0%}); "
            f"majority matches gold {gold_accuracy:.0%}",
        )
    return "single_rater", f"raters disagree on {disagreement:.0%} of {n_multi} items (95% upper bound {upper:.0%})"


def ceilings(judgments: Sequence[Judgment]) -> list[Ceiling]:
    """One Ceiling per kind (or domain) with its disagreement, spread and routing."""
    if not judgments:
        return []
    field = group_field(judgments)
    groups: dict[str, list[Judgment]] = defaultdict(list)
    for j in judgments:
        key = "all" if field == "all" else (getattr(j, field) or "(none)")
        groups[key].append(j)
    out = []
    for name, members in sorted(groups.items()):
        votes = item_votes(members)
        multi = {k: v for k, v in votes.items() if len(v) >= 2}
        disagreement = sum(1 for v in multi.values() if len({x for _, x in v}) > 1) / len(multi) if multi else None
        gold = _gold_of(members)
        checked = [(_majority([x for _, x in votes[i] if x != "tie"]), g) for i, g in gold.items() if i in votes]
        checked = [(m, g) for m, g in checked if m is not None]
        gold_accuracy = sum(1 for m, g in checked if m == g) / len(checked) if checked else None
        alpha, _, _ = krippendorff_alpha(members)
        route, reason = _route(disagreement, gold_accuracy, len(multi))
        out.append(
            Ceiling(
                group=name,
                n_items=len(votes),
                n_multi=len(multi),
                disagreement_rate=disagreement,
                alpha=alpha,
                spread=_spread(members),
                gold_accuracy=gold_accuracy,
                route=route,
                raters=_RATERS[route],
                reason=reason,
            )
        )
    return out


def routing_rule(judgments: Sequence[Judgment], found: Sequence[Ceiling] | None = None) -> RoutingRule:
    """A routing rule for the refine queue: one rule per kind or domain, cautious default."""
    found = list(found) if found is not None else ceilings(judgments)
    field = group_field(judgments) if judgments else "all"
    if field == "all" and found:
        c = found[0]
        default = GroupRoute(field="all", value=None, route=c.route, raters=c.raters, reason=c.reason)
        return RoutingRule(rules=[], default=default)
    rules = [
        GroupRoute(field=field, value=c.group, route=c.route, raters=c.raters, reason=c.reason)
        for c in found
        if c.group != "(none)"
    ]
    default = GroupRoute(field="all", value=None, route="several_raters", raters=3, reason="no audit data for this kind")
    return RoutingRule(rules=rules, default=default)
