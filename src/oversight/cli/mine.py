"""`oversight mine`: failure notes -> named, counted patterns (``oversight.mine.run.mine_project``).

Heavy imports (numpy, sklearn, onnxruntime, litellm) happen inside the command.
"""

from __future__ import annotations

from typing import Any

import click

from oversight.cli._common import emit_json, err, settings_from, trust_option, trusted_from, with_model_options

__all__ = ["mine"]


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
@trust_option
@with_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def mine(ctx: click.Context, names: str, top_level: int, abstract: bool, wait: bool, trust: str, as_json: bool,
         **model: Any) -> None:
    """Turn refinements into failure notes and cluster all notes into named patterns.

    Patterns follow the failure, not the subject: each note's task (or imported --source-field)
    is masked out of its text and discounted from its vector before clustering. One run at a time
    per database: a second one says who holds it (or waits, with --wait). With --trust qualified
    only the notes of trusted trainers' refinements (and imported notes) are clustered."""
    import asyncio

    from oversight.mine.run import mine_project
    from oversight.project import Project

    settings = settings_from(ctx, **{k: v for k, v in model.items() if v is not None})
    with Project.open(settings, create=False) as project:
        trusted = trusted_from(project.store, trust)
        result = asyncio.run(mine_project(project, names=names, top_level=top_level, abstract=abstract, wait=wait,
                                          progress=err, reviewers=trusted))
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
