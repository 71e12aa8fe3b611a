"""One mining run at a time per database: a second run says who holds the lock, or waits for it;
a dead holder's lock is taken over (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.errors import MiningInProgressError
from oversight.mine.lock import MINE_LOCK, MineLockStep, holding_mine_lock, take_mine_lock
from oversight.mine.miner import mine
from oversight.store import Store
from tests.mine.conftest import seed_refinements
from tests.support.clock import Clock

ELSEWHERE = "other-host/4242/lock_x"  # a holder on another machine: alive as far as we can tell


def test_a_lock_is_held_until_released_or_its_lease_runs_out(store: Store) -> None:
    clock = store.clock = Clock()
    start = clock.now
    assert store.take_lock("mine", "a", lease_seconds=60) is None
    clock.move(59)
    holder = store.take_lock("mine", "b", lease_seconds=60)
    assert holder is not None and holder.owner == "a" and holder.started_at == start
    assert holder.lease_until == start + timedelta(seconds=60)
    assert store.take_lock("mine", "a", lease_seconds=60) is None  # renewed: until 59 + 60 s
    clock.move(59)  # past the first lease, within the renewed one
    assert store.take_lock("mine", "b", lease_seconds=60) is not None
    assert store.release_lock("mine", "b") is False  # not theirs to release
    clock.move(2)
    assert store.take_lock("mine", "b", lease_seconds=60) is None  # a ran out
    assert store.renew_lock("mine", "a", lease_seconds=60) is False and store.lock_holder("mine").owner == "b"
    assert store.take_lock("mine", "c", lease_seconds=60, is_dead=lambda owner: owner == "b") is None
    assert store.release_lock("mine", "c") and store.lock_holder("mine") is None


async def test_a_second_mine_run_says_who_holds_the_lock_and_writes_nothing(store: Store, ttcw_rows,
                                                                            embedder) -> None:
    seed_refinements(store, ttcw_rows[:30])
    store.take_lock(MINE_LOCK, ELSEWHERE, lease_seconds=600)
    with pytest.raises(MiningInProgressError) as caught:
        await mine(store, names="keywords", embedder=embedder)
    message = str(caught.value)
    assert message.startswith("another mine run is in progress (started ") and "by pid 4242 on other-host" in message
    assert store.count("failure_notes") == 0 and store.latest_run() is None  # nothing paid for or written

    store.release_lock(MINE_LOCK, ELSEWHERE)
    result = await mine(store, names="keywords", embedder=embedder)
    assert result.patterns and store.lock_holder(MINE_LOCK) is None  # released when done


async def test_a_caller_holding_the_lock_mines_under_it(store: Store, ttcw_rows, embedder) -> None:
    seed_refinements(store, ttcw_rows[:30])
    async with holding_mine_lock(store):  # as mine_project holds it while it chooses the models
        result = await mine(store, names="keywords", embedder=embedder, lock_held=True)
        assert result.patterns and store.lock_holder(MINE_LOCK) is not None  # still the caller's
    assert store.lock_holder(MINE_LOCK) is None


async def test_two_runs_at_once_make_one_run(store: Store, ttcw_rows, embedder) -> None:
    seed_refinements(store, ttcw_rows[:30])
    outcomes = await asyncio.gather(mine(store, names="keywords", embedder=embedder),
                                    mine(store, names="keywords", embedder=embedder), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["MiningInProgressError", "MiningResult"]
    assert store.count("mining_runs") == 1


async def test_with_wait_a_second_run_waits_for_the_first(tmp_store: Store) -> None:
    tmp_store.take_lock(MINE_LOCK, ELSEWHERE, lease_seconds=600)
    said: list[str] = []
    waits: list[float] = []

    async def first_run_ends(seconds: float) -> None:  # the holder finishes while we wait
        waits.append(seconds)
        if len(waits) == 2:
            tmp_store.release_lock(MINE_LOCK, ELSEWHERE)

    async with holding_mine_lock(tmp_store, wait=True, progress=said.append, sleep=first_run_ends):
        assert tmp_store.lock_holder(MINE_LOCK).owner.startswith(f"{socket.gethostname()}/")
    assert len(waits) == 2 and len(said) == 1 and said[0].startswith("waiting for the mine run in progress")
    assert tmp_store.lock_holder(MINE_LOCK) is None


async def test_a_dead_holders_lock_is_taken_over(tmp_store: Store) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}/{int(gone.stdout)}/lock_dead"  # this machine, a process that has ended
    tmp_store.take_lock(MINE_LOCK, dead, lease_seconds=600)
    async with holding_mine_lock(tmp_store):  # at once: no need to wait out its lease
        assert tmp_store.lock_holder(MINE_LOCK).owner != dead
    clock = tmp_store.clock = Clock()
    tmp_store.take_lock(MINE_LOCK, ELSEWHERE, lease_seconds=600)  # and a live holder's whose lease ran out
    clock.move(601)
    async with holding_mine_lock(tmp_store):
        assert tmp_store.lock_holder(MINE_LOCK).owner.startswith(f"{socket.gethostname()}/")


async def test_a_run_in_steps_keeps_its_lock_between_them_and_lets_go_when_one_fails(tmp_store: Store) -> None:
    owner = await take_mine_lock(tmp_store)
    async with MineLockStep(tmp_store, owner):  # a middle step: the run goes on
        pass
    assert tmp_store.lock_holder(MINE_LOCK).owner == owner
    with pytest.raises(RuntimeError):
        async with MineLockStep(tmp_store, owner):
            raise RuntimeError("the step failed")
    assert tmp_store.lock_holder(MINE_LOCK) is None  # the run ended there

    tmp_store.take_lock(MINE_LOCK, ELSEWHERE, lease_seconds=600)  # another run took it (our lease ran out)
    with pytest.raises(MiningInProgressError, match="another mine run took this run's lock"):
        async with MineLockStep(tmp_store, owner):
            pass
    assert tmp_store.lock_holder(MINE_LOCK).owner == ELSEWHERE


def test_the_cli_says_so_on_one_line(tmp_path: Path, monkeypatch: Any) -> None:
    db = tmp_path / "o.db"
    with Store.open(db) as store:
        store.take_lock(MINE_LOCK, ELSEWHERE, lease_seconds=600)
    result = CliRunner().invoke(cli, ["--db", str(db), "mine", "--names", "keywords"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: another mine run is in progress (started ") and "pid 4242" in lines[-1]
    assert "Traceback" not in result.output
