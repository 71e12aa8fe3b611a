"""`oversight experiment run FILE.yaml`: a declared experiment, resumable, with effects and intervals."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from oversight.cli._common import describe_os_error, emit_json, err, settings_from, with_model_options, writable_path


@click.group()
def experiment() -> None:
    """Declared oversight experiments: conditions, simulated or real reviewers, effects with intervals."""


def _number(value: Any, percent: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value * 100:+.1f}" if percent else f"{value:+.2f}"


def _table(summary: Any) -> list[str]:
    lines = []
    for measure, part in summary.groupby("measure", sort=False):
        rate = measure in ("caught", "flagged", "critic_pointed", "recurrence")
        unit = " (%)" if rate else (" (s)" if measure == "seconds" else " (kappa)" if measure == "agreement" else "")
        lines.append(f"{measure}{unit}")
        for row in part.itertuples(index=False):
            level = "-" if row.n == 0 or row.value is None or (isinstance(row.value, float) and math.isnan(row.value)) \
                else (f"{row.value * 100:.1f} [{row.low * 100:.1f}, {row.high * 100:.1f}]" if rate
                      else f"{row.value:.2f} [{row.low:.2f}, {row.high:.2f}]")
            line = f"  {row.condition:<20} n={row.n:<5} {level}"
            if isinstance(row.vs, str) and measure != "agreement":
                effect = _number(row.effect, rate)
                if effect != "-":
                    span = f"[{_number(row.effect_low, rate)}, {_number(row.effect_high, rate)}]"
                    kind = "paired" if row.paired else "unpaired"
                    mark = "  *" if row.significant else ""
                    counted = f"{int(row.pairs)} pairs" if row.paired else f"{int(row.pairs)} items"
                    line += f"   vs {row.vs}: {effect} {span} ({kind}, {counted}){mark}"
            lines.append(line)
    return lines


@experiment.command("run")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rows", "rows_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the rows (one per task and condition) to a CSV file.")
@with_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the rows and the summary as JSON.")
@click.pass_context
def run_command(ctx: click.Context, file: Path, rows_path: str | None, as_json: bool, **model: Any) -> None:
    """Run (or resume) the experiment declared in FILE: one row per task and condition, then effects.

    Everything paid for is kept in the database: a re-run (after a kill, say) pays for nothing
    twice and gives the same rows. Simulated reviewers answer at once; with `reviewer: {policy:
    human}` the items wait in the review queue (batch experiment:NAME) and a re-run reads what
    people have answered since."""
    import asyncio

    from oversight.experiments import load_experiment, run, summary
    from oversight.project import Project

    declared = load_experiment(file)  # a bad file is refused before anything opens
    target = writable_path(rows_path) if rows_path else None
    settings = settings_from(ctx, **{k: v for k, v in model.items() if v is not None})
    with Project.open(settings) as rt:
        frame = asyncio.run(run(declared, rt, base=file.resolve().parent, progress=err))
    effects = summary(frame, declared)
    if target is not None:
        try:
            frame.to_csv(target, index=False)
        except OSError as exc:
            raise click.ClickException(describe_os_error(exc)) from exc
    if as_json:
        emit_json({"experiment": declared.model_dump(mode="json"), "recurrence": frame.attrs.get("recurrence"),
                   "rows": frame.astype(object).where(frame.notna(), None).to_dict("records"),
                   "summary": effects.astype(object).where(effects.notna(), None).to_dict("records")})
        return
    reviewed = int(frame["decision"].notna().sum())
    tasks, conditions = frame["task_id"].nunique(), len(declared.conditions)
    shape = (f"{tasks} tasks x {conditions} conditions, paired" if declared.design == "paired"
             else f"{tasks} tasks, each under one of {conditions} conditions at random")
    click.echo(f"{declared.name}: {len(frame)} rows ({shape}); {reviewed} reviewed")
    for line in _table(effects):
        click.echo(line)
    if "recurrence" in frame.attrs:
        click.echo(f"recurrence decided by {frame.attrs['recurrence']}")
    click.echo("(* the interval excludes no difference)")


@experiment.command("triage")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--drafts", is_flag=True,
              help="Triage the database's drafts instead: the review queue by the critic's and the checks' "
                   "findings and the routing rule, measured on the drafts trainers already answered.")
@click.option("--judge", metavar="NAME", help="The annotator to triage (needed when several rated the pairs).")
@click.option("--budget", "budgets", type=click.FloatRange(0, 1, min_open=True), multiple=True,
              help="Fractions of pairs a human can review. Repeatable.  [default: 0.1, 0.25, 0.5]")
@click.option("--map", "mapping", metavar="FIELD=COLUMN", multiple=True,
              help="Read a field from another column, e.g. --map choice=label. Repeatable.")
@click.option("--order", "order_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write every pair in review order (id, score, signals) to a CSV file.")
@click.option("--json", "as_json", is_flag=True, help="Print the recall at each budget as JSON.")
@click.pass_context
def triage_command(ctx: click.Context, file: Path | None, drafts: bool, judge: str | None, budgets: tuple[float, ...],
                   mapping: tuple[str, ...], order_path: str | None, as_json: bool) -> None:
    """Which items need a human, for a review budget: a judge's pairwise verdicts (FILE) or, with
    --drafts, the drafts in the database.

    FILE is a pairwise judgment file as `oversight audit judgments` reads it, ideally with each
    pair judged in both orders (`shown_first`). Pairs are ranked by the judge's disagreement with
    itself across orders, then by how far its pick is the longer answer, then by other raters'
    disagreement (weights fixed in advance). With `gold`, prints the share of the judge's errors
    each budget catches, beside random review.

    With --drafts: drafts are ranked by the AI critic's worst shown finding and the findings of the
    checks that need no model (what the context does not support, instructions not followed, accepted
    eval checks), then how many the critic shows, then the audit's routing rule. The drafts trainers already answered say how well that ranking
    catches the ones they changed or rejected; the queue's first items for the first budget are listed."""
    import pandas as pd

    from oversight.experiments.triage import BUDGETS, JUDGE_WEIGHTS, judge_items, rank, recall_at, score

    if (file is None) == (not drafts):
        raise click.UsageError("give a judgment FILE, or --drafts for the database's drafts")
    target = writable_path(order_path) if order_path else None
    if drafts:
        _triage_drafts(ctx, budgets or BUDGETS, target, as_json)
        return
    from oversight.audit.io import read_judgments
    from oversight.schemas import PairwiseJudgment

    pairs = [j for j in read_judgments(file, list(mapping)) if isinstance(j, PairwiseJudgment)]
    if not pairs:
        raise click.ClickException(f"{file}: no pairwise judgments (triage ranks a judge's pairwise verdicts)")
    try:
        ranked = rank(judge_items(pairs, judge=judge), JUDGE_WEIGHTS)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if target is not None:
        rows = [{"rank": i + 1, "id": item.id, "score": round(score(item, JUDGE_WEIGHTS), 4), **item.signals,
                 "error": item.error} for i, item in enumerate(ranked)]
        try:
            pd.DataFrame(rows).to_csv(target, index=False)
        except OSError as exc:
            raise click.ClickException(describe_os_error(exc)) from exc
    known = [item for item in ranked if item.error is not None]
    if not known or not any(item.error for item in known):
        message = f"{len(ranked)} pairs ranked; no gold with errors in {file}, so no recall to report"
        if as_json:
            emit_json({"pairs": len(ranked), "recall": None, "message": message})
        else:
            click.echo(message)
        return
    table = recall_at(known, budgets or BUDGETS)
    if as_json:
        emit_json({"pairs": len(ranked), "errors": int(table["errors"].iloc[0]), "recall": table.to_dict("records")})
        return
    errors = int(table["errors"].iloc[0])
    click.echo(f"{len(ranked)} pairs, {errors} with a judge error (wrong in either order)")
    for row in table.itertuples(index=False):
        click.echo(f"  review {row.budget:.0%} ({row.reviewed} pairs): {row.recall:.0%} of errors caught "
                   f"[{row.recall_low:.0%}, {row.recall_high:.0%}]; random {row.random_recall:.0%} "
                   f"[{row.random_low:.0%}, {row.random_high:.0%}]; {row.lift:.1f}x")


