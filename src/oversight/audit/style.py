"""Style-bias audit: a Bradley-Terry / logistic model of the choice on style differences.

In the manner of Chatbot Arena's style control: each decisive pairwise judgment is one
row, ``y = 1`` when A was chosen, and each feature is the normalised difference
``(a - b) / (a + b)`` scaled by its root-mean-square (the SD of the symmetrised design,
so a zero difference stays zero and the sign stays meaningful). The intercept absorbs
any preference for the A slot. A coefficient is log-odds per 1 SD; its practical size is
the change it makes to a 50% win probability, ``expit(coef) - 0.5``.

A feature is *flagged* only when its Holm-adjusted p-value is below ``alpha`` AND the
effect is at least ``min_effect`` (5 points by default), and only with ``min_items``
decisive judgments or more: below that the model reports ``too_few`` and flags nothing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from oversight.audit.features import normalised_difference, style_features
from oversight.schemas import FEATURES, FeatureEffect, PairwiseJudgment, PositionBias, StyleModel, WinRate

__all__ = [
    "ALPHA",
    "MIN_EFFECT",
    "MIN_ITEMS",
    "MIN_VARYING",
    "StyleDesign",
    "fit_style",
    "position_bias",
    "style_design",
    "win_rates",
]

ALPHA = 0.05
MIN_EFFECT = 0.05
MIN_ITEMS = 50
MIN_VARYING = 10  # a feature that differs on fewer pairs than this is not estimated


@dataclass(frozen=True)
class StyleDesign:
    """Raw and normalised feature differences for a list of pairwise judgments."""

    raw_a: np.ndarray  # (n, features) raw counts of A
    raw_b: np.ndarray
    diff: np.ndarray  # (n, features) normalised differences a-b


def style_design(judgments: Sequence[PairwiseJudgment]) -> StyleDesign:
    """Feature counts and normalised differences, computing each distinct text once."""
    cache: dict[str, dict[str, float]] = {}

    def feats(text: str) -> dict[str, float]:
        if text not in cache:
            cache[text] = style_features(text)
        return cache[text]

    rows_a, rows_b, rows_d = [], [], []
    for j in judgments:
        fa, fb = feats(j.response_a), feats(j.response_b)
        nd = normalised_difference(fa, fb)
        rows_a.append([fa[f] for f in FEATURES])
        rows_b.append([fb[f] for f in FEATURES])
        rows_d.append([nd[f] for f in FEATURES])
    shape = (0, len(FEATURES))
    return StyleDesign(
        raw_a=np.array(rows_a, dtype=float).reshape(-1, len(FEATURES)) if rows_a else np.zeros(shape),
        raw_b=np.array(rows_b, dtype=float).reshape(-1, len(FEATURES)) if rows_b else np.zeros(shape),
        diff=np.array(rows_d, dtype=float).reshape(-1, len(FEATURES)) if rows_d else np.zeros(shape),
    )


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm step-down adjusted p-values (family-wise error control)."""
    order = sorted(pvalues, key=lambda k: pvalues[k])
    m = len(order)
    adjusted: dict[str, float] = {}
    running = 0.0
    for rank, name in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[name]))
        adjusted[name] = running
    return adjusted


