"""Conditions that draft alike (same model, prompt version and parameters) share one draft request."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from oversight.config import load_settings
from oversight.experiments import run
from oversight.project import Project
from oversight.schemas import Experiment
from tests.support.stub_server import StubServer


async def test_paired_conditions_with_the_same_drafter_pay_for_each_draft_once(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"Question number {i}?"}) + "\n"
                             for i in range(8)), encoding="utf-8")
    experiment = Experiment.model_validate({
        "name": "twins", "tasks": {"file": str(tasks)}, "design": "paired",
        "conditions": [{"name": "a", "critique": "hidden"}, {"name": "b", "critique": "shown"}],
        "recurrence": {"check": {"kind": "max_words", "value": 3}}})
    with StubServer(latency=0.02) as server:
        settings = load_settings(db=str(tmp_path / "o.db"), model="openai/stub", api_base=server.api_base,
                                 api_key="sk-test", concurrency=4)
        with Project.open(settings, announce=lambda _m: None) as rt:
            frame = await run(experiment, rt)
            drafts = Counter(r["digest"] for r in server.requests if r["kind"] == "draft")
            assert len(frame) == 16 and frame["recurs"].notna().all()
            assert len(drafts) == 8 and set(drafts.values()) == {1}, "one request per prompt, not per condition"
            assert frame.groupby("task_id")["draft_id"].nunique().eq(1).all()  # both conditions read one draft
            await run(experiment, rt)
    assert sum(1 for r in server.requests if r["kind"] == "draft") == 8  # a re-run pays for nothing
