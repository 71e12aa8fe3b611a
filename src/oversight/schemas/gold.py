"""The records of judgment quality: gold items hidden in the queue, trainers' answers to them, standing.

- ``GoldItem``: a draft whose right answer is known, made by a lead from a real task: *planted*
  (one error planted in a real draft: ``plant`` says what and where) or *expert* (an expert's
  refinement of a real draft is the yardstick). Its critique (``findings``) is what the trainer
  is shown; ``decoy`` is the index of a finding planted there on purpose, wrong, to measure
  deference to the critic.
- ``GoldCopy``: the review item one trainer meets for one gold item: a task of its own in the
  queue (same address scheme, batch, payload as any other item), made when the item is due.
- ``GoldAnswer``: one trainer's answer to one gold copy, scored; never a production refinement.
- ``TrainerStanding``: what a lead decided of one trainer (paused, why) and the domains they
  are qualified in by an assessment.
- ``Assessment``: a declared qualification test (YAML): which gold items, and the pass rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from oversight.schemas._base import Record, new_id, utcnow
from oversight.schemas.experiment import PlantedError
from oversight.schemas.refine import Decision, Finding, Refinement

__all__ = [
    "Assessment",
    "AssessmentResult",
    "GoldAnswer",
    "GoldCopy",
    "GoldItem",
    "GoldKind",
    "PassRule",
    "TrainerStanding",
]

GoldKind = Literal["planted", "expert"]


class GoldItem(Record):
    """A draft whose right answer is known, hidden among ordinary items in the review queue."""

    id: str = Field(default_factory=lambda: new_id("g"))
    kind: GoldKind
    source_task_id: str
    source_draft_id: str
    # what the trainer is shown: the task's prompt (with a planted instruction, for that kind) and the draft
    prompt: str
    text: str
    domain: str | None = None
    findings: list[Finding] = Field(default_factory=list)
    critique_summary: str = ""
    critic_model: str | None = None  # None: shown without a critique (as its source draft was)
    source_critique_id: str | None = None
    # the critique's prompt_name, prompt_version, parameters, grounding and checks: its queue copy shows them
    critique_meta: dict[str, Any] = Field(default_factory=dict)
    decoy: int | None = Field(default=None, ge=0, description="Index in findings of a planted wrong finding.")
    # planted: the error, and whether a real finding (not the decoy) points at it
    plant: PlantedError | None = None
    critic_pointed: bool | None = None
    # expert: the expert's answer
    decision: Decision | None = None
    refined_text: str | None = None
    tags: list[str] = Field(default_factory=list)
    rationale: str = ""
    expert: str | None = None
    made_by: str = Field(min_length=1, description="The lead who made it: never served to them, nor to its expert.")
    retired: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class GoldCopy(Record):
    """The queue item that carries one gold item to one trainer (its task id looks like any other)."""

    task_id: str
    gold_id: str
    reviewer: str
    assessment: str | None = None  # served as part of this assessment
    created_at: datetime = Field(default_factory=utcnow)


class GoldAnswer(Record):
    """One trainer's answer to one gold item, scored against what is known.

    Planted: ``caught`` (the answer removes the error; None for a skip). Expert: ``false_alarm``
    (the expert accepted the draft as it was and the trainer changed it), ``decision_agrees``,
    ``tag_overlap``, ``text_similarity`` as calibration measures them. With a decoy:
    ``deferred`` (the trainer marked the wrong finding right; None when they gave it no verdict).
    """

    gold_id: str
    task_id: str
    reviewer: str
    kind: GoldKind
    domain: str | None = None
    assessment: str | None = None
    refinement: Refinement
    seconds: float = 0.0
    caught: bool | None = None
    critic_pointed: bool | None = None
    deferred: bool | None = None
    false_alarm: bool | None = None
    decision_agrees: bool | None = None
    tag_overlap: float | None = Field(default=None, ge=0.0, le=1.0)
    text_similarity: float | None = Field(default=None, ge=0.0, le=1.0)
    created_at: datetime = Field(default_factory=utcnow)


class TrainerStanding(Record):
    """A lead's decisions about one trainer: paused or not (and why), qualified in which domains."""

    reviewer: str
    paused: bool = False
    paused_by: str | None = None
    paused_reason: str = ""
    paused_at: datetime | None = None
    qualified: dict[str, datetime] = Field(default_factory=dict, description="domain ('*' for any) -> when")
    updated_at: datetime = Field(default_factory=utcnow)


class PassRule(Record):
    """When an assessment is passed: on the 95% intervals, never on a point estimate alone."""

    catch_rate_lower: float = Field(default=0.5, ge=0.0, le=1.0, description="Catch rate's lower bound at least.")
    false_alarm_upper: float = Field(default=0.2, ge=0.0, le=1.0, description="False-alarm rate at most (point).")
    min_items: int = Field(default=5, ge=1)


class Assessment(Record):
    """A declared qualification test: which gold items (by id, or drawn per domain), and its pass rule."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    domain: str = "*"
    items: list[str] = Field(default_factory=list)
    per_domain: dict[str, int] = Field(default_factory=dict)
    pass_rule: PassRule = Field(default_factory=PassRule)
    created_at: datetime = Field(default_factory=utcnow)


class AssessmentResult(Record):
    """How one trainer did on one assessment."""

    assessment: str
    reviewer: str
    domain: str
    passed: bool
    answered: int
    caught: int
    planted: int
    false_alarms: int
    expert_accepted: int
    catch_rate_lower: float | None = None
    decided_at: datetime = Field(default_factory=utcnow)
