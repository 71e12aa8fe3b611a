"""Each refine node alone, without a graph: a real store and a local OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oversight.config import load_settings
from oversight.pipelines.context import node_runtime
from oversight.pipelines.refine import critique_draft, draft_answer, human_refine, record_refinement
from oversight.project import Project
from oversight.schemas import Task
from tests.support.stub_server import StubServer


@pytest.fixture
def stub() -> Any:
    with StubServer() as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, stub: StubServer) -> Any:
    settings = load_settings(db=str(tmp_path / "nodes.db"), model="openai/stub", api_base=stub.api_base,
                             api_key="sk-test")
    with Project.open(settings) as rt:
        rt.store.add_tasks([Task(id="q", prompt="What is 2 + 2?")])
        yield rt


async def test_draft_then_critique_nodes_pay_once_and_move_the_task(project: Project, stub: StubServer) -> None:
    drafted = await draft_answer({"task_id": "q"}, node_runtime(project))
    assert drafted["task"]["id"] == "q" and drafted["draft"]["text"]
    again = await draft_answer({"task_id": "q"}, node_runtime(project))
    assert again["draft"]["id"] == drafted["draft"]["id"]
    assert len(stub.requests) == 1  # the second run found the stored draft

    critiqued = await critique_draft({"task_id": "q", **drafted}, node_runtime(project, thread_id="th-1"))
    assert critiqued["critique"]["draft_id"] == drafted["draft"]["id"]
    state = project.store.task_state("q")
    assert (state.state, state["critique_id"], state["thread_id"]) == ("awaiting_review", critiqued["critique"]["id"], "th-1")
    assert len(stub.requests) == 2


async def test_human_refine_checks_the_answer_once_and_record_saves_it(project: Project) -> None:
    from unittest import mock

    drafted = await draft_answer({"task_id": "q"}, node_runtime(project))
    state = {"task_id": "q", **drafted, **(await critique_draft({"task_id": "q", **drafted}, node_runtime(project)))}
    n_findings = len(state["critique"]["findings"])
    bad_verdict = {"decision": "accept", "finding_verdicts": [{"finding": n_findings, "verdict": "right"}]}
    answers = [{"decision": "edit"}, bad_verdict, {"decision": "reject", "tags": ["Made Up"]}]
    payloads: list[dict[str, Any]] = []

    def trainer(payload: dict[str, Any]) -> dict[str, Any]:
        payloads.append(payload)
        return answers[len(payloads) - 1]

    with mock.patch("langgraph.types.interrupt", side_effect=trainer):
        out = await human_refine(state, node_runtime(project, thread_id="th-1"))
    # each bad answer pauses again, saying what was wrong; the third one fits
    assert [p["problem"] for p in payloads] == [
        None,
        "decision 'edit' needs refined_text",
        f"verdict for finding {n_findings}, but the critique has {n_findings}",
    ]
    assert out["refinement"]["tags"] == ["made-up"] and out["refinement"]["decision"] == "reject"
    assert project.store.count("refinements") == 0  # nothing recorded until the next node

    saved = await record_refinement({**state, **out}, node_runtime(project))
    assert saved["refinement"]["id"] == out["refinement"]["id"]
    await record_refinement({**state, **out}, node_runtime(project))  # a re-run of the step: still one
    assert project.store.count("refinements") == 1
    assert project.store.task_state("q").state == "refined"
