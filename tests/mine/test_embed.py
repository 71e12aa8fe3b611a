"""The embedders: the real int8 MiniLM (offline), a litellm model over a recorded wire, and the
store's cache by text hash."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.embed import DEFAULT_EMBEDDING_MODEL, LiteLLMEmbedder, MiniLMEmbedder, get_embedder, text_hash
from oversight.errors import ConfigError
from oversight.llm import LLM
from oversight.mine.vectors import note_vectors
from tests.conftest import RECORDED_API_BASE, RECORDED_API_KEY, RECORDED_MODEL

SENTENCES = [
    "The ending felt rushed and arbitrary.",
    "The story ends abruptly without resolving anything.",
    "The summary states a figure the document never gives.",
]


def test_similar_sentences_are_closer_than_unrelated_ones(embedder) -> None:
    vectors = embedder.encode(SENTENCES)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]


async def test_async_embed_gives_the_same_vectors_as_encode(embedder) -> None:
    awaited = await embedder.real.embed(SENTENCES)
    assert np.array_equal(awaited, embedder.encode(SENTENCES))


def test_batching_does_not_change_vectors(embedder, ttcw_rows) -> None:
    texts = [row["explanation"] for row in ttcw_rows[:20]]
    batched = embedder.real.encode(texts)
    one_by_one = np.vstack([embedder.real.encode([text]) for text in texts[:5]])
    assert np.min(np.sum(batched[:5] * one_by_one, axis=1)) > 0.9999


def test_default_embedder_is_the_local_int8_minilm() -> None:
    assert isinstance(get_embedder(), MiniLMEmbedder)
    assert get_embedder().name == DEFAULT_EMBEDDING_MODEL == get_embedder("default").name
    assert get_embedder("local") is get_embedder(None) is get_embedder(DEFAULT_EMBEDDING_MODEL)


def test_a_litellm_embedding_model_needs_an_llm() -> None:
    with pytest.raises(ConfigError, match=r"'openai/text-embedding-3-small'.*needs an LLM object"):
        get_embedder("openai/text-embedding-3-small")
    llm = LLM("openai/text-embedding-3-small")
    chosen = get_embedder("openai/text-embedding-3-small", llm=llm)
    assert isinstance(chosen, LiteLLMEmbedder) and chosen.llm is llm and chosen.name == llm.model


@pytest.mark.vcr
async def test_litellm_embedder_over_the_wire_returns_normalised_rows() -> None:
    llm = LLM(RECORDED_MODEL, api_base=RECORDED_API_BASE, api_key=RECORDED_API_KEY)
    vectors = await LiteLLMEmbedder(llm).embed(SENTENCES)
    assert vectors.dtype == np.float32 and vectors.shape[0] == 3 and vectors.shape[1] > 100
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


class CountingEmbedder:
    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def embed(self, texts):
        self.seen.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


async def test_embeddings_are_cached_by_text_hash(tmp_store) -> None:
    counting = CountingEmbedder()
    first = await note_vectors(tmp_store, ["a b", "c", "a b"], counting)
    assert counting.seen == ["a b", "c"]  # a repeated text is embedded once
    second = await note_vectors(tmp_store, ["c", "a b", "new"], counting)
    assert counting.seen == ["a b", "c", "new"]
    assert np.array_equal(first[0], second[1]) and np.array_equal(first[1], second[0])
    assert len(text_hash("x")) == 32
