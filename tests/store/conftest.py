"""More databases like ``store_url``'s, for tests that build one database beside another."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def new_database(store_url: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A maker of empty databases of ``store_url``'s kind: SQLite files, or PostgreSQL schemas
    (dropped afterwards), each new one on every call."""
    if "://" not in store_url:
        paths = (tmp_path / f"other-{n}.db" for n in range(1000))
        yield lambda: str(next(paths))
        return
    import psycopg

    base = os.environ["OVERSIGHT_TEST_POSTGRES_URL"]
    schemas: list[str] = []

    def make() -> str:
        schemas.append(f"t_{uuid.uuid4().hex[:12]}")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schemas[-1]}"')
        return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schemas[-1]}"

    yield make
    with psycopg.connect(base, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
