"""`oversight patterns`: the failure patterns of the last mining run."""

from __future__ import annotations

from typing import Any

import click

from oversight.cli._common import emit_json, err, store_from

__all__ = ["patterns"]


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="A list of patterns (id, name, description, size, members) plus the noise ids.")
@click.option("--limit", type=int, default=0, help="Show only the largest N patterns.")
@click.pass_context
def patterns(ctx: click.Context, as_json: bool, limit: int) -> None:
    """List the failure patterns of the last mining run."""
    from oversight.leads import last_run
    from oversight.report import report_data

    with store_from(ctx, create=False) as store:
        result, notes_by_id = last_run(store)
    data = report_data(result, notes_by_id)
    shown = data["patterns"][:limit] if limit else data["patterns"]
    if as_json:
        emit_json({"patterns": [{k: p[k] for k in ("id", "name", "description", "size", "members", "theme_id")}
                                | {"prevalence": p["stats"]["prevalence"]} for p in shown],
                   "noise": data["noise"], "run": data["run"]})
        return
    _print_table(shown, data)


def _print_table(shown: list[dict[str, Any]], data: dict[str, Any]) -> None:
    width = max([len(p["name"]) for p in shown] + [7])
    width = min(width, 60)
    click.echo(f"{'ID':<20} {'PATTERN':<{width}} {'NOTES':>6} {'PREV':>6}  TREND")
    for p in shown:
        trend = p["stats"]["trend"][-8:]
        top = max([t["share"] for t in trend] + [1e-9])
        spark = "".join("▁▂▃▄▅▆▇█"[min(7, int(t["share"] / top * 7))] for t in trend)
        name = p["name"] if len(p["name"]) <= width else p["name"][: width - 1] + "…"
        click.echo(f"{p['id']:<20} {name:<{width}} {p['size']:>6} {p['stats']['prevalence']:>6.1%}  {spark}")
    run = data["run"]
    err(f"{run['patterns']} patterns, {run['noise']} noise notes, run {run['id']}")
