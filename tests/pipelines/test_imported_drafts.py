"""Imported drafts through the refine loop: `draft` critiques them and pays no drafting model;
`--no-critique` ones wait in the queue and are answered without any model (SQLite and PostgreSQL).

The model is a scripted OpenAI-compatible server (tests/support/stub_server.py): it logs every
request with its kind (a draft, or a critique: a JSON answer), and its canned critique quotes
"Stub answer", so a draft holding those words keeps that finding through the grounding rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oversight import review
from oversight.cli import cli
from oversight.config import load_settings
from oversight.errors import NotFoundError
from oversight.pipelines import draft_tasks
from oversight.project import Project
from oversight.refine.drafting import draft_task
from oversight.refine.tasks import read_tasks
from oversight.schemas import RefinementInput
from tests.support.stub_server import StubServer

DRAFT = "Stub answer: N'Djamena is the capital of Chad."
LINES = [{"id": "chad", "messages": [{"role": "system", "content": "Answer briefly."},
                                     {"role": "user", "content": "Capital of Chad?"},
                                     {"role": "assistant", "content": DRAFT}], "model": "prod-model-v3"}]


@pytest.fixture
def stub() -> Any:
    with StubServer() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def project(request: pytest.FixtureRequest, tmp_path: Path, stub: StubServer) -> Any:
    db = str(tmp_path / "store.db") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    settings = load_settings(db=db, model="openai/stub", api_base=stub.api_base, api_key="sk-test")
    with Project.open(settings) as rt:
        yield rt


def import_file(project: Project, tmp_path: Path, *options: str) -> None:
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", project.settings.db, "tasks", "import", str(path),
                                      "--model-field", "model", *options])
    assert result.exit_code == 0, result.stderr


async def test_draft_critiques_an_imported_draft_and_drafts_nothing(project: Project, stub: StubServer,
                                                                    tmp_path: Path) -> None:
    import_file(project, tmp_path)
    summary = await draft_tasks(project)
    assert not summary.errors
    assert [r["kind"] for r in stub.requests] == ["critique"]  # no model was asked for a draft

    item = await review.item(project, "chad")
    assert (item.draft.text, item.draft.model) == (DRAFT, "prod-model-v3")
    assert item.draft.imported_from is not None and item.draft.imported_from.line == 1
    assert item.critique is not None and item.critique.draft_id == item.draft.id
    assert [f.quote for f in item.critique.findings] == ["Stub answer"]  # grounded in the imported draft
    state = project.store.task_state("chad")
    assert (state.state, state["critique_id"]) == ("awaiting_review", item.critique.id)
    assert project.store.get_critique(item.critique.id) == item.critique  # recorded

    answer = RefinementInput(decision="edit", refined_text="N'Djamena.", finding_verdicts=[
        {"finding": 0, "verdict": "right"}])
    refinement = await review.submit(project, "chad", answer)
    assert (refinement.draft_id, refinement.critique_id) == (item.draft.id, item.critique.id)
    assert project.store.task_state("chad").state == "refined"
    assert [r["kind"] for r in stub.requests] == ["critique"]


async def test_no_critique_lands_in_the_queue_and_is_answered_without_a_model(project: Project, stub: StubServer,
                                                                             tmp_path: Path) -> None:
    import_file(project, tmp_path, "--no-critique")
    assert [e.task_id for e in review.queue(project.store)] == ["chad"]
    summary = await draft_tasks(project)
    assert summary.as_dict()["already_drafted"] == 1

    item = await review.item(project, "chad")
    assert item.draft.text == DRAFT and item.critique is None
    refinement = await review.submit(project, "chad", RefinementInput(decision="accept"))
    assert refinement.draft_id == item.draft.id and refinement.critique_id is None
    assert project.store.task_state("chad").state == "refined"
    assert project.store.count("critiques") == 0 and stub.requests == []  # no model, neither to draft nor critique


async def test_a_queued_draft_without_a_critique_can_be_reset(project: Project, stub: StubServer,
                                                              tmp_path: Path) -> None:
    import_file(project, tmp_path, "--no-critique")
    entry = await review.reset(project, "chad")
    assert entry.thread_id != "chad::import" and project.store.task_state("chad")["thread_id"] == entry.thread_id
    await review.submit(project, "chad", RefinementInput(decision="reject", tags=["too-terse"]))
    assert stub.requests == []
    with pytest.raises(NotFoundError, match="no review to reset"):
        await review.reset(project, "chad")


async def test_drafting_anew_still_asks_the_model(project: Project, stub: StubServer, tmp_path: Path) -> None:
    """A validation's before/after drafts an imported task with the project's model: only the refine loop
    takes the imported draft."""
    import_file(project, tmp_path)
    (row,) = read_tasks(tmp_path / "logs.jsonl", model_field="model")
    fresh = await draft_task(row.task, project.drafter, project.draft_prompt, store=project.store)
    assert fresh.id != row.draft.id and fresh.imported_from is None  # type: ignore[union-attr]
    assert [r["kind"] for r in stub.requests] == ["draft"]
    reviewed = await draft_task(row.task, project.drafter, project.draft_prompt, store=project.store, imported=True)
    assert reviewed.id == row.draft.id and len(stub.requests) == 1  # type: ignore[union-attr]
