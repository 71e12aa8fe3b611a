"""`oversight gold`: gold items, hidden among the real ones in the review queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from oversight.cli._common import emit_json, err, settings_from, store_from, visible

__all__ = ["gold"]

KINDS = ("wrong_number", "unsupported_sentence", "ignored_instruction", "swapped_fact")


@click.group()
def gold() -> None:
    """Gold items: drafts whose right answer is known (a planted error, an expert's answer), met by trainers
    in the review queue at the rate `gold_rate` (default 5%), looking like any other item."""


@gold.command("plant")
@click.option("--count", type=click.IntRange(1), help="Draw this many tasks with a draft at random (default 10).")
@click.option("--task", "task_ids", multiple=True, metavar="ID", help="Plant in this task's draft (repeatable).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Errors to plant, one a draft (repeatable; default: all; swapped_fact needs a task context).")
@click.option("--domain", help="Draw only tasks of this domain.")
@click.option("--decoys", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of items that get a decoy: a wrong finding on a sentence that holds no error.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the draw, the planting and the decoys.")
@click.option("--recritique", is_flag=True, help="Ask the project's critic about each planted draft "
              "(a model call each) instead of keeping the findings that still fit and running the checks.")
@click.option("--by", "made_by", required=True, metavar="LEAD", help="Who makes them: never served to them.")
@click.pass_context
def plant(ctx: click.Context, count: int | None, task_ids: tuple[str, ...], kinds: tuple[str, ...],
          domain: str | None, decoys: float, seed: int, recritique: bool, made_by: str) -> None:
    """Plant one known error in real drafts and keep them as gold items (nothing is kept if one fails)."""
    from oversight.project import Project
    from oversight.review import gold as gold_items

    with Project.open(settings_from(ctx), create=False) as project:
        made = asyncio.run(gold_items.plant_items(
            project, made_by=made_by, task_ids=list(task_ids) or None,
            count=count if count is not None or task_ids else 10, domain=domain,
            kinds=list(kinds) or list(gold_items.PLANT_KINDS), decoys=decoys, seed=seed,  # type: ignore[arg-type]
            recritique=recritique))
        added, there = gold_items.keep(project.store, made.items)
    for task_id, why in made.skipped:
        err(f"{visible(task_id)}: passed over: {why}")
    for item in made.items:
        assert item.plant is not None
        click.echo(f"{item.id}  {visible(item.source_task_id)}  {item.plant.kind}"
                   + ("  decoy" if item.decoy is not None else "") + ("  critic pointed" if item.critic_pointed else ""))
    click.echo(f"{added} gold item(s) planted" + (f"; {there} already there" if there else ""))


@gold.command("add")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--expert", help="Name recorded as the expert on rows that name none (never served to them).")
@click.option("--refinement", "refinement_id", metavar="ID", help="Instead of a file: a refinement in the store "
              "is the expert's answer (its reviewer is the expert, unless --expert).")
@click.option("--from-calibration", is_flag=True, help="Instead of a file: every calibration item becomes one.")
@click.option("--by", "made_by", required=True, metavar="LEAD", help="Who adds them: never served to them.")
@click.pass_context
def add(ctx: click.Context, file: Path | None, expert: str | None, refinement_id: str | None,
        from_calibration: bool, made_by: str) -> None:
    """Add expert-answered gold items from a JSONL/CSV file of expert answers (as `calibration add` reads:
    task_id, decision, refined_text, tags, rationale, expert; draft_id optional). The whole file is
    checked first: a bad row names its line and field, and nothing is added."""
    from oversight.errors import NotFoundError
    from oversight.review import gold as gold_items

    if sum(x is not None and x is not False for x in (file, refinement_id, from_calibration)) != 1:
        raise click.UsageError("give one of FILE, --refinement ID or --from-calibration")
    with store_from(ctx, create=False) as store:
        if file is not None:
            items = gold_items.read_expert_items(store, file, made_by=made_by, expert=expert)
        elif refinement_id is not None:
            found = store.get_refinement(refinement_id)
            if found is None:
                raise NotFoundError(f"no refinement {refinement_id!r}")
            items = [gold_items.from_refinement(store, found, made_by=made_by, expert=expert)]
        else:
            items = gold_items.from_calibration(store, made_by=made_by)
        added, there = gold_items.keep(store, items)
    click.echo(f"{added} gold item(s) added" + (f"; {there} already there" if there else ""))


@gold.command("list")
@click.option("--all", "everything", is_flag=True, help="Retired items too.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_items(ctx: click.Context, everything: bool, as_json: bool) -> None:
    """Gold items, with how many trainers answered each."""
    from oversight.review.gold import listing

    with store_from(ctx, create=False) as store:
        rows = listing(store, retired=everything)
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{'ID':<20} {'KIND':<8} {'WHAT':<28} {'DOMAIN':<12} {'BY':<12} {'ANSWERS':>7}")
    for row in rows:
        what = row["plant"] or f"expert {row['decision']}"
        what += " +decoy" if row["decoy"] else ""
        click.echo(f"{row['id']:<20} {row['kind']:<8} {visible(what):<28} {visible(row['domain'] or '-'):<12} "
                   f"{visible(row['made_by']):<12} {row['answers']:>7}" + ("  retired" if row["retired"] else ""))
    if not rows:
        click.echo("no gold items (`oversight gold plant` or `oversight gold add` makes some)")


@gold.command("retire")
@click.argument("gold_id", metavar="ID")
@click.pass_context
def retire(ctx: click.Context, gold_id: str) -> None:
    """Stop serving a gold item (its answers are kept; copies already in a queue stay until answered)."""
    with store_from(ctx, create=False) as store:
        store.retire_gold_item(gold_id)
    click.echo(f"{visible(gold_id)}: retired")
