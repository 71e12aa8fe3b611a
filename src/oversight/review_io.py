"""Refinements from a file (scripts, replayed sessions, the demo)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from oversight.errors import InputFileError
from oversight.refine import RefinementInput
from oversight.tasks import read_rows

__all__ = ["load_answers"]


def load_answers(path: str | Path) -> list[tuple[str, RefinementInput]]:
    """Read (task_id, answer) pairs from JSONL/CSV. Raises InputFileError naming line and field."""
    out = []
    for line, row in read_rows(path):
        row = dict(row)
        task_id = row.pop("task_id", None)
        if not isinstance(task_id, str) or not task_id:
            raise InputFileError(str(path), line, "task_id", "required field is missing")
        try:
            out.append((task_id, RefinementInput.model_validate(row)))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            raise InputFileError(str(path), line, field, first["msg"].lower()) from exc
    if not out:
        raise InputFileError(str(path), None, None, "the file holds no refinements")
    return out
