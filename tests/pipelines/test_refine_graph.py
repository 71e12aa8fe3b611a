"""The refine graph: it pauses for a human with task, draft and critique, resumes with an
answer, and a re-run never pays twice. Model traffic replays cassettes."""

from __future__ import annotations

import pytest

from oversight import review
from oversight.errors import NotFoundError
from oversight.pipelines import build_refine_graph, draft_tasks, open_checkpointer
from oversight.pipelines.context import PipelineContext
from oversight.pipelines.refine import run_to_pause
from oversight.project import Project
from oversight.refine.answers import RefinementInput
from oversight.schemas import FindingVerdict
from tests._demo import demo_tasks


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def project(request, recorded_settings):
    """The same run on SQLite (store + SqliteSaver) and PostgreSQL (store + PostgresSaver)."""
    update = {"max_tokens": 96}
    if request.param == "postgres":
        update["db"] = request.getfixturevalue("postgres_url")
    settings = recorded_settings.model_copy(update=update)
    with Project.open(settings) as rt:
        rt.store.add_tasks(demo_tasks(2))
        yield rt


@pytest.fixture
def default_cassette_name(request) -> str:
    """Both backends replay one cassette: the model traffic does not depend on the database."""
    return request.node.originalname


@pytest.mark.vcr
async def test_graph_pauses_at_human_refine_then_records_the_answer(project: Project, vcr) -> None:
    summary = await draft_tasks(project)
    assert summary.as_dict()["drafted"] == 2 and not summary.errors
    assert len(vcr.requests) == 4  # one draft and one critique per task
    played = vcr.play_count  # 0 while recording, 4 when replaying

    # drafting runs the work before the pause without the graph: no checkpoint yet, the store says
    # awaiting review; the first thread to need its pause (here task 1, run by hand) finds it all stored
    first, second = (t.id for t in demo_tasks(2))
    async with open_checkpointer(project.settings.checkpoint_location()) as saver:
        graph = build_refine_graph().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": project.thread_id(first)}}
        assert (await graph.aget_state(config)).next == ()
        await run_to_pause(graph, first, project.thread_id(first), PipelineContext(project=project))
        snapshot = await graph.aget_state(config)
    assert len(vcr.requests) == 4 and vcr.play_count == played  # no model call to reach the pause
    assert snapshot.next == ("human_refine",)
    payload = snapshot.tasks[0].interrupts[0].value
    assert payload["task"]["id"] == first
    assert payload["draft"]["text"] and "findings" in payload["critique"]
    assert payload["critique"]["id"] == project.store.task_state(first)["critique_id"]

    assert len(review.queue(project.store)) == 2
    n_findings = len(payload["critique"]["findings"])
    verdicts = [FindingVerdict(finding=0, verdict="wrong")] if n_findings else []
    answer = RefinementInput(
        decision="edit",
        refined_text=payload["draft"]["text"] + " (checked against the passage)",
        tags=["unsupported claim"],
        rationale="Added a caveat.",
        finding_verdicts=verdicts,
        seconds_spent=12.5,
        reviewer="alice",
    )
    task_id = demo_tasks(1)[0].id
    saved = await review.submit(project, task_id, answer)
    assert saved.decision == "edit" and saved.tags == ["unsupported-claim"]
    assert saved.diff[-1].op == "insert"
    assert [r.id for r in project.store.refinements()] == [saved.id]
    assert [e.task_id for e in review.queue(project.store)] == [second]
    assert project.store.task_state(task_id).state == "refined"
    with pytest.raises(NotFoundError, match="not awaiting review"):
        await review.submit(project, task_id, answer)

    # task 2's thread never ran: the answer writes its pause, then resumes it
    other = await review.submit(project, second, RefinementInput(decision="accept", reviewer="bob"))
    assert other.decision == "accept" and project.store.task_state(second).state == "refined"

    again = await draft_tasks(project)  # nothing new to pay for
    assert again.as_dict()["already_drafted"] == 2
    assert len(vcr.requests) == 4 and vcr.play_count == played
    assert project.store.count("drafts") == 2


def test_graph_module_exports_a_graph_without_checkpointer() -> None:
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    config = json.loads((root / "langgraph.json").read_text())
    module_path, attr = config["graphs"]["refine"].split(":")
    spec = importlib.util.spec_from_file_location("refine_graph_module", root / module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = getattr(module, attr)
    assert graph.checkpointer is None
    assert set(graph.get_graph().nodes) >= {"draft_answer", "critique_draft", "human_refine", "record_refinement"}
