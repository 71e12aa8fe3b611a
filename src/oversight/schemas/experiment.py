"""Declared experiments: what a researcher writes down before anything is paid for.

An ``Experiment`` names its tasks, sample, seed, conditions (each a set of overrides), the
errors to plant, the reviewer and the measures. The same object is a YAML file
(``oversight experiment run FILE.yaml``). ``PlantedError`` records one error planted in a
draft, and where, so that whether a reviewer caught it can be decided afterwards.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from oversight.schemas._base import Record, content_hash
from oversight.schemas.intervene import CheckCriterion

__all__ = [
    "ARMS",
    "EXPERIMENT_BATCH_PREFIX",
    "Arm",
    "Condition",
    "Experiment",
    "ExperimentItem",
    "HumanReviewers",
    "LLMReviewer",
    "Measure",
    "PlantKind",
    "PlantedError",
    "Recurrence",
    "ReviewerSpec",
    "ScriptedReviewer",
    "TaskSelection",
]

# The assistance arm of a review item: the AI critique beside the draft, or not.
Arm = Literal["critique_shown", "critique_hidden"]
ARMS: tuple[Arm, Arm] = ("critique_shown", "critique_hidden")

# The batch (tasks.source) of an experiment's review items: "experiment:NAME".
EXPERIMENT_BATCH_PREFIX = "experiment:"

PlantKind = Literal["wrong_number", "unsupported_sentence", "ignored_instruction", "swapped_fact"]
Measure = Literal["caught", "flagged", "seconds", "recurrence", "agreement", "critic_pointed"]
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class TaskSelection(Record):
    """Which tasks: a file (imported first), ids, or the store's tasks narrowed by domain, kind or batch."""

    file: str | None = None
    ids: list[str] | None = None
    domain: str | None = None
    kind: str | None = None
    batch: str | None = Field(default=None, description="The import's source (``tasks import --source``).")


class ScriptedReviewer(Record):
    """A scripted reviewer policy.

    ``catches``: finds a planted error with probability ``p``, ``p_assisted`` when the critique is
    shown and one of its findings points at the error. ``prefers_longer``: as ``catches``, but accepts
    a draft of ``long_words`` words or more without looking with probability ``p_accept_long``.
    ``skims``: decides in ``seconds`` and misses more (both probabilities times ``1 - miss``).
    """

    policy: Literal["catches", "prefers_longer", "skims"]
    p: float = Field(default=0.4, ge=0, le=1)
    p_assisted: float | None = Field(default=None, ge=0, le=1)
    seconds: float = Field(default=60.0, gt=0)
    long_words: int = Field(default=60, ge=1)
    p_accept_long: float = Field(default=0.8, ge=0, le=1)
    miss: float = Field(default=0.5, ge=0, le=1)
    name: str | None = Field(default=None, pattern=_NAME)

    @property
    def label(self) -> str:
        return self.name or f"sim-{self.policy.replace('_', '-')}"


class LLMReviewer(Record):
    """A model reviewing through the one LLM door (prompts/simulated_reviewer.md); the judge model by default."""

    policy: Literal["llm"]
    model: str | None = None
    name: str | None = Field(default=None, pattern=_NAME)

    @property
    def label(self) -> str:
        return self.name or "sim-llm"


class HumanReviewers(Record):
    """People on the review page or `oversight review`: items wait in the queue (batch ``experiment:NAME``)."""

    policy: Literal["human"]

    @property
    def label(self) -> str:
        return "human"


ReviewerSpec = Annotated[ScriptedReviewer | LLMReviewer | HumanReviewers, Field(discriminator="policy")]


class Recurrence(Record):
    """Does a failure recur in a condition's draft: a programmatic check, or a pattern (its check, else a judge)."""

    check: CheckCriterion | None = None
    pattern: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Recurrence:
        if (self.check is None) == (self.pattern is None):
            raise ValueError("give one of 'check' or 'pattern'")
        if self.check is not None and self.check.kind == "llm_judge":
            raise ValueError("an llm_judge check is asked through 'pattern', not 'check'")
        return self


