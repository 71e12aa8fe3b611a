"""The one reader of input files (JSONL, CSV, TSV): rows with their line numbers.

Every importer (tasks, answers, notes, judgments) reads through here, so every bad file
gets the same kind of message: the file, the line and the field, on one line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oversight.errors import InputFileError

__all__ = ["MAX_LINE_BYTES", "read_rows"]

MAX_LINE_BYTES = 1_000_000  # one row bigger than this is almost surely a broken file


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
