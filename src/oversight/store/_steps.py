"""What the migration steps share: a timestamp column, adding columns and indexes to a table that
exists, and filling summary columns from the records beside them. Imports nothing of oversight."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Index,
    MetaData,
    Table,
    bindparam,
    column,
    inspect,
    select,
    table,
    text,
    update,
)
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql.expression import TableClause

__all__ = ["_add_columns", "_add_index", "_fill", "_records", "_when"]


def _when(name: str, *, nullable: bool = False) -> Column[Any]:
    """A moment, with its time zone (every timestamp the store keeps is one)."""
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _add_columns(conn: Connection, name: str, *columns: Column[Any]) -> None:
    """Add columns to a table, each as its own ``ALTER TABLE ... ADD COLUMN`` (SQLite adds one at a
    time); one a release before these steps created with its table already is left as it is."""
    present = {c["name"] for c in inspect(conn).get_columns(name)}
    Table(name, MetaData(), *columns)  # gives each column its table, which CreateColumn compiles against
    for added in columns:
        if added.name not in present:
            spec = CreateColumn(added).compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {conn.dialect.identifier_preparer.quote(name)} ADD COLUMN {spec}"))


def _add_index(conn: Connection, name: str, table_name: str, *columns: str) -> None:
    """Create an index on columns of an existing table, unless it is there already."""
    holder = Table(table_name, MetaData(), *(Column(c) for c in columns))
    Index(name, *(holder.c[c] for c in columns)).create(conn, checkfirst=True)


def _records(name: str, *columns: str) -> TableClause:
    """A table of records (``id``, the record as JSON in ``data``) with the named columns beside them."""
    return table(name, column("id"), column("data", JSON), *map(column, columns))


def _fill(conn: Connection, records: TableClause, marker: str,
          summary: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Compute the summary columns of every row whose ``marker`` column is empty, from its record."""
    c = records.c
    ids = list(conn.scalars(select(c.id).where(c[marker].is_(None))))
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(c.id, c.data).where(c.id.in_(ids[start:start + 500]))).all()
        values = [{"key": row.id, **summary(row.data)} for row in rows]
        if values:
            names = [name for name in values[0] if name != "key"]
            conn.execute(update(records).where(c.id == bindparam("key"))
                         .values({name: bindparam(name) for name in names}), values)