class Condition(Record):
    """One arm of an experiment: overrides of the base run (unset: the base run's)."""

    name: str = Field(pattern=_NAME)
    model: str | None = Field(default=None, description="The drafting model (any litellm name).")
    prompt: str | None = Field(default=None, description="The draft prompt's name (prompts/<name>.md).")
    patch: str | None = Field(default=None, description="An intervention id: its prompt patch or few-shot set.")
    critique: Literal["shown", "hidden"] = "shown"
    reviewer: ReviewerSpec | None = None

    @property
    def arm(self) -> Arm:
        return "critique_shown" if self.critique == "shown" else "critique_hidden"


class Experiment(Record):
    """A declared experiment. ``design``: "paired" runs every task under every condition (effects are
    paired by task); "randomised" gives each task one condition, balanced, at random (seeded)."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    tasks: TaskSelection = Field(default_factory=TaskSelection)
    sample: int | None = Field(default=None, ge=1)
    seed: int = 0
    design: Literal["paired", "randomised"] = "paired"
    conditions: list[Condition] = Field(min_length=1)
    plant: list[PlantKind] = Field(default_factory=list)
    reviewer: ReviewerSpec | None = None
    measures: list[Measure] = Field(default_factory=list)
    recurrence: Recurrence | None = None

    @field_validator("conditions")
    @classmethod
    def _distinct(cls, conditions: list[Condition]) -> list[Condition]:
        names = [c.name for c in conditions]
        again = sorted({n for n in names if names.count(n) > 1})
        if again:
            raise ValueError(f"condition names must differ: {', '.join(again)} twice")
        return conditions

    @model_validator(mode="after")
    def _measurable(self) -> Experiment:
        reviewed = self.reviewer is not None or any(c.reviewer is not None for c in self.conditions)
        if "recurrence" in self.measures and self.recurrence is None:
            raise ValueError("measure 'recurrence' needs 'recurrence: {check: ...}' or '{pattern: ...}'")
        if self.recurrence is not None and "recurrence" not in self.measures:
            self.measures.append("recurrence")
        needs_review = {"caught", "flagged", "seconds", "agreement"} & set(self.measures)
        if needs_review and not reviewed:
            raise ValueError(f"measure {sorted(needs_review)[0]!r} needs a reviewer")
        if {"caught", "critic_pointed"} & set(self.measures) and not self.plant:
            raise ValueError("measures 'caught' and 'critic_pointed' need errors to plant ('plant: [...]')")
        if "agreement" in self.measures and self.design != "paired":
            raise ValueError("measure 'agreement' compares conditions on the same tasks: it needs design 'paired'")
        if not self.measures:
            self.measures = ["caught", "flagged", "seconds"] if self.plant and reviewed else (
                ["flagged", "seconds"] if reviewed else [])
        if not self.measures:
            raise ValueError("nothing to measure: give 'measures' (and a reviewer, errors to plant or a recurrence)")
        return self

    def reviewer_of(self, condition: Condition) -> ScriptedReviewer | LLMReviewer | HumanReviewers | None:
        return condition.reviewer or self.reviewer

    @property
    def key(self) -> str:
        """What fixes the experiment's items (tasks, sample, seed, design, conditions, plants)."""
        return content_hash(self.tasks, self.sample, self.seed, self.design,
                            [c.model_dump(mode="json") for c in self.conditions], self.plant, length=8)

    @property
    def batch(self) -> str:
        """The batch its review items are queued under (the review page's and `review`'s filter)."""
        return f"{EXPERIMENT_BATCH_PREFIX}{self.name}"


class PlantedError(Record):
    """An error planted in a draft. ``original`` -> ``planted`` at ``start`` of the planted draft;
    for ``ignored_instruction`` the instruction was added to the task's prompt and ``limit`` is
    the word count the draft breaks."""

    kind: PlantKind
    original: str = ""
    planted: str
    start: int = Field(ge=0)
    limit: int | None = None


class ExperimentItem(Record):
    """One task under one condition: a review item of its own (``item_id`` is its task in the queue)."""

    experiment: str
    key: str
    item_id: str
    task_id: str
    condition: str
    arm: Arm
    draft_id: str
    source_draft_id: str
    plant: PlantedError | None = None
