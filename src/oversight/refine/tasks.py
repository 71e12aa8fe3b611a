"""Task files: JSONL or CSV in, validated Task records out.

The whole file is read and checked before anything is written, so a bad file leaves
the store as it was. Every error names the file, the line and the field, on one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oversight.errors import InputFileError
from oversight.files import parse_json_cell, read_rows
from oversight.schemas import Task

__all__ = ["load_tasks", "TASK_FIELDS"]

TASK_FIELDS = ("id", "prompt", "input", "context", "domain", "kind", "reference", "metadata")
_TEXT_FIELDS = ("prompt", "input", "context", "domain", "kind", "reference")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _task_from_row(path: Path, line: int, row: dict[str, Any], mapping: dict[str, str]) -> Task:
    data: dict[str, Any] = {}
    used: set[str] = set()
    for name in TASK_FIELDS:
        column = mapping.get(name, name)
        if column in row:
            data[name] = row[column]
            used.add(column)
    extra = {k: v for k, v in row.items() if k not in used}
    if "prompt" not in data or data["prompt"] is None:
        raise InputFileError(str(path), line, mapping.get("prompt", "prompt"), "required field is missing")
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            if isinstance(value, int | float) and not isinstance(value, bool) and name != "prompt":
                data[name] = str(value)
            else:
                raise InputFileError(
                    str(path), line, mapping.get(name, name), f"must be text, got {type(value).__name__} {_show(value)}"
                )
    if "id" in data and data["id"] is not None:
        if isinstance(data["id"], bool) or not isinstance(data["id"], str | int):
            raise InputFileError(str(path), line, mapping.get("id", "id"), f"must be text or a whole number, got {_show(data['id'])}")
        data["id"] = str(data["id"])
        if data["id"] and not data["id"].strip("."):  # any other id is encoded into the review page's addresses
            raise InputFileError(str(path), line, mapping.get("id", "id"), f"{data['id']!r}: an id of dots alone "
                                 "cannot be part of a page address (browsers resolve it as a directory): rename it")
    else:
        data["id"] = Task.derive_id(data["prompt"], data.get("input"), data.get("context"))
    metadata = data.get("metadata")
    if isinstance(metadata, str):  # CSV: a JSON object in a cell
        metadata = parse_json_cell(path, line, mapping.get("metadata", "metadata"), metadata)
    if metadata is not None and not isinstance(metadata, dict):
        raise InputFileError(str(path), line, "metadata", f"must be an object, got {type(metadata).__name__}")
    data["metadata"] = {**(metadata or {}), **extra}
    try:
        return Task.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise InputFileError(str(path), line, mapping.get(field or "", field), first["msg"].lower()) from exc


def load_tasks(path: str | Path, *, mapping: dict[str, str] | None = None) -> list[Task]:
    """Read and validate every task in a file. Raises InputFileError on the first bad one.

    ``mapping`` maps a task field to the file's column (``{"prompt": "question"}``).
    Columns that are not task fields are kept in the task's metadata.
    """
    path = Path(path)
    mapping = dict(mapping or {})
    unknown = set(mapping) - set(TASK_FIELDS)
    if unknown:
        raise InputFileError(str(path), None, sorted(unknown)[0], f"not a task field (fields: {', '.join(TASK_FIELDS)})")
    tasks: list[Task] = []
    first_line: dict[str, int] = {}
    for line, row in read_rows(path):
        task = _task_from_row(path, line, row, mapping)
        if task.id in first_line:
            raise InputFileError(
                str(path), line, mapping.get("id", "id"), f"duplicate id {task.id!r} (first on line {first_line[task.id]})"
            )
        first_line[task.id] = line
        tasks.append(task)
    if not tasks:
        raise InputFileError(str(path), None, None, "the file holds no tasks")
    return tasks
