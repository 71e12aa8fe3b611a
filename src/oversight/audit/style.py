"""Style-bias audit: a Bradley-Terry / logistic model of the choice on style differences.

In the manner of Chatbot Arena's style control: each decisive pairwise judgment is one
row, ``y = 1`` when A was chosen, and each feature is the normalised difference
``(a - b) / (a + b)`` scaled by its root-mean-square (the SD of the symmetrised design,
so a zero difference stays zero and the sign stays meaningful). The intercept absorbs
any preference for the A slot. A coefficient is log-odds per 1 SD; its practical size is
the change it makes to a 50% win probability, ``expit(coef) - 0.5``.

Features that move together across the judged pairs (headers, lists and bold often do) are
fitted as one combined factor, e.g. ``"markdown: headers+lists+bold"``: the data cannot say
which member drives the choice, only that the bundle does (see ``collinear_groups``). A
feature that is nearly always larger on the same side (A or B) cannot be told apart from a
preference for that slot and is not fitted.

The fit is ordinary maximum likelihood, unless the choices are (quasi-)separated, i.e. some
combination of the terms predicts every choice (a linear-programming test, after Konis 2007),
so that no finite estimate exists: then a Firth-penalised fit with profile-likelihood
intervals and p-values (Heinze & Schemper 2002) is used instead; ``StyleModel.fit`` says which.

A term is *flagged* only when its Holm-adjusted p-value (over the fitted style terms) is below
``alpha`` AND the effect is at least ``min_effect`` (5 points by default), and only with
``min_items`` decisive judgments or more: below that the model reports ``too_few`` and flags
nothing. A strong raw pattern ("more of it wins" on >= 75% or <= 25% of >= ``min_items``
pairs) that is not flagged is still reported, with the reason, in ``raw_findings``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from oversight.audit.features import StyleDesign, style_design, style_terms
from oversight.schemas import (
    FEATURES,
    FeatureEffect,
    PairwiseJudgment,
    PositionBias,
    RawFinding,
    StyleModel,
    WinRate,
)

__all__ = [
    "ALPHA",
    "MIN_EFFECT",
    "MIN_ITEMS",
    "MIN_VARYING",
    "STRONG_RAW",
    "StyleDesign",
    "fit_logistic",
    "fit_style",
    "position_bias",
    "style_design",
    "win_rates",
]

ALPHA = 0.05
MIN_EFFECT = 0.05
MIN_ITEMS = 50
MIN_VARYING = 10  # a feature that differs on fewer pairs than this is not estimated
STRONG_RAW = 0.75  # "more of it wins" this often (or this rarely) is never left unreported
MAX_SE = 10.0  # log-odds per SD: a standard error this large means the maximum-likelihood fit broke down


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm step-down adjusted p-values (family-wise error control), by name."""
    if not pvalues:
        return {}
    from statsmodels.stats.multitest import multipletests

    adjusted = multipletests(list(pvalues.values()), method="holm")[1]
    return {name: float(p) for name, p in zip(pvalues, adjusted, strict=True)}


class _Fit(NamedTuple):
    params: np.ndarray
    ci: np.ndarray  # (k, 2)
    pvalues: np.ndarray
    kind: Literal["mle", "penalised"]


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
            return None, "the maximum-likelihood fit did not converge"
    if not np.all(np.isfinite(result.bse)) or np.max(result.bse) > MAX_SE:
        return None, "standard errors are not finite or huge"
    return result, ""


def _separated(y: np.ndarray, x: np.ndarray) -> bool:
    """True if some direction b != 0 has (2y-1) * x @ b >= 0 on every row (quasi-)complete separation.

    Konis's linear program: maximise the summed margin within a box; it is 0 unless separated.
    """
    from scipy.optimize import linprog

    signed = (2.0 * y - 1.0)[:, None] * x
    res = linprog(
        -signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(len(y)), bounds=[(-1.0, 1.0)] * x.shape[1], method="highs"
    )
    return bool(res.status == 0 and -res.fun > 1e-6 * max(1.0, math.sqrt(len(y))))


