"""Numbered migrations. Each runs once, in order, in its own transaction.

Each step describes the schema as of its own time: the tables it creates are defined inside it,
on a ``MetaData`` of its own, with the columns and indexes they had when it shipped; a later
step adds what changed (a column by ``ALTER TABLE``, an index, a data migration such as m004's).
No step reads ``store.tables``, which describes today's schema for the queries; a new database
and one migrated step by step from m001 end with that schema (tests/store/test_migrations.py
compares both with it, on SQLite and PostgreSQL).

Add one by writing a function named ``mNNN_what`` and decorating it with ``@migration``; never
edit one that has shipped. ``Store.open`` applies whatever a database lacks.

Releases before the steps described their own time created each table as ``store.tables`` then
stood, so a database one of them left part-migrated (a step failed, the process died) may hold
already what a later step adds: creating a table or an index that exists does nothing, and a
column is added only where it is missing. The store imports nothing above it: these steps use
SQLAlchemy, ``schemas.utcnow``, ``store._steps`` (what they share) and ``store._summaries``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    column,
    inspect,
    select,
    table,
)

from oversight.schemas import utcnow
from oversight.store._steps import _add_columns, _add_index, _fill, _records, _when
from oversight.store._summaries import critique_summary, draft_summary, refinement_summary

__all__ = ["MIGRATIONS", "Migration", "create_bookkeeping", "migration"]

Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(func: Migration) -> Migration:
    """Register a migration under its function's name (they run in the order defined)."""
    MIGRATIONS.append((func.__name__, func))
    return func


def create_bookkeeping(conn: Connection) -> None:
    """The table of applied steps, as it has been since the first release (the runner makes it first)."""
    Table("schema_migrations", MetaData(),
          Column("name", String(100), primary_key=True),
          _when("applied_at")).create(conn, checkfirst=True)


@migration
def m001_initial(conn: Connection) -> None:
    """Tasks, drafts, critiques, refinements and refine threads."""
    meta = MetaData()
    Table("tasks", meta,
          Column("id", String(200), primary_key=True),
          Column("domain", String(200)),
          Column("kind", String(200)),
          Column("source", Text),
          _when("created_at"),
          Column("data", JSON, nullable=False))
    Table("drafts", meta,
          Column("id", String(64), primary_key=True),
          Column("task_id", String(200), nullable=False),
          Column("model", String(300), nullable=False),
          Column("prompt_version", String(64), nullable=False),
          _when("created_at"),
          Column("data", JSON, nullable=False),
          Index("ix_drafts_task", "task_id"))
    Table("critiques", meta,
          Column("id", String(64), primary_key=True),
          Column("draft_id", String(64), nullable=False),
          Column("task_id", String(200), nullable=False),
          Column("model", String(300), nullable=False),
          _when("created_at"),
          Column("data", JSON, nullable=False),
          Index("ix_critiques_draft", "draft_id"))
    Table("refinements", meta,
          Column("id", String(64), primary_key=True),
          Column("task_id", String(200), nullable=False),
          Column("draft_id", String(64), nullable=False),
          Column("decision", String(20), nullable=False),
          Column("reviewer", String(200), nullable=False),
          Column("seconds_spent", Float, nullable=False),
          _when("created_at"),
          Column("data", JSON, nullable=False),
          Index("ix_refinements_draft", "draft_id"),
          Index("ix_refinements_task", "task_id"))
    Table("refine_threads", meta,  # one row per refine-graph thread; m004 folds it into task_states
          Column("thread_id", String(300), primary_key=True),
          Column("task_id", String(200), nullable=False),
          Column("status", String(20), nullable=False),  # running | awaiting_review | done
          Column("draft_id", String(64)),
          Column("critique_id", String(64)),
          _when("updated_at"),
          Index("ix_refine_threads_status", "status"),
          Index("ix_refine_threads_task", "task_id"))
    meta.create_all(conn)


@migration
def m002_judgments(conn: Connection) -> None:
    """Judgments (pairwise preferences and ratings) for the audits."""
    Table("judgments", MetaData(),
          Column("id", String(64), primary_key=True),
          Column("item_id", String(300), nullable=False),
          Column("annotator", String(300), nullable=False),
          Column("kind", String(20), nullable=False),
          Column("source", Text),
          _when("created_at"),
          Column("position", Integer, nullable=False),
          Column("data", JSON, nullable=False),
          Index("ix_judgments_item", "item_id"),
          Index("ix_judgments_annotator", "annotator")).create(conn, checkfirst=True)


