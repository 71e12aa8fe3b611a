"""The `mine` LangGraph graph: collect_notes -> embed_notes -> cluster_notes -> name_patterns.

The state stays JSON (counts, labels, summaries): vectors live in the store's embedding
cache, so each node re-reads what it needs and the graph runs under any checkpointer or
none. It has no human pause, so ``graphs/mine.py`` compiles it without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.mine.embed import Embedder

__all__ = ["MineInput", "MineState", "build_mine_graph"]


class MineInput(TypedDict, total=False):
    """What a caller gives: the database (default: settings) and who names patterns."""

    db: str
    names: Literal["llm", "keywords"]


class MineState(MineInput, total=False):
    notes_added: int
    notes: int
    embedding_model: str
    labels: list[int]
    cluster_params: dict[str, Any]
    run_id: str
    patterns: list[dict[str, Any]]
    noise: int


def build_mine_graph(*, llm: LLM | None = None, embedder: Embedder | None = None) -> Any:
    """The mine graph's builder (a StateGraph, not compiled).

    ``llm`` names patterns when ``names`` is "llm"; without one, the configured model is
    used, and with no model at all the names fall back to keywords.
    """
    from langgraph.graph import END, START, StateGraph

    from oversight.config import load_settings
    from oversight.store import Store

    def open_store(state: MineState) -> Store:
        return Store.open(state.get("db") or load_settings().db)

    def collect_notes(state: MineState) -> dict[str, Any]:
        from oversight.mine.miner import collect_notes as collect

        with open_store(state) as store:
            return {"notes_added": collect(store)}

    def embed_notes(state: MineState) -> dict[str, Any]:
        from oversight.mine.embed import get_embedder
        from oversight.mine.storage import embed_notes as embed
        from oversight.mine.storage import load_notes

        chosen = embedder or get_embedder()
        with open_store(state) as store:
            notes = load_notes(store)
            embed(store, [n.text for n in notes], chosen)
        return {"notes": len(notes), "embedding_model": chosen.name}

    def route_after_embed(state: MineState) -> Literal["cluster_notes", "__end__"]:
        return "cluster_notes" if state.get("notes") else "__end__"

    def cluster_notes(state: MineState) -> dict[str, Any]:
        from oversight.mine.cluster import cluster_embeddings

        with open_store(state) as store:
            _, vectors = _notes_and_vectors(store, state, embedder)
        clustering = cluster_embeddings(vectors)
        return {"labels": clustering.labels.tolist(), "cluster_params": clustering.params}

    def name_patterns(state: MineState) -> dict[str, Any]:
        from contextlib import nullcontext

        from oversight.mine.miner import finish_run
        from oversight.mine.run import settings_llm

        names = state.get("names", "keywords")
        if names != "llm":
            namer: Any = nullcontext(None)
        elif llm is not None:
            namer = nullcontext(llm)
        else:
            namer = settings_llm(load_settings(db=state.get("db") or None))
        with open_store(state) as store, namer as chosen:
            notes, vectors = _notes_and_vectors(store, state, embedder)
            clustering = _rebuild(vectors, state["labels"], state["cluster_params"])
            result = finish_run(store, notes, vectors, clustering, names="llm" if chosen else "keywords",
                                llm=chosen, embedder_name=state["embedding_model"])
        return {
            "run_id": result.run.id,
            "noise": result.run.noise,
            "patterns": [{"id": p.id, "name": p.name, "size": p.size, "prevalence": p.stats.prevalence}
                         for p in result.patterns],
        }

    builder = StateGraph(MineState, input_schema=MineInput)
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


def _notes_and_vectors(store: Any, state: MineState, embedder: Any) -> tuple[list[Any], Any]:
    from oversight.mine.embed import get_embedder
    from oversight.mine.storage import embed_notes, load_notes

    notes = load_notes(store)
    chosen = embedder or get_embedder(state.get("embedding_model") or None)
    return notes, embed_notes(store, [n.text for n in notes], chosen)


def _rebuild(vectors: Any, labels: list[int], params: dict[str, Any]) -> Any:
    """The Clustering of the cluster node, from its JSON labels (centroids and themes recomputed)."""
    import numpy as np

    from oversight.mine.cluster import Clustering, ClusterParams, centroid, group_themes

    array = np.asarray(labels, dtype=np.int64)
    k = int(array.max()) + 1 if len(array) else 0
    centroids = np.array([centroid(vectors[array == c]) for c in range(k)], dtype=np.float32).reshape(k, -1)
    sizes = np.bincount(array[array >= 0], minlength=k)
    known = {f: params[f] for f in ClusterParams._fields if f in params}
    themes = group_themes(centroids, sizes, ClusterParams(**known))
    return Clustering(array, centroids, themes, params)
