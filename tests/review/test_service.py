"""The review queue as a service: what the CLI and the review page call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight import review
from oversight.config import load_settings
from oversight.errors import InputFileError, InvalidAnswerError, NotFoundError
from oversight.pipelines import draft_tasks
from oversight.pipelines.context import PipelineContext
from oversight.pipelines.refine import refine_graph, run_to_pause
from oversight.project import Project
from oversight.schemas import GroupRoute, RoutingRule, Task
from tests.support.clock import Clock
from tests.support.stub_server import StubServer


@pytest.fixture
def project(tmp_path: Path) -> Any:
    with StubServer() as stub:
        settings = load_settings(db=str(tmp_path / "review.db"), model="openai/stub", api_base=stub.api_base,
                                 api_key="sk-test")
        with Project.open(settings) as rt:
            rt.store.add_tasks([
                Task(id="a", prompt="Capital of France?", kind="qa"),
                Task(id="b", prompt="Summarise the contract.", kind="legal"),
                Task(id="c", prompt="Capital of Chad?", kind="qa"),
            ])
            yield rt


async def test_a_bad_answer_records_nothing_and_the_item_stays_answerable(project: Project) -> None:
    await draft_tasks(project)
    item = await review.item(project, "a")
    n = len(item.critique.findings)
    bad = {"decision": "accept", "finding_verdicts": [{"finding": n, "verdict": "right"}]}
    with pytest.raises(InvalidAnswerError, match=f"the critique has {n}"):
        await review.submit(project, "a", bad)
    with pytest.raises(InvalidAnswerError, match="decision 'rewrite' needs refined_text"):
        await review.submit(project, "a", {"decision": "rewrite"})
    assert project.store.count("refinements") == 0
    assert project.store.task_state("a").state == "awaiting_review"
    saved = await review.submit(project, "a", {"decision": "accept", "reviewer": "ana"})  # the same item, answered
    assert (saved.decision, saved.reviewer, saved.refined_text) == ("accept", "ana", item.draft.text)
    assert project.store.task_state("a").state == "refined"
    with pytest.raises(NotFoundError, match="not awaiting review"):
        await review.submit(project, "a", {"decision": "accept"})


async def test_a_review_server_without_the_drafting_models_answers_what_it_was_shown(project: Project) -> None:
    """The pause is written from the stored draft and critique, never derived from the answering process's
    settings: a review server with no model configured (the embedded default) asks no model and drafts nothing."""
    await draft_tasks(project, ["a"])
    shown = await review.item(project, "a")
    drafts, critiques = project.store.count("drafts"), project.store.count("critiques")
    with Project.open(load_settings(db=project.settings.db)) as server:  # no model, api_base or key
        saved = await review.submit(server, "a", {"decision": "edit", "refined_text": shown.draft.text + " Paris.",
                                                  "reviewer": "ana"})
    assert (saved.draft_id, saved.critique_id) == (shown.draft.id, shown.critique.id)
    assert (project.store.count("drafts"), project.store.count("critiques")) == (drafts, critiques)


async def test_skip_and_reset(project: Project) -> None:
    await draft_tasks(project)
    skipped = await review.skip(project, "b", reviewer="ana")
    assert skipped.decision == "skip" and project.store.task_state("b").state == "skipped"
    with pytest.raises(NotFoundError, match="no review to reset"):
        await review.reset(project, "b")
    before = project.store.task_state("c")["thread_id"]
    entry = await review.reset(project, "c")  # e.g. a thread whose checkpoint was lost
    assert entry.thread_id != before and project.store.task_state("c")["thread_id"] == entry.thread_id
    assert (await review.submit(project, "c", {"decision": "reject"})).decision == "reject"


async def test_a_lost_checkpoint_is_run_to_the_pause_again(project: Project, tmp_path: Path) -> None:
    await draft_tasks(project, ["a"])
    async with refine_graph(project) as graph:  # a thread paused before, as a reset leaves it
        await run_to_pause(graph, "a", project.thread_id("a"), PipelineContext(project=project))
    drafts = project.store.count("drafts")
    Path(project.settings.checkpoint_location()).unlink()  # the store says awaiting review; no thread
    saved = await review.submit(project, "a", {"decision": "accept"})
    assert saved.decision == "accept" and project.store.count("drafts") == drafts  # nothing paid twice


async def test_the_queue_follows_the_routing_rule(project: Project) -> None:
    await draft_tasks(project)
    assert [e.task_id for e in review.queue(project.store)] == ["a", "b", "c"]
    assert {e.label for e in review.queue(project.store)} == {""}
    rule = RoutingRule(
        rules=[GroupRoute(field="kind", value="legal", route="several_raters", raters=3),
               GroupRoute(field="kind", value="qa", route="expert", raters=1)],
        default=GroupRoute(field="all", value=None, route="single_rater", raters=1),
    )
    project.store.save_routing_rule(rule)
    entries = review.queue(project.store)
    assert [(e.task_id, e.label) for e in entries] == [("b", "3 raters"), ("a", "expert only"), ("c", "expert only")]
    assert (await review.item(project, "a")).entry.label == "expert only"


def test_an_answers_file_is_checked_whole_first(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    rows = [{"task_id": "a", "decision": "accept"}, {"task_id": "b", "decision": "reject", "reviewer": "bo"},
            {"task_id": "a", "decision": "reject"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputFileError, match=r"answers.jsonl:3: field 'task_id': task 'a' again \(first on line 1\)"):
        review.read_answers(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    answers = dict(review.read_answers(path, reviewer="ana"))
    assert (answers["a"].reviewer, answers["b"].reviewer) == ("ana", "bo")


@pytest.fixture
def seeded(tmp_path: Path) -> Any:
    from tests.support.review_seed import seed_items

    settings = load_settings(db=str(tmp_path / "leases.db"), model="openai/x", api_base="http://127.0.0.1:9/v1",
                             api_key="sk-test", review_lease_seconds=300)
    with Project.open(settings) as rt:
        seed_items(rt, [(Task(id="q", prompt="Capital of Peru? One word."), "Lima is the capital.", [])])
        rt.store.clock = Clock()  # leases run out when a test moves it
        yield rt


def moved(project: Project, seconds: float) -> None:
    """Move the time the project's leases are measured by (the ``seeded`` fixture's fake clock)."""
    clock = project.store.clock
    assert isinstance(clock, Clock)
    clock.move(seconds)


async def test_an_answer_after_the_lease_ran_out_and_another_took_the_item_is_refused(seeded: Project) -> None:
    from oversight.errors import LeaseError

    assert (await review.claim(seeded, "ana")).task_id == "q"
    moved(seeded, 299)
    assert await review.claim(seeded, "ben") is None  # ana's lease still runs
    moved(seeded, 2)  # now it has run out ...
    assert (await review.claim(seeded, "ben")).task_id == "q"  # ... and ben takes the item
    with pytest.raises(LeaseError, match="someone else"):
        await review.submit(seeded, "q", {"decision": "accept"}, reviewer="ana")
    assert seeded.store.refinements_of_task("q") == []
    saved = await review.submit(seeded, "q", {"decision": "edit", "refined_text": "Lima"}, reviewer="ben")
    assert [r.id for r in seeded.store.refinements_of_task("q")] == [saved.id]


async def test_an_item_being_recorded_cannot_be_claimed_even_when_its_lease_was_short(seeded: Project) -> None:
    """While an answer is recorded the item is held for an hour: a slow submit never hands it to a second trainer."""
    from oversight.review.service import _hold_for_submit

    first = await review.claim(seeded, "ana")
    moved(seeded, 400)  # the 300 s lease has run out, nobody took the item
    held = _hold_for_submit(seeded.store, "q", "ana")
    assert held is not None and held.claimed_at == first.claimed_at  # the clock still runs from her claim
    moved(seeded, 400)  # past any ordinary lease, within the hour's hold
    assert await review.claim(seeded, "ben") is None
    saved = await review.submit(seeded, "q", {"decision": "accept"}, reviewer="ana")
    assert saved.reviewer == "ana"
    assert saved.seconds_spent == 300  # measured from her claim (800 s ago), capped at one lease


async def test_a_refused_answer_gives_the_item_back_its_ordinary_lease(seeded: Project) -> None:
    await review.claim(seeded, "ana")
    with pytest.raises(InvalidAnswerError):
        await review.submit(seeded, "q", {"decision": "rewrite"}, reviewer="ana")
    lease = seeded.store.review_lease("q")
    assert lease is not None and lease.reviewer == "ana"
    assert (lease.lease_until - lease.claimed_at).total_seconds() == 300  # not the submit hold of an hour


def test_the_package_is_the_service() -> None:
    from oversight.review import answers_file, service

    assert review.__all__ == [*service.__all__, *answers_file.__all__]
    assert all(getattr(review, name) is getattr(module, name)
               for module in (service, answers_file) for name in module.__all__)
