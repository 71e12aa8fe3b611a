"""`oversight interventions suggest|list|show|accept|reject|validate`: targeted changes for a pattern."""

from __future__ import annotations

from typing import Any, get_args

import click

from oversight.cli._common import emit_json, err, settings_from, trust_option, trusted_from, visible, with_model_options
from oversight.schemas import Intervention, InterventionStatus

STATUSES: tuple[str, ...] = get_args(InterventionStatus)


@click.group()
def interventions() -> None:
    """Targeted changes for failure patterns: list them, read one, accept or reject it."""


@interventions.command("suggest")
@click.option("--pattern", "pattern_ids", metavar="ID", multiple=True,
              help="Only this pattern (repeat for more). Default: every pattern of the last mining run.")
@click.option("--no-model", is_flag=True, help="Rules only: the checks and few-shot sets the data supports.")
@trust_option
@with_model_options
@click.option("--json", "as_json", is_flag=True, help="Print what was proposed as JSON.")
@click.pass_context
def suggest(ctx: click.Context, pattern_ids: tuple[str, ...], no_model: bool, trust: str, as_json: bool,
            **model: Any) -> None:
    """Propose interventions for failure patterns: rules from the data, and a model's on top when one is available.

    Suggesting again adds nothing already proposed."""
    import asyncio

    from oversight.project import Project

    settings = settings_from(ctx, **{k: v for k, v in model.items() if v is not None})

    async def run(rt: Project) -> list[Any]:
        from oversight.intervene.service import suggest_for_patterns

        llm = None if no_model or not await rt.model_available(rt.namer) else rt.namer
        if not no_model and llm is None:
            err("oversight: no model available; proposing what the rules find")
        prompt = rt.prompt("suggest_intervention") if llm is not None else None
        return await suggest_for_patterns(rt.store, list(pattern_ids) or None, llm=llm, prompt=prompt,
                                          reviewers=trusted)

    with Project.open(settings, create=False) as rt:
        trusted = trusted_from(rt.store, trust)
        found = asyncio.run(run(rt))
    if as_json:
        emit_json([{"pattern_id": f.pattern.id, "pattern": f.pattern.name, "added": f.added, "present": f.present,
                    "interventions": [i.model_dump(mode="json") for i in f.suggestions.interventions],
                    "needs_model": f.suggestions.needs_model, "notes": f.suggestions.notes} for f in found])
        return
    if not found:
        click.echo("no patterns: run `oversight mine` first")
    for f in found:
        click.echo(f"{f.pattern.id}  {visible(f.pattern.name)}: {f.added} new, {f.present} already proposed")
        for item in f.suggestions.interventions:
            click.echo(f"  {item.id}  {item.kind:<13} {visible(item.title)}")
        for note in f.suggestions.notes:
            click.echo(f"  · {visible(note)}")
        if f.suggestions.needs_model:
            click.echo(f"  · needs a model: {', '.join(f.suggestions.needs_model)}")


@interventions.command("validate")
@click.argument("intervention_id", metavar="ID")
@click.option("--sample", type=click.IntRange(min=1), default=100, show_default=True,
              help="Affected tasks to re-draft (a seeded sample when the pattern has more).")
@click.option("--controls", type=click.IntRange(min=0), default=50, show_default=True,
              help="Other tasks re-drafted as the control sample.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samples and the bootstrap.")
@click.option("--judge", "judge_model", metavar="MODEL",
              help="An LLM judge decides recurrence where the pattern has no programmatic check "
                   "(calibrated against the trainers' labels first).")
@trust_option
@with_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the validation as JSON.")
@click.pass_context
def validate_command(ctx: click.Context, intervention_id: str, sample: int, controls: int, seed: int,
                     judge_model: str | None, trust: str, as_json: bool, **model: Any) -> None:
    """Re-draft the pattern's tasks with the old and the new prompt and say, with intervals, whether it worked.

    Drafts are cached: a second run pays for none again."""
    import asyncio

    from oversight.intervene.validate import JUDGE_PROMPT, plan_validation, run_validation
    from oversight.project import Project

    overrides = {k: v for k, v in model.items() if v is not None}
    if judge_model:
        overrides["judge_model"] = judge_model
    settings = settings_from(ctx, **overrides)
    with Project.open(settings, create=False) as rt:
        plan = plan_validation(rt.store, intervention_id, sample=sample, controls=controls, seed=seed,
                               judge=judge_model is not None,  # refuses before any model starts
                               reviewers=trusted_from(rt.store, trust))
        validation = asyncio.run(run_validation(
            rt.store, plan, drafter=rt.drafter, base_prompt=rt.prompt("draft"),
            judge=rt.judge if judge_model else None, judge_prompt=rt.prompt(JUDGE_PROMPT) if judge_model else None,
            seed=seed, progress=err))
    if as_json:
        emit_json(validation.model_dump(mode="json"))
        return
    change = validation.change
    click.echo(f"{intervention_id}: {validation.outcome}")
    if change is not None and validation.before is not None and validation.after is not None:
        click.echo(f"  recurrence on {validation.tasks} affected tasks ({validation.decided_by}): "
                   f"{validation.before:.0%} before, {validation.after:.0%} after; change {change.estimate:+.0%} "
                   f"[{change.low:+.0%}, {change.high:+.0%}]")
    for name, interval in validation.regressions.items():
        click.echo(f"  check {visible(name)}: {interval.estimate:+.0%} [{interval.low:+.0%}, {interval.high:+.0%}]")
    if validation.calibration is not None:
        k = validation.calibration.kappa
        click.echo(f"  judge kappa {k.estimate:.2f} [{k.low:.2f}, {k.high:.2f}]: "
                   f"{'calibrated' if validation.calibration.calibrated else 'not calibrated'}")
    click.echo(f"  {visible(validation.reason)}")


