"""LangGraph's SqliteSaver for async graphs, each checkpoint call whole on a thread of its own.

LangGraph's AsyncSqliteSaver goes through aiosqlite: every cursor, statement, fetch and commit is
a hop of its own to the connection's thread and back, eleven for a refine thread run to its
pause, each waiting for the GIL while the event loop is busy. Here the sync SqliteSaver does
each call (read a thread, put a checkpoint, put its writes) whole on the saver's thread, and calls
made while that thread is busy are run together, their results sent back to the event loop
together: a checkpoint and its writes (which come in pairs), or threads pausing at once, cost one
wake-up each way. The same tables, rows and serialisation: either saver reads the other's threads.

On the file: WAL, so readers never wait for a writer; a busy timeout, as several processes (page
workers, ``draft``, ``review``) write threads to one file; ``synchronous=NORMAL`` as the store has:
a commit survives a killed process, with no fsync per commit for every thread to queue behind.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from langgraph.checkpoint.sqlite import SqliteSaver

__all__ = ["ThreadedSqliteSaver", "open_sqlite_saver"]

_R = TypeVar("_R")
BUSY_TIMEOUT_S = 30.0


_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


class _Calls:
    """Calls run in order on one thread; those made while it is busy run as one batch, answered together."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[], _R]) -> asyncio.Future[_R]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, fn))
        return future

    def stop(self) -> None:
        """Run the calls already made, then end the thread (without waiting for it)."""
        self._jobs.put(None)

    def _serve(self) -> None:
        while True:
            batch = [self._jobs.get()]
            while True:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
            for job in batch:
                if job is None:
                    continue
                loop, future, fn = job
                try:
                    answer = (future, fn(), None)
                except BaseException as exc:  # handed to the caller, as run_in_executor does
                    answer = (future, None, exc)
                answers.setdefault(loop, []).append(answer)
            for loop, answered in answers.items():
                try:
                    loop.call_soon_threadsafe(_settle, answered)
                except RuntimeError:  # the loop closed: nobody waits for these any more
                    pass
            if None in batch:
                return


def _settle(answered: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, exc in answered:
        if future.cancelled():
            continue
        if exc is None:
            future.set_result(result)
        else:
            future.set_exception(exc)


class ThreadedSqliteSaver(SqliteSaver):
    """A SqliteSaver whose async calls each run whole on the saver's own thread (see the module's doc)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        self._calls = _Calls("checkpoints")

    async def _call(self, fn: Callable[..., _R], *args: Any, **kwargs: Any) -> _R:
        return await self._calls.call(functools.partial(fn, *args, **kwargs))

    async def aget_tuple(self, config: Any) -> Any:
        return await self._call(self.get_tuple, config)

    async def alist(self, config: Any, *, filter: dict[str, Any] | None = None, before: Any = None,
                    limit: int | None = None) -> AsyncIterator[Any]:
        found = await self._call(lambda: list(self.list(config, filter=filter, before=before, limit=limit)))
        for item in found:
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return await self._call(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        await self._call(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._call(self.delete_thread, thread_id)

    async def aget_delta_channel_history(self, *, config: Any, channels: Sequence[str]) -> Any:
        return await self._call(self.get_delta_channel_history, config=config, channels=channels)

    async def aclose(self) -> None:
        """Finish the calls under way, close the connection and end the thread."""
        await self._call(self.conn.close)
        self._calls.stop()


def open_sqlite_saver(path: Path) -> ThreadedSqliteSaver:
    """The saver on ``path`` (made, with its tables, if new). Blocking: call it in a worker thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _in_wal_mode(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        saver = ThreadedSqliteSaver(conn)
        saver.setup()
    except BaseException:
        conn.close()
        raise
    return saver


def _in_wal_mode(conn: sqlite3.Connection, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
    """Put the file in WAL mode (once per file: it stays so). Processes opening a new file at once race
    to convert it, and SQLite refuses the loser at once ("database is locked"), without the busy
    timeout: it tries again, for as long as that timeout."""
    deadline = clock() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or clock() >= deadline:
                raise
        sleep(delay)
        delay = min(2 * delay, 0.25)
