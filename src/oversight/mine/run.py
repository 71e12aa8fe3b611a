"""Mining from Settings (what the CLI, the demo and scripts call): model set up, fallback to keywords."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.mine.miner import MiningResult, Progress, llm_edit_explainer, mine
from oversight.mine.records import NamesMode

if TYPE_CHECKING:
    from oversight.config import Settings
    from oversight.llm import LLM

__all__ = ["mine_and_report", "mine_with_settings"]


def _quiet(_: str) -> None:
    pass


@contextmanager
def settings_llm(settings: Settings, *, progress: Progress = _quiet) -> Iterator[LLM | None]:
    """The configured model (or the embedded one, started), or None when there is no model at all."""
    from oversight.errors import OversightError
    from oversight.runtime import Runtime
    from oversight.store import Store

    runtime = Runtime.open(settings, store=Store.open(settings.db, migrate=False), announce=progress)
    try:
        try:
            runtime.ensure_model()
        except OversightError as exc:
            progress(f"oversight: no model available ({exc}); naming with keywords instead")
            yield None
            return
        yield runtime.critic
    finally:
        runtime.close()


def mine_with_settings(settings: Settings, names: NamesMode = "llm", *, progress: Progress = _quiet) -> MiningResult:
    """Mine the configured store; LLM names with the configured (or embedded) model, else keywords.

    With no model at all (the embedded one not installed and none configured), names fall
    back to keywords without any model call.
    """
    from oversight.store import Store

    with Store.open(settings.db) as store:
        if names != "llm":
            return mine(store, names="keywords", progress=progress)
        with settings_llm(settings, progress=progress) as llm:
            if llm is None:
                return mine(store, names="keywords", progress=progress)
            explain = llm_edit_explainer(llm, prompts_dir=settings.prompts_dir)
            return mine(store, names="llm", llm=llm, explain_edits=explain, prompts_dir=settings.prompts_dir,
                        progress=progress)


def mine_and_report(settings: Settings, folder: str | Path, names: NamesMode = "llm", *,
                    progress: Progress = _quiet) -> dict[str, Any]:
    """Mine, then write failure-patterns.html and .md into a folder (the demo's last step)."""
    from oversight.audit.report import report_sections as audit_sections
    from oversight.report import build_report
    from oversight.store import Store

    result = mine_with_settings(settings, names, progress=progress)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    with Store.open(settings.db) as store:
        for fmt, suffix in (("html", "html"), ("md", "md")):
            path = folder / f"failure-patterns.{suffix}"
            text = build_report(store, fmt, extra_sections=audit_sections(store))  # type: ignore[arg-type]
            path.write_text(text, encoding="utf-8")
            paths[fmt] = path
    run = result.run
    return {
        "result": result,
        "html": paths["html"],
        "markdown": paths["md"],
        "next": [
            (f"  patterns      {run.patterns} from {run.notes} failure notes ({run.noise} noise): "
             f"oversight --db {settings.db} patterns"),
            f"  report        {paths['html']}  (open in a browser; also {paths['md'].name})",
        ],
    }
