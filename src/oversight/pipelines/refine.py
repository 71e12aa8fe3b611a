"""The refine graph: draft_answer -> critique_draft -> human_refine (interrupt) -> record_refinement.

Nodes are module-level functions of (state, runtime), so each can be called and tested
without a graph; ``build_refine_graph`` binds them to a runtime. ``graphs/refine.py``
compiles the graph without a checkpointer (LangGraph's API server brings its own); the
library compiles it with a SqliteSaver or PostgresSaver (``open_checkpointer``) so that a
trainer can answer a paused thread days later from another process.

Code before ``interrupt()`` runs again on resume, so every node is idempotent: the draft
and critique are looked up by their derived ids before any model is called. The trainer's
answer is checked once, in ``human_refine``; a bad answer raises there and the thread
stays paused, answerable again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from pydantic import ValidationError

from oversight.critique import critique_draft as critique_stage
from oversight.draft import draft_task
from oversight.errors import InvalidAnswerError, OversightError, StoreError
from oversight.pipelines._bind import LazyRuntime, RuntimeSource, bind, thread_of
from oversight.refine import RefinementInput, build_refinement
from oversight.runtime import Runtime
from oversight.schemas import Critique, Draft, Refinement, Task
from oversight.store import Store

__all__ = [
    "HUMAN_REFINE",
    "DraftRunSummary",
    "RefineInput",
    "RefineState",
    "build_refine_graph",
    "check_answer",
    "critique_draft",
    "draft_answer",
    "draft_tasks",
    "human_refine",
    "open_checkpointer",
    "record_refinement",
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


async def draft_answer(state: RefineState, runtime: Runtime) -> dict[str, Any]:
    """Load the task and draft it (or find the stored draft). Raises NotFoundError, LLMError."""
    store = runtime.store
    task = await asyncio.to_thread(store.get_task, state["task_id"])
    # the thread is recorded on the task with its critique (the move to awaiting_review):
    # nobody reads it before, and a write per task here costs throughput
    draft = await draft_task(task, runtime.drafter, runtime.draft_prompt, store=store, parameters=runtime.draft_params)
    return {"task": task.model_dump(mode="json"), "draft": draft.model_dump(mode="json")}


async def critique_draft(state: RefineState, runtime: Runtime, *, thread_id: str = "") -> dict[str, Any]:
    """Critique the draft (or find the stored critique); the task moves to awaiting_review."""
    critique = await critique_stage(
        Task.model_validate(state["task"]), Draft.model_validate(state["draft"]), runtime.critic,
        runtime.critique_prompt, store=runtime.store, parameters=runtime.critique_params,
        thread_id=thread_id or None,
    )
    return {"critique": critique.model_dump(mode="json")}


def human_refine(state: RefineState, *, thread_id: str = "") -> dict[str, Any]:
    """Pause for the trainer; check their answer against the draft and critique.

    A bad answer does not fail the thread: it pauses again, its payload saying what was
    wrong (``problem``), until an answer fits. (A resumed node re-reads every earlier
    answer in order, so the loop also replays cleanly.)
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
            refinement = check_answer(answer, draft, critique, key=thread_id)
        except InvalidAnswerError as exc:
            problem = str(exc)
            continue
        return {"refinement": refinement.model_dump(mode="json")}


def check_answer(answer: Any, draft: Draft, critique: Critique | None, *, key: str = "") -> Refinement:
    """The Refinement a trainer's answer makes. Raises InvalidAnswerError naming the field."""
    try:
        return build_refinement(RefinementInput.model_validate(answer), draft, critique, key=key)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidAnswerError(f"field '{where}': {message}" if where else message) from exc
    except ValueError as exc:
        raise InvalidAnswerError(str(exc)) from exc


async def record_refinement(state: RefineState, runtime: Runtime) -> dict[str, Any]:
    """Keep the refinement; the task moves to refined (or skipped). Idempotent."""
    refinement = Refinement.model_validate(state["refinement"])
    saved = await asyncio.to_thread(runtime.store.save_refinement, refinement)
    return {"refinement": saved.model_dump(mode="json")}


# -- the graph -------------------------------------------------------------------------------

def _human(state: RefineState, config: RunnableConfig) -> dict[str, Any]:
    return human_refine(state, thread_id=thread_of(config))


