"""The retry policy against recorded real failures.

Recorded through tests/support/fault_proxy.py on 127.0.0.1:8766, a proxy in front of the
embedded model server that answered the first request with a real 429 (Retry-After: 1)
and the second with a 500, then passed the third to the model.
"""

from __future__ import annotations

import pytest

from oversight.llm import LLM
from oversight.schemas import CritiqueFindings

PROXY = "http://127.0.0.1:8766/v1"


@pytest.mark.vcr
async def test_retries_a_recorded_429_and_500_then_answers(retry_waits: list[float], vcr) -> None:
    llm = LLM("openai/smollm2-135m-instruct", api_base=PROXY, api_key="sk-local", max_attempts=4)
    result = await llm.complete([{"role": "user", "content": "Name one planet."}], max_tokens=20, temperature=0)
    assert result.attempts == 3 and result.text
    assert [r["status"]["code"] for r in vcr.responses] == [429, 500, 200]
    assert retry_waits[0] >= 1.0  # waited at least the Retry-After of the 429
    assert len(retry_waits) == 2


@pytest.mark.vcr
async def test_structured_output_over_the_wire(recorded_llm) -> None:
    value, completion = await recorded_llm.structured(
        [{"role": "user", "content": "Review this answer: 'The sun orbits the earth.' List problems as JSON."}],
        CritiqueFindings,
        max_tokens=200,
        temperature=0,
    )
    assert value == CritiqueFindings(findings=[], summary="The sun orbits the earth.")  # the recorded JSON, validated
    assert completion.usage.completion_tokens > 0
