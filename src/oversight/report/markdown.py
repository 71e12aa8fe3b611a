"""The leads' report as Markdown (for issues, wikis and chat)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from oversight.report._data import ReportSection

if TYPE_CHECKING:
    from oversight.mine.miner import MiningResult

__all__ = ["render_markdown"]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _bar(share: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "░" * (width - filled)


def render_markdown(
    result: MiningResult,
    *,
    member_ids: dict[str, list[str]] | None = None,
    extra_sections: Sequence[ReportSection] = (),
    title: str = "Failure patterns",
) -> str:
    """The report as Markdown: a prevalence table, then each pattern with its examples."""
    run = result.run
    member_ids = member_ids or {}
    lines = [
        f"# {title}",
        "",
        (f"Run `{run.id}` at {run.started_at:%Y-%m-%d %H:%M} UTC: {run.notes} failure notes from {run.units} "
         f"refinements/rows, {run.patterns} patterns in {run.themes} themes, {run.noise} notes left as noise, "
         f"{run.matched} patterns continued from the last run."),
        "",
        "| Pattern | Notes | Prevalence | | Trend |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    top = max((p.stats.prevalence for p in result.patterns), default=0.0) or 1.0
    for p in result.patterns:
        trend = " ".join(f"{t.share:.0%}" for t in p.stats.trend[-6:])
        lines.append(f"| [{_cell(p.name)}](#{p.id}) | {p.size} | {p.stats.prevalence:.1%} | "
                     f"`{_bar(p.stats.prevalence / top)}` | {trend} |")
    for p in result.patterns:
        s = p.stats
        summary = f"`{p.id}` · {p.size} notes · {s.prevalence:.1%} of refinements · named by {p.named_by}"
        lines += ["", f'<a id="{p.id}"></a>', f"## {p.name}", "", summary, "", p.description]
        if p.criteria:
            lines += ["", "Belongs here if it:"] + [f"- {c}" for c in p.criteria]
        slices = [f"{f}: " + ", ".join(f"{v} {n}" for v, n in list(c.items())[:6])
                  for f, c in s.slices.items() if any(v != "(none)" for v in c)]
        if slices:
            lines += ["", "Slices: " + "; ".join(slices)]
        lines += ["", "Examples:"]
        lines += [f"> {_cell(r.text)} (`{r.display_id}`)\n" for r in s.representatives]
        ids = member_ids.get(p.id, p.member_ids)
        lines += ["<details><summary>Members</summary>", "", ", ".join(ids), "", "</details>"]
    lines += ["", "## Noise", "", f"{run.noise} notes did not recur enough to form a pattern."]
    for section in extra_sections:
        lines += ["", f"## {section.title}", "", section.markdown]
    return "\n".join(lines) + "\n"
