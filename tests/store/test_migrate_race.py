"""Several workers opening one new database at once: every migration runs once, none fails."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from oversight.store import Store
from oversight.store.migrations import MIGRATIONS


def _open(url: str, start: object, out: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    try:
        with Store.open(url) as store:
            out.put(("ok", store.applied_migrations()))  # type: ignore[attr-defined]
    except Exception as exc:  # reported to the test, which fails naming it
        out.put(("error", f"{type(exc).__name__}: {exc}"))  # type: ignore[attr-defined]


@pytest.mark.timeout(120)
def test_four_processes_open_a_new_database_together(store_url: str) -> None:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(4), ctx.Queue()
    workers = [ctx.Process(target=_open, args=(store_url, start, out)) for _ in range(4)]
    for w in workers:
        w.start()
    results = [out.get(timeout=90) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    assert [r[0] for r in results] == ["ok"] * 4, results
    assert all(r[1] == sorted(name for name, _ in MIGRATIONS) for r in results)
