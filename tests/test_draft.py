"""Drafting against the real wire (cassettes recorded from the embedded SmolLM2 server)."""

from __future__ import annotations

from typing import Any

import pytest

from oversight.draft import draft_task
from oversight.llm import LLM
from oversight.prompts import load_prompt
from oversight.store import Store
from tests._demo import demo_tasks


@pytest.mark.vcr
async def test_draft_records_model_prompt_version_tokens_and_is_paid_once(recorded_llm, tmp_store: Store, vcr) -> None:
    task = demo_tasks(1)[0]
    tmp_store.add_tasks([task])
    prompt = load_prompt("draft")
    calls = count_calls(recorded_llm)
    draft = await draft_task(task, recorded_llm, prompt, store=tmp_store, parameters={"max_tokens": 120})
    assert calls == ["complete"] and vcr.play_count == replayed(vcr, 1)  # a new draft: one model call
    assert draft.text and draft.task_id == task.id
    assert draft.model == "openai/smollm2-135m-instruct"
    assert draft.prompt_version == prompt.version and draft.parameters["max_tokens"] == 120
    assert draft.usage.prompt_tokens > 100 and draft.usage.completion_tokens > 0
    again = await draft_task(task, recorded_llm, prompt, store=tmp_store, parameters={"max_tokens": 120})
    assert again == draft
    # the second call found the stored draft: no model call, no request, nothing played
    assert calls == ["complete"] and len(vcr.requests) == 1 and vcr.play_count == replayed(vcr, 1)


def replayed(cassette: Any, requests: int) -> int:
    """How many of ``requests`` the cassette answers: all when replaying (CI), none while recording."""
    return requests if cassette.rewound and cassette.record_mode != "all" else 0


def count_calls(llm: LLM) -> list[str]:
    """Wrap the LLM's call methods so that each model call is listed (and still made)."""
    calls: list[str] = []
    for name in ("complete", "structured"):
        method = getattr(llm, name)

        async def counted(*args: Any, _method: Any = method, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return await _method(*args, **kwargs)

        setattr(llm, name, counted)
    return calls
