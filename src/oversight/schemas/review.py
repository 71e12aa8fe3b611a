"""The records of the review page: who reviews, who holds which item, calibration items.

- ``User``: a trainer or a lead; the page signs them in with a token of which only the
  hash is kept.
- ``ReviewLease``: a trainer's hold on one queued item; two trainers never hold the same
  item, and a lease that runs out puts the item back in the queue.
- ``CalibrationItem``: a draft with an expert's refinement, seeded into every trainer's
  queue; ``CalibrationAnswer`` is one trainer's refinement of it, scored against the expert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from oversight.schemas._base import Record, utcnow
from oversight.schemas.refine import Decision, Refinement

__all__ = ["CalibrationAnswer", "CalibrationItem", "ReviewLease", "Role", "User"]

Role = Literal["trainer", "lead"]


class User(Record):
    """Someone who signs in to the review page."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    role: Role
    created_at: datetime = Field(default_factory=utcnow)
    disabled: bool = False


class ReviewLease(Record):
    """A trainer's hold on a queued item, until ``lease_until``; ``claimed_at`` starts the clock on it."""

    task_id: str
    reviewer: str
    claimed_at: datetime
    lease_until: datetime


class CalibrationItem(Record):
    """A draft every trainer refines blind, with the expert's refinement to compare theirs with."""

    task_id: str
    draft_id: str
    critique_id: str | None = None
    decision: Decision
    refined_text: str | None = None
    tags: list[str] = Field(default_factory=list)
    rationale: str = ""
    expert: str = Field(min_length=1)
    created_at: datetime = Field(default_factory=utcnow)


class CalibrationAnswer(Record):
    """One trainer's refinement of a calibration item, with how close it came to the expert's.

    ``decision_agrees``: same decision; ``tag_overlap``: Jaccard of the two tag sets (1.0 when
    both are empty); ``text_similarity``: share of words the two final texts have in common,
    in order (1.0 for identical texts).
    """

    task_id: str
    reviewer: str
    refinement: Refinement
    decision_agrees: bool
    tag_overlap: float = Field(ge=0.0, le=1.0)
    text_similarity: float = Field(ge=0.0, le=1.0)
    created_at: datetime = Field(default_factory=utcnow)
