"""Post-editing data a team already has (model output and its human correction) as refinements.

Each row becomes a Task, a Draft (model "import") and a Refinement whose word diff the next
`oversight mine` reads into edit notes, like any trainer's. The whole file is checked before
anything is written; ids are derived from the file's own row id (with the file name) or, without
one, from the row's content, so importing the same file again adds nothing.

A ``source_field`` value becomes the task id. A task of that id that the store already holds
is the same item only when an earlier refinement import made it, or when its prompt is the
row's prompt (whitespace aside): then the row's refinement is added to it. Any other task of
that id (one in the review queue, say) is refused by file, line and field, with its state, and
nothing is written: an import never takes over an unrelated task.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from oversight.errors import InputFileError
from oversight.files import text_field
from oversight.refine.answers import word_diff
from oversight.refine.tasks import imported_draft
from oversight.schemas import IMPORTED, Draft, Refinement, Task, content_hash

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = ["IMPORT_MODEL", "ImportCounts", "ImportedRefinement", "import_refinements", "load_refinement_file"]

IMPORT_MODEL = IMPORTED  # the model, prompt name and prompt version of every imported post-edit's draft


@dataclass(frozen=True)
class ImportedRefinement:
    """One row of a post-editing file, as the records it becomes."""

    line: int
    external_id: str | None
    task: Task
    draft: Draft
    refinement: Refinement
    source_field: str | None = None  # the column the task id came from (None: derived from the row)


class ImportCounts(NamedTuple):
    added: int
    present: int


@dataclass(frozen=True)
class _Fields:
    draft: str
    refined: str
    id: str | None
    source: str | None
    tags: str | None
    rationale: str | None
    reviewer: str | None
    prompt: str | None
    context: str | None = None

    def named(self) -> list[str]:
        return [name for name in (self.draft, self.refined, self.id, self.source, self.tags, self.rationale,
                                  self.reviewer, self.prompt, self.context) if name]


def load_refinement_file(
    path: str | Path,
    *,
    draft_field: str,
    refined_field: str,
    id_field: str | None = None,
    source_field: str | None = None,
    tags_field: str | None = None,
    rationale_field: str | None = None,
    reviewer_field: str | None = None,
    prompt_field: str | None = None,
    context_field: str | None = None,
) -> list[ImportedRefinement]:
    """Read model outputs and their human corrections from a JSONL, CSV or Parquet file.

    ``source_field`` names the item each output answers (it becomes the task id, so several
    outputs can share a task); ``context_field`` the passage the output should rest on (the
    task's context: edit notes say whether removed words were in it). Raises InputFileError on the first bad row; the whole file is
    checked before anything is returned, so a bad file changes nothing.
    """
    from oversight.files import read_rows

    path = Path(path)
    fields = _Fields(draft_field, refined_field, id_field, source_field, tags_field, rationale_field,
                     reviewer_field, prompt_field, context_field)
    items: list[ImportedRefinement] = []
    seen_ids: dict[str, int] = {}
    for line, row in read_rows(path):
        if not items:
            for name in fields.named():
                if name not in row:
                    raise InputFileError(str(path), line, name, "no such field in the file")
        items.append(_item(path, line, row, fields, seen_ids))
    if not items:
        raise InputFileError(str(path), None, None, "the file holds no rows")
    return items


def import_refinements(store: Store, items: Iterable[ImportedRefinement], *, source_file: str | Path) -> ImportCounts:
    """Keep the tasks, drafts and refinements of ``items`` in one transaction; return (added, present).

    Records whose ids exist are left alone (several rows of one source item share its task:
    the first row's wins); each task with a new refinement ends ``refined``. Raises InputFileError
    naming the first row whose source id is a different task already in the store, or StoreError
    (either way nothing is written).
    """
    items = list(items)
    _refuse_takeovers(store, items, Path(source_file))
    added, present = store.add_finished_work(
        [(item.task, item.draft, item.refinement) for item in items], source=Path(source_file).name
    )
    return ImportCounts(added, present)


def _refuse_takeovers(store: Store, items: list[ImportedRefinement], path: Path) -> None:
    """Raise InputFileError for the first row whose source id names a task that is not its own item."""
    named = [item for item in items if item.source_field is not None]
    existing = {task.id: task for task in store.tasks({item.task.id for item in named})} if named else {}
    if not existing:
        return
    states = {s.task_id: s.state for s in store.task_states(None, list(existing))}
    for item in sorted(named, key=lambda item: item.line):
        task = existing.get(item.task.id)
        if task is not None and not _same_item(task, item.task):
            raise InputFileError(
                str(path), item.line, item.source_field,
                f"task {task.id!r} is already in the store ({states.get(task.id, 'no state')}) with another prompt: "
                "importing would take it over (give the row a source id of its own, or name the task's own prompt "
                "with --prompt-field)")


def _same_item(stored: Task, imported: Task) -> bool:
    """A stored task is the row's item: an earlier refinement import made it, or it asks the same."""
    return "import_source" in stored.metadata or " ".join(stored.prompt.split()) == " ".join(imported.prompt.split())


def _item(path: Path, line: int, row: dict[str, Any], fields: _Fields, seen_ids: dict[str, int]) -> ImportedRefinement:
    draft_text = text_field(path, line, row, fields.draft)
    refined_text = text_field(path, line, row, fields.refined)
    external = None
    if fields.id:
        external = _key(path, line, row, fields.id)
        if external in seen_ids:
            raise InputFileError(str(path), line, fields.id, f"id {external!r} repeats line {seen_ids[external]}")
        seen_ids[external] = line
    source = _key(path, line, row, fields.source) if fields.source else None
    prompt = text_field(path, line, row, fields.prompt) if fields.prompt else f"(imported: {path.name})"
    tags = _tags(path, line, row, fields.tags) if fields.tags else []
    rationale = _optional_text(path, line, row, fields.rationale) or ""
    reviewer = _optional_text(path, line, row, fields.reviewer) or "anonymous"
    context = _optional_text(path, line, row, fields.context)

    # the row's identity: the file's own id within this file, else what the row says
    row_key = ["id", path.name, external] if external is not None else ["content", source, prompt, draft_text,
                                                                         refined_text]
    task_id = source if source is not None and len(source) <= 200 else "t_" + content_hash(
        "import", source if source is not None else row_key)
    metadata: dict[str, Any] = {"import_source": path.name, "line": line}
    if external is not None:
        metadata["external_id"] = external
    if source is not None:
        metadata["source_item"] = source
    task = Task(id=task_id, prompt=prompt, context=context, metadata=metadata)
    draft = imported_draft(task_id, draft_text, model=IMPORT_MODEL, file=path.name, line=line)
    same = " ".join(draft_text.split()) == " ".join(refined_text.split())
    refinement = Refinement(
        id="r_" + content_hash("import", row_key), task_id=task_id, draft_id=draft.id,
        decision="accept" if same else "edit", refined_text=refined_text, diff=word_diff(draft_text, refined_text),
        tags=tags, rationale=rationale, reviewer=reviewer,
    )
    return ImportedRefinement(line, external, task, draft, refinement,
                              source_field=fields.source if source is not None and task_id == source else None)


def _optional_text(path: Path, line: int, row: dict[str, Any], field: str | None) -> str | None:
    if not field or row.get(field) is None:
        return None
    return text_field(path, line, row, field, blank_ok=True).strip() or None


def _key(path: Path, line: int, row: dict[str, Any], field: str) -> str:
    """An id or source item: text or a whole number, not blank."""
    value = row.get(field)
    if value is None:
        raise InputFileError(str(path), line, field, "is missing")
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise InputFileError(str(path), line, field, f"must be text or a whole number, got {value!r}")
    return str(value).strip()


def _tags(path: Path, line: int, row: dict[str, Any], field: str) -> list[str]:
    """Tags: a list of text, or one text of comma-separated tags (a CSV cell)."""
    value = row.get(field)
    if value is None:
        return []
    if isinstance(value, str):
        return [tag.strip() for tag in value.split(",") if tag.strip()]
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return [tag.strip() for tag in value if tag.strip()]
    raise InputFileError(str(path), line, field, f"must be text or a list of text, got {type(value).__name__}")
