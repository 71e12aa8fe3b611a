"""Numbered migrations. Each runs once, in order, in its own transaction.

Add a migration by appending a function to ``MIGRATIONS``; never edit one that has
shipped. ``Store.open`` applies whatever a database is missing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from oversight.store import tables


def m001_initial(conn: Connection) -> None:
    """Tasks, drafts, critiques, refinements and refine threads."""
    tables.metadata.create_all(conn, tables=tables.CORE_TABLES)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", m001_initial),
    ("m003_mine", lambda conn: __import__("oversight.mine.tables", fromlist=["m003_mine"]).m003_mine(conn)),
]
