"""LangGraph pipelines that wire the stages.

The refine graph: draft_answer -> critique_draft -> human_refine (interrupt) -> record_refinement.

``build_refine_graph`` returns an uncompiled builder. ``graphs/refine.py`` compiles it
without a checkpointer (LangGraph's API server brings its own); the CLI compiles it
with a SqliteSaver or PostgresSaver (``open_checkpointer``) so that a trainer can answer
a paused thread days later from another process.

Code before ``interrupt()`` runs again on resume, so every node is idempotent: the
draft and critique are looked up by their derived ids before any model is called.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig

from oversight.critique import critique_draft
from oversight.draft import draft_task
from oversight.errors import NotFoundError, OversightError
from oversight.refine import RefinementInput, build_refinement
from oversight.runtime import Runtime
from oversight.schemas import Critique, Draft, Task

__all__ = [
    "RefineInput",
    "RefineState",
    "build_refine_graph",
    "open_checkpointer",
    "DraftRunSummary",
    "draft_tasks",
    "pending_reviews",
    "review_payload",
    "submit_refinement",
]

HUMAN_REFINE = "human_refine"


class RefineInput(TypedDict):
    """What a refine thread starts from."""

    task_id: str


class RefineState(RefineInput, total=False):
    """A refine thread's state: records as JSON, so any checkpointer or server can hold it."""

    task: dict[str, Any]
    draft: dict[str, Any]
    critique: dict[str, Any]
    refinement: dict[str, Any]


RuntimeSource = Runtime | Callable[[], Runtime]


def build_refine_graph(runtime: RuntimeSource) -> Any:
    """The refine graph's builder (a StateGraph, not compiled).

    ``runtime`` is a Runtime or a function that returns one on first use (so that a
    module can define the graph without opening a database at import).
    """
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    holder: dict[str, Runtime] = {}
    opening = threading.Lock()

    def rt() -> Runtime:
        with opening:  # nodes of concurrent threads may ask at once; open one Runtime
            if "rt" not in holder:
                holder["rt"] = runtime if isinstance(runtime, Runtime) else runtime()
        return holder["rt"]

    def thread_of(config: RunnableConfig | None) -> str:
        return str(((config or {}).get("configurable") or {}).get("thread_id") or "")

    # Store and start-up calls are blocking I/O: they run in worker threads so that the
    # event loop (the CLI's, or a LangGraph server's, which refuses blocking calls) stays free.
    def start_thread(thread_id: str, task_id: str) -> tuple[Runtime, Task]:
        r = rt()
        task = r.store.get_task(task_id)
        if thread_id:
            r.store.set_thread(thread_id, task.id, "running")
        return r, task

    async def draft_answer(state: RefineState, config: RunnableConfig) -> dict[str, Any]:
        r, task = await asyncio.to_thread(start_thread, thread_of(config), state["task_id"])
        if r.needs_model_start():
            await asyncio.to_thread(r.ensure_model)
        draft = await draft_task(task, r.drafter, r.draft_prompt, store=r.store, parameters=r.draft_params)
        return {"task": task.model_dump(mode="json"), "draft": draft.model_dump(mode="json")}

    async def critique_draft_node(state: RefineState, config: RunnableConfig) -> dict[str, Any]:
        r = await asyncio.to_thread(rt)
        task = Task.model_validate(state["task"])
        draft = Draft.model_validate(state["draft"])
        if r.needs_model_start():
            await asyncio.to_thread(r.ensure_model)
        critique = await critique_draft(
            task,
            draft,
            r.critic,
            r.critique_prompt,
            store=r.store,
            parameters=r.critique_params,
            thread_id=thread_of(config) or None,
        )
        return {"critique": critique.model_dump(mode="json")}

    def human_refine(state: RefineState) -> dict[str, Any]:
        answer = interrupt(
            {
                "task": state["task"],
                "draft": state["draft"],
                "critique": state.get("critique"),
                "decisions": ["accept", "edit", "rewrite", "reject", "skip"],
            }
        )
        checked = RefinementInput.model_validate(answer)  # a bad answer fails here and can be re-sent
        return {"refinement": checked.model_dump(mode="json")}

    def record_refinement(state: RefineState, config: RunnableConfig) -> dict[str, Any]:
        r = rt()
        answer = RefinementInput.model_validate(state["refinement"])
        draft = Draft.model_validate(state["draft"])
        critique = Critique.model_validate(state["critique"]) if state.get("critique") else None
        thread_id = thread_of(config)
        refinement = build_refinement(answer, draft, critique, key=thread_id)
        saved = r.store.save_refinement(refinement, thread_id=thread_id or None)
        return {"refinement": saved.model_dump(mode="json")}

    builder = StateGraph(RefineState, input_schema=RefineInput)
    builder.add_node("draft_answer", draft_answer)
    builder.add_node("critique_draft", critique_draft_node)
    builder.add_node(HUMAN_REFINE, human_refine)
    builder.add_node("record_refinement", record_refinement)
    builder.add_edge(START, "draft_answer")
    builder.add_edge("draft_answer", "critique_draft")
    builder.add_edge("critique_draft", HUMAN_REFINE)
    builder.add_edge(HUMAN_REFINE, "record_refinement")
    builder.add_edge("record_refinement", END)
    return builder


