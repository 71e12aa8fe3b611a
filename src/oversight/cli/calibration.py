"""`oversight calibration`: calibration items and trainers' agreement with the experts."""

from __future__ import annotations

from pathlib import Path

import click

from oversight.cli._common import emit_json, store_from, visible

__all__ = ["calibration"]


@click.group()
def calibration() -> None:
    """Calibration items: drafts with an expert's refinement that every trainer refines blind."""


@calibration.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--expert", help="Name recorded as the expert on rows that name none.")
@click.pass_context
def add_items(ctx: click.Context, file: Path, expert: str | None) -> None:
    """Seed calibration items from a JSONL/CSV file of expert answers.

    Each row: task_id (a task with a draft), decision, refined_text (for edit/rewrite), tags,
    rationale, and expert (or --expert); draft_id is optional (default: the task's newest draft).
    The whole file is checked first: a bad row names its line and field, and nothing is added.
    """
    from oversight.review.calibration import read_items

    with store_from(ctx, create=False) as store:
        items = read_items(store, file, expert=expert)
        for item in items:
            store.save_calibration_item(item)
    click.echo(f"{len(items)} calibration item(s) from {file}")


@calibration.command("report")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def calibration_report(ctx: click.Context, as_json: bool) -> None:
    """Each trainer's agreement with the experts, and each pair's with each other."""
    from dataclasses import asdict

    from oversight.review.calibration import agreement

    with store_from(ctx, create=False) as store:
        people, pairs = agreement(store)
    if as_json:
        emit_json({"trainers": [asdict(p) for p in people], "pairs": [asdict(p) for p in pairs]})
        return
    click.echo(f"{'TRAINER':<24} {'ITEMS':>5} {'DECISION':>9} {'TAGS':>6} {'WORDS':>6}")
    for p in people:
        click.echo(f"{visible(p.reviewer):<24} {p.answered:>5} {p.decision_agreement:>9.0%} {p.tag_overlap:>6.0%} "
                   f"{p.text_similarity:>6.0%}")
    for q in pairs:
        click.echo(f"{visible(q.a)} · {visible(q.b)}: {q.items} shared, same decision {q.decision_agreement:.0%}, "
                   f"tags {q.tag_overlap:.0%}, words {q.text_similarity:.0%}")
