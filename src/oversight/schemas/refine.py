"""The records of the refine loop: the typed hand-off between stages.

Task -> Draft -> Critique -> Refinement. Every record has an ``id`` and a
``created_at`` (UTC). Records are plain pydantic models: they serialise to JSON for
the store, for LangGraph state and for export, and validate on the way back in.

Ids of model outputs are derived from what produced them, so asking for the same
draft twice finds the first one instead of paying for it again:

- a Draft's id hashes (task, model, prompt version, parameters);
- a Critique's id hashes (draft, model, prompt version, parameters).

A draft that came with its task (``oversight tasks import``, ``refinements import``) was not
drafted here: its prompt name and version are ``IMPORTED`` and ``imported_from`` says where it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NamedTuple

from pydantic import Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from oversight.schemas._base import Record, content_hash, lone_surrogate, new_id, utcnow

__all__ = [
    "MAX_RATIONALE_CHARS",
    "MAX_REFINED_CHARS",
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "Critique",
    "CritiqueFindings",
    "Decision",
    "DiffOp",
    "Draft",
    "DropReason",
    "DroppedExample",
    "DroppedFinding",
    "Finding",
    "FindingCategory",
    "FindingVerdict",
    "GroundingRow",
    "IMPORTED",
    "ImportOrigin",
    "Refinement",
    "RefinementInput",
    "Severity",
    "Task",
    "Usage",
]

Decision = Literal["accept", "edit", "rewrite", "reject", "skip"]
Severity = Literal["low", "medium", "high"]
# A closed list, so that critiques from any model (and constrained decoding on small
# local ones) speak the same vocabulary that patterns are later mined from.
FindingCategory = Literal[
    "factual-error",
    "unsupported-claim",
    "irrelevant",
    "redundant",
    "incomplete",
    "instruction-violation",
    "unclear",
    "style",
    "safety",
    "other",
]


class Task(Record):
    """What the model is asked."""

    id: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1)
    input: str | None = None
    context: str | None = None
    domain: str | None = None
    kind: str | None = None
    reference: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @staticmethod
    def derive_id(prompt: str, input: str | None = None, context: str | None = None, *answer: Any) -> str:
        """The id given to a task whose file row has none: a hash of what it asks (and, for a task
        imported with its draft, of ``answer``: the model and the draft, so each answer is an item)."""
        return "t_" + content_hash(prompt, input, context, *answer)


class Usage(Record):
    """What one model call cost."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            latency_s=self.latency_s + other.latency_s,
        )


# The prompt name and version of every imported draft (and the model of one whose file names none).
IMPORTED = "import"


class ImportOrigin(Record):
    """Where an imported draft came from: the file and its line (its row number in a Parquet file)."""

    file: str
    line: int
    # False: imported with `--no-critique`, to be reviewed without an AI critique
    critique: bool = True


class Draft(Record):
    """One model answer to a task (drafted here, or imported with it: ``imported_from``)."""

    id: str
    task_id: str
    model: str
    prompt_name: str
    prompt_version: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    text: str
    usage: Usage = Field(default_factory=Usage)
    imported_from: ImportOrigin | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @staticmethod
    def derive_id(task_id: str, model: str, prompt_version: str, parameters: dict[str, Any]) -> str:
        return "d_" + content_hash(task_id, model, prompt_version, parameters)


# Length hints go into the JSON schema only (not validation): a local server's grammar
# then cannot run past max_tokens inside a string, while a longer answer from a hosted
# model is still accepted.
def _hint(**schema: int) -> dict[str, object]:
    return {"json_schema_extra": schema}


# Found by the critic model (``source`` "model") or by a check that needs no model (``source``
# "check: ...", oversight.refine.checks). The docstring is the schema's description the critic
# model reads: changing it changes every critique request.
class Finding(Record):
    """One problem an AI reviewer found in a draft."""

    quote: str = Field(
        description="The exact words of the draft the finding is about, or '' for an omission.", **_hint(maxLength=200)
    )
    issue: str = Field(description="What is wrong, in one sentence.", **_hint(maxLength=240))
    severity: Severity = Field(description="How much it matters: low, medium or high.")
    category: FindingCategory = Field(description="The kind of problem.")
    # Not in the JSON schema the critic model answers to: the critique stage sets it, never a model.
    source: SkipJsonSchema[str] = Field(default="model", description="Who found it: 'model' or the check's name.")


