"""`oversight draft`: draft and critique every pending task, up to the human pause."""

from __future__ import annotations

import asyncio

import click

from oversight.cli._common import Progress, emit_json, err, settings_from, with_model_options


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
    Several workers (on one machine or many) can run it against one database at once:
    each task is claimed before it is drafted.
    """
    from oversight import review
    from oversight.pipelines import draft_tasks
    from oversight.project import Project

    settings = settings_from(ctx, model=model, critic_model=critic_model, api_base=api_base,
                             prompts_dir=prompts_dir, concurrency=concurrency)
    with Project.open(settings, create=False) as project:
        ids = list(task_ids) or None
        total = len(ids) if ids else project.store.status()["tasks"]
        if not total:
            err("no tasks: import some with `oversight tasks import FILE`")
            return
        err(f"drafting with {project.drafter.model}, critic {project.critic.model}, "
            f"concurrency {settings.concurrency}")
        with Progress(total, "draft") as progress:
            summary = asyncio.run(draft_tasks(project, ids, on_done=lambda _t, outcome: progress.advance(outcome)))
        result = summary.as_dict()
        entries = review.queue(project.store)
        result["awaiting_review"] = len(entries)
        result["expert_only"] = sum(1 for e in entries if e.label == "expert only")
    if as_json:
        emit_json(result)
    else:
        click.echo(f"drafted {result['drafted']}, resumed {result['resumed']}, already drafted "
                   f"{result['already_drafted']}, failed {result['failed']}; "
                   f"{result['awaiting_review']} awaiting review"
                   + (f" ({result['expert_only']} for experts only)" if result["expert_only"] else ""))
        for task_id, message in list(summary.errors.items())[:5]:
            err(f"  {task_id}: {message}")
        if result["awaiting_review"]:
            err("next: oversight review")
    if summary.errors:
        ctx.exit(1)
