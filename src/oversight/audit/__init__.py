"""Audits for measurement failure: style bias, position bias, agreement, blind spots, ceilings.

    from oversight.audit import read_judgments, audit_judgments
    result = audit_judgments(read_judgments("judgments.jsonl", {"choice": "label"}))
    result.features["length"].coef, result.alpha, result.blind_spots

Names resolve lazily, so ``import oversight.audit`` stays cheap (numpy, scipy and
statsmodels load when a statistic is first computed).
"""

from __future__ import annotations

from oversight._lazy import lazy_exports

_WHERE = {
    # records
    "FEATURES": "records",
    "Choice": "records",
    "Judgment": "records",
    "PairwiseJudgment": "records",
    "PointwiseJudgment": "records",
    "FeatureEffect": "records",
    "StyleModel": "records",
    "WinRate": "records",
    "PositionBias": "records",
    "AnnotatorAgreement": "records",
    "Agreement": "records",
    "BlindSpot": "records",
    "BlindSpotReport": "records",
    "SharedFeature": "records",
    "Ceiling": "records",
    "GroupRoute": "records",
    "RoutingRule": "records",
    "JudgeComparison": "records",
    "AuditResult": "records",
    "RawFinding": "records",
    # reading and keeping
    "read_judgments": "io",
    "parse_mapping": "io",
    "normalise_choice": "io",
    "import_judgments": "io",
    "judgments_from_refinements": "io",
    "is_simulated": "io",
    # statistics
    "style_features": "features",
    "normalised_difference": "features",
    "ALPHA": "style",
    "MIN_EFFECT": "style",
    "MIN_ITEMS": "style",
    "fit_style": "style",
    "position_bias": "style",
    "win_rates": "style",
    "agreement": "agreement_stats",
    "blind_spots": "agreement_stats",
    "krippendorff_alpha": "agreement_stats",
    "measurement_level": "agreement_stats",
    "ceilings": "routing",
    "routing_rule": "routing",
    # the audit, the judge, the report
    "audit_judgments": "run",
    "verdict": "run",
    "judge_pairs": "judge",
    "compare_with_judge": "judge",
    "JudgeVerdict": "judge",
    "render_audit_html": "report",
    "render_audit_markdown": "report",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