def build_refine_graph(runtime: RuntimeSource) -> Any:
    """The refine graph's builder (a StateGraph, not compiled).

    ``runtime`` is a Runtime or a function that returns one on first use.
    """
    from langgraph.graph import END, START, StateGraph

    lazy = LazyRuntime(runtime)
    builder = StateGraph(RefineState, input_schema=RefineInput)
    builder.add_node("draft_answer", bind(draft_answer, lazy))
    builder.add_node("critique_draft", bind(critique_draft, lazy, threaded=True))
    builder.add_node(HUMAN_REFINE, _human)
    builder.add_node("record_refinement", bind(record_refinement, lazy))
    builder.add_edge(START, "draft_answer")
    builder.add_edge("draft_answer", "critique_draft")
    builder.add_edge("critique_draft", HUMAN_REFINE)
    builder.add_edge(HUMAN_REFINE, "record_refinement")
    builder.add_edge("record_refinement", END)
    return builder


_QUIET = logging.NullHandler()

# any fixed number: the key of the PostgreSQL advisory lock that checkpointer set-ups take turns on
_CHECKPOINT_SETUP_LOCK = 0x6F76_6572_7369_6768


@asynccontextmanager
async def open_checkpointer(location: str) -> AsyncIterator[Any]:
    """An async checkpointer: PostgresSaver for a PostgreSQL URL, else SqliteSaver on a file."""
    if location.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        import psycopg
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        url = location.replace("postgresql+psycopg://", "postgresql://", 1)
        # the pool says each failed reconnect on the log; the command's own line says what matters
        logging.getLogger("psycopg.pool").addHandler(_QUIET)
        # a pool, not one connection: each checkpoint write takes a connection checked alive, so a
        # server that dropped its connections (a restart, a failover) costs a reconnect, not the run
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=4, open=False, check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})
        try:  # one plain connection first: a server that is not there is one line at once, not a wait
            await (await psycopg.AsyncConnection.connect(url, autocommit=True)).close()
            await pool.open(wait=True, timeout=15)
        except Exception as exc:
            await pool.close()
            from oversight.store import masked_url

            raise StoreError(f"cannot open the checkpoint database {masked_url(location)}: "
                             f"{_lost_connection(exc) or type(exc).__name__}") from exc
        try:
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            await _setup_postgres_saver(pool, saver)
            yield saver
        finally:
            await pool.close()
    else:
        from pathlib import Path

        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = Path(location.removeprefix("sqlite:///")).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            # several processes (page workers, `draft`, `review`) write threads to one file: wait
            # for the write lock as the store does, instead of failing with "database is locked"
            await saver.conn.execute("PRAGMA busy_timeout = 30000")
            await saver.conn.execute("PRAGMA journal_mode = WAL")
            await saver.setup()
            yield saver


async def _setup_postgres_saver(pool: Any, saver: Any) -> None:
    """Create or migrate the checkpoint tables, one process at a time.

    PostgresSaver.setup reads the last migration applied, then applies and records the
    rest: workers that start together on a new database would all apply them, and all but
    one die on checkpoint_migrations' primary key. A session advisory lock makes them take
    turns; the later ones find nothing left to do. The others poll for the lock rather than
    wait in a statement: a migration builds an index CONCURRENTLY, which waits for every
    open transaction, a waiting lock request included (a deadlock).
    """
    async with pool.connection() as conn, conn.cursor() as cur:  # autocommit, held while the saver sets up
        delay = 0.02
        while True:
            await cur.execute("SELECT pg_try_advisory_lock(%s) AS got", (_CHECKPOINT_SETUP_LOCK,))
            row = await cur.fetchone()
            if row and row["got"]:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        try:
            await saver.setup()
        finally:
            await cur.execute("SELECT pg_advisory_unlock(%s)", (_CHECKPOINT_SETUP_LOCK,))


@asynccontextmanager
async def refine_graph(runtime: Runtime) -> AsyncIterator[Any]:
    """The refine graph compiled with the runtime's checkpointer."""
    async with open_checkpointer(runtime.settings.checkpoint_location()) as saver:
        yield build_refine_graph(runtime).compile(checkpointer=saver, name="refine")


async def run_to_pause(graph: Any, task_id: str, thread_id: str) -> None:
    """Run a task's thread up to the human pause.

    A thread that stopped half way simply runs again from the start: the draft and
    critique it already paid for are found in the store. So the checkpoint is needed
    only at the pause ("exit" durability), which saves a checkpoint write per step. For the same
    reason a connection the database dropped under it (a restart, a failover) costs a re-run of
    the thread on a fresh connection; after three such losses it raises StoreError (one line).
    """
    for attempt in range(1, _CONNECTION_ATTEMPTS + 1):
        try:
            await graph.ainvoke({"task_id": task_id}, {"configurable": {"thread_id": thread_id}}, durability="exit")
            return
        except Exception as exc:
            lost = _lost_connection(exc)
            if lost is None:
                raise
            if attempt == _CONNECTION_ATTEMPTS:
                raise StoreError(f"lost the connection to the database {_CONNECTION_ATTEMPTS} times "
                                 f"on task {task_id!r}: {lost}") from exc
            # the thread runs again from its start: what it paid for is in the store


