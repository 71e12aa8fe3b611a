"""Settings: defaults < oversight.toml < OVERSIGHT_* variables < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.config import load_settings
from oversight.errors import ConfigError


def test_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("oversight.toml").write_text('[oversight]\ndb = "from-toml.db"\nconcurrency = 2\nmodel = "openai/a"\n')
    assert load_settings().db == "from-toml.db"
    monkeypatch.setenv("OVERSIGHT_CONCURRENCY", "9")
    settings = load_settings(model="openai/b")
    assert (settings.db, settings.concurrency, settings.model) == ("from-toml.db", 9, "openai/b")


def test_checkpoints_sit_beside_sqlite_and_share_postgres() -> None:
    assert load_settings(db="x/work.db").checkpoint_location() == "x/work.db.checkpoints.sqlite"
    assert load_settings(db="postgresql://h/db").checkpoint_location() == "postgresql://h/db"


def test_unknown_key_and_bad_toml() -> None:
    Path("oversight.toml").write_text("[oversight]\nmodle = 'x'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings()
    Path("oversight.toml").write_text("[oversight\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_empty_variable_unsets_an_optional_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERSIGHT_MODEL", "")
    assert load_settings().model is None
