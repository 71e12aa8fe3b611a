"""The one door to language models. Every model call in oversight goes through here.

- litellm does the talking, so any provider works (``openai/gpt-4o-mini``,
  ``anthropic/...``, ``ollama/llama3.2``, an OpenAI-compatible server via ``api_base``).
- One retry policy (tenacity): rate limits, timeouts, connection errors and 5xx are
  retried with jittered exponential backoff, honouring Retry-After, for a bounded
  number of attempts; auth and bad-request errors are never retried.
- Structured output into a pydantic model: JSON-schema mode where the provider has it,
  ``{"type": "json_object", "schema": ...}`` for OpenAI-compatible local servers
  (llama.cpp constrains its output to the schema), or the schema in the prompt;
  then validation with one repair attempt.
- Tokens, cost and latency on every call; a concurrency limit across calls.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from oversight.errors import LLMAuthError, LLMBadRequestError, LLMError, StructuredOutputError
from oversight.schemas import Usage

# litellm fetches its price list from the network at import unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__all__ = ["LLM", "Completion", "StructuredMode", "retry_after_seconds", "is_retryable"]

T = TypeVar("T", bound=BaseModel)
StructuredMode = Literal["auto", "json_schema", "json_object", "prompt"]
Sleep = Callable[[float], Awaitable[None]]

MAX_RETRY_AFTER_S = 120.0


async def _default_sleep(seconds: float) -> None:
    """How the retry policy waits (tests replace it so that retries do not sleep)."""
    await asyncio.sleep(seconds)


@dataclass
class Completion:
    """One model answer and what it cost."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    attempts: int = 1


def _litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


_MISSING_KEY_HINTS = ("missing credentials", "api_key client option must be set", "no api key")


def _is_missing_key(exc: BaseException) -> bool:
    # litellm reports an absent key from the OpenAI SDK as a 500; it is an auth problem.
    return any(hint in str(exc).lower() for hint in _MISSING_KEY_HINTS)


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, timeouts, connection errors and 5xx: yes. Auth and bad requests: never."""
    litellm = _litellm()
    if _is_missing_key(exc):
        return False
    never = (
        litellm.AuthenticationError,
        litellm.PermissionDeniedError,
        litellm.BadRequestError,
        litellm.NotFoundError,
        litellm.UnprocessableEntityError,
    )
    if isinstance(exc, never):
        return False
    if isinstance(
        exc,
        (
            litellm.RateLimitError,
            litellm.Timeout,
            litellm.APIConnectionError,
            litellm.InternalServerError,
            litellm.ServiceUnavailableError,
            litellm.BadGatewayError,
        ),
    ):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's Retry-After (seconds or HTTP date), if the error carries one."""
    headers: Any = None
    response = getattr(exc, "response", None)
    if response is not None:
        headers = getattr(response, "headers", None)
    headers = headers or getattr(exc, "litellm_response_headers", None) or {}
    value = None
    for key in ("retry-after-ms", "retry-after", "Retry-After"):
        try:
            value = headers.get(key)
        except AttributeError:
            value = None
        if value is not None:
            if key == "retry-after-ms":
                try:
                    return float(value) / 1000.0
                except ValueError:
                    continue
            break
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


async def _sleep_now(seconds: float) -> None:
    await _default_sleep(seconds)


