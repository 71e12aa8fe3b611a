"""The whole run: stable pattern ids across runs, statistics, the LLM naming path.

The graph that wires the same steps is tested in tests/pipelines/test_mine_graph.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from oversight.mine.identity import Previous, match_patterns
from oversight.mine.miner import current, mine
from oversight.schemas import PatternName
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


async def test_a_rerun_after_new_refinements_keeps_pattern_ids_and_history(tmp_store, ttcw_rows, embedder) -> None:
    seed_refinements(tmp_store, ttcw_rows[:90])
    first = await mine(tmp_store, names="keywords", embedder=embedder)
    assert first.patterns and first.run.matched == 0
    again = await mine(tmp_store, names="keywords", embedder=embedder)  # nothing new: the same patterns, the same ids
    assert [p.id for p in again.patterns] == [p.id for p in first.patterns]
    assert [set(p.member_ids) for p in again.patterns] == [set(p.member_ids) for p in first.patterns]

    more = [dict(r, id=r["id"] + "-late") for r in ttcw_rows[90:]]
    seed_refinements(tmp_store, more, start=datetime(2026, 11, 20, tzinfo=UTC), prefix="late-")
    later = await mine(tmp_store, names="keywords", embedder=embedder)
    old_ids = {p.id for p in first.patterns}
    kept = [p for p in later.patterns if p.id in old_ids]
    assert len(kept) >= 0.7 * len(first.patterns)
    for pattern in kept:
        assert len(pattern.history) == 3 and pattern.history[0]["run_id"] == first.run.id
    assert later.run.notes > first.run.notes and later.run.matched == len(kept)
    stored = {p.id for p in tmp_store.patterns(include_retired=True)}
    assert old_ids <= stored  # retired patterns keep their history


async def test_statistics_of_a_pattern(tmp_store, ttcw_rows, embedder) -> None:
    seed_refinements(tmp_store, ttcw_rows[:60], models=("model-a", "model-b", "model-c"))
    result = await mine(tmp_store, names="keywords", embedder=embedder)
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
    prepare = None  # nothing to start: Project.model_available says yes at once

    def __init__(self) -> None:
        self.calls: list[list[dict]] = []

    async def structured(self, messages, schema, **params):
        self.calls.append(messages)
        return PatternName(name=f"Craft lapse {len(self.calls)}", description="d", criteria=["c"]), None


async def test_llm_naming_path_and_names_kept_for_continued_patterns(tmp_store, ttcw_rows, embedder) -> None:
    seed_refinements(tmp_store, ttcw_rows[:60])
    namer = QueuedNamer()
    result = await mine(tmp_store, names="llm", llm=namer, embedder=embedder)
    assert len(namer.calls) == len(result.patterns)
    assert all(p.named_by == "llm:fake/namer" and p.name.startswith("Craft lapse ") for p in result.patterns)
    rerun = await mine(tmp_store, names="llm", llm=namer, embedder=embedder)
    assert len(namer.calls) == len(result.patterns)  # same patterns, same sizes: no new calls
    assert {p.id: p.name for p in rerun.patterns} == {p.id: p.name for p in result.patterns}


async def test_tiny_corpora_do_not_break_a_run(tmp_store, embedder) -> None:
    from oversight.schemas import FailureNote

    empty = await mine(tmp_store, names="keywords", embedder=embedder)
    assert empty.patterns == [] and empty.run.notes == 0
    tmp_store.save_notes([FailureNote(id="n1", text="The answer cites no source.", source="import")])
    one = await mine(tmp_store, names="keywords", embedder=embedder)
    assert one.patterns == [] and [n.id for n in one.noise] == ["n1"]
    tmp_store.save_notes([FailureNote(id=f"n{i}", text=t, source="import") for i, t in enumerate(
        ["The answer cites no source.", "No source is cited for the claim.", "Claims lack any citation."], 2)])
    few = await mine(tmp_store, names="keywords", embedder=embedder)
    assert few.run.notes == 4 and few.run.patterns + few.run.noise >= 1


async def test_runs_on_sqlite_and_postgres(store, ttcw_rows, embedder) -> None:
    """The same run against each database the store supports (PostgreSQL when configured)."""
    seed_refinements(store, ttcw_rows[:40])
    first = await mine(store, names="keywords", embedder=embedder)
    second = await mine(store, names="keywords", embedder=embedder)
    assert first.patterns and [p.id for p in second.patterns] == [p.id for p in first.patterns]
    assert len(store.notes()) == first.run.notes
    assert current(store).run.id == second.run.id


class FlakyNamer(QueuedNamer):
    """Every second answer never fits the schema (what a tiny model sometimes does)."""

    async def structured(self, messages, schema, **params):
        from oversight.errors import StructuredOutputError

        self.calls.append(messages)
        if len(self.calls) % 2 == 0:
            raise StructuredOutputError("did not match PatternName even after one repair", raw="{")
        return PatternName(name=f"Craft lapse {len(self.calls)}", description="d", criteria=["c"]), None


async def test_an_unusable_name_falls_back_to_keywords_for_that_pattern(tmp_store, ttcw_rows, embedder) -> None:
    seed_refinements(tmp_store, ttcw_rows[:60])
    result = await mine(tmp_store, names="llm", llm=FlakyNamer(), embedder=embedder)
    named_by = {p.named_by for p in result.patterns}
    assert named_by == {"llm:fake/namer", "keywords"}
    assert all(p.name for p in result.patterns)


def test_theme_ids_follow_their_patterns() -> None:
    from oversight.mine.themes import theme_ids

    previous = [{"id": "theme-2", "pattern_ids": ["p_a", "p_b"]}, {"id": "theme-5", "pattern_ids": ["p_x"]}]
    groups = [frozenset({"p_d"}), frozenset({"p_a", "p_b", "p_c"})]
    # the group sharing two of three patterns continues theme-2; the new one takes the first free number
    assert theme_ids(groups, previous) == ["theme-1", "theme-2"]
    assert theme_ids(groups, []) == ["theme-1", "theme-2"]
    assert theme_ids([frozenset({"p_x"}), frozenset({"p_a"})], previous) == ["theme-5", "theme-2"]


async def test_the_first_level_has_the_asked_number_of_themes_and_keeps_their_ids(tmp_store, ttcw_rows,
                                                                                 embedder) -> None:
    from oversight.mine.cluster import ClusterParams

    seed_refinements(tmp_store, ttcw_rows[:90])
    first = await mine(tmp_store, names="keywords", embedder=embedder, params=ClusterParams(top_level=3))
    assert len(first.patterns) > 3 and len(first.themes) == 3
    assert sorted(p for t in first.themes for p in t["pattern_ids"]) == sorted(p.id for p in first.patterns)
    again = await mine(tmp_store, names="keywords", embedder=embedder, params=ClusterParams(top_level=3))
    assert [(t["id"], sorted(t["pattern_ids"])) for t in again.themes] == [
        (t["id"], sorted(t["pattern_ids"])) for t in first.themes]
    assert {p.id: p.theme_id for p in again.patterns} == {p.id: p.theme_id for p in first.patterns}


async def test_a_theme_no_pattern_leads_is_named_by_a_phrase_of_its_own_notes(tmp_store, ttcw_rows, embedder) -> None:
    """Keywords ("felt · piece · ends") make a lead guess: a theme whose largest pattern holds less than half
    its notes is named like a pattern of all of them, by the note nearest its centre cut to a short phrase."""
    from oversight.mine.cluster import ClusterParams

    seed_refinements(tmp_store, ttcw_rows[:120])
    result = await mine(tmp_store, names="keywords", embedder=embedder, params=ClusterParams(top_level=4))
    by_id = {p.id: p for p in result.patterns}
    texts = {n.id: n.text for n in tmp_store.notes()}
    unled = [t for t in result.themes
             if len(t["pattern_ids"]) > 1 and 2 * max(by_id[p].size for p in t["pattern_ids"]) < t["size"]]
    phrased = [t for t in unled if " · " not in t["name"]]
    assert phrased, [t["name"] for t in unled]
    for theme in phrased:
        said = theme["name"].removesuffix(" …")
        members = [texts[m] for p in theme["pattern_ids"] for m in by_id[p].member_ids]
        assert any(" ".join(text.split()).startswith(said) for text in members), theme["name"]


class SubjectNamer(QueuedNamer):
    """Names every pattern after a word that only one task's notes use (what a small model does)."""

    def __init__(self, word: str) -> None:
        super().__init__()
        self.word = word

    async def structured(self, messages, schema, **params):
        self.calls.append(messages)
        return PatternName(name=f"Problems with the {self.word} part", description="d", criteria=["c"]), None


async def test_an_llm_name_about_one_subject_falls_back_to_keywords(tmp_store, ttcw_rows, embedder) -> None:
    from oversight.mine.represent import single_subject_words

    seed_refinements(tmp_store, ttcw_rows[:60])
    result = await mine(tmp_store, names="llm", llm=SubjectNamer("failure"), embedder=embedder)
    notes = tmp_store.notes()
    assert "failure" in single_subject_words([n.text for n in notes], [n.subject for n in notes])
    assert result.patterns and {p.named_by for p in result.patterns} == {"keywords"}
    assert not any("failure" in p.name for p in result.patterns)


def test_centroids_of_another_width_are_not_compared() -> None:
    """A store mined before the representation changed holds narrower centroids: members still match."""
    old = [Previous("p_a", frozenset({"1", "2"}), np.ones(4, dtype=np.float32) / 2)]
    wide = np.ones((2, 6), dtype=np.float32) / np.sqrt(6)
    assert match_patterns(old, [frozenset({"1", "2", "3"}), frozenset({"9"})], wide) == ["p_a", None]
