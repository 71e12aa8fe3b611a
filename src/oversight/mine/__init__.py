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

_WHERE = {
    "FailureNote": "records",
    "Pattern": "records",
    "PatternName": "records",
    "PatternStats": "records",
    "Representative": "records",
    "Theme": "records",
    "TrendPoint": "records",
    "MiningRun": "records",
    "notes_from_refinement": "notes",
    "load_note_file": "note_files",
    "cluster_embeddings": "cluster",
    "ClusterParams": "cluster",
    "Clustering": "cluster",
    "class_keywords": "naming",
    "plain_names": "plain_names",
    "match_patterns": "identity",
    "pattern_stats": "stats",
    "join_restatements": "stats",
    "note_vectors": "vectors",
    "mine": "miner",
    "collect_failure_notes": "miner",
    "finish_run": "miner",
    "current": "miner",
    "run_themes": "miner",
    "llm_edit_explainer": "notes",
    "LLMEditExplainer": "notes",
    "MiningResult": "miner",
    "mine_project": "run",
    "choose_models": "run",
    "MiningModels": "run",
    "represent_notes": "represent",
    "mask_notes": "represent",
    "centre_by_subject": "represent",
}


__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
