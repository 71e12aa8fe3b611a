"""Failure notes: from refinements (tags, rationale, confirmed findings, edits) and from files.

Each note keeps where it came from (source) and links to task, draft, model, prompt
version, domain, kind and reviewer. Ids are derived from the origin, so turning the same
refinement (or importing the same file) twice gives the same notes, not new ones.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, Field

from oversight.errors import InputFileError, StructuredOutputError
from oversight.schemas import Critique, DiffOp, Draft, FailureNote, NoteSource, Refinement, Task, text_hash

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt

__all__ = [
    "EditExplainer",
    "EditNoteCache",
    "LLMEditExplainer",
    "describe_edit",
    "edit_hash",
    "gather_or_cancel",
    "llm_edit_explainer",
    "load_note_file",
    "notes_from_refinement",
    "significant_edits",
    "split_sentences",
]

T = TypeVar("T")

MAX_EDIT_NOTES = 8  # per refinement: a full rewrite would otherwise flood the notes (and the model)

# Explains edits no rationale covers: takes (draft text, edits) and returns one sentence per edit.
EditExplainer = Callable[[str, list[DiffOp]], Awaitable[list[str]]]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(
    ["a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "by", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "as", "from", "not", "no", "so", "than", "then", "there", "their", "they", "he", "she", "his", "her", "i", "we", "you"]
)


def split_sentences(text: str) -> list[str]:
    """Sentences of a rationale (or a line each, when it is a list)."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*• ").strip()
        out.extend(s.strip() for s in _SENTENCE.split(line) if len(s.strip()) > 2)
    return out


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def significant_edits(diff: Sequence[DiffOp]) -> list[DiffOp]:
    """The edits that change words (not only spacing or punctuation)."""
    return [op for op in diff if op.op != "equal" and _words(op.before) ^ _words(op.after)]


