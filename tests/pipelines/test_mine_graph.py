"""The mine graph: each node alone on a small store, then the whole graph once (keyword names, no model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight.config import load_settings
from oversight.errors import LocalModelError
from oversight.mine.miner import current
from oversight.pipelines.mine import (
    build_mine_graph,
    choose_namer,
    cluster_notes,
    collect_notes,
    embed_notes,
    name_patterns,
    route_after_embed,
)
from oversight.project import Project
from oversight.schemas import PatternName
from tests.mine.conftest import embedder, seed_refinements, ttcw_rows  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, embedder: Any) -> Iterator[Project]:  # noqa: F811
    """A project on a fresh database; its embedder is the session's memoised MiniLM (same name, same vectors)."""
    with Project.open(load_settings(db=str(tmp_path / "mine.db"))) as opened:
        opened._embedder = embedder
        yield opened


class QueuedNamer:
    """A stand-in namer (the wire is covered by the cassette tests in tests/mine)."""

    model = "fake/namer"
    prepare = None  # nothing to start: the project can call it at once

    def __init__(self) -> None:
        self.calls = 0

    async def structured(self, messages: Any, schema: Any, **params: Any) -> Any:
        self.calls += 1
        return PatternName(name=f"Craft lapse {self.calls}", description="d", criteria=["c"]), None


class MissingNamer(QueuedNamer):
    """A namer whose model cannot start (the embedded model not installed)."""

    async def prepare(self) -> None:  # type: ignore[override]
        raise LocalModelError("the embedded model is not installed")


async def test_each_node_runs_alone(project: Project, ttcw_rows: Any) -> None:  # noqa: F811
    seed_refinements(project.store, ttcw_rows[:40])
    state: dict[str, Any] = {"names": "keywords"}
    state |= await collect_notes(state, project)
    assert state["notes_added"] > 0
    assert (await collect_notes(state, project))["notes_added"] == 0  # each refinement once

    state |= await embed_notes(state, project)
    assert state["notes"] == state["notes_added"] and state["embedding_model"] == project.embedder.name
    assert route_after_embed(state) == "cluster_notes"

    state |= await cluster_notes(state, project)
    assert len(state["labels"]) == state["notes"] and max(state["labels"]) >= 1
    assert state["cluster_params"]["method"].startswith("agglomerative")

    state |= await name_patterns(state, project)
    stored = current(project.store)
    assert stored is not None and stored.run.id == state["run_id"] and state["names_used"] == "keywords"
    assert [p.id for p in stored.patterns] == [p["id"] for p in state["patterns"]]
    assert sum(p["size"] for p in state["patterns"]) + state["noise"] == state["notes"]


def test_routing_after_embedding() -> None:
    assert route_after_embed({"notes": 0}) == "__end__"
    assert route_after_embed({"notes": 12}) == "cluster_notes"
    for bad in ({}, {"notes": "12"}, {"notes": -1}, {"notes": True}):
        with pytest.raises(ValueError, match="route_after_embed"):
            route_after_embed(bad)  # type: ignore[arg-type]


async def test_the_namer_is_chosen_only_when_asked_and_available(project: Project) -> None:
    project.namer = QueuedNamer()  # type: ignore[assignment]
    assert await choose_namer({}, project) is None  # keywords by default: no model
    assert await choose_namer({"names": "llm"}, project) is project.namer
    said: list[str] = []
    project.announce = said.append
    project.namer = MissingNamer()  # type: ignore[assignment]
    assert await choose_namer({"names": "llm"}, project) is None and "not installed" in said[0]
    with pytest.raises(ValueError, match="'llm' or 'keywords'"):
        await choose_namer({"names": "clio"}, project)  # type: ignore[typeddict-item]


async def test_the_whole_graph_runs_once_with_keyword_names(project: Project, ttcw_rows: Any) -> None:  # noqa: F811
    seed_refinements(project.store, ttcw_rows[:40])
    out = await build_mine_graph(project).compile().ainvoke({"names": "keywords"})
    assert out["notes_added"] > 0 and out["notes"] == out["notes_added"]
    assert out["patterns"] and out["run_id"].startswith("run_") and out["names_used"] == "keywords"
    stored = current(project.store)
    assert stored is not None and [p.id for p in stored.patterns] == [p["id"] for p in out["patterns"]]
    assert all(p.named_by == "keywords" for p in stored.patterns)


async def test_the_graph_names_with_the_namer_or_falls_back_to_keywords(project: Project,
                                                                       ttcw_rows: Any) -> None:  # noqa: F811
    seed_refinements(project.store, ttcw_rows[:40])
    project.namer = QueuedNamer()  # type: ignore[assignment]
    named = await build_mine_graph(project).compile().ainvoke({"names": "llm"})
    assert named["names_used"] == "llm" and all(p["name"].startswith("Craft lapse ") for p in named["patterns"])

    project.announce = lambda _message: None
    project.namer = MissingNamer()  # type: ignore[assignment]
    fallback = await build_mine_graph(project).compile().ainvoke({"names": "llm"})
    run = current(project.store).run  # type: ignore[union-attr]
    assert run.id == fallback["run_id"] and run.names == "keywords" and fallback["names_used"] == "keywords"


async def test_an_empty_store_ends_after_embedding(project: Project) -> None:
    out = await build_mine_graph(project).compile().ainvoke({})
    assert out["notes"] == 0 and "labels" not in out and "patterns" not in out
    assert current(project.store) is None


async def test_the_project_is_opened_on_first_use_and_once(project: Project) -> None:
    opened: list[Project] = []

    def open_project() -> Project:
        opened.append(project)
        return project

    graph = build_mine_graph(open_project).compile()
    assert opened == []  # building the graph opens nothing
    await graph.ainvoke({"names": "keywords"})
    assert opened == [project]


def test_graphs_entry_module_exports_a_compiled_graph_and_opens_no_database(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    db = tmp_path / "never.db"
    monkeypatch.setenv("OVERSIGHT_DB", str(db))
    spec = importlib.util.spec_from_file_location("graphs_mine", ROOT / "graphs" / "mine.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    assert module.graph.checkpointer is None and module.graph.name == "mine"
    assert {"collect_notes", "embed_notes", "cluster_notes", "name_patterns"} <= set(module.graph.nodes)
    assert not db.exists()
