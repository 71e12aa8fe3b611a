"""Stage 3: the human refines a draft. What a trainer sends, and the Refinement it becomes."""

from __future__ import annotations

import difflib
import re

from oversight.schemas import (
    Critique,
    DiffOp,
    Draft,
    Refinement,
    RefinementInput,
    content_hash,
)

__all__ = ["RefinementInput", "word_diff", "diff_stats", "build_refinement"]

_TOKEN = re.compile(r"\S+|\s+")


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
    said = answer.model_dump(mode="json")
    if said["arm"] is None and not said["simulated"]:  # outside experiments: the ids refinements always had
        del said["arm"], said["simulated"]
    return Refinement(
        id="r_" + content_hash(key, draft.id, said),
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
        arm=answer.arm,
        simulated=answer.simulated,
    )
