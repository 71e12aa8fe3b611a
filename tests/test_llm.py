"""The LLM door's logic, with queued fakes behind litellm (no wire)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import httpx
import litellm
import pytest
from pydantic import BaseModel

from oversight.errors import LLMAuthError, LLMBadRequestError, LLMError, StructuredOutputError
from oversight.llm import LLM, is_retryable, parse_json_as, retry_after_seconds, run_sync

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
    """Answers for successive calls: a string (served via litellm's mock_response), an exception,
    or a response object (returned as it is)."""
    planned = Planned()
    seen: list[dict[str, Any]] = []
    planned.seen = seen

    async def fake(**kwargs: Any) -> Any:
        seen.append(kwargs)
        item = planned.pop(0)
        if isinstance(item, Exception):
            raise item
        if not isinstance(item, str):
            return item
        kwargs = {k: v for k, v in kwargs.items() if k not in ("api_base", "api_key", "response_format", "max_retries")}
        return await REAL_ACOMPLETION(mock_response=item, **kwargs)

    monkeypatch.setattr(litellm, "acompletion", fake)
    return planned


async def test_complete_records_tokens_and_latency(queue: Planned, monkeypatch: pytest.MonkeyPatch) -> None:
    queue.append("Paris.")
    ticks = iter([10.0, 12.5])  # the clock read before and after the one request
    monkeypatch.setattr("oversight.llm.time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    result = await LLM("openai/gpt-4o-mini").complete([{"role": "user", "content": "Capital of France?"}])
    assert result.text == "Paris."
    assert result.usage.completion_tokens > 0 and result.usage.latency_s == 2.5
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


async def test_an_answer_at_the_first_try_costs_no_retry_machinery(queue: Planned, retry_waits: list[float],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import tenacity

    built: list[Any] = []

    class Counted(tenacity.AsyncRetrying):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tenacity, "AsyncRetrying", Counted)
    llm = LLM("openai/gpt-4o-mini", max_attempts=3)
    queue.append("ok")
    assert (await llm.complete([{"role": "user", "content": "hi"}])).attempts == 1
    assert built == []  # a request per call, every call: the policy's objects are built only when one fails
    queue.extend([server_error(), "ok"])
    result = await llm.complete([{"role": "user", "content": "hi"}])
    assert (result.text, result.attempts, len(built), len(retry_waits)) == ("ok", 2, 1, 1)
    assert len(queue.seen) == 3  # the failed first attempt went through the policy, not to the wire again


async def test_one_attempt_allowed_is_one_request(queue: Planned, retry_waits: list[float]) -> None:
    queue.extend([server_error(), "never reached"])
    with pytest.raises(LLMError, match="gave up after 1 attempts"):
        await LLM("openai/gpt-4o-mini", max_attempts=1).complete([{"role": "user", "content": "hi"}])
    assert len(queue.seen) == 1 and retry_waits == []


@pytest.mark.parametrize(("error", "kind"), [(auth_error, LLMAuthError), (bad_request, LLMBadRequestError)])
async def test_never_retries_auth_or_bad_request(queue: Planned, retry_waits: list[float], error: Any, kind: type) -> None:
    queue.extend([error(), "never reached"])
    with pytest.raises(kind):
        await LLM("openai/gpt-4o-mini").complete([{"role": "user", "content": "hi"}])
    assert retry_waits == [] and len(queue) == 1


def no_choices() -> Any:
    """A 200 with an empty ``choices`` list, as some providers send under load or a filter."""
    return litellm.ModelResponse(choices=[])


async def test_an_empty_answer_is_retried_then_succeeds(queue: Planned, retry_waits: list[float]) -> None:
    queue.extend([no_choices(), "ok"])
    result = await LLM("openai/gpt-4o-mini").complete([{"role": "user", "content": "hi"}])
    assert result.text == "ok" and result.attempts == 2
    assert len(retry_waits) == 1


async def test_an_answer_that_stays_empty_is_an_llm_error_naming_the_model(queue: Planned,
                                                                           retry_waits: list[float]) -> None:
    queue.extend([no_choices(), no_choices(), "never reached"])
    with pytest.raises(LLMError, match=r"openai/gpt-4o-mini: .*the provider returned no choices") as info:
        await LLM("openai/gpt-4o-mini", max_attempts=5).complete([{"role": "user", "content": "hi"}])
    assert not isinstance(info.value.__cause__, IndexError)
    assert len(queue) == 1 and len(retry_waits) == 1  # retried once, not up to max_attempts


async def test_an_empty_answer_counts_against_max_attempts(queue: Planned, retry_waits: list[float]) -> None:
    queue.extend([server_error(), no_choices(), "never reached"])
    with pytest.raises(LLMError, match="gave up after 2 attempts"):
        await LLM("openai/gpt-4o-mini", max_attempts=2).complete([{"role": "user", "content": "hi"}])


async def test_structured_output_survives_one_empty_answer(queue: Planned) -> None:
    queue.extend([no_choices(), '{"verdict": "good", "score": 4}'])
    value, completion = await LLM("openai/gpt-4o-mini").structured([{"role": "user", "content": "rate"}], Verdict)
    assert value.score == 4 and completion.attempts == 2


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


# -- embeddings, the cross-loop limit, the start hook, the sync facade ----------------------


def vector_of(text: str) -> list[float]:
    """A fake embedding that says which text it came from."""
    return [float(len(text)), float(sum(map(ord, text)))]


def embedding_response(texts: list[str], *, reverse: bool = False, drop: int = 0) -> Any:
    """What litellm.aembedding returns, optionally out of order or short of vectors."""
    data = [{"object": "embedding", "index": i, "embedding": vector_of(t)} for i, t in enumerate(texts)]
    data = data[: len(data) - drop]
    response = litellm.EmbeddingResponse(
        model="m", data=data[::-1] if reverse else data,
        usage=litellm.Usage(prompt_tokens=len(texts), completion_tokens=0, total_tokens=len(texts)),
    )
    response._hidden_params = {"response_cost": 0.25}
    return response


class EmbedCalls(list):  # type: ignore[type-arg]
    """Planned failures for successive aembedding calls (else an answer), and the inputs seen."""

    seen: list[list[str]]


@pytest.fixture
def embed_calls(monkeypatch: pytest.MonkeyPatch) -> EmbedCalls:
    planned = EmbedCalls()
    planned.seen = []

    async def fake(**kwargs: Any) -> Any:
        texts = list(kwargs["input"])
        planned.seen.append(texts)
        item = planned.pop(0) if planned else None
        if isinstance(item, Exception):
            raise item
        await asyncio.sleep(0.001 * (10 - len(planned.seen)))  # later batches answer first
        return embedding_response(texts, reverse=True, drop=item if isinstance(item, int) else 0)

    monkeypatch.setattr(litellm, "aembedding", fake)
    return planned


async def test_embed_batches_and_keeps_input_order(embed_calls: EmbedCalls) -> None:
    texts = [f"note number {i}" for i in range(10)]
    result = await LLM("openai/text-embedding-3-small", embed_batch_size=3).embed(texts)
    assert [len(batch) for batch in embed_calls.seen] == [3, 3, 3, 1]
    assert result.vectors == [vector_of(t) for t in texts]
    assert result.model == "openai/text-embedding-3-small"
    assert (result.usage.prompt_tokens, result.usage.cost_usd) == (10, 1.0)


async def test_embed_retries_a_429_then_succeeds(embed_calls: EmbedCalls, retry_waits: list[float]) -> None:
    embed_calls.append(rate_limited("2"))
    result = await LLM("openai/text-embedding-3-small").embed(["a", "b"])
    assert result.vectors == [vector_of("a"), vector_of("b")]
    assert len(embed_calls.seen) == 2
    assert len(retry_waits) == 1 and retry_waits[0] >= 2.0


async def test_embed_never_retries_an_auth_error(embed_calls: EmbedCalls, retry_waits: list[float]) -> None:
    embed_calls.append(auth_error())
    with pytest.raises(LLMAuthError, match="openai/text-embedding-3-small"):
        await LLM("openai/text-embedding-3-small").embed(["a"])
    assert retry_waits == [] and len(embed_calls.seen) == 1


async def test_embed_with_the_wrong_number_of_vectors_is_an_error(embed_calls: EmbedCalls) -> None:
    embed_calls.append(1)  # one vector short
    with pytest.raises(LLMError, match="openai/text-embedding-3-small: asked for 3 embeddings, got 2"):
        await LLM("openai/text-embedding-3-small").embed(["a", "b", "c"])


async def test_embed_rejects_one_vector_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    async def unpooled(**kwargs: Any) -> Any:  # llama.cpp's server when the model has no pooling
        return litellm.EmbeddingResponse(model="m", data=[{"object": "embedding", "index": 0,
                                                           "embedding": [[0.1, 0.2], [0.3, 0.4]]}])

    monkeypatch.setattr(litellm, "aembedding", unpooled)
    with pytest.raises(LLMError, match=r"openai/smollm2: .* one per token"):
        await LLM("openai/smollm2").embed(["two tokens"])


def test_concurrency_limit_holds_across_event_loops_in_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # one asyncio.Semaphore per loop would let each of the two loops have 2 in flight: peak 4
    lock = threading.Lock()
    in_flight, peak = [0], [0]

    async def slow(**kwargs: Any) -> Any:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return await REAL_ACOMPLETION(model=kwargs["model"], messages=kwargs["messages"], mock_response="ok")

    monkeypatch.setattr(litellm, "acompletion", slow)
    llm = LLM("openai/gpt-4o-mini", concurrency=2)
    start = threading.Barrier(2)

    async def six_calls() -> list[str]:
        calls = [llm.complete([{"role": "user", "content": "hi"}]) for _ in range(6)]
        return [c.text for c in await asyncio.gather(*calls)]

    def worker() -> list[str]:
        start.wait()
        return asyncio.run(six_calls())

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = [f.result() for f in [pool.submit(worker), pool.submit(worker)]]
    assert answers == [["ok"] * 6] * 2
    assert peak[0] == 2


async def test_prepare_hook_runs_once_under_concurrent_first_calls(queue: Planned) -> None:
    started: list[int] = []

    async def prepare() -> None:
        started.append(1)
        await asyncio.sleep(0.01)  # long enough for every first call to arrive meanwhile
        llm.api_base = "http://127.0.0.1:9/v1"  # as the project does once its server is up

    llm = LLM("openai/gpt-4o-mini", prepare=prepare)
    queue.extend(["one", "two", "three", "four"])
    await asyncio.gather(*(llm.complete([{"role": "user", "content": "hi"}]) for _ in range(3)))
    await llm.complete([{"role": "user", "content": "again"}])
    await llm.prepare()  # the public, guarded hook: already done, so not run again
    assert len(started) == 1
    assert LLM("openai/gpt-4o-mini").prepare is None
    assert [seen["api_base"] for seen in queue.seen] == ["http://127.0.0.1:9/v1"] * 4


async def test_a_failed_prepare_hook_is_tried_again_by_the_next_call(queue: Planned) -> None:
    outcomes = [RuntimeError("server would not start"), None]

    async def prepare() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    llm = LLM("openai/gpt-4o-mini", prepare=prepare)
    queue.append("ok")
    with pytest.raises(RuntimeError, match="would not start"):
        await llm.complete([{"role": "user", "content": "hi"}])
    assert queue.seen == []  # no request without a prepared model
    assert (await llm.complete([{"role": "user", "content": "hi"}])).text == "ok"
    assert outcomes == []


def test_prepare_hook_runs_once_across_event_loops_in_threads(queue: Planned) -> None:
    started: list[str] = []

    async def prepare() -> None:
        started.append(threading.current_thread().name)
        await asyncio.sleep(0.05)

    llm = LLM("openai/gpt-4o-mini", prepare=prepare)
    queue.extend(["a", "b"])
    start = threading.Barrier(2)

    def worker() -> str:
        start.wait()
        return asyncio.run(llm.complete([{"role": "user", "content": "hi"}])).text

    with ThreadPoolExecutor(max_workers=2) as pool:
        texts = sorted(f.result() for f in [pool.submit(worker), pool.submit(worker)])
    assert texts == ["a", "b"]
    assert len(started) == 1


async def test_run_sync_works_inside_a_running_loop(embed_calls: EmbedCalls) -> None:
    here = threading.current_thread()
    ran_in: list[threading.Thread] = []

    async def where() -> str:
        ran_in.append(threading.current_thread())
        return "done"

    assert run_sync(where()) == "done"
    assert ran_in[0] is not here  # on a fresh loop in a worker thread, not this loop's
    assert LLM("openai/text-embedding-3-small").embed_sync(["x"]).vectors == [vector_of("x")]


def test_sync_facade_without_a_running_loop(queue: Planned, embed_calls: EmbedCalls) -> None:
    queue.extend(["plain", '{"verdict": "fine", "score": 3}'])
    llm = LLM("openai/gpt-4o-mini", structured_mode="json_object")
    assert llm.complete_sync([{"role": "user", "content": "hi"}]).text == "plain"
    value, _ = llm.structured_sync([{"role": "user", "content": "rate"}], Verdict)
    assert value == Verdict(verdict="fine", score=3)
    assert llm.embed_sync(["y", "z"]).vectors == [vector_of("y"), vector_of("z")]


async def test_an_answer_holding_a_nul_or_a_lone_surrogate_is_kept_as_text(queue: Planned, store: Any) -> None:
    """JSON may carry "\\ud800" and "\\u0000"; neither SQLite's UTF-8 nor PostgreSQL's text can keep them,
    so a paid answer holding one was lost with a traceback when its draft was written."""
    from oversight.prompts import load_prompt
    from oversight.refine.drafting import draft_task
    from oversight.schemas import Task

    queue.append("Par\ud800is\x00.")
    task = Task(id="t1", prompt="Capital of France?")
    store.add_tasks([task])
    draft = await draft_task(task, LLM("openai/gpt-4o-mini", max_attempts=1), load_prompt("draft"), store=store)
    assert draft.text == "Par\ufffdis\ufffd."
    assert store.get_draft(draft.id).text == "Par\ufffdis\ufffd."