class _WaitRetryAfter:
    """Jittered exponential backoff, but never less than the server's Retry-After."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0):
        from tenacity import wait_random_exponential

        self._backoff = wait_random_exponential(multiplier=initial, max=maximum)

    def __call__(self, retry_state: Any) -> float:
        wait = self._backoff(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = retry_after_seconds(exc) if exc is not None else None
        if after is not None:
            wait = max(wait, min(after, MAX_RETRY_AFTER_S))
        return wait


class LLM:
    """A configured model behind the one retry policy and concurrency limit.

    ``sleep`` is what the retry policy waits with (tests pass one that does not sleep).
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
        sleep: Sleep | None = None,
        extra: dict[str, Any] | None = None,
    ):
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.structured_mode = structured_mode
        self.extra = dict(extra or {})
        self._sleep = sleep
        self._semaphores: dict[int, asyncio.Semaphore] = {}

    def __repr__(self) -> str:
        return f"LLM(model={self.model!r}, api_base={self.api_base!r}, concurrency={self.concurrency})"

    def _semaphore(self) -> asyncio.Semaphore:
        loop_id = id(asyncio.get_running_loop())
        sem = self._semaphores.get(loop_id)
        if sem is None:
            sem = self._semaphores[loop_id] = asyncio.Semaphore(self.concurrency)
        return sem

    # -- plain completion --------------------------------------------------------------

    async def complete(self, messages: list[dict[str, Any]], **params: Any) -> Completion:
        """Send chat messages, return the answer. Raises LLMError (or a subclass)."""
        from tenacity import AsyncRetrying, RetryError, retry_if_exception, stop_after_attempt

        # importing litellm reads many files: the first time, do it off the event loop
        litellm = _litellm() if "litellm" in sys.modules else await asyncio.to_thread(_litellm)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "timeout": self.timeout,
            "max_retries": 0,  # the one retry policy is ours, not the SDK's
            **self.extra,
            **{k: v for k, v in params.items() if v is not None},
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key

        attempts = 0
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=_WaitRetryAfter(),
            retry=retry_if_exception(is_retryable),
            sleep=self._sleep or _sleep_now,
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    async with self._semaphore():
                        started = time.perf_counter()
                        response = await litellm.acompletion(**kwargs)
                        latency = time.perf_counter() - started
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise LLMError(
                f"{self.model}: gave up after {attempts} attempts: {_describe(last)}"
            ) from last
        except (litellm.AuthenticationError, litellm.PermissionDeniedError) as exc:
            raise LLMAuthError(f"{self.model}: the provider rejected the credentials: {_describe(exc)}") from exc
        except (litellm.BadRequestError, litellm.NotFoundError, litellm.UnprocessableEntityError) as exc:
            raise LLMBadRequestError(f"{self.model}: the provider refused the request: {_describe(exc)}") from exc
        except Exception as exc:  # any other provider error: still one clear message
            if isinstance(exc, LLMError):
                raise
            if _is_missing_key(exc):
                raise LLMAuthError(
                    f"{self.model}: no API key: set the provider's variable (e.g. OPENAI_API_KEY) "
                    f"or OVERSIGHT_API_KEY"
                ) from exc
            if is_retryable(exc):  # retryable but the policy re-raised on its last attempt
                raise LLMError(f"{self.model}: gave up after {attempts} attempts: {_describe(exc)}") from exc
            raise LLMError(f"{self.model}: {_describe(exc)}") from exc
        return self._completion(response, latency, attempts)

    def _completion(self, response: Any, latency: float, attempts: int) -> Completion:
        choice = response.choices[0]
        text = choice.message.content or ""
        usage = getattr(response, "usage", None)
        # litellm prices the call while logging it; a model it has no price for (a local
        # server) gets None, which is free. Pricing it again here would cost a model-info
        # lookup per call.
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = float(hidden.get("response_cost") or 0.0)
        return Completion(
            text=text,
            model=self.model,
            usage=Usage(
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                cost_usd=cost,
                latency_s=round(latency, 4),
            ),
            finish_reason=getattr(choice, "finish_reason", None),
            attempts=attempts,
        )

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


@functools.lru_cache(maxsize=64)
def _auto_structured_mode(model: str, has_api_base: bool) -> StructuredMode:
    """JSON schema where litellm says the provider has it; json_object+schema for local servers."""
    if has_api_base and model.startswith("openai/"):
        return "json_object"  # OpenAI-compatible local server: llama.cpp, vLLM, ...
    try:
        if _litellm().supports_response_schema(model=model):
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


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {message[:300]}"
