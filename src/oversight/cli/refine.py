"""`oversight init|draft|status|export`: the refine loop's batch commands."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from oversight.cli._common import Progress, emit_json, err, settings_from, with_model_options

TOML_TEMPLATE = """\
# oversight settings. Every key can also be set as OVERSIGHT_<KEY> (e.g. OVERSIGHT_MODEL).
[oversight]
db = "{db}"
# model = "openai/gpt-4o-mini"      # any litellm model string; unset: the embedded SmolLM2
# critic_model = "openai/gpt-4o"   # the AI reviewer; unset: same as model
# api_base = "http://127.0.0.1:8080/v1"
# prompts_dir = "prompts"          # your own prompt files (draft.md, critique.md)
concurrency = 4
# reviewer = "your-name"
"""


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing oversight.toml.")
@click.pass_context
def init(ctx: click.Context, force: bool) -> None:
    """Create oversight.toml and the database in this folder."""
    from oversight.config import CONFIG_FILE
    from oversight.store import Store

    settings = settings_from(ctx)
    path = Path(CONFIG_FILE)
    if path.exists() and not force:
        err(f"{path} exists (use --force to overwrite); leaving it")
    else:
        path.write_text(TOML_TEMPLATE.format(db=settings.db), encoding="utf-8")
        click.echo(f"wrote {path}")
    with Store.open(settings.db) as store:
        applied = store.migrate()
        click.echo(f"database ready: {settings.db}" + (f" (applied {', '.join(applied)})" if applied else ""))
    err("next: oversight tasks import FILE.jsonl")


@click.command()
@with_model_options
@click.option("--task", "task_ids", multiple=True, help="Only these task ids. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def draft(ctx: click.Context, model: str | None, critic_model: str | None, api_base: str | None,
          prompts_dir: str | None, concurrency: int | None, task_ids: tuple[str, ...], as_json: bool) -> None:
    """Draft and critique every pending task, up to the human pause.

    Resumable: run it again after a crash or Ctrl-C and it picks up where it stopped;
    a draft that exists (same task, model, prompt version) is never paid for twice.
    """
    from oversight.pipelines import draft_tasks
    from oversight.runtime import Runtime

    settings = settings_from(ctx, model=model, critic_model=critic_model, api_base=api_base,
                             prompts_dir=prompts_dir, concurrency=concurrency)
    with Runtime.open(settings) as runtime:
        ids = list(task_ids) or runtime.store.task_ids()
        if not ids:
            err("no tasks: import some with `oversight tasks import FILE`")
            return
        err(f"drafting {len(ids)} task(s) with {runtime.drafter.model}, critic {runtime.critic.model}, "
            f"concurrency {settings.concurrency}")
        with Progress(len(ids), "draft") as progress:
            summary = asyncio.run(draft_tasks(runtime, ids, on_done=lambda _t, outcome: progress.advance(outcome)))
        result = summary.as_dict()
        result["awaiting_review"] = len(runtime.store.threads(status="awaiting_review"))
    if as_json:
        emit_json(result)
    else:
        click.echo(f"drafted {result['drafted']}, resumed {result['resumed']}, already drafted "
                   f"{result['already_drafted']}, failed {result['failed']}; "
                   f"{result['awaiting_review']} awaiting review")
        for task_id, message in list(summary.errors.items())[:5]:
            err(f"  {task_id}: {message}")
        if result["awaiting_review"]:
            err("next: oversight review")
    if summary.errors:
        ctx.exit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Counts of tasks by state (pending, drafted, awaiting_review, refined, skipped)."""
    from oversight.store import Store

    settings = settings_from(ctx)
    with Store.open(settings.db) as store:
        result = store.status()
    result["db"] = settings.db
    if as_json:
        emit_json(result)
        return
    click.echo(f"{result['tasks']} task(s) in {settings.db}")
    for state, n in result["states"].items():
        click.echo(f"  {state:<16} {n}")
    click.echo(f"{result['drafts']} draft(s), {result['critiques']} critique(s), "
               f"{result['refinements']} refinement(s); {result['tokens']} tokens, ${result['cost_usd']:.4f}")


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (.jsonl or .parquet). Default: JSONL on stdout.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "parquet"]), help="Default: from the file name.")
@click.pass_context
def export(ctx: click.Context, output: str | None, fmt: str | None) -> None:
    """Export refinements with their task, draft, critique, decisions, tags and comments."""
    from oversight.export import export_rows, write_jsonl, write_parquet
    from oversight.store import Store

    settings = settings_from(ctx)
    fmt = fmt or ("parquet" if output and output.endswith(".parquet") else "jsonl")
    if fmt == "parquet" and not output:
        raise click.UsageError("Parquet needs -o FILE.parquet")
    with Store.open(settings.db) as store:
        rows = export_rows(store)
    if fmt == "parquet":
        write_parquet(rows, output)
    else:
        write_jsonl(rows, output)
    if output:
        click.echo(f"wrote {len(rows)} refinement(s) to {output}")
