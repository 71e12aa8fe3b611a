"""`oversight audit judgments FILE`: style bias, position bias, agreement, blind spots, ceilings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oversight.cli._common import emit_json, err, settings_from, trust_option, trusted_from, with_model_options

if TYPE_CHECKING:
    from oversight.config import Settings
    from oversight.schemas import AuditResult, JudgeComparison


def output_options(func: Any) -> Any:
    """--json, --report-dir and --no-report: how every audit command gives its result."""
    func = click.option("--no-report", is_flag=True, help="Do not write the report section.")(func)
    func = click.option(
        "--report-dir",
        type=click.Path(file_okay=False),
        default="report",
        show_default=True,
        help="Where the audit section of the leads' report is written (audit.html, audit.md, audit.json).",
    )(func)
    return click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")(func)


@click.group()
def audit() -> None:
    """Audit judgments (human or LLM) for measurement failure."""


@audit.command("judgments")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Read a field from another column, e.g. --map choice=label. Repeatable.",
)
@output_options
@click.option("--save", is_flag=True, help="Also keep the judgments in the database (one transaction).")
@click.option("--alpha", "alpha_level", type=click.FloatRange(0.0001, 0.5), default=0.05, show_default=True,
              help="Significance level (Holm-adjusted over the style features).")
@click.option("--min-effect", type=click.FloatRange(0.0, 0.5), default=0.05, show_default=True,
              help="Smallest change in win probability at 1 SD that counts (0.05 = 5 points).")
@click.option(
    "--judge",
    "run_judge",
    is_flag=True,
    help="Also run the LLM judge (prompts/judge.md) on the same pairs, in both orders, beside the humans.",
)
@click.option("--judge-limit", type=click.IntRange(1), default=None, help="Judge at most this many pairs.")
@trust_option
@with_model_options
@click.pass_context
def judgments(
    ctx: click.Context,
    file: str,
    maps: tuple[str, ...],
    as_json: bool,
    report_dir: str,
    no_report: bool,
    save: bool,
    alpha_level: float,
    min_effect: float,
    run_judge: bool,
    judge_limit: int | None,
    trust: str,
    **model_flags: object,
) -> None:
    """Audit the judgments in FILE (JSONL, CSV or Parquet); uses `gold` wherever the file has it.

    Pairwise rows: id, prompt, response_a, response_b, annotator, choice (a, b or tie),
    optional gold. Pointwise rows: id, item, annotator, score or label, optional gold.
    With --trust qualified the judgments of raters the database does not trust are left out first.
    """
    from oversight.audit import audit_judgments, parse_mapping, read_judgments

    loaded = read_judgments(file, parse_mapping(list(maps)))
    err(f"read {len(loaded)} judgments from {file}")
    settings = settings_from(ctx, **{k: v for k, v in model_flags.items() if v is not None})
    if trust == "qualified":  # the raters the database knows as trainers are judged by their standing
        from oversight.project import open_store

        with open_store(settings, create=False) as store:
            trusted = trusted_from(store, trust, among={j.annotator for j in loaded})
        if trusted is not None:
            loaded = [j for j in loaded if j.annotator in trusted]
            err(f"kept {len(loaded)} judgments by trusted raters")
    result = audit_judgments(loaded, source=file, alpha=alpha_level, min_effect=min_effect)
    if save:
        from oversight.project import open_store
        from oversight.store import masked_url

        with open_store(settings) as store:
            added = store.save_judgments(loaded, source=file)
            store.save_routing_rule(result.routing)
        err(f"kept {added} new judgment(s) and the routing rule in {masked_url(settings.db)}: "
            "`oversight review` now orders its queue by it")
    if run_judge:
        result.judge = _run_judge(ctx, loaded, settings, alpha=alpha_level, min_effect=min_effect, limit=judge_limit)
    give_result(result, as_json=as_json, report_dir=report_dir, no_report=no_report)
    if result.judge is not None and not as_json:
        j = result.judge
        click.echo(
            f"- LLM judge {j.judge}: agrees with the human majority on "
            f"{'–' if j.with_human_majority is None else f'{j.with_human_majority:.0%}'} of {j.n_majority} items."
        )


def _run_judge(ctx: click.Context, loaded: list[Any], settings: Settings, *, alpha: float, min_effect: float,
               limit: int | None) -> JudgeComparison:
    """The configured judge (the embedded model if none) on the humans' pairs, compared with them."""
    import asyncio

    from oversight.audit.judge import compare_with_judge, judge_pairs
    from oversight.project import Project
    from oversight.schemas import PairwiseJudgment

    humans = [j for j in loaded if isinstance(j, PairwiseJudgment)]
    if not humans:
        raise click.UsageError("--judge needs pairwise judgments (response_a, response_b, choice)", ctx)
    # the judge needs no database: an in-memory one, so that no oversight.db appears as a side effect
    with Project.open(settings.model_copy(update={"db": "sqlite:///:memory:"})) as rt:
        judged = asyncio.run(judge_pairs(humans, rt.judge, rt.prompt("judge"), limit=limit))
    if not judged:
        err(f"oversight: the LLM judge {rt.judge.model} gave no usable answer (none fit the schema): "
            "nothing to compare")
        ctx.exit(1)
    return compare_with_judge(humans, judged, alpha=alpha, min_effect=min_effect)


