"""Clustering real critique explanations: patterns found, noise kept apart, themes above."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from oversight.mine.cluster import ClusterParams, cluster_embeddings, default_min_size
from oversight.mine.naming import class_keywords


def test_patterns_follow_the_experts_categories(embedder, ttcw_rows) -> None:
    texts = [row["explanation"] for row in ttcw_rows]
    truth = [row["category"] for row in ttcw_rows]
    clustering = cluster_embeddings(embedder.encode(texts))
    k = len(clustering.centroids)
    assert 4 <= k <= 40  # found, not given
    assert normalized_mutual_info_score(truth, clustering.labels) > 0.35
    sizes = np.bincount(clustering.labels[clustering.labels >= 0])
    assert list(sizes) == sorted(sizes, reverse=True)  # 0 is the largest
    assert sizes.min() >= clustering.params["min_size"]
    assert np.allclose(np.linalg.norm(clustering.centroids, axis=1), 1.0, atol=1e-5)


def test_outliers_stay_noise_instead_of_joining_a_pattern(embedder, ttcw_rows) -> None:
    texts = [row["explanation"] for row in ttcw_rows[:60]]
    strays = ["The SQL migration dropped the users table.", "Bananas are rich in potassium."]
    clustering = cluster_embeddings(embedder.encode(texts + strays))
    assert list(clustering.labels[-2:]) == [-1, -1]


def test_duplicates_count_towards_size_but_cluster_once() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=(4, 16))
    points = np.repeat(base, [10, 10, 1, 1], axis=0) + 0
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    clustering = cluster_embeddings(points.astype(np.float32), ClusterParams(threshold=0.3))
    assert clustering.params["distinct"] == 4
    assert sorted(np.bincount(clustering.labels[clustering.labels >= 0])) == [10, 10]
    assert (clustering.labels[-2:] == -1).all()


def test_many_patterns_are_grouped_into_fewer_themes(embedder, ttcw_rows, tofu_rows) -> None:
    texts = [r["explanation"] for r in ttcw_rows] + [r["exp"] for r in tofu_rows]
    clustering = cluster_embeddings(embedder.encode(texts), ClusterParams(threshold=0.8, top_level=5))
    k = len(clustering.centroids)
    assert k > 5
    assert clustering.themes.max() + 1 == 5  # the first level has the entries asked for, the patterns under it


def test_min_size_grows_with_the_corpus() -> None:
    assert default_min_size(30) == 3 and default_min_size(10_000) == 20


def test_keywords_are_distinctive_per_cluster() -> None:
    texts = ["the ending is abrupt", "abrupt ending again", "ending rushed", "dialogue is stilted",
             "stilted dialogue", "wooden dialogue", "random stray"]
    labels = np.array([0, 0, 0, 1, 1, 1, -1])
    keywords = class_keywords(texts, labels)
    assert keywords[0][0] == "ending" and keywords[1][0] == "dialogue"
    assert -1 not in keywords
