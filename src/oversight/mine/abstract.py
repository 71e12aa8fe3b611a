"""Clio-style abstraction: a model restates each note as a topic-free failure before it is embedded.

"The summary says the helicopters cost $400 million each but the document says..." becomes
"States a figure the source does not support." Notes about different subjects with the same
failure then read alike, which masking alone cannot always achieve (the failure is often in
how the note compares two texts). Optional: it asks a model once per distinct note text, so
it is worth it with a capable model (`oversight mine --abstract`); every answer is kept in
the store the moment it arrives (m007 ``note_abstractions``, keyed by model, prompt version
and text), so a re-run or a run resumed after a kill pays only for notes never answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from oversight._aio import finish_even_if_cancelled, gather_or_cancel
from oversight.errors import StructuredOutputError
from oversight.schemas import text_hash

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt

__all__ = ["ABSTRACT_PROMPT", "AbstractionCache", "NoteAbstractor"]

ABSTRACT_PROMPT = "abstract_note"
MAX_NOTE_CHARS = 1500


# The schema the model fills. No docstring: it would enter the JSON schema of every request.
class FailureStatement(BaseModel):
    failure: str = Field(description="One short sentence: the kind of failure, with no names, numbers or topic.")


class AbstractionCache(Protocol):
    """Where paid restatements are kept (the store)."""

    def note_abstractions(self, model: str, prompt_version: str, text_hashes: Iterable[str]) -> dict[str, str]: ...

    def save_note_abstraction(self, model: str, prompt_version: str, text_hash: str, statement: str) -> str: ...


@dataclass(frozen=True)
class NoteAbstractor:
    """Restates note texts (``prompt``: abstract_note) through ``llm``, keeping answers in ``cache``.

    ``ask=False`` reads restatements from the cache alone, a text never restated keeping its own:
    what a later step of a run that asked already sees (the mine graph's nodes after embed_notes).
    """

    llm: LLM
    prompt: Prompt
    cache: AbstractionCache | None = None
    ask: bool = True

    @property
    def name(self) -> str:
        """What the run records: model and prompt version."""
        return f"{self.llm.model}@{self.prompt.version}"

    async def __call__(self, texts: Sequence[str]) -> list[str]:
        """One statement per text, in order; each distinct text asked once. Raises LLMError.

        An answer that never fits the schema, or comes back blank, keeps the note's own text
        (and is not cached, so a later run asks again)."""
        hashes = [text_hash(text) for text in texts]
        known: dict[str, str] = {}
        if self.cache is not None:
            known = await asyncio.to_thread(
                self.cache.note_abstractions, self.llm.model, self.prompt.version, hashes)
        if not self.ask:
            return [known.get(key, text) for key, text in zip(hashes, texts, strict=True)]
        first: dict[str, str] = {}
        for key, text in zip(hashes, texts, strict=True):
            if key not in known:
                first.setdefault(key, text)

        async def one(key: str, text: str) -> tuple[str, str]:
            statement = await self._ask(text)
            if statement is None:
                return key, text
            if self.cache is None:
                return key, statement
            kept = await finish_even_if_cancelled(asyncio.to_thread(
                self.cache.save_note_abstraction, self.llm.model, self.prompt.version, key, statement))
            return key, kept

        known.update(dict(await gather_or_cancel([one(key, text) for key, text in first.items()])))
        return [known[key] for key in hashes]

    async def _ask(self, text: str) -> str | None:
        messages = self.prompt.render(note=text[:MAX_NOTE_CHARS])
        try:
            value, _ = await self.llm.structured(messages, FailureStatement, **self.prompt.params)
        except StructuredOutputError:
            return None
        statement = " ".join(value.failure.split())
        return statement or None
