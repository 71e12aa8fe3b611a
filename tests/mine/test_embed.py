"""The default embedder: the real int8 MiniLM, offline, cached in the store by text hash."""

from __future__ import annotations

import numpy as np

from oversight.mine.embed import DEFAULT_EMBEDDING_MODEL, get_embedder, text_hash
from oversight.mine.storage import embed_notes


def test_similar_sentences_are_closer_than_unrelated_ones(embedder) -> None:
    vectors = embedder.embed([
        "The ending felt rushed and arbitrary.",
        "The story ends abruptly without resolving anything.",
        "The summary states a figure the document never gives.",
    ])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]


def test_batching_does_not_change_vectors(embedder, ttcw_rows) -> None:
    texts = [row["explanation"] for row in ttcw_rows[:20]]
    batched = embedder.real.embed(texts)
    one_by_one = np.vstack([embedder.real.embed([text]) for text in texts[:5]])
    assert np.min(np.sum(batched[:5] * one_by_one, axis=1)) > 0.9999


def test_default_embedder_is_the_local_int8_minilm() -> None:
    assert get_embedder().name == DEFAULT_EMBEDDING_MODEL == get_embedder("default").name


class CountingEmbedder:
    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_embeddings_are_cached_by_text_hash(tmp_store) -> None:
    counting = CountingEmbedder()
    first = embed_notes(tmp_store, ["a b", "c", "a b"], counting)
    assert counting.seen == ["a b", "c"]  # a repeated text is embedded once
    second = embed_notes(tmp_store, ["c", "a b", "new"], counting)
    assert counting.seen == ["a b", "c", "new"]
    assert np.array_equal(first[0], second[1]) and np.array_equal(first[1], second[0])
    assert len(text_hash("x")) == 32
