"""Claims: several workers share one queue of tasks, on SQLite and PostgreSQL.

Each claimer here opens its own Store (its own engine and connections), as a worker process
would; the process test runs real separate processes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from oversight.schemas import Task
from oversight.store import Store

ROOT = Path(__file__).resolve().parents[2]
LEASE = 600.0


def add(store: Store, n: int) -> list[str]:
    ids = [f"t{i:03d}" for i in range(n)]
    store.add_tasks([Task(id=i, prompt=f"Question {i}?") for i in ids])
    return ids


def drain(url: str, worker: str, limit: int, start: threading.Barrier | None = None) -> list[list[str]]:
    """Claim batches until the queue is empty; the task ids of each batch."""
    batches: list[list[str]] = []
    with Store.open(url, migrate=False) as store:
        if start is not None:
            start.wait()
        while claimed := store.claim_tasks(lease_seconds=LEASE, limit=limit, worker=worker):
            batches.append([task_id for task_id, _, _ in claimed])
    return batches


def test_claim_returns_at_most_limit_in_queue_order(store: Store) -> None:
    add(store, 7)
    first = store.claim_tasks(lease_seconds=LEASE, limit=3)
    assert [task_id for task_id, _, _ in first] == ["t000", "t001", "t002"]
    assert len({claim for _, claim, _ in first}) == 1 and all(attempts == 1 for _, _, attempts in first)
    assert [t for t, _, _ in store.claim_tasks(lease_seconds=LEASE, limit=3)] == ["t003", "t004", "t005"]
    assert [t for t, _, _ in store.claim_tasks(lease_seconds=LEASE, limit=3)] == ["t006"]
    assert store.claim_tasks(lease_seconds=LEASE, limit=3) == []
    assert {s.state for s in store.task_states()} == {"drafting"}


def test_each_shape_of_claim_is_one_statement_built_once(store: Store) -> None:
    """A worker claims every few tasks: building the UPDATE cost twice what running it does."""
    from sqlalchemy import event

    add(store, 6)
    ran: list[object] = []
    event.listen(store.engine, "before_execute", lambda _conn, statement, *_: ran.append(statement))
    claimed = [store.claim_tasks(lease_seconds=LEASE, limit=1), store.claim_tasks(lease_seconds=LEASE, limit=2),
               store.claim_tasks(lease_seconds=LEASE, limit=1, task_ids=["t005"]),
               store.claim_tasks(lease_seconds=LEASE, limit=2, task_ids=["t004", "t005", "t003"])]
    assert [[t for t, _, _ in c] for c in claimed] == [["t000"], ["t001", "t002"], ["t005"], ["t004", "t003"]]
    assert len(ran) == 4 and ran[0] is ran[1] and ran[2] is ran[3] and ran[1] is not ran[2]


def test_a_failed_task_goes_to_the_back_of_the_queue(store: Store) -> None:
    add(store, 4)
    (task_id, claim, _), = store.claim_tasks(lease_seconds=LEASE, limit=1)
    store.mark_failed(task_id, "boom", claim=claim)
    assert [t for t, _, _ in store.claim_tasks(lease_seconds=LEASE, limit=3)] == ["t001", "t002", "t003"]
    (again, _, attempts), = store.claim_tasks(lease_seconds=LEASE, limit=3)
    assert (again, attempts) == ("t000", 2)


def test_claims_among_given_tasks_follow_their_order(store: Store) -> None:
    add(store, 5)
    claimed = store.claim_tasks(lease_seconds=LEASE, limit=2, task_ids=["t004", "t001", "t003"])
    assert len(claimed) == 2
    ids = [t for t, _, _ in claimed]
    assert set(ids) <= {"t004", "t001", "t003"}
    assert ids == sorted(ids, key=["t004", "t001", "t003"].index)


def test_threads_claiming_at_once_never_get_the_same_task(store_url: str, store: Store) -> None:
    n, claimers, limit = 300, 4, 5
    ids = add(store, n)
    start = threading.Barrier(claimers)
    results: dict[int, list[list[str]]] = {}

    def run(k: int) -> None:
        results[k] = drain(store_url, f"w{k}", limit, start)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == list(range(claimers)), "a claimer died (see the captured exception)"

    batches = [batch for k in results for batch in results[k]]
    assert all(1 <= len(batch) <= limit for batch in batches)
    counts = Counter(task_id for batch in batches for task_id in batch)
    assert sorted(counts) == ids and set(counts.values()) == {1}, "a task was claimed twice, or not at all"
    assert sum(1 for k in results if results[k]) > 1, "the claimers did not overlap"
    assert {s.state for s in store.task_states()} == {"drafting"}


CLAIMER = """
import json, sys
from oversight.store import Store
url, worker, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.stdin.readline()  # start together
out = []
with Store.open(url, migrate=False) as store:
    while claimed := store.claim_tasks(lease_seconds=600, limit=limit, worker=worker):
        out.append([task_id for task_id, _, _ in claimed])
