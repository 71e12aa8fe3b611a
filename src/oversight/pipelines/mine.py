"""The mine graph: collect_notes -> embed_notes -> cluster_notes -> name_patterns.

Nodes are module-level functions of (state, project), so each can be called and tested
without a graph; ``build_mine_graph`` binds them to a project. The state stays JSON
(counts, labels, summaries): vectors live in the store's embedding cache, so each node
re-reads what it needs and the graph runs under any checkpointer or none. It has no
human pause, so ``graphs/mine.py`` compiles it without one.

Blocking work (the store, scikit-learn) runs in worker threads, so the nodes can share
the event loop of LangGraph's server.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from oversight.mine.cluster import cluster_embeddings, clustering_from_labels
from oversight.mine.miner import collect_failure_notes, finish_run
from oversight.mine.naming import NAME_PROMPT
from oversight.mine.notes import llm_edit_explainer
from oversight.mine.represent import Representation, represent_notes
from oversight.pipelines._bind import LazyProject, ProjectSource, bind
from oversight.project import Project

if TYPE_CHECKING:

    from oversight.llm import LLM
    from oversight.schemas import FailureNote

__all__ = [
    "MineInput",
    "MineState",
    "build_mine_graph",
    "choose_namer",
    "cluster_notes",
    "collect_notes",
    "embed_notes",
    "name_patterns",
    "route_after_embed",
]


class MineInput(TypedDict, total=False):
    """What a caller gives: who names the patterns (default: keywords, no model)."""

    names: Literal["llm", "keywords"]


class MineState(MineInput, total=False):
    """A mining thread's state: plain JSON."""

    notes_added: int
    notes: int
    embedding_model: str
    labels: list[int]
    cluster_params: dict[str, Any]
    run_id: str
    names_used: Literal["llm", "keywords"]
    patterns: list[dict[str, Any]]
    noise: int


async def choose_namer(state: MineState, project: Project) -> LLM | None:
    """The namer when names are "llm" and its model can be called (the embedded one is started), else None."""
    names = state.get("names", "keywords")
    if names == "keywords":
        return None
    if names != "llm":
        raise ValueError(f"names must be 'llm' or 'keywords', got {names!r}")
    return project.namer if await project.model_available(project.namer) else None


# -- nodes ----------------------------------------------------------------------------------


async def collect_notes(state: MineState, project: Project) -> dict[str, Any]:
    """Turn new refinements into failure notes (the namer explains uncovered edits when it names)."""
    namer = await choose_namer(state, project)
    explain = None
    if namer is not None:
        explain = llm_edit_explainer(namer, await asyncio.to_thread(project.prompt, "edit_note"))
    return {"notes_added": await collect_failure_notes(project.store, explain_edits=explain)}


async def embed_notes(state: MineState, project: Project) -> dict[str, Any]:
    """Embed every note not yet in the cache."""
    notes, _ = await _notes_and_vectors(project)
    return {"notes": len(notes), "embedding_model": project.embedder.name}


def route_after_embed(state: MineState) -> Literal["cluster_notes", "__end__"]:
    """Cluster when there are notes; end at once when there are none."""
    count = state.get("notes")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return "cluster_notes" if count else "__end__"
    raise ValueError(f"route_after_embed: expected a count of notes, got {count!r}")


async def cluster_notes(state: MineState, project: Project) -> dict[str, Any]:
    """Cluster the note vectors; the labels go into the state."""
    _, (_, vectors) = await _notes_and_vectors(project)
    clustering = await asyncio.to_thread(cluster_embeddings, vectors)
    return {"labels": clustering.labels.tolist(), "cluster_params": clustering.params}


async def name_patterns(state: MineState, project: Project) -> dict[str, Any]:
    """Name (by the namer, else keywords), count and record the clustered notes as a mining run."""
    notes, (texts, vectors) = await _notes_and_vectors(project)
    clustering = await asyncio.to_thread(clustering_from_labels, vectors, state["labels"], state["cluster_params"])
    namer = await choose_namer(state, project)
    prompt = await asyncio.to_thread(project.prompt, NAME_PROMPT) if namer is not None else None
    result = await finish_run(
        project.store, notes, vectors, clustering, names="llm" if namer else "keywords", llm=namer,
        embedder_name=project.embedder.name, name_prompt=prompt, texts=texts,
    )
    return {
        "run_id": result.run.id,
        "names_used": result.run.names,
        "noise": result.run.noise,
        "patterns": [{"id": p.id, "name": p.name, "size": p.size, "prevalence": p.stats.prevalence}
                     for p in result.patterns],
    }


async def _notes_and_vectors(project: Project) -> tuple[list[FailureNote], Representation]:
    notes = await asyncio.to_thread(project.store.notes)
    return notes, await represent_notes(project.store, notes, project.embedder)


# -- the graph -------------------------------------------------------------------------------

def build_mine_graph(project: ProjectSource) -> Any:
    """The mine graph's builder (a StateGraph, not compiled).

    ``project`` is a Project or a function that returns one on first use.
    """
    from langgraph.graph import END, START, StateGraph

    lazy = LazyProject(project)
    builder = StateGraph(MineState, input_schema=MineInput)
    builder.add_node("collect_notes", bind(collect_notes, lazy))
    builder.add_node("embed_notes", bind(embed_notes, lazy))
    builder.add_node("cluster_notes", bind(cluster_notes, lazy))
    builder.add_node("name_patterns", bind(name_patterns, lazy))
    builder.add_edge(START, "collect_notes")
    builder.add_edge("collect_notes", "embed_notes")
    builder.add_conditional_edges("embed_notes", route_after_embed, ["cluster_notes", END])
    builder.add_edge("cluster_notes", "name_patterns")
    builder.add_edge("name_patterns", END)
    return builder
