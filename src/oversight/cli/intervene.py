"""`oversight interventions suggest|list|show|accept|reject|validate`: targeted changes for a pattern."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

import click

from oversight.cli._common import emit_json, err, settings_from, visible, with_model_options
from oversight.schemas import Intervention, InterventionStatus, Validation

STATUSES: tuple[str, ...] = get_args(InterventionStatus)


@click.group()
def interventions() -> None:
    """Targeted changes for failure patterns: list them, read one, accept or reject it."""


@interventions.command("suggest")
@click.option("--pattern", "pattern_ids", metavar="ID", multiple=True,
              help="Only this pattern (repeat for more). Default: every pattern of the last mining run.")
@click.option("--no-model", is_flag=True, help="Rules only: the checks and few-shot sets the data supports.")
@with_model_options
@click.option("--json", "as_json", is_flag=True, help="Print what was proposed as JSON.")
@click.pass_context
def suggest(ctx: click.Context, pattern_ids: tuple[str, ...], no_model: bool, as_json: bool, **model: Any) -> None:
    """Propose interventions for failure patterns: rules from the data, and a model's on top when one is available.

    Suggesting again adds nothing already proposed."""
    import asyncio

    from oversight.runtime import Runtime

    settings = settings_from(ctx, **{k: v for k, v in model.items() if v is not None})

    async def run(rt: Runtime) -> list[Any]:
        from oversight.intervene.service import suggest_for_patterns

        llm = None if no_model or not await rt.model_available(rt.namer) else rt.namer
        if not no_model and llm is None:
            err("oversight: no model available; proposing what the rules find")
        prompt = rt.prompt("suggest_intervention") if llm is not None else None
        return await suggest_for_patterns(rt.store, list(pattern_ids) or None, llm=llm, prompt=prompt)

    with Runtime.open(settings, create=False) as rt:
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
@with_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the validation as JSON.")
@click.pass_context
def validate_command(ctx: click.Context, intervention_id: str, sample: int, controls: int, seed: int,
                     judge_model: str | None, as_json: bool, **model: Any) -> None:
    """Re-draft the pattern's tasks with the old and the new prompt and say, with intervals, whether it worked.

    Drafts are cached: a second run pays for none again."""
    import asyncio

    from oversight.intervene.validate import JUDGE_PROMPT, plan_validation, run_validation
    from oversight.runtime import Runtime

    overrides = {k: v for k, v in model.items() if v is not None}
    if judge_model:
        overrides["judge_model"] = judge_model
    settings = settings_from(ctx, **overrides)
    with Runtime.open(settings, create=False) as rt:
        plan = plan_validation(rt.store, intervention_id, sample=sample, controls=controls, seed=seed,
                               judge=judge_model is not None)  # refuses before any model starts
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
    from oversight.runtime import open_store

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


@interventions.command("accept")
@click.argument("intervention_id", metavar="ID")
@click.option("--reason", required=True, help="Why (kept with the intervention).")
@click.pass_context
def accept(ctx: click.Context, intervention_id: str, reason: str) -> None:
    """Accept a proposed (or rejected) intervention, with the reason."""
    _decide(ctx, intervention_id, "accepted", reason)


@interventions.command("reject")
@click.argument("intervention_id", metavar="ID")
@click.option("--reason", required=True, help="Why (kept with the intervention).")
@click.pass_context
def reject(ctx: click.Context, intervention_id: str, reason: str) -> None:
    """Reject a proposed (or accepted, not yet validated) intervention, with the reason."""
    _decide(ctx, intervention_id, "rejected", reason)


def _decide(ctx: click.Context, intervention_id: str, decision: str, reason: str) -> None:
    with _store(ctx) as store:
        decided = store.decide_intervention(intervention_id, decision, reason)
    click.echo(f"{decided.status} {visible(decided.id)}: {visible(decided.title)}")


def _store(ctx: click.Context) -> Any:
    from oversight.runtime import open_store

    return open_store(settings_from(ctx), create=False)


def _get(store: Any, intervention_id: str) -> Intervention:
    from oversight.errors import NotFoundError

    found = store.intervention(intervention_id)
    if found is None:
        raise NotFoundError(f"no intervention with id {intervention_id!r}")
    return found


# -- the text of `show` --------------------------------------------------------------------


def describe(item: Intervention) -> list[str]:
    """The lines `show` prints: header, rationale, payload, evidence, validations (untrusted text made visible)."""
    lines = [
        f"{visible(item.id)}  {visible(item.title)}",
        f"  kind: {item.kind}   pattern: {visible(item.pattern_id)}   status: {item.status}"
        f"   proposed by: {visible(item.proposed_by)}",
        f"  created {_when(item.created_at)}, updated {_when(item.updated_at)}",
    ]
    if item.reason:
        lines.append(f"  lead's reason: {visible(item.reason)}")
    lines += _section("Rationale", item.rationale) + _section("Expected effect", item.expected_effect)
    lines += ["", f"Payload ({item.kind})", *[f"  {line}" for line in _payload(item.payload.model_dump())]]
    lines += ["", "Evidence",
              f"  notes ({len(item.note_ids)}): {visible(', '.join(item.note_ids)) or '-'}",
              f"  tasks ({len(item.task_ids)}): {visible(', '.join(item.task_ids)) or '-'}"]
    lines += ["", f"Validations ({len(item.validations)})"]
    for number, validation in enumerate(item.validations, 1):
        lines += _validation(number, validation)
    if not item.validations:
        lines.append("  none yet")
    return lines


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _section(title: str, text: str) -> list[str]:
    return ["", title, *[f"  {line}" for line in visible(text).splitlines()]] if text.strip() else []


def _payload(data: dict[str, Any]) -> list[str]:
    kind = data["kind"]
    if kind == "prompt_patch":
        return [f"prompt: {visible(data['prompt'])} (applies to version {visible(data['base_version'])})",
                "diff:", *visible(data["diff"]).splitlines()]
    if kind == "few_shot":
        lines = [f"prompt: {visible(data['prompt'])}"]
        for number, example in enumerate(data["examples"], 1):
            lines += [f"example {number}" + (f" (task {visible(example['task_id'])})" if example["task_id"] else ""),
                      *_block("prompt", example["prompt"]), *_block("answer", example["answer"])]
        return lines
    if kind == "eval_check":
        criterion = data["criterion"]
        value = "" if criterion["value"] is None else f" {visible(str(criterion['value']))}"
        lines = [f"check: {criterion['kind']}{value}"]
        if criterion["description"]:
            lines.append(f"description: {visible(criterion['description'])}")
        return [*lines, f"cases: {visible(', '.join(data['cases'])) or '-'}"]
    lines = []  # guideline, data_request, routing_rule: their fields as they are
    for key, value in data.items():
        if key == "kind" or value in ("", [], {}):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        lines += _block(key.replace("_", " "), shown)
    return lines


def _block(label: str, text: str) -> list[str]:
    """``label: text`` on one line, or the label and the text indented under it when it spans lines."""
    rows = visible(text).splitlines() or [""]
    return [f"{label}: {rows[0]}"] if len(rows) == 1 else [f"{label}:", *[f"  {row}" for row in rows]]


def _validation(number: int, v: Validation) -> list[str]:
    change = v.change
    lines = [f"  [{number}] {v.outcome} ({_when(v.at)}, decided by {visible(v.decided_by)})"]
    if v.before is None or v.after is None or change is None:
        lines.append(f"      not measured: nothing was re-drafted ({v.tasks} affected task(s))")
    else:
        lines += [
            f"      failure rate before {v.before:.1%} -> after {v.after:.1%} on {v.tasks} task(s), "
            f"{v.controls} control(s)",
            f"      change {change.estimate:+.1%} [{change.low:+.1%}, {change.high:+.1%}] ({change.level:.0%} interval)",
        ]
    if v.old_version or v.new_version:
        lines.append(f"      prompt {visible(v.old_version) or '?'} -> {visible(v.new_version) or '?'}, seed {v.seed}")
    for check, interval in v.regressions.items():
        lines.append(f"      regression check {visible(check)}: {interval.estimate:+.1%} "
                     f"[{interval.low:+.1%}, {interval.high:+.1%}]")
    if v.calibration is not None:
        c = v.calibration
        lines.append(f"      judge {visible(c.judge)}: kappa {c.kappa.estimate:.2f} [{c.kappa.low:.2f}, {c.kappa.high:.2f}]"
                     f" (threshold {c.threshold:.2f}, {'calibrated' if c.calibrated else 'not calibrated'})")
    if v.reason:
        lines.append(f"      reason: {visible(v.reason)}")
    return lines
