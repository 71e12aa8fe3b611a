"""Binding module-level nodes of (state, runtime) into graph nodes, for every pipeline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import RunnableConfig

from oversight.runtime import Runtime

__all__ = ["LazyRuntime", "RuntimeSource", "bind", "thread_of"]

RuntimeSource = Runtime | Callable[[], Runtime]


class LazyRuntime:
    """A Runtime given, or made on first use (a graph module must not open a database at import)."""

    def __init__(self, source: RuntimeSource):
        self._source = source
        self._runtime = source if isinstance(source, Runtime) else None
        self._lock = threading.Lock()

    @property
    def ready(self) -> Runtime | None:
        """The runtime if it is open already (no waiting), else None."""
        return self._runtime

    def get(self) -> Runtime:
        if self._runtime is None:
            with self._lock:  # nodes of concurrent threads may ask at once; open one Runtime
                if self._runtime is None:
                    self._runtime = self._source()  # type: ignore[operator]
        return self._runtime


def thread_of(config: RunnableConfig | None) -> str:
    """The thread id a node runs in ('' outside a checkpointed thread)."""
    return str(((config or {}).get("configurable") or {}).get("thread_id") or "")


def bind(node: Callable[..., Awaitable[dict[str, Any]]], lazy: LazyRuntime, *, threaded: bool = False) -> Any:
    """``node(state, runtime[, thread_id=...])`` as a graph node of (state, config).

    Not ``functools.wraps``: LangGraph reads the signature through ``__wrapped__`` and would
    pass its own ``runtime`` argument to a parameter of that name.
    """

    async def bound(state: Any, config: RunnableConfig) -> dict[str, Any]:
        runtime = lazy.ready or await asyncio.to_thread(lazy.get)  # opening a store is blocking I/O
        if threaded:
            return await node(state, runtime, thread_id=thread_of(config))
        return await node(state, runtime)

    bound.__name__ = bound.__qualname__ = node.__name__
    bound.__doc__ = node.__doc__
    return bound
