"""A misbehaving model server costs one task, not the run: `draft_tasks` against the stub
server (tests/support/stub_server.py, a real HTTP server) with injected faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oversight.config import load_settings
from oversight.pipelines import draft_tasks
from oversight.project import Project
from oversight.schemas import Task
from tests.support.stub_server import Faults, StubServer

MODEL = "openai/stub-model"
BAD = "NO-CHOICES-PLEASE"


def tasks() -> list[Task]:
    return [
        Task(id="good-1", prompt="What is 2 + 2?"),
        Task(id="bad", prompt=f"{BAD} What is 3 + 3?"),
        Task(id="good-2", prompt="What is 4 + 4?"),
    ]


@pytest.fixture
def open_project(store_url: str) -> Iterator[object]:
    """Open a project over a fresh store (SQLite, and PostgreSQL when configured) against a server."""
    opened: list[Project] = []

    def make(server: StubServer) -> Project:
        settings = load_settings(db=store_url, model=MODEL, api_base=server.api_base, api_key="sk-test",
                                 concurrency=2)
        project = Project.open(settings, announce=lambda _m: None)
        project.store.add_tasks(tasks())
        opened.append(project)
        return project

    yield make
    for project in opened:
        project.close()


async def test_a_task_whose_draft_always_gets_empty_choices_fails_alone(open_project, tmp_path: Path) -> None:
    with StubServer(log_path=tmp_path / "log.jsonl", faults=Faults(empty_choices_marker=BAD)) as server:
        project = open_project(server)
        summary = await draft_tasks(project)  # an IndexError here would abort every task

    assert summary.outcomes == {"good-1": "drafted", "good-2": "drafted", "bad": "failed"}
    states = {s.task_id: s for s in project.store.task_states()}
    assert states["good-1"].state == states["good-2"].state == "awaiting_review"
    assert states["bad"].state == "failed"
    assert "no choices" in states["bad"]["error"] and MODEL in states["bad"]["error"]
    assert summary.errors["bad"] == states["bad"]["error"]
    bad_drafts = [r for r in server.requests if BAD in r["last_message"]]
    assert len(bad_drafts) == 2, "an empty answer is retried once, then it is the task's error"
    assert all(r["kind"] == "draft" for r in bad_drafts)


async def test_one_empty_answer_is_retried_and_every_task_goes_on(open_project, tmp_path: Path) -> None:
    with StubServer(faults=Faults(empty_choices_at=frozenset({1}))) as server:
        project = open_project(server)
        summary = await draft_tasks(project)

    assert not summary.errors
    assert {s.state for s in project.store.task_states()} == {"awaiting_review"}
    assert sum(1 for r in server.requests if r.get("fault")) == 1
    assert len(server.requests) == 2 * 3 + 1  # a draft and a critique per task, one retry


@pytest.mark.parametrize("fault", ["null_content_marker", "blank_content_marker"])
async def test_an_empty_answer_fails_the_task_and_is_not_kept_as_a_draft(open_project, fault: str) -> None:
    with StubServer(faults=Faults(**{fault: BAD})) as server:
        project = open_project(server)
        summary = await draft_tasks(project)
        bad = project.store.task_state("bad")
        assert summary.outcomes == {"good-1": "drafted", "good-2": "drafted", "bad": "failed"}
        assert bad.state == "failed" and "the model returned an empty answer" in bad["error"]
        assert MODEL in bad["error"] and summary.errors["bad"] == bad["error"]
        assert project.store.drafts_of_task("bad") == [], "an empty answer is not cached as a draft"
        assert [r["kind"] for r in server.requests if BAD in r["last_message"]] == ["draft"], "nor critiqued"

    with StubServer() as healthy:  # the next `draft` tries it again, and pays only for it
        project.drafter.api_base = project.critic.api_base = healthy.api_base
        again = await draft_tasks(project)
    assert again.outcomes == {"good-1": "already_drafted", "good-2": "already_drafted", "bad": "resumed"}
    assert not again.errors
    assert project.store.task_state("bad").state == "awaiting_review"
    assert [d.text for d in project.store.drafts_of_task("bad")] == [f"Stub answer to: {BAD} What is 3 + 3?"]
    assert [r["kind"] for r in healthy.requests] == ["draft", "critique"]
