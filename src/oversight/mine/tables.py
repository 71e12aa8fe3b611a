"""The mine tables (migration m003_mine), on the store's shared metadata."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from oversight.store.tables import metadata

__all__ = ["MINE_TABLES", "embeddings", "failure_notes", "m003_mine", "mining_runs", "pattern_members", "patterns"]

failure_notes = Table(
    "failure_notes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(20), nullable=False),
    Column("refinement_id", String(64)),
    Column("task_id", String(200)),
    Column("external_id", String(300)),
    Column("import_source", Text),
    Column("text_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_failure_notes_refinement", "refinement_id"),
)

# Vectors are cached by (model, text hash): the same sentence is embedded once per model.
embeddings = Table(
    "embeddings",
    metadata,
    Column("model", String(300), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

patterns = Table(
    "patterns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("size", Integer, nullable=False),
    Column("prevalence", Float, nullable=False),
    Column("last_run_id", String(64), nullable=False),
    Column("centroid", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

pattern_members = Table(
    "pattern_members",
    metadata,
    Column("pattern_id", String(64), primary_key=True),
    Column("note_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("similarity", Float, nullable=False),
    Index("ix_pattern_members_note", "note_id"),
)

mining_runs = Table(
    "mining_runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

MINE_TABLES = [failure_notes, embeddings, patterns, pattern_members, mining_runs]


def m003_mine(conn: Connection) -> None:
    """Failure notes, the embedding cache, patterns, their members and mining runs."""
    metadata.create_all(conn, tables=MINE_TABLES)
