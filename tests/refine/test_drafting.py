"""Drafting against the real wire (cassettes recorded from the embedded SmolLM2 server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from oversight.errors import LLMError
from oversight.llm import LLM, Completion
from oversight.prompts import load_prompt
from oversight.refine.drafting import draft_task
from oversight.schemas import Task
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


class QueuedLLM(LLM):
    """A model whose answers are awaited from the test: each call waits on its own event."""

    def __init__(self) -> None:
        super().__init__("fake/drafter")
        self.calls: list[asyncio.Event] = []
        self.answers: list[Any] = []

    async def complete(self, messages: list[dict[str, Any]], **params: Any) -> Completion:
        release = asyncio.Event()
        self.calls.append(release)
        await release.wait()
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Completion(text=answer, model=self.model)


async def until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0)


async def test_callers_asking_for_one_draft_at_once_share_its_answer_and_its_error(tmp_store: Store) -> None:
    task = Task(id="q1", prompt="What is 2 + 2?")
    tmp_store.add_tasks([task])
    llm, prompt = QueuedLLM(), load_prompt("draft")
    llm.answers = [LLMError("fake/drafter: down"), "Four."]
    first = asyncio.ensure_future(draft_task(task, llm, prompt, store=tmp_store))
    second = asyncio.ensure_future(draft_task(task, llm, prompt, store=tmp_store))
    await until(lambda: llm.calls)
    llm.calls[0].set()
    for failed in (first, second):  # one request, one error for both
        with pytest.raises(LLMError, match="down"):
            await failed
    third = asyncio.ensure_future(draft_task(task, llm, prompt, store=tmp_store))
    await until(lambda: len(llm.calls) == 2)
    llm.calls[1].set()
    assert (await third).text == "Four." and len(llm.calls) == 2


async def test_when_the_caller_asking_is_cancelled_the_one_waiting_asks_itself(tmp_store: Store) -> None:
    task = Task(id="q1", prompt="What is 2 + 2?")
    tmp_store.add_tasks([task])
    llm, prompt = QueuedLLM(), load_prompt("draft")
    llm.answers = ["Four."]
    first = asyncio.ensure_future(draft_task(task, llm, prompt, store=tmp_store))
    await until(lambda: llm.calls)
    second = asyncio.ensure_future(draft_task(task, llm, prompt, store=tmp_store))
    await asyncio.sleep(0)
    first.cancel()
    await until(lambda: len(llm.calls) == 2)  # the second one asked for itself
    llm.calls[1].set()
    assert (await second).text == "Four." and first.cancelled()
    assert tmp_store.get_draft((await second).id) is not None


async def test_a_caller_that_looked_up_the_draft_is_not_read_again(tmp_store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from oversight.refine.drafting import draft_id_for

    task = Task(id="q1", prompt="What is 2 + 2?")
    tmp_store.add_tasks([task])
    llm, prompt = QueuedLLM(), load_prompt("draft")
    llm.answers = ["Four."]
    assert tmp_store.get_draft(draft_id_for(task.id, llm, prompt)) is None  # the caller's own look-up
    reads: list[str] = []
    monkeypatch.setattr(tmp_store, "get_draft", lambda draft_id: reads.append(draft_id))
    drafting = asyncio.ensure_future(draft_task(task, llm, prompt, store=tmp_store, looked_up=True))
    await until(lambda: llm.calls)
    llm.calls[0].set()
    draft = await drafting
    assert reads == [] and draft.id == draft_id_for(task.id, llm, prompt)
    assert tmp_store.drafts([draft.id])[draft.id].text == "Four."  # kept all the same
