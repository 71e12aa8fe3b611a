"""Persistence: SQLite by default, PostgreSQL for teams, one code path (SQLAlchemy 2)."""

from oversight.store._store import TASK_STATES, Store, database_url

__all__ = ["Store", "database_url", "TASK_STATES"]
