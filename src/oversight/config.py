"""Settings: defaults, then ``oversight.toml``, then ``OVERSIGHT_*`` variables, then flags.

Every setting has an environment variable named ``OVERSIGHT_`` + its upper-case name
(``OVERSIGHT_DB``, ``OVERSIGHT_MODEL``, ``OVERSIGHT_CONCURRENCY`` ...). ``oversight.toml``
is read from the working directory (or ``OVERSIGHT_CONFIG``) with the same keys. A file
named on purpose (``--config``, ``OVERSIGHT_CONFIG``) must exist; only the default may be absent.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oversight.errors import ConfigError

__all__ = ["Settings", "load_settings", "CONFIG_FILE"]

CONFIG_FILE = "oversight.toml"
ENV_PREFIX = "OVERSIGHT_"
# settings that may hold a password or a key: an error names them but never shows their value
SECRET_SETTINGS = frozenset({"api_key", "api_base", "db", "checkpoints"})
# the database URLs the store and the checkpointer open; a path without a scheme is a SQLite file
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


class Settings(BaseModel):
    """Everything oversight can be told. Field names are the toml keys."""

    model_config = ConfigDict(extra="forbid")

    db: str = Field(default="oversight.db", description="SQLite file path or PostgreSQL URL.")
    checkpoints: str | None = Field(
        default=None,
        description="Where refine threads persist: a SQLite file or PostgreSQL URL. "
        "Default: beside a SQLite db (<db>.checkpoints.sqlite), or the same PostgreSQL database.",
    )
    model: str | None = Field(default=None, description="litellm model string; unset: the embedded model.")
    critic_model: str | None = Field(default=None, description="Model for critiques; unset: same as model.")
    judge_model: str | None = Field(default=None, description="LLM judge for audits; unset: the critic model.")
    namer_model: str | None = Field(default=None, description="Names failure patterns; unset: the critic model.")
    embedding_model: str | None = Field(
        default=None, description="litellm embedding model for clustering; unset: the bundled all-MiniLM-L6-v2."
    )
    api_base: str | None = Field(default=None, description="Base URL for an OpenAI-compatible server.")
    api_key: str | None = Field(default=None, description="API key (else the provider's own variable).")
    prompts_dir: str | None = Field(default=None, description="A folder of your own prompt files.")
    concurrency: int = Field(default=4, ge=1, le=256)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=384, ge=1)
    structured_output: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    reviewer: str | None = Field(default=None, description="Name recorded on refinements.")
    timeout: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=20)
    lease_seconds: float = Field(default=600.0, gt=0, description="How long a worker holds a task it drafts.")
    review_lease_seconds: float = Field(
        default=1800.0, gt=0, description="How long a trainer holds a claimed item before it returns to the queue."
    )
    calibration_every: int = Field(
        default=10, ge=1, description="A trainer meets a calibration item first, then after every N items refined."
    )
    trainer_catch_bar: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="A pause is suggested for a trainer whose catch rate's 95% interval lies wholly below this.",
    )
    gold_rate: float = Field(
        default=0.05, ge=0.0, le=1.0,
        description="Chance that a trainer's next item is a gold item (hidden among the real ones), when one is left.",
    )
    gold_feedback: bool = Field(
        default=False, description="After a gold item, show the trainer what was planted or the expert's version.",
    )

    @field_validator("db", "checkpoints")
    @classmethod
    def _a_database_oversight_opens(cls, value: str | None) -> str | None:
        scheme, sep, _ = (value or "").partition("://")
        if sep and scheme.lower() not in DATABASE_SCHEMES:
            shown = scheme if scheme.replace("+", "").isalnum() else "this scheme"
            raise ValueError(f"{shown}:// is not a database oversight can use: give a SQLite file path "
                             "or a postgresql:// URL")
        return value

    def checkpoint_location(self) -> str:
        """Where the refine graph's checkpointer keeps threads."""
        if self.checkpoints:
            return self.checkpoints
        if "://" in self.db and not self.db.startswith("sqlite"):
            return self.db
        path = self.db.removeprefix("sqlite:///")
        return f"{path}.checkpoints.sqlite"


def _coerce_env(name: str, raw: str) -> Any:
    field = Settings.model_fields[name]
    if raw == "" and field.default is None:
        return None
    return raw


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from the layers. ``None`` overrides are ignored. Raises ConfigError."""
    values: dict[str, Any] = dict(_read_file(config_path))
    for name in Settings.model_fields:
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce_env(name, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        name = str(first["loc"][0]) if first["loc"] else field
        shown = repr(first.get("input"))
        shown = shown if len(shown) <= 80 else shown[:60] + f"... ({len(shown):,} characters)"
        got = "" if name in SECRET_SETTINGS else f" (got {shown})"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"setting '{field}' (OVERSIGHT_{name.upper()}): {message}{got}") from None


def _read_file(config_path: str | Path | None) -> dict[str, Any]:
    """The settings in the file: the one named (``config_path``, else OVERSIGHT_CONFIG), which must
    exist, or ./oversight.toml when there is one. Raises ConfigError naming the file."""
    named = config_path or os.environ.get(ENV_PREFIX + "CONFIG") or None
    path = Path(named or CONFIG_FILE)
    if not path.is_file():
        if named is None and not path.exists():
            return {}
        what = "is a folder, not a settings file" if path.is_dir() else "no such settings file"
        raise ConfigError(f"{path}: {what}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except ValueError:  # an integer of more digits than Python converts
        raise ConfigError(f"{path}: holds a number of more than {sys.get_int_max_str_digits()} digits") from None
    section = data.get("oversight", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: 'oversight' must be a table of settings ([oversight] and key = value lines)")
    unknown = set(section) - set(Settings.model_fields)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
    return section
