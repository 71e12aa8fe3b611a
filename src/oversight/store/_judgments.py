"""Judgments (pairwise preferences and ratings) that the audits read."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from oversight.schemas import Judgment, PairwiseJudgment, PointwiseJudgment, judgment_key, utcnow
from oversight.store import tables as t
from oversight.store._base import StoreBase

__all__ = ["JudgmentRecords"]


class JudgmentRecords(StoreBase):
    """What the audits keep."""

    def save_judgments(self, judgments: Iterable[Judgment], *, source: str | None = None) -> int:
        """Keep judgments in one transaction; ones already stored are left alone. Returns how many were added.

        Raises StoreError (and nothing is written) if the database refuses any row.
        """
        now = utcnow()
        rows = [
            {
                "id": judgment_key(j),
                "item_id": j.id if isinstance(j, PairwiseJudgment) else j.item,
                "annotator": j.annotator,
                "kind": "pairwise" if isinstance(j, PairwiseJudgment) else "pointwise",
                "source": source,
                "created_at": now,
                "position": position,
                "data": j.model_dump(mode="json"),
            }
            for position, j in enumerate(judgments)
        ]
        with self.transaction() as conn:
            return len(self._insert_missing(conn, t.judgments, rows))

    def judgments(self, *, kind: str | None = None, source: str | None = None) -> list[Judgment]:
        """Stored judgments, oldest first, optionally of one kind or from one source file."""
        j = t.judgments
        query = select(j.c.data, j.c.kind).order_by(j.c.created_at, j.c.position, j.c.id)
        if kind is not None:
            query = query.where(j.c.kind == kind)
        if source is not None:
            query = query.where(j.c.source == source)
        with self.reading() as conn:
            rows = list(conn.execute(query))
        return [
            PairwiseJudgment.model_validate(data) if k == "pairwise" else PointwiseJudgment.model_validate(data)
            for data, k in rows
        ]
