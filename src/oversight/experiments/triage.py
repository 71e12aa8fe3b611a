"""Review triage: which items need a human, for a given review budget?

A lead can pay for a human look at a fraction of the items (10%, 25%, half). Triage puts the
items most likely to be wrong first, using signals the data already has, and measures the
ranking by *failure recall*: the share of all known errors that fall inside the reviewed
fraction, beside a reviewer who picks items at random (whose expected recall equals the budget).

Signals, each on 0..1 (1 = look at this first):

- ``self_disagreement``: an LLM judge that picks differently when the two answers are shown in
  the other order is guessing on that pair. On LLMBar, the 10% of pairs where GPT-4 disagrees
  with itself hold 45% of its errors.
- ``picked_longer``: how far the judge's pick is the longer answer (log length ratio, full at
  ``LONGER_SATURATION`` times as long, 0 when it picked the shorter one). Judges are known to
  prefer the longer answer beyond its merit, so a win by length alone is suspect.
- ``model_disagreement``: the share of other raters of the same pair who chose differently.
- ``critic_severity`` / ``critic_findings``: what the AI critic model found in a draft (the worst
  severity shown; the number of findings, capped).
- ``checks``: what the checks that need no model found (``oversight.refine.checks``: statements
  the task's context does not support, instructions not followed, accepted eval checks failed):
  their severities summed, ``CHECK_HALF`` giving 0.5. On FineGrainedRLHF dev this ranks answers
  with factual errors far better than the embedded critic (bench/bench_checks_triage.py).
- ``route``: the audit's routing rule for the item's kind or domain (experts or several raters
  wanted: 1; one rater: 0.5; automate: 0).

An item's score is the weighted sum of its signals (a missing signal counts 0). The default
weights are stated before any result is seen and are never fitted on the gold labels that
``recall_at`` then reports, so the recall is an honest estimate, not an in-sample fit.
Ties are broken by a hash of the id: the same items rank the same in any input order, and the
ground truth never leaks into the order.

Error pairs are counted per pair: a judge that is wrong in either order made an error there.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from oversight.audit.features import style_features
from oversight.intervene.stats import wilson
from oversight.schemas import Critique, PairwiseJudgment, RoutingRule

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = [
    "BUDGETS",
    "CHECK_HALF",
    "CRITIC_WEIGHTS",
    "FINDINGS_CAP",
    "JUDGE_WEIGHTS",
    "LONGER_SATURATION",
    "ROUTE_SCORE",
    "SEVERITY_SCORE",
    "TriageItem",
    "budget_for",
    "critique_signals",
    "draft_items",
    "judge_items",
    "rank",
    "recall_at",
    "recall_curve",
    "reviewed_count",
    "route_signal",
    "score",
]

BUDGETS: tuple[float, ...] = (0.1, 0.25, 0.5)
# A pick twice as long as the other answer (or more) is as suspect as it gets; shorter: not at all.
LONGER_SATURATION = 2.0
SEVERITY_SCORE: dict[str, float] = {"low": 1 / 3, "medium": 2 / 3, "high": 1.0}
# Beyond three findings a critic mostly repeats itself; more does not mean worse.
FINDINGS_CAP = 3
# Check findings' severities summed: two medium ones or one high and a low give 0.5, more approach 1
# without a cap (each unsupported statement is evidence of its own, and a cap would tie the worst drafts).
CHECK_HALF = 4 / 3
ROUTE_SCORE: dict[str, float] = {"expert": 1.0, "several_raters": 1.0, "single_rater": 0.5, "automate": 0.0}
_UNKNOWN_ROUTE = 0.5  # no rule for this kind: neither trusted nor flagged

# Chosen a priori. A judge that contradicts itself is direct evidence it cannot tell the pair
# apart, so it dominates; a length-won pick is only circumstantial evidence (the longer answer is
# often the better one), so it orders items within and after the self-disagreeing ones. Other
# raters disagreeing is evidence of the same kind as the judge's own inconsistency, but weaker
# (they may be the ones who are wrong).
JUDGE_WEIGHTS: dict[str, float] = {"self_disagreement": 1.0, "picked_longer": 0.5, "model_disagreement": 0.5}
# A high-severity finding is the critic saying "this is wrong"; the count breaks ties among
# drafts with the same worst finding; the route adds the audit's prior for the task's kind. The
# checks weigh as much as the critic's worst finding: measured, they rank factual errors better
# than the embedded critic (fixed before bench_checks_triage's figures, not fitted on them).
CRITIC_WEIGHTS: dict[str, float] = {"critic_severity": 1.0, "critic_findings": 0.5, "checks": 1.0, "route": 0.25}


@dataclass(frozen=True)
class TriageItem:
    """One item that could go to a human: its signals (0..1) and, when known, whether it is an error."""

    id: str
    signals: dict[str, float]
    error: bool | None = None


def _words(text: str) -> float:
    return style_features(text)["length"]


def _picked_longer(row: PairwiseJudgment) -> float:
    """How far the pick is the longer response: 0 (shorter, same, or a tie) .. 1 (LONGER_SATURATION x)."""
    if row.choice == "tie":
        return 0.0
    a, b = _words(row.response_a), _words(row.response_b)
    picked, other = (a, b) if row.choice == "a" else (b, a)
    ratio = math.log((picked + 1) / (other + 1)) / math.log(LONGER_SATURATION)
    return min(1.0, max(0.0, ratio))


def _disagreement(mine: Sequence[str], theirs: Sequence[str]) -> float:
    """Share of (my verdict, their verdict) combinations that differ."""
    return sum(m != t for m in mine for t in theirs) / (len(mine) * len(theirs))


def judge_items(judgments: Sequence[PairwiseJudgment], *, judge: str | None = None) -> list[TriageItem]:
    """One TriageItem per pair ``judge`` rated, in first-seen order, with judge signals and pair-level error.

    ``self_disagreement`` is 1 when the judge's verdicts on the pair differ (over the orders it
    saw; a pair judged once gets 0). ``picked_longer`` is the mean over its verdicts.
    ``model_disagreement`` appears when other annotators rated the pair: the mean over them of
    the share of verdict combinations that differ. ``error`` is True when gold is known and any
    of the judge's verdicts is not gold (a tie is not gold), None without gold.

    Raises ValueError when there are no judgments, ``judge`` is missing and several annotators
    rated, ``judge`` rated nothing, or one pair's rows give different gold labels.
    """
    if not judgments:
        raise ValueError("no judgments to triage")
    annotators = sorted({j.annotator for j in judgments})
    if judge is None:
        if len(annotators) > 1:
            raise ValueError(f"several annotators ({', '.join(annotators)}): name the judge to triage")
        judge = annotators[0]
    if judge not in annotators:
        raise ValueError(f"judge {judge!r} rated nothing; annotators: {', '.join(annotators)}")
    by_pair: dict[str, dict[str, list[PairwiseJudgment]]] = defaultdict(lambda: defaultdict(list))
    for j in judgments:
        by_pair[j.id][j.annotator].append(j)
    items = []
    for pair_id, raters in by_pair.items():
        rows = raters.get(judge)
        if not rows:
            continue
        choices = [r.choice for r in rows]
        signals = {
            "self_disagreement": float(len(set(choices)) > 1),
            "picked_longer": float(np.mean([_picked_longer(r) for r in rows])),
        }
        others = [[r.choice for r in rs] for name, rs in raters.items() if name != judge]
        if others:
            signals["model_disagreement"] = float(np.mean([_disagreement(choices, o) for o in others]))
        golds = {r.gold for r in rows if r.gold is not None}
        if len(golds) > 1:
            raise ValueError(f"pair {pair_id!r} has conflicting gold labels {sorted(golds)}")
        error = None if not golds else any(c != next(iter(golds)) for c in choices)
        items.append(TriageItem(id=pair_id, signals=signals, error=error))
    return items


def critique_signals(critique: Critique | None) -> dict[str, float]:
    """``critic_severity`` (the model's worst shown finding: low 1/3, medium 2/3, high 1; none 0),
    ``critic_findings`` (the model's shown findings, capped at FINDINGS_CAP, over FINDINGS_CAP) and
    ``checks`` (the check findings' severities summed, s, as 1 - 2 ** (-s / CHECK_HALF)).

    Only the findings the trainer is shown count: dropped ones failed the grounding check.
    No critique counts as nothing found.
    """
    findings = critique.findings if critique is not None else []
    model = [f for f in findings if f.source == "model"]
    checked = sum(SEVERITY_SCORE[f.severity] for f in findings if f.source != "model")
    severity = max((SEVERITY_SCORE[f.severity] for f in model), default=0.0)
    return {"critic_severity": severity, "critic_findings": min(len(model), FINDINGS_CAP) / FINDINGS_CAP,
            "checks": 1 - 2 ** (-checked / CHECK_HALF)}


def route_signal(rule: RoutingRule | None, kind: str | None = None, domain: str | None = None) -> float:
    """The audit's routing for this kind/domain as a signal: experts or several raters 1, one rater 0.5,
    automate 0; no rule (or a route this table does not know) 0.5."""
    if rule is None:
        return _UNKNOWN_ROUTE
    return ROUTE_SCORE.get(rule.route_for(kind, domain).route, _UNKNOWN_ROUTE)


def draft_items(store: Store, *, which: Literal["refined", "queued"]) -> list[TriageItem]:
    """The store's drafts as triage items (blocking reads): the critic's signals and the route.

    ``queued``: the items awaiting review, truth unknown (what to look at first). ``refined``: the
    drafts trainers have answered, ``error`` True when they changed or rejected it (an edit,
    rewrite or reject; a skip is no answer): how well the signals would have ranked past work.
    """

    rule = store.routing_rule()
    states = store.task_states("awaiting_review" if which == "queued" else "refined")
    tasks = {t.id: t for t in store.tasks([s.task_id for s in states])}
    critiques = store.critiques({s["critique_id"] for s in states if s["critique_id"]})
    answered: dict[str, bool] = {}
    if which == "refined":
        for r in store.refinements_of_tasks([s.task_id for s in states]):
            if r.decision != "skip":
                answered.setdefault(r.task_id, r.decision != "accept")  # the first answer counts
    items = []
    for state in states:
        if which == "refined" and state.task_id not in answered:
            continue
        task = tasks.get(state.task_id)
        signals = critique_signals(critiques.get(state["critique_id"] or ""))
        signals["route"] = route_signal(rule, task.kind if task else None, task.domain if task else None)
        items.append(TriageItem(id=state.task_id, signals=signals, error=answered.get(state.task_id)))
    return items


def score(item: TriageItem, weights: Mapping[str, float]) -> float:
    """The weighted sum of the item's signals (a signal the item lacks counts 0)."""
    return float(sum(w * item.signals.get(name, 0.0) for name, w in weights.items()))


def _tie_key(item_id: str) -> str:
    return hashlib.sha256(item_id.encode("utf-8")).hexdigest()


def rank(items: Iterable[TriageItem], weights: Mapping[str, float]) -> list[TriageItem]:
    """Items by score, highest first; equal scores in the order of a hash of their id.

    Raises ValueError on no items, duplicate ids, no weights, or weights naming no signal any item has.
    """
    items = list(items)
    if not items:
        raise ValueError("no items to rank")
    if not weights:
        raise ValueError("no weights: name at least one signal")
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"duplicate item ids: {', '.join(dupes)}")
    present = {name for i in items for name in i.signals}
    if not present & set(weights):
        raise ValueError(f"no item has any weighted signal ({', '.join(sorted(weights))}); "
                         f"signals present: {', '.join(sorted(present)) or 'none'}")
    return sorted(items, key=lambda i: (-score(i, weights), _tie_key(i.id)))


def _outcomes(ranked: Sequence[TriageItem]) -> np.ndarray:
    """The ranked items' errors as booleans; ValueError without items, with unknown truth, or no errors."""
    if not ranked:
        raise ValueError("no items to measure")
    unknown = sum(i.error is None for i in ranked)
    if unknown:
        raise ValueError(f"recall needs the truth on every item: {unknown} of {len(ranked)} have error=None "
                         "(leave them out before measuring)")
    errors = np.array([bool(i.error) for i in ranked])
    if not errors.any():
        raise ValueError(f"no known errors among {len(ranked)} items: recall is undefined")
    return errors


def reviewed_count(budget: float, n: int) -> int:
    """ceil(budget * n), without 0.1 * 100 = 10.000000000000002 becoming 11."""
    if not 0 < budget <= 1:
        raise ValueError(f"budgets are fractions in (0, 1], got {budget}")
    return min(n, math.ceil(round(budget * n, 9)))


def recall_at(
    ranked: Sequence[TriageItem],
    budgets: Sequence[float] = BUDGETS,
    *,
    seed: int = 0,
    random_runs: int = 2000,
    level: float = 0.95,
) -> pd.DataFrame:
    """Failure recall of reviewing the first ``ceil(budget * n)`` ranked items, beside random review.

    One row per budget: ``budget, n, reviewed, errors, caught, recall, recall_low, recall_high``
    (Wilson interval over the errors), ``random_recall`` (the exact expectation of a random order,
    reviewed / n), ``random_low, random_high`` (the 2.5/97.5 percentiles of ``random_runs`` seeded
    random orders: the caught count of a random order is hypergeometric) and ``lift``
    (recall / random_recall).

    Raises ValueError with no items, unknown truth, no errors, a budget outside (0, 1], or no random runs.
    """
    errors = _outcomes(ranked)
    if not budgets:
        raise ValueError("no budgets given")
    if random_runs < 1:
        raise ValueError(f"random_runs must be at least 1, got {random_runs}")
    n, total = len(errors), int(errors.sum())
    caught_by_rank = np.cumsum(errors)
    rng = np.random.default_rng(seed)
    tail = (1 - level) / 2 * 100
    rows = []
    for budget in budgets:
        k = reviewed_count(budget, n)
        caught = int(caught_by_rank[k - 1])
        ci = wilson(caught, total, level)
        random_caught = rng.hypergeometric(total, n - total, k, size=random_runs) / total
        expected = k / n
        rows.append({
            "budget": float(budget), "n": n, "reviewed": k, "errors": total, "caught": caught,
            "recall": ci.estimate, "recall_low": ci.low, "recall_high": ci.high,
            "random_recall": expected,
            "random_low": float(np.percentile(random_caught, tail)),
            "random_high": float(np.percentile(random_caught, 100 - tail)),
            "lift": ci.estimate / expected,
        })
    return pd.DataFrame(rows)


def recall_curve(ranked: Sequence[TriageItem], step: float = 0.05) -> pd.DataFrame:
    """Recall at every ``step`` of budget up to 1 (``budget, reviewed, caught, recall, random_recall``).

    Raises ValueError as ``recall_at`` does, and for a step outside (0, 1].
    """
    errors = _outcomes(ranked)
    if not 0 < step <= 1:
        raise ValueError(f"step must be in (0, 1], got {step}")
    n, total = len(errors), int(errors.sum())
    caught_by_rank = np.cumsum(errors)
    steps = math.ceil(round(1 / step, 9))
    rows = []
    for i in range(1, steps + 1):
        budget = min(1.0, round(i * step, 9))
        k = reviewed_count(budget, n)
        caught = int(caught_by_rank[k - 1])
        rows.append({"budget": budget, "reviewed": k, "caught": caught, "recall": caught / total,
                     "random_recall": k / n})
    return pd.DataFrame(rows)


def budget_for(ranked: Sequence[TriageItem], recall: float = 0.8) -> float:
    """The smallest fraction of items, reviewed in rank order, that catches ``recall`` of the errors.

    Raises ValueError as ``recall_at`` does, and for ``recall`` outside (0, 1].
    """
    errors = _outcomes(ranked)
    if not 0 < recall <= 1:
        raise ValueError(f"recall must be in (0, 1], got {recall}")
    needed = math.ceil(round(recall * errors.sum(), 9))
    k = int(np.searchsorted(np.cumsum(errors), needed)) + 1
    return k / len(errors)
