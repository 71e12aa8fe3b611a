"""The records of interventions: a targeted change for a failure pattern, and the evidence whether it worked.

An ``Intervention`` is typed by its ``payload`` (one of six kinds), cites the notes and tasks it
is grounded in, states its expected effect, and moves through a status a lead and a validation
set: proposed -> accepted | rejected; accepted -> validated | not_effective | regressed |
inconclusive | judge_not_calibrated (the outcome of ``oversight interventions validate``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from oversight.schemas._base import Record, content_hash, utcnow

__all__ = [
    "CHECK_KINDS",
    "INTERVENTION_KINDS",
    "OUTCOMES",
    "Calibration",
    "CheckCriterion",
    "DataRequest",
    "EvalCheck",
    "FewShot",
    "FewShotExample",
    "Guideline",
    "Interval",
    "Intervention",
    "InterventionKind",
    "InterventionStatus",
    "Payload",
    "PromptPatch",
    "RoutingRuleProposal",
    "Validation",
]

InterventionKind = Literal["prompt_patch", "few_shot", "guideline", "eval_check", "data_request", "routing_rule"]
INTERVENTION_KINDS: tuple[str, ...] = ("prompt_patch", "few_shot", "guideline", "eval_check", "data_request",
                                       "routing_rule")
InterventionStatus = Literal["proposed", "accepted", "rejected", "validated", "not_effective", "regressed",
                             "inconclusive", "judge_not_calibrated"]
OUTCOMES: tuple[str, ...] = ("validated", "not_effective", "regressed", "inconclusive", "judge_not_calibrated")
CHECK_KINDS: tuple[str, ...] = ("regex", "forbidden_regex", "max_words", "min_words", "required", "forbidden",
                                "valid_json", "contains_reference", "llm_judge")


class CheckCriterion(Record):
    """One programmatic test of a draft, or an LLM-judge question. ``passes`` means the failure is absent.

    kind: ``regex`` (the draft must match ``value``), ``forbidden_regex`` (must not), ``max_words``/
    ``min_words`` (``value`` a whole number), ``required``/``forbidden`` (a string, case-insensitive),
    ``valid_json`` (no value), ``contains_reference`` (the task's reference answer appears in the
    draft, case-insensitive: correctness where a reference exists), ``llm_judge`` (``value``: the
    question the judge answers yes/no, yes meaning the failure is present).
    """

    kind: Literal["regex", "forbidden_regex", "max_words", "min_words", "required", "forbidden", "valid_json",
                  "contains_reference", "llm_judge"]
    value: str | int | None = None
    description: str = ""


class PromptPatch(Record):
    kind: Literal["prompt_patch"] = "prompt_patch"
    prompt: str = Field(description="The prompt's name (prompts/<name>.md).")
    base_version: str = Field(description="The version the diff applies to.")
    diff: str = Field(description="A unified diff of the prompt file.")


class FewShotExample(Record):
    task_id: str | None = None
    prompt: str
    answer: str = Field(description="The refined (human-corrected) answer shown as the example.")


class FewShot(Record):
    kind: Literal["few_shot"] = "few_shot"
    prompt: str = "draft"
    examples: list[FewShotExample] = Field(min_length=1)


class Guideline(Record):
    kind: Literal["guideline"] = "guideline"
    rubric: str
    good_example: str = ""
    bad_example: str = ""


class EvalCheck(Record):
    kind: Literal["eval_check"] = "eval_check"
    criterion: CheckCriterion
    cases: list[str] = Field(default_factory=list, description="Task ids the check is tested on.")


class DataRequest(Record):
    kind: Literal["data_request"] = "data_request"
    what: str
    count: int = Field(ge=1)
    domains: list[str] = Field(default_factory=list)
    why: str = ""


class RoutingRuleProposal(Record):
    kind: Literal["routing_rule"] = "routing_rule"
    rule: str = Field(description="Which tasks go to expert or double review, in words.")
    route: Literal["expert", "double"] = "expert"
    condition: dict[str, Any] = Field(default_factory=dict, description="e.g. {'domain': 'medicine'}")


Payload = Annotated[PromptPatch | FewShot | Guideline | EvalCheck | DataRequest | RoutingRuleProposal,
                    Field(discriminator="kind")]


class Interval(Record):
    """A point estimate with its confidence interval."""

    estimate: float
    low: float
    high: float
    level: float = 0.95


class Calibration(Record):
    """How well a judge agrees with human labels before its verdicts count."""

    judge: str
    positives: int = Field(description="human-labelled failures it was tested on")
    negatives: int
    true_positive_rate: Interval
    true_negative_rate: Interval
    kappa: Interval
    threshold: float = Field(description="the kappa the interval's low end must reach to be trusted")
    calibrated: bool


class Validation(Record):
    """The before/after experiment of one intervention."""

    decided_by: str = Field(description="'check' or 'judge:<model>' or 'human'")
    tasks: int = Field(description="affected tasks re-drafted")
    controls: int = Field(description="control tasks re-drafted")
    before: float | None = Field(description="share of affected drafts where the failure recurs, old prompt "
                                             "(None: not measured, the judge was not calibrated)")
    after: float | None = None
    change: Interval | None = Field(default=None, description="after - before, paired bootstrap")
    regressions: dict[str, Interval] = Field(default_factory=dict,
                                             description="per other check, change on the control sample")
    calibration: Calibration | None = None
    outcome: Literal["validated", "not_effective", "regressed", "inconclusive", "judge_not_calibrated"]
    reason: str = ""
    seed: int = 0
    old_version: str = ""
    new_version: str = ""
    at: datetime = Field(default_factory=utcnow)


class Intervention(Record):
    """A targeted change for one pattern, grounded in its notes and tasks."""

    id: str
    pattern_id: str
    kind: InterventionKind
    title: str = Field(min_length=1)
    rationale: str = ""
    expected_effect: str = ""
    payload: Payload
    note_ids: list[str] = Field(default_factory=list)
    task_ids: list[str] = Field(default_factory=list)
    proposed_by: str = Field(default="rules", description="'rules' or 'llm:<model>' or 'lead'")
    status: InterventionStatus = "proposed"
    reason: str = Field(default="", description="The lead's reason for accepting or rejecting.")
    validations: list[Validation] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @staticmethod
    def derive_id(pattern_id: str, payload: Record) -> str:
        """The same proposal for the same pattern is the same intervention (suggesting twice adds nothing)."""
        return "iv_" + content_hash(pattern_id, payload.model_dump(mode="json"))[:16]
