"""The mine graph: each node alone on a small store, then the whole graph (keyword names, no model);
it mines as `oversight mine` does and holds the database's mine lock for the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.config import load_settings
from oversight.errors import LocalModelError, MiningInProgressError
from oversight.mine.lock import MINE_LOCK, release_mine_lock
from oversight.mine.miner import current
from oversight.mine.run import mine_project
from oversight.pipelines.context import PipelineContext, node_runtime
from oversight.pipelines.mine import (
    build_mine_graph,
    cluster_notes,
    collect_notes,
    embed_notes,
    name_patterns,
    route_after_embed,
)
from oversight.project import Project
from oversight.store import Store
from tests.mine.conftest import (  # noqa: F401  (fixtures)
    MissingNamer,
    QueuedNamer,
    embedder,
    seed_refinements,
    ttcw_rows,
)

ROOT = Path(__file__).resolve().parents[2]
ELSEWHERE = "other-host/4242/lock_x"  # a mine run on another machine: alive as far as we can tell

class _WithProject:
    """A compiled mine graph that runs in the context of one project, as the library runs it."""

    def __init__(self, graph: Any, project: Project) -> None:
        self.graph, self.project = graph, project

    async def ainvoke(self, value: Any, **kwargs: Any) -> Any:
        return await self.graph.ainvoke(value, context=PipelineContext(project=self.project), **kwargs)


def _graph(project: Project) -> _WithProject:
    return _WithProject(build_mine_graph().compile(), project)



@pytest.fixture
def project(tmp_path: Path, embedder: Any) -> Iterator[Project]:  # noqa: F811
    """A project on a fresh database; its embedder is the session's memoised MiniLM (same name, same vectors)."""
    with Project.open(load_settings(db=str(tmp_path / "mine.db"))) as opened:
        opened._embedder = embedder
        yield opened


async def test_each_node_runs_alone(project: Project, ttcw_rows: Any) -> None:  # noqa: F811
    seed_refinements(project.store, ttcw_rows[:40])
    state: dict[str, Any] = {"names": "keywords"}
    state |= await collect_notes(state, node_runtime(project))
    assert state["notes_added"] > 0 and state["names_used"] == "keywords" and state["abstracted"] is False
    assert project.store.lock_holder(MINE_LOCK).owner == state["lock_owner"]  # taken for the run's later nodes

    state |= await embed_notes(state, node_runtime(project))
    assert state["notes"] == state["notes_added"] and state["embedding_model"] == project.embedder.name
    assert route_after_embed(state) == "cluster_notes"

    state |= await cluster_notes(state, node_runtime(project))
    assert len(state["labels"]) == state["notes"] and max(state["labels"]) >= 1
    assert state["cluster_params"]["method"].startswith("agglomerative")

    state |= await name_patterns(state, node_runtime(project))
    stored = current(project.store)
    assert stored is not None and stored.run.id == state["run_id"] and state["names_used"] == "keywords"
    assert [p.id for p in stored.patterns] == [p["id"] for p in state["patterns"]]
    assert sum(p["size"] for p in state["patterns"]) + state["noise"] == state["notes"]
    assert project.store.lock_holder(MINE_LOCK) is None  # the last node gave it up

    again = await collect_notes({"names": "keywords"}, node_runtime(project))
    assert again["notes_added"] == 0 and again["lock_owner"] != state["lock_owner"]  # each refinement once
    with pytest.raises(MiningInProgressError):  # the run it started holds the lock until its last node
        await embed_notes({}, node_runtime(project))
    await release_mine_lock(project.store, again["lock_owner"])
    assert (await embed_notes({}, node_runtime(project)))["notes"] == state["notes"]  # a node alone holds the lock for itself
    assert project.store.lock_holder(MINE_LOCK) is None


def test_routing_after_embedding() -> None:
    assert route_after_embed({"notes": 0}) == "__end__"
    assert route_after_embed({"notes": 12}) == "cluster_notes"
    for bad in ({}, {"notes": "12"}, {"notes": -1}, {"notes": True}):
        with pytest.raises(ValueError, match="route_after_embed"):
            route_after_embed(bad)  # type: ignore[arg-type]


