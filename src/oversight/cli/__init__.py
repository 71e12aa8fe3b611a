"""The command line: parse, call the library, render.

Start-up is kept fast: `oversight` and `oversight --help` print the overview without
importing click; any command imports click and then only that command's module (and
litellm, langgraph, SQLAlchemy behind it) when it runs.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["cli", "main", "top_help"]

_GLOBAL_OPTIONS = [
    ("--db TEXT", "SQLite file or PostgreSQL URL.  [default: oversight.db; env OVERSIGHT_DB]"),
    ("--config FILE", "Settings file; it must exist.  [default: ./oversight.toml; env OVERSIGHT_CONFIG]"),
    ("--version", "Show the version and exit."),
    ("-h, --help", "Show this message and exit."),
]


def top_help() -> str:
    """The overview `oversight --help` prints (the same commands the click group has)."""
    from oversight.cli._commands import SHORT_HELP, available_commands

    lines = [
        "Usage: oversight [OPTIONS] COMMAND [ARGS]...",
        "",
        "  oversight: model drafts, AI critique, human refinement, failure patterns.",
        "",
        "  Every option can also be set with an OVERSIGHT_* environment variable",
        "  (OVERSIGHT_DB, OVERSIGHT_MODEL, OVERSIGHT_CONCURRENCY, ...) or in oversight.toml.",
        "  `oversight COMMAND --help` shows a command's options.",
        "",
        "Options:",
    ]
    width = max(len(name) for name, _ in _GLOBAL_OPTIONS) + 2
    lines += [f"  {name:<{width}}{text}" for name, text in _GLOBAL_OPTIONS]
    lines += ["", "Commands:"]
    names = available_commands()
    width = max(len(n) for n in names) + 2
    lines += [f"  {name:<{width}}{SHORT_HELP.get(name, '')}" for name in names]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args in (["--help"], ["-h"]):
        sys.stdout.write(top_help())
        sys.exit(0)
    from oversight.cli._group import cli as group

    group.main(args=args, prog_name="oversight")


def __getattr__(name: str) -> Any:
    if name == "cli":  # the click group, for scripts and CliRunner tests
        from oversight.cli._group import cli as group

        return group
    raise AttributeError(name)
