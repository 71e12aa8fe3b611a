"""Table definitions, shared by every dialect (SQLite, PostgreSQL).

Each record is kept whole as JSON in ``data``; the columns beside it are the ones
queries filter or join on. Other packages (audit, mine) define their tables on the
same ``metadata`` in their own modules and create them in their own migration.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, MetaData, String, Table, Text

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("domain", String(200)),
    Column("kind", String(200)),
    Column("source", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

drafts = Table(
    "drafts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("task_id", String(200), nullable=False),
    Column("model", String(300), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_drafts_task", "task_id"),
)

critiques = Table(
    "critiques",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("draft_id", String(64), nullable=False),
    Column("task_id", String(200), nullable=False),
    Column("model", String(300), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_critiques_draft", "draft_id"),
)

refinements = Table(
    "refinements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("task_id", String(200), nullable=False),
    Column("draft_id", String(64), nullable=False),
    Column("decision", String(20), nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("seconds_spent", Float, nullable=False, default=0.0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_refinements_draft", "draft_id"),
    Index("ix_refinements_task", "task_id"),
)

# One row per refine-graph thread: where it stands, so `review` can find the paused
# ones without scanning the checkpointer.
refine_threads = Table(
    "refine_threads",
    metadata,
    Column("thread_id", String(300), primary_key=True),
    Column("task_id", String(200), nullable=False),
    Column("status", String(20), nullable=False),  # running | awaiting_review | done
    Column("draft_id", String(64)),
    Column("critique_id", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_refine_threads_status", "status"),
    Index("ix_refine_threads_task", "task_id"),
)

CORE_TABLES = [tasks, drafts, critiques, refinements, refine_threads]
