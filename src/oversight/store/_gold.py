"""Gold items, the queue copies that carry them to trainers, trainers' answers, standing and assessments.

A gold item's answers are kept here, apart from the refinements: the failure patterns, exports,
audits and every other stage read refinements and never meet a gold answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from oversight.errors import NotFoundError, StoreError
from oversight.schemas import (
    Assessment,
    AssessmentResult,
    Critique,
    Draft,
    GoldAnswer,
    GoldCopy,
    GoldItem,
    Task,
    TrainerStanding,
)
from oversight.store import tables as t
from oversight.store._base import aware_utc, chunks
from oversight.store._records import RecordTables
from oversight.store._refine import RefineRecords, _critique_row, _draft_row, _task_row

__all__ = ["GoldRecords"]


class GoldRecords(RecordTables):
    """Judgment quality: gold items and answers (each answer once), standing, assessments."""

    # -- gold items -------------------------------------------------------------------------------

    def save_gold_items(self, items: Sequence[GoldItem]) -> list[GoldItem]:
        """Keep gold items, all or none (an item whose id exists is replaced)."""
        g = t.gold_items
        with self.transaction() as conn:
            for item in items:
                self._replace_row(conn, g, g.c.id == item.id, id=item.id, kind=item.kind, domain=item.domain,
                                  made_by=item.made_by, retired=item.retired, created_at=item.created_at,
                                  data=item.model_dump(mode="json"))
        return list(items)

    def gold_item(self, gold_id: str) -> GoldItem | None:
        """One gold item (retired or not), or None."""
        return self._record(GoldItem, t.gold_items, t.gold_items.c.id == gold_id)

    def gold_items(self, *, retired: bool = False, ids: Sequence[str] | None = None) -> list[GoldItem]:
        """Gold items in use (with ``retired`` also those retired), or these ids; oldest first."""
        g = t.gold_items
        query = select(g.c.data).order_by(g.c.created_at, g.c.id)
        if not retired:
            query = query.where(g.c.retired.is_(False))
        with self.reading() as conn:
            if ids is None:
                return [GoldItem.model_validate(d) for d in conn.scalars(query)]
            found = []
            for part in chunks(list(ids)):
                found.extend(GoldItem.model_validate(d) for d in conn.scalars(query.where(g.c.id.in_(part))))
        return sorted(found, key=lambda i: (i.created_at, i.id))

    def retire_gold_item(self, gold_id: str) -> GoldItem:
        """Stop serving a gold item (its answers are kept). Raises NotFoundError."""
        g = t.gold_items
        with self.transaction() as conn:
            data = conn.scalar(select(g.c.data).where(g.c.id == gold_id))
            if data is None:
                raise NotFoundError(f"no gold item {gold_id!r}")
            item = GoldItem.model_validate(data).model_copy(update={"retired": True})
            conn.execute(update(g).where(g.c.id == gold_id).values(retired=True, data=item.model_dump(mode="json")))
        return item

    # -- the copies that carry gold items into the queue --------------------------------------------

    def add_gold_copy(self, copy: GoldCopy, task: Task, draft: Draft, critique: Critique | None, *,
                      source: str | None, thread_id: str) -> GoldCopy:
        """Put a gold item in one trainer's queue: its task (``source``: the batch it shows), draft, critique,
        the task's state and the copy, in one transaction. Idempotent: the copy of this gold item already
        made for this trainer is returned as it is.

        The task awaits review on ``thread_id``, waiting since the head of the queue does (now, by
        ``clock``, when the queue is empty): the place of the item an ordinary claim takes.
        """
        c = t.gold_copies
        made = select(c).where(c.c.reviewer == copy.reviewer, c.c.gold_id == copy.gold_id)
        try:
            with self.transaction() as conn:
                row = conn.execute(made).first()
                if row is not None:
                    return _copy(row)
                now = self.clock()
                s = t.task_states
                head = conn.scalar(select(func.min(s.c.updated_at)).where(s.c.state == "awaiting_review"))
                since = now if head is None else min(aware_utc(head), now)
                copy = copy.model_copy(update={"created_at": now})
                conn.execute(insert(t.tasks).values(**_task_row(task, source)))
                conn.execute(insert(t.drafts).values(**_draft_row(draft)))
                if critique is not None:
                    conn.execute(insert(t.critiques).values(**_critique_row(critique)))
                conn.execute(insert(t.task_states).values(
                    task_id=task.id, state="awaiting_review", thread_id=thread_id, draft_id=draft.id,
                    critique_id=critique.id if critique is not None else None, attempts=0, updated_at=since))
                conn.execute(insert(c).values(task_id=copy.task_id, gold_id=copy.gold_id, reviewer=copy.reviewer,
                                              assessment=copy.assessment, created_at=now))
            return copy
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        with self.reading() as conn:  # the same trainer's other request made it at the same moment
            row = conn.execute(made).first()
        if row is None:
            raise StoreError(f"gold copy {copy.task_id!r} could not be made: its task id is taken")
        return _copy(row)

    def gold_copy(self, task_id: str) -> GoldCopy | None:
        """The gold copy a queue task is, or None for an ordinary task."""
        c = t.gold_copies
        with self.reading() as conn:
            row = conn.execute(select(c).where(c.c.task_id == task_id)).first()
        return None if row is None else _copy(row)

    def gold_copies(self, reviewer: str, *, open_only: bool = False) -> list[GoldCopy]:
        """The gold copies made for one trainer (``open_only``: those still awaiting their answer), oldest first."""
        c, s = t.gold_copies, t.task_states
        query = select(c).where(c.c.reviewer == reviewer).order_by(c.c.created_at, c.c.task_id)
        if open_only:
            query = query.join(s, s.c.task_id == c.c.task_id).where(s.c.state == "awaiting_review")
        with self.reading() as conn:
            return [_copy(r) for r in conn.execute(query)]

    def items_answered(self, reviewer: str) -> int:
        """How many items a trainer has answered so far (skips too): refinements and gold answers."""
        with self.reading() as conn:
            refined = conn.scalar(select(func.count()).select_from(t.refinements)
                                  .where(t.refinements.c.reviewer == reviewer)) or 0
            gold = conn.scalar(select(func.count()).select_from(t.gold_answers)
                               .where(t.gold_answers.c.reviewer == reviewer)) or 0
        return int(refined) + int(gold)

    # -- answers ------------------------------------------------------------------------------------

    def save_gold_answer(self, answer: GoldAnswer) -> GoldAnswer:
        """Keep a trainer's answer to a gold copy, once: a second answer keeps and returns the first.

        In the same transaction the copy's task leaves the queue (refined; skipped for a skip), as an
        ordinary task does when its refinement is saved; no refinement is written.
        """
        a = t.gold_answers
        first = select(a.c.data).where(a.c.task_id == answer.task_id)
        try:
            with self.transaction() as conn:
                kept = conn.scalar(first)
                if kept is not None:
                    return GoldAnswer.model_validate(kept)
                conn.execute(insert(a).values(task_id=answer.task_id, gold_id=answer.gold_id, reviewer=answer.reviewer,
                                              kind=answer.kind, assessment=answer.assessment,
                                              created_at=answer.created_at, data=answer.model_dump(mode="json")))
                state = "skipped" if answer.refinement.decision == "skip" else "refined"
                RefineRecords._set_state(conn, answer.task_id, state, error=None)
            return answer
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        with self.reading() as conn:  # a concurrent first answer won
            kept = conn.scalar(first)
        return answer if kept is None else GoldAnswer.model_validate(kept)

    def gold_answer(self, task_id: str) -> GoldAnswer | None:
        """The answer to one gold copy (by its task id), or None."""
        return self._record(GoldAnswer, t.gold_answers, t.gold_answers.c.task_id == task_id)

    def gold_answers(self, *, reviewer: str | None = None, since: datetime | None = None,
                     assessment: str | None = None) -> list[GoldAnswer]:
        """Gold answers (all, one trainer's, since a time, of one assessment), oldest first."""
        a = t.gold_answers
        query = select(a.c.data).order_by(a.c.created_at, a.c.task_id)
        if reviewer is not None:
            query = query.where(a.c.reviewer == reviewer)
        if since is not None:
            query = query.where(a.c.created_at >= since)
        if assessment is not None:
            query = query.where(a.c.assessment == assessment)
        return self._records(GoldAnswer, query)

    # -- standing -----------------------------------------------------------------------------------

    def trainer_standing(self, reviewer: str) -> TrainerStanding:
        """A trainer's standing (not paused, qualified nowhere, when a lead never decided anything)."""
        kept = self._record(TrainerStanding, t.trainer_standing, t.trainer_standing.c.reviewer == reviewer)
        return TrainerStanding(reviewer=reviewer) if kept is None else kept

    def trainer_standings(self) -> list[TrainerStanding]:
        """Every trainer a lead decided something of, by name."""
        s = t.trainer_standing
        return self._records(TrainerStanding, select(s.c.data).order_by(s.c.reviewer))

    def save_trainer_standing(self, standing: TrainerStanding) -> TrainerStanding:
        """Keep a trainer's standing (replacing the earlier one), stamped now by the store's clock."""
        s = t.trainer_standing
        standing = standing.model_copy(update={"updated_at": self.clock()})
        with self.transaction() as conn:
            self._replace_row(conn, s, s.c.reviewer == standing.reviewer, reviewer=standing.reviewer,
                              paused=standing.paused, updated_at=standing.updated_at,
                              data=standing.model_dump(mode="json"))
        return standing

    def change_trainer_standing(self, reviewer: str,
                                change: Callable[[TrainerStanding], TrainerStanding]) -> TrainerStanding:
        """Read a trainer's standing, ``change`` it and keep it, in one transaction that holds the row.

        Two servers deciding at once (a lead pauses while an assessment qualifies) each see the
        other's decision: the row is made if missing, then locked (PostgreSQL: FOR UPDATE; SQLite:
        the write lock the first statement took) before it is read.
        """
        s = t.trainer_standing
        fresh = TrainerStanding(reviewer=reviewer, updated_at=self.clock())
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.transaction() as conn:
            conn.execute(dialect_insert(s).values(reviewer=reviewer, paused=False, updated_at=fresh.updated_at,
                                                  data=fresh.model_dump(mode="json"))
                         .on_conflict_do_nothing(index_elements=[s.c.reviewer]))
            data = conn.scalar(select(s.c.data).where(s.c.reviewer == reviewer).with_for_update())
            changed = change(TrainerStanding.model_validate(data)).model_copy(
                update={"reviewer": reviewer, "updated_at": self.clock()})
            conn.execute(update(s).where(s.c.reviewer == reviewer).values(
                paused=changed.paused, updated_at=changed.updated_at, data=changed.model_dump(mode="json")))
        return changed

    def paused_trainers(self) -> set[str]:
        """The names of trainers a lead paused."""
        s = t.trainer_standing
        with self.reading() as conn:
            return set(conn.scalars(select(s.c.reviewer).where(s.c.paused.is_(True))))

    # -- who does the work -----------------------------------------------------------------------------

    def known_reviewers(self) -> set[str]:
        """Everyone the store knows as a reviewer: of a refinement, a calibration or gold answer, with a
        standing, an account."""
        parts = [select(t.refinements.c.reviewer), select(t.calibration_answers.c.reviewer),
                 select(t.gold_answers.c.reviewer), select(t.trainer_standing.c.reviewer), select(t.users.c.name)]
        with self.reading() as conn:
            return set(conn.scalars(union(*parts)))

    def reviewer_domains(self) -> dict[str, set[str | None]]:
        """The domains (None: a task without one) of the tasks each reviewer refined."""
        r, tk = t.refinements, t.tasks
        query = select(r.c.reviewer, tk.c.domain).distinct().select_from(r.outerjoin(tk, tk.c.id == r.c.task_id))
        out: dict[str, set[str | None]] = {}
        with self.reading() as conn:
            for reviewer, domain in conn.execute(query):
                out.setdefault(reviewer, set()).add(domain)
        return out

    # -- assessments --------------------------------------------------------------------------------

    def save_assessment(self, assessment: Assessment) -> Assessment:
        """Keep a declared assessment (replacing one of the same name; its results are kept)."""
        a = t.assessments
        with self.transaction() as conn:
            self._replace_row(conn, a, a.c.name == assessment.name, name=assessment.name,
                              created_at=assessment.created_at, data=assessment.model_dump(mode="json"))
        return assessment

    def assessment(self, name: str) -> Assessment | None:
        """One declared assessment, or None."""
        return self._record(Assessment, t.assessments, t.assessments.c.name == name)

    def assessments(self) -> list[Assessment]:
        """Every declared assessment, by name."""
        return self._records(Assessment, select(t.assessments.c.data).order_by(t.assessments.c.name))

    def save_assessment_result(self, result: AssessmentResult) -> AssessmentResult:
        """Keep how a trainer did on an assessment (a retake replaces it)."""
        r = t.assessment_results
        with self.transaction() as conn:
            conn.execute(delete(r).where(r.c.assessment == result.assessment, r.c.reviewer == result.reviewer))
            conn.execute(insert(r).values(assessment=result.assessment, reviewer=result.reviewer,
                                          decided_at=result.decided_at, data=result.model_dump(mode="json")))
        return result

    def assessment_results(self, *, reviewer: str | None = None) -> list[AssessmentResult]:
        """Assessment results (all, or one trainer's), oldest first."""
        r = t.assessment_results
        query = select(r.c.data).order_by(r.c.decided_at, r.c.assessment, r.c.reviewer)
        if reviewer is not None:
            query = query.where(r.c.reviewer == reviewer)
        with self.reading() as conn:
            return [AssessmentResult.model_validate(d) for d in conn.scalars(query)]


def _copy(row: Any) -> GoldCopy:
    return GoldCopy(task_id=row.task_id, gold_id=row.gold_id, reviewer=row.reviewer, assessment=row.assessment,
                    created_at=aware_utc(row.created_at))