def _penalised_loglik(y: np.ndarray, x: np.ndarray, beta: np.ndarray) -> float:
    from scipy.special import expit

    eta = x @ beta
    p = expit(eta)
    sign, logdet = np.linalg.slogdet(x.T @ ((p * (1 - p))[:, None] * x))
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    return loglik + 0.5 * logdet if sign > 0 else -math.inf


def _firth(
    y: np.ndarray, x: np.ndarray, *, fixed: int | None = None, value: float = 0.0, start: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Firth's penalised maximum likelihood (optionally with one coefficient held at ``value``).

    Newton steps on the modified score ``X'(y - p + h(1/2 - p))``, with step halving on the
    penalised log-likelihood. Returns (coefficients, penalised log-likelihood).
    """
    from scipy.special import expit

    beta = np.zeros(x.shape[1]) if start is None else start.astype(float).copy()
    free = np.ones(x.shape[1], dtype=bool)
    if fixed is not None:
        free[fixed], beta[fixed] = False, value
    loglik = _penalised_loglik(y, x, beta)
    for _ in range(100):
        p = expit(x @ beta)
        w = p * (1 - p)
        info = x.T @ (w[:, None] * x)
        hat = w * np.einsum("ij,jk,ik->i", x, np.linalg.inv(info), x)
        score = x.T @ (y - p + hat * (0.5 - p))
        step = np.zeros_like(beta)
        step[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
        step *= min(1.0, 5.0 / max(float(np.max(np.abs(step))), 1e-12))  # at most 5 log-odds a step
        for _ in range(30):  # halve until the penalised likelihood does not fall
            trial = _penalised_loglik(y, x, beta + step)
            if trial >= loglik - 1e-10:
                break
            step /= 2
        beta, loglik = beta + step, trial
        if np.max(np.abs(step)) < 1e-8 and np.max(np.abs(score[free])) < 1e-6:
            break
    return beta, loglik


def _fit_firth(y: np.ndarray, x: np.ndarray, alpha: float) -> _Fit:
    """Firth fit with profile penalised-likelihood intervals and likelihood-ratio p-values."""
    from scipy.optimize import brentq
    from scipy.special import expit
    from scipy.stats import chi2

    beta, top = _firth(y, x)
    if not math.isfinite(top):
        raise ValueError("the penalised likelihood is not finite")
    cut = chi2.ppf(1 - alpha, 1) / 2
    p = expit(x @ beta)
    se = np.sqrt(np.diag(np.linalg.inv(x.T @ ((p * (1 - p))[:, None] * x))))
    ci, pvalues = np.zeros((len(beta), 2)), np.zeros(len(beta))
    for j in range(len(beta)):

        def drop(b: float, j: int = j) -> float:
            try:
                return top - _firth(y, x, fixed=j, value=b, start=beta)[1] - cut
            except np.linalg.LinAlgError:  # so far out that the information matrix is singular
                return math.inf

        for side, sign in ((0, -1.0), (1, 1.0)):  # step out until the profile has dropped by the cut, then solve
            step = max(float(se[j]), 0.1)
            outside = drop(beta[j] + sign * step) >= 0
            while not outside and step < 1e4:
                step *= 2
                outside = drop(beta[j] + sign * step) >= 0
            far = beta[j] + sign * step
            # not crossed 10^4 log-odds out: report that bound (effectively unbounded, but valid JSON)
            ci[j, side] = brentq(drop, *sorted((beta[j], far)), xtol=1e-4) if outside else far
        pvalues[j] = float(chi2.sf(2 * max(0.0, top - _firth(y, x, fixed=j, value=0.0, start=beta)[1]), 1))
    return _Fit(beta, ci, pvalues, "penalised")


def _fit(y: np.ndarray, x: np.ndarray, groups: np.ndarray | None, alpha: float) -> tuple[_Fit | None, str]:
    """Maximum likelihood, or Firth when the data are separated or the ML fit breaks down; (fit, note)."""
    if _separated(y, x):
        why = "the choices are (quasi-)separated: a combination of the terms predicts every choice"
    else:
        result, problem = _fit_logit(y, x, groups)
        if result is not None:
            ci = np.asarray(result.conf_int(alpha))
            return _Fit(np.asarray(result.params), ci, np.asarray(result.pvalues), "mle"), ""
        why = problem
    try:
        fit = _fit_firth(y, x, alpha)
    except (np.linalg.LinAlgError, ValueError) as exc:
        return None, f"{why}; the penalised fit failed too ({type(exc).__name__})"
    tail = "; intervals ignore repeated comparisons" if groups is not None else ""
    return fit, f"{why}, so a Firth-penalised fit with profile-likelihood intervals is used{tail}."


def fit_logistic(y: np.ndarray, x: np.ndarray, *, alpha: float = ALPHA) -> tuple[_Fit | None, str]:
    """The style model's fit on any design whose first column is the intercept: maximum likelihood, or
    Firth's penalised fit with profile-likelihood intervals when the outcome is separated; (fit or None
    when neither works, a note saying which was used and why). A trainer's profile fits their own
    accept-or-change decisions with it (oversight.review.profiles)."""
    return _fit(y, x, None, alpha)


def _cluster_groups(judgments: Sequence[PairwiseJudgment]) -> np.ndarray | None:
    """Cluster by comparison id when comparisons repeat (several raters or orders)."""
    ids = [j.id for j in judgments]
    unique = {k: i for i, k in enumerate(dict.fromkeys(ids))}
    if len(unique) == len(ids) or len(unique) < 20:
        return None
    return np.array([unique[k] for k in ids])


def _raw(direction: np.ndarray, y: np.ndarray) -> tuple[int, float | None]:
    """(pairs where it differs, share of those won by the side with more of it)."""
    more = direction != 0
    wins = int(np.sum((direction > 0) & (y == 1)) + np.sum((direction < 0) & (y == 0)))
    return int(more.sum()), (wins / int(more.sum()) if more.any() else None)


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
    terms, scaled, confounded = style_terms(design.diff, raw_diff, min_varying=MIN_VARYING)
    effects: dict[str, FeatureEffect] = {}
    for k, name in enumerate(FEATURES):
        raw_n, rate = _raw(raw_diff[:, k], y)
        effect = FeatureEffect(feature=name, n_varying=raw_n, raw_n=raw_n, raw_win_rate=rate)
        if raw_n == 0:
            effect.status = "no_variation"
        elif raw_n < MIN_VARYING:
            effect.status = "too_few"
        else:
            effect.sd = float(np.sqrt(np.mean(design.diff[:, k] ** 2)))
            if name in confounded:
                effect.status, effect.note = "unstable", confounded[name]
        effects[name] = effect
    factors: dict[str, FeatureEffect] = {}
    for term in terms:
        if len(term.group.members) > 1:
            name = term.group.name
            raw_n, rate = _raw(term.column, y)
            r = np.abs(np.corrcoef(np.column_stack([scaled[m] for m in term.group.members]), rowvar=False))
            factors[name] = FeatureEffect(
                feature=name,
                members=term.group.member_labels,
                n_varying=raw_n,
                raw_n=raw_n,
                raw_win_rate=rate,
                note=f"these features moved together (|r| >= {r.min():.2f} between members): one factor, "
                "their standardised sum",
            )
            for member in term.group.members:
                effects[member].status, effects[member].combined_into = "combined", name
                effects[member].note = f"estimated with {name}"
    columns: list[np.ndarray] = [np.ones(len(rows)), *(t.column for t in terms)]
    names: list[str] = ["const", *(t.group.name for t in terms)]
    shown = [j.shown_first for j in rows]
    if len({s for s in shown if s is not None}) == 2:
        columns.append(np.array([1.0 if s == "a" else -1.0 if s == "b" else 0.0 for s in shown]))
        names.append("first")
    if with_gold:
        columns.append(np.array([1.0 if j.gold == "a" else -1.0 for j in rows]))
        names.append("gold")
    model = StyleModel(n=len(rows), n_ties=n_ties, features=effects, factors=factors)
    fitted_terms = {**effects, **factors}
    if len(rows) < max(min_items, 2 * len(names) + 10):
        model.status = "too_few"
        model.note = f"{len(rows)} decisive judgments; at least {min_items} are needed to conclude"
        for effect in fitted_terms.values():
            if effect.status == "ok":
                effect.status = "too_few"
        model.raw_findings = _raw_findings(model, min_items)
        return model
    groups = _cluster_groups(rows)
    model.n_clusters = len(set(groups.tolist())) if groups is not None else len(rows)
    fit, note = _fit(y, np.column_stack(columns), groups, alpha)
    if fit is None:
        model.status, model.note = "unstable", note
        for name in names[1:]:
            if name in fitted_terms:
                fitted_terms[name].status = "unstable"
        model.raw_findings = _raw_findings(model, min_items)
        return model
    model.fit = fit.kind
    adjusted = _holm({n: float(fit.pvalues[i]) for i, n in enumerate(names) if n in fitted_terms})
    for i, column in enumerate(names):
        interval = (float(fit.ci[i, 0]), float(fit.ci[i, 1]))
        if column == "const":
            model.intercept, model.intercept_ci = float(fit.params[i]), interval
        elif column == "gold":
            model.gold_coef, model.gold_ci = float(fit.params[i]), interval
        elif column in fitted_terms:
            e = fitted_terms[column]
            e.coef, e.ci, e.p, e.p_adjusted = float(fit.params[i]), interval, float(fit.pvalues[i]), adjusted[column]
            e.effect = _expit(e.coef) - 0.5
            e.effect_ci = (_expit(e.ci[0]) - 0.5, _expit(e.ci[1]) - 0.5)
            e.flagged = e.p_adjusted < alpha and abs(e.effect) >= min_effect
    notes = [note] if note else []
    if groups is not None and fit.kind == "mle":
        notes.append(f"Standard errors clustered by comparison id ({model.n_clusters} clusters).")
    model.note = " ".join(notes)
    model.raw_findings = _raw_findings(model, min_items, with_gold=with_gold)
    return model


def _raw_findings(model: StyleModel, min_items: int, *, with_gold: bool = False) -> list[RawFinding]:
    """Terms whose raw "more of it wins" rate is strong on enough pairs, yet not flagged: say why."""
    out = []
    for name, e in {**model.features, **model.factors}.items():
        rate = e.raw_win_rate
        if e.flagged or e.status == "combined" or rate is None or e.raw_n < min_items:
            continue
        if STRONG_RAW > rate > 1 - STRONG_RAW:
            continue
        if e.effect is not None and e.effect_ci is not None:
            held = "gold (correctness) and the other terms" if with_gold else "the other terms"
            reason = (
                f"holding {held} equal, its own effect is {e.effect * 100:+.0f} points "
                f"(95% CI {e.effect_ci[0] * 100:+.0f} to {e.effect_ci[1] * 100:+.0f}, Holm p={e.p_adjusted:.2g}): "
                "not enough to flag, so the raw pattern goes with them"
            )
        else:
            reason = f"not estimable: {e.note or model.note or e.status}"
        out.append(RawFinding(feature=name, raw_win_rate=rate, raw_n=e.raw_n, reason=reason))
    return out


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
    design = style_design(rows)
    terms = style_terms(design.diff, design.raw_a - design.raw_b, min_varying=MIN_VARYING)[
        0
    ]  # collinear features as one factor
    scaled = np.column_stack([t.column for t in terms]) if terms else np.zeros((len(rows), 0))
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
