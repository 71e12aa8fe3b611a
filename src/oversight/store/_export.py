"""Refinements read for export: a chunk at a time, each chunk one query joined with its tasks, drafts
and critiques, so that exporting a million refinements holds one chunk in memory, never the store.

Chunks follow each other by keyset on ``(created_at, id)`` (the ``ix_refinements_created`` index):
each one is a seek past the last row read, not an OFFSET that rereads what came before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, select, tuple_

from oversight.store import tables as t
from oversight.store._base import StoreBase, chunks

__all__ = ["ExportRecords", "ExportSelection", "JoinedRefinement"]

CHUNK_ROWS = 1000  # refinements per query: a few MB of records, whatever the store's size


@dataclass(frozen=True)
class ExportSelection:
    """Which refinements an export reads (an empty tuple or None: no filter on that).

    ``batches`` are tasks' sources (the file or batch they were imported from); ``pattern_ids``
    keep refinements with a failure note among the members of one of these patterns in the last
    mining run; ``since`` is inclusive, ``until`` exclusive. ``trusted`` (a trust decision,
    ``oversight.review.qualify.trusted_reviewers``): only these reviewers' work, even when empty;
    None: everyone's.
    """

    decisions: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    batches: tuple[str, ...] = ()
    pattern_ids: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    trusted: frozenset[str] | None = None


class JoinedRefinement(NamedTuple):
    """One refinement's record with its task's, draft's and critique's (None when missing), as stored."""

    refinement: dict[str, Any]
    task: dict[str, Any] | None
    source: str | None  # the task's batch: the file it was imported from
    draft: dict[str, Any] | None
    critique: dict[str, Any] | None
    calibration: bool = False  # a trainer's answer to a calibration item, not a refinement of the queue


def _utc(moment: datetime) -> datetime:
    """As the store keeps moments: UTC (SQLite keeps the wall clock without its zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ExportRecords(StoreBase):
    """Refinements (and calibration answers) joined with what they refine, streamed in chunks."""

    def refinement_chunks(self, selection: ExportSelection = ExportSelection(), *, size: int = CHUNK_ROWS,
                          light: bool = False) -> Iterator[list[JoinedRefinement]]:
        """Selected refinements, oldest first, ``size`` at a time: one query per chunk, joining
        tasks, drafts and critiques; never a query per row, never every task in memory.

        ``light``: only what training data needs, read out of the records by the database: of the
        refinement its id, task_id, draft_id, decision, reviewer, refined_text, tags, simulated and
        created_at (not its diff), of the draft its text and model, and no critique. Most of a
        refinement record is its diff; decoding it for nothing took half an export's time.
        """
        r, tk, d, c = t.refinements, t.tasks, t.drafts, t.critiques
        if light:
            columns = [r.c.task_id, r.c.draft_id, r.c.decision, r.c.reviewer,
                       r.c.data["refined_text"].as_string().label("refined_text"), r.c.data["tags"].label("tags"),
                       r.c.data["simulated"].as_boolean().label("simulated"),
                       d.c.model, d.c.data["text"].as_string().label("text")]
        else:
            columns = [r.c.data.label("refinement"), d.c.data.label("draft"), c.c.data.label("critique")]
        query = (self._selected(select(r.c.created_at, r.c.id, tk.c.data.label("task"), tk.c.source, *columns),
                                selection, joined=True)
                 .order_by(r.c.created_at, r.c.id).limit(size))
        for rows in self._keyset(query, (r.c.created_at, r.c.id), size):
            if not light:
                yield [JoinedRefinement(row.refinement, row.task, row.source, row.draft, row.critique) for row in rows]
                continue
            yield [JoinedRefinement(
                {"id": row.id, "task_id": row.task_id, "draft_id": row.draft_id, "decision": row.decision,
                 "reviewer": row.reviewer, "refined_text": row.refined_text, "tags": row.tags or [],
                 "simulated": bool(row.simulated), "created_at": _utc(row.created_at).isoformat()},
                row.task, row.source, None if row.model is None else {"model": row.model, "text": row.text}, None)
                for row in rows]

    def count_refinements(self, selection: ExportSelection = ExportSelection()) -> int:
        """How many refinements ``refinement_chunks`` reads for this selection (one COUNT)."""
        with self.reading() as conn:
            return conn.scalar(self._selected(select(func.count()), selection, joined=bool(selection.batches))) or 0

    def _selected(self, query: Select[Any], selection: ExportSelection, *, joined: bool) -> Select[Any]:
        """``query`` over refinements (outer-joined with tasks, drafts, critiques if ``joined``), filtered."""
        r, tk, d, c = t.refinements, t.tasks, t.drafts, t.critiques
        source = (r.outerjoin(tk, tk.c.id == r.c.task_id).outerjoin(d, d.c.id == r.c.draft_id)
                  .outerjoin(c, c.c.id == r.c.critique_id)) if joined else r
        query = query.select_from(source).where(*self._conditions(selection, r.c.created_at, r.c.reviewer))
        if selection.decisions:
            query = query.where(r.c.decision.in_(selection.decisions))
        if selection.pattern_ids:
            query = query.where(r.c.id.in_(self._pattern_refinements(selection.pattern_ids)))
        return query

    def calibration_answer_chunks(self, selection: ExportSelection = ExportSelection(), *,
                                  size: int = CHUNK_ROWS) -> Iterator[list[JoinedRefinement]]:
        """Trainers' answers to calibration items as joined refinements (``calibration=True``), oldest
        first, a chunk at a time: one query joining tasks, then one for the chunk's drafts and
        critiques. A pattern selection keeps none (calibration answers have no failure notes); the
        decision filter is the caller's (the decision is inside the record)."""
        if selection.pattern_ids:
            return
        a, tk = t.calibration_answers, t.tasks
        query = (select(a.c.created_at, a.c.task_id, a.c.reviewer, a.c.data.label("answer"),
                        tk.c.data.label("task"), tk.c.source)
                 .select_from(a.outerjoin(tk, tk.c.id == a.c.task_id))
                 .where(*self._conditions(selection, a.c.created_at, a.c.reviewer))
                 .order_by(a.c.created_at, a.c.task_id, a.c.reviewer).limit(size))
        for rows in self._keyset(query, (a.c.created_at, a.c.task_id, a.c.reviewer), size):
            refinements = [row.answer["refinement"] for row in rows]
            drafts = self._by_id(t.drafts, [ref["draft_id"] for ref in refinements])
            critiques = self._by_id(t.critiques, [ref["critique_id"] for ref in refinements if ref.get("critique_id")])
            yield [JoinedRefinement(ref, row.task, row.source, drafts.get(ref["draft_id"]),
                                    critiques.get(ref.get("critique_id") or ""), calibration=True)
                   for row, ref in zip(rows, refinements, strict=True)]

    # -- the parts both share -----------------------------------------------------------------------

    @staticmethod
    def _conditions(selection: ExportSelection, created_at: Any, reviewer: Any) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if selection.reviewers:
            where.append(reviewer.in_(selection.reviewers))
        if selection.trusted is not None:
            where.append(reviewer.in_(sorted(selection.trusted)))
        if selection.since is not None:
            where.append(created_at >= _utc(selection.since))
        if selection.until is not None:
            where.append(created_at < _utc(selection.until))
        if selection.batches:
            where.append(t.tasks.c.source.in_(selection.batches))
        return where

    @staticmethod
    def _pattern_refinements(pattern_ids: Sequence[str]) -> Select[Any]:
        """Ids of refinements with a note among these patterns' members in the last mining run."""
        notes, members, runs = t.failure_notes, t.pattern_members, t.mining_runs
        last_run = select(runs.c.id).order_by(runs.c.started_at.desc()).limit(1).scalar_subquery()
        return (select(notes.c.refinement_id)
                .join(members, members.c.note_id == notes.c.id)
                .where(members.c.pattern_id.in_(list(pattern_ids)), members.c.run_id == last_run,
                       notes.c.refinement_id.is_not(None)))

    def _keyset(self, query: Select[Any], key: tuple[Any, ...], size: int) -> Iterator[list[Any]]:
        """The query's rows a chunk at a time, each chunk the rows after the last one's ``key``."""
        after: tuple[Any, ...] | None = None
        while True:
            page = query if after is None else query.where(tuple_(*key) > tuple_(*after))
            with self.reading() as conn:
                rows = conn.execute(page).all()
            if rows:
                yield rows
            if len(rows) < size:
                return
            last = rows[-1]._mapping
            after = tuple(last[column] for column in key)

    def _by_id(self, table: Any, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self.reading() as conn:
            for part in chunks(list(dict.fromkeys(ids))):
                out.update(conn.execute(select(table.c.id, table.c.data).where(table.c.id.in_(part))).all())
        return out
