"""`oversight mine`, `patterns` and `report` on imported real critique data."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from oversight.cli import cli
from tests.mine.conftest import TTCW


def test_import_mine_list_and_report(tmp_path: Path) -> None:
    runner = CliRunner()
    db = ["--db", str(tmp_path / "o.db")]
    ok = runner.invoke(cli, [*db, "notes", "import", str(TTCW), "--text-field", "explanation", "--id-field", "id",
                             "--meta-field", "category"])
    assert ok.exit_code == 0, ok.output
    mined = runner.invoke(cli, [*db, "mine", "--names", "keywords", "--top-level", "4", "--json"])
    assert mined.exit_code == 0, mined.output
    run = json.loads(mined.stdout)
    assert run["notes"] == 120 and run["patterns"] > 4 and run["names"] == "keywords"
    assert run["themes"] == 4  # the first level has the number of entries asked for
    assert runner.invoke(cli, [*db, "mine", "--top-level", "0"]).exit_code == 2

    listed = runner.invoke(cli, [*db, "patterns", "--json"])
    data = json.loads(listed.stdout)
    ids = {json.loads(line)["id"] for line in TTCW.read_text().splitlines()}
    members = [m for p in data["patterns"] for m in p["members"]]
    assert set(members) | set(data["noise"]) == ids  # every row once, by the file's own id
    assert len(members) + len(data["noise"]) == 120
    for pattern in data["patterns"]:
        assert {"id", "name", "description", "size", "members"} <= set(pattern)
        assert pattern["size"] == len(pattern["members"])

    table = runner.invoke(cli, [*db, "patterns"])
    assert table.exit_code == 0 and data["patterns"][0]["id"] in table.stdout

    out = tmp_path / "r.html"
    assert runner.invoke(cli, [*db, "report", "-o", str(out)]).exit_code == 0
    assert all(p["id"] in out.read_text() for p in data["patterns"])
    md = runner.invoke(cli, [*db, "report", "--format", "md", "-o", "-"])
    assert md.stdout.startswith("# Failure patterns") and data["patterns"][0]["name"] in md.stdout


def test_patterns_before_any_run_is_a_clear_error(tmp_path: Path) -> None:
    db = str(tmp_path / "o.db")
    missing = CliRunner().invoke(cli, ["--db", db, "patterns"])
    assert missing.exit_code == 1 and "no database at" in missing.output and not Path(db).exists()
    assert CliRunner().invoke(cli, ["--db", db, "init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--db", db, "patterns"])
    assert result.exit_code == 1 and "oversight mine" in result.output


def test_mine_with_no_model_available_falls_back_to_keywords(tmp_path: Path, monkeypatch) -> None:
    import oversight.project as project_module
    from oversight.errors import LocalModelError

    def no_model(self) -> None:
        raise LocalModelError("the embedded model is not installed")

    monkeypatch.setattr(project_module.Project, "_start_embedded_blocking", no_model)
    runner = CliRunner()
    db = ["--db", str(tmp_path / "o.db")]
    runner.invoke(cli, [*db, "notes", "import", str(TTCW), "--text-field", "explanation"])
    result = runner.invoke(cli, [*db, "mine", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["names"] == "keywords" and "naming with keywords" in result.stderr
    assert "not installed" in result.stderr


async def test_mine_and_report_writes_both_formats_for_the_demo(tmp_path: Path) -> None:
    from oversight.config import load_settings
    from oversight.demo import mine_and_report
    from oversight.mine.note_files import load_note_file
    from oversight.project import Project

    with Project.open(load_settings(db=str(tmp_path / "d.db"))) as project:
        project.store.save_notes(load_note_file(TTCW, text_field="explanation", id_field="id"))
        done = await mine_and_report(project, tmp_path / "out", names="keywords")
    assert done["html"].read_text().startswith("<!doctype html>") and done["markdown"].exists()
    assert done["result"].patterns and any("patterns" in line for line in done["next"])


def test_public_api_resolves() -> None:
    import oversight.mine as mine_api

    for name in mine_api.__all__:
        assert getattr(mine_api, name) is not None
