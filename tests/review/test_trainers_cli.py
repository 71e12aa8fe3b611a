"""`oversight trainers report`: the profiles as a table, one in full, and as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.store import Store
from tests.review.test_profiles import planted, production


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "o.db")
    with Store.open(path) as store:
        for i in range(12):
            planted(store, "careful", caught=i % 4 != 0, seconds=90.0)
            planted(store, "stamper", caught=i == 0, seconds=8.0, domain="law")
            planted(store, "eve\x1b]0;owned\x07", caught=True)
        production(store, "careful", "A short draft.", "accept", seconds=42.0)
    return path


def run(db: str, *args: str, **env: Any) -> Any:
    result = CliRunner().invoke(cli, ["--db", db, "trainers", "report", *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def test_the_table_has_every_trainer_with_intervals_and_suggestions(db: str) -> None:
    out = run(db).stdout
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(lines) == {"careful", "stamper", "eve\\x1b]0;owned\\x07"}  # a name cannot drive the terminal
    assert "\x1b" not in out and "\x07" not in out
    assert "75% [47-91] n=12" in lines["careful"] and lines["careful"].rstrip().endswith("-")
    assert "8% [1-35] n=12" in lines["stamper"] and lines["stamper"].rstrip().endswith("pause?")
    assert " 42 " in lines["careful"]  # seconds per production item


def test_json_parses_and_carries_the_figures(db: str) -> None:
    data = json.loads(run(db, "--json").stdout)
    assert data["bar"] == 0.5 and data["below_bar"]["trainers"] == ["stamper"]
    by_name = {p["reviewer"]: p for p in data["trainers"]}
    stamper = by_name["stamper"]
    assert (stamper["catch_rate"]["k"], stamper["catch_rate"]["n"]) == (1, 12)
    assert stamper["suggestion"].startswith("caught 1 of 12")
    assert by_name["careful"]["suggestion"] is None
    one = json.loads(run(db, "stamper", "--json").stdout)
    assert one["reviewer"] == "stamper" and one["by_domain"][0]["key"] == "law"


def test_one_trainer_in_full(db: str) -> None:
    out = run(db, "stamper").stdout
    assert "catch rate on planted errors     8% [1%-35%] (1/12)" in out
    assert "looks like rubber-stamping" in out
    assert "suggested pause                  caught 1 of 12" in out
    assert "by week:" in out and "by domain:" in out and "  law " in out


def test_the_bar_is_a_setting_and_filters_narrow_the_work(db: str) -> None:
    data = json.loads(run(db, "--json", OVERSIGHT_TRAINER_CATCH_BAR="0.2").stdout)
    assert data["bar"] == 0.2 and data["below_bar"]["trainers"] == []
    law = json.loads(run(db, "--json", "--domain", "law").stdout)
    assert [p["reviewer"] for p in law["trainers"]] == ["stamper"]
    later = json.loads(run(db, "--json", "--since", "2999-01-01").stdout)
    assert later["trainers"] == []


def test_an_unknown_trainer_or_date_is_one_clear_line(db: str) -> None:
    result = CliRunner().invoke(cli, ["--db", db, "trainers", "report", "nobody"])
    assert result.exit_code == 1 and "no gold answers or refinements by 'nobody'" in result.stderr
    result = CliRunner().invoke(cli, ["--db", db, "trainers", "report", "--since", "last week"])
    assert result.exit_code == 2 and "is not a date" in result.stderr
