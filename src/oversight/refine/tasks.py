"""Task files: JSONL, CSV or Parquet in, validated Task records out, with the drafts some came with.

Every error names the file, the line and the field, on one line. ``read_tasks`` hands tasks on
one at a time (memory stays flat) to a caller that writes them in one transaction, so a bad row
rolls back every row before it; ``load_tasks`` checks the whole file before it returns. Either way
a bad file leaves the store as it was.

A task can arrive with its draft (a production model's answer, to be reviewed rather than
drafted again): from a column named by ``draft_field``, or as a chat line
(``{"messages": [...]}``, the format of production logs and fine-tuning sets) whose last
message, an assistant turn, is the draft and whose turns before it are the task.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from oversight.errors import InputFileError
from oversight.files import parse_json_cell, read_rows, text_field
from oversight.schemas import IMPORTED, Draft, ImportOrigin, Task, content_hash

__all__ = ["CHAT_ROLES", "TASK_FIELDS", "TaskRow", "imported_draft", "load_tasks", "read_tasks"]

TASK_FIELDS = ("id", "prompt", "input", "context", "domain", "kind", "reference", "metadata")
_TEXT_FIELDS = ("prompt", "input", "context", "domain", "kind", "reference")
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool")
_MESSAGES = "messages"  # a chat line's field
_MAX_MODEL_CHARS = 300  # the store's model column


class TaskRow(NamedTuple):
    """One task of a file, with the draft it came with (None: it is to be drafted)."""

    line: int
    task: Task
    draft: Draft | None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def imported_draft(task_id: str, text: str, *, model: str, file: str, line: int, critique: bool = True) -> Draft:
    """A draft that came with its task from ``file``: its id hashes (task, model, text), so a re-import
    finds it. ``critique=False``: it is to be reviewed without an AI critique."""
    return Draft(id="d_" + content_hash(task_id, model, text), task_id=task_id, model=model, prompt_name=IMPORTED,
                 prompt_version=IMPORTED, text=text,
                 imported_from=ImportOrigin(file=file, line=line, critique=critique))


def _task_from_row(path: Path, line: int, row: dict[str, Any], mapping: dict[str, str],
                   answer: tuple[str, str] | None = None) -> Task:
    """The task of one row; a row with no id gets one hashed from what it asks (and ``answer``: model, draft)."""
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
        data["id"] = Task.derive_id(data["prompt"], data.get("input"), data.get("context"), *(answer or ()))
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


# -- chat lines ------------------------------------------------------------------------------


def _is_chat(row: dict[str, Any], mapping: dict[str, str]) -> bool:
    """A chat line: messages and no prompt (a row with a prompt is a task whatever else it holds)."""
    return _MESSAGES in row and row.get(mapping.get("prompt", "prompt")) is None


def _content(path: Path, line: int, field: str, value: Any) -> str:
    """A message's content: text, or a list of text parts (``[{"type": "text", "text": ...}]``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(
            isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            for part in value):
        return "".join(part["text"] for part in value)
    got = "nothing" if value is None else _show(value)
    raise InputFileError(str(path), line, field, f"must be text or a list of text parts, got {got}")


def _turns(path: Path, line: int, value: Any) -> list[dict[str, str]]:
    """A chat line's messages as ``{"role", "content"}`` turns (content as text). Raises InputFileError naming the turn."""
    if isinstance(value, str) and value.lstrip().startswith("["):  # CSV: the messages as JSON in a cell
        value = parse_json_cell(path, line, _MESSAGES, value)
    if not isinstance(value, list) or not value:
        raise InputFileError(str(path), line, _MESSAGES,
                             f'must be a list of messages ({{"role": ..., "content": ...}}), got {_show(value)}')
    turns = []
    for index, message in enumerate(value):
        where = f"{_MESSAGES}[{index}]"
        if not isinstance(message, dict):
            raise InputFileError(str(path), line, where, f"must be an object with role and content, got {_show(message)}")
        role = message.get("role")
        if role not in CHAT_ROLES:
            raise InputFileError(str(path), line, f"{where}.role", f"must be one of {', '.join(CHAT_ROLES)}, got {_show(role)}")
        turns.append({"role": role, "content": _content(path, line, f"{where}.content", message.get("content"))})
    return turns


def _transcript(turns: list[dict[str, str]]) -> str:
    """The prompt of a chat task: a lone user turn as it is; else every turn, headed by its role."""
    if len(turns) == 1 and turns[0]["role"] == "user":
        return turns[0]["content"]
    return "\n\n".join(f"{turn['role'].capitalize()}: {turn['content']}" for turn in turns)


