"""`oversight demo`: the README's main job."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oversight.cli._common import Progress, Styled, err, say, settings_from, with_model_options

if TYPE_CHECKING:
    from oversight.project import Project
    from oversight.schemas import NamesMode


def _short(text: str | None, n: int = 220) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


@click.command()
@click.option("--dir", "workspace", default="oversight-demo", show_default=True, type=click.Path(file_okay=False),
              help="Workspace folder for the demo's database and outputs.")
@click.option("--limit", default=6, show_default=True, type=click.IntRange(1, 40), help="How many bundled tasks.")
@click.option("--max-tokens", default=200, show_default=True, type=click.IntRange(16, 4096), help="Draft length cap.")
@with_model_options
@click.pass_context
def demo(ctx: click.Context, workspace: str, limit: int, max_tokens: int, model: str | None, critic_model: str | None,
         api_base: str | None, prompts_dir: str | None, concurrency: int | None) -> None:
    """Run the loop on bundled real tasks: draft, AI critique, replayed human refinements.

    Uses the embedded SmolLM2-135M model unless --model is given. Safe to re-run.
    """
    from oversight.demo import run_demo

    root = Path(workspace)
    db = (ctx.find_root().obj or {}).get("db") or str(root / "oversight.db")
    ctx.find_root().obj["db"] = db
    settings = settings_from(ctx, model=model, critic_model=critic_model, api_base=api_base,
                             prompts_dir=prompts_dir, concurrency=concurrency, max_tokens=max_tokens)
    err(f"oversight demo: {limit} real questions from FineGrainedRLHF (Apache-2.0), workspace {root}/")
    from oversight.project import Project
    from oversight.store import masked_url

    with Project.open(settings) as project, Progress(limit, "draft+critique") as progress:
        result = asyncio.run(run_demo(project, root, limit=limit, on_progress=lambda _t, o: progress.advance(o)))

    click.echo(f"\n{result.tasks} tasks · model {result.model} · {result.drafted} drafted now · "
               f"{result.refined} refinements replayed · {result.tokens} tokens · {result.seconds:.0f}s\n")
    for row in result.items:
        say(Styled(f"■ {row['task_id']}: {_short(row['prompt'], 100)}", bold=True))
        click.echo("  draft:     " + _short(row["draft"]))
        findings = row["findings"]
        held = len(row["findings_held_back"])
        click.echo(f"  critique:  {len(findings)} finding(s)" + (f", {held} held back (not grounded in the draft)"
                                                               if held else "") + ". " + _short(row["critique_summary"], 160))
        for f in findings[:3]:
            click.echo(f"             - {f['severity']}/{f['category']}: {_short(f['issue'], 120)}")
        click.echo(f"  human:     {row['decision']} · tags {', '.join(row['tags']) or '-'} · "
                   f"+{row['words']['inserted']}/-{row['words']['deleted']} words")
        click.echo("  refined:   " + _short(row["refined_text"]))
    for task_id, message in result.errors.items():
        err(f"  {task_id} failed: {message}")
    click.echo(textwrap.dedent(f"""
        The human side was replayed from FineGrainedRLHF's annotators, who corrected a model
        answer to the same question (not this draft): real human work, shown end to end.

        Where to look next:
          refinements   {result.export_path}
          database      {masked_url(result.db)}
          status        oversight --db {masked_url(result.db)} status
          review        oversight --db {masked_url(result.db)} review        (your own refinements, in the terminal)
          your tasks    oversight tasks import FILE.jsonl && oversight draft && oversight review
    """).rstrip())
    # SmolLM2-135M names patterns after whatever story it read last; keyword names say more.
    names: NamesMode = "llm" if settings.model else "keywords"
    err("drafting 12 bundled capital questions (\"Answer with one word.\") and refining them as a trainer would ...")
    with Project.open(settings) as project:
        mined = asyncio.run(_patterns_and_one_intervention(project, root, names))
    for line in mined["next"]:
        click.echo(line)
    _print_intervention(mined["intervention"])
    if result.errors:
        ctx.exit(1)


async def _patterns_and_one_intervention(project: Project, root: Path, names: NamesMode) -> dict[str, Any]:
    """Refine the capital questions, mine, validate one intervention, write the report with it."""
    from oversight.demo import mine_and_report, refine_capital_questions, validate_one_intervention
    from oversight.leads import write_reports

    await refine_capital_questions(project)
    err(f"mining failure patterns from the refinements ({names} names) and writing the leads' report ...")
    mined = await mine_and_report(project, root, names=names, progress=err)
    err("proposing interventions for the one-word pattern and validating the few-shot set (re-drafting) ...")
    mined["intervention"] = await validate_one_intervention(project)
    await asyncio.to_thread(write_reports, project.store, root)  # now with the interventions section
    return mined


def _print_intervention(found: dict[str, Any] | None) -> None:
    if found is None:
        click.echo("\n  intervention  no one-word pattern was found this time: nothing to validate")
        return
    click.echo(f"\n  pattern       {found['pattern']}")
    click.echo(f"  proposed      {'; '.join(found['proposed'])}")
    validation = found.get("validation")
    if validation is None:
        click.echo("  validation    no few-shot set could be built from the refinements")
        return
    click.echo(f"  validated     {found['title']} ({found['intervention']})")
    if validation.change is not None:
        change = validation.change
        click.echo(f"  one-word failures {validation.before:.0%} -> {validation.after:.0%} on {validation.tasks} tasks, "
                   f"change {change.estimate * 100:+.0f} points [{change.low * 100:+.0f}, {change.high * 100:+.0f}]")
    for name, interval in validation.regressions.items():
        click.echo(f"  check {name}: {interval.estimate * 100:+.0f} points "
                   f"[{interval.low * 100:+.0f}, {interval.high * 100:+.0f}] (positive: more failures)")
    click.echo(f"  outcome       {validation.outcome.replace('_', ' ')}: {validation.reason}")
