"""The pipelines' run context: the project a node works on, and the thread it runs in."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.pipelines.context import PipelineContext, node_runtime, project_of, thread_of
from oversight.pipelines.intervene import build_intervene_graph
from oversight.pipelines.mine import build_mine_graph
from oversight.pipelines.refine import build_refine_graph
from oversight.project import Project


@pytest.mark.parametrize("build", [build_refine_graph, build_mine_graph, build_intervene_graph])
def test_every_graph_takes_the_context_and_shows_studio_a_schema_without_the_project(build) -> None:
    graph = build().compile()
    assert graph.context_schema is PipelineContext
    schema = graph.get_context_jsonschema()  # LangGraph Studio asks for it: a Project is no JSON
    assert schema["type"] == "object" and schema["properties"] == {}


async def test_a_node_gets_the_context_project_and_the_thread(tmp_path: Path) -> None:
    from oversight.config import load_settings

    with Project.open(load_settings(db=str(tmp_path / "c.db"))) as project:
        runtime = node_runtime(project, thread_id="th-9")
        assert await project_of(runtime) is project and thread_of(runtime) == "th-9"
        assert thread_of(node_runtime(project)) == ""


async def test_a_library_run_without_its_project_fails_in_tests() -> None:
    """tests/conftest.py refuses the default project, so a call site that forgets its context fails."""
    with pytest.raises(AssertionError, match="without a project in its context"):
        await project_of(node_runtime(None))
