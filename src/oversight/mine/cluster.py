"""Clustering failure-note embeddings into patterns (and patterns into themes), with scikit-learn.

The method, chosen by measured agreement with human failure categories (AMI and ARI, which
correct for chance; bench/bench_mine_quality.py). The vectors come in already representing the
failure rather than the subject (``oversight.mine.represent``):

1. Identical texts are clustered once (a tag repeated a thousand times is one point with
   weight 1000); sizes below count every note.
2. The embeddings are centred on their (weighted) mean and re-normalised: what every note
   shares ("this is a critique of a story") stops dominating the cosine.
3. Agglomerative clustering, average linkage on cosine distance, cut at a distance
   threshold (0.95, chosen on TTCW and TofuEval with the representation: 0.8 and 0.9 gave
   more, smaller patterns, and on TofuEval patterns that followed the document more than the
   error type): the number of patterns is found, not given.
4. Clusters holding fewer than ``min_size`` notes are noise: kept apart, never forced in.
5. The report's first level: with more than ``top_level`` patterns (default 10), their
   centroids are grouped into ``top_level`` themes (average linkage on cosine, weighted by
   size after centring); with fewer, each pattern is its own theme. Ten is within half and
   three times the size of the human taxonomies of every real set we measure (5, 7 and 14
   categories): a lead reads ten headings, then the finer patterns nested under them.

Above ``max_exact`` distinct texts the full distance matrix would not fit in memory: a seeded
sample of ``max_exact`` is clustered exactly and every other text takes the majority label
of its nearest sampled neighbours (sklearn's KNeighborsClassifier; noise is a label too).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "ClusterParams",
    "Clustering",
    "centroid",
    "cluster_embeddings",
    "clustering_from_labels",
    "default_min_size",
    "group_themes",
]


class ClusterParams(NamedTuple):
    """The knobs of the clustering (all have measured defaults)."""

    threshold: float = 0.95
    min_size: int | None = None
    min_share: float = 0.002
    top_level: int = 10
    max_exact: int = 4_000  # a 4,000-point condensed distance matrix is 64 MB; quality held at 500 (bench)
    neighbours: int = 5
    seed: int = 0


class Clustering(NamedTuple):
    """The outcome: a label per note (-1 for noise), centroids, and a theme per cluster."""

    labels: np.ndarray
    centroids: np.ndarray
    themes: np.ndarray
    params: dict[str, Any]


def default_min_size(n_notes: int, min_share: float = 0.002) -> int:
    """The smallest pattern: 3 notes, or 0.2% of all notes when that is more."""
    return max(3, math.ceil(min_share * n_notes))


def centroid(vectors: np.ndarray) -> np.ndarray:
    """The L2-normalised mean of unit vectors."""
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def _centre(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    centred = points - np.average(points, axis=0, weights=weights)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    # A point at the mean has no direction left: keep its own (a zero vector has no cosine).
    centred = np.where(norms > 1e-6, centred, points)
    return centred / np.clip(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12, None)


def _agglomerate(points: np.ndarray, threshold: float) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(points) < 2:
        return np.zeros(len(points), dtype=np.int64)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage="average", metric="cosine")
    return model.fit_predict(points)


def _cluster_points(points: np.ndarray, params: ClusterParams) -> np.ndarray:
    """Exact below ``max_exact`` points; above, cluster a seeded sample and extend by nearest neighbours."""
    if len(points) <= params.max_exact:
        return _agglomerate(points, params.threshold)
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(params.seed)
    sample = np.sort(rng.choice(len(points), params.max_exact, replace=False))
    labels = np.empty(len(points), dtype=np.int64)
    labels[sample] = _agglomerate(points[sample], params.threshold)
    rest = np.setdiff1d(np.arange(len(points)), sample, assume_unique=True)
    # unit vectors: euclidean neighbours are the cosine ones, and sklearn has a fast low-memory path for it
    vote = KNeighborsClassifier(n_neighbors=params.neighbours, algorithm="brute")
    labels[rest] = vote.fit(points[sample], labels[sample]).predict(points[rest])
    return labels


def cluster_embeddings(embeddings: np.ndarray, params: ClusterParams | None = None) -> Clustering:
    """Cluster unit-norm note embeddings; labels are ordered by size (0 is the largest)."""
    params = params or ClusterParams()
    n = len(embeddings)
    min_size = params.min_size or default_min_size(n, params.min_share)
    info: dict[str, Any] = {**params._asdict(), "min_size": min_size, "method": "agglomerative-average-cosine"}
    if n == 0:
        empty = np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 384), dtype=np.float32)
        return Clustering(np.zeros(0, dtype=np.int64), empty, np.zeros(0, dtype=np.int64), info)
    unique, inverse, counts = np.unique(embeddings, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    info["distinct"] = len(unique)
    raw = _cluster_points(_centre(unique, counts), params)
    note_labels = raw[inverse]
    sizes = np.bincount(note_labels)
    kept = [label for label in np.argsort(-sizes, kind="stable") if sizes[label] >= min_size]
    relabel = np.full(len(sizes), -1, dtype=np.int64)
    relabel[kept] = np.arange(len(kept))
    labels = relabel[note_labels]
    centroids = np.array([centroid(embeddings[labels == k]) for k in range(len(kept))], dtype=np.float32)
    if len(kept) == 0:
        centroids = np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    themes = group_themes(centroids, sizes[kept] if kept else np.zeros(0), params)
    return Clustering(labels, centroids, themes, info)


def group_themes(centroids: np.ndarray, sizes: np.ndarray, params: ClusterParams) -> np.ndarray:
    """A theme label per pattern: ``params.top_level`` groups, or each pattern its own when there are fewer."""
    from sklearn.cluster import AgglomerativeClustering

    k = len(centroids)
    if k <= max(params.top_level, 1):
        return np.arange(k, dtype=np.int64)
    centred = _centre(centroids, np.asarray(sizes, dtype=float))
    model = AgglomerativeClustering(n_clusters=params.top_level, linkage="average", metric="cosine")
    raw = model.fit_predict(centred)
    # Number themes by the first (largest) pattern they hold.
    order: dict[int, int] = {}
    for label in raw:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in raw], dtype=np.int64)


def clustering_from_labels(embeddings: np.ndarray, labels: list[int], params: dict[str, Any]) -> Clustering:
    """A Clustering again from its JSON form (labels and params): centroids and themes are recomputed."""
    array = np.asarray(labels, dtype=np.int64)
    if len(array) != len(embeddings):
        raise ValueError(f"{len(array)} labels for {len(embeddings)} embeddings")
    k = int(array.max()) + 1 if len(array) else 0
    width = embeddings.shape[1] if embeddings.ndim == 2 else 0
    centroids = np.array([centroid(embeddings[array == c]) for c in range(k)], dtype=np.float32).reshape(k, width)
    sizes = np.bincount(array[array >= 0], minlength=k)
    known = {f: params[f] for f in ClusterParams._fields if f in params}
    return Clustering(array, centroids, group_themes(centroids, sizes, ClusterParams(**known)), params)
