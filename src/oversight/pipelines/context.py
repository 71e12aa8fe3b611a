"""What a pipeline node gets besides its state: LangGraph's run context, which holds the project.

Every graph is built with ``context_schema=PipelineContext``; its nodes are module-level
functions of ``(state, runtime)`` that take the project from ``runtime.context``. The library
runs a graph with ``context=PipelineContext(project=project)``.

A run that brings no project (LangGraph's server, which knows nothing of a Project; or a
context of ``{}``) gets the default project: opened from the settings (oversight.toml and
OVERSIGHT_* variables) on the first node that needs it, once per process, and kept open for the
life of the process. Nothing is opened at import, so ``graphs/*.py`` can be loaded anywhere.

``node_runtime`` builds the runtime a node expects, to call a node without a graph.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, InstanceOf
from pydantic.json_schema import SkipJsonSchema

from oversight.project import Project

if TYPE_CHECKING:
    from langgraph.runtime import Runtime

__all__ = ["PipelineContext", "default_project", "node_runtime", "project_of", "thread_of"]


class PipelineContext(BaseModel):
    """The run context of every pipeline graph: the project its nodes work on.

    ``project=None`` (or no context at all) means the default project from the settings.
    Unknown keys are ignored: LangGraph's server may pass a run's configurable values as context.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    # the project itself, never a validated copy of its fields (a Project is a dataclass)
    project: SkipJsonSchema[InstanceOf[Project] | None] = None


_default: Project | None = None
_default_lock = threading.Lock()


def default_project() -> Project:
    """The project of runs that bring none: opened from the settings on first use, once per process."""
    global _default
    if _default is None:
        with _default_lock:  # nodes of concurrent runs may ask at once: open one Project
            if _default is None:
                _default = _open_default()
    return _default


def _open_default() -> Project:
    from oversight.config import load_settings

    return Project.open(load_settings())


async def project_of(runtime: Runtime[PipelineContext]) -> Project:
    """The project a node works on: the run context's, else the default one (opened in a worker thread)."""
    context = runtime.context
    if context is not None and context.project is not None:
        return context.project
    if _default is not None:
        return _default
    return await asyncio.to_thread(default_project)  # opening a store is blocking I/O


def thread_of(runtime: Runtime[PipelineContext]) -> str:
    """The thread id a node runs in ('' outside a checkpointed thread)."""
    info = runtime.execution_info
    return (info.thread_id if info is not None else None) or ""


def node_runtime(project: Project | None, *, thread_id: str = "") -> Runtime[PipelineContext]:
    """The runtime a node gets inside a graph, for calling the node alone (tests, scripts)."""
    from langgraph.runtime import ExecutionInfo, Runtime

    info = ExecutionInfo(checkpoint_id="", checkpoint_ns="", task_id="", thread_id=thread_id or None)
    return Runtime(context=PipelineContext(project=project), execution_info=info)
