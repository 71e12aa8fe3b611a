"""The one door to a mining run: the models chosen once, the lock taken before any model starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight.config import load_settings
from oversight.errors import MiningInProgressError
from oversight.mine.lock import MINE_LOCK
from oversight.mine.run import MiningModels, choose_models, mine_project
from oversight.project import Project
from tests.mine.conftest import TTCW, MissingNamer, QueuedNamer


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with Project.open(load_settings(db=str(tmp_path / "run.db"))) as opened:
        yield opened


async def test_the_namer_is_chosen_only_when_asked_and_available(project: Project) -> None:
    namer = project.namer = QueuedNamer()  # type: ignore[assignment]
    assert await choose_models(project, names="keywords") == MiningModels(None, None, None, None)
    models = await choose_models(project)  # names by the model by default, as `oversight mine` does
    assert models.names == "llm" and models.namer is namer and models.abstractor is None
    assert models.explain_edits is not None and models.name_prompt is not None
    restating = await choose_models(project, names="keywords", abstract=True)
    assert restating.names == "keywords" and restating.abstractor is not None and restating.abstractor.llm is namer

    said: list[str] = []
    told: list[str] = []
    project.announce = said.append
    project.namer = MissingNamer()  # type: ignore[assignment]
    assert await choose_models(project, abstract=True, progress=told.append) == MiningModels(None, None, None, None)
    assert "not installed" in said[0]
    assert told == ["oversight: naming with keywords instead",
                    "oversight: no model to restate notes with; embedding them as written"]
    with pytest.raises(ValueError, match="'llm' or 'keywords', got 'clio'"):
        await choose_models(project, names="clio")  # type: ignore[arg-type]


async def test_a_run_in_progress_is_found_before_any_model_starts(project: Project) -> None:
    from oversight.mine.note_files import load_note_file

    project.store.save_notes(load_note_file(TTCW, text_field="explanation"))
    namer = project.namer = MissingNamer()  # type: ignore[assignment]
    project.store.take_lock(MINE_LOCK, "other-host/4242/lock_x", lease_seconds=600)
    with pytest.raises(MiningInProgressError):
        await mine_project(project, names="llm")
    assert namer.starts == 0 and project.store.latest_run() is None


@pytest.mark.parametrize(("given", "message"), [({"names": "clio"}, "names must be"),
                                                ({"top_level": 0}, "top_level must be"),
                                                ({"top_level": True}, "top_level must be")])
async def test_bad_requests_are_refused(project: Project, given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await mine_project(project, **given)
    assert project.store.lock_holder(MINE_LOCK) is None
