"""Numbered migrations. Each runs once, in order, in its own transaction.

Add one by writing a function named ``mNNN_what`` and decorating it with ``@migration``;
never edit one that has shipped. ``Store.open`` applies whatever a database lacks.
Migrations use only ``store.tables`` (and ``store._summaries``, which imports nothing): the store
imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, inspect, select, text, update

from oversight.schemas import utcnow
from oversight.store import tables as t
from oversight.store._summaries import critique_summary, draft_summary, refinement_summary

__all__ = ["MIGRATIONS", "migration"]

Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(func: Migration) -> Migration:
    """Register a migration under its function's name (they run in the order defined)."""
    MIGRATIONS.append((func.__name__, func))
    return func


@migration
def m001_initial(conn: Connection) -> None:
    """Tasks, drafts, critiques, refinements and refine threads."""
    t.metadata.create_all(conn, tables=[t.tasks, t.drafts, t.critiques, t.refinements, t.refine_threads])


@migration
def m002_judgments(conn: Connection) -> None:
    """Judgments (pairwise preferences and ratings) for the audits."""
    t.metadata.create_all(conn, tables=[t.judgments])


@migration
def m003_mine(conn: Connection) -> None:
    """Failure notes, the embedding cache, patterns, their members and mining runs."""
    t.metadata.create_all(conn, tables=[t.failure_notes, t.embeddings, t.patterns, t.pattern_members, t.mining_runs])


@migration
def m004_task_states(conn: Connection) -> None:
    """One state per task (replaces refine_threads and the state derived from three tables)."""
    t.metadata.create_all(conn, tables=[t.task_states])
    now = utcnow()
    threads: dict[str, dict[str, Any]] = {}
    if inspect(conn).has_table("refine_threads"):
        order = t.refine_threads.c.updated_at
        for row in conn.execute(select(t.refine_threads).order_by(order)):
            threads[row.task_id] = dict(row._mapping)  # the newest thread of a task wins
    decisions: dict[str, set[str]] = {}
    for task_id, decision in conn.execute(select(t.refinements.c.task_id, t.refinements.c.decision)):
        decisions.setdefault(task_id, set()).add(decision)
    rows = []
    for (task_id,) in conn.execute(select(t.tasks.c.id)):
        thread = threads.get(task_id) or {}
        made = decisions.get(task_id, set())
        if made - {"skip"}:
            state = "refined"
        elif made:
            state = "skipped"
        elif thread.get("status") == "awaiting_review":
            state = "awaiting_review"
        else:
            state = "pending"  # a thread that was running resumes from the store: nothing is paid twice
        rows.append({
            "task_id": task_id, "state": state, "thread_id": thread.get("thread_id"),
            "draft_id": thread.get("draft_id"), "critique_id": thread.get("critique_id"),
            "attempts": 0, "updated_at": now,
        })
    if rows:
        conn.execute(t.task_states.insert(), rows)
    t.refine_threads.drop(conn, checkfirst=True)


@migration
def m005_documents(conn: Connection) -> None:
    """Named documents: the routing rule the audit writes and the review queue reads."""
    t.metadata.create_all(conn, tables=[t.documents])


@migration
def m006_edit_explanations(conn: Connection) -> None:
    """The cache of paid edit explanations, so that an interrupted `mine` does not pay for them again."""
    t.metadata.create_all(conn, tables=[t.edit_explanations])


@migration
def m007_note_abstractions(conn: Connection) -> None:
    """The cache of paid note abstractions (`oversight mine --abstract`): a re-run pays for none twice."""
    t.metadata.create_all(conn, tables=[t.note_abstractions])


@migration
def m008_interventions(conn: Connection) -> None:
    """Interventions: targeted changes for a pattern, the lead's decision and their validations."""
    t.metadata.create_all(conn, tables=[t.interventions])


@migration
def m009_judge_verdicts(conn: Connection) -> None:
    """The cache of paid judge verdicts: a judge-decided validation run again pays for none twice."""
    t.metadata.create_all(conn, tables=[t.judge_verdicts])


@migration
def m010_review(conn: Connection) -> None:
    """The review page: users, web sessions, calibration items and answers; review leases on task_states."""
    t.metadata.create_all(conn, tables=[t.users, t.web_sessions, t.calibration_items, t.calibration_answers])
    present = {column["name"] for column in inspect(conn).get_columns("task_states")}
    quote = conn.dialect.identifier_preparer.quote
    for column in (t.task_states.c.reviewer, t.task_states.c.review_claimed_at, t.task_states.c.review_lease_until):
        if column.name not in present:  # a database made before m010 (a new one has them from m004)
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE task_states ADD COLUMN {quote(column.name)} {kind}"))
    for index in t.REVIEW_INDEXES:
        index.create(conn, checkfirst=True)


@migration
def m011_experiments(conn: Connection) -> None:
    """Experiment items: one task under one condition, its arm and its planted error."""
    t.metadata.create_all(conn, tables=[t.experiment_items])


@migration
def m012_calibration_serves(conn: Connection) -> None:
    """When each calibration item was first served to each trainer: the time on it is the server's."""
    t.metadata.create_all(conn, tables=[t.calibration_serves])


@migration
def m013_run_locks(conn: Connection) -> None:
    """Run locks: a second `oversight mine` on one database waits or says who holds the lock."""
    t.metadata.create_all(conn, tables=[t.run_locks])


@migration
def m014_status_columns(conn: Connection) -> None:
    """What `status` sums, as columns beside drafts, critiques and refinements, with covering indexes:
    it read every record (seconds at 100k queued tasks); it now reads indexes."""
    for table, columns in ((t.drafts, ("tokens", "cost_usd")),
                           (t.critiques, ("prompt_name", "prompt_version", "checked", "shown", "dropped",
                                          "drop_reasons", "tokens", "cost_usd")),
                           (t.refinements, ("critique_id", "verdicts_right", "verdicts_wrong"))):
        _add_columns(conn, table, [table.c[name] for name in columns])
    _fill(conn, t.drafts, "tokens", lambda data: draft_summary(data))
    _fill(conn, t.critiques, "shown", lambda data: critique_summary(data))
    shown = dict(conn.execute(select(t.critiques.c.id, t.critiques.c.shown)).all())
    _fill(conn, t.refinements, "verdicts_right",
          lambda data: refinement_summary(data, shown.get(data.get("critique_id") or "", 0)))
    for index in t.STATUS_INDEXES:
        index.create(conn, checkfirst=True)


def _add_columns(conn: Connection, table: Table, columns: list[Column[Any]]) -> None:
    """Add the columns a table made before this migration lacks (one made since has them from m001)."""
    present = {column["name"] for column in inspect(conn).get_columns(table.name)}
    quote = conn.dialect.identifier_preparer.quote
    for column in columns:
        if column.name not in present:
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"))


def _fill(conn: Connection, table: Table, marker: str, summary: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Compute the summary columns of every row whose ``marker`` column is empty, from its record."""
    ids = list(conn.scalars(select(table.c.id).where(table.c[marker].is_(None))))
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(table.c.id, table.c.data).where(table.c.id.in_(ids[start:start + 500]))).all()
        values = [{"key": row.id, **summary(row.data)} for row in rows]
        if values:
            names = [name for name in values[0] if name != "key"]
            conn.execute(update(table).where(table.c.id == bindparam("key"))
                         .values({name: bindparam(name) for name in names}), values)
