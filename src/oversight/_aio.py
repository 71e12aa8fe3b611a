"""Small asyncio helpers every stage uses: run jobs together or not at all, and finish a write
that was already paid for even when the caller is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Sequence
from typing import Any, TypeVar

__all__ = ["finish_even_if_cancelled", "gather_or_cancel"]

T = TypeVar("T")


async def finish_even_if_cancelled(work: Awaitable[T]) -> T:
    """Await ``work`` to the end even if the caller is cancelled meanwhile (then re-raise the cancel):
    a paid answer on its way into the store must land."""
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def gather_or_cancel(jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run ``jobs`` concurrently, results in order; the first failure cancels the rest, waits
    for them to stop, and is raised as itself (not as an ExceptionGroup)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
