"""Note vectors through the store's embedding cache: each text is embedded once per model."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from oversight.schemas import text_hash

if TYPE_CHECKING:
    from oversight.embed import Embedder
    from oversight.store import Store

__all__ = ["EMPTY_DIM", "note_vectors"]

EMPTY_DIM = 384  # the width of an empty result when the embedder does not say its own (the default model's)


async def note_vectors(store: Store, texts: Sequence[str], embedder: Embedder) -> np.ndarray:
    """One L2-normalised float32 row per text, in order; only texts not cached for this model are embedded.

    The missing texts go to the embedder in one call and are cached by text hash. Raises LLMError
    (a remote embedding model) or ConfigError (the local model missing).
    """
    hashes = [text_hash(t) for t in texts]
    vectors = await asyncio.to_thread(store.cached_vectors, embedder.name, hashes)
    first_text: dict[str, str] = {}
    for h, text in zip(hashes, texts, strict=True):
        if h not in vectors:
            first_text.setdefault(h, text)
    if first_text:
        missing = list(first_text)
        fresh = np.asarray(await embedder.embed([first_text[h] for h in missing]), dtype=np.float32)
        computed = dict(zip(missing, fresh, strict=True))
        await asyncio.to_thread(store.cache_vectors, embedder.name, computed)
        vectors.update(computed)
    if not hashes:
        return np.zeros((0, int(getattr(embedder, "dim", EMPTY_DIM))), dtype=np.float32)
    return np.vstack([vectors[h] for h in hashes]).astype(np.float32, copy=False)
