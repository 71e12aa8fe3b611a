"""Judgments (what audits read) and the typed results audits return.

A judgment is a rating or a pairwise preference by a human or an LLM judge. Pairwise
rows that share an ``id`` are several raters (or several orders) on one comparison;
``(id, annotator, shown_first)`` is unique within a file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from oversight.schemas._base import Record, content_hash

__all__ = [
    "FEATURES",
    "Agreement",
    "AnnotatorAgreement",
    "AuditResult",
    "BlindSpot",
    "BlindSpotReport",
    "Ceiling",
    "Choice",
    "Feature",
    "FeatureEffect",
    "JudgeComparison",
    "Judgment",
    "judgment_key",
    "PairwiseJudgment",
    "PointwiseJudgment",
    "PositionBias",
    "RawFinding",
    "Route",
    "GroupRoute",
    "RoutingRule",
    "SharedFeature",
    "StyleModel",
    "WinRate",
]

Choice = Literal["a", "b", "tie"]
Feature = Literal["length", "headers", "lists", "bold", "emoji", "code"]
FEATURES: tuple[Feature, ...] = ("length", "headers", "lists", "bold", "emoji", "code")
Route = Literal["automate", "single_rater", "several_raters", "expert"]



class PairwiseJudgment(Record):
    """One rater's preference between two responses to the same prompt."""

    id: str = Field(min_length=1, description="The comparison; rows of several raters share it.")
    prompt: str
    response_a: str
    response_b: str
    annotator: str = Field(min_length=1)
    choice: Choice
    gold: Literal["a", "b"] | None = Field(default=None, description="The expert or objectively right answer.")
    shown_first: Literal["a", "b"] | None = Field(default=None, description="Which response the rater saw first.")
    model_a: str | None = None
    model_b: str | None = None
    kind: str | None = None
    domain: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.id, self.annotator, self.shown_first or "")


class PointwiseJudgment(Record):
    """One rater's score or label for one item."""

    id: str = Field(min_length=1)
    item: str = Field(min_length=1, description="What was rated; rows of several raters share it.")
    annotator: str = Field(min_length=1)
    score: float | None = None
    label: str | None = None
    gold: float | str | None = None
    kind: str | None = None
    domain: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _score_or_label(self) -> PointwiseJudgment:
        if (self.score is None) == (self.label is None):
            raise ValueError("give exactly one of score or label")
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.item, self.annotator, self.id)

    @property
    def value(self) -> float | str:
        return self.score if self.score is not None else self.label  # type: ignore[return-value]


Judgment = PairwiseJudgment | PointwiseJudgment


def judgment_key(judgment: Judgment) -> str:
    """A stable id: the same judgment imported twice is kept once."""
    kind = "pairwise" if isinstance(judgment, PairwiseJudgment) else "pointwise"
    return "j_" + content_hash(kind, *judgment.key)


class FeatureEffect(Record):
    """One style feature's (or combined factor's) effect on the choice, from the logistic model.

    Features that move together across the judged pairs are fitted as one combined factor
    (``members`` lists them); each member then has status ``combined`` and ``combined_into``
    names the factor that carries its estimate.
    """

    feature: str
    status: Literal["ok", "too_few", "no_variation", "unstable", "combined"] = "ok"
    coef: float | None = Field(
        default=None, description="Log-odds per 1 SD of the a-b difference; > 0: more of it wins."
    )
    ci: tuple[float, float] | None = None
    p: float | None = None
    p_adjusted: float | None = Field(default=None, description="Holm-adjusted over the fitted terms of one model.")
    effect: float | None = Field(default=None, description="Change in win probability at 1 SD (0.05 = 5 points).")
    effect_ci: tuple[float, float] | None = None
    flagged: bool = False
    sd: float | None = Field(default=None, description="SD of the normalised a-b difference the coef is scaled by.")
    n_varying: int = 0
    raw_win_rate: float | None = Field(default=None, description="Share of decisive pairs won by the one with more.")
    raw_n: int = 0
    members: list[str] = Field(
        default_factory=list, description="For a combined factor: the features it stands for ('-' = reversed)."
    )
    combined_into: str | None = Field(default=None, description="For a member: the factor that carries its estimate.")
    note: str = ""


class RawFinding(Record):
    """A strong raw pattern ("more of it wins" far from 50%) that the model did not flag, and why."""

    feature: str = Field(description="A feature, or a combined factor's name.")
    raw_win_rate: float
    raw_n: int
    reason: str


class StyleModel(Record):
    """A fitted style model: choice ~ style differences (+ gold) (+ position)."""

    n: int = Field(description="Decisive (non-tie) judgments fitted.")
    n_ties: int = 0
    n_clusters: int = 0
    status: Literal["ok", "too_few", "unstable"] = "ok"
    fit: Literal["mle", "penalised"] | None = Field(
        default=None,
        description="mle: ordinary logistic fit; penalised: Firth fit with profile-likelihood intervals, "
        "used when the choices are separated and maximum likelihood has no finite answer.",
    )
    note: str = ""
    features: dict[str, FeatureEffect] = Field(default_factory=dict)
    factors: dict[str, FeatureEffect] = Field(
        default_factory=dict, description="Combined factors, one per group of (nearly) collinear features."
    )
    raw_findings: list[RawFinding] = Field(default_factory=list)
    gold_coef: float | None = None
    gold_ci: tuple[float, float] | None = None
    intercept: float | None = None
    intercept_ci: tuple[float, float] | None = None


class WinRate(Record):
    """A model's (or condition's) win rate, raw and with style held equal."""

    model: str
    n: int
    raw: float
    bt: float = Field(description="Bradley-Terry win probability against the average opponent.")
    controlled: float = Field(description="The same with style differences held at zero.")


