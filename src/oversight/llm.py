"""The one door to language models. Every model call in oversight goes through here.

- litellm does the talking, so any provider works (``openai/gpt-4o-mini``,
  ``anthropic/...``, ``ollama/llama3.2``, an OpenAI-compatible server via ``api_base``).
- One retry policy (tenacity, in the private ``oversight._retry``): rate limits, timeouts, connection
  errors and 5xx are retried with jittered exponential backoff, honouring Retry-After, for
  a bounded number of attempts; auth and bad-request errors are never retried; a 200 with no
  answer in it (empty ``choices``) is retried once, then it is an LLMError like any other.
- Structured output into a pydantic model: JSON-schema mode where the provider has it,
  ``{"type": "json_object", "schema": ...}`` for OpenAI-compatible local servers
  (llama.cpp constrains its output to the schema), or the schema in the prompt;
  then validation with one repair attempt.
- Embeddings, batched, in input order.
- Tokens, cost and latency on every call; one concurrency limit per LLM object that holds
  across event loops and threads; an optional start hook awaited before the first request.
- Async inside; ``run_sync`` and the ``*_sync`` methods are the thin facade for scripts and
  notebooks (the only place outside the CLI that starts an event loop).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import sys
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from oversight._retry import (
    EmptyAnswer,
    Hook,
    Limiter,
    Once,
    Sleep,
    call_with_retry,
    is_retryable,
    load_litellm,
    retry_after_seconds,
)
from oversight.errors import LLMError, StructuredOutputError
from oversight.schemas import Usage

# litellm fetches its price list from the network at import unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__all__ = [
    "LLM",
    "Completion",
    "Embeddings",
    "StructuredMode",
    "is_retryable",
    "retry_after_seconds",
    "run_sync",
]

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")
StructuredMode = Literal["auto", "json_schema", "json_object", "prompt"]


async def _default_sleep(seconds: float) -> None:
    """How the retry policy waits (tests replace it so that retries do not sleep)."""
    await asyncio.sleep(seconds)


async def _sleep_now(seconds: float) -> None:
    await _default_sleep(seconds)


@dataclass
class Completion:
    """One model answer and what it cost."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    attempts: int = 1


@dataclass
class Embeddings:
    """One vector per input text, in input order, and what they cost (summed over requests)."""

    vectors: list[list[float]]
    model: str
    usage: Usage = field(default_factory=Usage)


def run_sync(coro: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine to completion from sync code; return its result or raise its error.

    With no event loop running in this thread this is ``asyncio.run``. Inside a running
    loop (Jupyter, an async app) ``asyncio.run`` would refuse, so the coroutine runs on a
    fresh loop in a worker thread while this thread waits.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="oversight-run-sync") as pool:
        return pool.submit(asyncio.run, coro).result()


async def _load_litellm() -> Any:
    # importing litellm reads many files: the first time, do it off the event loop
    return load_litellm() if "litellm" in sys.modules else await asyncio.to_thread(load_litellm)


