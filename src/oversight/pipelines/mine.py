"""The mine graph: collect_notes -> embed_notes -> cluster_notes -> name_patterns.

Nodes are module-level functions of (state, runtime) that take the project from LangGraph's run
context (``PipelineContext``; the default project from the settings when a run brings none), so
each can be called and tested without a graph (``context.node_runtime``). The state stays JSON
(counts, labels, summaries): vectors live in the store's embedding cache, so each node
re-reads what it needs and the graph runs under any checkpointer or none. It has no
human pause, so ``graphs/mine.py`` compiles it without one.

A run mines as ``oversight mine`` does (``oversight.mine.run``): collect_notes takes the
database's mine lock and chooses the models once; every later node holds the lock through
the owner in the state, and the last one gives it up (any node does when it fails). A
node called alone holds the lock for itself.

Blocking work (the store, scikit-learn) runs in worker threads, so the nodes can share
the event loop of LangGraph's server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from oversight.mine.cluster import clustering_from_labels
from oversight.mine.lock import MineLockStep, take_mine_lock
from oversight.mine.miner import cluster_representation, collect_failure_notes, finish_run
from oversight.mine.represent import Representation, RepresentParams, represent_notes
from oversight.mine.run import MiningModels, check_request, choose_models, cluster_params, models_for
from oversight.pipelines.context import PipelineContext, project_of
from oversight.project import Project

if TYPE_CHECKING:
    from langgraph.runtime import Runtime

    from oversight.mine.abstract import NoteAbstractor
    from oversight.schemas import FailureNote

__all__ = [
    "MineInput",
    "MineState",
    "build_mine_graph",
    "cluster_notes",
    "collect_notes",
    "embed_notes",
    "name_patterns",
    "route_after_embed",
]


class MineInput(TypedDict, total=False):
    """What a caller gives, as `oversight mine`'s options: who names the patterns (default: keywords,
    no model), how many themes the first level has (default 10), whether the namer restates each
    note first, whether to wait for another run's lock (default: say so and stop)."""

    names: Literal["llm", "keywords"]
    top_level: int
    abstract: bool
    wait: bool


class MineState(MineInput, total=False):
    """A mining thread's state: plain JSON."""

    lock_owner: str
    abstracted: bool
    notes_added: int
    notes: int
    embedding_model: str
    labels: list[int]
    cluster_params: dict[str, Any]
    run_id: str
    names_used: Literal["llm", "keywords"]
    patterns: list[dict[str, Any]]
    noise: int


@asynccontextmanager
async def _holding_lock(state: MineState, project: Project, *, last: bool = False) -> AsyncIterator[MineLockStep]:
    """The run's lock for one node (taken for the node alone when the state names no owner)."""
    owner = state.get("lock_owner")
    if not owner:
        owner, last = await take_mine_lock(project.store, progress=project.announce), True
    async with MineLockStep(project.store, owner, last=last) as step:
        yield step


async def _models(state: MineState, project: Project, *, ask: bool = False) -> MiningModels:
    """The models collect_notes chose for this run (chosen now for a node called alone). Without
    ``ask`` the abstractor only reads what embed_notes kept, so every node sees the same texts."""
    if "names_used" in state:
        return await asyncio.to_thread(models_for, project, names=state["names_used"],
                                       abstract=bool(state.get("abstracted")), ask=ask)
    return await choose_models(project, names=state.get("names", "keywords"), abstract=bool(state.get("abstract")),
                               progress=project.announce)


# -- nodes ----------------------------------------------------------------------------------


async def collect_notes(state: MineState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Take the mine lock for the run, choose its models once, turn new refinements into failure notes
    (the namer explains uncovered edits when it names). Raises MiningInProgressError, ValueError."""
    project = await project_of(runtime)
    check_request(state.get("names", "keywords"), state.get("top_level"))
    owner = await take_mine_lock(project.store, wait=bool(state.get("wait")), progress=project.announce)
    async with MineLockStep(project.store, owner):
        models = await choose_models(project, names=state.get("names", "keywords"),
                                     abstract=bool(state.get("abstract")), progress=project.announce)
        added = await collect_failure_notes(project.store, explain_edits=models.explain_edits)
    return {"lock_owner": owner, "names_used": models.names, "abstracted": models.abstractor is not None,
            "notes_added": added}


async def embed_notes(state: MineState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Embed every note not yet in the cache (restated first when the run abstracts)."""
    project = await project_of(runtime)
    async with _holding_lock(state, project) as step:
        models = await _models(state, project, ask=True)  # the one node that pays for restatements
        notes, _ = await _notes_and_vectors(project, models.abstractor)
        step.last = step.last or not notes  # nothing to cluster: the run ends here
    return {"notes": len(notes), "embedding_model": project.embedder.name}


def route_after_embed(state: MineState) -> Literal["cluster_notes", "__end__"]:
    """Cluster when there are notes; end at once when there are none."""
    count = state.get("notes")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return "cluster_notes" if count else "__end__"
    raise ValueError(f"route_after_embed: expected a count of notes, got {count!r}")


async def cluster_notes(state: MineState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Cluster the note vectors; the labels go into the state."""
    project = await project_of(runtime)
    async with _holding_lock(state, project):
        models = await _models(state, project)
        _, (_, vectors) = await _notes_and_vectors(project, models.abstractor)
        clustering = await cluster_representation(vectors, cluster_params(state.get("top_level")),
                                                  represent=RepresentParams(), abstract=models.abstractor)
    return {"labels": clustering.labels.tolist(), "cluster_params": clustering.params}


async def name_patterns(state: MineState, runtime: Runtime[PipelineContext]) -> dict[str, Any]:
    """Name (by the namer, else keywords), count and record the clustered notes as a mining run;
    the run's lock is given up."""
    project = await project_of(runtime)
    async with _holding_lock(state, project, last=True):
        models = await _models(state, project)
        notes, (texts, vectors) = await _notes_and_vectors(project, models.abstractor)
        clustering = await asyncio.to_thread(clustering_from_labels, vectors, state["labels"], state["cluster_params"])
        result = await finish_run(
            project.store, notes, vectors, clustering, names=models.names, llm=models.namer,
            embedder_name=project.embedder.name, name_prompt=models.name_prompt, texts=texts,
        )
    return {
        "run_id": result.run.id,
        "names_used": result.run.names,
        "noise": result.run.noise,
        "patterns": [{"id": p.id, "name": p.name, "size": p.size, "prevalence": p.stats.prevalence}
                     for p in result.patterns],
    }


async def _notes_and_vectors(project: Project, abstract: NoteAbstractor | None) -> tuple[list[FailureNote],
                                                                                         Representation]:
    notes = await asyncio.to_thread(project.store.notes)
    return notes, await represent_notes(project.store, notes, project.embedder, abstract=abstract,
                                        params=RepresentParams())


# -- the graph -------------------------------------------------------------------------------

def build_mine_graph() -> Any:
    """The mine graph's builder (a StateGraph, not compiled); run it with ``context=PipelineContext(...)``."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(MineState, context_schema=PipelineContext, input_schema=MineInput)
    builder.add_node("collect_notes", collect_notes)
    builder.add_node("embed_notes", embed_notes)
    builder.add_node("cluster_notes", cluster_notes)
    builder.add_node("name_patterns", name_patterns)
    builder.add_edge(START, "collect_notes")
    builder.add_edge("collect_notes", "embed_notes")
    builder.add_conditional_edges("embed_notes", route_after_embed, ["cluster_notes", END])
    builder.add_edge("cluster_notes", "name_patterns")
    builder.add_edge("name_patterns", END)
    return builder
