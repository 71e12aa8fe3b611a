"""`oversight trainers pause|resume|assess|qualified`: a trainer's standing, decided by a lead or an assessment.

These commands join the `oversight trainers` group (the command table lists this group beside the
profiles' one and the two are served as one).
"""

from __future__ import annotations

from pathlib import Path

import click

from oversight.cli._common import emit_json, store_from, visible

__all__ = ["standing"]


@click.group()
def standing() -> None:
    """Trainers: pause and resume them, declare assessments, see who is qualified where."""


@standing.command("pause")
@click.argument("name")
@click.option("--reason", required=True, help="Why (the trainer is told it when their next claim is refused).")
@click.option("--by", "lead", required=True, metavar="LEAD", help="The lead who decides it.")
@click.pass_context
def pause(ctx: click.Context, name: str, reason: str, lead: str) -> None:
    """Pause a trainer: their next claim, on the page, in the terminal or any server, is refused."""
    from oversight.review.qualify import pause as pause_trainer

    with store_from(ctx, create=False) as store:
        decided = pause_trainer(store, name, by=lead, reason=reason)
    click.echo(f"paused {visible(decided.reviewer)} (by {visible(lead)}): {visible(decided.paused_reason)}")


@standing.command("resume")
@click.argument("name")
@click.pass_context
def resume(ctx: click.Context, name: str) -> None:
    """Let a paused trainer claim items again."""
    from oversight.review.qualify import resume as resume_trainer

    with store_from(ctx, create=False) as store:
        decided = resume_trainer(store, name)
    click.echo(f"resumed {visible(decided.reviewer)}")


@standing.command("assess")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def assess(ctx: click.Context, file: Path) -> None:
    """Declare an assessment from a YAML file (name, domain, items or per_domain, pass_rule).

    New trainers answer its items before any production item; a pass qualifies them in its domain.
    A bad file names its line and field, and nothing is kept.
    """
    from oversight.review.qualify import declare

    with store_from(ctx, create=False) as store:
        kept = declare(store, file)
    size = f"{len(kept.items)} listed item(s)" if kept.items else \
        ", ".join(f"{n} of {visible(d)}" for d, n in kept.per_domain.items()) + " drawn per trainer"
    rule = kept.pass_rule
    click.echo(f"assessment {visible(kept.name)} (domain {visible(kept.domain)}): {size}; passed with at least "
               f"{rule.min_items} answered, catch rate's lower bound >= {rule.catch_rate_lower:.0%}, false alarms "
               f"<= {rule.false_alarm_upper:.0%}")


@standing.command("qualified")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def qualified(ctx: click.Context, as_json: bool) -> None:
    """Each trainer's standing: paused or not, the domains they are qualified in, their assessment results."""
    from oversight.review.qualify import standings

    with store_from(ctx, create=False) as store:
        found = standings(store)
    if as_json:
        emit_json([{**s.model_dump(mode="json"), "assessments": [r.model_dump(mode="json") for r in results]}
                   for s, results in found])
        return
    for s, results in found:
        state = f"paused by {visible(s.paused_by or '?')}: {visible(s.paused_reason)}" if s.paused else "active"
        domains = ", ".join(visible(d) for d in sorted(s.qualified)) or "nowhere"
        taken = "; ".join(f"{visible(r.assessment)} {'passed' if r.passed else 'failed'} ({r.caught}/{r.planted} "
                          f"caught, {r.false_alarms}/{r.expert_accepted} false alarms)" for r in results)
        click.echo(f"{visible(s.reviewer):<24} {state}; qualified in {domains}" + (f"; {taken}" if taken else ""))
