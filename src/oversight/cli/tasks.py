"""`oversight tasks import|list`."""

from __future__ import annotations

from pathlib import Path

import click

from oversight.cli._common import emit_json, err, settings_from, visible


def _parse_map(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise click.BadParameter(f"{pair!r}: use FIELD=COLUMN, e.g. prompt=question", param_hint="--map")
        mapping[field.strip()] = column.strip()
    return mapping


@click.group()
def tasks() -> None:
    """Import and list tasks."""


@tasks.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help="Read a task field from another column, e.g. --map prompt=question. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_tasks(ctx: click.Context, file: str, maps: tuple[str, ...], as_json: bool) -> None:
    """Import tasks from a JSONL or CSV FILE (fields: prompt, id, input, context, domain, kind, reference).

    The whole file is checked first; on any error nothing is imported. Creates the
    database when there is none yet (the only command besides init and demo that does).
    """
    from oversight.project import open_store
    from oversight.refine.tasks import load_tasks
    from oversight.store import database_url, masked_url

    settings = settings_from(ctx)
    loaded = load_tasks(file, mapping=_parse_map(maps))
    url = database_url(settings.db)
    creating = url.startswith("sqlite:///") and url != "sqlite:///:memory:" \
        and not Path(url.removeprefix("sqlite:///")).exists()
    with open_store(settings) as store:
        if creating:
            err(f"created a new database at {masked_url(settings.db)}")
        added, present = store.add_tasks(loaded, source=file)
    if as_json:
        emit_json({"file": file, "read": len(loaded), "added": added, "already_present": present})
    else:
        click.echo(f"imported {added} task(s) from {visible(file)}" + (f" ({present} already present)" if present else ""))
        err(f"next: oversight draft   (database: {masked_url(settings.db)})")


@tasks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_tasks(ctx: click.Context, as_json: bool) -> None:
    """List tasks with their state."""
    from oversight.project import open_store

    settings = settings_from(ctx)
    with open_store(settings, create=False) as store:
        states = {s.task_id: s.state for s in store.task_states()}
        all_tasks = store.tasks()
    if as_json:
        emit_json([{**t.model_dump(mode="json"), "state": states.get(t.id)} for t in all_tasks])
        return
    for task in all_tasks:
        prompt = visible(" ".join(task.prompt.split()))  # untrusted text: no escape reaches the terminal
        click.echo(f"{visible(task.id):<24} {states.get(task.id, ''):<16} {prompt[:70]}")