@interventions.command("list")
@click.option("--pattern", "pattern_id", metavar="ID", help="Only the interventions for this pattern.")
@click.option("--status", type=click.Choice(STATUSES), help="Only the interventions in this status.")
@click.option("--json", "as_json", is_flag=True, help="Print the full records as JSON.")
@click.pass_context
def list_interventions(ctx: click.Context, pattern_id: str | None, status: str | None, as_json: bool) -> None:
    """List interventions, newest first: id, pattern, kind, status, title."""
    from oversight.project import open_store

    with open_store(settings_from(ctx), create=False) as store:
        found = store.interventions(pattern_id=pattern_id, status=status)
    if as_json:
        emit_json([i.model_dump(mode="json") for i in found])
        return
    if not found:
        err("no interventions" + (" match" if pattern_id or status else " yet"))
        return
    pattern_width = max([len(visible(i.pattern_id)) for i in found] + [7])
    click.echo(f"{'ID':<19} {'PATTERN':<{pattern_width}} {'KIND':<12} {'STATUS':<20} TITLE")
    for i in found:
        title = visible(" ".join(i.title.split()))
        click.echo(f"{visible(i.id):<19} {visible(i.pattern_id):<{pattern_width}} {i.kind:<12} {i.status:<20} "
                   f"{title[:70]}")
    err(f"{len(found)} intervention(s)")


@interventions.command("show")
@click.argument("intervention_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the full record as JSON.")
@click.pass_context
def show(ctx: click.Context, intervention_id: str, as_json: bool) -> None:
    """Everything about one intervention: what it changes, why, on which evidence, and whether it worked."""
    with _store(ctx) as store:
        found = _get(store, intervention_id)
    if as_json:
        emit_json(found.model_dump(mode="json"))
        return
    for line in describe(found):
        click.echo(line)


def decision_arguments(func: Any) -> Any:
    """ID and a required --reason: what a lead's decision (accept, reject) takes."""
    func = click.pass_context(func)
    func = click.option("--reason", required=True, help="Why (kept with the intervention).")(func)
    return click.argument("intervention_id", metavar="ID")(func)


@interventions.command("accept")
@decision_arguments
def accept(ctx: click.Context, intervention_id: str, reason: str) -> None:
    """Accept a proposed (or rejected) intervention, with the reason."""
    _decide(ctx, intervention_id, "accepted", reason)


@interventions.command("reject")
@decision_arguments
def reject(ctx: click.Context, intervention_id: str, reason: str) -> None:
    """Reject a proposed (or accepted, not yet validated) intervention, with the reason."""
    _decide(ctx, intervention_id, "rejected", reason)


def _decide(ctx: click.Context, intervention_id: str, decision: str, reason: str) -> None:
    from oversight.intervene.service import decide

    with _store(ctx) as store:
        decided = decide(store, intervention_id, decision, reason)
    click.echo(f"{decided.status} {visible(decided.id)}: {visible(decided.title)}")


def _store(ctx: click.Context) -> Any:
    from oversight.project import open_store

    return open_store(settings_from(ctx), create=False)


def _get(store: Any, intervention_id: str) -> Intervention:
    from oversight.errors import NotFoundError

    found = store.intervention(intervention_id)
    if found is None:
        raise NotFoundError(f"no intervention with id {intervention_id!r}")
    return found


def describe(item: Intervention) -> list[str]:
    """The lines `show` prints (``oversight.intervene.describe``, untrusted text made visible)."""
    from oversight.intervene.describe import describe as lines

    return lines(item, visible)
