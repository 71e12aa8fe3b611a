"""`oversight gold` (plant, add, list, retire) and a gold item met in the terminal's `oversight review`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.config import load_settings
from oversight.project import Project
from oversight.schemas import CalibrationItem
from tests.review.test_gold import ITEMS
from tests.support.review_seed import seed_items


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


@pytest.fixture
def project_db(tmp_path: Path) -> Path:
    """oversight.db here (the CLI's default), with the test items queued for review."""
    with Project.open(load_settings(db="oversight.db")) as project:
        seed_items(project, ITEMS, source="batch-1")
    return tmp_path / "oversight.db"


def listed(*flags: str) -> list[dict[str, Any]]:
    result = run("gold", "list", "--json", *flags)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_plant_list_and_retire(project_db: Path) -> None:
    result = run("gold", "plant", "--task", "bull", "--task", "paris", "--kind", "swapped_fact", "--by", "lea")
    assert result.exit_code == 0, result.output
    assert "paris: passed over" in result.stderr and "1 gold item(s) planted" in result.stdout
    assert "swapped_fact" in result.stdout
    again = run("gold", "plant", "--task", "bull", "--kind", "swapped_fact", "--by", "lea")
    assert "0 gold item(s) planted; 1 already there" in again.stdout
    [row] = listed()
    assert (row["kind"], row["plant"], row["made_by"], row["answers"], row["task_id"]) == \
        ("planted", "swapped_fact", "lea", 0, "bull")
    assert run("gold", "plant", "--count", "2", "--domain", "geo", "--seed", "3", "--decoys", "1",
               "--by", "lea").exit_code == 0
    assert len(listed()) == 3
    assert run("gold", "retire", row["id"]).exit_code == 0
    assert [r["id"] for r in listed()] == [r["id"] for r in listed("--all") if not r["retired"]]
    assert row["id"] in [r["id"] for r in listed("--all")] and len(listed()) == 2
    missing = run("gold", "retire", "g_nope")
    assert missing.exit_code == 1 and "g_nope" in missing.stderr


def test_a_bad_expert_file_names_file_line_and_field_and_adds_nothing(project_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "experts.jsonl"
    path.write_text(json.dumps({"task_id": "paris", "decision": "accept"}) + "\n"
                    + json.dumps({"task_id": "bridge", "decision": "edit"}) + "\n")
    result = run("gold", "add", str(path), "--expert", "ed", "--by", "lea")
    assert result.exit_code == 1
    assert f"{path}:2: field 'refined_text': decision 'edit' needs refined_text" in result.stderr
    assert listed() == []
    path.write_text(json.dumps({"task_id": "paris", "decision": "accept"}) + "\n"
                    + json.dumps({"task_id": "bridge", "decision": "edit", "refined_text": "It is 120 m."}) + "\n")
    assert "2 gold item(s) added" in run("gold", "add", str(path), "--expert", "ed", "--by", "lea").stdout
    assert {(r["task_id"], r["decision"], r["expert"]) for r in listed()} == {("paris", "accept", "ed"),
                                                                               ("bridge", "edit", "ed")}
    assert "0 gold item(s) added; 2 already there" in run("gold", "add", str(path), "--expert", "ed",
                                                          "--by", "lea").stdout
    with Project.open(load_settings(db="oversight.db")) as project:
        draft = project.store.drafts_of_task("bull")[-1]
        project.store.save_calibration_item(CalibrationItem(task_id="bull", draft_id=draft.id, decision="reject",
                                                            expert="ed"))
    assert "1 gold item(s) added" in run("gold", "add", "--from-calibration", "--by", "lea").stdout
    neither = run("gold", "add", "--by", "lea")
    assert neither.exit_code == 2 and "give one of FILE" in neither.stderr


def test_the_terminal_meets_a_gold_item_as_any_other(project_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "experts.jsonl"
    path.write_text(json.dumps({"task_id": "paris", "decision": "accept", "expert": "ed"}) + "\n")
    assert run("gold", "add", str(path), "--by", "lea").exit_code == 0
    # accept; no tags; no rationale; confidence passed
    result = run("review", "--reviewer", "ana", "--limit", "1", env={"OVERSIGHT_GOLD_RATE": "1"},
                 input="a\n\n\n\n")
    assert result.exit_code == 0, result.output
    assert "review 1/1" in result.stdout and "Paris is the capital of France." in result.stdout
    assert "recorded 1 refinement(s)" in result.stdout
    with Project.open(load_settings(db="oversight.db")) as project:
        [answer] = project.store.gold_answers()
        assert (answer.reviewer, answer.refinement.decision, answer.false_alarm) == ("ana", "accept", False)
        assert project.store.count("refinements") == 0
