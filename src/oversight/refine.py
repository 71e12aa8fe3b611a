"""Stage 3: the human refines a draft. What a trainer sends, and the Refinement it becomes."""

from __future__ import annotations

import difflib
import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from oversight.schemas import (
    Critique,
    Decision,
    DiffOp,
    Draft,
    FindingVerdict,
    Refinement,
    content_hash,
)

__all__ = ["RefinementInput", "word_diff", "diff_stats", "build_refinement"]

_TOKEN = re.compile(r"\S+|\s+")


class RefinementInput(BaseModel):
    """What a trainer answers at the human pause (the value the refine graph resumes with)."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    refined_text: str | None = None
    tags: list[str] = Field(default_factory=list)
    rationale: str = ""
    finding_verdicts: list[FindingVerdict] = Field(default_factory=list)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    seconds_spent: float = Field(default=0.0, ge=0.0)
    reviewer: str = "anonymous"

    @model_validator(mode="after")
    def _text_fits_decision(self) -> RefinementInput:
        if self.decision in ("edit", "rewrite") and not (self.refined_text or "").strip():
            raise ValueError(f"decision '{self.decision}' needs refined_text")
        if self.decision == "skip" and self.refined_text:
            raise ValueError("decision 'skip' takes no refined_text")
        return self


def word_diff(before: str, after: str) -> list[DiffOp]:
    """A word-level diff (whitespace kept with the words), merged into runs."""
    a = _TOKEN.findall(before)
    b = _TOKEN.findall(after)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    ops: list[DiffOp] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        ops.append(DiffOp(op=tag, before="".join(a[i1:i2]), after="".join(b[j1:j2])))
    return ops


def diff_stats(diff: list[DiffOp]) -> dict[str, int]:
    """Words kept, inserted and deleted: a quick measure of how much the trainer changed."""
    stats = {"kept": 0, "inserted": 0, "deleted": 0}
    for op in diff:
        before, after = len(op.before.split()), len(op.after.split())
        if op.op == "equal":
            stats["kept"] += before
        else:
            stats["deleted"] += before
            stats["inserted"] += after
    return stats


def build_refinement(
    answer: RefinementInput,
    draft: Draft,
    critique: Critique | None,
    *,
    key: str = "",
) -> Refinement:
    """Turn a trainer's answer into a Refinement. Raises ValueError on a verdict for a missing finding.

    The id is derived from ``key`` (the thread) and the answer, so recording the same
    answer twice (a resumed graph re-running its last step) yields the same record.
    """
    findings = critique.findings if critique is not None else []
    for verdict in answer.finding_verdicts:
        if verdict.finding >= len(findings):
            raise ValueError(f"verdict for finding {verdict.finding}, but the critique has {len(findings)}")
    if answer.decision == "accept":
        refined = draft.text
    elif answer.decision == "skip":
        refined = None
    else:
        refined = answer.refined_text
    diff = word_diff(draft.text, refined) if refined is not None and answer.decision in ("edit", "rewrite") else []
    return Refinement(
        id="r_" + content_hash(key, draft.id, answer.model_dump(mode="json")),
        task_id=draft.task_id,
        draft_id=draft.id,
        critique_id=critique.id if critique is not None else None,
        decision=answer.decision,
        refined_text=refined,
        diff=diff,
        tags=answer.tags,
        rationale=answer.rationale.strip(),
        finding_verdicts=answer.finding_verdicts,
        confidence=answer.confidence,
        seconds_spent=answer.seconds_spent,
        reviewer=answer.reviewer,
    )
