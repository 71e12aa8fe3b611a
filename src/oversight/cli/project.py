"""`oversight init|status|export`: the project's database, where its tasks stand, what it produced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from oversight.cli._common import emit_json, err, moment, settings_from, trust_option, trusted_from, writable_path

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


DECISIONS = ("accept", "edit", "rewrite", "reject", "skip")


@click.command()
@click.option("-o", "--output", type=click.Path(),
              help="File to write (.jsonl, .csv, .parquet) or, with --as, a new folder. Default: JSONL on stdout.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet", "hf"]),
              help="Default: from -o (.csv, .parquet; with --as a path with no suffix is a dataset folder, hf).")
@click.option("--as", "kind", type=click.Choice(["sft", "preference", "kto"]),
              help="Training data in TRL's conversational format instead of flat rows.")
@click.option("--decision", "decisions", multiple=True, type=click.Choice(DECISIONS), help="Only these decisions.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only refinements with one of these failure tags.")
@click.option("--pattern", "patterns", multiple=True, metavar="ID",
              help="Only refinements with a note in these patterns (of the last mining run).")
@click.option("--batch", "batches", multiple=True, metavar="SOURCE",
              help="Only tasks imported from this batch (the file name `tasks import` was given).")
@click.option("--reviewer", "reviewers", multiple=True, metavar="NAME", help="Only these reviewers' refinements.")
@click.option("--from", "since", metavar="DATE", help="Refinements made from this date or time on (UTC unless given).")
@click.option("--to", "until", metavar="DATE", help="... up to this date (the whole day) or time (UTC unless given).")
@click.option("--include-simulated/--exclude-simulated", default=None,
              help="Simulated reviewers' answers. Default: kept in flat rows (marked), left out of training data.")
@click.option("--include-calibration", is_flag=True, help="Add trainers' answers to calibration items.")
@trust_option
@click.pass_context
def export(ctx: click.Context, output: str | None, fmt: str | None, kind: str | None, decisions: tuple[str, ...],
           tags: tuple[str, ...], patterns: tuple[str, ...], batches: tuple[str, ...], reviewers: tuple[str, ...],
           since: str | None, until: str | None, include_simulated: bool | None, include_calibration: bool,
           trust: str) -> None:
    """Export refinements: flat rows with their task, draft, critique, decisions, tags and comments,
    or (--as) training data: sft (messages), preference (prompt, chosen, rejected), kto (prompt,
    completion, label).

    Flat: one row per refinement. CSV has a header row; its nested fields (findings, tags,
    words) are JSON text in their cell, and an empty cell means no value. Each row says
    whether a simulated reviewer answered (simulated) and, in an assistance experiment,
    whether the AI critique was shown (arm: critique_shown or critique_hidden).

    Training data: an edit or rewrite gives the refined text over the draft; an accepted draft is a
    positive; a rejected draft with no refined text only a negative kto row; a skip nothing. A
    dataset folder holds the data and a README.md dataset card (counts, filters, dates, sources).
    Read in chunks, written as read: memory stays flat however many refinements there are.
    With --trust qualified only trusted trainers' refinements are exported.
    """
    import dataclasses

    from oversight.cli._common import Progress
    from oversight.project import open_store
    from oversight.refine.export import ExportFilters, iter_export_rows, write_csv, write_jsonl, write_parquet
    from oversight.store import ExportSelection

    settings = settings_from(ctx)
    fmt = _export_format(output, fmt, kind)
    if output:
        writable_path(output)  # a file's folder, or a dataset folder's parent, must exist
    selection = ExportSelection(decisions=decisions, reviewers=reviewers, batches=batches, pattern_ids=patterns,
                                since=moment(since, "--from"), until=moment(until, "--to", end_of_day=True))
    with open_store(settings, create=False) as store:
        trusted = trusted_from(store, trust)
        if trusted is not None:
            selection = dataclasses.replace(selection, trusted=frozenset(trusted))
        filters = ExportFilters(selection, tags=tuple(tag.strip().lower().replace(" ", "-") for tag in tags),
                                include_simulated=kind is None if include_simulated is None else include_simulated,
                                include_calibration=include_calibration)
        if patterns:
            _check_patterns(store, patterns)
        total = store.count_refinements(selection) + (store.count("calibration_answers") if include_calibration else 0)
        with Progress(total, "export") as progress:
            def read(n: int) -> None:
                for _ in range(n):
                    progress.advance()

            if kind is not None:
                from oversight.refine.training import summary_line, write_training

                tally = write_training(store, kind, filters, output, "folder" if fmt == "hf" else fmt,  # type: ignore[arg-type]
                                       on_read=read)
                err(summary_line(tally) + (f": {output}" if output else ""))
                return
            rows = iter_export_rows(store, filters, on_read=read)
            if fmt == "parquet":
                written = write_parquet(rows, output)  # type: ignore[arg-type]
            elif fmt == "csv":
                written = write_csv(rows, output)
            else:
                written = write_jsonl(rows, output)
    if output:
        click.echo(f"wrote {written} refinement(s) to {output}")


def _export_format(output: str | None, fmt: str | None, kind: str | None) -> str:
    """jsonl, csv, parquet or hf (a dataset folder), from --format or the output's name."""
    suffix = Path(output).suffix.lower() if output else ""
    if fmt is None:
        fmt = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}.get(suffix)
        if fmt is None:
            fmt = "hf" if kind is not None and output and (not suffix or Path(output).is_dir()) else "jsonl"
    if kind is None and fmt == "hf":
        raise click.UsageError("a dataset folder (--format hf) holds training data: add --as sft|preference|kto")
    if kind is not None and fmt == "csv":
        raise click.UsageError("training data holds lists of messages: write JSONL, Parquet or a dataset folder")
    if fmt in ("parquet", "hf") and not output:
        raise click.UsageError("Parquet needs -o FILE.parquet" if fmt == "parquet" else "a dataset folder needs -o DIR")
    return fmt


def _check_patterns(store: Any, patterns: tuple[str, ...]) -> None:
    known = store.pattern_names()
    if missing := [p for p in patterns if p not in known]:
        raise click.BadParameter(f"no pattern {', '.join(map(repr, missing))} in the last mining run"
                                 + (" (`oversight patterns` lists them)" if known else " (run `oversight mine` first)"),
                                 param_hint="--pattern")
