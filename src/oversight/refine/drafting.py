"""Stage 1: a model drafts an answer to a task."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from oversight.errors import LLMError
from oversight.llm import LLM
from oversight.prompts import Prompt
from oversight.schemas import Draft, Task, Usage
from oversight.store import Store

__all__ = ["draft_id_for", "draft_parameters", "draft_task", "made_by"]

# Drafts being asked for right now, per event loop, by (store, draft id): a second caller wanting
# the same draft (another condition of a paired experiment, drafting alike) waits for the first
# one's answer
_IN_FLIGHT: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, str, bool], asyncio.Future[Draft]]] = (
    weakref.WeakKeyDictionary())


def draft_parameters(prompt: Prompt, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sampling parameters a draft is made with: the prompt's defaults, then overrides."""
    params = dict(prompt.params)
    params.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return params


def draft_id_for(task_id: str, llm: LLM, prompt: Prompt, parameters: dict[str, Any] | None = None) -> str:
    """The id of the draft ``draft_task`` makes (or finds) for this task, model, prompt and parameters."""
    return Draft.derive_id(task_id, llm.model, prompt.version, draft_parameters(prompt, parameters))


def made_by(llm: LLM, prompt: Prompt, params: dict[str, Any], usage: Usage) -> dict[str, Any]:
    """The provenance every model output records: model, prompt name and version, parameters, usage."""
    return {"model": llm.model, "prompt_name": prompt.name, "prompt_version": prompt.version,
            "parameters": params, "usage": usage}


async def draft_task(
    task: Task,
    llm: LLM,
    prompt: Prompt,
    *,
    store: Store | None = None,
    parameters: dict[str, Any] | None = None,
    imported: bool = False,
    looked_up: bool = False,
) -> Draft:
    """Draft an answer to ``task``; reuse the stored one if this exact draft exists.

    A draft is "the same" when task, model, prompt version and parameters match,
    so re-running a batch never pays twice, and callers asking for the same draft at once (conditions
    of an experiment that draft alike) share one request. Store calls run in a worker thread, so the
    event loop (the CLI's, or a LangGraph server's) is never blocked. Raises LLMError, also
    when the model answers with no words (nothing is kept: the next run asks again).

    ``imported``: a task imported with its draft has that one, and no model is asked (the refine
    loop reviews what the task came with; a validation's before/after drafts anew, so it does not
    pass this). ``looked_up``: the caller has just looked for this draft in ``store``
    (``draft_id_for``, and the imported one) and found none, so it is not looked for again.
    """
    params = draft_parameters(prompt, parameters)
    draft_id = Draft.derive_id(task.id, llm.model, prompt.version, params)
    flights = _IN_FLIGHT.setdefault(asyncio.get_running_loop(), {})
    key = (id(store), draft_id, imported)
    while (pending := flights.get(key)) is not None:
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            if not pending.cancelled():
                raise  # this caller was cancelled
            # the one asking was cancelled before its answer came: ask ourselves
    flights[key] = future = asyncio.get_running_loop().create_future()
    try:
        draft = await _draft_once(task, llm, prompt, params, draft_id, store, imported, looked_up)
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)
            future.exception()  # retrieved: callers who wait re-raise it, nobody has to
        raise
    else:
        future.set_result(draft)
        return draft
    finally:
        if flights.get(key) is future:
            del flights[key]


async def _draft_once(task: Task, llm: LLM, prompt: Prompt, params: dict[str, Any], draft_id: str,
                      store: Store | None, imported: bool, looked_up: bool) -> Draft:
    if store is not None and not looked_up:
        found = await (asyncio.to_thread(store.draft_to_review, task.id, draft_id) if imported
                       else asyncio.to_thread(store.get_draft, draft_id))
        if found is not None:
            return found
    messages = prompt.render(prompt=task.prompt, input=task.input, context=task.context)
    completion = await llm.complete(messages, **params)
    if not completion.text.strip():
        reason = f" (finish reason: {completion.finish_reason})" if completion.finish_reason not in (None, "stop") else ""
        raise LLMError(f"{llm.model}: the model returned an empty answer{reason}")
    draft = Draft(id=draft_id, task_id=task.id, text=completion.text.strip(),
                  **made_by(llm, prompt, params, completion.usage))
    return await asyncio.to_thread(store.save_draft, draft) if store is not None else draft
