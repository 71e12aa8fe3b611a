"""Numbered migrations. Each runs once, in order, in its own transaction.

Add a migration by appending a function to ``MIGRATIONS``; never edit one that has
shipped. ``Store.open`` applies whatever a database is missing. A subsystem's tables
are defined in its own package; its migration imports them when it runs, so opening
a store does not import the analysis packages.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from oversight.store import tables


def m001_initial(conn: Connection) -> None:
    """Tasks, drafts, critiques, refinements and refine threads."""
    tables.metadata.create_all(conn, tables=tables.CORE_TABLES)


def m002_judgments(conn: Connection) -> None:
    """Judgments (pairwise preferences and ratings) for the audits."""
    from oversight.audit.persist import m002_judgments as create

    create(conn)


def m003_mine(conn: Connection) -> None:
    """Failure notes, the embedding cache, patterns and mining runs."""
    from oversight.mine.tables import m003_mine as create

    create(conn)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", m001_initial),
    ("m002_judgments", m002_judgments),
    ("m003_mine", m003_mine),
]
