"""`oversight report`: the leads' failure-pattern report (``oversight.leads.report_text``)."""

from __future__ import annotations

from pathlib import Path

import click

from oversight.cli._common import settings_from, store_from, writable_path

__all__ = ["report"]


@click.command()
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json"]), default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: failure-patterns.<format>; '-' for stdout).")
@click.pass_context
def report(ctx: click.Context, fmt: str, output: Path | None) -> None:
    """Write the leads' report: self-contained HTML (charts, no network), Markdown or JSON.

    Judgments kept in the store (`oversight audit judgments FILE --save`) add an audit section.
    """
    from oversight.leads import report_text

    if output is not None and str(output) != "-":
        writable_path(output)  # before the work: a folder that does not exist is one line, not a traceback
    with store_from(ctx, create=False) as store:
        text = report_text(store, fmt, bar=settings_from(ctx).trainer_catch_bar)
    if output is not None and str(output) == "-":
        click.echo(text)
        return
    path = output or Path(f"failure-patterns.{fmt}")
    path.write_text(text, encoding="utf-8")
    click.echo(str(path))
