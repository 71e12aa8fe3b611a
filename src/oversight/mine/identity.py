"""Stable pattern identity: match this run's clusters to the previous run's patterns.

A cluster inherits a previous pattern's id when they share members (Jaccard over note
ids, which are stable) or, failing that, when their centroids point the same way. The
assignment is one-to-one (Hungarian, scipy), so two clusters never claim one id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["Previous", "match_patterns"]

MIN_JACCARD = 0.2
MIN_COSINE = 0.9


class Previous(NamedTuple):
    """What identity matching needs of a pattern from the last run."""

    id: str
    members: frozenset[str]
    centroid: np.ndarray


def match_patterns(
    previous: Sequence[Previous],
    members: Sequence[frozenset[str]],
    centroids: np.ndarray,
    *,
    min_jaccard: float = MIN_JACCARD,
    min_cosine: float = MIN_COSINE,
) -> list[str | None]:
    """For each new cluster, the id of the previous pattern it continues, or None."""
    from scipy.optimize import linear_sum_assignment

    if not previous or not members:
        return [None] * len(members)
    jaccard = np.zeros((len(members), len(previous)))
    for i, new in enumerate(members):
        for j, old in enumerate(previous):
            union = len(new | old.members)
            jaccard[i, j] = len(new & old.members) / union if union else 0.0
    old_centroids = np.array([p.centroid for p in previous], dtype=np.float32)
    comparable = len(centroids) and old_centroids.ndim == 2 and old_centroids.shape[1] == centroids.shape[1]
    # Centroids of another representation (another model, or vectors before an upgrade) cannot be compared.
    cosine = centroids @ old_centroids.T if comparable else np.zeros_like(jaccard)
    acceptable = (jaccard >= min_jaccard) | (cosine >= min_cosine)
    score = np.where(acceptable, jaccard + np.clip(cosine, 0, 1), -1.0)
    rows, cols = linear_sum_assignment(-score)
    out: list[str | None] = [None] * len(members)
    for i, j in zip(rows, cols, strict=True):
        if acceptable[i, j]:
            out[i] = previous[j].id
    return out
