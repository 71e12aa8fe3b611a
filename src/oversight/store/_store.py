"""The store: every table behind one object, one code path over SQLite and PostgreSQL."""

from __future__ import annotations

from oversight.store._accounts import AccountRecords
from oversight.store._calibration import CalibrationRecords
from oversight.store._experiments import ExperimentRecords
from oversight.store._export import ExportRecords
from oversight.store._gold import GoldRecords
from oversight.store._intervene import InterventionRecords
from oversight.store._judgments import JudgmentRecords
from oversight.store._locks import LockRecords
from oversight.store._mine import MineRecords
from oversight.store._refine import RefineRecords
from oversight.store._review import ReviewRecords
from oversight.store._status import StatusRecords

__all__ = ["Store"]


class Store(RefineRecords, StatusRecords, MineRecords, JudgmentRecords, InterventionRecords, AccountRecords,
            ReviewRecords, CalibrationRecords, GoldRecords, ExperimentRecords, LockRecords, ExportRecords):
    """Records of every stage in a relational database (SQLAlchemy 2 Core).

    Every public write is one transaction: it lands whole or not at all. Stages call
    these methods; none of them touches the engine or a table.
    """
