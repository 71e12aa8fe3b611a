"""`oversight tasks import|list`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from oversight.cli._common import emit_json, err, settings_from, visible

if TYPE_CHECKING:
    from oversight.schemas import Draft, Task


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
@click.option("--draft-field", metavar="NAME",
              help="The column holding each task's draft (a model's answer, to review instead of drafting one).")
@click.option("--model-field", metavar="NAME", help="The column naming the model that wrote each draft.")
@click.option("--no-critique", is_flag=True,
              help="Queue the imported drafts for review at once, without an AI critique.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_tasks(ctx: click.Context, file: str, maps: tuple[str, ...], draft_field: str | None,
                 model_field: str | None, no_critique: bool, as_json: bool) -> None:
    """Import tasks from a JSONL, CSV or Parquet FILE (fields: prompt, id, input, context, domain, kind, reference).

    Tasks can come with their drafts: --draft-field names the column, or chat lines
    ({"messages": [...]}, an assistant turn last: the draft) carry them. `oversight draft` then
    critiques them (no model drafts them), or --no-critique queues them for review at once.
    The file is imported whole or not at all: on any error nothing is imported. Creates the
    database when there is none yet (the only command besides init and demo that does).
    """
    from oversight.project import open_store
    from oversight.refine.tasks import read_tasks
    from oversight.store import database_url, masked_url

    settings = settings_from(ctx)
    rows = read_tasks(file, mapping=_parse_map(maps), draft_field=draft_field, model_field=model_field,
                      critique=not no_critique)
    read = drafts = 0

    def pairs() -> Iterator[tuple[Task, Draft | None]]:  # read as they are written: memory stays flat
        nonlocal read, drafts
        for item in rows:
            read, drafts = read + 1, drafts + (item.draft is not None)
            yield item.task, item.draft

    url = database_url(settings.db)
    creating = url.startswith("sqlite:///") and url != "sqlite:///:memory:" \
        and not Path(url.removeprefix("sqlite:///")).exists()
    try:
        with open_store(settings) as store:  # one transaction: a bad row rolls back every row before it
            added, present = store.add_imported_tasks(pairs(), source=file)
    except BaseException:
        if creating:  # a bad file leaves no database behind where there was none
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        raise
    if creating:
        err(f"created a new database at {masked_url(settings.db)}")
    if as_json:
        emit_json({"file": file, "read": read, "drafts": drafts, "added": added, "already_present": present})
        return
    with_drafts = "" if not drafts else " with their drafts" if drafts == read else f" ({drafts} with drafts)"
    click.echo(f"imported {added} task(s){with_drafts} from {visible(file)}"
               + (f" ({present} already present)" if present else ""))
    if drafts and no_critique:
        err(f"next: oversight review   (database: {masked_url(settings.db)})")
    elif drafts:
        err(f"next: oversight draft   (critiques the imported drafts, drafts the rest; database: {masked_url(settings.db)})")
    else:
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