@migration
def m003_mine(conn: Connection) -> None:
    """Failure notes, the embedding cache, patterns, their members and mining runs."""
    meta = MetaData()
    Table("failure_notes", meta,
          Column("id", String(64), primary_key=True),
          Column("source", String(20), nullable=False),
          Column("refinement_id", String(64)),
          Column("task_id", String(200)),
          Column("external_id", String(300)),
          Column("import_source", Text),
          Column("text_hash", String(64), nullable=False),
          _when("created_at"),
          Column("data", JSON, nullable=False),
          Index("ix_failure_notes_refinement", "refinement_id"))
    Table("embeddings", meta,
          Column("model", String(300), primary_key=True),
          Column("text_hash", String(64), primary_key=True),
          Column("dim", Integer, nullable=False),
          Column("vector", LargeBinary, nullable=False))
    Table("patterns", meta,
          Column("id", String(64), primary_key=True),
          Column("name", Text, nullable=False),
          Column("status", String(20), nullable=False),
          Column("size", Integer, nullable=False),
          Column("prevalence", Float, nullable=False),
          Column("last_run_id", String(64), nullable=False),
          Column("centroid", LargeBinary, nullable=False),
          _when("updated_at"),
          Column("data", JSON, nullable=False))
    Table("pattern_members", meta,
          Column("pattern_id", String(64), primary_key=True),
          Column("note_id", String(64), primary_key=True),
          Column("run_id", String(64), nullable=False),
          Column("similarity", Float, nullable=False),
          Index("ix_pattern_members_note", "note_id"))
    Table("mining_runs", meta,
          Column("id", String(64), primary_key=True),
          _when("started_at"),
          Column("data", JSON, nullable=False))
    meta.create_all(conn)


@migration
def m004_task_states(conn: Connection) -> None:
    """One state per task (replaces refine_threads and the state derived from three tables)."""
    states = Table("task_states", MetaData(),
                   Column("task_id", String(200), primary_key=True),
                   Column("state", String(20), nullable=False),
                   Column("thread_id", String(300)),
                   Column("draft_id", String(64)),
                   Column("critique_id", String(64)),
                   Column("error", Text),
                   Column("claim", String(300)),
                   _when("lease_until", nullable=True),
                   Column("attempts", Integer, nullable=False),
                   _when("updated_at"),
                   Index("ix_task_states_state", "state"))
    states.create(conn, checkfirst=True)
    threads = table("refine_threads", *map(column, ("thread_id", "task_id", "status", "draft_id", "critique_id",
                                                    "updated_at")))
    newest: dict[str, dict[str, Any]] = {}
    if inspect(conn).has_table("refine_threads"):
        for row in conn.execute(select(threads).order_by(threads.c.updated_at)):
            newest[row.task_id] = dict(row._mapping)  # the newest thread of a task wins
    refinements = table("refinements", column("task_id"), column("decision"))
    decisions: dict[str, set[str]] = {}
    for task_id, decision in conn.execute(select(refinements.c.task_id, refinements.c.decision)):
        decisions.setdefault(task_id, set()).add(decision)
    now = utcnow()
    rows = []
    for task_id in conn.scalars(select(table("tasks", column("id")).c.id)):
        thread = newest.get(task_id) or {}
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
        conn.execute(states.insert(), rows)
    Table("refine_threads", MetaData()).drop(conn, checkfirst=True)


@migration
def m005_documents(conn: Connection) -> None:
    """Named documents: the routing rule the audit writes and the review queue reads."""
    Table("documents", MetaData(),
          Column("name", String(100), primary_key=True),
          Column("data", JSON, nullable=False),
          _when("updated_at")).create(conn, checkfirst=True)


@migration
def m006_edit_explanations(conn: Connection) -> None:
    """The cache of paid edit explanations, so that an interrupted `mine` does not pay for them again."""
    Table("edit_explanations", MetaData(),
          Column("model", String(300), primary_key=True),
          Column("prompt_version", String(64), primary_key=True),
          Column("draft_hash", String(64), primary_key=True),
          Column("edit_hash", String(64), primary_key=True),
          Column("sentence", Text, nullable=False),
          _when("created_at")).create(conn, checkfirst=True)