class CritiqueFindings(Record):
    """What the critic model is asked to return (the structured-output schema)."""

    findings: list[Finding] = Field(default_factory=list, **_hint(maxItems=6))
    summary: str = Field(description="Two sentences at most: the overall verdict on the draft.", **_hint(maxLength=300))


# Why a proposed finding is not shown to the trainer (oversight.refine.critique.ground_findings):
# its quote is not in the draft, is too short to point at anything, or is empty on a finding
# that is not an omission; its issue repeats the critic prompt's own text, or says nothing.
DropReason = Literal["not-in-draft", "too-short", "no-quote", "prompt-echo", "no-issue"]


class DroppedFinding(Record):
    """A finding the critic proposed that the trainer is not shown, kept with the reason for audits."""

    finding: Finding
    reason: DropReason


class Critique(Record):
    """An AI reviewer's findings on a draft, shown beside it to the trainer.

    ``findings`` are the ones shown (finding verdicts index into them); ``dropped`` the ones
    the grounding check held back. ``grounding`` names the rule that checked them: '' on a
    critique made before findings were checked (its findings were all shown, some may start
    with "(not verbatim)"). ``checks`` names the version of the model-free checks whose findings
    were added (``oversight.refine.checks.CHECKS``; '' before there were any): not part of the id,
    so a new version of the checks adds findings to a stored critique instead of paying its model again.
    """

    id: str
    draft_id: str
    task_id: str
    model: str
    prompt_name: str
    prompt_version: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    dropped: list[DroppedFinding] = Field(default_factory=list)
    grounding: str = ""
    checks: str = ""
    summary: str = ""
    usage: Usage = Field(default_factory=Usage)
    created_at: datetime = Field(default_factory=utcnow)

    @staticmethod
    def derive_id(draft_id: str, model: str, prompt_version: str, parameters: dict[str, Any]) -> str:
        return "c_" + content_hash(draft_id, model, prompt_version, parameters)


class DiffOp(Record):
    """One step of a word-level diff from the draft to the refined text."""

    op: Literal["equal", "insert", "delete", "replace"]
    before: str = ""
    after: str = ""


class FindingVerdict(Record):
    """The trainer's verdict on one AI finding: was the critic right?"""

    finding: int = Field(ge=0, description="Index into the critique's findings.")
    verdict: Literal["right", "wrong"]
    note: str = ""

    @field_validator("note")
    @classmethod
    def _is_text(cls, value: str) -> str:
        if (why := lone_surrogate(value)) is not None:
            raise ValueError(why)
        return value


class _Answer(Record):
    """What a trainer says about a draft: shared by the answer they send and the Refinement kept."""

    decision: Decision
    refined_text: str | None = None
    tags: list[str] = Field(default_factory=list)
    rationale: str = ""
    finding_verdicts: list[FindingVerdict] = Field(default_factory=list)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    seconds_spent: float = Field(default=0.0, ge=0.0)
    reviewer: str = "anonymous"
    # set by the review service, never by the client: whether the AI critique was shown (an
    # assistance experiment's arm; None outside one) and whether a simulated reviewer answered
    arm: Literal["critique_shown", "critique_hidden"] | None = None
    simulated: bool = False

    @field_validator("refined_text", "tags", "rationale", "reviewer")
    @classmethod
    def _is_text(cls, value: Any) -> Any:
        """Refuse a lone surrogate, on every path an answer comes in by (page, terminal, file, script)."""
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and (why := lone_surrogate(text)) is not None:
                raise ValueError(why)
        return value


# What one answer may hold (the terminal, the page, answer files and scripts alike): enough for any
# real refinement, and a bound on what one answer costs everyone after it (every refine page
# lists the tags in use; a diff's work grows with the text).
MAX_TAGS = 20
MAX_TAG_CHARS = 64
MAX_RATIONALE_CHARS = 10_000
MAX_REFINED_CHARS = 100_000