_CONNECTION_ATTEMPTS = 3  # a dropped connection is replaced at once (the pools check theirs); a server down stays down


def _lost_connection(exc: BaseException) -> str | None:
    """Why the database connection went away under a thread (one line), or None if it is not that."""
    import psycopg
    from psycopg_pool import PoolTimeout
    from sqlalchemy.exc import DBAPIError

    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
    if isinstance(cause, DBAPIError) and cause.connection_invalidated:
        cause = cause.orig or cause
    elif isinstance(cause, DBAPIError):
        return None
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError | PoolTimeout):
        return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return None


# -- drafting many tasks, with several workers on one database -------------------------------

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
    """Draft and critique tasks up to the human pause, claiming each one first.

    Several workers (processes, machines) can run this on one database: each task is
    claimed under a lease before any model is called, so no task is paid for twice,
    and a crashed worker's tasks return to the queue when its lease expires, or at once
    if it ran on this machine (looked for at the start, and when the queue runs dry). A task
    whose drafting failed keeps its error and is tried again on the next run. Errors
    on one task do not stop the others; they are collected in the summary.
    """
    store = runtime.store
    wanted = list(dict.fromkeys(task_ids)) if task_ids is not None else None
    summary = DraftRunSummary()

    def finish(task_id: str, outcome: ThreadOutcome) -> None:
        summary.outcomes[task_id] = outcome
        if on_done is not None:
            on_done(task_id, outcome)

    states = await asyncio.to_thread(store.task_states, None, wanted)
    if wanted is not None:
        missing = set(wanted) - {s.task_id for s in states}
        for task_id in wanted:
            if task_id in missing:
                summary.errors[task_id] = f"no task with id {task_id!r}"
                finish(task_id, "failed")
    for s in states:
        if s.state in ("awaiting_review", "refined", "skipped"):
            finish(s.task_id, "already_drafted")
    todo = None if wanted is None else [s.task_id for s in states if s.task_id not in summary.outcomes]
    if todo == []:
        return summary
    lease = runtime.settings.lease_seconds
    worker = _worker_name()
    await asyncio.to_thread(_release_dead_workers, store)

    claimed: list[tuple[str, str, int]] = []  # claimed in batches, one UPDATE per batch
    claiming = asyncio.Lock()
    workers = concurrency or runtime.settings.concurrency

    async def claim() -> list[tuple[str, str, int]]:
        return await asyncio.to_thread(store.claim_tasks, lease_seconds=lease, limit=workers, task_ids=todo,
                                       exclude=list(summary.errors), worker=worker)

    async def next_task() -> tuple[str, str, int] | None:
        async with claiming:
            if not claimed:
                claimed.extend(await claim())
            if not claimed and await asyncio.to_thread(_release_dead_workers, store):
                # the queue ran dry while a worker of this machine died holding tasks: take them over
                claimed.extend(await claim())
            return claimed.pop(0) if claimed else None

    async with refine_graph(runtime) as graph:

        async def work() -> None:
            while (job := await next_task()) is not None:
                task_id, claim, attempts = job
                try:
                    await run_to_pause(graph, task_id, runtime.thread_id(task_id))
                    outcome: ThreadOutcome = "resumed" if attempts > 1 else "drafted"
                except OversightError as exc:
                    summary.errors[task_id] = str(exc)
                    await asyncio.to_thread(store.mark_failed, task_id, str(exc), claim=claim)
                    outcome = "failed"
                finish(task_id, outcome)

        await asyncio.gather(*(work() for _ in range(workers)))
    return summary


def _worker_name() -> str:
    """host/pid: lets a worker on the same machine see that a claim's process is gone."""
    return f"{socket.gethostname()}/{os.getpid()}"


def _release_dead_workers(store: Store) -> int:
    """Return tasks claimed by processes of this machine that no longer run (killed, crashed).

    Claims of other machines wait for their lease to expire: their processes cannot be seen.
    """
    host = socket.gethostname()
    released = 0
    for task_id, claim in store.held_claims():
        parts = (claim or "").split("/")
        if len(parts) < 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if not _process_alive(int(parts[1])) and store.release(task_id, claim):
            released += 1
    return released


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, run by someone else
    return True
