"""`oversight notes import`: failure notes from existing review or critique data."""

from __future__ import annotations

from pathlib import Path

import click

from oversight.cli._common import emit_json, settings_from

__all__ = ["notes"]


@click.group()
def notes() -> None:
    """Failure notes: import existing review or critique data to mine."""


@notes.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--text-field", help="The column holding the critique or explanation text "
                                   "(optional with --before-field/--after-field).")
@click.option("--id-field", help="A column with the file's own ids (kept and shown wherever members are listed).")
@click.option("--source-field", help="A column naming the item each note is about (a story, a document, a "
                                     "question); every row must have one.")
@click.option("--before-field", help="With --after-field: each row is a human edit; this column holds the span "
                                     "before it (blank for an insertion).")
@click.option("--after-field", help="With --before-field: the column holding the span after the edit "
                                    "(blank for a deletion).")
@click.option("--meta-field", "meta_fields", multiple=True,
              help="A column to keep (and slice patterns by). Repeat for more. "
                   "model, prompt_version, domain and kind fill the matching slices; severity (low, medium, "
                   "high) the severity mix; created_at (ISO date or time) the trend.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def import_notes(ctx: click.Context, file: Path, text_field: str | None, id_field: str | None,
                 source_field: str | None, before_field: str | None, after_field: str | None,
                 meta_fields: tuple[str, ...], as_json: bool) -> None:
    """Import failure notes from a JSONL or CSV FILE (all or nothing).

    With --before-field and --after-field each row is a human edit and becomes an edit note
    (its text the --text-field when given, else a plain statement of the edit).
    """
    from oversight.mine.note_files import load_note_file
    from oversight.project import open_store

    if bool(before_field) != bool(after_field):
        given, other = ("--before-field", "--after-field") if before_field else ("--after-field", "--before-field")
        raise click.UsageError(f"{given} needs {other}: an edit is the span before and the span after", ctx=ctx)
    if not text_field and not before_field:
        raise click.UsageError("name the note text (--text-field) or the edit (--before-field and --after-field)",
                               ctx=ctx)
    settings = settings_from(ctx)
    loaded = load_note_file(file, text_field=text_field, id_field=id_field, meta_fields=meta_fields,
                            source_field=source_field, before_field=before_field, after_field=after_field)
    with open_store(settings) as store:
        added, present = store.save_notes(loaded)
    if as_json:
        emit_json({"file": str(file), "added": added, "already_present": present})
    else:
        click.echo(f"imported {added} notes from {file} ({present} already present)")
