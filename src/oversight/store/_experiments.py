"""Experiment items: each one a task in the review queue, with its condition, arm and planted error."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from oversight.schemas import Draft, ExperimentItem, Refinement, Task, utcnow
from oversight.store import tables as t
from oversight.store._base import StoreBase, chunks, not_gold_copy
from oversight.store._refine import _draft_row, _task_row

__all__ = ["ExperimentRecords"]


class ExperimentRecords(StoreBase):
    """An experiment's items, written with their task and draft in one transaction."""

    def add_experiment_items(self, work: Sequence[tuple[ExperimentItem, Task | None, Draft | None]], *,
                             source: str) -> int:
        """Keep items with their review task (under batch ``source``) and the draft the reviewer sees
        (None for an item nobody reviews: it is measured on its source draft).

        Items, tasks and drafts whose ids exist are left alone, so a re-run adds only what is
        missing. Returns how many items were new.
        """
        with self.transaction() as conn:
            self._insert_tasks(conn, [_task_row(task, source) for _, task, _ in work  # type: ignore[attr-defined]
                                      if task is not None])
            self._insert_missing(conn, t.drafts, [_draft_row(draft) for _, _, draft in work if draft is not None])
            fresh = self._insert_missing(conn, t.experiment_items, [{
                "item_id": item.item_id, "experiment": item.experiment, "key": item.key, "task_id": item.task_id,
                "condition": item.condition, "created_at": utcnow(), "data": item.model_dump(mode="json"),
            } for item, _, _ in work], key="item_id")
        return len(fresh)

    def experiment_items(self, experiment: str, key: str | None = None) -> list[ExperimentItem]:
        """An experiment's items (of one declaration when ``key`` is given), by task then condition."""
        e = t.experiment_items
        query = select(e.c.data).where(e.c.experiment == experiment)
        if key is not None:
            query = query.where(e.c.key == key)
        with self.reading() as conn:
            items = [ExperimentItem.model_validate(d) for d in conn.scalars(query)]
        return sorted(items, key=lambda i: (i.task_id, i.condition))

    def experiment_names(self) -> list[str]:
        """Every experiment with items in this database, by name."""
        e = t.experiment_items
        with self.reading() as conn:
            return sorted(conn.scalars(select(e.c.experiment).distinct()))

    def batch_task_ids(self, batch: str) -> list[str]:
        """The ids of the tasks imported under ``batch`` (their source), in id order (gold copies, which
        carry their source task's batch, left out)."""
        with self.reading() as conn:
            return sorted(conn.scalars(select(t.tasks.c.id).where(t.tasks.c.source == batch,
                                                                  not_gold_copy(t.tasks.c.id))))

    def refinements_of_tasks(self, task_ids: Sequence[str]) -> list[Refinement]:
        """The refinements of these tasks, oldest first."""
        r = t.refinements
        out: list[Refinement] = []
        with self.reading() as conn:
            for part in chunks(list(task_ids)):
                out.extend(Refinement.model_validate(d) for d in conn.scalars(select(r.c.data).where(r.c.task_id.in_(part))))
        return sorted(out, key=lambda x: (x.created_at, x.id))
