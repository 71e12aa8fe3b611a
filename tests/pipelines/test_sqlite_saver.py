"""The refine threads' checkpoint: a new SQLite file opened by several processes at once, and one held open by a server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from oversight.pipelines import _sqlite_saver
from oversight.pipelines._sqlite_saver import _in_wal_mode


def _new_file_held_by_another_writer(path: Path) -> sqlite3.Connection:
    """A new file still in its first journal mode, with another connection in the middle of a write."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    return other


def test_a_file_another_process_is_making_is_put_in_wal_mode_once_it_is_free(tmp_path: Path) -> None:
    # two answers arriving at once on a new project both open the checkpoint file: SQLite refuses the
    # second one's change to WAL at once ("database is locked"), whatever its busy timeout
    other = _new_file_held_by_another_writer(tmp_path / "c.sqlite")
    mine = sqlite3.connect(tmp_path / "c.sqlite", isolation_level=None)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the other process finishes its write while this one waits
        waits.append(seconds)
        other.execute("COMMIT")

    _in_wal_mode(mine, sleep=sleep)
    assert mine.execute("PRAGMA journal_mode").fetchone()[0] == "wal" and len(waits) == 1


def test_it_gives_up_after_the_busy_timeout_with_sqlites_error(tmp_path: Path) -> None:
    _new_file_held_by_another_writer(tmp_path / "c.sqlite")
    mine = sqlite3.connect(tmp_path / "c.sqlite", isolation_level=None)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _in_wal_mode(mine, sleep=sleep, clock=lambda: now[0])
    assert _sqlite_saver.BUSY_TIMEOUT_S <= now[0] < _sqlite_saver.BUSY_TIMEOUT_S + 1


async def test_a_holder_keeps_one_refine_graph_open_for_every_answer_on_its_loop(tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The review server holds the refine graph for its life: answers share one checkpointer, opened once."""
    from oversight.config import load_settings
    from oversight.pipelines import refine
    from oversight.project import Project

    opened: list[str] = []
    real = refine.compiled_graph

    def counted(builder, location, name):  # type: ignore[no-untyped-def]
        opened.append(location)
        return real(builder, location, name)

    monkeypatch.setattr(refine, "compiled_graph", counted)
    with Project.open(load_settings(db=str(tmp_path / "held.db"))) as project:
        async with refine.holding_refine_graph(project):
            async with refine.refine_graph(project) as first, refine.refine_graph(project) as second:
                assert first is second
            async with refine.refine_graph(project) as again:
                assert again is first and len(opened) == 1
            saver = first.checkpointer
        assert saver.conn is not None
        with pytest.raises(sqlite3.ProgrammingError):  # closed with the holder
            saver.conn.execute("SELECT 1")
        async with refine.refine_graph(project) as alone:  # no holder: one opened for the block
            assert alone is not first and len(opened) == 2
