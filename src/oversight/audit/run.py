"""The audit itself: every check on one set of judgments, and a verdict a lead can act on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from oversight.audit.agreement_stats import agreement, blind_spots
from oversight.audit.io import is_simulated
from oversight.audit.routing import ceilings, routing_rule
from oversight.audit.style import ALPHA, MIN_EFFECT, MIN_ITEMS, fit_style, position_bias, win_rates
from oversight.schemas import AuditResult, FeatureEffect, Judgment, PairwiseJudgment, StyleModel

__all__ = ["audit_judgments", "raw_pattern_lines", "simulated_line", "verdict"]

MIN_ANNOTATOR_ITEMS = 100  # fit a per-annotator style model only with this many judgments
MAX_ANNOTATOR_MODELS = 20


def audit_judgments(
    judgments: Sequence[Judgment],
    *,
    source: str = "",
    alpha: float = ALPHA,
    min_effect: float = MIN_EFFECT,
    min_items: int = MIN_ITEMS,
    blind_spot_threshold: float = 0.8,
) -> AuditResult:
    """Run the style, position, agreement, blind-spot and ceiling audits. Raises ValueError if empty."""
    if not judgments:
        raise ValueError("no judgments to audit")
    pairwise = isinstance(judgments[0], PairwiseJudgment)
    if any(isinstance(j, PairwiseJudgment) != pairwise for j in judgments):
        raise ValueError("mix of pairwise and pointwise judgments: audit them separately")
    items = {j.id if isinstance(j, PairwiseJudgment) else j.item for j in judgments}
    found = ceilings(judgments)
    result = AuditResult(
        source=source,
        kind="pairwise" if pairwise else "pointwise",
        n_judgments=len(judgments),
        n_simulated=sum(1 for j in judgments if is_simulated(j)),
        n_items=len(items),
        annotators=sorted({j.annotator for j in judgments}),
        alpha_level=alpha,
        min_effect=min_effect,
        min_items=min_items,
        agreement=agreement(judgments),
        blind_spots=blind_spots(judgments, threshold=blind_spot_threshold),
        ceilings=found,
        routing=routing_rule(judgments, found),
    )
    if pairwise:
        pairs: list[PairwiseJudgment] = list(judgments)  # type: ignore[arg-type]
        options: dict[str, Any] = {"alpha": alpha, "min_effect": min_effect, "min_items": min_items}
        result.style = fit_style(pairs, **options)
        if any(j.gold for j in pairs):
            result.style_given_gold = fit_style(pairs, with_gold=True, **options)
        counts = Counter(j.annotator for j in pairs)
        if len(counts) > 1:
            for annotator, n in counts.most_common(MAX_ANNOTATOR_MODELS):
                if n >= MIN_ANNOTATOR_ITEMS:
                    mine = [j for j in pairs if j.annotator == annotator]
                    result.style_by_annotator[annotator] = fit_style(mine, **options)
        result.win_rates = win_rates(pairs)
        result.position = position_bias(pairs)
    result.verdict = verdict(result)
    return result


def _effect_text(name: str, e: FeatureEffect) -> str:
    lo, hi = e.effect_ci or (0.0, 0.0)
    way = "raises" if (e.effect or 0) > 0 else "lowers"
    together = " (these move together in the data, so they are estimated as one factor)" if e.members else ""
    return (
        f"{name}{together}: 1 SD more of it {way} the win probability by {abs(e.effect or 0) * 100:.0f} points "
        f"(95% CI {lo * 100:+.0f} to {hi * 100:+.0f}, Holm p={e.p_adjusted:.2g})"
    )


def _flagged(model: StyleModel) -> list[tuple[str, FeatureEffect]]:
    return [(n, e) for n, e in {**model.features, **model.factors}.items() if e.flagged]


def raw_pattern_lines(model: StyleModel) -> list[str]:
    """One line per strong raw pattern the model did not flag; features with the same rate, count and reason share one."""
    same: dict[tuple[float, int, str], list[str]] = {}
    for f in model.raw_findings:
        same.setdefault((f.raw_win_rate, f.raw_n, f.reason), []).append(f.feature)
    return [
        f"Strong raw pattern not flagged: the response with more {_and(names)} wins {rate:.0%} of "
        f"{n} decisive pairs; {reason}."
        for (rate, n, reason), names in same.items()
    ]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def verdict(result: AuditResult) -> list[str]:
    """A few short lines a lead can act on, the most important first."""
    lines: list[str] = []
    style = result.style
    if style is not None:
        penalised = " [penalised fit: the choices are separated]" if style.fit == "penalised" else ""
        if style.status == "too_few":
            lines.append(f"Style bias: too few items to conclude ({style.note}).")
        elif style.status == "unstable":
            lines.append(f"Style bias: not estimable ({style.note}).")
        else:
            flagged = _flagged(style)
            if flagged:
                if result.style_given_gold is None:
                    head, caveat = "Style bias found: ", " (no gold: this may be real quality, not bias)"
                else:
                    head, caveat = "Style predicts the choice (before accounting for gold): ", ""
                lines.append(head + "; ".join(_effect_text(n, e) for n, e in flagged) + caveat + penalised + ".")
            else:
                lines.append(
                    f"No style feature moves the choice by {result.min_effect * 100:.0f}+ points"
                    f" at p<{result.alpha_level}"
                    f" (Holm) over {style.n} decisive judgments{penalised}."
                )
        lines += raw_pattern_lines(style)
        gold = result.style_given_gold
        if gold is not None and gold.status == "ok":
            beyond = _flagged(gold)
            if beyond:
                lines.append(
                    "Beyond correctness (gold), style still predicts the choice: "
                    + ", ".join(n for n, _ in beyond)
                    + "."
                )
            else:
                lines.append("Given gold, no style feature predicts the choice beyond correctness.")
    pos = result.position
    if (
        pos is not None
        and pos.first_wins is not None
        and pos.p is not None
        and pos.p < result.alpha_level
        and abs(pos.first_wins - 0.5) >= result.min_effect  # the same practical bar as style
    ):
        order = " (A assumed shown first)" if pos.assumed_order else ""
        lines.append(f"Position bias: the first-shown response wins {pos.first_wins:.0%} of decisive choices{order}.")
    if pos is not None and pos.consistency is not None:
        lines.append(f"Same pick in both orders on {pos.consistency:.0%} of {pos.swapped_pairs} swapped comparisons.")
    ag = result.agreement
    if ag.alpha is not None:
        lines.append(
            f"Krippendorff's alpha ({ag.level}) = {ag.alpha:.2f} over {ag.n_items} items{_alpha_word(ag.alpha)}."
        )
    elif ag.note:
        lines.append(f"Agreement: {ag.note}.")
    spots = result.blind_spots
    if spots is not None and spots.items:
        shared = [f.feature for f in spots.features if f.shared]
        tail = f"; the wrongly chosen responses share more {', '.join(shared)}" if shared else ""
        lines.append(f"Shared blind spots: {len(spots.items)} items where raters agreed yet gold says wrong{tail}.")
    routes = Counter(c.route for c in result.ceilings)
    if routes:
        lines.append("Routing: " + ", ".join(f"{n} group(s) -> {r}" for r, n in routes.items()) + ".")
    if result.n_simulated:
        lines.append(simulated_line(result))
    return lines


def simulated_line(result: AuditResult) -> str:
    """What share of the judgments simulated reviewers gave (audited alike, named sim:...)."""
    return (f"{result.n_simulated} of {result.n_judgments} judgments came from simulated reviewers "
            "(annotators named sim:...); they are audited like the others.")


def _alpha_word(alpha: float) -> str:
    if alpha >= 0.8:
        return " (reliable)"
    if alpha >= 0.667:
        return " (tentative: Krippendorff's bar for tentative conclusions)"
    return " (below 0.667: do not trust single ratings)"
