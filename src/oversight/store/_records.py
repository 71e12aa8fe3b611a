"""Tables whose rows keep a record as JSON (a ``data`` column) beside the columns queries filter on."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, Select, Table, delete, insert, select

from oversight.store._base import StoreBase

__all__ = ["RecordTables"]

_M = TypeVar("_M", bound=BaseModel)


class RecordTables(StoreBase):
    """Reading and replacing the records such tables keep."""

    def _record(self, model: type[_M], table: Table, *where: Any) -> _M | None:
        """The record kept in ``table``'s JSON ``data`` column of the row matching ``where``, or None."""
        with self.reading() as conn:
            data = conn.scalar(select(table.c.data).where(*where))
        return None if data is None else model.model_validate(data)

    def _records(self, model: type[_M], query: Select[Any]) -> list[_M]:
        """The records a query of a ``data`` column finds, in its order."""
        with self.reading() as conn:
            return [model.model_validate(data) for data in conn.scalars(query)]

    @staticmethod
    def _replace_row(conn: Connection, table: Table, key: Any, **values: Any) -> None:
        """Put a row in place of the one ``key`` (a where clause) finds, if any."""
        conn.execute(delete(table).where(key))
        conn.execute(insert(table).values(**values))
