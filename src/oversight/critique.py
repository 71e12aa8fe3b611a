"""Stage 2: an AI reviewer critiques a draft, so the trainer finds more than alone."""

from __future__ import annotations

import asyncio
from typing import Any

from oversight.draft import draft_parameters, made_by
from oversight.llm import LLM
from oversight.prompts import Prompt
from oversight.schemas import Critique, CritiqueFindings, Draft, Finding, Task
from oversight.store import Store

__all__ = ["critique_draft", "ground_findings"]


def ground_findings(findings: list[Finding], draft_text: str) -> list[Finding]:
    """Drop exact duplicates; a quote that is not in the draft is kept but marked as such.

    Small models paraphrase when asked to quote. The trainer should see that the
    quote is not verbatim rather than hunt for words that are not there.
    """
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for finding in findings:
        key = (finding.quote.strip(), finding.issue.strip())
        if key in seen or not finding.issue.strip():
            continue
        seen.add(key)
        quote = finding.quote.strip()
        if quote and quote not in draft_text and not quote.startswith("(not verbatim)"):
            finding = finding.model_copy(update={"quote": f"(not verbatim) {quote}"})
        out.append(finding)
    return out


async def critique_draft(
    task: Task,
    draft: Draft,
    llm: LLM,
    prompt: Prompt,
    *,
    store: Store | None = None,
    parameters: dict[str, Any] | None = None,
    thread_id: str | None = None,
) -> Critique:
    """Critique ``draft``; reuse the stored critique if this exact one exists.

    With ``store``, the critique and its task's move to "awaiting review" (on ``thread_id``)
    are written in one transaction.

    Raises LLMError (StructuredOutputError when the answer does not fit the schema).
    """
    params = draft_parameters(prompt, parameters)
    critique_id = Critique.derive_id(draft.id, llm.model, prompt.version, params)
    if store is not None and (existing := await asyncio.to_thread(store.get_critique, critique_id)) is not None:
        await asyncio.to_thread(store.mark_awaiting_review, existing, thread_id=thread_id)
        return existing
    messages = prompt.render(
        prompt=task.prompt, input=task.input, context=task.context, reference=task.reference, draft=draft.text
    )
    value, completion = await llm.structured(messages, CritiqueFindings, **params)
    critique = Critique(
        id=critique_id, draft_id=draft.id, task_id=task.id,
        findings=ground_findings(value.findings, draft.text), summary=value.summary.strip(),
        **made_by(llm, prompt, params, completion.usage),
    )
    if store is None:
        return critique
    return await asyncio.to_thread(store.save_critique, critique, thread_id=thread_id)