def describe_edit(op: DiffOp, limit: int = 160) -> str:
    """A plain statement of an edit, used when no model explains it."""

    def short(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    if op.op == "delete":
        return f'Removed "{short(op.before)}"'
    if op.op == "insert":
        return f'Added "{short(op.after)}"'
    return f'Replaced "{short(op.before)}" with "{short(op.after)}"'


def _covered(op: DiffOp, rationale: list[str]) -> bool:
    """Does a rationale sentence speak about this edit? (two shared content words)"""
    changed = _words(op.before) | _words(op.after)
    return any(len(changed & _words(sentence)) >= 2 for sentence in rationale)


async def notes_from_refinement(
    refinement: Refinement,
    *,
    task: Task | None = None,
    draft: Draft | None = None,
    critique: Critique | None = None,
    explain_edits: EditExplainer | None = None,
) -> list[FailureNote]:
    """The failure notes of one refinement; accepted and skipped drafts give none.

    Only ``explain_edits`` may call a model (for edits no rationale sentence covers). Raises LLMError.
    """
    if refinement.decision in ("accept", "skip"):
        return []
    links: dict[str, Any] = {
        "refinement_id": refinement.id,
        "task_id": refinement.task_id,
        "draft_id": refinement.draft_id,
        "model": draft.model if draft else None,
        "prompt_version": draft.prompt_version if draft else None,
        "domain": task.domain if task else None,
        "kind": task.kind if task else None,
        "reviewer": refinement.reviewer,
        "created_at": refinement.created_at,
        "metadata": {"decision": refinement.decision},
    }

    def note(source: NoteSource, position: str, text: str, **extra: Any) -> FailureNote:
        fields = {**links, **extra, "metadata": {**links["metadata"], **extra.get("metadata", {})}}
        return FailureNote(id=FailureNote.derive_id(refinement.id, position, text), text=text, source=source, **fields)

    notes = [note("tag", f"tag:{tag}", tag.replace("-", " ")) for tag in refinement.tags]
    rationale = split_sentences(refinement.rationale)
    notes += [note("rationale", f"rationale:{i}", s) for i, s in enumerate(rationale)]
    if critique is not None:
        for verdict in refinement.finding_verdicts:
            if verdict.verdict == "right" and verdict.finding < len(critique.findings):
                finding = critique.findings[verdict.finding]
                notes.append(
                    note("finding", f"finding:{verdict.finding}", finding.issue, severity=finding.severity)
                )
    notes += await _edit_notes(refinement, draft, rationale, explain_edits, note)
    return notes


async def _edit_notes(
    refinement: Refinement,
    draft: Draft | None,
    rationale: list[str],
    explain_edits: EditExplainer | None,
    note: Callable[..., FailureNote],
) -> list[FailureNote]:
    edits = [op for op in significant_edits(refinement.diff) if not _covered(op, rationale)]
    if len(edits) > MAX_EDIT_NOTES:  # a rewrite: keep the largest edits, in text order
        largest = sorted(range(len(edits)), key=lambda i: -len(_words(edits[i].before) ^ _words(edits[i].after)))
        edits = [edits[i] for i in sorted(largest[:MAX_EDIT_NOTES])]
    if not edits:
        return []
    if explain_edits is not None and draft is not None:
        sentences = await explain_edits(draft.text, edits)
        named_by = "llm"
    else:
        sentences = [describe_edit(op) for op in edits]
        named_by = "diff"
    return [
        note("edit", f"edit:{i}", sentence, metadata={"edit": op.model_dump(), "explained_by": named_by})
        for i, (op, sentence) in enumerate(zip(edits, sentences, strict=True))
        if sentence.strip()
    ]


# What the model returns for one edit. No docstring: it would enter the JSON schema sent with
# every request (and the recorded requests would no longer match).
class EditNote(BaseModel):
    note: str = Field(description="One sentence: what was wrong in the draft that this edit fixed.")


class EditNoteCache(Protocol):
    """Where paid edit explanations are kept (the store): read before a call, written right after it."""

    def edit_explanations(
        self, model: str, prompt_version: str, draft_hash: str, edit_hashes: Iterable[str]
    ) -> dict[str, str]: ...

    def save_edit_explanation(
        self, model: str, prompt_version: str, draft_hash: str, edit_hash: str, sentence: str
    ) -> str: ...


def edit_hash(op: DiffOp) -> str:
    """The cache key of an edit: its kind, before and after."""
    return text_hash(json.dumps([op.op, op.before, op.after]))


@dataclass(frozen=True)
class LLMEditExplainer:
    """An ``EditExplainer`` that asks the model (``prompt``: edit_note), one sentence per edit, what it fixed.

    With a ``cache``, an answer already paid for (same model, prompt version, draft text and
    edit) is not asked again, and each new answer is kept the moment it arrives.
    """

    llm: LLM
    prompt: Prompt
    cache: EditNoteCache | None = None

    def with_cache(self, cache: EditNoteCache) -> LLMEditExplainer:
        """The same explainer, keeping its answers in ``cache``."""
        return replace(self, cache=cache)

    async def __call__(self, draft_text: str, edits: list[DiffOp]) -> list[str]:
        """One sentence per edit. Raises LLMError (an answer that never fits the schema states the edit plainly)."""
        keys = [edit_hash(op) for op in edits]
        draft_key = text_hash(draft_text)
        known: dict[str, str] = {}
        if self.cache is not None:
            known = await asyncio.to_thread(
                self.cache.edit_explanations, self.llm.model, self.prompt.version, draft_key, keys)

        async def one(op: DiffOp, key: str) -> str:
            if key in known:
                return known[key]
            sentence = await self._ask(draft_text, op)
            if self.cache is None:
                return sentence
            return await _finish(asyncio.to_thread(
                self.cache.save_edit_explanation, self.llm.model, self.prompt.version, draft_key, key, sentence))

        return await gather_or_cancel([one(op, key) for op, key in zip(edits, keys, strict=True)])

    async def _ask(self, draft_text: str, op: DiffOp) -> str:
        messages = self.prompt.render(draft=draft_text[:4000], before=op.before, after=op.after, op=op.op)
        try:
            value, _ = await self.llm.structured(messages, EditNote, **self.prompt.params)
        except StructuredOutputError:  # an unusable answer: state the edit plainly instead
            return describe_edit(op)
        return " ".join(value.note.split()) or describe_edit(op)


def llm_edit_explainer(llm: LLM, prompt: Prompt, *, cache: EditNoteCache | None = None) -> LLMEditExplainer:
    """An explainer that asks the model (``prompt``: edit_note), one sentence per edit, what the edit fixed.

    An answer that never fits the schema becomes a plain statement of the edit; other model
    failures raise LLMError. ``collect_notes`` gives it the store as ``cache``.
    """
    return LLMEditExplainer(llm, prompt, cache)


async def _finish(work: Awaitable[T]) -> T:
    """Await ``work`` to the end even if the caller is cancelled meanwhile (then re-raise the cancel):
    a paid answer on its way into the store must land."""
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def gather_or_cancel(jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run ``jobs`` concurrently, results in order; the first failure cancels the rest, waits
    for them to stop, and is raised as itself (not as an ExceptionGroup)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


# -- import of existing critique data --------------------------------------------------


def load_note_file(
    path: str | Path,
    *,
    text_field: str,
    id_field: str | None = None,
    meta_fields: Sequence[str] = (),
) -> list[FailureNote]:
    """Read failure notes from a JSONL or CSV file. Raises InputFileError on the first bad row.

    The whole file is checked before anything is returned, so a bad file changes nothing.
    """
    from oversight.files import read_rows

    path = Path(path)
    notes: list[FailureNote] = []
    seen: dict[str, int] = {}
    checked_fields = False
    for line, row in read_rows(path):
        if not checked_fields:
            for name in [text_field, *([id_field] if id_field else []), *meta_fields]:
                if name not in row:
                    raise InputFileError(str(path), line, name, "no such field in the file")
            checked_fields = True
        notes.append(_note_from_row(path, line, row, text_field, id_field, meta_fields, seen))
    if not notes:
        raise InputFileError(str(path), None, None, "the file holds no rows")
    return notes


def _note_from_row(
    path: Path,
    line: int,
    row: dict[str, Any],
    text_field: str,
    id_field: str | None,
    meta_fields: Sequence[str],
    seen: dict[str, int],
) -> FailureNote:
    text = row.get(text_field)
    if not isinstance(text, str):
        what = "is missing" if text is None else f"must be text, got {type(text).__name__}"
        raise InputFileError(str(path), line, text_field, what)
    if not text.strip():
        raise InputFileError(str(path), line, text_field, "is blank")
    external = None
    if id_field:
        value = row.get(id_field)
        if value is None or isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
            raise InputFileError(str(path), line, id_field, f"must be text or a whole number, got {value!r}")
        external = str(value).strip()
        if external in seen:
            raise InputFileError(str(path), line, id_field, f"id {external!r} repeats line {seen[external]}")
        seen[external] = line
    metadata: dict[str, Any] = {}
    for name in meta_fields:
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
    return FailureNote(
        id=FailureNote.derive_id(path.name, position, text.strip()),
        text=text.strip(),
        source="import",
        external_id=external,
        import_source=str(path.name),
        metadata={**metadata, "line": line},
        severity=severity,
        **links,
    )


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
