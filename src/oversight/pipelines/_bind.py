"""Binding module-level nodes of (state, project) into graph nodes, for every pipeline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import RunnableConfig

from oversight.project import Project

__all__ = ["LazyProject", "ProjectSource", "bind", "thread_of"]

ProjectSource = Project | Callable[[], Project]


class LazyProject:
    """A Project given, or made on first use (a graph module must not open a database at import)."""

    def __init__(self, source: ProjectSource):
        self._source = source
        self._project = source if isinstance(source, Project) else None
        self._lock = threading.Lock()

    @property
    def ready(self) -> Project | None:
        """The project if it is open already (no waiting), else None."""
        return self._project

    def get(self) -> Project:
        if self._project is None:
            with self._lock:  # nodes of concurrent threads may ask at once; open one Project
                if self._project is None:
                    self._project = self._source()  # type: ignore[operator]
        return self._project


def thread_of(config: RunnableConfig | None) -> str:
    """The thread id a node runs in ('' outside a checkpointed thread)."""
    return str(((config or {}).get("configurable") or {}).get("thread_id") or "")


def bind(node: Callable[..., Awaitable[dict[str, Any]]], lazy: LazyProject, *, threaded: bool = False) -> Any:
    """``node(state, project[, thread_id=...])`` as a graph node of (state, config).

    Not ``functools.wraps``: LangGraph reads the signature through ``__wrapped__`` and would
    pass its own ``project`` argument to a parameter of that name.
    """

    async def bound(state: Any, config: RunnableConfig) -> dict[str, Any]:
        project = lazy.ready or await asyncio.to_thread(lazy.get)  # opening a store is blocking I/O
        if threaded:
            return await node(state, project, thread_id=thread_of(config))
        return await node(state, project)

    bound.__name__ = bound.__qualname__ = node.__name__
    bound.__doc__ = node.__doc__
    return bound
