"""Migrations describe the schema as of their own time: a new database, one migrated step by step
from m001 and one an older release left part-migrated all end with the schema ``store.tables``
describes (what the queries read), and keep their rows. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import JSON, column, create_engine, insert, table, text

from oversight.schemas import (
    Critique,
    Draft,
    DroppedFinding,
    FailureNote,
    Finding,
    FindingVerdict,
    Refinement,
    Task,
    Usage,
    utcnow,
)
from oversight.store import Store, database_url
from oversight.store import tables as t
from oversight.store.migrations import MIGRATIONS
from tests.store._schema import differences, queried_schema, schema

NAMES = [name for name, _ in MIGRATIONS]


def test_a_new_database_has_the_schema_the_queries_read(store_url: str, new_database: Callable[[], str]) -> None:
    Store.open(store_url).close()
    assert differences(schema(store_url), queried_schema(new_database())) == []


def test_the_comparison_sees_a_missing_column_index_or_table(store_url: str, new_database: Callable[[], str]) -> None:
    wanted = queried_schema(new_database())
    changed = new_database()
    engine = create_engine(database_url(changed))
    t.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_drafts_usage"))
        conn.execute(text("DROP INDEX ix_task_states_reviewer"))
        conn.execute(text("ALTER TABLE task_states DROP COLUMN reviewer"))
        conn.execute(text("DROP TABLE run_locks"))
    engine.dispose()
    found = differences(schema(changed), wanted)
    assert "table run_locks: missing" in found
    assert any(line.startswith("task_states.reviewer: missing") for line in found)
    assert any(line.startswith("drafts indexes:") and "ix_drafts_usage" in line for line in found)
    assert any(line.startswith("task_states indexes:") and "ix_task_states_reviewer" in line for line in found)


def test_an_unknown_step_is_refused(store_url: str) -> None:
    with Store.open(store_url, migrate=False) as store, pytest.raises(ValueError, match="m999"):
        store.migrate(upto="m999_nothing")


# -- step by step from m001, with rows written at the early steps --------------------------------

FINDING = Finding(quote="Lyon", issue="Not the capital.", severity="high", category="factual-error")
TASKS = [Task(id=f"t{n}", prompt=f"Question {n}?", domain="geo", kind="qa") for n in (1, 2, 3)]
DRAFTS = [Draft(id=f"d{n}", task_id=f"t{n}", model="m1", prompt_name="draft", prompt_version="v1",
                text="Lyon is the capital.", usage=Usage(prompt_tokens=10, completion_tokens=5 * n, cost_usd=0.01 * n))
          for n in (1, 2)]
CRITIQUES = [Critique(id=f"c{n}", draft_id=f"d{n}", task_id=f"t{n}", model="critic", prompt_name="critique",
                      prompt_version="v2", findings=[FINDING],
                      dropped=[DroppedFinding(finding=FINDING, reason="not-in-draft")], grounding="quote-in-draft/1",
                      usage=Usage(prompt_tokens=7, cost_usd=0.001)) for n in (1, 2)]
REFINEMENT = Refinement(id="r2", task_id="t2", draft_id="d2", critique_id="c2", decision="edit",
                        refined_text="Paris is the capital.", reviewer="ana", seconds_spent=12.0,
                        finding_verdicts=[FindingVerdict(finding=0, verdict="right")])
NOTE = FailureNote(id="n1", text="Named the wrong capital.", source="tag", refinement_id="r2", task_id="t2")


def _at_m001(conn: Any) -> None:
    """Rows as m001's tables held them: no usage or verdict columns, the refine graph's threads."""
    def rows(name: str, *records: Any, **columns: Callable[[Any], Any]) -> None:
        kept = table(name, column("data", JSON), *map(column, columns))
        conn.execute(insert(kept), [{"data": r.model_dump(mode="json"), **{k: f(r) for k, f in columns.items()}}
                                    for r in records])

    def field(name: str) -> Callable[[Any], Any]:
        return lambda record: getattr(record, name)

    rows("tasks", *TASKS, **{k: field(k) for k in ("id", "domain", "kind", "created_at")}, source=lambda _: "a.jsonl")
    rows("drafts", *DRAFTS, **{k: field(k) for k in ("id", "task_id", "model", "prompt_version", "created_at")})
    rows("critiques", *CRITIQUES, **{k: field(k) for k in ("id", "draft_id", "task_id", "model", "created_at")})
    rows("refinements", REFINEMENT, **{k: field(k) for k in ("id", "task_id", "draft_id", "decision", "reviewer",
                                                             "seconds_spent", "created_at")})
    threads = table("refine_threads", *map(column, ("thread_id", "task_id", "status", "draft_id", "critique_id",
                                                    "updated_at")))
    now = utcnow()
    conn.execute(insert(threads), [
        {"thread_id": "old-t1", "task_id": "t1", "status": "running", "draft_id": None, "critique_id": None,
         "updated_at": now - timedelta(hours=1)},
        {"thread_id": "th-t1", "task_id": "t1", "status": "awaiting_review", "draft_id": "d1", "critique_id": "c1",
         "updated_at": now},  # the newer thread of t1 is the one that counts
        {"thread_id": "th-t3", "task_id": "t3", "status": "running", "draft_id": None, "critique_id": None,
         "updated_at": now},
    ])


def test_a_database_migrated_step_by_step_keeps_its_rows_and_ends_with_the_schema(
        store_url: str, new_database: Callable[[], str]) -> None:
    vector = np.arange(4, dtype=np.float32)
    with Store.open(store_url, migrate=False) as store:
        for name in NAMES:
            assert store.migrate(upto=name) == [name]
            if name == "m001_initial":
                with store.transaction() as conn:
                    _at_m001(conn)
            elif name == "m003_mine":  # tables no later step changes: written as the store writes them
                store.save_notes([NOTE])
                store.cache_vectors("embedder", {"h1": vector})
            elif name == "m005_documents":
                store.put_document("routing", {"rule": "kept"})
        assert store.applied_migrations() == sorted(NAMES)
        assert store.migrate() == []

        assert {s.task_id: (s.state, s["thread_id"], s["draft_id"], s["critique_id"]) for s in store.task_states()} == {
            "t1": ("awaiting_review", "th-t1", "d1", "c1"), "t2": ("refined", None, None, None),
            "t3": ("pending", "th-t3", None, None)}
        assert store.tasks() == TASKS
        assert store.drafts(["d1", "d2"]) == {d.id: d for d in DRAFTS}
        assert store.critiques(["c1", "c2"]) == {c.id: c for c in CRITIQUES}
        assert store.refinements() == [REFINEMENT]
        assert store.notes() == [NOTE]
        assert np.array_equal(store.cached_vectors("embedder", ["h1"])["h1"], vector)
        assert store.get_document("routing") == {"rule": "kept"}
        # m014 filled the columns `status` sums from the records written before it
        status = store.status()
        assert (status["tasks"], status["drafts"], status["critiques"], status["refinements"]) == (3, 2, 2, 1)
        assert status["tokens"] == (15 + 20) + 2 * 7
        assert status["cost_usd"] == pytest.approx(0.03 + 0.002)
        assert store.critic_tallies() == [{"model": "critic", "prompt_name": "critique", "prompt_version": "v2",
                                           "checked": True, "critiques": 2, "shown": 2,
                                           "dropped": {"not-in-draft": 2}, "right": 1, "wrong": 0}]
        # m010's lease columns and indexes serve the review queue
        lease = store.claim_review("bo", lease_seconds=600)
        assert lease is not None and lease.task_id == "t1"
    assert differences(schema(store_url), queried_schema(new_database())) == []


# -- a database an older release left part-migrated ------------------------------------------------

# The tables each step made while steps created them from store.tables (as it stands today), and so
# with every column and index they have today. m004 also dropped refine_threads.
MADE_BY_OLDER_RELEASES = {
    "m001_initial": ["tasks", "drafts", "critiques", "refinements"],
    "m002_judgments": ["judgments"],
    "m003_mine": ["failure_notes", "embeddings", "patterns", "pattern_members", "mining_runs"],
    "m004_task_states": ["task_states"],
    "m005_documents": ["documents"],
    "m006_edit_explanations": ["edit_explanations"],
    "m007_note_abstractions": ["note_abstractions"],
    "m008_interventions": ["interventions"],
    "m009_judge_verdicts": ["judge_verdicts"],
    "m010_review": ["users", "web_sessions", "calibration_items", "calibration_answers"],
    "m011_experiments": ["experiment_items"],
}


def test_the_older_releases_listed_make_every_table_but_the_later_steps() -> None:
    made = {name for names in MADE_BY_OLDER_RELEASES.values() for name in names}
    later = {"gold_items", "gold_copies", "gold_answers", "trainer_standing", "assessments", "assessment_results"}
    assert set(t.metadata.tables) - made == {"schema_migrations", "calibration_serves", "run_locks", *later}


@pytest.mark.parametrize("last", ["m004_task_states", "m011_experiments"])
def test_a_database_an_older_release_left_part_migrated_ends_with_the_schema(
        store_url: str, new_database: Callable[[], str], last: str) -> None:
    """A release that died after ``last``: its tables already have what m010 and m014 add."""
    done = NAMES[:NAMES.index(last) + 1]
    engine = create_engine(database_url(store_url))
    with engine.begin() as conn:
        made = [t.metadata.tables[name] for step in ["schema_migrations", *done]
                for name in MADE_BY_OLDER_RELEASES.get(step, [step])]
        t.metadata.create_all(conn, tables=made)
        conn.execute(insert(t.schema_migrations), [{"name": name, "applied_at": utcnow()} for name in done])
    engine.dispose()
    with Store.open(store_url) as store:
        store.add_tasks(TASKS)
        store.save_draft(DRAFTS[0])
        store.save_critique(CRITIQUES[0])
        assert store.status()["tokens"] == 15 + 7
        assert store.applied_migrations() == sorted(NAMES)
    assert differences(schema(store_url), queried_schema(new_database())) == []