@migration
def m007_note_abstractions(conn: Connection) -> None:
    """The cache of paid note abstractions (`oversight mine --abstract`): a re-run pays for none twice."""
    Table("note_abstractions", MetaData(),
          Column("model", String(300), primary_key=True),
          Column("prompt_version", String(64), primary_key=True),
          Column("text_hash", String(64), primary_key=True),
          Column("statement", Text, nullable=False),
          _when("created_at")).create(conn, checkfirst=True)


@migration
def m008_interventions(conn: Connection) -> None:
    """Interventions: targeted changes for a pattern, the lead's decision and their validations."""
    Table("interventions", MetaData(),
          Column("id", String(64), primary_key=True),
          Column("pattern_id", String(64), nullable=False),
          Column("kind", String(30), nullable=False),
          Column("status", String(30), nullable=False),
          _when("created_at"),
          _when("updated_at"),
          Column("data", JSON, nullable=False),
          Index("ix_interventions_pattern", "pattern_id")).create(conn, checkfirst=True)


@migration
def m009_judge_verdicts(conn: Connection) -> None:
    """The cache of paid judge verdicts: a judge-decided validation run again pays for none twice."""
    Table("judge_verdicts", MetaData(),
          Column("model", String(300), primary_key=True),
          Column("prompt_version", String(64), primary_key=True),
          Column("input_hash", String(64), primary_key=True),
          Column("present", Boolean, nullable=False),
          _when("created_at")).create(conn, checkfirst=True)


@migration
def m010_review(conn: Connection) -> None:
    """The review page: users, web sessions, calibration items and answers; review leases on task_states,
    and the covering indexes the queue is read by."""
    meta = MetaData()
    Table("users", meta,
          Column("name", String(100), primary_key=True),
          Column("role", String(20), nullable=False),
          Column("token_hash", String(128), nullable=False),
          Column("disabled", Boolean, nullable=False),
          _when("created_at"),
          Column("data", JSON, nullable=False),
          Index("ix_users_token_hash", "token_hash", unique=True))
    Table("web_sessions", meta,
          Column("id_hash", String(128), primary_key=True),
          Column("user_name", String(100), nullable=False),
          Column("csrf", String(128), nullable=False),
          _when("created_at"),
          _when("expires_at"),
          Index("ix_web_sessions_expires", "expires_at"),
          Index("ix_web_sessions_user", "user_name"))
    Table("calibration_items", meta,
          Column("task_id", String(200), primary_key=True),
          Column("draft_id", String(64), nullable=False),
          _when("created_at"),
          Column("data", JSON, nullable=False))
    Table("calibration_answers", meta,
          Column("task_id", String(200), primary_key=True),
          Column("reviewer", String(100), primary_key=True),
          _when("created_at"),
          Column("data", JSON, nullable=False),
          Index("ix_calibration_answers_reviewer", "reviewer"))
    meta.create_all(conn)
    _add_columns(conn, "task_states", Column("reviewer", String(100)), _when("review_claimed_at", nullable=True),
                 _when("review_lease_until", nullable=True))
    _add_index(conn, "ix_task_states_review", "task_states", "state", "updated_at", "task_id", "draft_id")
    _add_index(conn, "ix_task_states_task_state", "task_states", "task_id", "state", "updated_at")
    _add_index(conn, "ix_task_states_draft_state", "task_states", "draft_id", "state", "updated_at", "task_id")
    _add_index(conn, "ix_task_states_reviewer", "task_states", "reviewer", "state", "updated_at", "task_id")
    _add_index(conn, "ix_tasks_source", "tasks", "source", "id")
    _add_index(conn, "ix_tasks_domain", "tasks", "domain", "id")
    _add_index(conn, "ix_drafts_model", "drafts", "model", "id")
    _add_index(conn, "ix_refinements_reviewer", "refinements", "reviewer", "created_at")


@migration
def m011_experiments(conn: Connection) -> None:
    """Experiment items: one task under one condition, its arm and its planted error."""
    Table("experiment_items", MetaData(),
          Column("item_id", String(200), primary_key=True),
          Column("experiment", String(64), nullable=False),
          Column("key", String(16), nullable=False),
          Column("task_id", String(200), nullable=False),
          Column("condition", String(64), nullable=False),
          _when("created_at"),
          Column("data", JSON, nullable=False),
          Index("ix_experiment_items_experiment", "experiment", "key")).create(conn, checkfirst=True)


@migration
def m012_calibration_serves(conn: Connection) -> None:
    """When each calibration item was first served to each trainer: the time on it is the server's."""
    Table("calibration_serves", MetaData(),
          Column("task_id", String(200), primary_key=True),
          Column("reviewer", String(100), primary_key=True),
          _when("served_at")).create(conn, checkfirst=True)


