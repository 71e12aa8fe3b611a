"""`oversight interventions list|show|accept|reject` on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result

from oversight.cli import cli
from oversight.schemas import Intervention
from oversight.store import Store
from tests.intervene.test_interventions_store import DIFF, eval_check, prompt_patch, validation

NEWER = datetime(2024, 6, 1, tzinfo=UTC)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_line_error(result: Result) -> str:
    """The single stderr line of a failed command (and proof it was not a traceback)."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    return lines[0]


def seeded(url: str) -> tuple[str, str]:
    """A database with a proposed eval check (pattern p_verbose) and a newer proposed prompt patch (p_other)."""
    with Store.open(url) as store:
        store.save_interventions([eval_check(), prompt_patch("p_other", at=NEWER)])
    return eval_check().id, prompt_patch("p_other").id


def stored(url: str, intervention_id: str) -> Intervention | None:
    with Store.open(url) as store:
        return store.intervention(intervention_id)


def test_list_shows_a_table_filters_and_json(store_url: str) -> None:
    check_id, patch_id = seeded(store_url)
    table = run("--db", store_url, "interventions", "list")
    assert table.exit_code == 0, table.output
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "PATTERN", "KIND", "STATUS", "TITLE"]
    assert len(rows) == 2
    assert rows[0].split()[:4] == [patch_id, "p_other", "prompt_patch", "proposed"]  # newest first
    assert rows[1].split()[:4] == [check_id, "p_verbose", "eval_check", "proposed"]
    assert "Ask for short answers" in rows[0] and "Flag answers over three words" in rows[1]

    only = run("--db", store_url, "interventions", "list", "--pattern", "p_other", "--json")
    records = json.loads(only.stdout)
    assert [r["id"] for r in records] == [patch_id]
    assert records[0] == stored(store_url, patch_id).model_dump(mode="json")  # the full record
    assert records[0]["payload"]["diff"] == DIFF

    assert json.loads(run("--db", store_url, "interventions", "list", "--status", "accepted", "--json").stdout) == []
    none = run("--db", store_url, "interventions", "list", "--status", "accepted")
    assert none.exit_code == 0 and none.stdout == "" and "no interventions match" in none.stderr
    assert run("--db", store_url, "interventions", "list", "--status", "bogus").exit_code == 2


def test_show_gives_a_lead_everything(store_url: str) -> None:
    check_id, patch_id = seeded(store_url)
    patch = run("--db", store_url, "interventions", "show", patch_id)
    assert patch.exit_code == 0, patch.output
    text = patch.stdout
    for part in ("Ask for short answers", "prompt_patch", "p_other", "proposed", "llm:gpt-4o-mini",
                 "prompt: draft (applies to version abc123)", "n3", "t3", "Validations (0)"):
        assert part in text, part
    # the diff itself, whole and in order, under its "diff:" label at the label's indent
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "diff:")
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    diff = DIFF.splitlines()
    assert lines[at + 1: at + 1 + len(diff)] == [indent + line for line in diff]

    with Store.open(store_url) as store:
        store.decide_intervention(check_id, "accepted", "cheap to run")
        store.record_validation(check_id, validation("validated", before=0.6, after=0.2))
    check = run("--db", store_url, "interventions", "show", check_id).stdout
    for part in ("Flag answers over three words", "eval_check", "p_verbose", "status: validated",
                 "lead's reason: cheap to run", "Rationale", "Leads cut long answers.", "Expected effect",
                 "Fewer verbose drafts reach review.", "check: max_words 3", "description: short answers",
                 "cases: t1, t2", "notes (2): n1, n2", "tasks (2): t1, t2", "Validations (1)",
                 "[1] validated", "before 60.0% -> after 20.0%", "on 20 task(s), 20 control(s)",
                 "change -40.0% [-50.0%, -30.0%] (95% interval)", "regression check valid_json",
                 "prompt abc123 -> def456", "reason: the failure recurs less", "decided by check"):
        assert part in check, part

    as_json = json.loads(run("--db", store_url, "interventions", "show", check_id, "--json").stdout)
    assert as_json == stored(store_url, check_id).model_dump(mode="json")
    assert as_json["validations"][0]["outcome"] == "validated"


