"""The whole run: stable pattern ids across runs, statistics, LLM naming path, the graph."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from oversight.mine.identity import Previous, match_patterns
from oversight.mine.miner import current, mine
from oversight.mine.records import PatternName
from oversight.mine.storage import load_patterns
from tests.mine.conftest import seed_refinements


def test_match_patterns_keeps_ids_by_members_then_centroid() -> None:
    e = np.eye(4, dtype=np.float32)
    previous = [Previous("p_a", frozenset({"1", "2", "3"}), e[0]), Previous("p_b", frozenset({"7", "8"}), e[1]),
                Previous("p_c", frozenset({"9"}), e[2])]
    new_members = [frozenset({"2", "3", "4"}), frozenset({"x", "y"}), frozenset({"z"})]
    centroids = np.array([e[3], e[1] * 0.99 + e[3] * 0.05, e[3]], dtype=np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    assert match_patterns(previous, new_members, centroids) == ["p_a", "p_b", None]
    assert match_patterns([], new_members, centroids) == [None, None, None]


def test_a_rerun_after_new_refinements_keeps_pattern_ids_and_history(tmp_store, ttcw_rows, embedder) -> None:
    seed_refinements(tmp_store, ttcw_rows[:90])
    first = mine(tmp_store, embedder=embedder)
    assert first.patterns and first.run.matched == 0
    again = mine(tmp_store, embedder=embedder)  # nothing new: the same patterns, the same ids
    assert [p.id for p in again.patterns] == [p.id for p in first.patterns]
    assert [set(p.member_ids) for p in again.patterns] == [set(p.member_ids) for p in first.patterns]

    more = [dict(r, id=r["id"] + "-late") for r in ttcw_rows[90:]]
    seed_refinements(tmp_store, more, start=datetime(2026, 11, 20, tzinfo=UTC), prefix="late-")
    later = mine(tmp_store, embedder=embedder)
    old_ids = {p.id for p in first.patterns}
    kept = [p for p in later.patterns if p.id in old_ids]
    assert len(kept) >= 0.7 * len(first.patterns)
    for pattern in kept:
        assert len(pattern.history) == 3 and pattern.history[0]["run_id"] == first.run.id
    assert later.run.notes > first.run.notes and later.run.matched == len(kept)
    stored = {p.id for p in load_patterns(tmp_store, include_retired=True)}
    assert old_ids <= stored  # retired patterns keep their history


def test_statistics_of_a_pattern(tmp_store, ttcw_rows, embedder) -> None:
    seed_refinements(tmp_store, ttcw_rows[:60], models=("model-a", "model-b", "model-c"))
    result = mine(tmp_store, embedder=embedder)
    assert result.run.units == 60
    top = result.patterns[0]
    stats = top.stats
    assert stats.size == top.size == sum(stats.slices["model"].values())
    assert stats.prevalence == round(stats.refinements / 60, 4)
    assert set(stats.slices) >= {"model", "prompt_version", "domain", "kind"}
    assert stats.first_seen <= stats.last_seen and sum(t.count for t in stats.trend) == stats.size
    assert 1 <= len(stats.representatives) <= 5
    sims = [r.similarity for r in stats.representatives]
    assert sims == sorted(sims, reverse=True) and stats.representatives[0].task_id
    assert len(result.noise) == result.run.noise
    stored = current(tmp_store)
    assert [p.id for p in stored.patterns] == [p.id for p in result.patterns]


class QueuedNamer:
    """A stand-in LLM for the naming logic (the wire is covered by the cassette tests)."""

    model = "fake/namer"

    def __init__(self) -> None:
        self.calls: list[list[dict]] = []

    async def structured(self, messages, schema, **params):
        self.calls.append(messages)
        return PatternName(name=f"Failure kind {len(self.calls)}", description="d", criteria=["c"]), None


def test_llm_naming_path_and_names_kept_for_continued_patterns(tmp_store, ttcw_rows, embedder) -> None:
    seed_refinements(tmp_store, ttcw_rows[:60])
    namer = QueuedNamer()
    result = mine(tmp_store, names="llm", llm=namer, embedder=embedder)
    assert len(namer.calls) == len(result.patterns)
    assert all(p.named_by == "llm:fake/namer" and p.name.startswith("Failure kind ") for p in result.patterns)
    rerun = mine(tmp_store, names="llm", llm=namer, embedder=embedder)
    assert len(namer.calls) == len(result.patterns)  # same patterns, same sizes: no new calls
    assert {p.id: p.name for p in rerun.patterns} == {p.id: p.name for p in result.patterns}


def test_the_mine_graph_runs_the_steps(tmp_path, ttcw_rows, embedder) -> None:
    from oversight.mine.graph import build_mine_graph
    from oversight.store import Store

    db = str(tmp_path / "g.db")
    with Store.open(db) as store:
        seed_refinements(store, ttcw_rows[:40])
    graph = build_mine_graph(embedder=embedder).compile()
    out = graph.invoke({"db": db, "names": "keywords"})
    assert out["notes_added"] > 0 and out["notes"] == out["notes_added"]
    assert out["patterns"] and out["run_id"].startswith("run_")
    with Store.open(db) as store:
        assert [p.id for p in current(store).patterns] == [p["id"] for p in out["patterns"]]


def test_empty_store_ends_after_embedding(tmp_path) -> None:
    from oversight.mine.graph import build_mine_graph

    out = build_mine_graph().compile().invoke({"db": str(tmp_path / "e.db")})
    assert out["notes"] == 0 and "patterns" not in out


def test_graphs_entry_module_exports_a_compiled_graph_without_checkpointer() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "graphs" / "mine.py"
    spec = importlib.util.spec_from_file_location("graphs_mine", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.graph.checkpointer is None
    assert {"collect_notes", "embed_notes", "cluster_notes", "name_patterns"} <= set(module.graph.nodes)


def test_tiny_corpora_do_not_break_a_run(tmp_store, embedder) -> None:
    from oversight.mine.records import FailureNote
    from oversight.mine.storage import save_notes

    empty = mine(tmp_store, embedder=embedder)
    assert empty.patterns == [] and empty.run.notes == 0
    save_notes(tmp_store, [FailureNote(id="n1", text="The answer cites no source.", source="import")])
    one = mine(tmp_store, embedder=embedder)
    assert one.patterns == [] and [n.id for n in one.noise] == ["n1"]
    save_notes(tmp_store, [FailureNote(id=f"n{i}", text=t, source="import") for i, t in enumerate(
        ["The answer cites no source.", "No source is cited for the claim.", "Claims lack any citation."], 2)])
    few = mine(tmp_store, embedder=embedder)
    assert few.run.notes == 4 and few.run.patterns + few.run.noise >= 1


def test_runs_on_sqlite_and_postgres(store, ttcw_rows, embedder) -> None:
    """The same run against each database the store supports (PostgreSQL when configured)."""
    from oversight.mine.storage import load_notes

    seed_refinements(store, ttcw_rows[:40])
    first = mine(store, embedder=embedder)
    second = mine(store, embedder=embedder)
    assert first.patterns and [p.id for p in second.patterns] == [p.id for p in first.patterns]
    assert len(load_notes(store)) == first.run.notes
    assert current(store).run.id == second.run.id


class FlakyNamer(QueuedNamer):
    """Every second answer never fits the schema (what a tiny model sometimes does)."""

    async def structured(self, messages, schema, **params):
        from oversight.errors import StructuredOutputError

        self.calls.append(messages)
        if len(self.calls) % 2 == 0:
            raise StructuredOutputError("did not match PatternName even after one repair", raw="{")
        return PatternName(name=f"Failure kind {len(self.calls)}", description="d", criteria=["c"]), None


def test_an_unusable_name_falls_back_to_keywords_for_that_pattern(tmp_store, ttcw_rows, embedder) -> None:
    seed_refinements(tmp_store, ttcw_rows[:60])
    result = mine(tmp_store, names="llm", llm=FlakyNamer(), embedder=embedder)
    named_by = {p.named_by for p in result.patterns}
    assert named_by == {"llm:fake/namer", "keywords"}
    assert all(p.name for p in result.patterns)


def test_graph_names_with_a_given_llm_or_falls_back_without_a_model(tmp_path, ttcw_rows, embedder,
                                                                     monkeypatch) -> None:
    import oversight.runtime as runtime_module
    from oversight.errors import LocalModelError
    from oversight.mine.graph import build_mine_graph
    from oversight.store import Store

    db = str(tmp_path / "g.db")
    with Store.open(db) as store:
        seed_refinements(store, ttcw_rows[:40])
    named = build_mine_graph(llm=QueuedNamer(), embedder=embedder).compile().invoke({"db": db, "names": "llm"})
    assert all(p["name"].startswith("Failure kind ") for p in named["patterns"])

    def no_model(self) -> None:
        raise LocalModelError("the embedded model is not installed")

    monkeypatch.setattr(runtime_module.Runtime, "ensure_model", no_model)
    fallback = build_mine_graph(embedder=embedder).compile().invoke({"db": db, "names": "llm"})
    with Store.open(db) as store:
        assert current(store).run.id == fallback["run_id"] and current(store).run.names == "keywords"
