"""Stage 3: the human refines a draft. What a trainer sends, how it is checked, and the Refinement it becomes."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from oversight.errors import InvalidAnswerError
from oversight.schemas import (
    Critique,
    DiffOp,
    Draft,
    Refinement,
    RefinementInput,
    content_hash,
)

__all__ = ["DIFF_WORK", "RefinementInput", "build_refinement", "check_answer", "clipped_diff", "diff_stats",
           "grouped_diff", "word_diff"]

_TOKEN = re.compile(r"\S+|\s+")
_LINE = re.compile(r"[^\n]*\n|[^\n]+")

# The most work one diff may take, in cells (tokens before x tokens after) handed to difflib,
# whose matching grows with that product (about 0.3 s at this bound on a loaded 2-core machine).
# A larger change is diffed line by line, and the lines past the budget as one block.
DIFF_WORK = 4_000_000


def word_diff(before: str, after: str, *, work: int = DIFF_WORK) -> list[DiffOp]:
    """A word-level diff (whitespace kept with the words), merged into runs.

    Bounded: when the texts are large (their tokens' product past ``work``) only the part
    between the common start and end is diffed; past the bound it is diffed by lines, and the
    changed lines word by word while the budget lasts, else as one replaced block.
    """
    a = _TOKEN.findall(before)
    b = _TOKEN.findall(after)
    if len(a) * len(b) <= work:
        return _ops(a, b)  # what it always was: refinements and notes mined before keep their diffs
    budget = [2 * work]
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    ops = [DiffOp(op="equal", before="".join(a[:start]), after="".join(a[:start]))] if start else []
    ops += _bounded(a[start:end_a], b[start:end_b], work, budget)
    if end_a < len(a):
        tail = "".join(a[end_a:])
        ops.append(DiffOp(op="equal", before=tail, after=tail))
    return _merged(ops)


def _ops(a: list[str], b: list[str]) -> list[DiffOp]:
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [DiffOp(op=tag, before="".join(a[i1:i2]), after="".join(b[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()]


def _block(a: list[str], b: list[str]) -> list[DiffOp]:
    before, after = "".join(a), "".join(b)
    if not before and not after:
        return []
    return [DiffOp(op="replace" if before and after else "delete" if before else "insert", before=before, after=after)]


def _bounded(a: list[str], b: list[str], work: int, budget: list[int], *, by_lines: bool = True) -> list[DiffOp]:
    """The diff of two token runs, spending at most ``budget[0]`` cells (what is left of it after)."""
    if not a or not b:
        return _block(a, b)
    if len(a) * len(b) <= min(work, budget[0]):
        budget[0] -= len(a) * len(b)
        return _ops(a, b)
    lines_a, lines_b = _LINE.findall("".join(a)), _LINE.findall("".join(b))
    if not by_lines or len(lines_a) * len(lines_b) > min(work, budget[0]):
        return _block(a, b)
    budget[0] -= len(lines_a) * len(lines_b)
    ops: list[DiffOp] = []
    for op in _ops(lines_a, lines_b):
        if op.op == "replace":
            ops += _bounded(_TOKEN.findall(op.before), _TOKEN.findall(op.after), work, budget, by_lines=False)
        else:
            ops.append(op)
    return ops


def _merged(ops: list[DiffOp]) -> list[DiffOp]:
    """Neighbouring steps of one kind as one (a change next to a change is one replacement)."""
    out: list[DiffOp] = []
    for op in ops:
        if out and (out[-1].op == "equal") == (op.op == "equal"):
            last = out[-1]
            before, after = last.before + op.before, last.after + op.after
            kind = "equal" if op.op == "equal" else "replace" if before and after else "delete" if before else "insert"
            out[-1] = DiffOp(op=kind, before=before, after=after)
        else:
            out.append(op)
    return out


def _change(before: str, after: str) -> DiffOp:
    return DiffOp(op="replace" if before and after else "delete" if before else "insert", before=before, after=after)


def grouped_diff(diff: Sequence[DiffOp]) -> list[DiffOp]:
    """The diff as people read it, and as the page's live diff shows it while they type: changes
    with only whitespace between them are one change ("quick brown" to "slow red" is one, not
    two words struck out and put in by turns)."""
    out: list[DiffOp] = []
    for k, op in enumerate(diff):
        last = out[-1] if out else None
        between = (op.op == "equal" and not op.before.strip() and k + 1 < len(diff) and diff[k + 1].op != "equal")
        if last is not None and last.op != "equal" and (op.op != "equal" or between):
            out[-1] = _change(last.before + op.before, last.after + op.after)
        else:
            out.append(op)
    return out


def clipped_diff(diff: Sequence[DiffOp], *, limit: int = 1200, context: int = 80) -> tuple[list[DiffOp], int]:
    """A grouped diff cut short for a list of many (skim): about ``limit`` characters, unchanged
    text kept to ``context`` characters around each change ("…" where cut), and how many
    changes were left out."""
    ops = grouped_diff(diff)
    shown: list[DiffOp] = []
    spent = 0
    for k, op in enumerate(ops):
        if op.op == "equal":
            text = op.before
            if k == 0 and len(text) > context:
                text = "…" + text[-context:]
            elif k == len(ops) - 1 and len(text) > context:
                text = text[:context] + "…"
            elif len(text) > 2 * context + 3:
                text = text[:context] + " … " + text[-context:]
            if spent >= limit:
                break
            shown.append(DiffOp(op="equal", before=text, after=text))
        else:
            if spent >= limit:
                return shown, sum(o.op != "equal" for o in ops[k:])
            keep = max(context, (limit - spent) // 2)
            before, after = (t if len(t) <= keep else t[:keep] + "…" for t in (op.before, op.after))
            shown.append(DiffOp(op=op.op, before=before, after=after))
        spent += len(shown[-1].before) + (len(shown[-1].after) if op.op != "equal" else 0)
    return shown, 0


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


def check_answer(answer: Any, draft: Draft, critique: Critique | None, *, key: str = "") -> Refinement:
    """The Refinement a trainer's answer makes. Raises InvalidAnswerError naming the field."""
    try:
        return build_refinement(RefinementInput.model_validate(answer), draft, critique, key=key)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidAnswerError(f"field '{where}': {message}" if where else message) from exc
    except ValueError as exc:
        raise InvalidAnswerError(str(exc)) from exc
