"""`oversight trainers`: what is known of each trainer's judgment (and what a lead decides of them).

One group, a subcommand per task: ``report`` reads the profiles (oversight.review.profiles);
further subcommands join the group the same way (``@trainers.command(...)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from oversight.cli._common import emit_json, err, moment, settings_from, store_from, visible

if TYPE_CHECKING:
    from oversight.schemas import ProfileSlice, Proportion, TrainerProfile

__all__ = ["trainers"]


@click.group()
def trainers() -> None:
    """Trainers' judgment, measured on gold items hidden in their queue."""


@trainers.command("report")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="The profile(s) as JSON.")
@click.option("--since", metavar="DATE", help="Only work from this date or time on (UTC unless given).")
@click.option("--domain", help="Only work on tasks of this domain.")
@click.option("--simulated", is_flag=True, help="Count simulated reviewers' production refinements too.")
@click.pass_context
def report(ctx: click.Context, name: str | None, as_json: bool, since: str | None, domain: str | None,
           simulated: bool) -> None:
    """Every trainer's judgment profile in a table, or NAME's in full.

    Catch rate on planted errors, false alarms (changing a draft the expert accepted), deference to
    the critic, style bias and speed, each with its n and a 95% interval ("too few items" below the
    stated minimum). A pause is suggested when a whole interval says so: the catch rate (or the catch
    rate on errors no finding pointed at) below the trainer_catch_bar setting, wrong findings marked
    right more often than not, or too many drafts the expert accepted changed; a lead decides.
    """
    from oversight.errors import NotFoundError
    from oversight.review.profiles import below_bar, profile, profiles

    settings = settings_from(ctx)
    bar = settings.trainer_catch_bar
    start = moment(since, "--since")
    with store_from(ctx, create=False) as store:
        if name is not None:
            found = [profile(store, name, since=start, domain=domain, bar=bar, simulated=simulated)]
            if not found[0].gold_answers and not found[0].production_items:
                raise NotFoundError(f"no gold answers or refinements by {name!r}"
                                    + (" in the work chosen (--since, --domain)" if start or domain else ""))
            below = None
        else:
            found = profiles(store, since=start, domain=domain, bar=bar, simulated=simulated)
            below = below_bar(store, bar, found=found if start is None and domain is None else None)
    if as_json:
        shown = [p.model_dump(mode="json") for p in found]
        emit_json(shown[0] if name is not None else {"bar": bar, "trainers": shown, "below_bar": below._asdict()})
        return
    if name is not None:
        _show_one(found[0])
        return
    _show_table(found)
    if below is not None and below.trainers:
        err(f"{below.notes} of {below.total_notes} failure notes came from trainers below the bar of {bar:.0%}: "
            + ", ".join(visible(t) for t in below.trainers))


def _show_table(found: list[TrainerProfile]) -> None:
    click.echo(f"{'TRAINER':<20} {'ITEMS':>6} {'GOLD':>5} {'CATCH RATE':<22} {'FALSE ALARMS':<22} "
               f"{'DEFERENCE':<22} {'S/ITEM':>7}  SUGGESTION")
    for p in found:
        seconds = p.speed.production.median
        click.echo(f"{visible(p.reviewer)[:20]:<20} {p.production_items:>6} {p.gold_answers:>5} "
                   f"{_short(p.catch_rate):<22} {_short(p.false_alarms):<22} {_short(p.deference):<22} "
                   f"{'-' if seconds is None else f'{seconds:.0f}':>7}  {'pause?' if p.suggestion else '-'}")
    if found:
        err(f"{len(found)} trainer(s); figures on fewer than {found[0].min_items} items say 'too few'; "
            "`oversight trainers report NAME` shows one in full")
    else:
        err("no trainer has answered a gold item or refined a draft yet")


def _short(p: Proportion) -> str:
    """A proportion in a table cell: ``80% [49-94] n=10`` or ``too few (3)``."""
    if p.too_few or p.point is None or p.low is None or p.high is None:
        return f"too few ({p.n})"
    return f"{p.point:.0%} [{p.low * 100:.0f}-{p.high * 100:.0f}] n={p.n}"


def _show_one(p: TrainerProfile) -> None:
    where = "".join([f", since {p.since:%Y-%m-%d %H:%M}" if p.since else "",
                     f", domain {visible(p.domain)}" if p.domain else ""])
    click.echo(f"{visible(p.reviewer)}: {p.production_items} production item(s), {p.gold_answers} gold answer(s)"
               f"{where} (as of {p.as_of:%Y-%m-%d %H:%M} UTC; 'too few' below {p.min_items})")
    rows = [
        ("catch rate on planted errors", p.catch_rate.label()
         + (f"; {p.planted_skipped} skipped, not counted" if p.planted_skipped else "")),
        ("false alarms (expert accepted)", p.false_alarms.label()),
        ("same decision as the expert", p.decision_agreement.label()),
        ("tag overlap with the expert", p.tag_overlap.label()),
        ("same words as the expert", p.text_similarity.label()),
        ("decoy findings marked right", p.deference.label()
         + (f"; {p.decoy_unjudged} left without a verdict" if p.decoy_unjudged else "")),
        ("missed, critic missed it too", p.missed_by_critic.first.label()),
        ("missed, critic pointed at it", p.missed_by_critic.second.label()),
        ("difference", p.missed_by_critic.label()),
        ("style bias (accepting)", p.style_bias.label()),
    ]
    if p.style_bias.formatting is not None:
        rows.append(("  formatted drafts", f"odds x{p.style_bias.formatting.label()}"))
    if p.style_bias.note:
        rows.append(("  note", p.style_bias.note))
    rows += [
        ("seconds per production item", p.speed.production.label()),
        ("seconds per gold item", p.speed.gold.label() + f"; others {p.speed.peers_gold.label()}"),
        ("planted errors accepted", p.speed.accepted_planted.label()),
        ("speed against accuracy", p.speed.verdict or p.speed.note),
    ]
    rows += ([("suggested pause", reason) for reason in p.reasons] if p.reasons
             else [("suggested pause", "none" if p.bar is None else f"none (bar {p.bar:.0%})")])
    for label, text in rows:
        click.echo(f"  {label:<32} {visible(text)}")
    for title, slices in (("by week", p.by_week), ("by domain", p.by_domain)):
        click.echo(f"{title}:")
        for s in slices:
            click.echo(_slice_line(s))


def _slice_line(s: ProfileSlice) -> str:
    seconds = s.seconds_per_item.median
    return (f"  {visible(s.key)[:20]:<20} items {s.production_items:>4}  gold {s.gold_answers:>3}  "
            f"catch {_short(s.catch_rate):<20} false alarms {_short(s.false_alarms):<20} "
            f"deference {_short(s.deference):<20} s/item {'-' if seconds is None else f'{seconds:.0f}'}")
