"""Clustering failure-note embeddings into patterns (and patterns into themes), with scikit-learn.

The method, chosen by measured agreement with human failure categories (AMI and ARI, which
correct for chance; bench/bench_mine_quality.py). The vectors come in already representing the
failure rather than the subject (``oversight.mine.represent``):

1. Identical texts are clustered once (a tag repeated a thousand times is one point with
   weight 1000); sizes below count every note.
2. The embeddings are centred on their (weighted) mean and re-normalised: what every note
   shares ("this is a critique of a story") stops dominating the cosine.
3. Agglomerative clustering, average linkage on cosine distance: one tree, cut where the data
   says (``choose_cut``). No fixed distance serves every kind of note: a threshold of 0.95,
   chosen on two sets of written critiques, cut professional writers' edits into two or three
   patterns. So each run tries every cut whose number of patterns lies in a band (at least one
   pattern per 100 distinct notes and 5 once there are 100, at most one per 10 (or the square root of
   their number, for a few notes) and 80) and keeps the one
   whose patterns are best separated: the highest mean silhouette (cosine, weighted by how many
   notes each point stands for, on a seeded sample of 2,000), a label-free criterion. The band
   and the curve are kept in the run's parameters (``mine --json``). A cut can still give fewer
   patterns when the notes are alike (a hundred copies of one note are one pattern).
4. Clusters holding fewer than ``min_size`` notes are noise: kept apart, never forced in.
5. The report's first level: with more than ``top_level`` patterns (default 10), their
   centroids are grouped into ``top_level`` themes (average linkage on cosine, weighted by
   size after centring); with fewer, each pattern is its own theme. Ten is within half and
   three times the size of the human taxonomies of every real set we measure (5 to 14
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
    "choose_cut",
    "cluster_embeddings",
    "clustering_from_labels",
    "default_min_size",
    "group_themes",
    "pattern_band",
    "weighted_silhouette",
]


class ClusterParams(NamedTuple):
    """The knobs of the clustering (all have measured defaults). ``threshold`` fixes the cut at a cosine
    distance instead of choosing it; ``notes_per_pattern`` is the band the cut is chosen in: at most one
    pattern per ``[0]`` notes (at least ``min_patterns`` once there are 100 notes, ``max_patterns`` at
    most) and at least one per ``[1]``."""

    threshold: float | None = None
    notes_per_pattern: tuple[int, int] = (100, 10)
    min_patterns: int = 5
    max_patterns: int = 80
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


CEILING = 0.95  # the largest average cosine distance between two groups of one pattern (see choose_cut)


def pattern_band(notes: int, params: ClusterParams) -> tuple[int, int]:
    """How many patterns a cut may give for ``notes`` distinct notes: (fewest, most). A cluster smaller than
    ``min_size`` is noise, not a pattern, and does not count."""
    per_low, per_high = params.notes_per_pattern
    fewest = min(max(params.min_patterns if notes >= 100 else 2, notes // per_low), params.max_patterns // 2)
    return fewest, max(fewest, min(params.max_patterns, max(notes // per_high, math.isqrt(notes))))


def choose_cut(points: np.ndarray, weights: np.ndarray, min_size: int, band: tuple[int, int],
               seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Cut the average-linkage tree of ``points`` (unit vectors; each stands for ``weights`` notes)
    where its clusters are best separated: the highest weighted mean silhouette among the cuts giving
    ``band[0]`` to ``band[1]`` patterns (clusters of ``min_size`` notes or more; fewer when the notes
    hold no more), never coarser than ``CEILING``. Returns a label per point and the diagnostics
    (band, the silhouette of each cut tried, keyed by its number of clusters, the cut kept)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import pairwise_distances

    n = len(points)
    if n < 2:
        return np.zeros(n, dtype=np.int64), {"cut": "one distinct note", "band": list(band)}
    tree = linkage(points.astype(np.float64), method="average", metric="cosine")
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, 2000, replace=False)) if n > 2000 else np.arange(n)
    distances = pairwise_distances(points[sample], metric="cosine")
    cuts: dict[int, tuple[int, np.ndarray]] = {}  # clusters -> (patterns, labels): the first cut giving so many
    seen: set[int] = set()
    # Groups of notes that are on average no more alike than any two notes (mean cosine distance above
    # 0.95 once centred) never make one pattern, so a stray note stays noise however coarse the cut.
    coarsest = max(2, int(fcluster(tree, CEILING, "distance").max()))
    for clusters in range(coarsest, min(n, max(coarsest, 4 * band[1])) + 1):  # past that, splits shed noise
        labels = fcluster(tree, clusters, "maxclust") - 1
        patterns = int((np.bincount(labels, weights=weights) >= min_size).sum())
        if patterns > band[1] and cuts:
            break
        if patterns not in seen:
            seen.add(patterns)
            cuts[clusters] = (patterns, labels)
    enough = min(band[0], max((p for p, _ in cuts.values()), default=0))
    curve: dict[int, float] = {}
    for clusters, (patterns, labels) in cuts.items():
        if patterns < max(enough, 1) or len(set(labels[sample])) < 2:
            continue
        # every point counts, those of clusters too small to be patterns too: leaving them out would
        # favour fine cuts that shed the hard cases as noise
        curve[clusters] = weighted_silhouette(distances, labels[sample], weights[sample])
    if not curve:  # alike notes: one pattern
        return np.zeros(n, dtype=np.int64), {"cut": "one pattern: the notes are alike", "band": list(band)}
    best = max(curve, key=lambda k: (round(curve[k], 6), -k))
    return cuts[best][1], {"cut": "silhouette", "band": list(band), "clusters": best, "patterns": cuts[best][0],
                           "silhouette": round(curve[best], 4), "curve": {k: round(v, 4) for k, v in curve.items()}}


def weighted_silhouette(distances: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """The mean silhouette of distinct points that each stand for ``weights`` notes, weighted by them.
    A point's distances are to the other distinct points (weighted by their notes), so the same notes
    said ten times over score as they do once; a cluster of one distinct point scores 0, as in sklearn."""
    classes, index = np.unique(labels, return_inverse=True)
    member = np.zeros((len(labels), len(classes)))
    member[np.arange(len(labels)), index] = weights
    summed = distances @ member  # weighted distance from each point to each cluster (itself at distance 0)
    own_weight = member.sum(axis=0)[index] - weights  # the other distinct points of its cluster
    own = np.take_along_axis(summed, index[:, None], axis=1).ravel()
    a = own / np.clip(own_weight, 1e-12, None)
    others = summed / np.clip(member.sum(axis=0), 1e-12, None)
    others[np.arange(len(labels)), index] = np.inf
    b = others.min(axis=1)
    scores = np.where(own_weight > 0, (b - a) / np.clip(np.maximum(a, b), 1e-12, None), 0.0)
    return float(np.average(scores, weights=weights))


def _cluster_points(points: np.ndarray, weights: np.ndarray, params: ClusterParams,
                    min_size: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Exact below ``max_exact`` points; above, cluster a seeded sample and extend by nearest neighbours."""
    band = pattern_band(len(points), params)  # distinct notes: a note said ten times is no more to read
    if len(points) <= params.max_exact:
        if params.threshold is not None:
            return _agglomerate(points, params.threshold), {"cut": f"fixed at {params.threshold}"}
        return choose_cut(points, weights, min_size, band, params.seed)
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(params.seed)
    sample = np.sort(rng.choice(len(points), params.max_exact, replace=False))
    labels = np.empty(len(points), dtype=np.int64)
    if params.threshold is not None:
        labels[sample], info = _agglomerate(points[sample], params.threshold), {"cut": f"fixed at {params.threshold}"}
    else:  # the sample stands for all the notes: its weights (and the smallest pattern) scale with it
        share = weights[sample].sum() / weights.sum()
        labels[sample], info = choose_cut(points[sample], weights[sample], max(1, math.ceil(min_size * share)),
                                          band, params.seed)
    rest = np.setdiff1d(np.arange(len(points)), sample, assume_unique=True)
    # unit vectors: euclidean neighbours are the cosine ones, and sklearn has a fast low-memory path for it
    vote = KNeighborsClassifier(n_neighbors=params.neighbours, algorithm="brute")
    labels[rest] = vote.fit(points[sample], labels[sample]).predict(points[rest])
    return labels, info


def cluster_embeddings(embeddings: np.ndarray, params: ClusterParams | None = None) -> Clustering:
    """Cluster unit-norm note embeddings; labels are ordered by size (0 is the largest)."""
    params = params or ClusterParams()
    n = len(embeddings)
    min_size = params.min_size or default_min_size(n, params.min_share)
    info: dict[str, Any] = {**params._asdict(), "min_size": min_size, "method": "agglomerative-average-cosine"}
    info["notes_per_pattern"] = list(params.notes_per_pattern)
    if n == 0:
        empty = np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 384), dtype=np.float32)
        return Clustering(np.zeros(0, dtype=np.int64), empty, np.zeros(0, dtype=np.int64), info)
    unique, inverse, counts = np.unique(embeddings, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    info["distinct"] = len(unique)
    raw, info["cut"] = _cluster_points(_centre(unique, counts), counts.astype(np.float64), params, min_size)
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