class LLM:
    """A configured model behind the one retry policy and concurrency limit.

    ``concurrency`` bounds the requests in flight through this object, from any loop or
    thread. ``prepare`` is awaited once before the first request (it may set ``api_base``
    and ``api_key``, which are read on every request). ``sleep`` is what the retry policy
    waits with (tests pass one that does not sleep). ``embed_batch_size`` is how many texts
    go in one embedding request.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        max_attempts: int = 5,
        structured_mode: StructuredMode = "auto",
        embed_batch_size: int = 64,
        prepare: Hook | None = None,
        sleep: Sleep | None = None,
        extra: dict[str, Any] | None = None,
    ):
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.structured_mode = structured_mode
        self.embed_batch_size = embed_batch_size
        self.extra = dict(extra or {})
        self._sleep = sleep
        self._limiter = Limiter(concurrency)
        self._prepare = Once(prepare)

    @property
    def concurrency(self) -> int:
        """How many requests may be in flight through this object at once."""
        return self._limiter.limit

    @concurrency.setter
    def concurrency(self, value: int) -> None:
        self._limiter.limit = value

    @property
    def prepare(self) -> Hook | None:
        """The start hook, guarded to run once (await it to start ahead of the first request); None if none."""
        return self._prepare if self._prepare.hook is not None else None

    def __repr__(self) -> str:
        return f"LLM(model={self.model!r}, api_base={self.api_base!r}, concurrency={self.concurrency})"

    async def _request(self, call: Literal["acompletion", "aembedding"], **kwargs: Any) -> tuple[Any, float, int]:
        """One litellm call under the start hook, the limit and the retry policy.

        Returns (response, latency of the successful attempt, attempts). Raises LLMError
        (or a subclass), or whatever the start hook raised.
        """
        await self._prepare()
        litellm = await _load_litellm()
        kwargs = {
            "model": self.model,
            "timeout": self.timeout,
            "max_retries": 0,  # the one retry policy is ours, not the SDK's
            **self.extra,
            **{k: v for k, v in kwargs.items() if v is not None},
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        send = getattr(litellm, call)

        async def attempt() -> tuple[Any, float]:
            async with self._limiter:
                started = time.perf_counter()
                response = await send(**kwargs)
                if call == "acompletion":
                    _first_choice(response)  # no answer in a 200: the retry policy's to handle
                return response, time.perf_counter() - started

        (response, latency), attempts = await call_with_retry(
            attempt, model=self.model, max_attempts=self.max_attempts, sleep=self._sleep or _sleep_now
        )
        return response, latency, attempts

    # -- plain completion --------------------------------------------------------------

    async def complete(self, messages: list[dict[str, Any]], **params: Any) -> Completion:
        """Send chat messages, return the answer. Raises LLMError (or a subclass)."""
        response, latency, attempts = await self._request("acompletion", messages=messages, **params)
        choice = _first_choice(response)
        return Completion(
            text=_storable(choice.message.content or ""),
            model=self.model,
            usage=_usage(response, latency),
            finish_reason=getattr(choice, "finish_reason", None),
            attempts=attempts,
        )

    def complete_sync(self, messages: list[dict[str, Any]], **params: Any) -> Completion:
        """``complete`` for sync code (scripts, notebooks). Raises LLMError (or a subclass)."""
        return run_sync(self.complete(messages, **params))

    # -- embeddings --------------------------------------------------------------------

    async def embed(self, texts: Sequence[str], **params: Any) -> Embeddings:
        """Embed texts (``embed_batch_size`` a request, sent concurrently), vectors in input order.

        Raises LLMError (or a subclass), also when a response holds the wrong number of vectors.
        """
        texts = list(texts)
        size = max(1, self.embed_batch_size)
        batches = [texts[i : i + size] for i in range(0, len(texts), size)]
        tasks = [asyncio.ensure_future(self._embed_batch(batch, **params)) for batch in batches]
        try:
            parts = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:  # one batch failed for good: the others are wasted money
                task.cancel()
            raise
        vectors = [vector for part in parts for vector in part.vectors]
        return Embeddings(vectors=vectors, model=self.model, usage=sum((p.usage for p in parts), Usage()))

    async def _embed_batch(self, texts: list[str], **params: Any) -> Embeddings:
        response, latency, _ = await self._request("aembedding", input=texts, **params)
        items = list(getattr(response, "data", None) or [])
        if len(items) != len(texts):
            raise LLMError(f"{self.model}: asked for {len(texts)} embeddings, got {len(items)}")
        if all(_field(item, "index") is not None for item in items):
            items.sort(key=lambda item: _field(item, "index"))  # the API may answer out of order
        raw = [_field(item, "embedding") for item in items]
        if any(not vector or isinstance(vector[0], list | tuple) for vector in raw):
            # llama.cpp without pooling answers with one vector per token; averaging them here
            # would hide that the server is misconfigured
            raise LLMError(f"{self.model}: the server sent no vector, or one per token, for a text (no pooling)")
        vectors = [[float(x) for x in vector] for vector in raw]
        return Embeddings(vectors=vectors, model=self.model, usage=_usage(response, latency))

    def embed_sync(self, texts: Sequence[str], **params: Any) -> Embeddings:
        """``embed`` for sync code (scripts, notebooks). Raises LLMError (or a subclass)."""
        return run_sync(self.embed(texts, **params))

    # -- structured output -------------------------------------------------------------

    def resolve_structured_mode(self) -> StructuredMode:
        """Which way of asking for JSON this model gets (``auto`` resolved once per model)."""
        if self.structured_mode != "auto":
            return self.structured_mode
        return _auto_structured_mode(self.model, bool(self.api_base))

    async def structured(self, messages: list[dict[str, Any]], schema: type[T], **params: Any) -> tuple[T, Completion]:
        """Ask for an answer that validates as ``schema``; one repair attempt if it does not.

        Returns (value, completion) where the completion's usage covers both calls.
        Raises StructuredOutputError when even the repaired answer does not validate.
        """
        mode = self.resolve_structured_mode()
        json_schema = _json_schema(schema)
        messages = list(messages)
        if mode == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": False},
            }
        elif mode == "json_object":
            params["response_format"] = {"type": "json_object", "schema": json_schema}
        else:
            messages = _with_schema_instruction(messages, json_schema)

        first = await self.complete(messages, **params)
        try:
            return parse_json_as(first.text, schema), first
        except (ValueError, ValidationError) as exc:
            problem = _validation_summary(exc)
        repair = [
            *messages,
            {"role": "assistant", "content": first.text},
            {
                "role": "user",
                "content": f"Your reply was not valid: {problem}. Reply again with only one JSON object "
                f"that matches this JSON schema, and nothing else:\n{json.dumps(json_schema)}",
            },
        ]
        if first.finish_reason == "length" and params.get("max_tokens"):
            params["max_tokens"] = int(params["max_tokens"]) * 2  # it ran out of room, not of sense
        second = await self.complete(repair, **params)
        second.usage = first.usage + second.usage
        second.attempts += first.attempts
        try:
            return parse_json_as(second.text, schema), second
        except (ValueError, ValidationError) as exc:
            raise StructuredOutputError(
                f"{self.model}: the answer did not match {schema.__name__} even after one repair: "
                f"{_validation_summary(exc)}",
                raw=second.text,
            ) from exc

    def structured_sync(
        self, messages: list[dict[str, Any]], schema: type[T], **params: Any
    ) -> tuple[T, Completion]:
        """``structured`` for sync code (scripts, notebooks). Raises LLMError (or a subclass)."""
        return run_sync(self.structured(messages, schema, **params))


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    """A model's answer as text a database can keep: a NUL or a lone surrogate (JSON allows ``\\ud800``;
    SQLite's UTF-8 and PostgreSQL's text refuse both) becomes U+FFFD, so a paid answer is never lost."""
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def _first_choice(response: Any) -> Any:
    """A chat response's first choice. Raises EmptyAnswer when there is none, or it has no message."""
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise EmptyAnswer("the provider returned no choices")
    if getattr(choices[0], "message", None) is None:
        raise EmptyAnswer("the provider returned a choice with no message")
    return choices[0]


