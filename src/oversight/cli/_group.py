"""The click group behind `oversight`: global options and lazily imported subcommands."""

from __future__ import annotations

import errno
import importlib
from typing import Any

import click

from oversight.cli._commands import COMMANDS, OPTIONAL_COMMANDS, SHORT_HELP, _available, available_commands

__all__ = ["cli"]


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return available_commands()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name) or (OPTIONAL_COMMANDS.get(cmd_name) if _available(cmd_name) else None)
        if target is None:
            return None
        found = [getattr(importlib.import_module(module_name), attr)
                 for module_name, attr in (part.split(":") for part in ((target,) if isinstance(target, str) else target))]
        if len(found) == 1:
            return found[0]  # type: ignore[no-any-return]
        # one group from several modules: the first's help, every module's commands
        return click.Group(cmd_name, help=found[0].help, commands={n: c for g in found for n, c in g.commands.items()})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line with every write to stdout and stderr escaped (``_output``): no stored
        text, in a result, a diagnostic or an error line, can drive the terminal."""
        from oversight.cli._output import escaped_output

        with escaped_output():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; an OversightError, an OSError (a folder that does not exist, a
        permission denied) or text that is not text (an argument from a shell that is not UTF-8)
        becomes one line on stderr and exit status 1, never a traceback."""
        from oversight.errors import OversightError

        try:
            return super().invoke(ctx)
        except OversightError as exc:
            raise click.ClickException(str(exc)) from exc
        except UnicodeEncodeError as exc:
            text = exc.object if isinstance(exc.object, str) else ""
            bad = text[exc.start : exc.start + 1]
            raise click.ClickException(f"{text[:200]}: holds a lone surrogate (\\u{ord(bad or '?'):04x}), which is "
                                       "not text (an argument or a file name that is not UTF-8?)") from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # stdout closed early (`| head`): click exits quietly
                raise
            from oversight.cli._common import describe_os_error

            raise click.ClickException(describe_os_error(exc)) from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "OVERSIGHT"})
@click.option("--db", envvar="OVERSIGHT_DB", help="SQLite file or PostgreSQL URL.  [default: oversight.db]")
@click.option("--config", "config_path", envvar="OVERSIGHT_CONFIG", metavar="FILE",
              help="Settings file; it must exist.  [default: ./oversight.toml when there is one]")
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


