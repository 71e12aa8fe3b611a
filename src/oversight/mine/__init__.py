"""Failure patterns: notes from refinements and critique files, clustered, named and counted.

    from oversight.mine import mine, load_note_file, save_notes
    save_notes(store, load_note_file("critiques.jsonl", text_field="explanation", id_field="id"))
    result = mine(store, names="keywords")
    for pattern in result.patterns:
        print(pattern.id, pattern.name, pattern.stats.prevalence)

Names resolve lazily so that ``import oversight.mine`` stays cheap (no numpy, sklearn or
onnxruntime until used).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "ClusterParams",
    "Clustering",
    "FailureNote",
    "LiteLLMEmbedder",
    "MiniLMEmbedder",
    "MiningResult",
    "MiningRun",
    "Pattern",
    "PatternName",
    "PatternStats",
    "Representative",
    "Theme",
    "TrendPoint",
    "class_keywords",
    "cluster_embeddings",
    "collect_notes",
    "current",
    "embed_notes",
    "get_embedder",
    "llm_edit_explainer",
    "load_note_file",
    "load_notes",
    "load_patterns",
    "match_patterns",
    "mine",
    "notes_from_refinement",
    "pattern_stats",
    "save_notes",
]

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
    "load_note_file": "notes",
    "get_embedder": "embed",
    "MiniLMEmbedder": "embed",
    "LiteLLMEmbedder": "embed",
    "DEFAULT_EMBEDDING_MODEL": "embed",
    "cluster_embeddings": "cluster",
    "ClusterParams": "cluster",
    "Clustering": "cluster",
    "class_keywords": "naming",
    "match_patterns": "identity",
    "pattern_stats": "stats",
    "save_notes": "storage",
    "load_notes": "storage",
    "embed_notes": "storage",
    "load_patterns": "storage",
    "mine": "miner",
    "collect_notes": "miner",
    "current": "miner",
    "llm_edit_explainer": "miner",
    "MiningResult": "miner",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'oversight.mine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"oversight.mine.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