def _field(item: Any, name: str) -> Any:
    # litellm gives embedding items as dicts or as objects, depending on the provider
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _usage(response: Any, latency: float) -> Usage:
    usage = getattr(response, "usage", None)
    # litellm prices the call while logging it; a model it has no price for (a local
    # server) gets None, which is free. Pricing it again here would cost a model-info
    # lookup per call.
    hidden = getattr(response, "_hidden_params", None) or {}
    return Usage(
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=float(hidden.get("response_cost") or 0.0),
        latency_s=round(latency, 4),
    )


@functools.lru_cache(maxsize=64)
def _auto_structured_mode(model: str, has_api_base: bool) -> StructuredMode:
    """JSON schema where litellm says the provider has it; json_object+schema for local servers."""
    if has_api_base and model.startswith("openai/"):
        return "json_object"  # OpenAI-compatible local server: llama.cpp, vLLM, ...
    try:
        if load_litellm().supports_response_schema(model=model):
            return "json_schema"
    except Exception:
        pass
    return "json_object" if model.startswith(("ollama", "openai/")) else "prompt"


@functools.lru_cache(maxsize=64)
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    return schema.model_json_schema()


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def parse_json_as(text: str, schema: type[T]) -> T:
    """Parse a model's JSON answer (code fences tolerated). Raises ValueError or ValidationError."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    if not body.startswith("{"):
        start, end = body.find("{"), body.rfind("}")
        if start == -1 or end <= start:
            raise ValueError("no JSON object in the answer")
        body = body[start : end + 1]
    # strict=False: small models put raw newlines inside strings; the meaning is intact
    return schema.model_validate(json.loads(body, strict=False))


def _with_schema_instruction(messages: list[dict[str, Any]], json_schema: dict[str, Any]) -> list[dict[str, Any]]:
    note = f"\n\nReply with only a JSON object that matches this JSON schema:\n{json.dumps(json_schema)}"
    out = [dict(m) for m in messages]
    out[-1]["content"] = str(out[-1]["content"]) + note
    return out


def _validation_summary(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errors[:3]]
        return "; ".join(parts)
    return str(exc)[:300]
