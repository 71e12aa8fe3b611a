"""LangGraph pipelines that wire the stages: ``refine`` (with the human pause), ``mine``, ``intervene``.

Nodes are module-level functions of (state, runtime), each testable without a graph; the
project reaches them through LangGraph's run context (``context.PipelineContext``).
``graphs/*.py`` compile them for LangGraph's server.
``checkpointer`` holds the paused threads; ``workers`` drafts many tasks with several workers.
"""

from oversight.pipelines.checkpointer import open_checkpointer
from oversight.pipelines.context import PipelineContext, node_runtime
from oversight.pipelines.refine import RefineInput, RefineState, build_refine_graph
from oversight.pipelines.workers import DraftRunSummary, draft_tasks

__all__ = [
    "DraftRunSummary",
    "PipelineContext",
    "RefineInput",
    "RefineState",
    "build_refine_graph",
    "draft_tasks",
    "node_runtime",
    "open_checkpointer",
]
