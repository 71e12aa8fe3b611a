"""Helpers shared by the commands: settings from the context, progress, output."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oversight.cli._output import Styled, say, unescaped
from oversight.config import Settings, load_settings
from oversight.visible import visible

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = ["Progress", "Styled", "describe_os_error", "emit_json", "err", "moment", "say", "settings_from", "store_from",
           "trust_option", "trusted_from", "visible", "with_model_options", "writable_path"]


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings: oversight.toml, then OVERSIGHT_* variables, then the command's flags."""
    root = ctx.find_root().obj or {}
    return load_settings(root.get("config_path"), db=root.get("db"), **overrides)


def store_from(ctx: click.Context, *, create: bool = True) -> Store:
    """The store the global --db (or settings) names. ``create=False``: a missing SQLite database is an error."""
    from oversight.project import open_store

    return open_store(settings_from(ctx), create=create)


def err(message: str) -> None:
    """A diagnostic line on stderr (never stdout: stdout is for results)."""
    click.echo(message, err=True)


def emit_json(value: Any) -> None:
    """JSON on stdout; control characters escaped as JSON escapes (json leaves DEL, C1 and bidi raw)."""
    click.echo(visible(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def moment(value: str | None, option: str, *, end_of_day: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD: the day's start, or with ``end_of_day`` the next day's) or an ISO time; UTC unless given."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)",
                                 param_hint=option) from None
    if end_of_day and len(value.strip()) == 10:
        when += timedelta(days=1)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def writable_path(path: str | Path) -> Path:
    """``path`` as an output file, checked before any work: its folder must exist. Raises ClickException."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise click.ClickException(f"cannot write {target}: the folder {folder} {problem}")
    return target


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: the file and what went wrong (``out.jsonl: permission denied``)."""
    reason = exc.strerror or str(exc)
    reason = reason[:1].lower() + reason[1:]
    if isinstance(exc, FileNotFoundError) and exc.filename and not Path(exc.filename).parent.is_dir():
        return f"{exc.filename}: the folder {Path(exc.filename).parent} does not exist"
    return f"{exc.filename}: {reason}" if exc.filename else reason


class Progress:
    """A progress bar on a terminal; plain lines (about ten per run) when stderr is piped."""

    def __init__(self, total: int, label: str, *, stream: Any = None):
        self.total = total
        self.done = 0
        self.stream = unescaped(stream or sys.stderr)  # the bar's own escapes; its text goes through visible
        self.label = label = visible(label)
        self._bar = None
        self._step = max(1, total // 10)
        if total and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, file=self.stream, unit="task", dynamic_ncols=True)

    def advance(self, note: str = "") -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
            if note:
                self._bar.set_postfix_str(visible(note), refresh=False)
        elif self.done % self._step == 0 or self.done == self.total:
            print(f"{self.label}: {self.done}/{self.total}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


model_options = [
    click.option("--model", envvar="OVERSIGHT_MODEL",
                 help="litellm model string (openai/gpt-4o-mini, ollama/llama3.2, ...). Default: the embedded SmolLM2."),
    click.option("--critic-model", envvar="OVERSIGHT_CRITIC_MODEL", help="Model for critiques. Default: --model."),
    click.option("--api-base", envvar="OVERSIGHT_API_BASE", help="Base URL of an OpenAI-compatible server."),
    click.option("--prompts-dir", envvar="OVERSIGHT_PROMPTS_DIR", type=click.Path(file_okay=False),
                 help="A folder with your own prompt files."),
    click.option("--concurrency", envvar="OVERSIGHT_CONCURRENCY", type=click.IntRange(1, 256),
                 help="Model calls at once.  [default: 4]"),
]


def with_model_options(func: Any) -> Any:
    for option in reversed(model_options):
        func = option(func)
    return func


def trust_option(func: Any) -> Any:
    """--trust qualified|all: whose refinements (or judgments) a stage reads."""
    return click.option(
        "--trust", type=click.Choice(["qualified", "all"]), default="all", show_default=True,
        help="Whose work to read: 'qualified' leaves out trainers a lead paused, those below the bar (catch rate's "
             "95% upper bound under trainer_catch_bar on gold items) and those not qualified where an assessment exists.")(func)


def trusted_from(store: Store, trust: str, *, among: Any = None) -> set[str] | None:
    """The trust decision for --trust (None: everyone's work), said on stderr when it leaves anyone out.
    The bar is the ``trainer_catch_bar`` setting, as on the lead pages."""
    from oversight.review.qualify import trusted_reviewers

    ctx = click.get_current_context(silent=True)
    bar = settings_from(ctx).trainer_catch_bar if ctx is not None else None
    trusted = trusted_reviewers(store, trust=trust, among=among,  # type: ignore[arg-type]
                                **({"bar": bar} if bar is not None else {}))
    if trust == "qualified":
        err("oversight: every reviewer is trusted (no pause, nobody below the bar or unqualified)" if trusted is None
            else f"oversight: reading the work of {len(trusted)} trusted reviewer(s) only")
    return trusted
