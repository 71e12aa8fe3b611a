"""Task files: JSONL or CSV in, validated Task records out.

The whole file is read and checked before anything is written, so a bad file leaves
the store as it was. Every error names the file, the line and the field, on one line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oversight.errors import InputFileError
from oversight.schemas import Task

__all__ = ["read_rows", "load_tasks", "MAX_LINE_BYTES", "TASK_FIELDS"]

MAX_LINE_BYTES = 1_000_000  # one task bigger than this is almost surely a broken file
TASK_FIELDS = ("id", "prompt", "input", "context", "domain", "kind", "reference", "metadata")
_TEXT_FIELDS = ("prompt", "input", "context", "domain", "kind", "reference")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_rows(path: str | Path, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) from a JSONL or CSV file. Raises InputFileError.

    The format is taken from the extension (.jsonl/.ndjson/.json, .csv/.tsv or .parquet;
    for Parquet the "line" is the row number).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), None, None, "no such file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        yield from _read_jsonl(path, max_line_bytes)
    elif suffix in (".csv", ".tsv"):
        yield from _read_csv(path, max_line_bytes, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise InputFileError(str(path), None, None, f"not a readable Parquet file: {exc}") from exc
        yield from enumerate(rows, start=1)
    else:
        raise InputFileError(str(path), None, None, f"unknown file type '{suffix}': use .jsonl, .csv or .parquet")


def _read_jsonl(path: Path, max_line_bytes: int) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > max_line_bytes:
                raise InputFileError(
                    str(path), number, None, f"line is {len(raw):,} bytes; the limit is {max_line_bytes:,}"
                )
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                raise InputFileError(str(path), number, None, f"not UTF-8 text (byte {exc.start})") from exc
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFileError(str(path), number, None, f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
            if not isinstance(row, dict):
                raise InputFileError(str(path), number, None, f"expected a JSON object, got {type(row).__name__}")
            yield number, row


def _read_csv(path: Path, max_line_bytes: int, delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), None, None, f"not UTF-8 text (byte {exc.start})") from exc
    csv.field_size_limit(max(max_line_bytes, 131072) * 2)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return
        names = [h.strip() for h in header]
        if len(set(names)) != len(names):
            raise InputFileError(str(path), 1, None, "the header repeats a column name")
        start = reader.line_num + 1
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            size = sum(len(cell.encode("utf-8")) for cell in row)
            if size > max_line_bytes:
                raise InputFileError(str(path), line, None, f"row is {size:,} bytes; the limit is {max_line_bytes:,}")
            if len(row) != len(names):
                raise InputFileError(str(path), line, None, f"has {len(row)} columns, the header has {len(names)}")
            yield line, {name: (cell if cell != "" else None) for name, cell in zip(names, row, strict=True)}
    except csv.Error as exc:
        raise InputFileError(str(path), reader.line_num, None, f"not valid CSV: {exc}") from exc


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
    else:
        data["id"] = Task.derive_id(data["prompt"], data.get("input"), data.get("context"))
    metadata = data.get("metadata")
    if isinstance(metadata, str):  # CSV: a JSON object in a cell
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError as exc:
            raise InputFileError(str(path), line, "metadata", f"not a JSON object: {exc.msg}") from exc
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