def _fit_logit(y: np.ndarray, x: np.ndarray, groups: np.ndarray | None):
    """Fit a statsmodels Logit; return (result, problem) where problem names a failure."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError

    cov = {"cov_type": "cluster", "cov_kwds": {"groups": groups}} if groups is not None else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = sm.Logit(y, x).fit(disp=0, maxiter=200, **cov)
        except (PerfectSeparationError, np.linalg.LinAlgError) as exc:
            return None, f"the model could not be fitted ({type(exc).__name__})"
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning) or "separation" in str(warning.message).lower():
            return None, "the choices are (almost) perfectly separated; effects cannot be estimated"
    if not np.all(np.isfinite(result.bse)):
        return None, "standard errors are not finite"
    return result, ""


def _cluster_groups(judgments: Sequence[PairwiseJudgment]) -> np.ndarray | None:
    """Cluster by comparison id when comparisons repeat (several raters or orders)."""
    ids = [j.id for j in judgments]
    unique = {k: i for i, k in enumerate(dict.fromkeys(ids))}
    if len(unique) == len(ids) or len(unique) < 20:
        return None
    return np.array([unique[k] for k in ids])


def fit_style(
    judgments: Sequence[PairwiseJudgment],
    *,
    with_gold: bool = False,
    alpha: float = ALPHA,
    min_effect: float = MIN_EFFECT,
    min_items: int = MIN_ITEMS,
) -> StyleModel:
    """Fit choice ~ style (+ gold) on the decisive judgments; ties are counted, not fitted."""
    rows = [j for j in judgments if j.choice != "tie" and (j.gold is not None or not with_gold)]
    n_ties = sum(1 for j in judgments if j.choice == "tie")
    design = style_design(rows)
    y = np.array([1.0 if j.choice == "a" else 0.0 for j in rows])
    raw_diff = design.raw_a - design.raw_b
    effects: dict[str, FeatureEffect] = {}
    columns: list[np.ndarray] = [np.ones(len(rows))]
    names: list[str] = ["const"]
    for k, name in enumerate(FEATURES):
        varying = int(np.count_nonzero(raw_diff[:, k]))
        more = raw_diff[:, k] != 0
        wins = int(np.sum((raw_diff[:, k] > 0) & (y == 1)) + np.sum((raw_diff[:, k] < 0) & (y == 0)))
        effect = FeatureEffect(
            feature=name,
            n_varying=varying,
            raw_n=int(more.sum()),
            raw_win_rate=wins / int(more.sum()) if more.any() else None,
        )
        if varying == 0:
            effect.status = "no_variation"
        elif varying < MIN_VARYING:
            effect.status = "too_few"
        else:
            sd = float(np.sqrt(np.mean(design.diff[:, k] ** 2)))
            effect.sd = sd
            columns.append(design.diff[:, k] / sd)
            names.append(name)
        effects[name] = effect
    shown = [j.shown_first for j in rows]
    if len({s for s in shown if s is not None}) == 2:
        columns.append(np.array([1.0 if s == "a" else -1.0 if s == "b" else 0.0 for s in shown]))
        names.append("first")
    if with_gold:
        columns.append(np.array([1.0 if j.gold == "a" else -1.0 for j in rows]))
        names.append("gold")
    model = StyleModel(n=len(rows), n_ties=n_ties, features=effects)
    if len(rows) < max(min_items, 2 * len(names) + 10):
        model.status = "too_few"
        model.note = f"{len(rows)} decisive judgments; at least {min_items} are needed to conclude"
        for effect in effects.values():
            if effect.status == "ok":
                effect.status = "too_few"
        return model
    groups = _cluster_groups(rows)
    model.n_clusters = len(set(groups.tolist())) if groups is not None else len(rows)
    result, problem = _fit_logit(y, np.column_stack(columns), groups)
    if result is None:
        model.status, model.note = "unstable", problem
        for fitted_name in names[1:]:
            if fitted_name in effects:
                effects[fitted_name].status = "unstable"
        return model
    params, ci, pvals = np.asarray(result.params), np.asarray(result.conf_int(alpha)), np.asarray(result.pvalues)
    fitted = {name: i for i, name in enumerate(names)}
    adjusted = _holm({n: float(pvals[i]) for n, i in fitted.items() if n in effects})
    for column, i in fitted.items():
        if column == "const":
            model.intercept, model.intercept_ci = float(params[i]), (float(ci[i, 0]), float(ci[i, 1]))
        elif column == "gold":
            model.gold_coef, model.gold_ci = float(params[i]), (float(ci[i, 0]), float(ci[i, 1]))
        elif column in effects:
            e = effects[column]
            e.coef, e.ci, e.p = float(params[i]), (float(ci[i, 0]), float(ci[i, 1])), float(pvals[i])
            e.p_adjusted = adjusted[column]
            e.effect = _expit(e.coef) - 0.5
            e.effect_ci = (_expit(e.ci[0]) - 0.5, _expit(e.ci[1]) - 0.5)
            e.flagged = e.p_adjusted < alpha and abs(e.effect) >= min_effect
    if groups is not None:
        model.note = f"Standard errors clustered by comparison id ({model.n_clusters} clusters)."
    return model


def position_bias(judgments: Sequence[PairwiseJudgment]) -> PositionBias:
    """Share of decisive choices that went to the response shown first, and swap consistency."""
    from scipy.stats import binomtest

    decisive = [j for j in judgments if j.choice != "tie"]
    known = [j for j in decisive if j.shown_first is not None]
    assumed = not known
    pool = decisive if assumed else known
    first = sum(1 for j in pool if j.choice == (j.shown_first or "a"))
    out = PositionBias(n=len(pool), assumed_order=assumed)
    if pool:
        out.first_wins = first / len(pool)
        out.p = float(binomtest(first, len(pool), 0.5).pvalue)
    by_rater: dict[tuple[str, str], dict[str, str]] = {}
    for j in judgments:
        if j.shown_first is not None:
            by_rater.setdefault((j.id, j.annotator), {})[j.shown_first] = j.choice
    both = [orders for orders in by_rater.values() if len(orders) == 2]
    out.swapped_pairs = len(both)
    if both:
        out.consistency = sum(1 for o in both if o["a"] == o["b"]) / len(both)
    return out


def win_rates(judgments: Sequence[PairwiseJudgment]) -> list[WinRate]:
    """Per model (or condition): raw win rate, Bradley-Terry, and style-controlled BT."""
    rows = [j for j in judgments if j.choice != "tie" and j.model_a and j.model_b and j.model_a != j.model_b]
    models = sorted({m for j in rows for m in (j.model_a, j.model_b) if m})
    if len(models) < 2 or len(rows) < 2 * len(models) + 10:
        return []
    index = {m: i for i, m in enumerate(models)}
    players = np.zeros((len(rows), len(models)))
    for r, j in enumerate(rows):
        players[r, index[str(j.model_a)]] += 1.0
        players[r, index[str(j.model_b)]] -= 1.0
    y = np.array([1.0 if j.choice == "a" else 0.0 for j in rows])
    base = np.column_stack([np.ones(len(rows)), players[:, 1:]])  # first model is the reference
    diff = style_design(rows).diff
    keep = [k for k in range(diff.shape[1]) if np.count_nonzero(diff[:, k]) >= MIN_VARYING]
    scaled = diff[:, keep] / np.sqrt(np.mean(diff[:, keep] ** 2, axis=0)) if keep else np.zeros((len(rows), 0))
    plain, _ = _fit_logit(y, base, None)
    styled, _ = _fit_logit(y, np.column_stack([base, scaled]), None)
    if plain is None or styled is None:
        return []

    def strengths(result) -> np.ndarray:
        beta = np.concatenate([[0.0], np.asarray(result.params)[1 : len(models)]])
        return beta - beta.mean()

    plain_s, styled_s = strengths(plain), strengths(styled)
    out = []
    for m, i in index.items():
        played = [j for j in rows if m in (j.model_a, j.model_b)]
        won = sum(1 for j in played if (j.choice == "a") == (j.model_a == m))
        out.append(
            WinRate(
                model=m,
                n=len(played),
                raw=won / len(played),
                bt=_expit(float(plain_s[i])),
                controlled=_expit(float(styled_s[i])),
            )
        )
    return out
