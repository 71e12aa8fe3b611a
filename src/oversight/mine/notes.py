"""Failure notes from refinements: tags, rationale, confirmed findings and edits (files: note_files.py).

Each note keeps where it came from (source) and links to task, draft, model, prompt
version, domain, kind and reviewer (and whether the reviewer was simulated). Ids are derived
from the origin, so turning the same refinement (or importing the same file) twice gives
the same notes, not new ones.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, Field

from oversight._aio import finish_even_if_cancelled, gather_or_cancel
from oversight.errors import StructuredOutputError
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
    "edits_of",
    "llm_edit_explainer",
    "notes_from_refinement",
    "significant_edits",
    "split_sentences",
]

T = TypeVar("T")

MAX_EDIT_NOTES = 8  # per refinement: a full rewrite would otherwise flood the notes (and the model)
# Two changes with at most this many unchanged words between them are one edit: a trainer who
# rewrites "won the battle in 1861" to "lost the siege of 1862" made one edit, not three.
EDIT_GAP_WORDS = 2

# Explains edits no rationale covers: takes (draft text, edits) and returns one sentence per edit.
EditExplainer = Callable[[str, list[DiffOp]], Awaitable[list[str]]]

# A sentence ends at . ! or ? before a capital, a digit, a quote or a bracket; not after an abbreviation
# that is usually followed by one ("No. 2", "Dr. Watson", "St. Louis", "e.g. Paris", "U.S. Army").
_ABBREVIATION = r"(?<!\bNo\.)(?<!\bno\.)(?<!\bNos\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bMt\.)(?<!\bvs\.)(?<!e\.g\.)(?<!i\.e\.)(?<!\b[A-Z]\.)"
_SENTENCE = re.compile(rf"(?<=[.!?]){_ABBREVIATION}\s+(?=[A-Z0-9\"'(])")
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


_GAP_WORD = re.compile(r"\w+")


def edits_of(diff: Sequence[DiffOp], gap: int = EDIT_GAP_WORDS) -> list[tuple[DiffOp, int]]:
    """The edits a trainer made, each with its character offset in the draft.

    A word diff splits one rewrite at every word it kept ("won" -> "lost", "battle" -> "siege
    of", with "the" unchanged between): changes separated by at most ``gap`` unchanged words
    (punctuation and spaces count for none) are joined into one edit that spans them, the kept
    words included. Measured on FineGrainedRLHF's post-edits: a third as many edits, each
    overlapping one annotated error span more often (bench/bench_mine_quality.py). Edits that
    change no word (spacing, punctuation) are left out, as ``significant_edits`` does.
    """
    starts, offset = [], 0
    for op in diff:
        starts.append(offset)
        offset += len(op.before)
    groups: list[tuple[list[DiffOp], int]] = []
    bridged = False  # the last op was a short unchanged run between two changes
    for k, op in enumerate(diff):
        if op.op == "equal":
            bridged = (0 < k < len(diff) - 1 and diff[k - 1].op != "equal" and diff[k + 1].op != "equal"
                       and len(_GAP_WORD.findall(op.before)) <= gap)
            if bridged:
                groups[-1][0].append(op)
            continue
        if bridged:
            groups[-1][0].append(op)
        else:
            groups.append(([op], starts[k]))
        bridged = False
    edits = []
    for ops, start in groups:
        if len(ops) == 1:
            edit = ops[0]
        else:
            before, after = "".join(o.before for o in ops), "".join(o.after for o in ops)
            kind = "replace" if before.strip() and after.strip() else "delete" if before.strip() else "insert"
            edit = DiffOp(op=kind, before=before, after=after)
        if significant_edits([edit]):
            edits.append((edit, start))
    return edits


def describe_edit(
    op: DiffOp,
    limit: int = 160,
    *,
    draft: str | None = None,
    start: int | None = None,
    context: str | None = None,
    prompt: str | None = None,
) -> str:
    """A plain statement of an edit, used when no model explains it: its kind and shape, then its words.

    The shape says what kind of failure the edit fixed whatever the subject: how much (a word, a
    phrase, a whole sentence), cut down or replaced, a number changed; with ``draft`` and
    ``start`` (the edit's character offset in it) where it was and whether it repeated the
    draft; with ``context`` (the passage the output should rest on) whether the removed words
    were in it and the added ones came from it; with ``prompt`` (the task's question) whether
    the removed words share none of its words. E.g. ``Removed a whole sentence at the end, not
    in the context: "…"`` or ``Changed a number: "1861" to "1862"``.
    """

    def short(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    before, after = short(op.before), short(op.after)
    if op.op == "replace" and _DIGITS.search(op.before) and _DIGITS.sub("N", op.before) == _DIGITS.sub("N", op.after):
        return f'Changed a number: "{before}" to "{after}"'
    span = op.after if op.op == "insert" else op.before
    size = _size(span, draft, start, op)
    place = _place(op, draft, start) + _flags(op, draft, start, context, prompt)
    if op.op == "delete":
        return f'Removed {size}{place}: "{before}"'
    if op.op == "insert":
        return f'Added {size}{place}: "{after}"'
    words_before, words_after = len(op.before.split()), len(op.after.split())
    other = _count(op.after)
    if words_before >= 4 and words_after * 3 <= words_before:  # mostly a removal
        # "a phrase down to a phrase" says nothing of the cut: twelve words to four is a shorter phrase
        kept = f"a shorter {other.split()[-1]}" if other == _count(op.before) else other
        return f'Cut {size} down to {kept}{place}: "{before}" to "{after}"'
    return f'Replaced {size}{"" if other == size else " with " + other}{place}: "{before}" with "{after}"'


_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE_END = (".", "!", "?", ".\"", "!\"", "?\"")


def _count(text: str) -> str:
    count = len(text.split())
    if count <= 1:
        return "a word"
    if count <= 3:
        return "a few words"
    return "a phrase" if count <= 12 else "a long passage"


def _size(span: str, draft: str | None, start: int | None, op: DiffOp) -> str:
    """How much: a word ... a long passage, or whole sentences when the span starts and ends one."""
    if draft is None or start is None or not draft.strip() or len(span.split()) < 4:
        return _count(span)
    before_text = draft[:start].rstrip()
    ends = span.rstrip().endswith(_SENTENCE_END) or start + len(op.before) >= len(draft.rstrip())
    if (not before_text or before_text.endswith(_SENTENCE_END)) and ends:
        return "a whole sentence" if len(_SENTENCE.split(span.strip())) <= 1 else "several whole sentences"
    return _count(span)


def _place(op: DiffOp, draft: str | None, start: int | None) -> str:
    if draft is None or start is None or not draft.strip():
        return ""
    where, length = start / len(draft), len(op.before) / len(draft)
    return " at the start" if where < 0.2 else " at the end" if where + length > 0.9 else " in the middle"


def _flags(op: DiffOp, draft: str | None, start: int | None, context: str | None, prompt: str | None = None) -> str:
    """What the removed words had to do with the rest of the draft, the context and the prompt."""
    removed = _words(op.before) - _words(op.after)
    added = _words(op.after) - _words(op.before)
    flags = []
    if draft is not None and start is not None and len(removed) >= 3:
        rest = _words(draft[:start] + draft[start + len(op.before):])
        if len(removed & rest) >= 0.8 * len(removed):
            flags.append("repeating the draft")
    if context and context.strip():
        known = _words(context)
        if len(removed) >= 3 and len(removed & known) < 0.5 * len(removed):
            flags.append("not in the context")
        if len(added) >= 2 and len(added & known) >= 0.8 * len(added):
            flags.append("from the context")
    asked = _words(prompt or "")
    if len(asked) >= 2 and len(removed) >= 3 and not removed & asked:
        flags.append("sharing no word with the prompt")
    return "".join(f", {flag}" for flag in flags)


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
        "simulated": refinement.simulated,  # mined alike, marked in the report
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
    notes += await _edit_notes(refinement, draft, rationale, explain_edits, note,
                               context=task.context if task else None, prompt=task.prompt if task else None)
    return notes


async def _edit_notes(
    refinement: Refinement,
    draft: Draft | None,
    rationale: list[str],
    explain_edits: EditExplainer | None,
    note: Callable[..., FailureNote],
    *,
    context: str | None = None,
    prompt: str | None = None,
) -> list[FailureNote]:
    placed = [(op, at) for op, at in edits_of(refinement.diff) if not _covered(op, rationale)]
    if len(placed) > MAX_EDIT_NOTES:  # a rewrite: keep the largest edits, in text order
        largest = sorted(range(len(placed)), key=lambda i: -len(_words(placed[i][0].before) ^ _words(placed[i][0].after)))
        placed = [placed[i] for i in sorted(largest[:MAX_EDIT_NOTES])]
    if not placed:
        return []
    edits = [op for op, _ in placed]
    draft_text = draft.text if draft is not None else None
    if explain_edits is not None and draft is not None:
        sentences = await explain_edits(draft.text, edits)
        named_by = "llm"
    else:
        sentences = [describe_edit(op, draft=draft_text, start=at, context=context, prompt=prompt) for op, at in placed]
        named_by = "diff"
    return [
        note("edit", f"edit:{i}", sentence,
             metadata={"edit": {**op.model_dump(), "start": at}, "explained_by": named_by})
        for i, ((op, at), sentence) in enumerate(zip(placed, sentences, strict=True))
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
            return await finish_even_if_cancelled(asyncio.to_thread(
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
    failures raise LLMError. ``collect_failure_notes`` gives it the store as ``cache``.
    """
    return LLMEditExplainer(llm, prompt, cache)
