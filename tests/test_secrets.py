"""Secrets stay out of files and messages (issue 22, #3): `init` writes no database password,
a bad setting never echoes a secret's value, and trainers never see where the database lives."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from oversight.cli import cli
from oversight.config import load_settings
from oversight.errors import ConfigError, StoreError

PASSWORD = "s3cretpw"
KEY = "sk-live-0123456789abcdef"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def _with_password(url: str) -> str:
    from tests.test_hardening import _with_password as add

    return add(url)


@pytest.mark.postgres
def test_init_never_writes_the_database_password(postgres_url: str) -> None:
    db = _with_password(postgres_url)
    result = run("--db", db, "init")
    assert result.exit_code == 0, result.output
    text = Path("oversight.toml").read_text(encoding="utf-8")
    assert PASSWORD not in text
    written = tomllib.loads(text)["oversight"]["db"]
    assert written.startswith("postgresql://") and "@127.0.0.1" in written and "search_path" in written
    assert "OVERSIGHT_DB" in result.stderr and ".pgpass" in result.stderr  # how to give it instead
    assert PASSWORD not in result.output
    assert run("status").exit_code == 0  # the test server trusts local users: the URL as written works


def test_init_writes_a_database_path_as_a_toml_string_whatever_it_holds() -> None:
    db = 'odd "name" \\ with\ttab.db'
    result = run("--db", db, "init")
    assert result.exit_code == 0, result.output
    assert tomllib.loads(Path("oversight.toml").read_text(encoding="utf-8"))["oversight"]["db"] == db


@pytest.mark.parametrize(("setting", "value"), [
    ("api_key", f'["{KEY}"]'), ("api_key", "12345678901"), ("db", f'["postgresql://u:{PASSWORD}@h/d"]'),
    ("checkpoints", f'{{ url = "postgresql://u:{PASSWORD}@h/d" }}'), ("api_base", f'["http://u:{PASSWORD}@h/v1"]'),
])
def test_a_bad_secret_setting_is_named_but_its_value_never_shown(setting: str, value: str) -> None:
    Path("oversight.toml").write_text(f"[oversight]\n{setting} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"'{setting}'" in message
    assert KEY not in message and PASSWORD not in message and "12345678901" not in message
    result = run("status")
    assert result.exit_code == 1 and KEY not in result.output and PASSWORD not in result.output


def test_a_bad_ordinary_setting_still_shows_what_it_got() -> None:
    Path("oversight.toml").write_text('[oversight]\nconcurrency = "lots"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'lots'"):
        load_settings()


def test_a_store_failure_shows_trainers_a_generic_page_and_logs_the_details(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from fastapi.testclient import TestClient

    from oversight.project import Project
    from oversight.web.app import create_app

    settings = load_settings(db=str(tmp_path / "page.db"), model="openai/x", api_base="http://127.0.0.1:9/v1")
    detail = "database read failed (postgresql://alice:***@db.internal:5432/prod): server closed the connection"
    with Project.open(settings) as project:
        app = create_app(project)

        @app.get("/fails")
        def fails() -> None:
            raise StoreError(detail)

        with caplog.at_level(logging.ERROR, logger="oversight.web"), TestClient(app) as client:
            page = client.get("/fails")
    assert page.status_code == 503
    for leak in ("alice", "db.internal", "prod", "5432", "postgresql"):
        assert leak not in page.text
    assert "database" in page.text.lower()
    assert any("db.internal" in record.getMessage() for record in caplog.records)  # the operator sees where