async def test_the_whole_graph_runs_once_with_keyword_names(project: Project, ttcw_rows: Any) -> None:  # noqa: F811
    seed_refinements(project.store, ttcw_rows[:40])
    out = await _graph(project).ainvoke({"names": "keywords"})
    assert out["notes_added"] > 0 and out["notes"] == out["notes_added"]
    assert out["patterns"] and out["run_id"].startswith("run_") and out["names_used"] == "keywords"
    stored = current(project.store)
    assert stored is not None and [p.id for p in stored.patterns] == [p["id"] for p in out["patterns"]]
    assert all(p.named_by == "keywords" for p in stored.patterns)


async def test_the_graph_names_with_the_namer_or_falls_back_to_keywords(project: Project,
                                                                       ttcw_rows: Any) -> None:  # noqa: F811
    seed_refinements(project.store, ttcw_rows[:40])
    project.namer = QueuedNamer()  # type: ignore[assignment]
    named = await _graph(project).ainvoke({"names": "llm"})
    assert named["names_used"] == "llm" and all(p["name"].startswith("Craft lapse ") for p in named["patterns"])

    project.announce = lambda _message: None
    project.namer = MissingNamer()  # type: ignore[assignment]
    fallback = await _graph(project).ainvoke({"names": "llm"})
    run = current(project.store).run  # type: ignore[union-attr]
    assert run.id == fallback["run_id"] and run.names == "keywords" and fallback["names_used"] == "keywords"


async def test_an_empty_store_ends_after_embedding(project: Project) -> None:
    out = await _graph(project).ainvoke({})
    assert out["notes"] == 0 and "labels" not in out and "patterns" not in out
    assert current(project.store) is None


