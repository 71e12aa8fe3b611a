"""The records of mining: FailureNote -> Pattern (grouped into Themes), with PatternStats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from oversight.schemas._base import Record, content_hash, utcnow
from oversight.schemas.refine import Severity

__all__ = [
    "SLICE_FIELDS",
    "FailureNote",
    "MiningResult",
    "MiningRun",
    "NamesMode",
    "NoteSource",
    "Pattern",
    "PatternName",
    "PatternStats",
    "Representative",
    "Theme",
    "TrendPoint",
]

NoteSource = Literal["tag", "rationale", "finding", "edit", "import"]
NamesMode = Literal["llm", "keywords"]
SLICE_FIELDS: tuple[str, ...] = ("model", "prompt_version", "domain", "kind")



class FailureNote(Record):
    """One statement of what went wrong, linked back to where it came from."""

    id: str
    text: str = Field(min_length=1)
    source: NoteSource
    refinement_id: str | None = None
    task_id: str | None = None
    draft_id: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    domain: str | None = None
    kind: str | None = None
    reviewer: str | None = None
    simulated: bool = Field(default=False, description="Derived from a simulated reviewer's refinement.")
    severity: Severity | None = None
    external_id: str | None = Field(default=None, description="The id the note had in an imported file.")
    import_source: str | None = Field(default=None, description="The file a note was imported from.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    @staticmethod
    def derive_id(origin: str, position: str, text: str) -> str:
        """A stable note id: the same refinement (or file row) gives the same notes again."""
        return "n_" + content_hash(origin, position, text)

    @property
    def subject(self) -> str | None:
        """The item the note is about: its task, or the source named by an import (metadata "subject").

        Notes about the same subject share its topic; the miner discounts what they share so that
        patterns follow the failure, not the subject."""
        value = self.task_id or self.metadata.get("subject")
        return None if value in (None, "") else str(value)

    @property
    def display_id(self) -> str:
        """The id shown to people: the file's own id when imported with one."""
        return self.external_id or self.id

    def slice_value(self, field: str) -> str:
        """The value of a slice field (model, domain...) or metadata key, '(none)' when unset."""
        value = getattr(self, field, None) if field in SLICE_FIELDS else self.metadata.get(field)
        return "(none)" if value in (None, "") else str(value)


class TrendPoint(Record):
    """How many notes of a pattern appeared in one period."""

    period: str
    count: int
    share: float = Field(description="count / all notes of the period")


class Representative(Record):
    """A member close to the centre of its pattern."""

    note_id: str
    display_id: str
    text: str
    similarity: float
    task_id: str | None = None
    draft_id: str | None = None
    refinement_id: str | None = None


class PatternStats(Record):
    """What a lead wants to know about a pattern's reach."""

    size: int
    refinements: int = Field(description="distinct refinements (or imported rows) showing it")
    prevalence: float = Field(description="share of all refinements (or rows) showing it")
    slices: dict[str, dict[str, int]] = Field(default_factory=dict)
    sources: dict[str, int] = Field(default_factory=dict)
    severity: dict[str, int] = Field(default_factory=dict)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    trend: list[TrendPoint] = Field(default_factory=list)
    representatives: list[Representative] = Field(default_factory=list)


class PatternName(Record):
    """What the namer returns for one pattern (the LLM's structured-output schema)."""

    name: str = Field(description="A short name (3-8 words) saying what sets this failure apart.")
    description: str = Field(description="One paragraph: what the failure is and how it shows.")
    criteria: list[str] = Field(
        default_factory=list, description="Two to four inclusion criteria: a note belongs if it ..."
    )


class Pattern(Record):
    """A recurring failure; its id is kept across runs so it can be followed over time."""

    id: str
    name: str
    description: str = ""
    criteria: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    named_by: str = "keywords"
    theme_id: str | None = None
    member_ids: list[str] = Field(default_factory=list)
    stats: PatternStats
    history: list[dict[str, Any]] = Field(
        default_factory=list, description="One entry per run: run_id, at, size, prevalence."
    )
    status: Literal["active", "retired"] = "active"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def size(self) -> int:
        return len(self.member_ids)


class Theme(Record):
    """A group of related patterns (the second level when there are many)."""

    id: str
    name: str
    pattern_ids: list[str]
    size: int = Field(default=0, description="notes in its patterns")
    keywords: list[str] = Field(default_factory=list)


class MiningRun(Record):
    """One run of the miner: what went in, what came out."""

    id: str
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    embedding_model: str
    names: str
    notes: int = 0
    units: int = Field(default=0, description="refinements (or imported rows) the notes came from")
    patterns: int = 0
    noise: int = 0
    themes: int = 0
    matched: int = Field(default=0, description="patterns that kept an id from the previous run")
    params: dict[str, Any] = Field(default_factory=dict)
    noise_ids: list[str] = Field(default_factory=list)


@dataclass
class MiningResult:
    """What a mining run produced: the run record, its patterns (largest first) and themes."""

    run: MiningRun
    patterns: list[Pattern]
    themes: list[dict[str, Any]] = field(default_factory=list)
    noise: list[FailureNote] = field(default_factory=list)
