"""`mine` is resumable: every paid edit explanation is kept as it arrives, so a run that was
interrupted (an error, or a SIGKILL) pays on the next run only for the answers it never got."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from oversight.errors import LLMError
from oversight.mine.miner import collect_failure_notes
from oversight.mine.notes import MAX_EDIT_NOTES, edits_of, llm_edit_explainer, significant_edits
from oversight.prompts import load_prompt
from oversight.schemas import text_hash
from oversight.store import Store
from tests.mine.conftest import edit_refinement

ROOT = Path(__file__).resolve().parents[2]


class CountingLLM:
    """A fake model for edit notes: answers at once, counts the calls, fails from call ``fail_after + 1`` on.

    The answer depends only on the request, so an interrupted and resumed run can be compared
    with one that was not interrupted.
    """

    model = "fake/edit-notes"

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.fail_after = fail_after

    async def structured(self, messages: list[dict[str, str]], schema: Any, **params: Any) -> tuple[Any, None]:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise LLMError("the model went away")
        return schema(note=f"The draft had flaw {text_hash(messages[-1]['content'])[:10]}."), None


def seed_edits(store: Store, items: list[dict[str, Any]]) -> int:
    """Refinements whose edits no rationale covers (three real rewrites and two smaller edits);
    return how many edit explanations they need."""
    cases = [edit_refinement(item) for item in items]
    for n, (task, draft, refinement) in enumerate(list(cases[:2])):  # smaller edits of other drafts
        small = draft.model_copy(update={"id": f"{draft.id}-v{n}", "text": f"Version {n}. {draft.text}"})
        edits = significant_edits(refinement.diff)[: n + 2]
        cases.append((task, small, refinement.model_copy(update={"id": f"{refinement.id}-v{n}",
                                                                 "draft_id": small.id, "diff": edits})))
    store.add_tasks({task.id: task for task, _, _ in cases}.values())
    for _, draft, refinement in cases:
        store.save_draft(draft)
        store.save_refinement(refinement)
    return sum(min(len(edits_of(r.diff)), MAX_EDIT_NOTES) for _, _, r in cases)


def note_texts(store: Store) -> list[tuple[str, str]]:
    return sorted((n.id, n.text) for n in store.notes())


@pytest.fixture
def uninterrupted(tmp_path: Path, edit_items: list[dict[str, Any]]) -> tuple[int, list[tuple[str, str]]]:
    """(calls, notes) of a run that was not interrupted."""
    import asyncio

    llm = CountingLLM()
    with Store.open(tmp_path / "whole.db") as store:
        total = seed_edits(store, edit_items)
        asyncio.run(collect_failure_notes(store, explain_edits=llm_edit_explainer(llm, load_prompt("edit_note"))))
        assert llm.calls == total
        return total, note_texts(store)


@pytest.mark.parametrize("answered", [0, 1, 7, 13, 20])
async def test_an_interrupted_collection_pays_only_for_the_answers_it_lacks(
    store: Store, edit_items: list[dict[str, Any]], uninterrupted: tuple[int, list[tuple[str, str]]], answered: int,
) -> None:
    total, expected = uninterrupted
    assert seed_edits(store, edit_items) == total and answered < total
    prompt = load_prompt("edit_note")
    first = CountingLLM(fail_after=answered)
    with pytest.raises(LLMError):
        await collect_failure_notes(store, explain_edits=llm_edit_explainer(first, prompt))
    assert store.notes() == []  # no refinement was turned whole

    again = CountingLLM()
    added = await collect_failure_notes(store, explain_edits=llm_edit_explainer(again, prompt))
    assert again.calls == total - answered
    assert added == len(expected) and note_texts(store) == expected

    third = CountingLLM()  # nothing left to ask, even when the notes are derived again
    assert await collect_failure_notes(store, explain_edits=llm_edit_explainer(third, prompt)) == 0
    assert third.calls == 0


@pytest.mark.parametrize("change", ["prompt version", "model"])
async def test_a_new_prompt_version_or_model_asks_again(
    store: Store, edit_items: list[dict[str, Any]], change: str,
) -> None:
    total = seed_edits(store, edit_items[:1])
    prompt = load_prompt("edit_note")
    with pytest.raises(LLMError):
        await collect_failure_notes(store, explain_edits=llm_edit_explainer(CountingLLM(fail_after=total - 1), prompt))
    changed = CountingLLM()
    if change == "model":
        changed.model = "fake/another-model"
    else:
        prompt = replace(prompt, version="another-version")
    await collect_failure_notes(store, explain_edits=llm_edit_explainer(changed, prompt))
    assert changed.calls == total  # answers kept for another model or prompt version are not reused


def test_the_first_kept_answer_wins(store: Store) -> None:
    """Two runs that asked at once keep one sentence per key, and both build their notes from it."""
    key = ("fake/edit-notes", "v1", "draft-hash", "edit-hash")
    assert store.save_edit_explanation(*key, "The draft said it first.") == "The draft said it first."
    assert store.save_edit_explanation(*key, "A later answer.") == "The draft said it first."
    assert store.edit_explanations(*key[:3], ["edit-hash", "other"]) == {"edit-hash": "The draft said it first."}
    assert store.edit_explanations("fake/edit-notes", "v2", "draft-hash", ["edit-hash"]) == {}


_CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys, time
    sys.path.insert(0, {root!r})
    from oversight.mine.miner import collect_failure_notes
    from oversight.mine.notes import llm_edit_explainer
    from oversight.prompts import load_prompt
    from oversight.store import Store
    from tests.mine.test_resume import CountingLLM

    store = Store.open({db!r})
    answered = {answered}

    def kept():
        try:
            return store.count("edit_explanations")
        except KeyError:  # no such table (before the cache existed)
            return 0

    class KilledLLM(CountingLLM):
        async def structured(self, messages, schema, **params):
            if self.calls == answered:  # answer k + 1 never comes: the process dies while it waits
                deadline = time.monotonic() + 10
                while kept() < answered and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)  # (a real request awaits too, so the answers so far get kept)
                os.kill(os.getpid(), signal.SIGKILL)
            return await super().structured(messages, schema, **params)

    asyncio.run(collect_failure_notes(store, explain_edits=llm_edit_explainer(KilledLLM(), load_prompt("edit_note"))))
    """
)


def test_a_killed_collection_resumes_without_paying_twice(
    tmp_path: Path, edit_items: list[dict[str, Any]], uninterrupted: tuple[int, list[tuple[str, str]]],
) -> None:
    """The process itself is SIGKILLed while it waits for answer k + 1."""
    import asyncio

    total, expected = uninterrupted
    db = tmp_path / "killed.db"
    with Store.open(db) as store:
        seed_edits(store, edit_items)
    answered = 11
    started = time.monotonic()
    child = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT), db=str(db), answered=answered)],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert time.monotonic() - started < 60
    with Store.open(db) as store:
        assert store.notes() == []
        again = CountingLLM()
        asyncio.run(collect_failure_notes(store, explain_edits=llm_edit_explainer(again, load_prompt("edit_note"))))
        assert again.calls == total - answered
        assert note_texts(store) == expected