async def test_runs_without_a_project_open_the_default_one_on_first_use_and_once(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """LangGraph's server brings no project: the default one (from the settings) is opened by the
    first node that needs it, once; a context of unknown keys is no project either."""
    from oversight.pipelines import context

    opened: list[Project] = []

    def open_default() -> Project:
        opened.append(project)
        return project

    monkeypatch.setattr(context, "_open_default", open_default)
    monkeypatch.setattr(context, "_default", None)
    graph = build_mine_graph().compile()
    assert opened == []  # building the graph opens nothing
    first = await graph.ainvoke({"names": "keywords"})
    second = await graph.ainvoke({"names": "keywords"}, context={"thread_id": "t", "model": "x"})
    assert opened == [project] and [o["notes"] for o in (first, second)] == [0, 0]


# -- the graph mines as `oversight mine` does ---------------------------------------------------


def _mined(store: Any) -> tuple[Any, ...]:
    """A run as a reader sees it, whoever ran it: patterns, themes and the run's parameters (ids aside)."""
    result = current(store)
    assert result is not None
    name = {p.id: p.name for p in result.patterns}
    return (sorted((p.name, sorted(p.member_ids), p.named_by) for p in result.patterns),
            sorted((t["name"], t["size"], sorted(name[i] for i in t["pattern_ids"])) for t in result.themes),
            {key: value for key, value in result.run.params.items() if key != "themes"})


def test_the_graph_and_the_cli_give_the_same_patterns(tmp_path: Path, embedder: Any,  # noqa: F811
                                                      ttcw_rows: Any) -> None:  # noqa: F811
    import asyncio

    for name in ("cli.db", "graph.db"):
        with Store.open(tmp_path / name) as store:
            seed_refinements(store, ttcw_rows[:40])
    ran = CliRunner().invoke(cli, ["--db", str(tmp_path / "cli.db"), "mine", "--names", "keywords",
                                   "--top-level", "3", "--json"])
    assert ran.exit_code == 0, ran.output
    with Project.open(load_settings(db=str(tmp_path / "graph.db"))) as project:
        project._embedder = embedder  # the same MiniLM the CLI loads, its vectors remembered
        out = asyncio.run(_graph(project).ainvoke({"names": "keywords", "top_level": 3}))
        by_graph = _mined(project.store)
    with Store.open(tmp_path / "cli.db") as store:
        by_cli = _mined(store)
    assert by_graph == by_cli
    assert json.loads(ran.stdout)["themes"] == len(by_graph[1]) == 3 and len(out["patterns"]) == len(by_graph[0])


async def test_abstract_and_top_level_reach_the_graph(tmp_path: Path, embedder: Any,  # noqa: F811
                                                      ttcw_rows: Any) -> None:  # noqa: F811
    runs = {}
    for how in ("door", "graph"):
        with Project.open(load_settings(db=str(tmp_path / f"{how}.db"))) as project:
            project._embedder = embedder
            namer = project.namer = QueuedNamer()  # type: ignore[assignment]
            seed_refinements(project.store, ttcw_rows[:40])
            if how == "door":
                await mine_project(project, names="keywords", top_level=3, abstract=True)
            else:
                out = await _graph(project).ainvoke(
                    {"names": "keywords", "top_level": 3, "abstract": True})
                assert out["abstracted"] and out["names_used"] == "keywords"
            runs[how] = (_mined(project.store), namer.restated, namer.calls)
    assert runs["graph"] == runs["door"]
    (patterns, themes, params), restated, named = runs["graph"]
    assert patterns and params["abstracted_by"].startswith("fake/namer@") and len(themes) == 3
    assert restated > 0 and named == 0  # each note asked once, blank answers too: later nodes only read the store


@pytest.fixture
def shared_project(store_url: str, embedder: Any) -> Iterator[Project]:  # noqa: F811
    """A project on SQLite and (when configured) PostgreSQL."""
    with Project.open(load_settings(db=store_url)) as opened:
        opened._embedder = embedder
        yield opened


class LockWatcher(QueuedNamer):
    """A namer that, as the graph's last node names, notes who holds the mine lock and starts a second run."""

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        self.holders: list[str] = []
        self.second: list[str] = []

    async def structured(self, messages: Any, schema: Any, **params: Any) -> Any:
        self.holders.append(self.project.store.lock_holder(MINE_LOCK).owner)
        if not self.second:
            with pytest.raises(MiningInProgressError) as caught:
                await _graph(self.project).ainvoke({"names": "keywords"})
            self.second.append(str(caught.value))
        return await super().structured(messages, schema, **params)


async def test_the_graph_holds_the_mine_lock_for_the_run(shared_project: Project, ttcw_rows: Any) -> None:  # noqa: F811
    project = shared_project
    seed_refinements(project.store, ttcw_rows[:40])
    project.store.take_lock(MINE_LOCK, ELSEWHERE, lease_seconds=600)
    graph = _graph(project)
    with pytest.raises(MiningInProgressError, match=r"^another mine run is in progress \(started .* by pid 4242 on other"):
        await graph.ainvoke({"names": "keywords"})
    assert project.store.count("failure_notes") == 0  # nothing paid for or written
    project.store.release_lock(MINE_LOCK, ELSEWHERE)

    watcher = project.namer = LockWatcher(project)  # type: ignore[assignment]
    out = await graph.ainvoke({"names": "llm"})
    assert watcher.holders and set(watcher.holders) == {out["lock_owner"]}  # this run's, in its last node
    assert watcher.second[0].startswith("another mine run is in progress (started ")
    assert project.store.lock_holder(MINE_LOCK) is None and current(project.store).run.id == out["run_id"]


class BrokenEmbedder:
    name = "broken"

    async def embed(self, texts: Any) -> Any:
        raise LocalModelError("the embedding model went away")


async def test_a_failing_node_gives_the_lock_up(project: Project, ttcw_rows: Any) -> None:  # noqa: F811
    seed_refinements(project.store, ttcw_rows[:10])
    project._embedder = BrokenEmbedder()  # type: ignore[assignment]
    with pytest.raises(LocalModelError):
        await _graph(project).ainvoke({"names": "keywords"})
    assert project.store.count("failure_notes") > 0 and project.store.lock_holder(MINE_LOCK) is None


async def test_with_wait_the_graph_waits_for_the_run_in_progress(project: Project, ttcw_rows: Any,  # noqa: F811
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import oversight.mine.lock as lock

    monkeypatch.setattr(lock, "POLL_SECONDS", 0)  # the holder below ends before the first look again
    seed_refinements(project.store, ttcw_rows[:40])
    project.store.take_lock(MINE_LOCK, ELSEWHERE, lease_seconds=600)
    said: list[str] = []

    def announce(message: str) -> None:
        said.append(message)
        project.store.release_lock(MINE_LOCK, ELSEWHERE)  # the other run ends while we wait

    project.announce = announce
    out = await _graph(project).ainvoke({"names": "keywords", "wait": True})
    assert out["patterns"] and said == [said[0]] and said[0].startswith("waiting for the mine run in progress")


@pytest.mark.parametrize(("given", "message"), [({"names": "clio"}, "'llm' or 'keywords', got 'clio'"),
                                                ({"top_level": 0}, "top_level .* got 0"),
                                                ({"top_level": "3"}, "top_level .* got '3'")])
async def test_bad_inputs_are_refused_before_the_lock(project: Project, given: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await _graph(project).ainvoke(given)
    assert project.store.lock_holder(MINE_LOCK) is None


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
