"""`oversight review --answers FILE`: the whole file checked first (leases included), then recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.config import load_settings
from oversight.project import Project
from oversight.schemas import Task
from tests.support.review_seed import finding, seed_items

SETTINGS = {"model": "openai/x", "api_base": "http://127.0.0.1:9/v1", "api_key": "sk-test"}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three queued items (drafts and critiques seeded: nothing calls a model)."""
    path = tmp_path / "answers.db"
    for name, value in SETTINGS.items():
        monkeypatch.setenv(f"OVERSIGHT_{name.upper()}", value)
    with Project.open(load_settings(db=str(path), **SETTINGS)) as rt:
        seed_items(rt, [(Task(id="a", prompt="Capital of Peru? One word."), "Lima is the capital.",
                         [finding("is the capital", "Not one word.")]),
                        (Task(id="b", prompt="Capital of Chad? One word."), "N'Djamena.", []),
                        (Task(id="c", prompt="Capital of Fiji? One word."), "Suva.", [])])
    return path


def answers(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def apply(db: Path, file: Path, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["--db", str(db), "review", "--answers", str(file), "--reviewer", "bot", *extra])


def refined(db: Path) -> dict[str, str]:
    with Project.open(load_settings(db=str(db), **SETTINGS)) as rt:
        return {t: r.reviewer for t in "abc" for r in rt.store.refinements_of_task(t)}


def test_an_item_a_trainer_holds_on_the_page_refuses_the_whole_file(db: Path, tmp_path: Path) -> None:
    with Project.open(load_settings(db=str(db), **SETTINGS)) as rt:
        assert rt.store.claim_review("ana", task_id="b", lease_seconds=600) is not None
    file = answers(tmp_path / "a.jsonl", {"task_id": "a", "decision": "accept"},
                   {"task_id": "b", "decision": "reject"})
    result = apply(db, file)
    assert result.exit_code == 1, result.output
    assert "a.jsonl:2: field 'task_id': task 'b' is being reviewed by ana" in result.stderr
    assert "nothing recorded" in result.stderr
    assert refined(db) == {}  # line 1 was fine, and is not recorded either
    with Project.open(load_settings(db=str(db), **SETTINGS)) as rt:
        assert rt.store.review_lease("b").reviewer == "ana"  # type: ignore[union-attr]
        assert rt.store.review_lease("a") is None  # nothing is left held for the file


@pytest.mark.parametrize(("row", "said"), [
    ({"task_id": "nope", "decision": "accept"}, "field 'task_id': no task with id 'nope'"),
    ({"task_id": "b", "decision": "accept", "finding_verdicts": [{"finding": 3, "verdict": "right"}]}, "finding"),
])
def test_any_line_that_cannot_be_recorded_refuses_the_whole_file(db: Path, tmp_path: Path, row: dict[str, Any],
                                                                   said: str) -> None:
    file = answers(tmp_path / "a.jsonl", {"task_id": "a", "decision": "accept"}, row)
    result = apply(db, file)
    assert result.exit_code == 1, result.output
    assert "a.jsonl:2" in result.stderr and said in result.stderr, result.stderr
    assert refined(db) == {}


def test_a_good_file_is_recorded_whole_and_a_second_run_says_what_is_done(db: Path, tmp_path: Path) -> None:
    with Project.open(load_settings(db=str(db), **SETTINGS)) as rt:
        rt.store.claim_review("bot", task_id="c", lease_seconds=600)  # the file's own reviewer may hold one
    file = answers(tmp_path / "a.jsonl", {"task_id": "a", "decision": "accept", "reviewer": "eve"},
                   {"task_id": "b", "decision": "reject"}, {"task_id": "c", "decision": "skip"})
    result = apply(db, file)
    assert result.exit_code == 0, result.output
    assert "recorded 3 refinement(s)" in result.stdout
    assert refined(db) == {"a": "eve", "b": "bot", "c": "bot"}
    again = apply(db, file)
    assert again.exit_code == 1
    assert "a.jsonl:1: field 'task_id': task 'a' is not awaiting review (it is refined)" in again.stderr
