"""`oversight init|status|export`: the project's database, where its tasks stand, what it produced."""

from __future__ import annotations

from pathlib import Path

import click

from oversight.cli._common import emit_json, err, settings_from, writable_path

TOML_TEMPLATE = """\
# oversight settings. Every key can also be set as OVERSIGHT_<KEY> (e.g. OVERSIGHT_MODEL).
# No password here: give a database password with OVERSIGHT_DB, PGPASSWORD or ~/.pgpass (PGPASSFILE).
[oversight]
db = {db}
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
    from oversight.project import open_store
    from oversight.store import masked_url

    settings = settings_from(ctx)
    path = Path(CONFIG_FILE)
    if path.exists() and not force:
        err(f"{path} exists (use --force to overwrite); leaving it")
    else:
        db, had_password = without_password(settings.db)
        path.write_text(TOML_TEMPLATE.format(db=toml_string(db)), encoding="utf-8")
        click.echo(f"wrote {path}")
        if had_password:
            err(f"the database password is not written to {path}: give it with OVERSIGHT_DB (the whole URL), "
                "PGPASSWORD, or a ~/.pgpass file (or one PGPASSFILE names)")
    with open_store(settings) as store:
        applied = store.migrate()
        click.echo(f"database ready: {masked_url(settings.db)}"
                   + (f" (applied {', '.join(applied)})" if applied else ""))
    err("next: oversight tasks import FILE.jsonl")


def without_password(db: str) -> tuple[str, bool]:
    """A database URL without its password (``user:PASSWORD@``, ``password=``), and whether it had one."""
    scheme, sep, rest = db.partition("://")
    if not sep:
        return db, False
    rest, _, query = rest.partition("?")
    had = False
    at = rest.rfind("@")
    if at >= 0 and ":" in rest[:at]:
        rest, had = rest[: rest.index(":")] + rest[at:], True
    if query:
        kept = [p for p in query.split("&") if not p.lower().startswith("password=")]
        had = had or len(kept) < len(query.split("&"))
        rest += "?" + "&".join(kept) if kept else ""
    return f"{scheme}://{rest}", had


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and control characters escaped."""
    def escape(ch: str) -> str:
        if ch in '"\\':
            return "\\" + ch
        return f"\\u{ord(ch):04x}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch

    return '"' + "".join(escape(ch) for ch in text) + '"'


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Counts of tasks by state (pending, drafting, awaiting_review, refined, skipped, failed)."""
    from oversight.project import open_store
    from oversight.refine.critic_quality import grounding_status
    from oversight.store import masked_url

    settings = settings_from(ctx)
    with open_store(settings, create=False) as store:
        result = store.status()
        result["critic_grounding"] = grounding_status(store)
    result["db"] = masked_url(settings.db)
    result["next"] = _next_step(result["states"], result["tasks"])
    if as_json:
        emit_json(result)
        return
    click.echo(f"{result['tasks']} task(s) in {result['db']}")
    for state, n in result["states"].items():
        click.echo(f"  {state:<16} {n}")
    click.echo(f"{result['drafts']} draft(s), {result['critiques']} critique(s), "
               f"{result['refinements']} refinement(s); {result['tokens']} tokens, ${result['cost_usd']:.4f}")
    for row in result["critic_grounding"]:
        if row.get("proposed"):
            precision = "-" if row.get("precision") is None else f"{row['precision']:.0%}"
            click.echo(f"critic {row['model']} ({row['prompt_name']}@{row['prompt_version']}): "
                       f"{row['shown']} of {row['proposed']} findings shown (grounded), "
                       f"precision {precision} of {row['judged']} judged")
    if result["next"]:
        err(f"next: {result['next']}")


def _next_step(states: dict[str, int], total: int) -> str:
    """The command that moves the most work forward, or '' when all is done."""
    if not total:
        return "oversight tasks import FILE.jsonl"
    if states.get("pending") or states.get("failed"):
        return "oversight draft"
    if states.get("awaiting_review"):
        return "oversight review"
    if states.get("drafting"):
        return "oversight status   (tasks are being drafted by a worker)"
    return "oversight mine && oversight report -o report.html"


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="File to write (.jsonl, .csv or .parquet). Default: JSONL on stdout.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]),
              help="Default: from the file name (.csv, .parquet; anything else is JSONL).")
@click.pass_context
def export(ctx: click.Context, output: str | None, fmt: str | None) -> None:
    """Export refinements with their task, draft, critique, decisions, tags and comments.

    One row per refinement. CSV has a header row; its nested fields (findings, tags,
    words) are JSON text in their cell, and an empty cell means no value. Each row says
    whether a simulated reviewer answered (simulated) and, in an assistance experiment,
    whether the AI critique was shown (arm: critique_shown or critique_hidden).
    """
    from oversight.project import open_store
    from oversight.refine.export import export_rows, write_csv, write_jsonl, write_parquet

    settings = settings_from(ctx)
    suffix = Path(output).suffix.lower() if output else ""
    fmt = fmt or {".parquet": "parquet", ".csv": "csv"}.get(suffix, "jsonl")
    if fmt == "parquet" and not output:
        raise click.UsageError("Parquet needs -o FILE.parquet")
    if output:
        writable_path(output)
    with open_store(settings, create=False) as store:
        rows = export_rows(store)
    if fmt == "parquet":
        write_parquet(rows, output)
    elif fmt == "csv":
        write_csv(rows, output)
    else:
        write_jsonl(rows, output)
    if output:
        click.echo(f"wrote {len(rows)} refinement(s) to {output}")
