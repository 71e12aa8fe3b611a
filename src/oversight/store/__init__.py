"""Persistence: SQLite by default, PostgreSQL for teams, one code path (SQLAlchemy 2).

Every table, migration and write helper lives here; this package imports nothing of
oversight above ``schemas`` and ``errors``.
"""

from oversight.store._base import database_url, masked_url
from oversight.store._export import ExportSelection, JoinedRefinement
from oversight.store._refine import TASK_STATES, TaskState, TaskStateName
from oversight.store._store import Store

__all__ = ["ExportSelection", "JoinedRefinement", "Store", "TASK_STATES", "TaskState", "TaskStateName", "database_url",
           "masked_url"]
