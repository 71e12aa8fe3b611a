"""Failure notes from files: existing review or critique data (`oversight notes import`).

Each row becomes a FailureNote; ``--source-field`` names the item the note is about (its
subject, which the miner discounts), ``--before-field``/``--after-field`` make it an edit note.
The whole file is checked before anything is returned, so a bad file changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight.errors import InputFileError
from oversight.mine.notes import describe_edit
from oversight.schemas import DiffOp, FailureNote

__all__ = ["load_note_file"]



def load_note_file(
    path: str | Path,
    *,
    text_field: str | None = None,
    id_field: str | None = None,
    meta_fields: Sequence[str] = (),
    source_field: str | None = None,
    before_field: str | None = None,
    after_field: str | None = None,
) -> list[FailureNote]:
    """Read failure notes from a JSONL or CSV file. Raises InputFileError on the first bad row.

    ``source_field`` names the item each note is about (kept as ``metadata["subject"]``, read
    back as ``note.subject``); every row must name one. With ``before_field`` and
    ``after_field`` (both or neither) each row is a human edit: the notes are edit notes
    (``metadata["edit"]``: op, before, after), their text the ``text_field`` when given, else a
    plain statement of the edit. Raises ValueError when the fields asked for do not fit together.
    The whole file is checked before anything is returned, so a bad file changes nothing.
    """
    from oversight.files import read_rows

    text_field, source_field, before_field, after_field = (name or None for name in (text_field, source_field,
                                                                                     before_field, after_field))
    if (before_field is None) != (after_field is None):
        given, other = ("before_field", "after_field") if before_field else ("after_field", "before_field")
        raise ValueError(f"{given} needs {other}: an edit is the span before and the span after")
    if text_field is None and before_field is None:
        raise ValueError("name the note text (text_field) or the edit (before_field and after_field)")
    fields = _NoteFields(text_field, id_field, tuple(meta_fields), source_field, before_field, after_field)
    path = Path(path)
    notes: list[FailureNote] = []
    seen: dict[str, int] = {}
    checked_fields = False
    for line, row in read_rows(path):
        if not checked_fields:
            for name in fields.named():
                if name not in row:
                    raise InputFileError(str(path), line, name, "no such field in the file")
            checked_fields = True
        notes.append(_note_from_row(path, line, row, fields, seen))
    if not notes:
        raise InputFileError(str(path), None, None, "the file holds no rows")
    return notes


@dataclass(frozen=True)
class _NoteFields:
    """The columns of a note file that ``load_note_file`` was asked to read."""

    text: str | None
    id: str | None
    meta: tuple[str, ...]
    source: str | None
    before: str | None
    after: str | None

    def named(self) -> list[str]:
        return [name for name in (self.text, self.id, self.source, self.before, self.after, *self.meta) if name]


def _note_from_row(
    path: Path, line: int, row: dict[str, Any], fields: _NoteFields, seen: dict[str, int]
) -> FailureNote:
    edit = _edit_from_row(path, line, row, fields.before, fields.after) if fields.before and fields.after else None
    if fields.text is not None:
        text = _row_text(path, line, row, fields.text)
        if not text.strip():
            raise InputFileError(str(path), line, fields.text, "is blank")
        text = text.strip()
    else:
        assert edit is not None  # load_note_file asks for a text field or an edit
        text = describe_edit(edit)
    external = None
    if fields.id:
        value = row.get(fields.id)
        if value is None or isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
            raise InputFileError(str(path), line, fields.id, f"must be text or a whole number, got {value!r}")
        external = str(value).strip()
        if external in seen:
            raise InputFileError(str(path), line, fields.id, f"id {external!r} repeats line {seen[external]}")
        seen[external] = line
    subject = _subject(path, line, row, fields.source) if fields.source else None
    metadata: dict[str, Any] = {}
    for name in fields.meta:
        value = row.get(name)
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InputFileError(str(path), line, name, f"must be a plain value, got {type(value).__name__}")
        metadata[name] = value
    severity = metadata.get("severity")
    if severity is not None and severity not in ("low", "medium", "high"):
        raise InputFileError(str(path), line, "severity", f"must be low, medium or high, got {severity!r}")
    when = _timestamp(path, line, metadata.get("created_at"))
    position = external if external is not None else f"line:{line}"
    links: dict[str, Any] = {k: _text_or_none(metadata.get(k)) for k in ("model", "prompt_version", "domain", "kind",
                                                                            "task_id")}
    if when is not None:
        links["created_at"] = when
    if subject is not None:
        metadata["subject"] = subject
    if edit is not None:
        metadata["edit"] = edit.model_dump()
    return FailureNote(
        id=FailureNote.derive_id(path.name, position, text),
        text=text,
        source="edit" if edit is not None else "import",
        external_id=external,
        import_source=str(path.name),
        metadata={**metadata, "line": line},
        severity=severity,
        **links,
    )


def _row_text(path: Path, line: int, row: dict[str, Any], field: str) -> str:
    """The text of ``field`` (possibly blank). Raises InputFileError when it is missing or not text."""
    value = row.get(field)
    if not isinstance(value, str):
        what = "is missing" if value is None else f"must be text, got {type(value).__name__}"
        raise InputFileError(str(path), line, field, what)
    return value


def _subject(path: Path, line: int, row: dict[str, Any], field: str) -> str:
    """The item a note is about: text or a whole number, not blank (an empty CSV cell is blank)."""
    if field not in row:
        raise InputFileError(str(path), line, field, "is missing")
    value = row[field]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputFileError(str(path), line, field, "is blank")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputFileError(str(path), line, field, f"must be text or a whole number, got {value!r}")
    return str(value).strip()


def _span(path: Path, line: int, row: dict[str, Any], field: str) -> str:
    """One side of an edit: text, blank when there is none (an empty CSV cell or a JSON null)."""
    if field not in row:
        raise InputFileError(str(path), line, field, "is missing")
    value = row[field]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputFileError(str(path), line, field, f"must be text, got {type(value).__name__}")
    return value.strip()


def _edit_from_row(path: Path, line: int, row: dict[str, Any], before_field: str, after_field: str) -> DiffOp:
    """One human edit: the span before and the span after (a blank side makes it an insert or a delete)."""
    before, after = (_span(path, line, row, name) for name in (before_field, after_field))
    if not before and not after:
        raise InputFileError(str(path), line, before_field, "both before and after are blank")
    if not before:
        return DiffOp(op="insert", before="", after=after)
    if not after:
        return DiffOp(op="delete", before=before, after="")
    return DiffOp(op="replace", before=before, after=after)


def _timestamp(path: Path, line: int, value: Any) -> datetime | None:
    """An ISO date or time from a ``created_at`` meta field (UTC when it names no zone)."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InputFileError(str(path), line, "created_at", f"not an ISO date or time: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
