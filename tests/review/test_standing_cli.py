"""`oversight trainers pause|resume|assess|qualified`, and a command group that several files add to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from oversight.cli import _commands, cli
from oversight.schemas import GoldItem, PlantedError, Refinement
from oversight.store import Store


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def gold_ids(tmp_path: Path) -> list[str]:
    assert run("init").exit_code == 0
    items = [GoldItem(kind="planted", source_task_id="t1", source_draft_id="d1", prompt="How tall?", text="13 m.",
                      domain="law", made_by="lea", plant=PlantedError(kind="wrong_number", planted="13", start=0))
             for _ in range(3)]
    with Store.open("oversight.db") as store:
        store.save_gold_items(items)
        store.save_refinement(Refinement(task_id="w", draft_id="dw", decision="accept", reviewer="ann"))
    return [i.id for i in items]


def test_pause_resume_and_who_is_qualified(gold_ids: list[str]) -> None:
    paused = run("trainers", "pause", "ann", "--reason", "misses planted numbers", "--by", "lea")
    assert paused.exit_code == 0, paused.output
    assert "paused ann (by lea): misses planted numbers" in paused.stdout
    [ann] = json.loads(run("trainers", "qualified", "--json").stdout)
    assert (ann["reviewer"], ann["paused"], ann["paused_by"], ann["qualified"]) == ("ann", True, "lea", {})
    assert "paused by lea: misses planted numbers; qualified in nowhere" in run("trainers", "qualified").stdout
    assert run("trainers", "resume", "ann").exit_code == 0
    assert json.loads(run("trainers", "qualified", "--json").stdout)[0]["paused"] is False
    missing = run("trainers", "pause", "nobody", "--reason", "typo", "--by", "lea")
    assert missing.exit_code == 1 and "no trainer 'nobody'" in missing.stderr
    assert run("trainers", "pause", "ann", "--by", "lea").exit_code == 2  # --reason is required


def test_assess_keeps_a_good_file_and_names_the_line_of_a_bad_one(gold_ids: list[str]) -> None:
    Path("bad.yaml").write_text(f"name: law-entry\ndomain: law\nitems:\n  - {gold_ids[0]}\n  - g_missing\n"
                                "pass_rule:\n  min_items: 2\n", encoding="utf-8")
    bad = run("trainers", "assess", "bad.yaml")
    assert bad.exit_code == 1
    assert "bad.yaml:5: field 'items.1': no gold item 'g_missing'" in bad.stderr
    with Store.open("oversight.db") as store:
        assert store.assessments() == []
    Path("good.yaml").write_text("name: law-entry\ndomain: law\nper_domain:\n  law: 3\npass_rule:\n  min_items: 3\n",
                                 encoding="utf-8")
    good = run("trainers", "assess", "good.yaml")
    assert good.exit_code == 0, good.output
    assert "assessment law-entry (domain law): 3 of law drawn per trainer" in good.stdout
    with Store.open("oversight.db") as store:
        assert [a.per_domain for a in store.assessments()] == [{"law": 3}]


@click.group()
def other_half() -> None:
    """Trainers' judgment profiles."""


@other_half.command("report")
def report() -> None:
    click.echo("profiles")


def test_a_group_served_from_two_files_holds_the_commands_of_both(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setitem(_commands.OPTIONAL_COMMANDS, "trainers",
                        (f"{__name__}:other_half", "oversight.cli.standing:standing"))
    listed = run("trainers", "--help")
    assert "Trainers' judgment profiles." in listed.stdout
    assert all(name in listed.stdout for name in ("report", "pause", "resume", "assess", "qualified"))
    assert run("trainers", "report").stdout == "profiles\n"
