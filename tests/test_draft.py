"""Drafting against the real wire (cassettes recorded from the embedded SmolLM2 server)."""

from __future__ import annotations

import pytest

from oversight.draft import draft_task
from oversight.prompts import load_prompt
from oversight.store import Store
from tests._demo import demo_tasks


@pytest.mark.vcr
async def test_draft_records_model_prompt_version_tokens_and_is_paid_once(recorded_llm, tmp_store: Store, vcr) -> None:
    task = demo_tasks(1)[0]
    tmp_store.add_tasks([task])
    prompt = load_prompt("draft")
    draft = await draft_task(task, recorded_llm, prompt, store=tmp_store, parameters={"max_tokens": 120})
    assert draft.text and draft.task_id == task.id
    assert draft.model == "openai/smollm2-135m-instruct"
    assert draft.prompt_version == prompt.version and draft.parameters["max_tokens"] == 120
    assert draft.usage.prompt_tokens > 100 and draft.usage.completion_tokens > 0
    again = await draft_task(task, recorded_llm, prompt, store=tmp_store, parameters={"max_tokens": 120})
    assert again == draft
    # the second call found the stored draft: one request in all, recorded or replayed
    assert len(vcr.requests) == 1 and vcr.play_count in (0, 1)