@migration
def m013_run_locks(conn: Connection) -> None:
    """Run locks: a second `oversight mine` on one database waits or says who holds the lock."""
    Table("run_locks", MetaData(),
          Column("name", String(100), primary_key=True),
          Column("owner", String(300), nullable=False),
          _when("started_at"),
          _when("lease_until")).create(conn, checkfirst=True)


@migration
def m014_status_columns(conn: Connection) -> None:
    """What `status` sums, as columns beside drafts, critiques and refinements, with covering indexes:
    it read every record (seconds at 100k queued tasks); it now reads indexes."""
    _add_columns(conn, "drafts", Column("tokens", Integer), Column("cost_usd", Float))
    _add_columns(conn, "critiques", Column("prompt_name", String(200)), Column("prompt_version", String(64)),
                 Column("checked", Boolean), Column("shown", Integer), Column("dropped", Integer),
                 Column("drop_reasons", String(500)), Column("tokens", Integer), Column("cost_usd", Float))
    _add_columns(conn, "refinements", Column("critique_id", String(64)), Column("verdicts_right", Integer),
                 Column("verdicts_wrong", Integer))
    drafts = _records("drafts", "tokens", "cost_usd")
    critiques = _records("critiques", "prompt_name", "prompt_version", "checked", "shown", "dropped", "drop_reasons",
                         "tokens", "cost_usd")
    refinements = _records("refinements", "critique_id", "verdicts_right", "verdicts_wrong")
    _fill(conn, drafts, "tokens", draft_summary)
    _fill(conn, critiques, "shown", critique_summary)
    shown = dict(conn.execute(select(critiques.c.id, critiques.c.shown)).all())
    _fill(conn, refinements, "verdicts_right",
          lambda data: refinement_summary(data, shown.get(data.get("critique_id") or "", 0)))
    _add_index(conn, "ix_drafts_usage", "drafts", "tokens", "cost_usd")
    _add_index(conn, "ix_critiques_critic", "critiques", "model", "prompt_name", "prompt_version", "checked",
               "drop_reasons", "shown", "dropped", "tokens", "cost_usd")
    _add_index(conn, "ix_refinements_verdicts", "refinements", "critique_id", "verdicts_right", "verdicts_wrong")



@migration
def m015_refinements_by_time(conn: Connection) -> None:
    """Refinements by (created_at, id): `export` reads them oldest first a chunk at a time, by seek."""
    _add_index(conn, "ix_refinements_created", "refinements", "created_at", "id")


@migration
def m016_gold(conn: Connection) -> None:
    """Judgment quality: gold items, the queue copies that carry them to one trainer each, their answers,
    each trainer's standing (paused, qualified domains), declared assessments and their results."""
    meta = MetaData()
    Table("gold_items", meta,
          Column("id", String(64), primary_key=True),
          Column("kind", String(20), nullable=False),
          Column("domain", String(200)),
          Column("made_by", String(100), nullable=False),
          Column("retired", Boolean, nullable=False),
          _when("created_at"),
          Column("data", JSON, nullable=False))
    Table("gold_copies", meta,
          Column("task_id", String(200), primary_key=True),
          Column("gold_id", String(64), nullable=False),
          Column("reviewer", String(100), nullable=False),
          Column("assessment", String(64)),
          _when("created_at"),
          Index("ix_gold_copies_reviewer", "reviewer", "gold_id", unique=True))
    Table("gold_answers", meta,
          Column("task_id", String(200), primary_key=True),
          Column("gold_id", String(64), nullable=False),
          Column("reviewer", String(100), nullable=False),
          Column("kind", String(20), nullable=False),
          Column("assessment", String(64)),
          _when("created_at"),
          Column("data", JSON, nullable=False),
          Index("ix_gold_answers_reviewer", "reviewer", "created_at"))
    Table("trainer_standing", meta,
          Column("reviewer", String(100), primary_key=True),
          Column("paused", Boolean, nullable=False),
          _when("updated_at"),
          Column("data", JSON, nullable=False))
    Table("assessments", meta,
          Column("name", String(64), primary_key=True),
          _when("created_at"),
          Column("data", JSON, nullable=False))
    Table("assessment_results", meta,
          Column("assessment", String(64), primary_key=True),
          Column("reviewer", String(100), primary_key=True),
          _when("decided_at"),
          Column("data", JSON, nullable=False))
    meta.create_all(conn)
