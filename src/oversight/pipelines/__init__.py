"""LangGraph pipelines that wire the stages: ``refine`` (with the human pause) and ``mine``.

Nodes are module-level functions of (state, runtime), each testable without a graph;
the builders bind them to a runtime. ``graphs/*.py`` compile them for LangGraph's server.
"""

from oversight.pipelines.refine import (
    DraftRunSummary,
    RefineInput,
    RefineState,
    build_refine_graph,
    draft_tasks,
    open_checkpointer,
)

__all__ = ["DraftRunSummary", "RefineInput", "RefineState", "build_refine_graph", "draft_tasks", "open_checkpointer"]