def _chat_row(path: Path, line: int, row: dict[str, Any], mapping: dict[str, str],
              draft_field: str | None) -> tuple[dict[str, Any], str | None]:
    """A chat line as a task row (the prompt its transcript, ``metadata.messages`` its turns) and its
    draft: the last message, an assistant turn (with ``draft_field``, the field's text: every message is the task)."""
    turns = _turns(path, line, row[_MESSAGES])
    draft = None
    if draft_field is None:
        last = len(turns) - 1
        if turns[last]["role"] != "assistant":
            raise InputFileError(str(path), line, _MESSAGES, "the last message must be an assistant turn (the draft "
                                 f"to review), not a {turns[last]['role']} turn")
        draft = turns.pop()["content"]
        if not draft.strip():
            raise InputFileError(str(path), line, f"{_MESSAGES}[{last}].content", "is blank: the draft to review has no words")
    if not any(turn["role"] == "user" for turn in turns):
        raise InputFileError(str(path), line, _MESSAGES, "no user turn before the draft: nothing asked it")
    task_row = {k: v for k, v in row.items() if k != _MESSAGES}
    task_row[mapping.get("prompt", "prompt")] = _transcript(turns)
    task_row[_MESSAGES] = turns  # kept in the task's metadata, as the file gave them
    return task_row, draft


# -- files -----------------------------------------------------------------------------------


def _row(path: Path, line: int, row: dict[str, Any], mapping: dict[str, str], draft_field: str | None,
         model_field: str | None, critique: bool) -> TaskRow:
    draft_text = None
    if _is_chat(row, mapping):
        row, draft_text = _chat_row(path, line, row, mapping, draft_field)
    if draft_field is not None:
        draft_text = text_field(path, line, row, draft_field)
    if draft_text is None:
        return TaskRow(line, _task_from_row(path, line, row, mapping), None)
    model = IMPORTED
    if model_field is not None:
        model = text_field(path, line, row, model_field).strip()
        if len(model) > _MAX_MODEL_CHARS:
            raise InputFileError(str(path), line, model_field, f"at most {_MAX_MODEL_CHARS} characters, got {len(model):,}")
    task_row = {k: v for k, v in row.items() if k not in (draft_field, model_field)}
    task = _task_from_row(path, line, task_row, mapping, answer=(model, draft_text))
    return TaskRow(line, task, imported_draft(task.id, draft_text, model=model, file=str(path), line=line,
                                              critique=critique))


def read_tasks(
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    draft_field: str | None = None,
    model_field: str | None = None,
    critique: bool = True,
) -> Iterator[TaskRow]:
    """Each task of a file in turn, validated, with the draft it came with. Raises InputFileError when
    it reaches a bad row (and, after the last, when the file holds no tasks).

    ``mapping`` maps a task field to the file's column (``{"prompt": "question"}``); columns that
    are not task fields are kept in the task's metadata. With ``draft_field`` every row holds its
    draft in that column, and ``model_field`` names the column of the model that wrote it (else
    the model is "import"). A chat line (``messages`` and no prompt) is a task with its draft: the
    last message, an assistant turn; the turns before it are the task (the prompt their transcript,
    ``metadata["messages"]`` the turns). ``critique=False``: the drafts are to be reviewed without
    an AI critique. A row with no id gets one hashed from its content (with its draft, if any),
    so a re-import finds the same tasks.
    """
    path = Path(path)
    mapping = dict(mapping or {})
    unknown = set(mapping) - set(TASK_FIELDS)
    if unknown:
        raise InputFileError(str(path), None, sorted(unknown)[0], f"not a task field (fields: {', '.join(TASK_FIELDS)})")
    first_line: dict[str, int] = {}
    drafts = 0
    for line, row in read_rows(path):
        if not first_line and draft_field is not None and draft_field not in row:
            raise InputFileError(str(path), line, draft_field, "no such field in the file")
        item = _row(path, line, row, mapping, draft_field, model_field, critique)
        task_id = item.task.id
        if task_id in first_line:
            raise InputFileError(
                str(path), line, mapping.get("id", "id"), f"duplicate id {task_id!r} (first on line {first_line[task_id]})"
            )
        first_line[task_id] = line
        drafts += item.draft is not None
        yield item
    if not first_line:
        raise InputFileError(str(path), None, None, "the file holds no tasks")
    if (model_field is not None or not critique) and not drafts:
        raise InputFileError(str(path), None, None, "no line holds a draft: name the field that holds them, "
                             'or give chat lines ({"messages": [...]}, an assistant turn last)')


def load_tasks(path: str | Path, *, mapping: dict[str, str] | None = None) -> list[Task]:
    """Read and validate every task in a file (``read_tasks`` without the drafts). Raises InputFileError."""
    return [item.task for item in read_tasks(path, mapping=mapping)]
