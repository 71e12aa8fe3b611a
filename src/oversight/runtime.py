"""What a pipeline run needs, built from Settings: the store, the models, the prompts.

When no model is configured the embedded model is used; its local server starts on the
first model call (so resuming a paused thread never starts it) and stops on close.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oversight.config import Settings
from oversight.llm import LLM, Sleep
from oversight.local import EMBEDDED_API_KEY, EMBEDDED_LABEL, EMBEDDED_MODEL, LocalModelServer
from oversight.prompts import Prompt, load_prompt
from oversight.schemas import content_hash
from oversight.store import Store

__all__ = ["Runtime"]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Runtime:
    """The store, drafting and critic models, prompts and parameters of one run."""

    settings: Settings
    store: Store
    drafter: LLM
    critic: LLM
    draft_prompt: Prompt
    critique_prompt: Prompt
    draft_params: dict[str, Any] = field(default_factory=dict)
    critique_params: dict[str, Any] = field(default_factory=dict)
    announce: Callable[[str], None] = _stderr
    _server: LocalModelServer | None = None
    _server_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        store: Store | None = None,
        sleep: Sleep | None = None,
        announce: Callable[[str], None] = _stderr,
    ) -> Runtime:
        """Open the store and configure the models (nothing is started yet). Raises OversightError."""
        store = store or Store.open(settings.db)
        model = settings.model or EMBEDDED_MODEL
        common: dict[str, Any] = {
            "concurrency": settings.concurrency,
            "timeout": settings.timeout,
            "max_attempts": settings.max_attempts,
            "structured_mode": settings.structured_output,
            "sleep": sleep,
        }
        api_key = settings.api_key
        if settings.api_base and not api_key and not os.environ.get("OPENAI_API_KEY"):
            api_key = EMBEDDED_API_KEY  # an OpenAI-compatible local server checks no key
        drafter = LLM(model, api_base=settings.api_base, api_key=api_key, **common)
        critic_model = settings.critic_model or model
        critic = (
            drafter
            if critic_model == model
            else LLM(critic_model, api_base=settings.api_base, api_key=api_key, **common)
        )
        overrides = {"temperature": settings.temperature, "max_tokens": settings.max_tokens}
        draft_prompt = load_prompt("draft", settings.prompts_dir)
        critique_prompt = load_prompt("critique", settings.prompts_dir)
        return cls(
            settings=settings,
            store=store,
            drafter=drafter,
            critic=critic,
            draft_prompt=draft_prompt,
            critique_prompt=critique_prompt,
            draft_params={**draft_prompt.params, **overrides},
            critique_params={**critique_prompt.params, "temperature": settings.temperature},
            announce=announce,
        )

    @property
    def uses_embedded_model(self) -> bool:
        return self.settings.model is None and self.settings.api_base is None

    def signature(self) -> str:
        """What makes two runs the same run: models, prompt versions, parameters."""
        return content_hash(
            self.drafter.model,
            self.draft_prompt.version,
            self.draft_params,
            self.critic.model,
            self.critique_prompt.version,
            self.critique_params,
            length=10,
        )

    def thread_id(self, task_id: str) -> str:
        """The refine thread of a task in this run."""
        return f"{task_id}::{self.signature()}"

    def needs_model_start(self) -> bool:
        """True until the embedded model server is up (always False with a configured model)."""
        return self.uses_embedded_model and self._server is None

    def ensure_model(self) -> None:
        """Start the embedded model server if it is needed and not running. Raises LocalModelError."""
        if not self.uses_embedded_model:
            return
        with self._server_lock:
            if self._server is not None:
                return
            self.announce(f"oversight: no model configured; starting the embedded {EMBEDDED_LABEL} ...")
            server = LocalModelServer().start()
            self._server = server
            for llm in {id(self.drafter): self.drafter, id(self.critic): self.critic}.values():
                llm.api_base = server.api_base
                llm.api_key = EMBEDDED_API_KEY
            self.announce(f"oversight: embedded model serving on {server.api_base}")

    def close(self) -> None:
        """Stop the embedded server (if started) and close the store."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
