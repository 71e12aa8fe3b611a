"""The one reader of input files (JSONL, CSV, TSV, Parquet): rows with their line numbers.

Every importer (tasks, answers, notes, judgments) reads through here, so every bad file
gets the same kind of message: the file, the line and the field, on one line. Every row
is checked before it is handed on: no NUL character (SQLite keeps it, PostgreSQL refuses
it at write time with no file or line), no bytes that are not UTF-8, no lone surrogate (JSON's
``"\ud800"`` is valid JSON but not text: no database or terminal can take it), no number too
long to read, no nesting deeper than ``MAX_DEPTH``; a CSV quote that is never closed is an
error, not a swallowed row.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oversight.errors import InputFileError
from oversight.schemas._base import lone_surrogate

__all__ = ["MAX_DEPTH", "MAX_LINE_BYTES", "check_value", "keyed_rows", "parse_json_cell", "read_rows",
           "text_field"]

MAX_LINE_BYTES = 1_000_000  # one row bigger than this is almost surely a broken file
MAX_DEPTH = 64  # objects and lists nested deeper than this in one row: a broken or hostile file
_NUL = "contains a NUL character (\\x00), which databases cannot store"
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


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
        rows = _read_jsonl(path, max_line_bytes)
    elif suffix in (".csv", ".tsv"):
        rows = _read_csv(path, max_line_bytes, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        rows = _read_parquet(path)
    else:
        raise InputFileError(str(path), None, None, f"unknown file type '{suffix}': use .jsonl, .csv or .parquet")
    for line, row in rows:
        for name, value in row.items():
            if "\x00" in name:
                raise InputFileError(str(path), line, name.replace("\x00", "\\x00"), f"the column name {_NUL}")
            if lone_surrogate(name):
                raise InputFileError(str(path), line, None, f"a column name {lone_surrogate(name)}")
            check_value(path, line, name, value)
        yield line, row


def keyed_rows(path: str | Path, key: str, *, noun: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Yield (line number, key, the row without its key) for a file whose every row names its own item.

    Raises InputFileError, as ``read_rows`` does, or naming the line where ``key`` is missing or
    empty, or names a ``noun`` given on an earlier line ("task 'a' again (first on line 2)").
    """
    first_line: dict[str, int] = {}
    for line, row in read_rows(path):
        row = dict(row)
        value = row.pop(key, None)
        if not isinstance(value, str) or not value:
            raise InputFileError(str(path), line, key, "required field is missing")
        if value in first_line:  # one item a row: a second row for it would silently replace the first
            raise InputFileError(str(path), line, key, f"{noun} {value!r} again (first on line {first_line[value]})")
        first_line[value] = line
        yield line, value, row


def check_value(path: str | Path, line: int | None, field: str | None, value: Any) -> None:
    """Refuse a value holding a NUL character, a lone surrogate or binary data anywhere, or nested too deeply.

    Raises InputFileError naming ``field``. Iterative, so no nesting can exhaust the stack.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InputFileError(str(path), line, field, _NUL)
            if (why := lone_surrogate(item)) is not None:
                raise InputFileError(str(path), line, field, why)
        elif isinstance(item, dict | list | tuple):
            if depth > MAX_DEPTH:
                raise InputFileError(str(path), line, field, _TOO_DEEP)
            if isinstance(item, dict):
                for key in item:
                    if isinstance(key, str) and "\x00" in key:
                        raise InputFileError(str(path), line, field, _NUL)
                    if isinstance(key, str) and (why := lone_surrogate(key)) is not None:
                        raise InputFileError(str(path), line, field, f"a key {why}")
                item = list(item.values())
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, bytes | bytearray | memoryview):
            raise InputFileError(str(path), line, field, "binary data where text was expected")


def text_field(path: str | Path, line: int, row: dict[str, Any], field: str, *, blank_ok: bool = False) -> str:
    """The text of ``row[field]``. Raises InputFileError when it is missing, not text, or blank (unless ``blank_ok``)."""
    value = row.get(field)
    if not isinstance(value, str):
        what = "is missing" if value is None else f"must be text, got {type(value).__name__}"
        raise InputFileError(str(path), line, field, what)
    if not blank_ok and not value.strip():
        raise InputFileError(str(path), line, field, "is blank")
    return value


def parse_json_cell(path: str | Path, line: int | None, field: str, text: str) -> Any:
    """The JSON held in one CSV cell (e.g. a metadata column), checked like a row. Raises InputFileError."""
    value = _loads(path, line, field, text)
    check_value(path, line, field, value)
    return value


def _loads(path: str | Path, line: int | None, field: str | None, text: str) -> Any:
    """json.loads, its failures as InputFileError naming the place."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(str(path), line, field, f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise InputFileError(str(path), line, field, _TOO_DEEP) from exc
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        limit = sys.get_int_max_str_digits()
        raise InputFileError(str(path), line, field, f"holds a number of more than {limit} digits") from exc


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Parquet rows; the "line" is the row number. Text columns are decoded one by one, so an
    undecodable value names its column and row."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputFileError(str(path), None, None, f"not a readable Parquet file: {exc}") from exc
    columns = {name: _parquet_column(path, name, table.column(name)) for name in table.column_names}
    for index in range(table.num_rows):
        yield index + 1, {name: values[index] for name, values in columns.items()}


def _parquet_column(path: Path, name: str, column: Any) -> list[Any]:
    """One column as Python values; text and binary columns decoded as UTF-8 (binary is not text)."""
    import pyarrow as pa

    kind = column.type
    is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    is_binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind) \
        or pa.types.is_fixed_size_binary(kind)
    if is_text or is_binary:
        raw = column.cast(pa.large_binary()) if is_text else column
        values = []
        for index, value in enumerate(raw.to_pylist(), start=1):
            try:
                values.append(value.decode("utf-8") if value is not None else None)
            except UnicodeDecodeError as exc:
                raise InputFileError(str(path), index, name, f"not UTF-8 text (byte {exc.start})") from exc
        return values
    try:
        return column.to_pylist()
    except UnicodeDecodeError as exc:  # text nested in a list or struct column
        raise InputFileError(str(path), None, name, "holds text that is not UTF-8") from exc


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
            row = _loads(path, number, None, line)
            if not isinstance(row, dict):
                raise InputFileError(str(path), number, None, f"expected a JSON object, got {type(row).__name__}")
            yield number, row


def _read_csv(path: Path, max_line_bytes: int, delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), None, None, f"not UTF-8 text (byte {exc.start})") from exc
    csv.field_size_limit(max(max_line_bytes, 131072) * 2)
    # strict: a quote that is never closed is an error, not a field that swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1  # the line where the record being read begins: where a runaway quote opened
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
        if "unexpected end of data" in str(exc):
            message = "not valid CSV: a quoted field opens on this line and is never closed"
        else:
            message = f"not valid CSV: {exc}" + (f" (in the record from this line to line {reader.line_num})"
                                                 if reader.line_num > start else "")
        raise InputFileError(str(path), start, None, message) from exc
