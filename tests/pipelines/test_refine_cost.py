"""What a refine thread costs the event loop on its way to the pause (the drafting throughput).

Every call into another thread (the store's in a worker, the checkpointer's on its own thread)
ends with a wake-up of the event loop from that thread, and each waits for the GIL while the loop
is busy: on a busy machine a few milliseconds each, the graph's main cost beside the model calls
(bench/bench_draft.py). The models here answer at once, without a thread of their own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from oversight.config import load_settings
from oversight.llm import LLM, Completion
from oversight.pipelines.checkpointer import open_checkpointer
from oversight.pipelines.context import PipelineContext
from oversight.pipelines.refine import HUMAN_REFINE, build_refine_graph, draft_for_review, refine_graph, run_to_pause
from oversight.project import Project
from oversight.schemas import CritiqueFindings, Task


class AtOnce(LLM):
    """A drafter and critic that answer at once, in the event loop."""

    def __init__(self) -> None:
        super().__init__("fake/model")

    async def complete(self, messages: list[dict[str, Any]], **params: Any) -> Completion:
        return Completion(text="Four, as 2 + 2 is four.", model=self.model)

    async def structured(self, messages: Any, schema: Any, **params: Any) -> tuple[Any, Completion]:
        findings = CritiqueFindings.model_validate({"findings": [], "summary": "Fine."})
        return findings, Completion(text="{}", model=self.model)


@pytest.fixture
def project(tmp_path: Path) -> Any:
    with Project.open(load_settings(db=str(tmp_path / "cost.db"))) as opened:
        opened.drafter = opened.critic = AtOnce()
        opened.store.add_tasks([Task(id=f"q{i}", prompt="What is 2 + 2?") for i in range(3)])
        yield opened


@contextmanager
def counting_wake_ups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The event loop's wake-ups from other threads during the block, as a list of their callbacks."""
    loop = asyncio.get_running_loop()
    wake_ups: list[Any] = []
    wake = loop.call_soon_threadsafe

    def counted(callback: Any, *args: Any, **kwargs: Any) -> Any:
        wake_ups.append(callback)
        return wake(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
    try:
        yield wake_ups
    finally:
        monkeypatch.undo()


async def test_a_thread_reaches_its_pause_with_a_few_wake_ups_of_the_event_loop(project: Project,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    context = PipelineContext(project=project)
    async with refine_graph(project) as graph:
        await run_to_pause(graph, "q0", project.thread_id("q0"), context)  # warm: first-use set-up
        with counting_wake_ups(monkeypatch) as wake_ups:
            await run_to_pause(graph, "q1", project.thread_id("q1"), context)
        paused = await graph.aget_state({"configurable": {"thread_id": project.thread_id("q1")}})
    assert paused.next == (HUMAN_REFINE,) and project.store.task_state("q1").state == "awaiting_review"
    # the store: task and draft, draft kept, critique looked up, critique kept; the checkpointer:
    # the thread read, its pause written (checkpoint and writes together or apart): 6 or 7 (a short
    # draft is checked on the loop). With LangGraph's AsyncSqliteSaver (11), the pause reached in a
    # worker thread and the task and its draft read apart, it was 17; with the checks in a thread, 7 or 8.
    assert len(wake_ups) <= 7, len(wake_ups)


async def test_drafting_reaches_awaiting_review_with_four_wake_ups_and_no_graph(project: Project,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """``oversight draft``'s work per task is the store's: the graph (and its checkpoint) waits for the answer."""
    await draft_for_review(project, "q0", project.thread_id("q0"))  # warm: first-use set-up
    with counting_wake_ups(monkeypatch) as wake_ups:
        await draft_for_review(project, "q1", project.thread_id("q1"))
    state = project.store.task_state("q1")
    assert state.state == "awaiting_review" and state["thread_id"] == project.thread_id("q1")
    # task and draft read, draft kept, critique looked up, critique kept (a short draft is checked on the loop)
    assert len(wake_ups) <= 4, len(wake_ups)
    async with refine_graph(project) as graph:
        assert (await graph.aget_state({"configurable": {"thread_id": project.thread_id("q1")}})).values == {}


async def test_a_thread_uses_four_store_connections_and_builds_no_statement_of_its_own(project: Project) -> None:
    """A connection costs about what a query does, and a statement built per call costs more than running
    it (its cache key is made anew each time): a thread's reads share their hop's connection, and every
    statement it runs is built once for all threads."""
    from sqlalchemy import event

    engine = project.store.engine
    statements: list[list[Any]] = []
    connections: list[int] = []
    event.listen(engine, "before_execute", lambda _conn, statement, *_: statements[-1].append(statement))
    event.listen(engine, "checkout", lambda *_: connections.__setitem__(-1, connections[-1] + 1))
    context = PipelineContext(project=project)
    async with refine_graph(project) as graph:
        for task_id in ("q0", "q1", "q2"):
            statements.append([])
            connections.append(0)
            await run_to_pause(graph, task_id, project.thread_id(task_id), context)
    # task and draft read, draft kept, critique and checks in force read, critique kept
    assert connections[1:] == [4, 4], connections
    first = {id(statement) for statement in statements[1]}
    assert statements[2] and all(id(statement) in first for statement in statements[2])


async def test_the_checkpoint_file_is_shared_safely_and_written_without_an_fsync_per_commit(tmp_path: Path) -> None:
    path = tmp_path / "threads.sqlite"
    async with open_checkpointer(str(path)):
        with sqlite3.connect(path) as other:  # what another process sees
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        other.close()
    async with open_checkpointer(str(path)) as saver:
        settings = await saver._call(lambda: [saver.conn.execute(f"PRAGMA {name}").fetchone()[0]
                                              for name in ("busy_timeout", "synchronous")])
    assert settings == [30000, 1]  # wait 30 s for another writer; synchronous=NORMAL, as the store


async def test_a_failing_checkpoint_call_raises_in_its_caller_and_the_calls_beside_it_still_run(
        tmp_path: Path) -> None:
    def broken() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async with open_checkpointer(str(tmp_path / "threads.sqlite")) as saver:
        answers = await asyncio.gather(saver._call(lambda: 1), saver._call(broken), saver._call(lambda: 3),
                                       return_exceptions=True)
        assert answers[0] == 1 and isinstance(answers[1], sqlite3.OperationalError) and answers[2] == 3
        assert await saver._call(lambda: 4) == 4


async def test_a_thread_this_saver_paused_reads_the_same_through_langgraphs_async_saver(project: Project) -> None:
    """An older release (or a tool) on the same file reads the threads as they are written here."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    config = {"configurable": {"thread_id": project.thread_id("q2")}}
    async with refine_graph(project) as graph:
        await run_to_pause(graph, "q2", project.thread_id("q2"), PipelineContext(project=project))
        ours = await graph.aget_state(config)
    async with AsyncSqliteSaver.from_conn_string(project.settings.checkpoint_location()) as theirs:
        seen = await build_refine_graph().compile(checkpointer=theirs).aget_state(config)
    assert seen.next == ours.next == (HUMAN_REFINE,) and seen.values == ours.values
    assert seen.tasks[0].interrupts[0].value == ours.tasks[0].interrupts[0].value
