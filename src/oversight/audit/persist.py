"""Judgments in the store (table ``judgments``, migration ``m002_judgments``), and refinements as judgments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, Connection, DateTime, Index, Integer, String, Table, Text, insert, select

from oversight.audit.records import Judgment, PairwiseJudgment, PointwiseJudgment
from oversight.schemas import Refinement, Task, content_hash, utcnow
from oversight.store.tables import metadata

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = [
    "import_judgments",
    "judgment_key",
    "judgments_from_refinements",
    "judgments_table",
    "load_judgments",
    "m002_judgments",
    "save_judgments",
]

judgments_table = Table(
    "judgments",
    metadata,
    Column("id", String(64), primary_key=True),  # hash of (kind, item, annotator, order or row id)
    Column("item_id", String(300), nullable=False),
    Column("annotator", String(300), nullable=False),
    Column("kind", String(20), nullable=False),  # pairwise | pointwise
    Column("source", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("position", Integer, nullable=False),  # order within its import, so files read back in order
    Column("data", JSON, nullable=False),
    Index("ix_judgments_item", "item_id"),
    Index("ix_judgments_annotator", "annotator"),
)


def m002_judgments(conn: Connection) -> None:
    """Create the judgments table."""
    metadata.create_all(conn, tables=[judgments_table])


def judgment_key(judgment: Judgment) -> str:
    """A stable id: the same judgment imported twice is kept once."""
    kind = "pairwise" if isinstance(judgment, PairwiseJudgment) else "pointwise"
    return "j_" + content_hash(kind, *judgment.key)


def save_judgments(store: Store, judgments: Iterable[Judgment], *, source: str | None = None) -> int:
    """Keep judgments in one transaction; ones already stored are left alone. Returns how many were added.

    Raises StoreError (and nothing is written) if the database refuses any row.
    """
    rows: dict[str, Judgment] = {}
    for j in judgments:
        rows.setdefault(judgment_key(j), j)
    added = 0
    with store.transaction() as conn:
        existing: set[str] = set()
        keys = list(rows)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            existing.update(conn.scalars(select(judgments_table.c.id).where(judgments_table.c.id.in_(chunk))))
        now = utcnow()
        new = [
            {
                "id": key,
                "item_id": j.id if isinstance(j, PairwiseJudgment) else j.item,
                "annotator": j.annotator,
                "kind": "pairwise" if isinstance(j, PairwiseJudgment) else "pointwise",
                "source": source,
                "created_at": now,
                "position": position,
                "data": j.model_dump(mode="json"),
            }
            for position, (key, j) in enumerate(rows.items())
            if key not in existing
        ]
        if new:
            conn.execute(insert(judgments_table), new)
            added = len(new)
    return added


def load_judgments(store: Store, *, kind: str | None = None, source: str | None = None) -> list[Judgment]:
    """Stored judgments, oldest first, optionally of one kind or from one source file."""
    t = judgments_table
    query = select(t.c.data, t.c.kind).order_by(t.c.created_at, t.c.position, t.c.id)
    if kind is not None:
        query = query.where(judgments_table.c.kind == kind)
    if source is not None:
        query = query.where(judgments_table.c.source == source)
    with store.engine.connect() as conn:
        rows = list(conn.execute(query))
    return [
        PairwiseJudgment.model_validate(data) if k == "pairwise" else PointwiseJudgment.model_validate(data)
        for data, k in rows
    ]


def import_judgments(
    store: Store, path: str | Path, mapping: Mapping[str, str] | Sequence[str] | None = None
) -> tuple[list[Judgment], int]:
    """Validate the whole file, then keep it in one transaction. Raises InputFileError (store untouched)."""
    from oversight.audit.io import read_judgments

    loaded = read_judgments(path, mapping)
    return loaded, save_judgments(store, loaded, source=str(path))


def judgments_from_refinements(
    refinements: Iterable[Refinement], tasks: Mapping[str, Task] | None = None
) -> list[PointwiseJudgment]:
    """Each refinement decision (accept, edit, rewrite, reject) as a label on its draft by its reviewer.

    Skips are not judgments. With tasks, the task's kind and domain come along, so the
    ceilings audit can route by them.
    """
    tasks = tasks or {}
    out = []
    for r in refinements:
        if r.decision == "skip":
            continue
        task = tasks.get(r.task_id)
        out.append(
            PointwiseJudgment(
                id=r.id,
                item=r.draft_id,
                annotator=r.reviewer,
                label=r.decision,
                kind=task.kind if task else None,
                domain=task.domain if task else None,
                metadata={"task_id": r.task_id, "source": "refinement", "confidence": r.confidence},
            )
        )
    return out
