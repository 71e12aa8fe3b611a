"""The LLM door's logic, with a queued fake behind litellm (no wire)."""

from __future__ import annotations

from typing import Any

import httpx
import litellm
import pytest
from pydantic import BaseModel

from oversight.errors import LLMAuthError, LLMBadRequestError, LLMError, StructuredOutputError
from oversight.llm import LLM, is_retryable, parse_json_as, retry_after_seconds

REAL_ACOMPLETION = litellm.acompletion


class Verdict(BaseModel):
    verdict: str
    score: int


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, request=httpx.Request("POST", "http://x/v1/chat/completions"))


def rate_limited(retry_after: str | None = None) -> Exception:
    headers = {"retry-after": retry_after} if retry_after else {}
    return litellm.RateLimitError("slow down", llm_provider="openai", model="m", response=_response(429, headers))


def server_error() -> Exception:
    return litellm.InternalServerError("boom", llm_provider="openai", model="m", response=_response(500))


def auth_error() -> Exception:
    return litellm.AuthenticationError("bad key", llm_provider="openai", model="m", response=_response(401))


def bad_request() -> Exception:
    return litellm.BadRequestError("bad", model="m", llm_provider="openai", response=_response(400))


class Planned(list):  # type: ignore[type-arg]
    """Answers for successive calls, and the requests that were made."""

    seen: list[dict[str, Any]]


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Planned:
    """Answers for successive calls: a string (served via litellm's mock_response) or an exception."""
    planned = Planned()
    seen: list[dict[str, Any]] = []
    planned.seen = seen

    async def fake(**kwargs: Any) -> Any:
        seen.append(kwargs)
        item = planned.pop(0)
        if isinstance(item, Exception):
            raise item
        kwargs = {k: v for k, v in kwargs.items() if k not in ("api_base", "api_key", "response_format", "max_retries")}
        return await REAL_ACOMPLETION(mock_response=item, **kwargs)

    monkeypatch.setattr(litellm, "acompletion", fake)
    return planned


async def test_complete_records_tokens_and_latency(queue: Planned) -> None:
    queue.append("Paris.")
    result = await LLM("openai/gpt-4o-mini").complete([{"role": "user", "content": "Capital of France?"}])
    assert result.text == "Paris."
    assert result.usage.completion_tokens > 0 and result.usage.latency_s >= 0
    assert result.attempts == 1


async def test_retries_rate_limits_and_5xx_then_succeeds(queue: Planned, retry_waits: list[float]) -> None:
    queue.extend([rate_limited("7"), server_error(), "ok"])
    result = await LLM("openai/gpt-4o-mini", max_attempts=5).complete([{"role": "user", "content": "hi"}])
    assert result.text == "ok" and result.attempts == 3
    assert retry_waits[0] >= 7.0  # honoured Retry-After
    assert len(retry_waits) == 2


async def test_gives_up_after_bounded_attempts(queue: Planned, retry_waits: list[float]) -> None:
    queue.extend([server_error()] * 3)
    with pytest.raises(LLMError, match="gave up after 3 attempts"):
        await LLM("openai/gpt-4o-mini", max_attempts=3).complete([{"role": "user", "content": "hi"}])
    assert len(retry_waits) == 2


@pytest.mark.parametrize(("error", "kind"), [(auth_error, LLMAuthError), (bad_request, LLMBadRequestError)])
async def test_never_retries_auth_or_bad_request(queue: Planned, retry_waits: list[float], error: Any, kind: type) -> None:
    queue.extend([error(), "never reached"])
    with pytest.raises(kind):
        await LLM("openai/gpt-4o-mini").complete([{"role": "user", "content": "hi"}])
    assert retry_waits == [] and len(queue) == 1


def test_retry_after_forms() -> None:
    assert retry_after_seconds(rate_limited("3")) == 3.0
    assert retry_after_seconds(rate_limited(None)) is None
    assert retry_after_seconds(rate_limited("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0  # a date in the past
    assert is_retryable(rate_limited()) and is_retryable(server_error())
    assert not is_retryable(auth_error()) and not is_retryable(bad_request())


async def test_structured_output_is_repaired_once(queue: Planned) -> None:
    queue.extend(['{"verdict": "good"}', '```json\n{"verdict": "good", "score": 4}\n```'])
    llm = LLM("openai/gpt-4o-mini", structured_mode="json_schema")
    value, completion = await llm.structured([{"role": "user", "content": "rate it"}], Verdict)
    assert value == Verdict(verdict="good", score=4)
    assert completion.attempts == 2
    repair_request = queue.seen[1]["messages"]
    assert "score: Field required" in repair_request[-1]["content"]
    assert queue.seen[0]["response_format"]["type"] == "json_schema"


async def test_structured_output_fails_after_one_repair(queue: Planned) -> None:
    queue.extend(["not json", "still not json"])
    with pytest.raises(StructuredOutputError, match="even after one repair") as info:
        await LLM("openai/gpt-4o-mini").structured([{"role": "user", "content": "rate"}], Verdict)
    assert info.value.raw == "still not json"


@pytest.mark.parametrize(
    ("model", "api_base", "mode"),
    [
        ("openai/smollm2", "http://127.0.0.1:8080/v1", "json_object"),
        ("openai/gpt-4o-mini", None, "json_schema"),
        ("ollama/llama3.2", None, "json_object"),
    ],
)
def test_structured_mode_per_provider(model: str, api_base: str | None, mode: str) -> None:
    assert LLM(model, api_base=api_base).resolve_structured_mode() == mode


def test_parse_json_tolerates_prose_around_the_object() -> None:
    assert parse_json_as('Sure! {"verdict": "x", "score": 1} Hope that helps', Verdict).score == 1
    with pytest.raises(ValueError):
        parse_json_as("no object here", Verdict)


async def test_missing_key_is_an_auth_error_not_retried(queue: Planned, retry_waits: list[float]) -> None:
    queue.append(litellm.InternalServerError("OpenAIException - Missing credentials. Please pass an `api_key`",
                                             llm_provider="openai", model="m", response=_response(500)))
    with pytest.raises(LLMAuthError, match="no API key"):
        await LLM("openai/gpt-4o-mini").complete([{"role": "user", "content": "hi"}])
    assert retry_waits == []


def test_parse_json_accepts_raw_newlines_inside_strings() -> None:
    # SmolLM2 under llama.cpp's grammar writes a literal newline inside a JSON string
    assert parse_json_as('{"verdict": "first line\nsecond", "score": 2}', Verdict).verdict == "first line\nsecond"
