"""Failure patterns: notes from refinements and critique files, clustered, named and counted.

    from oversight.embed import get_embedder
    from oversight.mine import load_note_file, mine, mine_project
    store.save_notes(load_note_file("critiques.jsonl", text_field="explanation", id_field="id"))
    result = await mine(store, names="keywords", embedder=get_embedder())  # inside your own async code
    # or with a Project's namer and embedder, as `oversight mine` does:
    # result = await mine_project(project, names="llm", top_level=8)
    for pattern in result.patterns:
        print(pattern.id, pattern.name, pattern.stats.prevalence)

Notes, patterns, runs and the embedding cache are kept by the Store (``store.save_notes``,
``store.notes``, ``store.patterns``, ...); ``note_vectors`` embeds through that cache.

Names resolve lazily so that ``import oversight.mine`` stays cheap (no numpy, sklearn or
onnxruntime until used).
"""

from __future__ import annotations

from oversight._lazy import lazy_exports

_EXPORTS = {
    "records": ("FailureNote", "Pattern", "PatternName", "PatternStats", "Representative", "Theme", "TrendPoint",
                "MiningRun"),
    "notes": ("notes_from_refinement", "llm_edit_explainer", "LLMEditExplainer"),
    "note_files": ("load_note_file",),
    "cluster": ("cluster_embeddings", "ClusterParams", "Clustering"),
    "naming": ("class_keywords",),
    "plain_names": ("plain_names",),
    "identity": ("match_patterns",),
    "stats": ("pattern_stats", "join_restatements"),
    "vectors": ("note_vectors",),
    "miner": ("mine", "collect_failure_notes", "finish_run", "current", "run_themes", "MiningResult"),
    "run": ("mine_project", "choose_models", "MiningModels"),
    "represent": ("represent_notes", "mask_notes", "centre_by_subject"),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = __dir__()
