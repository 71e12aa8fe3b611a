"""Fixtures for the mine tests: real critique slices (tests/fixtures/mine) and refinements."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from oversight.refine.answers import word_diff
from oversight.schemas import Critique, Draft, Finding, FindingVerdict, Refinement, Task

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mine"
TTCW = FIXTURES / "creativity_eval" / "ttcw_no_sample.jsonl"
EDITS = FIXTURES / "creativity_eval" / "writing_edits_sample.json"
TOFU = FIXTURES / "tofueval" / "tofueval_sample.csv"


@pytest.fixture(scope="session")
def ttcw_rows() -> list[dict[str, Any]]:
    """120 TTCW expert explanations with verdict No, 20 per category."""
    return [json.loads(line) for line in TTCW.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def tofu_rows() -> list[dict[str, str]]:
    with TOFU.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class MemoEmbedder:
    """The real default embedder, remembering vectors across tests (same name, same vectors).

    ``encode`` is the sync path for tests that only need vectors; ``embed`` is the Embedder protocol.
    """

    def __init__(self) -> None:
        from oversight.embed import get_embedder

        self.real = get_embedder()
        self.name = self.real.name
        self.memo: dict[str, Any] = {}

    def encode(self, texts: Any) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.real.encode(missing), strict=True))
        return np.vstack([self.memo[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    async def embed(self, texts: Any) -> Any:
        return self.encode(texts)


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The real default embedder (int8 MiniLM), loaded once, vectors remembered for the session."""
    return MemoEmbedder()


class QueuedNamer:
    """A stand-in namer (the wire is covered by the cassette tests): names patterns "Craft lapse N" and
    restates notes as one of a few failures, a blank answer for some (never kept: asked again next time)."""

    model = "fake/namer"
    prepare = None  # nothing to start: the project can call it at once
    RESTATED = ("Ends abruptly without resolving the plot.", "Describes a character with cliches.",
                "Tells emotions instead of showing them.", "Uses flat, repetitive sentences.", "")

    def __init__(self) -> None:
        self.calls = 0
        self.restated = 0

    async def structured(self, messages: Any, schema: Any, **params: Any) -> Any:
        from oversight.mine.abstract import FailureStatement
        from oversight.schemas import PatternName

        if schema is FailureStatement:
            self.restated += 1
            text = messages[-1]["content"]
            return FailureStatement(failure=self.RESTATED[sum(map(ord, text)) % len(self.RESTATED)]), None
        self.calls += 1
        return PatternName(name=f"Craft lapse {self.calls}", description="d", criteria=["c"]), None


class MissingNamer(QueuedNamer):
    """A namer whose model cannot start (the embedded model not installed)."""

    def __init__(self) -> None:
        super().__init__()
        self.starts = 0

    async def prepare(self) -> None:  # type: ignore[override]
        from oversight.errors import LocalModelError

        self.starts += 1
        raise LocalModelError("the embedded model is not installed")


def seed_refinements(store: Any, rows: list[dict[str, Any]], *, start: datetime | None = None,
                     models: tuple[str, ...] = ("model-a", "model-b"), prefix: str = "") -> list[Refinement]:
    """One task, draft, critique and refinement per TTCW explanation (the rationale)."""
    start = start or datetime(2026, 10, 1, tzinfo=UTC)
    tasks, refinements = [], []
    for row in rows:
        task = Task(id=f"t-{row['id']}", prompt=f"Write a story ({row['story_id']}).", domain="fiction",
                    kind=row["category"])
        tasks.append(task)
    store.add_tasks(tasks)
    for i, (row, task) in enumerate(zip(rows, tasks, strict=True)):
        model = models[i % len(models)]
        draft = store.save_draft(Draft(id=f"d-{prefix}{i}", task_id=task.id, model=model, prompt_name="draft",
                                       prompt_version="v1", text=f"A story draft number {i}."))
        critique = store.save_critique(Critique(
            id=f"c-{prefix}{i}", draft_id=draft.id, task_id=task.id, model="critic", prompt_name="critique",
            prompt_version="v1", findings=[Finding(quote="", issue=row["explanation"].split(".")[0] + ".",
                                                   severity="medium", category="style")]))
        refinement = Refinement(
            id=f"r-{prefix}{i}", task_id=task.id, draft_id=draft.id, critique_id=critique.id, decision="reject",
            rationale=row["explanation"], tags=[], reviewer="expert",
            finding_verdicts=[FindingVerdict(finding=0, verdict="wrong")],
            created_at=start + timedelta(days=i % 40),
        )
        refinements.append(store.save_refinement(refinement))
    return refinements


def edit_refinement(item: dict[str, Any], *, rationale: str = "") -> tuple[Task, Draft, Refinement]:
    """A real writer's edit of an LLM draft as a refinement (no rationale by default)."""
    task = Task(id=f"t-{item['id']}", prompt=item["instruction"], domain=item["type"], kind="story")
    draft = Draft(id=f"d-{item['id']}", task_id=task.id, model=item["source"], prompt_name="draft",
                  prompt_version="v1", text=item["preedit"])
    refinement = Refinement(id=f"r-{item['id']}", task_id=task.id, draft_id=draft.id, decision="edit",
                            refined_text=item["postedit"], diff=word_diff(item["preedit"], item["postedit"]),
                            rationale=rationale, reviewer="writer")
    return task, draft, refinement


@pytest.fixture(scope="session")
def edit_items() -> list[dict[str, Any]]:
    return json.loads(EDITS.read_text(encoding="utf-8"))
