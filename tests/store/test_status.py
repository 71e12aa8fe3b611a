"""`status` (the CLI's counts, the lead hub's cards) and the critics' grounding sums read indexes, never
records: a constant handful of aggregate statements, whatever the queue holds (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect, select

from oversight.refine.critic_quality import grounding_rows, grounding_status
from oversight.schemas import Critique, Draft, Task, Usage
from oversight.store import TASK_STATES, Store
from oversight.store import tables as t
from tests._critics import EXPECTED, seed_critics
from tests.store._schema import older_copy


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the store sends meanwhile, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        sent.append((sql, params))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def seed_queue(store: Store, n: int, start: int = 0) -> None:
    """n tasks awaiting review, each with a paid draft and a critique (one finding shown, one dropped)."""
    from oversight.schemas import DroppedFinding, Finding

    store.add_tasks([Task(id=f"q{i}", prompt=f"Question {i}?") for i in range(start, start + n)])
    for i in range(start, start + n):
        draft = store.save_draft(Draft(id=f"d{i}", task_id=f"q{i}", model="m", prompt_name="draft",
                                       prompt_version="v1", text=f"Answer {i}.",
                                       usage=Usage(prompt_tokens=10, completion_tokens=i, cost_usd=0.001)))
        finding = Finding(quote="Answer", issue="Vague.", severity="low", category="other")
        store.save_critique(Critique(id=f"c{i}", draft_id=draft.id, task_id=f"q{i}", model="critic",
                                     prompt_name="critique", prompt_version="v2", findings=[finding],
                                     dropped=[DroppedFinding(finding=finding, reason="not-in-draft")],
                                     grounding="quote-in-draft/1", usage=Usage(prompt_tokens=5, cost_usd=0.002)))


def status_from_records(store: Store) -> dict[str, Any]:
    """What `status` said when it read every record (the reference)."""
    with store.reading() as conn:
        states = Counter(conn.scalars(select(t.task_states.c.state)))
        records = [*conn.scalars(select(t.drafts.c.data)), *conn.scalars(select(t.critiques.c.data))]
    usage = [r.get("usage") or {} for r in records]
    return {"tasks": sum(states.values()), "states": {s: states.get(s, 0) for s in TASK_STATES},
            "drafts": store.count("drafts"), "critiques": store.count("critiques"),
            "refinements": store.count("refinements"),
            "tokens": sum(u.get("prompt_tokens", 0) + u.get("completion_tokens", 0) for u in usage),
            "cost_usd": round(sum(u.get("cost_usd", 0.0) for u in usage), 6)}


def test_status_and_grounding_read_no_record_and_a_constant_number_of_statements(store: Store) -> None:
    seed_critics(store)
    seed_queue(store, 3)
    with statements(store) as small:
        counts = store.status()
        grounding_status(store)
    assert counts == status_from_records(store)
    seed_queue(store, 40, start=3)
    with statements(store) as big:
        counts = store.status()
        rows = grounding_status(store)
    assert counts == status_from_records(store) and counts["states"]["awaiting_review"] == 43
    assert rows == [row.as_dict() for row in grounding_rows(store.critiques_with_verdicts())]
    assert len(big) == len(small) <= 6, "a handful of aggregates, whatever the queue holds"
    assert not [sql for sql, _ in big if re.search(r"\bdata\b", sql)], "no record is read"


def test_on_sqlite_every_scan_is_of_a_covering_index(tmp_store: Store) -> None:
    seed_critics(tmp_store)
    seed_queue(tmp_store, 5)
    with statements(tmp_store) as sent:
        tmp_store.status()
        grounding_status(tmp_store)
    raw = tmp_store.engine.raw_connection()
    try:
        for sql, params in sent:
            plan = [row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params or ()).fetchall()]
            scans = [step for step in plan if step.startswith("SCAN") and step.split()[1] in t.metadata.tables]
            assert all("COVERING INDEX" in step for step in scans), (sql, plan)
    finally:
        raw.close()


def test_migration_fills_the_columns_of_rows_written_before_it(store: Store, new_database: Callable[[], str]) -> None:
    seed_critics(store)
    seed_queue(store, 4)
    before = status_from_records(store)
    store_url = new_database()
    with older_copy(store, store_url, upto="m013_run_locks") as older:  # the rows, as made before m014
        with older.reading() as conn:
            assert "tokens" not in {c["name"] for c in inspect(conn).get_columns("drafts")}
    with Store.open(store_url) as again:
        assert again.status() == before
        assert grounding_status(again) == [row.as_dict() for row in grounding_rows(again.critiques_with_verdicts())]
        assert [row for row in grounding_status(again) if row["model"] != "critic"] == EXPECTED
