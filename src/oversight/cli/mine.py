"""Commands for failure patterns: `notes import`, `refinements import`, `mine`, `patterns`, `report`.

Heavy imports (numpy, sklearn, onnxruntime, litellm) happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oversight.cli._common import emit_json, err, settings_from, with_model_options

if TYPE_CHECKING:
    from oversight.mine.miner import MiningResult, Progress
    from oversight.project import Project
    from oversight.store import Store

__all__ = ["mine", "mine_with_project", "notes", "patterns", "refinements", "report", "report_text", "run_mining"]


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


async def mine_with_project(rt: Project, names: str, *, progress: Progress = err, top_level: int | None = None,
                            abstract: bool = False, wait: bool = False) -> MiningResult:
    """Mine the project's store: names (and edit notes) by its namer when asked and available, else keywords.

    ``top_level``: how many themes the report's first level has (default 10). ``abstract``: the
    namer first restates every note as a topic-free failure (Clio-style; answers kept in the store)."""
    from oversight.mine.abstract import ABSTRACT_PROMPT, NoteAbstractor
    from oversight.mine.cluster import ClusterParams
    from oversight.mine.miner import mine as mine_notes
    from oversight.mine.naming import NAME_PROMPT
    from oversight.mine.notes import llm_edit_explainer

    available = (names == "llm" or abstract) and await rt.model_available(rt.namer)
    namer = rt.namer if names == "llm" and available else None
    if names == "llm" and namer is None:
        progress("oversight: naming with keywords instead")
    abstractor = NoteAbstractor(rt.namer, rt.prompt(ABSTRACT_PROMPT)) if abstract and available else None
    if abstract and abstractor is None:
        progress("oversight: no model to restate notes with; embedding them as written")
    explain = llm_edit_explainer(namer, rt.prompt("edit_note")) if namer is not None else None
    return await mine_notes(
        rt.store, names="llm" if namer is not None else "keywords", llm=namer, embedder=rt.embedder,
        params=ClusterParams(top_level=top_level) if top_level else None, explain_edits=explain, abstract=abstractor, name_prompt=rt.prompt(NAME_PROMPT) if namer is not None else None, progress=progress,
        wait=wait,
    )


def run_mining(ctx: click.Context, names: str, *, model_overrides: dict[str, Any] | None = None,
               top_level: int | None = None, abstract: bool = False, wait: bool = False) -> MiningResult:
    """Mine the store's notes; names with the configured (or embedded) model, else keywords."""
    import asyncio

    from oversight.project import Project

    settings = settings_from(ctx, **{k: v for k, v in (model_overrides or {}).items() if v is not None})
    with Project.open(settings, create=False) as rt:
        return asyncio.run(mine_with_project(rt, names, top_level=top_level, abstract=abstract, wait=wait))


@click.command()
@click.option("--names", type=click.Choice(["llm", "keywords"]), default="llm", show_default=True,
              help="Who names the patterns: a model (Clio-style, contrasted with neighbours) or distinctive keywords.")
@click.option("--top-level", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many themes the report's first level has; finer patterns are nested under them "
                   "(a lead reads about as many headings as a failure taxonomy has categories).")
@click.option("--abstract", is_flag=True,
              help="First have the naming model restate each note as a topic-free failure (one call per distinct "
                   "note, kept in the database; worth it with a capable model).")
@click.option("--wait", is_flag=True,
              help="When another mine run holds the database, wait for it to end (default: say so and stop).")
@with_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def mine(ctx: click.Context, names: str, top_level: int, abstract: bool, wait: bool, as_json: bool,
         **model: Any) -> None:
    """Turn refinements into failure notes and cluster all notes into named patterns.

    Patterns follow the failure, not the subject: each note's task (or imported --source-field)
    is masked out of its text and discounted from its vector before clustering. One run at a time
    per database: a second one says who holds it (or waits, with --wait)."""
    result = run_mining(ctx, names, model_overrides=model, top_level=top_level, abstract=abstract, wait=wait)
    run = result.run
    if as_json:
        emit_json(run.model_dump(mode="json", exclude={"noise_ids"}))
        return
    click.echo(f"{run.patterns} patterns in {run.themes} themes from {run.notes} notes "
               f"({run.matched} continued, {run.noise} noise); run {run.id}")
    cut = run.params.get("cut") or {}
    if cut.get("cut") == "silhouette":
        click.echo(f"cut where the patterns are best separated: silhouette {cut['silhouette']} among cuts giving "
                   f"{cut['band'][0]} to {cut['band'][1]} patterns (--json: the whole curve)")


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="A list of patterns (id, name, description, size, members) plus the noise ids.")
@click.option("--limit", type=int, default=0, help="Show only the largest N patterns.")
@click.pass_context
def patterns(ctx: click.Context, as_json: bool, limit: int) -> None:
    """List the failure patterns of the last mining run."""
    from oversight.project import open_store
    from oversight.report import report_data

    with open_store(settings_from(ctx), create=False) as store:
        result, notes_by_id = _last_run(store)
    data = report_data(result, notes_by_id)
    shown = data["patterns"][:limit] if limit else data["patterns"]
    if as_json:
        emit_json({"patterns": [{k: p[k] for k in ("id", "name", "description", "size", "members", "theme_id")}
                                | {"prevalence": p["stats"]["prevalence"]} for p in shown],
                   "noise": data["noise"], "run": data["run"]})
        return
    _print_table(shown, data)


def _last_run(store: Store) -> tuple[MiningResult, dict[str, Any]]:
    from oversight.leads import last_run

    return last_run(store)


def report_text(store: Store, fmt: str, *, audit: bool = True) -> str:
    """The leads' report (``oversight.leads.report_text``, which the review page shows too)."""
    from oversight.leads import report_text as text

    return text(store, fmt, audit=audit)


def _print_table(shown: list[dict[str, Any]], data: dict[str, Any]) -> None:
    width = max([len(p["name"]) for p in shown] + [7])
    width = min(width, 60)
    click.echo(f"{'ID':<20} {'PATTERN':<{width}} {'NOTES':>6} {'PREV':>6}  TREND")
    for p in shown:
        trend = p["stats"]["trend"][-8:]
        top = max([t["share"] for t in trend] + [1e-9])
        spark = "".join("▁▂▃▄▅▆▇█"[min(7, int(t["share"] / top * 7))] for t in trend)
        name = p["name"] if len(p["name"]) <= width else p["name"][: width - 1] + "…"
        click.echo(f"{p['id']:<20} {name:<{width}} {p['size']:>6} {p['stats']['prevalence']:>6.1%}  {spark}")
    run = data["run"]
    err(f"{run['patterns']} patterns, {run['noise']} noise notes, run {run['id']}")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json"]), default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: failure-patterns.<format>; '-' for stdout).")
@click.pass_context
def report(ctx: click.Context, fmt: str, output: Path | None) -> None:
    """Write the leads' report: self-contained HTML (charts, no network), Markdown or JSON.

    Judgments kept in the store (`oversight audit judgments FILE --save`) add an audit section.
    """
    from oversight.cli._common import writable_path
    from oversight.project import open_store

    if output is not None and str(output) != "-":
        writable_path(output)  # before the work: a folder that does not exist is one line, not a traceback
    with open_store(settings_from(ctx), create=False) as store:
        text = report_text(store, fmt)
    if output is not None and str(output) == "-":
        click.echo(text)
        return
    path = output or Path(f"failure-patterns.{fmt}")
    path.write_text(text, encoding="utf-8")
    click.echo(str(path))
