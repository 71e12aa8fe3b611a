"""The refine graph: draft_answer -> critique_draft -> human_refine (interrupt) -> record_refinement.

Nodes are module-level functions of (state, runtime): the project comes from LangGraph's run
context (``PipelineContext``), so each node can be called and tested without a graph
(``context.node_runtime``). ``graphs/refine.py`` compiles the graph without a checkpointer
(LangGraph's API server brings its own, and no project: the default one is opened from the
settings); the library compiles it with a SqliteSaver or PostgresSaver
(``checkpointer.open_checkpointer``) so that a trainer can answer a paused thread days later from
another process, and runs it with ``context=PipelineContext(project=...)``.

Code before ``interrupt()`` runs again on resume, so every node is idempotent: the draft
and critique are looked up by their derived ids before any model is called.

**Drafting does not run the graph.** ``draft_for_review`` (what ``oversight draft``'s workers and
experiments call) does the work of the two nodes before the pause as plain calls: the draft, the
critique and the task's move to awaiting_review on its thread, all kept in the store. The thread's
checkpoint at the pause is written when it is first needed: the trainer's answer
(``review.service``) writes it from the draft and critique the store says the trainer was shown
(``pause_as_stored``: no model, nothing derived from the answering process's settings), then
resumes it. The checkpoint before a trainer answers held nothing the
store does not, and reaching it cost LangGraph ~6 M instructions per task (callgrind), about a
tenth of the litellm calls themselves: ``bench/bench_draft.py`` at 50 ms and 8 at a time went from
0.88-0.90 of a plain litellm loop to 0.99. The graph still holds the pause, the answer's check and
its recording, and a graph server (``graphs/refine.py``) runs it whole from the start. The trainer's
answer is checked once, in ``human_refine``; a bad answer raises there and the thread
stays paused, answerable again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from oversight.errors import InvalidAnswerError, NotFoundError, StoreError
from oversight.pipelines.checkpointer import compiled_graph, lost_connection
from oversight.pipelines.context import PipelineContext, project_of, thread_of
from oversight.project import Project
from oversight.refine.answers import check_answer
from oversight.refine.critique import write_critique
from oversight.refine.drafting import draft_id_for, draft_task
from oversight.schemas import Critique, Draft, Refinement, Task

if TYPE_CHECKING:
    from langgraph.runtime import Runtime

__all__ = [
    "HUMAN_REFINE",
    "RefineInput",
    "RefineState",
    "build_refine_graph",
    "critique_draft",
    "draft_answer",
    "draft_for_review",
    "holding_refine_graph",
    "human_refine",
    "pause_as_stored",
    "record_refinement",
    "refine_graph",
    "run_to_pause",
]

HUMAN_REFINE = "human_refine"
DECISIONS = ["accept", "edit", "rewrite", "reject", "skip"]


class RefineInput(TypedDict):
    """What a refine thread starts from."""

    task_id: str


class RefineState(RefineInput, total=False):
    """A refine thread's state: records as JSON, so any checkpointer or server can hold it."""

    task: dict[str, Any]
    draft: dict[str, Any]
    critique: dict[str, Any] | None
    refinement: dict[str, Any]  # a Refinement, checked and built at the pause


# -- nodes ----------------------------------------------------------------------------------