def _storable(text: str) -> str:
    """The text, or ValueError when PostgreSQL cannot store it (a NUL; SQLite keeps one). _Answer refuses
    a lone surrogate."""
    if "\x00" in text:
        raise ValueError("contains a NUL character (\\x00), which databases cannot store")
    return text


def _at_most(text: str, limit: int) -> str:
    if len(text) > limit:
        raise ValueError(f"at most {limit:,} characters (this one has {len(text):,})")
    return _storable(text)


class RefinementInput(_Answer):
    """What a trainer answers at the human pause (the value the refine graph resumes with).

    Bounded: at most ``MAX_TAGS`` tags of ``MAX_TAG_CHARS`` characters, a rationale of
    ``MAX_RATIONALE_CHARS`` and a refined text of ``MAX_REFINED_CHARS``; no text holds a NUL.
    """

    @field_validator("tags")
    @classmethod
    def _tags_bounded(cls, tags: list[str]) -> list[str]:
        if len(tags) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags (this answer has {len(tags):,})")
        for tag in tags:
            if len(tag) > MAX_TAG_CHARS:
                raise ValueError(f"a tag is at most {MAX_TAG_CHARS} characters ({tag[:24]!r}... has {len(tag):,})")
            _storable(tag)
        return tags

    @field_validator("rationale")
    @classmethod
    def _rationale_bounded(cls, rationale: str) -> str:
        return _at_most(rationale, MAX_RATIONALE_CHARS)

    @field_validator("refined_text")
    @classmethod
    def _refined_bounded(cls, text: str | None) -> str | None:
        return None if text is None else _at_most(text, MAX_REFINED_CHARS)

    @field_validator("reviewer")
    @classmethod
    def _reviewer_storable(cls, reviewer: str) -> str:
        return _storable(reviewer)

    @model_validator(mode="after")
    def _text_fits_decision(self) -> RefinementInput:
        if self.decision in ("edit", "rewrite") and not (self.refined_text or "").strip():
            raise ValueError(f"decision '{self.decision}' needs refined_text")
        if self.decision == "skip" and self.refined_text:
            raise ValueError("decision 'skip' takes no refined_text")
        return self


class Refinement(_Answer):
    """A human's work on a draft: their answer, where it applies, and the word diff."""

    id: str = Field(default_factory=lambda: new_id("r"))
    task_id: str
    draft_id: str
    critique_id: str | None = None
    diff: list[DiffOp] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, tags: list[str]) -> list[str]:
        seen: list[str] = []
        for tag in tags:
            tag = tag.strip().lower().replace(" ", "-")
            if tag and tag not in seen:
                seen.append(tag)
        return seen


# -- what a lead reads of a critic (refine.critic_quality makes the rows, report/ renders them) --


class DroppedExample(NamedTuple):
    """One finding a trainer was not shown: for a lead to check that the rule dropped the right ones."""

    critique_id: str
    reason: str
    quote: str
    issue: str


class GroundingRow(NamedTuple):
    """One critic (model, prompt name and version) or one check: what it proposed, what was shown,
    what was right.

    ``source`` is "model" for a critic model's row; a check's row has the check's name as
    ``source`` and ``model``, "checks" as ``prompt_name`` and the checks' version as
    ``prompt_version``, and counts as ``critiques`` those it found something in.
    ``checked`` is False for critiques made before findings were checked: all their findings
    were shown, so their grounding rate is unknown (None). ``judged`` counts trainers'
    verdicts on shown findings (right + wrong); ``precision`` is right / judged, None when
    nothing was judged.
    """

    model: str
    prompt_name: str
    prompt_version: str
    checked: bool
    critiques: int
    proposed: int
    shown: int
    dropped: dict[str, int]
    grounding_rate: float | None
    judged: int
    right: int
    wrong: int
    precision: float | None
    examples: tuple[DroppedExample, ...] = ()
    source: str = "model"

    def as_dict(self, *, examples: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (rates rounded to 4 places), with the dropped examples if asked."""
        data = self._asdict()
        for key in ("grounding_rate", "precision"):
            data[key] = None if data[key] is None else round(data[key], 4)
        if examples:
            data["examples"] = [e._asdict() for e in self.examples]
        else:
            del data["examples"]
        return data
