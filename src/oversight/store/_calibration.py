"""Calibration items (a draft with an expert's refinement) and trainers' answers to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.exc import IntegrityError

from oversight.errors import NotFoundError, StoreError
from oversight.schemas import CalibrationAnswer, CalibrationItem
from oversight.store import tables as t
from oversight.store._base import aware_utc
from oversight.store._records import RecordTables

__all__ = ["CalibrationRecords"]


class CalibrationRecords(RecordTables):
    """Calibration items and answers; every trainer answers each item once, apart from refinements."""

    # -- calibration -----------------------------------------------------------------------------

    def save_calibration_item(self, item: CalibrationItem) -> CalibrationItem:
        """Keep a calibration item (replacing the task's earlier one). Raises NotFoundError
        if the task, or its draft ``item.draft_id``, does not exist."""
        c = t.calibration_items
        with self.transaction() as conn:
            if conn.scalar(select(t.tasks.c.id).where(t.tasks.c.id == item.task_id)) is None:
                raise NotFoundError(f"no task with id {item.task_id!r}")
            if conn.scalar(select(t.drafts.c.id).where(t.drafts.c.id == item.draft_id,
                                                        t.drafts.c.task_id == item.task_id)) is None:
                raise NotFoundError(f"no draft {item.draft_id!r} of task {item.task_id!r}")
            self._replace_row(conn, c, c.c.task_id == item.task_id, task_id=item.task_id, draft_id=item.draft_id,
                              created_at=item.created_at, data=item.model_dump(mode="json"))
        return item

    def calibration_item(self, task_id: str) -> CalibrationItem | None:
        """The calibration item of a task, or None."""
        return self._record(CalibrationItem, t.calibration_items, t.calibration_items.c.task_id == task_id)

    def calibration_items(self) -> list[CalibrationItem]:
        """Every calibration item, oldest first."""
        c = t.calibration_items
        return self._records(CalibrationItem, select(c.c.data).order_by(c.c.created_at, c.c.task_id))

    def remove_calibration_item(self, task_id: str) -> bool:
        """Stop using a task for calibration (its answers are kept). True if it was an item."""
        c = t.calibration_items
        with self.transaction() as conn:
            return bool(conn.execute(delete(c).where(c.c.task_id == task_id)).rowcount)

    def next_calibration_item(self, reviewer: str) -> CalibrationItem | None:
        """The oldest calibration item this reviewer has not answered and is not the expert of, or None."""
        c, a = t.calibration_items, t.calibration_answers
        answered = exists().where(a.c.task_id == c.c.task_id, a.c.reviewer == reviewer)
        query = select(c.c.data).where(~answered).order_by(c.c.created_at, c.c.task_id)
        with self.reading() as conn:
            for data in conn.scalars(query):  # few items: the expert is in the record, not a column
                item = CalibrationItem.model_validate(data)
                if item.expert != reviewer:
                    return item
        return None

    def serve_calibration_item(self, task_id: str, reviewer: str) -> datetime:
        """Note that a calibration item was served to a reviewer (now, by ``clock``); when it first was."""
        s = t.calibration_serves
        first = select(s.c.served_at).where(s.c.task_id == task_id, s.c.reviewer == reviewer)
        try:
            with self.transaction() as conn:
                served = conn.scalar(first)
                if served is None:
                    served = self.clock()
                    conn.execute(insert(s).values(task_id=task_id, reviewer=reviewer, served_at=served))
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            with self.reading() as conn:  # served in another request at the same moment: that one is first
                served = conn.scalar(first)
        return aware_utc(served)

    def calibration_served_at(self, task_id: str, reviewer: str) -> datetime | None:
        """When a calibration item was first served to a reviewer, or None."""
        s = t.calibration_serves
        with self.reading() as conn:
            served = conn.scalar(select(s.c.served_at).where(s.c.task_id == task_id, s.c.reviewer == reviewer))
        return None if served is None else aware_utc(served)

    def save_calibration_answer(self, answer: CalibrationAnswer) -> CalibrationAnswer:
        """Keep a reviewer's answer to a calibration item, once: a second answer keeps and returns the first."""
        a = t.calibration_answers
        try:
            with self.transaction() as conn:
                first = conn.scalar(select(a.c.data).where(a.c.task_id == answer.task_id,
                                                           a.c.reviewer == answer.reviewer))
                if first is not None:
                    return CalibrationAnswer.model_validate(first)
                conn.execute(insert(a).values(task_id=answer.task_id, reviewer=answer.reviewer,
                                              created_at=answer.created_at, data=answer.model_dump(mode="json")))
            return answer
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        kept = self.calibration_answer(answer.task_id, answer.reviewer)  # a concurrent first answer won
        return answer if kept is None else kept

    def calibration_answer(self, task_id: str, reviewer: str) -> CalibrationAnswer | None:
        """A reviewer's answer to one calibration item, or None."""
        a = t.calibration_answers
        return self._record(CalibrationAnswer, a, a.c.task_id == task_id, a.c.reviewer == reviewer)

    def calibration_answers(self, *, reviewer: str | None = None) -> list[CalibrationAnswer]:
        """Calibration answers (all, or one reviewer's), oldest first."""
        a = t.calibration_answers
        query = select(a.c.data).order_by(a.c.created_at, a.c.task_id, a.c.reviewer)
        if reviewer is not None:
            query = query.where(a.c.reviewer == reviewer)
        return self._records(CalibrationAnswer, query)
