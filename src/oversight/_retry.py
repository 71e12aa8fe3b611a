"""How oversight.llm makes one model request safe (private: the public door is oversight.llm).

- The one retry policy: rate limits, timeouts, connection errors and 5xx are retried with
  jittered exponential backoff, never less than the server's Retry-After, for a bounded
  number of attempts; auth and bad-request errors are never retried. A 200 with no answer
  in it (``EmptyAnswer``: no choices, or no message) is retried once.
- The error mapping: whatever fails for good leaves as LLMAuthError, LLMBadRequestError or
  LLMError, with a message that names the model.
- A concurrency limit and a run-once gate that hold across event loops and threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from oversight.errors import LLMAuthError, LLMBadRequestError, LLMError

__all__ = [
    "EMPTY_ANSWER_ATTEMPTS",
    "EmptyAnswer",
    "Limiter",
    "Once",
    "call_with_retry",
    "describe",
    "is_retryable",
    "load_litellm",
    "retry_after_seconds",
]

R = TypeVar("R")
Sleep = Callable[[float], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]

MAX_RETRY_AFTER_S = 120.0
EMPTY_ANSWER_ATTEMPTS = 2  # a provider that answers with nothing twice will not answer this request


class EmptyAnswer(Exception):
    """A successful response that holds no answer (no choices, or a choice with no message)."""


def load_litellm() -> Any:
    """The litellm module, quiet and without telemetry."""
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


_MISSING_KEY_HINTS = ("missing credentials", "api_key client option must be set", "no api key")


def _is_missing_key(exc: BaseException) -> bool:
    # litellm reports an absent key from the OpenAI SDK as a 500; it is an auth problem.
    return any(hint in str(exc).lower() for hint in _MISSING_KEY_HINTS)


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, timeouts, connection errors, 5xx and empty answers: yes. Auth and bad requests: never."""
    if isinstance(exc, EmptyAnswer):
        return True
    litellm = load_litellm()
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


async def call_with_retry(
    attempt: Callable[[], Awaitable[R]], *, model: str, max_attempts: int, sleep: Sleep
) -> tuple[R, int]:
    """Await ``attempt()`` under the retry policy; return (its result, attempts made).

    Raises LLMAuthError (credentials), LLMBadRequestError (a refused request) or LLMError
    (anything else, including giving up after ``max_attempts``, or after
    ``EMPTY_ANSWER_ATTEMPTS`` empty answers); never a provider exception.
    """
    try:  # the common case: the first attempt answers, and no retry machinery is built for it
        return await attempt(), 1
    except Exception as exc:
        first: BaseException | None = exc  # goes through the policy below like any other attempt's failure

    from tenacity import AsyncRetrying, RetryError, retry_if_exception

    litellm = load_litellm()
    attempts = 0
    empty_answers = 0

    def stop(state: Any) -> bool:
        nonlocal empty_answers
        if state.outcome is not None and isinstance(state.outcome.exception(), EmptyAnswer):
            empty_answers += 1
        return bool(state.attempt_number >= max_attempts or empty_answers >= EMPTY_ANSWER_ATTEMPTS)

    retrying = AsyncRetrying(
        stop=stop,
        wait=_WaitRetryAfter(),
        retry=retry_if_exception(is_retryable),
        sleep=sleep,
        reraise=False,
    )
    try:
        async for tried in retrying:
            with tried:
                attempts += 1
                if first is not None:  # the first attempt, made above: its failure, not a second request
                    failed, first = first, None
                    raise failed
                result = await attempt()
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise LLMError(f"{model}: gave up after {attempts} attempts: {describe(last)}") from last
    except (litellm.AuthenticationError, litellm.PermissionDeniedError) as exc:
        raise LLMAuthError(f"{model}: the provider rejected the credentials: {describe(exc)}") from exc
    except (litellm.BadRequestError, litellm.NotFoundError, litellm.UnprocessableEntityError) as exc:
        raise LLMBadRequestError(f"{model}: the provider refused the request: {describe(exc)}") from exc
    except Exception as exc:  # any other provider error: still one clear message
        if isinstance(exc, LLMError):
            raise
        if _is_missing_key(exc):
            raise LLMAuthError(
                f"{model}: no API key: set the provider's variable (e.g. OPENAI_API_KEY) or OVERSIGHT_API_KEY"
            ) from exc
        if is_retryable(exc):  # retryable but the policy re-raised on its last attempt
            raise LLMError(f"{model}: gave up after {attempts} attempts: {describe(exc)}") from exc
        raise LLMError(f"{model}: {describe(exc)}") from exc
    return result, attempts


def describe(exc: BaseException | None) -> str:
    """An error as one short line: its type and the first line of its message."""
    if exc is None:
        return "unknown error"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {message[:300]}"


# -- the concurrency limit and the start hook: shared by every loop and thread ---------


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], error: BaseException | None = None) -> bool:
    """Complete a future from any thread, on its own loop. False if that loop is closed."""

    def settle() -> None:
        if future.done():  # its waiter was cancelled meanwhile
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed: nobody waits there any more
        return False
    return True


class Limiter:
    """At most ``limit`` holders at once across every thread and event loop (an async context manager).

    asyncio.Semaphore belongs to one loop, but one LLM serves several (the CLI's, run_sync's
    threads, a notebook's), so the count sits behind a threading.Lock and a released slot is
    handed straight to the oldest waiter, woken on its own loop.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.held < self.limit and not self._waiters:
                self.held += 1
                return
            waiter = (loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await waiter[1]
        except BaseException:
            with self._lock:
                handed = waiter not in self._waiters
                if not handed:
                    self._waiters.remove(waiter)
            if handed:  # a slot reached us as we were cancelled: pass it on
                self._release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        with self._lock:
            while self._waiters:
                loop, future = self._waiters.popleft()
                if _settle(loop, future):
                    return  # the slot passes to that waiter: ``held`` is unchanged
            self.held -= 1


class Once:
    """Awaits a hook once across threads and loops; concurrent callers share one run.

    If the run raises, every caller that waited on it gets the error and the next call tries
    again; if the caller running it is cancelled, a waiter takes over.
    """

    def __init__(self, hook: Hook | None):
        self.hook = hook
        self.done = hook is None
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] | None = None

    async def __call__(self) -> None:
        while not self.done:
            loop = asyncio.get_running_loop()
            with self._lock:
                if self.done:
                    return
                leading = self._waiters is None
                if leading:
                    self._waiters = []
                else:
                    future: asyncio.Future[None] = loop.create_future()
                    self._waiters.append((loop, future))
            if not leading:
                await future  # raises the run's error; returns when it is done or abandoned
                continue
            error: BaseException | None = None
            try:
                await self.hook()  # type: ignore[misc]
            except BaseException as exc:
                error = exc
                raise
            finally:
                with self._lock:
                    waiters, self._waiters = self._waiters or [], None
                    self.done = error is None
                shared = error if isinstance(error, Exception) else None  # not our cancellation
                for waiter_loop, waiter in waiters:
                    _settle(waiter_loop, waiter, shared)