def give_result(result: AuditResult, *, as_json: bool, report_dir: str, no_report: bool) -> None:
    """What ``output_options`` ask for: the report section written (unless --no-report), then the
    result printed, as JSON or as its verdict lines."""
    if not no_report:
        err(f"wrote the audit section: {_write_report(result, Path(report_dir))}")
    if as_json:
        emit_json(result.to_json())
        return
    for line in result.verdict:
        click.echo(f"- {line}")


def _write_report(result: AuditResult, folder: Path) -> Path:
    """Write audit.html, audit.md and audit.json into the report folder; return the HTML path."""
    import json

    from oversight.audit.report import render_audit_html, render_audit_markdown

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "audit.html").write_text(render_audit_html(result), encoding="utf-8")
    (folder / "audit.md").write_text(render_audit_markdown(result), encoding="utf-8")
    data = result.to_json()
    (folder / "audit.json").write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder / "audit.html"


@audit.command("refinements")
@output_options
@trust_option
@click.pass_context
def refinements(ctx: click.Context, as_json: bool, report_dir: str, no_report: bool, trust: str) -> None:
    """Audit the refinement decisions in the database: agreement between reviewers, ceilings, routing.

    With --trust qualified only trusted trainers' decisions are audited (and route the queue)."""
    from oversight.audit import audit_judgments
    from oversight.audit.io import is_simulated, judgments_from_refinements
    from oversight.errors import NotFoundError
    from oversight.project import open_store
    from oversight.store import masked_url

    settings = settings_from(ctx)
    with open_store(settings, create=False) as store:
        tasks = {t.id: t for t in store.tasks()}
        found = judgments_from_refinements(store.refinements(reviewers=trusted_from(store, trust)), tasks)
        if not found:
            raise NotFoundError(f"no refinement decisions in {masked_url(settings.db)}")
        result = audit_judgments(found, source=f"refinements in {masked_url(settings.db)}")
        # the queue is worked by people: its routing comes from people's decisions, never a simulation's
        people = [j for j in found if not is_simulated(j)]
        if not people:
            err("every decision came from simulated reviewers: the routing rule was left as it was")
        elif len(people) < len(found):
            rule = audit_judgments(people, source=f"people's refinements in {masked_url(settings.db)}").routing
            store.save_routing_rule(rule)
            err(f"kept the routing rule from people's decisions ({len(found) - len(people)} simulated left out): "
                "`oversight review` now orders its queue by it")
        else:
            store.save_routing_rule(result.routing)
            err("kept the routing rule: `oversight review` now orders its queue by it")
    give_result(result, as_json=as_json, report_dir=report_dir, no_report=no_report)