print(json.dumps(out))
"""


def test_processes_claiming_at_once_never_get_the_same_task(store_url: str, store: Store) -> None:
    n, claimers, limit = 300, 3, 4
    ids = add(store, n)
    processes = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, store_url, f"p{k}", str(limit)], cwd=ROOT,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(claimers)
    ]
    outputs = [p.communicate("go\n", timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err for _, err in outputs]
    batches = [batch for out, _ in outputs for batch in json.loads(out)]
    assert all(1 <= len(batch) <= limit for batch in batches)
    counts = Counter(task_id for batch in batches for task_id in batch)
    assert sorted(counts) == ids and set(counts.values()) == {1}, "a task was claimed twice, or not at all"


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_release_gives_back_only_a_dead_workers_claims(store: Store) -> None:
    from oversight.pipelines.workers import _release_dead_workers

    add(store, 3)
    host = socket.gethostname()
    store.claim_tasks(lease_seconds=LEASE, limit=2, worker=f"{host}/{dead_pid()}")
    store.claim_tasks(lease_seconds=LEASE, limit=1, worker=f"{host}/{__import__('os').getpid()}")
    assert _release_dead_workers(store) == 2
    assert Counter(s.state for s in store.task_states()) == {"pending": 2, "drafting": 1}


@pytest.mark.postgres
async def test_workers_that_start_together_set_up_the_checkpointer_once(postgres_url: str) -> None:
    # a fresh database, four `draft` workers starting at once: each sets up the checkpoint tables
    from oversight.pipelines import open_checkpointer

    async def start() -> None:
        async with open_checkpointer(postgres_url):
            pass

    outcomes = await asyncio.gather(*(start() for _ in range(4)), return_exceptions=True)
    assert outcomes == [None] * 4, outcomes


async def test_a_worker_takes_over_the_tasks_of_one_that_died_while_it_ran(store_url: str) -> None:
    # a worker of this machine claims a task, then dies, while ours runs: when our queue runs
    # dry, ours sees the dead process and drafts its task instead of leaving it `drafting`
    from oversight.config import load_settings
    from oversight.pipelines import draft_tasks
    from oversight.project import Project
    from tests.support.stub_server import StubServer

    grabbed: list[tuple[str, str, int]] = []
    dead = f"{socket.gethostname()}/{dead_pid()}"
    with StubServer() as server:
        settings = load_settings(db=store_url, model="openai/stub-model", api_base=server.api_base,
                                 api_key="sk-test", concurrency=1)
        with Project.open(settings, announce=lambda _m: None) as project:
            add(project.store, 3)

            def on_done(_task_id: str, _outcome: str) -> None:
                if not grabbed:
                    grabbed.extend(project.store.claim_tasks(lease_seconds=LEASE, limit=1, worker=dead))

            summary = await draft_tasks(project, on_done=on_done)
            states = {s.task_id: s.state for s in project.store.task_states()}
    assert len(grabbed) == 1
    assert states == dict.fromkeys(["t000", "t001", "t002"], "awaiting_review")
    assert summary.outcomes[grabbed[0][0]] == "resumed" and not summary.errors
