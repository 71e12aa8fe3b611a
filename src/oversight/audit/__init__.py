"""Audits for measurement failure: style bias, position bias, agreement, blind spots, ceilings.

    from oversight.audit import read_judgments, audit_judgments
    result = audit_judgments(read_judgments("judgments.jsonl", {"choice": "label"}))
    result.features["length"].coef, result.alpha, result.blind_spots

Names resolve lazily, so ``import oversight.audit`` stays cheap (numpy, scipy and
statsmodels load when a statistic is first computed).
"""

from __future__ import annotations

from oversight._lazy import lazy_exports

_EXPORTS = {
    "records": (
        "FEATURES", "Choice", "Judgment", "PairwiseJudgment", "PointwiseJudgment", "FeatureEffect", "StyleModel",
        "WinRate", "PositionBias", "AnnotatorAgreement", "Agreement", "BlindSpot", "BlindSpotReport",
        "SharedFeature", "Ceiling", "GroupRoute", "RoutingRule", "JudgeComparison", "AuditResult", "RawFinding",
    ),
    # reading and keeping
    "io": ("read_judgments", "parse_mapping", "normalise_choice", "import_judgments", "judgments_from_refinements",
           "is_simulated"),
    # statistics
    "features": ("style_features", "normalised_difference"),
    "style": ("ALPHA", "MIN_EFFECT", "MIN_ITEMS", "fit_style", "position_bias", "win_rates"),
    "agreement_stats": ("agreement", "blind_spots", "krippendorff_alpha", "measurement_level"),
    "routing": ("ceilings", "routing_rule"),
    # the audit, the judge, the report
    "run": ("audit_judgments", "verdict"),
    "judge": ("judge_pairs", "compare_with_judge", "JudgeVerdict"),
    "report": ("render_audit_html", "render_audit_markdown"),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = __dir__()