class PositionBias(Record):
    """Does the rater prefer the response it saw first?"""

    first_wins: float | None = Field(
        default=None, description="Share of decisive choices that went to the first shown."
    )
    n: int = 0
    p: float | None = None
    assumed_order: bool = Field(default=False, description="True when no shown_first was given and A is assumed first.")
    swapped_pairs: int = Field(default=0, description="Comparisons judged in both orders by the same rater.")
    consistency: float | None = Field(default=None, description="Share of those with the same pick in both orders.")


class AnnotatorAgreement(Record):
    annotator: str
    n: int
    with_majority: float | None = None
    n_majority: int = 0
    with_gold: float | None = None
    n_gold: int = 0


class Agreement(Record):
    alpha: float | None
    level: str
    n_items: int
    n_annotators: int
    disagreement_rate: float | None = Field(default=None, description="Items with 2+ raters that were not unanimous.")
    annotators: list[AnnotatorAgreement] = Field(default_factory=list)
    note: str = ""


class BlindSpot(Record):
    """An item the raters agreed on strongly, yet gold says they were wrong."""

    id: str
    prompt: str
    chosen: str
    gold: str
    votes: int
    agreement: float
    chosen_text: str = ""
    gold_text: str = ""
    feature_diff: dict[str, float] = Field(default_factory=dict, description="Chosen minus gold, raw feature values.")


class SharedFeature(Record):
    feature: str
    share: float = Field(description="Share of blind spots where the wrongly chosen response has more of it.")
    n: int
    p: float = Field(description="One-sided: Fisher's exact test against the baseline, else a sign test against 50%.")
    baseline: float | None = Field(default=None, description="The same share among items the raters got right.")
    shared: bool = False


class BlindSpotReport(Record):
    threshold: float
    n_items_with_gold: int
    items: list[BlindSpot] = Field(default_factory=list)
    features: list[SharedFeature] = Field(default_factory=list)


class Ceiling(Record):
    """One task kind's (or domain's) spread of judgments and where to route it."""

    group: str
    n_items: int
    n_multi: int = Field(description="Items with 2+ raters.")
    disagreement_rate: float | None
    alpha: float | None = None
    spread: float | None = Field(default=None, description="Mean minority share (pairwise/labels) or score SD.")
    gold_accuracy: float | None = Field(default=None, description="Majority's agreement with gold.")
    route: Route
    raters: int
    reason: str


class GroupRoute(Record):
    field: Literal["kind", "domain", "all"]
    value: str | None
    route: Route
    raters: int = Field(ge=1)
    reason: str = ""


class RoutingRule(Record):
    """Where tasks go for review, by kind or domain; the refine queue reads this."""

    rules: list[GroupRoute] = Field(default_factory=list)
    default: GroupRoute

    def route_for(self, kind: str | None = None, domain: str | None = None) -> GroupRoute:
        """The rule that applies to a task of this kind and domain (else the default)."""
        for rule in self.rules:
            if (rule.field == "kind" and rule.value == kind) or (rule.field == "domain" and rule.value == domain):
                return rule
        return self.default


class JudgeComparison(Record):
    """An LLM judge beside the humans on the same items."""

    judge: str
    n: int
    with_human_majority: float | None
    n_majority: int
    with_gold: float | None = None
    n_gold: int = 0
    human_with_gold: float | None = None
    judge_features: dict[str, FeatureEffect] = Field(default_factory=dict)
    human_features: dict[str, FeatureEffect] = Field(default_factory=dict)


_EFFECT_KEYS = ("coef", "ci", "p", "flagged", "effect", "effect_ci", "p_adjusted", "status", "raw_win_rate", "note")


class AuditResult(Record):
    """Everything one audit found: the typed twin of ``audit judgments --json``."""

    source: str = ""
    kind: Literal["pairwise", "pointwise"]
    n_judgments: int
    n_simulated: int = Field(default=0, description="Judgments from simulated reviewers (annotators 'sim:...').")
    n_items: int
    annotators: list[str]
    alpha_level: float = Field(description="Significance level before Holm adjustment.")
    min_effect: float = Field(description="Smallest win-probability change at 1 SD that counts as practical.")
    min_items: int
    style: StyleModel | None = None
    style_given_gold: StyleModel | None = None
    style_by_annotator: dict[str, StyleModel] = Field(default_factory=dict)
    win_rates: list[WinRate] = Field(default_factory=list)
    position: PositionBias | None = None
    agreement: Agreement
    blind_spots: BlindSpotReport | None = None
    ceilings: list[Ceiling] = Field(default_factory=list)
    routing: RoutingRule
    judge: JudgeComparison | None = None
    verdict: list[str] = Field(default_factory=list)

    @property
    def features(self) -> dict[str, FeatureEffect]:
        return self.style.features if self.style else {}

    @property
    def alpha(self) -> float | None:
        return self.agreement.alpha

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape: ``features``, ``alpha`` and ``blind_spots`` up front, then the rest."""
        data = self.model_dump(mode="json")
        out: dict[str, Any] = {
            "features": {
                name: {k: f[k] for k in (*_EFFECT_KEYS, "combined_into")}
                for name, f in (data["style"] or {}).get("features", {}).items()
            },
            "alpha": self.agreement.alpha,
            "blind_spots": (data["blind_spots"] or {}).get("items", []),
            "verdict": self.verdict,
            "factors": {
                name: {k: f[k] for k in ("members", *_EFFECT_KEYS)}
                for name, f in (data["style"] or {}).get("factors", {}).items()
            },
        }
        out.update({k: v for k, v in data.items() if k not in out})
        return out
