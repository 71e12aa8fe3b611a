"""One mining run at a time per database: a lock row in the store, held while the run works.

Two runs at once would pay for every model call twice (edit explanations, abstractions, names)
and record two runs that do not continue each other. The second run is told who holds the lock
(``MiningInProgressError``), or waits for it with ``wait``. The holder renews its lease while it
works; a holder that died (a kill, a crash, a lost machine) stops renewing and its lease runs
out, and one on this machine whose process is gone loses the lock at once.

A run in one block holds it with ``holding_mine_lock``; a run in several steps (the mine graph's
nodes) takes it with ``take_mine_lock``, keeps the owner in its state and enters a
``MineLockStep`` for each step.
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

__all__ = [
    "LEASE_SECONDS",
    "MINE_LOCK",
    "MineLockStep",
    "holding_mine_lock",
    "release_mine_lock",
    "take_mine_lock",
]

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


async def take_mine_lock(
    store: Store,
    *,
    wait: bool = False,
    progress: Callable[[str], None] = lambda _m: None,
    lease_seconds: float = LEASE_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """Take the database's mine lock for a new owner and return the owner (give it back with
    ``MineLockStep(..., last=True)`` or ``release_mine_lock``). Raises MiningInProgressError (unless ``wait``).

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
    return owner


async def release_mine_lock(store: Store, owner: str) -> None:
    """Give the lock up (nothing happens when ``owner`` no longer holds it)."""
    await asyncio.to_thread(store.release_lock, MINE_LOCK, owner)


class MineLockStep:
    """One step of a run that holds the lock under ``owner``: the whole run, or one node of the mine graph.

    On entry the lock is taken again (a renewal: it is the owner's, or free once the owner's lease ran
    out; held by another run, it raises MiningInProgressError); while the step works the lease is renewed
    every third of it. The step gives the lock up when it fails (the run ends there) or when it is
    the run's ``last``, which the step may decide as it works (``step.last = True``).
    """

    def __init__(self, store: Store, owner: str, *, last: bool = False, lease_seconds: float = LEASE_SECONDS):
        self.store, self.owner, self.last, self.lease_seconds = store, owner, last, lease_seconds
        self._renewing: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MineLockStep:
        holder = await asyncio.to_thread(self.store.take_lock, MINE_LOCK, self.owner,
                                         lease_seconds=self.lease_seconds, is_dead=_dead_here)
        if holder is not None:
            raise MiningInProgressError(f"another mine run took this run's lock ({describe(holder)}) after its lease "
                                    "ran out; run again when it ends")
        self._renewing = asyncio.create_task(self._renew())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with suppress(asyncio.CancelledError):
                await self._renewing
        if kind is not None or self.last:
            await release_mine_lock(self.store, self.owner)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            with suppress(OversightError):  # a database hiccup: the next renewal tries again
                await asyncio.to_thread(self.store.renew_lock, MINE_LOCK, self.owner,
                                        lease_seconds=self.lease_seconds)


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
    owner = await take_mine_lock(store, wait=wait, progress=progress, lease_seconds=lease_seconds, sleep=sleep)
    async with MineLockStep(store, owner, last=True, lease_seconds=lease_seconds):
        yield