def test_accept_and_reject_keep_the_reason(store_url: str) -> None:
    check_id, patch_id = seeded(store_url)
    accepted = run("--db", store_url, "interventions", "accept", check_id, "--reason", "cheap to run")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.stdout.startswith(f"accepted {check_id}")
    item = stored(store_url, check_id)
    assert (item.status, item.reason) == ("accepted", "cheap to run")

    rejected = run("--db", store_url, "interventions", "reject", check_id, "--reason", "too many false alarms")
    assert rejected.exit_code == 0, rejected.output
    item = stored(store_url, check_id)
    assert (item.status, item.reason) == ("rejected", "too many false alarms")
    assert stored(store_url, patch_id).status == "proposed"  # the other one is untouched


def test_unknown_id_is_one_line_and_changes_nothing(store_url: str) -> None:
    check_id, _ = seeded(store_url)
    before = stored(store_url, check_id)
    for command in (["show", "iv_missing"], ["accept", "iv_missing", "--reason", "x"],
                    ["reject", "iv_missing", "--reason", "x"]):
        line = one_line_error(run("--db", store_url, "interventions", *command))
        assert "no intervention with id 'iv_missing'" in line, line
    assert stored(store_url, check_id) == before


def test_a_reason_is_required(store_url: str) -> None:
    check_id, _ = seeded(store_url)
    before = stored(store_url, check_id)
    for decision in ("accept", "reject"):
        missing = run("--db", store_url, "interventions", decision, check_id)
        assert missing.exit_code == 2 and "Missing option '--reason'" in missing.stderr
        line = one_line_error(run("--db", store_url, "interventions", decision, check_id, "--reason", "  "))
        assert "a reason is required" in line
    assert stored(store_url, check_id) == before


def test_a_validated_intervention_cannot_be_rejected(store_url: str) -> None:
    check_id, _ = seeded(store_url)
    with Store.open(store_url) as store:
        store.decide_intervention(check_id, "accepted", "ok")
        store.record_validation(check_id, validation("regressed", before=0.3, after=0.5))
    before = stored(store_url, check_id)
    for decision in ("reject", "accept"):
        line = one_line_error(run("--db", store_url, "interventions", decision, check_id, "--reason", "undo"))
        assert f"intervention '{check_id}' is regressed" in line, line
    assert stored(store_url, check_id) == before


def test_no_database_is_one_line_and_creates_none(tmp_path: Path) -> None:
    db = str(tmp_path / "none.db")
    for command in (["list"], ["show", "iv_x"], ["accept", "iv_x", "--reason", "r"], ["reject", "iv_x", "--reason", "r"]):
        line = one_line_error(run("--db", db, "interventions", *command))
        assert "no database at" in line, line
    assert not Path(db).exists()


def test_the_group_is_listed_in_help() -> None:
    top = run("--help")
    assert "  interventions " in top.output
    group = run("interventions", "--help")
    assert all(name in group.output for name in ("list", "show", "accept", "reject"))


def test_accepting_an_accepted_intervention_again_is_refused_and_keeps_its_reason(store_url: str) -> None:
    check_id, _ = seeded(store_url)
    assert run("--db", store_url, "interventions", "accept", check_id, "--reason", "cheap to run").exit_code == 0
    before = stored(store_url, check_id)
    line = one_line_error(run("--db", store_url, "interventions", "accept", check_id, "--reason", "changed my mind"))
    assert f"intervention '{check_id}' is already accepted" in line, line
    assert stored(store_url, check_id) == before  # the first reason is kept
    assert run("--db", store_url, "interventions", "reject", check_id, "--reason", "too noisy").exit_code == 0
