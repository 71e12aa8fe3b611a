"""`oversight refinements import`: post-edits (model output and its human correction) as refinements."""

from __future__ import annotations

from pathlib import Path

import click

from oversight.cli._common import emit_json, settings_from

__all__ = ["refinements"]


@click.group()
def refinements() -> None:
    """Refinements: import post-editing data (model output and its human correction) to mine."""


@refinements.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--draft-field", required=True, help="The column holding the model output.")
@click.option("--refined-field", required=True, help="The column holding the human-corrected output.")
@click.option("--id-field", help="A column with the file's own row ids (a re-import is matched by them).")
@click.option("--source-field", help="A column naming the item each output answers (becomes the task id).")
@click.option("--tags-field", help="A column of failure tags: a list, or text separated by commas.")
@click.option("--rationale-field", help="A column saying why the output was corrected.")
@click.option("--reviewer-field", help="A column naming who corrected it.")
@click.option("--prompt-field", help="A column holding what the model was asked.")
@click.option("--context-field", help="A column holding the passage or document the output should rest on "
                                      "(edit notes then say whether removed words were in it).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def import_refinement_file(ctx: click.Context, file: Path, as_json: bool, **fields: str | None) -> None:
    """Import model outputs and their corrections from a JSONL, CSV or Parquet FILE (checked whole first).

    Each row becomes a refinement; the next `oversight mine` reads its edits into failure notes.
    """
    from oversight.project import open_store
    from oversight.refine.post_edits import import_refinements, load_refinement_file

    settings = settings_from(ctx)
    items = load_refinement_file(file, **fields)  # type: ignore[arg-type]
    with open_store(settings) as store:
        added, present = import_refinements(store, items, source_file=file)
    if as_json:
        emit_json({"file": str(file), "added": added, "already_present": present})
    else:
        click.echo(f"imported {added} refinement(s) from {file} ({present} already present)")
