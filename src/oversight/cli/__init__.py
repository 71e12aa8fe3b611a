"""The command line: parse, call the library, render.

Only click is imported at start-up; each command's module (and litellm, langgraph,
SQLAlchemy behind it) is imported when that command runs, so ``oversight --help``
stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

__all__ = ["cli", "main"]

# command name -> "module:attribute", imported on use
COMMANDS: dict[str, str] = {
    "init": "oversight.cli.refine:init",
    "tasks": "oversight.cli.tasks:tasks",
    "draft": "oversight.cli.refine:draft",
    "review": "oversight.cli.review:review",
    "status": "oversight.cli.refine:status",
    "export": "oversight.cli.refine:export",
    "demo": "oversight.cli.demo:demo",
    "model": "oversight.cli.model:model",
}

# Subsystems add their commands here (each module:attribute is a click command or group).
OPTIONAL_COMMANDS: dict[str, str] = {
    "notes": "oversight.cli.mine:notes",
    "mine": "oversight.cli.mine:mine",
    "patterns": "oversight.cli.mine:patterns",
    "report": "oversight.cli.mine:report",
    "audit": "oversight.cli.audit:audit",
}

SHORT_HELP: dict[str, str] = {
    "init": "Create oversight.toml and the database here.",
    "tasks": "Import and list tasks.",
    "draft": "Draft and critique every pending task, up to the human pause.",
    "review": "Refine drafts in the terminal: accept, edit, rewrite, reject, skip.",
    "status": "Counts of tasks by state.",
    "export": "Export refinements (JSONL or Parquet).",
    "demo": "Run the whole loop on bundled real tasks with the embedded model.",
    "model": "The embedded default model (serve it, show where it is).",
    "notes": "Import failure notes from existing review data.",
    "mine": "Cluster failure notes into named patterns.",
    "patterns": "List failure patterns.",
    "report": "Write the leads' failure-pattern report.",
    "audit": "Audit judgments for style bias, agreement and blind spots.",
}


def _available(name: str) -> bool:
    if name in COMMANDS:
        return True
    module = OPTIONAL_COMMANDS.get(name, "").split(":")[0]
    if not module:
        return False
    return importlib.util.find_spec(module) is not None


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = list(COMMANDS) + [n for n in OPTIONAL_COMMANDS if _available(n)]
        return names

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name) or (OPTIONAL_COMMANDS.get(cmd_name) if _available(cmd_name) else None)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from oversight.errors import OversightError

        try:
            return super().invoke(ctx)
        except OversightError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "OVERSIGHT"})
@click.option("--db", envvar="OVERSIGHT_DB", help="SQLite file or PostgreSQL URL.  [default: oversight.db]")
@click.option("--config", "config_path", envvar="OVERSIGHT_CONFIG", type=click.Path(dir_okay=False),
              help="Settings file.  [default: ./oversight.toml]")
@click.version_option(package_name="oversight", prog_name="oversight")
@click.pass_context
def cli(ctx: click.Context, db: str | None, config_path: str | None) -> None:
    """oversight: model drafts, AI critique, human refinement, failure patterns.

    Every option can also be set with an OVERSIGHT_* environment variable
    (OVERSIGHT_DB, OVERSIGHT_MODEL, OVERSIGHT_CONCURRENCY, ...) or in oversight.toml.
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    ctx.obj["config_path"] = config_path


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="oversight")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