@asynccontextmanager
async def open_checkpointer(location: str) -> AsyncIterator[Any]:
    """An async checkpointer: PostgresSaver for a PostgreSQL URL, else SqliteSaver on a file."""
    if location.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        url = location.replace("postgresql+psycopg://", "postgresql://", 1)
        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            yield saver
    else:
        from pathlib import Path

        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = location.removeprefix("sqlite:///")
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(Path(path).expanduser())) as saver:
            await saver.setup()
            yield saver


ThreadOutcome = Literal["drafted", "already_drafted", "resumed", "failed"]


@dataclass
class DraftRunSummary:
    """What a `draft` run did, task by task."""

    outcomes: dict[str, ThreadOutcome] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def count(self, outcome: ThreadOutcome) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tasks": len(self.outcomes),
            "drafted": self.count("drafted"),
            "resumed": self.count("resumed"),
            "already_drafted": self.count("already_drafted"),
            "failed": self.count("failed"),
            "errors": self.errors,
        }


async def draft_tasks(
    runtime: Runtime,
    task_ids: Iterable[str] | None = None,
    *,
    concurrency: int | None = None,
    on_done: Callable[[str, ThreadOutcome], None] | None = None,
) -> DraftRunSummary:
    """Run the refine graph for each task up to the human pause.

    A task whose thread is already paused is left alone; a thread that stopped half way
    (a crash, a kill) resumes from its last checkpoint. Errors on one task do not stop
    the others; they are collected in the summary.
    """
    ids = list(task_ids) if task_ids is not None else runtime.store.task_ids()
    limit = asyncio.Semaphore(concurrency or runtime.settings.concurrency)
    summary = DraftRunSummary()
    # Where each thread stands, from the store: one query instead of a checkpoint read per task.
    status = {row["thread_id"]: row["status"] for row in runtime.store.threads()}
    async with open_checkpointer(runtime.settings.checkpoint_location()) as saver:
        graph = build_refine_graph(runtime).compile(checkpointer=saver, name="refine")

        async def one(task_id: str) -> None:
            thread_id = runtime.thread_id(task_id)
            config = {"configurable": {"thread_id": thread_id}}
            before = status.get(thread_id)
            async with limit:
                try:
                    if before in ("awaiting_review", "done"):
                        outcome: ThreadOutcome = "already_drafted"
                    else:
                        # A thread that stopped half way simply runs again from the start: the
                        # draft and critique it already paid for are found in the store. So the
                        # checkpoint is only needed at the pause ("exit" durability), which saves
                        # a checkpoint write per step.
                        await graph.ainvoke({"task_id": task_id}, config, durability="exit")
                        outcome = "resumed" if before == "running" else "drafted"
                except OversightError as exc:
                    summary.errors[task_id] = str(exc)
                    outcome = "failed"
            summary.outcomes[task_id] = outcome
            if on_done is not None:
                on_done(task_id, outcome)

        await asyncio.gather(*(one(task_id) for task_id in ids))
    return summary


def pending_reviews(runtime: Runtime) -> list[dict[str, Any]]:
    """Threads paused for a human, oldest first."""
    return runtime.store.threads(status="awaiting_review")


def review_payload(runtime: Runtime, thread: dict[str, Any]) -> tuple[Task, Draft, Critique | None]:
    """The task, draft and critique a paused thread shows the trainer. Raises NotFoundError."""
    task = runtime.store.get_task(thread["task_id"])
    draft = runtime.store.get_draft(thread["draft_id"]) if thread.get("draft_id") else None
    if draft is None:
        raise NotFoundError(f"thread {thread['thread_id']} has no draft")
    critique = runtime.store.get_critique(thread["critique_id"]) if thread.get("critique_id") else None
    return task, draft, critique


async def submit_refinement(runtime: Runtime, thread_id: str, answer: RefinementInput) -> dict[str, Any]:
    """Resume a paused refine thread with a trainer's answer; return the stored refinement.

    Works from any process, any time after the pause. Raises NotFoundError when the
    thread is not waiting for a human.
    """
    from langgraph.types import Command

    async with open_checkpointer(runtime.settings.checkpoint_location()) as saver:
        graph = build_refine_graph(runtime).compile(checkpointer=saver, name="refine")
        config = {"configurable": {"thread_id": thread_id}}
        snapshot = await graph.aget_state(config)
        if HUMAN_REFINE not in (snapshot.next or ()):
            raise NotFoundError(f"thread {thread_id} is not waiting for a review")
        result = await graph.ainvoke(Command(resume=answer.model_dump(mode="json")), config)
    return dict(result["refinement"])
