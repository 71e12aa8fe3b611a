"""One mining run at a time per database: a lock row in the store, held while the run works.

Two runs at once would pay for every model call twice (edit explanations, abstractions, names)
and record two runs that do not continue each other. The second run is told who holds the lock
(``MiningInProgressError``), or waits for it with ``wait``. The holder renews its lease while it
works; a holder that died (a kill, a crash, a lost machine) stops renewing and its lease runs
out, and one on this machine whose process is gone loses the lock at once.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

from oversight.errors import MiningInProgressError, OversightError
from oversight.schemas import new_id

if TYPE_CHECKING:
    from oversight.store import Store
    from oversight.store._locks import LockHolder

__all__ = ["LEASE_SECONDS", "MINE_LOCK", "holding_mine_lock"]

MINE_LOCK = "mine"
LEASE_SECONDS = 120.0  # renewed every third of it while the run works
POLL_SECONDS = 2.0  # how often a waiting run looks again



def _owner() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{new_id('lock')}"


def _dead_here(owner: str) -> bool:
    """A holder on this machine whose process is gone (its lease need not run out first)."""
    host, _, rest = owner.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def describe(holder: LockHolder) -> str:
    """'started 2025-01-02 10:11:12 UTC by pid 123 on host': who holds the lock."""
    host, _, rest = holder.owner.partition("/")
    pid = rest.partition("/")[0] or "?"
    return f"started {holder.started_at:%Y-%m-%d %H:%M:%S} UTC by pid {pid} on {host}"


@asynccontextmanager
async def holding_mine_lock(
    store: Store,
    *,
    wait: bool = False,
    progress: Callable[[str], None] = lambda _m: None,
    lease_seconds: float = LEASE_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[None]:
    """Hold the database's mine lock for the block. Raises MiningInProgressError (unless ``wait``).

    ``sleep`` is how a waiting run waits between looks (tests pass one that does not sleep).
    """
    owner = _owner()
    told = False
    while (holder := await asyncio.to_thread(store.take_lock, MINE_LOCK, owner, lease_seconds=lease_seconds,
                                             is_dead=_dead_here)) is not None:
        if not wait:
            raise MiningInProgressError(f"another mine run is in progress ({describe(holder)}); "
                                    "run again when it ends, or with --wait to wait for it")
        if not told:
            progress(f"waiting for the mine run in progress ({describe(holder)})")
            told = True
        await sleep(POLL_SECONDS)

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease_seconds / 3)
            with suppress(OversightError):  # a database hiccup: the next renewal tries again
                await asyncio.to_thread(store.renew_lock, MINE_LOCK, owner, lease_seconds=lease_seconds)

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with suppress(asyncio.CancelledError):
            await renewing
        await asyncio.to_thread(store.release_lock, MINE_LOCK, owner)