def _triage_drafts(ctx: click.Context, budgets: tuple[float, ...], target: Path | None, as_json: bool) -> None:
    import pandas as pd

    from oversight.experiments.triage import CRITIC_WEIGHTS, draft_items, rank, recall_at, reviewed_count, score
    from oversight.project import open_store

    with open_store(settings_from(ctx), create=False) as store:
        answered = draft_items(store, which="refined")
        queued = draft_items(store, which="queued")
    measured = None
    if answered and any(i.error for i in answered) and not all(i.error for i in answered):
        measured = recall_at(rank(answered, CRITIC_WEIGHTS), budgets)
    ranked = rank(queued, CRITIC_WEIGHTS) if queued else []
    first = ranked[:reviewed_count(budgets[0], len(ranked))] if ranked else []
    if target is not None:
        rows = [{"rank": i + 1, "task_id": item.id, "score": round(score(item, CRITIC_WEIGHTS), 4), **item.signals}
                for i, item in enumerate(ranked)]
        try:
            pd.DataFrame(rows).to_csv(target, index=False)
        except OSError as exc:
            raise click.ClickException(describe_os_error(exc)) from exc
    if as_json:
        emit_json({"answered": len(answered), "queued": len(ranked),
                   "recall": None if measured is None else measured.to_dict("records"),
                   "review_first": [i.id for i in first]})
        return
    if measured is None:
        click.echo(f"{len(answered)} answered drafts: too few changed and kept ones to measure the ranking on")
    else:
        changed = int(measured["errors"].iloc[0])
        click.echo(f"on {len(answered)} answered drafts ({changed} changed or rejected by trainers), the critic's "
                   "and the checks' ranking would have caught:")
        for row in measured.itertuples(index=False):
            click.echo(f"  review {row.budget:.0%} ({row.reviewed}): {row.recall:.0%} of them "
                       f"[{row.recall_low:.0%}, {row.recall_high:.0%}]; random {row.random_recall:.0%}; "
                       f"{row.lift:.1f}x")
    click.echo(f"{len(ranked)} drafts wait for review; the first {len(first)} ({budgets[0]:.0%}) to review:")
    for item in first:
        click.echo(f"  {item.id}  severity {item.signals['critic_severity']:.2f}, "
                   f"findings {item.signals['critic_findings']:.2f}, checks {item.signals['checks']:.2f}, "
                   f"route {item.signals['route']:.2f}")
