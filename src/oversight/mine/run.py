"""The one door to a mining run on a project: ``mine_project``, and the parts the mine graph's nodes use.

The CLI (`oversight mine`), the demo and the mine graph all mine through here, so they choose
the models the same way (``choose_models``: the project's namer when names are "llm" and its
model can be called, else keywords; the namer restates notes first with ``abstract``), cluster
with the same parameters (``cluster_params``) and hold the database's mine lock for the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import TYPE_CHECKING, NamedTuple

from oversight.mine.abstract import ABSTRACT_PROMPT, NoteAbstractor
from oversight.mine.cluster import ClusterParams
from oversight.mine.lock import holding_mine_lock
from oversight.mine.miner import MiningResult, Progress, mine
from oversight.mine.naming import NAME_PROMPT
from oversight.mine.notes import llm_edit_explainer

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.mine.notes import EditExplainer
    from oversight.project import Project
    from oversight.prompts import Prompt
    from oversight.schemas import NamesMode

__all__ = ["MiningModels", "check_request", "choose_models", "cluster_params", "mine_project", "models_for"]


class MiningModels(NamedTuple):
    """The models of one run, each None when the run goes without it."""

    namer: LLM | None
    abstractor: NoteAbstractor | None
    explain_edits: EditExplainer | None
    name_prompt: Prompt | None

    @property
    def names(self) -> NamesMode:
        """Who names the patterns: the namer, else keywords."""
        return "llm" if self.namer is not None else "keywords"


def _quiet(_: str) -> None:
    pass


def check_request(names: object, top_level: object = None) -> None:
    """Raise ValueError for names other than "llm" or "keywords", or a top level that is not a whole number >= 1."""
    if names not in ("llm", "keywords"):
        raise ValueError(f"names must be 'llm' or 'keywords', got {names!r}")
    if top_level is not None and (not isinstance(top_level, int) or isinstance(top_level, bool) or top_level < 1):
        raise ValueError(f"top_level must be a whole number of themes, 1 or more, got {top_level!r}")


def cluster_params(top_level: int | None) -> ClusterParams | None:
    """The clustering's parameters: the default ones, with ``top_level`` themes when given."""
    return ClusterParams(top_level=top_level) if top_level else None


async def choose_models(project: Project, *, names: NamesMode = "llm", abstract: bool = False,
                        progress: Progress = _quiet) -> MiningModels:
    """The run's models, chosen once: the namer when asked and its model can be called (the embedded
    one is started), else keywords, saying so. Raises ValueError for names other than "llm" or "keywords"."""
    check_request(names)
    available = (names == "llm" or abstract) and await project.model_available(project.namer)
    if names == "llm" and not available:
        progress("oversight: naming with keywords instead")
    if abstract and not available:
        progress("oversight: no model to restate notes with; embedding them as written")
    return await asyncio.to_thread(models_for, project, names=names if available else "keywords",
                                   abstract=abstract and available)


def models_for(project: Project, *, names: NamesMode, abstract: bool, ask: bool = True) -> MiningModels:
    """The models as chosen already, not checked again (blocking: reads prompt files).

    ``ask=False``: the abstractor reads the restatements a run's earlier step kept, asking for none.
    """
    namer = project.namer if names == "llm" else None
    abstractor = NoteAbstractor(project.namer, project.prompt(ABSTRACT_PROMPT), ask=ask) if abstract else None
    if namer is None:
        return MiningModels(None, abstractor, None, None)
    return MiningModels(namer, abstractor, llm_edit_explainer(namer, project.prompt("edit_note")),
                        project.prompt(NAME_PROMPT))


async def mine_project(
    project: Project,
    *,
    names: NamesMode = "llm",
    top_level: int | None = None,
    abstract: bool = False,
    wait: bool = False,
    progress: Progress = _quiet,
    reviewers: Collection[str] | None = None,
) -> MiningResult:
    """Mine the project's store: notes from new refinements, patterns named by the namer when asked
    and available (else keywords), counted and recorded as a run.

    ``reviewers``: cluster only these reviewers' notes (and notes no refinement gave); None: everyone's.

    ``top_level``: how many themes the report's first level has (default 10). ``abstract``: the
    namer first restates every note as a topic-free failure (Clio-style; answers kept in the store).
    One run at a time per database: while another holds the lock this raises MiningInProgressError
    before any model is started or paid for, or with ``wait`` waits for it. Raises ValueError for
    a bad ``names`` or ``top_level``, LLMError.
    """
    check_request(names, top_level)
    async with holding_mine_lock(project.store, wait=wait, progress=progress):
        models = await choose_models(project, names=names, abstract=abstract, progress=progress)
        return await mine(
            project.store, names=models.names, llm=models.namer, embedder=project.embedder, params=cluster_params(top_level),
            explain_edits=models.explain_edits, abstract=models.abstractor, name_prompt=models.name_prompt,
            progress=progress, lock_held=True, reviewers=reviewers,
        )
