"""Threads the previous release paused at human_refine resume under this one.

The fixture (tests/fixtures/pipelines/paused_thread, made by make_paused_thread.py beside it with
the release whose nodes were bound to a project, before they took LangGraph's run context) is a
store and its checkpoints with task q1 awaiting review. The trainer's answer resumes that thread:
nothing is drafted or critiqued again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from oversight import review
from oversight.config import load_settings
from oversight.pipelines.refine import HUMAN_REFINE, refine_graph
from oversight.project import Project
from oversight.refine.answers import RefinementInput
from tests.support.stub_server import StubServer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pipelines" / "paused_thread"


def restore(tmp_path: Path) -> Path:
    db = tmp_path / "store.db"
    for name, path in (("store.sql", db), ("checkpoints.sql", Path(f"{db}.checkpoints.sqlite"))):
        with sqlite3.connect(path) as conn:
            conn.executescript((FIXTURE / name).read_text(encoding="utf-8"))
        conn.close()
    return db


async def test_a_thread_paused_by_the_previous_release_resumes_without_paying_again(tmp_path: Path) -> None:
    db = restore(tmp_path)
    with StubServer() as stub:
        settings = load_settings(db=str(db), model="openai/stub-model", api_base=stub.api_base, api_key="sk-test")
        with Project.open(settings, announce=lambda _m: None) as project:
            state = project.store.task_state("q1")
            assert state.state == "awaiting_review"
            config = {"configurable": {"thread_id": state["thread_id"]}}
            async with refine_graph(project) as graph:
                paused = await graph.aget_state(config)
            assert paused.next == (HUMAN_REFINE,)

            saved = await review.submit(project, "q1", RefinementInput(decision="reject", tags=["wrong-sum"]))

            assert saved.decision == "reject" and saved.draft_id == paused.values["draft"]["id"]
            assert project.store.task_state("q1").state == "refined"
            async with refine_graph(project) as graph:
                done = await graph.aget_state(config)
            assert done.next == () and done.values["refinement"]["id"] == saved.id
        assert stub.requests == []  # the draft and critique came from the thread, not the model
