"""PostgreSQL going away mid-`draft` (its backends terminated, as a restart or a failover does): the
run reconnects and goes on, or stops on one line; a re-run pays for nothing twice."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.config import load_settings
from oversight.pipelines import draft_tasks
from oversight.project import Project
from oversight.schemas import Task
from tests.support.stub_server import StubServer

MODEL = "openai/stub-model"
TASKS = [Task(id=f"t{i}", prompt=f"What is {i} + {i}?") for i in range(8)]


@pytest.fixture
def tagged_url(postgres_url: str) -> Iterator[tuple[str, str]]:
    """The test's database URL with an application name of its own: only its connections are cut."""
    name = f"oversight-cut-{uuid.uuid4().hex[:10]}"
    yield f"{postgres_url}&application_name={name}", name


def cut_connections(url: str, name: str) -> int:
    """Terminate every backend of this test's connections (the store's and the checkpointer's)."""
    with psycopg.connect(url.split("?")[0], autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                             "AND pid <> pg_backend_pid()", (name,)).fetchall()
    return len(rows)


class CuttingServer(StubServer):
    """A model server that, on its k-th request, cuts the database connections before answering."""

    def __init__(self, url: str, name: str, at: int) -> None:
        super().__init__()
        self.cut_at, self.url, self.name, self.cut = at, url, name, 0

    def _record(self, entry: dict, message: str | None = None) -> None:
        super()._record(entry, message)
        if len(self.requests) == self.cut_at:
            self.cut = cut_connections(self.url, self.name)


@pytest.mark.postgres
@pytest.mark.parametrize("at", [3, 6])
async def test_draft_goes_on_after_the_database_drops_its_connections(tagged_url: tuple[str, str], at: int) -> None:
    url, name = tagged_url
    with CuttingServer(url, name, at) as server:
        settings = load_settings(db=url, model=MODEL, api_base=server.api_base, api_key="sk-test", concurrency=2)
        with Project.open(settings, announce=lambda _m: None) as project:
            project.store.add_tasks(TASKS)
            summary = await draft_tasks(project)
            assert server.cut >= 1, "the connections were cut mid-run"
            first = Counter(summary.outcomes.values())
            again = await draft_tasks(project)  # whatever the first run could not finish
            states = Counter(s.state for s in project.store.task_states())
        assert states == {"awaiting_review": len(TASKS)}, (summary.errors, again.errors)
        assert first["drafted"] + first["failed"] == len(TASKS)
        paid = Counter((r["kind"], r["digest"]) for r in server.requests)
        assert len(paid) == 2 * len(TASKS) and set(paid.values()) == {1}, ("nothing paid for twice", summary.errors, again.errors, [(r["kind"], r["digest"]) for r in server.requests])


@pytest.mark.postgres
def test_the_draft_command_ends_with_one_line_or_finishes(tagged_url: tuple[str, str], tmp_path: Path) -> None:
    url, name = tagged_url
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(t.model_dump_json(include={"id", "prompt"}) + "\n" for t in TASKS), encoding="utf-8")
    with CuttingServer(url, name, 4) as server:
        env = {"OVERSIGHT_MODEL": MODEL, "OVERSIGHT_API_BASE": server.api_base, "OVERSIGHT_API_KEY": "sk-test",
               "OVERSIGHT_CONCURRENCY": "2"}
        runner = CliRunner()
        assert runner.invoke(cli, ["--db", url, "tasks", "import", str(tasks)], env=env).exit_code == 0
        result = runner.invoke(cli, ["--db", url, "draft"], env=env)
        assert server.cut >= 1
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
        assert result.exit_code == 0, result.output  # it reconnected and went on
        again = runner.invoke(cli, ["--db", url, "draft"], env=env)
        assert again.exit_code == 0, again.output
        paid = Counter((r["kind"], r["digest"]) for r in server.requests)
        assert len(paid) == 2 * len(TASKS) and set(paid.values()) == {1}, "nothing paid for twice"


@pytest.mark.postgres
def test_a_paid_answer_is_kept_when_its_connection_drops_as_it_is_written(postgres_url: str) -> None:
    from sqlalchemy import event

    from oversight.schemas import Draft
    from oversight.store import Store

    with Store.open(postgres_url) as store:
        store.add_tasks(TASKS[:1])
        cut: list[int] = []

        def drop_it(conn) -> None:  # the first write transaction: its backend goes away once it began
            if not cut:
                cut.append(conn.connection.dbapi_connection.info.backend_pid)
                with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (cut[0],))

        event.listen(store.engine, "begin", drop_it)
        draft = Draft(id="d1", task_id="t0", model="m", prompt_name="draft", prompt_version="v", text="Paid for.")
        assert store.save_draft(draft) == draft
        event.remove(store.engine, "begin", drop_it)
        assert cut and store.get_draft("d1") == draft


@pytest.mark.postgres
def test_a_workers_claims_and_failures_survive_a_dropped_connection(postgres_url: str) -> None:
    """Between its threads a worker claims, marks failures and gives tasks back: a connection the server
    drops inside one of those transactions is replaced and the call made again (the `draft` command
    once ended on "database write failed" when the cut fell on another worker's claim)."""
    from sqlalchemy import event

    from oversight.store import Store

    with Store.open(postgres_url) as store:
        store.add_tasks(TASKS[:3])
        cut: list[int] = []

        def drop_it(conn) -> None:  # the next transaction's backend goes away once it began
            if len(cut) < armed[0]:
                cut.append(conn.connection.dbapi_connection.info.backend_pid)
                with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (cut[-1],))

        armed = [0]
        event.listen(store.engine, "begin", drop_it)
        try:
            armed[0] += 1
            claims = store.claim_tasks(lease_seconds=60, limit=2, worker="host/1")
            assert [c[0] for c in claims] == ["t0", "t1"] and len(cut) == 1
            armed[0] += 1
            store.mark_failed("t0", "the model said no", claim=claims[0][1])
            armed[0] += 1
            assert store.release("t1", claims[1][1])
            armed[0] += 1
            assert {s.task_id: s.state for s in store.task_states()} == {
                "t0": "failed", "t1": "pending", "t2": "pending"}
            assert len(cut) == 4
        finally:
            event.remove(store.engine, "begin", drop_it)


async def test_a_database_that_stays_gone_ends_the_thread_on_one_line() -> None:
    from oversight.errors import StoreError
    from oversight.pipelines.context import PipelineContext
    from oversight.pipelines.refine import run_to_pause

    class Unreachable:
        calls = 0

        async def ainvoke(self, *_args: object, **_kwargs: object) -> None:
            self.calls += 1
            raise psycopg.OperationalError("server closed the connection unexpectedly\n\tThis probably means ...")

    graph = Unreachable()
    with pytest.raises(StoreError) as caught:
        await run_to_pause(graph, "t0", "thread-t0", PipelineContext())
    assert graph.calls == 3 and "\n" not in str(caught.value)
    assert str(caught.value) == ("lost the connection to the database 3 times on task 't0': "
                                 "server closed the connection unexpectedly")


async def test_other_errors_of_a_thread_are_not_retried() -> None:
    from oversight.pipelines.context import PipelineContext
    from oversight.pipelines.refine import run_to_pause

    class Broken:
        calls = 0

        async def ainvoke(self, *_args: object, **_kwargs: object) -> None:
            self.calls += 1
            raise ValueError("a bug")

    graph = Broken()
    with pytest.raises(ValueError, match="a bug"):
        await run_to_pause(graph, "t0", "thread-t0", PipelineContext())
    assert graph.calls == 1