async def draft_answer(state: RefineState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Load the task and draft it (or find the stored draft, or the one it was imported with). Raises NotFoundError, LLMError."""
    task, draft = await _task_and_draft(await project_of(runtime), state["task_id"])
    return {"task": task.model_dump(mode="json"), "draft": draft.model_dump(mode="json")}


async def critique_draft(state: RefineState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Critique the draft (or find the stored critique; none for a draft imported without); the task moves to
    awaiting_review on this thread."""
    critique = await _critique(await project_of(runtime), Task.model_validate(state["task"]),
                               Draft.model_validate(state["draft"]), thread_of(runtime))
    return {"critique": critique.model_dump(mode="json") if critique is not None else None}


async def _task_and_draft(project: Project, task_id: str) -> tuple[Task, Draft]:
    """The task and its draft: stored (made before, or imported), else made now."""
    store = project.store
    draft_id = draft_id_for(task_id, project.drafter, project.draft_prompt, project.draft_params)
    # the task and its stored draft in one hop to a worker thread (each hop waits for the GIL), one read
    task, draft = await asyncio.to_thread(store.task_and_draft_to_review, task_id, draft_id)
    # the thread is recorded on the task with its critique (the move to awaiting_review):
    # nobody reads it before, and a write per task here costs throughput
    if draft is None:
        draft = await draft_task(task, project.drafter, project.draft_prompt, store=store,
                                 parameters=project.draft_params, looked_up=True)
    return task, draft


async def _critique(project: Project, task: Task, draft: Draft, thread_id: str) -> Critique | None:
    """The draft's critique, stored or made now; the task moves to awaiting_review on ``thread_id``."""
    return await write_critique(task, draft, project.critic, project.critique_prompt, store=project.store,
                                parameters=project.critique_params, thread_id=thread_id or None)


async def human_refine(state: RefineState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Pause for the trainer; check their answer against the draft and critique.

    A bad answer does not fail the thread: it pauses again, its payload saying what was
    wrong (``problem``), until an answer fits. (A resumed node re-reads every earlier
    answer in order, so the loop also replays cleanly.) Async, so that reaching the pause
    costs no hop to a worker thread; an answer is checked in one (a long text's diff takes a while).
    """
    from langgraph.types import interrupt

    problem: str | None = None
    while True:
        answer = interrupt({
            "task": state["task"], "draft": state["draft"], "critique": state.get("critique"),
            "decisions": DECISIONS, "problem": problem,
        })
        draft = Draft.model_validate(state["draft"])
        critique = Critique.model_validate(state["critique"]) if state.get("critique") else None
        try:
            refinement = await asyncio.to_thread(check_answer, answer, draft, critique, key=thread_of(runtime))
        except InvalidAnswerError as exc:
            problem = str(exc)
            continue
        return {"refinement": refinement.model_dump(mode="json")}


async def record_refinement(state: RefineState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Keep the refinement; the task moves to refined (or skipped). Idempotent."""
    project = await project_of(runtime)
    refinement = Refinement.model_validate(state["refinement"])
    saved = await asyncio.to_thread(project.store.save_refinement, refinement)
    return {"refinement": saved.model_dump(mode="json")}


# -- the graph -------------------------------------------------------------------------------

def build_refine_graph() -> Any:
    """The refine graph's builder (a StateGraph, not compiled); run it with ``context=PipelineContext(...)``."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(RefineState, context_schema=PipelineContext, input_schema=RefineInput)
    builder.add_node("draft_answer", draft_answer)
    builder.add_node("critique_draft", critique_draft)
    builder.add_node(HUMAN_REFINE, human_refine)
    builder.add_node("record_refinement", record_refinement)
    builder.add_edge(START, "draft_answer")
    builder.add_edge("draft_answer", "critique_draft")
    builder.add_edge("critique_draft", HUMAN_REFINE)
    builder.add_edge(HUMAN_REFINE, "record_refinement")
    builder.add_edge("record_refinement", END)
    return builder


@asynccontextmanager
async def refine_graph(project: Project) -> AsyncIterator[Any]:
    """The refine graph compiled with the project's checkpointer (``async with refine_graph(project) as graph``;
    run it with ``context=PipelineContext(project=...)``). Inside ``holding_refine_graph`` it is the one
    the holder keeps open; else one opened for the block."""
    held = _HELD.get((id(project), id(asyncio.get_running_loop())))
    if held is None:
        async with compiled_graph(build_refine_graph(), project.settings.checkpoint_location(), "refine") as graph:
            yield graph
        return
    async with held.opening:  # the first answers may arrive together: one of them opens it
        if held.graph is None:
            held.graph = await held.open.enter_async_context(
                compiled_graph(build_refine_graph(), project.settings.checkpoint_location(), "refine"))
    yield held.graph


@dataclass
class _Held:
    graph: Any = None
    opening: asyncio.Lock = field(default_factory=asyncio.Lock)
    open: AsyncExitStack = field(default_factory=AsyncExitStack)


_HELD: dict[tuple[int, int], _Held] = {}  # (project, event loop) -> the graph a holder keeps open


@asynccontextmanager
async def holding_refine_graph(project: Project) -> AsyncIterator[None]:
    """For the block (a review server's life), ``refine_graph(project)`` on this event loop gives one graph
    and checkpointer, opened at first use and closed at the end: an answer then pays no checkpointer
    set-up (a connection, its pragmas, the tables checked: ~5 ms each on SQLite)."""
    key = (id(project), id(asyncio.get_running_loop()))
    held = _HELD[key] = _Held()
    try:
        yield
    finally:
        _HELD.pop(key, None)
        await held.open.aclose()


async def draft_for_review(project: Project, task_id: str, thread_id: str) -> None:
    """Draft and critique a task, up to where its refine thread pauses, without running the graph
    (see the module doc): the task ends awaiting review on ``thread_id``, whose pause is written
    when the trainer answers. Idempotent: what was paid for is found in the store. Raises
    NotFoundError, LLMError; StoreError after three lost connections (see ``run_to_pause``)."""

    async def draft_and_critique() -> None:
        task, draft = await _task_and_draft(project, task_id)
        await _critique(project, task, draft, thread_id)

    await _again_on_lost_connection(draft_and_critique, task_id)


async def pause_as_stored(graph: Any, project: Project, task_id: str, thread_id: str) -> None:
    """Write a thread's pause from the records its task awaits review with: the draft and critique the
    trainer was shown, as the store names them (``task_states``), with no model asked and nothing
    derived from this process's settings (a review server may have no model configured at all).

    The way a first answer reaches its pause (drafting runs no graph), and a lost checkpoint's; the
    pause is a checkpoint as if ``critique_draft`` had just run, so ``human_refine`` runs next.
    Raises NotFoundError when the task is not awaiting review or its draft is gone."""
    task, draft, critique = await asyncio.to_thread(_under_review, project, task_id)
    await graph.aupdate_state({"configurable": {"thread_id": thread_id}},
                              {"task_id": task.id, "task": task.model_dump(mode="json"),
                               "draft": draft.model_dump(mode="json"),
                               "critique": critique.model_dump(mode="json") if critique is not None else None},
                              as_node="critique_draft")


def _under_review(project: Project, task_id: str) -> tuple[Task, Draft, Critique | None]:
    store = project.store
    state = store.task_state(task_id)
    draft = store.get_draft(state["draft_id"] or "") if state.state == "awaiting_review" else None
    if draft is None:
        raise NotFoundError(f"task {task_id!r} is not awaiting review (it is {state.state.replace('_', ' ')})")
    return store.get_task(task_id), draft, store.get_critique(state["critique_id"] or "")


async def run_to_pause(graph: Any, task_id: str, thread_id: str, context: PipelineContext) -> None:
    """Run a task's thread up to the human pause.

    A thread that stopped half way simply runs again from the start: the draft and
    critique it already paid for are found in the store. So the checkpoint is needed
    only at the pause ("exit" durability), which saves a checkpoint write per step. For the same
    reason a connection the database dropped under it (a restart, a failover) costs a re-run of
    the thread on a fresh connection; after three such losses it raises StoreError (one line).
    """

    async def run() -> None:
        # the run's output is not read: "updates", not the default "values", which builds the whole
        # state anew after every step
        await graph.ainvoke({"task_id": task_id}, {"configurable": {"thread_id": thread_id}}, context=context,
                            durability="exit", stream_mode="updates")

    await _again_on_lost_connection(run, task_id)


async def _again_on_lost_connection(run: Callable[[], Awaitable[None]], task_id: str) -> None:
    """``run()`` again from its start when the database dropped the connection under it (what it paid for
    is in the store); after ``_CONNECTION_ATTEMPTS`` losses, StoreError (one line)."""
    for attempt in range(1, _CONNECTION_ATTEMPTS + 1):
        try:
            await run()
            return
        except Exception as exc:
            lost = lost_connection(exc)
            if lost is None:
                raise
            if attempt == _CONNECTION_ATTEMPTS:
                raise StoreError(f"lost the connection to the database {_CONNECTION_ATTEMPTS} times "
                                 f"on task {task_id!r}: {lost}") from exc


_CONNECTION_ATTEMPTS = 3  # a dropped connection is replaced at once (the pools check theirs); a server down stays down
