"""The one place settings become working parts: the store, the models, the embedder, the prompts.

Stages never read settings; they take a store, an LLM, an embedder or a prompt as
arguments, and the CLI, the graphs and scripts get those from a ``Project``.

When no model is configured the embedded model is used: its local server starts on the
first model call (each LLM's ``prepare`` hook), so resuming a paused thread or mining
with keyword names never starts it, and it stops on close.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oversight.config import Settings
from oversight.errors import OversightError
from oversight.llm import LLM, Sleep
from oversight.local import EMBEDDED_API_KEY, EMBEDDED_LABEL, EMBEDDED_MODEL, LocalModelServer
from oversight.prompts import Prompt, load_prompt
from oversight.schemas import content_hash
from oversight.store import Store

if TYPE_CHECKING:
    from oversight.embed import Embedder

__all__ = ["Project", "open_store"]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def open_store(settings: Settings, *, create: bool = True) -> Store:
    """The settings' database as a Store: for work that needs no model. Raises StoreError.

    With ``create=False`` a missing SQLite database is an error instead of a new, empty one.
    """
    return Store.open(settings.db, create=create)


@dataclass
class Project:
    """The store, the models (drafter, critic, judge, namer), the embedder and prompts of one run."""

    settings: Settings
    store: Store
    drafter: LLM
    critic: LLM
    judge: LLM
    namer: LLM
    draft_prompt: Prompt
    critique_prompt: Prompt
    draft_params: dict[str, Any] = field(default_factory=dict)
    critique_params: dict[str, Any] = field(default_factory=dict)
    announce: Callable[[str], None] = _stderr
    _server: LocalModelServer | None = None
    _server_lock: threading.Lock = field(default_factory=threading.Lock)
    _embedder: Embedder | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        store: Store | None = None,
        sleep: Sleep | None = None,
        announce: Callable[[str], None] = _stderr,
        create: bool = True,
    ) -> Project:
        """Open the store and configure the models (nothing is started yet). Raises OversightError.

        With ``create=False`` a missing SQLite database is an error instead of a new, empty one.
        """
        store = store or open_store(settings, create=create)
        try:
            return cls._build(settings, store, sleep, announce)
        except BaseException:
            store.close()
            raise

    @classmethod
    def _build(cls, settings: Settings, store: Store, sleep: Sleep | None, announce: Callable[[str], None]) -> Project:
        draft_prompt = load_prompt("draft", settings.prompts_dir)
        critique_prompt = load_prompt("critique", settings.prompts_dir)
        overrides = {"temperature": settings.temperature, "max_tokens": settings.max_tokens}
        project = cls(
            settings=settings, store=store,
            drafter=None, critic=None, judge=None, namer=None,  # type: ignore[arg-type]
            draft_prompt=draft_prompt, critique_prompt=critique_prompt,
            draft_params={**draft_prompt.params, **overrides},
            critique_params={**critique_prompt.params, "temperature": settings.temperature},
            announce=announce,
        )
        made: dict[str, LLM] = {}
        model = settings.model or EMBEDDED_MODEL
        critic_model = settings.critic_model or model

        def llm(name: str) -> LLM:  # one LLM object per model, so one concurrency limit per model
            if name not in made:
                made[name] = project._make_llm(name, sleep)
            return made[name]

        project.drafter = llm(model)
        project.critic = llm(critic_model)
        project.judge = llm(settings.judge_model or critic_model)
        project.namer = llm(settings.namer_model or critic_model)
        return project

    def _make_llm(self, model: str, sleep: Sleep | None) -> LLM:
        s = self.settings
        api_key = s.api_key
        if s.api_base and not api_key and not os.environ.get("OPENAI_API_KEY"):
            api_key = EMBEDDED_API_KEY  # an OpenAI-compatible local server checks no key
        embedded = model == EMBEDDED_MODEL and self.uses_embedded_model
        return LLM(
            model, api_base=s.api_base, api_key=api_key, concurrency=s.concurrency, timeout=s.timeout,
            max_attempts=s.max_attempts, structured_mode=s.structured_output, sleep=sleep,
            prepare=self._start_embedded if embedded else None,
        )

    def llm_for(self, model: str) -> LLM:
        """An LLM for ``model``: the project's own when one of its models is that one (one
        concurrency limit per model), else a new one configured like them."""
        for llm in (self.drafter, self.critic, self.judge, self.namer):
            if llm.model == model:
                return llm
        return self._make_llm(model, None)

    def drafting_with(self, *, drafter: LLM | None = None, prompt: Prompt | None = None) -> Project:
        """This project drafting with another model or prompt (an experiment's condition).

        It shares the store, the other models and the embedded server; close this one, not it.
        The prompt's own parameters apply, with the settings' overrides on top as always.
        """
        changes: dict[str, Any] = {}
        if drafter is not None and drafter is not self.drafter:
            changes["drafter"] = drafter
        if prompt is not None and prompt is not self.draft_prompt:
            overrides = {k: v for k, v in self.draft_params.items() if self.draft_prompt.params.get(k) != v}
            changes.update(draft_prompt=prompt, draft_params={**prompt.params, **overrides})
        return dataclasses.replace(self, **changes) if changes else self

    @property
    def uses_embedded_model(self) -> bool:
        """True when no model and no server are configured: the embedded SmolLM2 answers."""
        return self.settings.model is None and self.settings.api_base is None

    @property
    def embedder(self) -> Embedder:
        """The embedding model: the bundled MiniLM by default, else any litellm embedding model."""
        if self._embedder is None:
            from oversight.embed import get_embedder

            name = self.settings.embedding_model
            llm = None if name in (None, "", "default", "local") else self._make_llm(name, None)
            self._embedder = get_embedder(name, llm=llm)
        return self._embedder

    def prompt(self, name: str) -> Prompt:
        """A prompt by name (``prompts_dir`` first, then the bundled ones). Raises ConfigError."""
        return load_prompt(name, self.settings.prompts_dir)

    def signature(self) -> str:
        """What makes two runs the same run: models, prompt versions, parameters."""
        return content_hash(
            self.drafter.model, self.draft_prompt.version, self.draft_params,
            self.critic.model, self.critique_prompt.version, self.critique_params,
            length=10,
        )

    def thread_id(self, task_id: str) -> str:
        """The refine thread of a task in this run."""
        return f"{task_id}::{self.signature()}"

    async def model_available(self, llm: LLM) -> bool:
        """Whether ``llm`` can be called: starts the embedded model if it is the one; False if it cannot start."""
        if llm.prepare is None:
            return True
        try:
            await llm.prepare()
        except OversightError as exc:
            self.announce(f"oversight: no model available ({exc})")
            return False
        return True

    async def _start_embedded(self) -> None:
        await asyncio.to_thread(self._start_embedded_blocking)
        for llm in (self.drafter, self.critic, self.judge, self.namer):
            if llm.prepare is not None and self._server is not None:
                llm.api_base = self._server.api_base
                llm.api_key = EMBEDDED_API_KEY

    def _start_embedded_blocking(self) -> None:
        with self._server_lock:
            if self._server is not None:
                return
            self.announce(f"oversight: no model configured; starting the embedded {EMBEDDED_LABEL} ...")
            self._server = LocalModelServer().start()
            self.announce(f"oversight: embedded model serving on {self._server.api_base}")

    def close(self) -> None:
        """Stop the embedded server (if started) and close the store."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
