"""The refine threads' checkpointer: a SqliteSaver on a file, PostgresSaver (a pool) for a team.

A trainer answers a paused thread days later from another process: the checkpointer is what
holds it. On PostgreSQL the savers' own migrations take turns under an advisory lock, and a
connection the server dropped is told apart from other errors (``lost_connection``) so that a
thread can run again on a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from oversight.errors import StoreError

__all__ = ["compiled_graph", "lost_connection", "open_checkpointer"]

_QUIET = logging.NullHandler()

# any fixed number: the key of the PostgreSQL advisory lock that checkpointer set-ups take turns on
_CHECKPOINT_SETUP_LOCK = 0x6F76_6572_7369_6768


@asynccontextmanager
async def open_checkpointer(location: str) -> AsyncIterator[Any]:
    """An async checkpointer: PostgresSaver for a PostgreSQL URL, else SqliteSaver on a file."""
    if location.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        import psycopg
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        url = location.replace("postgresql+psycopg://", "postgresql://", 1)
        # the pool says each failed reconnect on the log; the command's own line says what matters
        logging.getLogger("psycopg.pool").addHandler(_QUIET)
        # a pool, not one connection: each checkpoint write takes a connection checked alive, so a
        # server that dropped its connections (a restart, a failover) costs a reconnect, not the run
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=4, open=False, check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})
        try:  # one plain connection first: a server that is not there is one line at once, not a wait
            await (await psycopg.AsyncConnection.connect(url, autocommit=True)).close()
            await pool.open(wait=True, timeout=15)
        except Exception as exc:
            await pool.close()
            from oversight.store import masked_url

            raise StoreError(f"cannot open the checkpoint database {masked_url(location)}: "
                             f"{lost_connection(exc) or type(exc).__name__}") from exc
        try:
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            await _setup_postgres_saver(pool, saver)
            yield saver
        finally:
            await pool.close()
    else:
        from pathlib import Path

        from oversight.pipelines._sqlite_saver import open_sqlite_saver

        path = Path(location.removeprefix("sqlite:///")).expanduser()
        saver = await asyncio.to_thread(open_sqlite_saver, path)  # opening a file is blocking I/O
        try:
            yield saver
        finally:
            await saver.aclose()


@asynccontextmanager
async def compiled_graph(builder: Any, location: str, name: str) -> AsyncIterator[Any]:
    """``builder`` compiled as ``name`` with the checkpointer at ``location``, open for the block."""
    async with open_checkpointer(location) as saver:
        yield builder.compile(checkpointer=saver, name=name)


async def _setup_postgres_saver(pool: Any, saver: Any) -> None:
    """Create or migrate the checkpoint tables, one process at a time.

    PostgresSaver.setup reads the last migration applied, then applies and records the
    rest: workers that start together on a new database would all apply them, and all but
    one die on checkpoint_migrations' primary key. A session advisory lock makes them take
    turns; the later ones find nothing left to do. The others poll for the lock rather than
    wait in a statement: a migration builds an index CONCURRENTLY, which waits for every
    open transaction, a waiting lock request included (a deadlock).
    """
    async with pool.connection() as conn, conn.cursor() as cur:  # autocommit, held while the saver sets up
        delay = 0.02
        while True:
            await cur.execute("SELECT pg_try_advisory_lock(%s) AS got", (_CHECKPOINT_SETUP_LOCK,))
            row = await cur.fetchone()
            if row and row["got"]:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        try:
            await saver.setup()
        finally:
            await cur.execute("SELECT pg_advisory_unlock(%s)", (_CHECKPOINT_SETUP_LOCK,))


def lost_connection(exc: BaseException) -> str | None:
    """Why the database connection went away under a thread (one line), or None if it is not that."""
    import psycopg
    from psycopg_pool import PoolTimeout
    from sqlalchemy.exc import DBAPIError

    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
    if isinstance(cause, DBAPIError) and cause.connection_invalidated:
        cause = cause.orig or cause
    elif isinstance(cause, DBAPIError):
        return None
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError | PoolTimeout):
        return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return None
