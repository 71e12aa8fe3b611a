"""The leads' report as Markdown (for issues, wikis and chat)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from oversight.report._data import BelowBar, ReportSection, Simulated, below_bar_text, simulated_text
from oversight.visible import UNSAFE, visible

if TYPE_CHECKING:
    from oversight.schemas import MiningResult

__all__ = ["md_text", "render_markdown"]

# Characters that would let untrusted text become markup, as numeric character references:
# CommonMark and GFM render a reference as the character but never read it as structure
# (no tag, link, image, code span, table cell or escape).
_ENTITIES = {
    "&": "&amp;", "<": "&lt;", ">": "&gt;",
    "[": "&#91;", "]": "&#93;", "`": "&#96;", "|": "&#124;", "\\": "&#92;",
}
_MARKUP = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")
# Schemes a viewer may turn into a live link even with no brackets (linkify, GFM autolinks).
_SCHEME = re.compile(r"\b(javascript|vbscript)\s*:", re.IGNORECASE)
# What opens a block at the start of a line: heading, quote, list item, rule, fence, setext line.
_LEADING = re.compile(r"^(?:[#>+*=_~-]|\d{1,9}(?=[.)]))")
_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")


def md_text(text: object) -> str:
    """Untrusted text as inert Markdown on one line: no HTML, link, image, autolink, code span,
    table cell or block marker can come out of it; a viewer shows the characters as written, and
    a control character as its escape (``\x1b``: no raw one reaches a terminal that prints the file)."""
    flat = visible(" ".join(str(text).split()))
    flat = _MARKUP.sub(lambda m: _ENTITIES[m.group()], flat)
    flat = _SCHEME.sub(lambda m: f"{m.group(1)}&#58;", flat)
    lead = _LEADING.match(flat)
    if lead is None:
        return flat
    if lead.group()[0].isdigit():  # "1." or "1)" starts an ordered list: break the delimiter
        end = lead.end()
        return flat[:end] + f"&#{ord(flat[end])};" + flat[end + 1 :]
    return f"&#{ord(flat[0])};" + flat[1:]


def _code(text: str) -> str:
    """An id in a code span when it is plainly an id; anything else as escaped text."""
    return f"`{text}`" if _SAFE_ID.fullmatch(text) else md_text(text)


def _anchor(pattern_id: str) -> str:
    return pattern_id if _SAFE_ID.fullmatch(pattern_id) else re.sub(r"[^A-Za-z0-9_-]", "-", pattern_id)


def _bar(share: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "░" * (width - filled)


def render_markdown(
    result: MiningResult,
    *,
    member_ids: dict[str, list[str]] | None = None,
    extra_sections: Sequence[ReportSection] = (),
    title: str = "Failure patterns",
    simulated: Simulated | None = None,
    below_bar: BelowBar | None = None,
) -> str:
    """The report as Markdown: a prevalence table, then each pattern with its examples (as ``render_html``)."""
    run = result.run
    member_ids = member_ids or {}
    simulated = simulated or Simulated(0, {})
    lines = [
        f"# {md_text(title)}",
        "",
        (f"Run {_code(run.id)} at {run.started_at:%Y-%m-%d %H:%M} UTC: {run.notes} failure notes from {run.units} "
         f"refinements/rows, {run.patterns} patterns in {run.themes} themes, {run.noise} notes left as noise, "
         f"{run.matched} patterns continued from the last run."),
        "",
    ]
    if simulated.run:
        lines += [f"**This run includes simulated reviewers:** {simulated_text(simulated.run, run.notes)}. They are "
                  "mined like any other; each pattern says how many of its notes they gave.", ""]
    if below_bar is not None:
        lines += [f"**{below_bar_text(below_bar, run.notes)}.**", ""]
    lines += [
        "| Pattern | Notes | Prevalence | | Trend |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    top = max((p.stats.prevalence for p in result.patterns), default=0.0) or 1.0
    themes = {t["id"]: t for t in result.themes}
    grouped: dict[str | None, list[Any]] = {}
    for p in result.patterns:  # the first level: themes, largest first, their patterns under them
        grouped.setdefault(p.theme_id, []).append(p)
    nested = len(themes) < len(result.patterns)
    for theme_id, members in sorted(grouped.items(), key=lambda kv: -sum(p.size for p in kv[1])):
        theme = themes.get(theme_id or "")
        if nested and theme and len(members) > 1:
            lines.append(f"| **{md_text(theme['name'])}** ({len(members)} patterns) | **{theme['size']}** | | | |")
        for p in members:
            trend = " ".join(f"{t.share:.0%}" for t in p.stats.trend[-6:])
            indent = "↳ " if nested and theme and len(members) > 1 else ""
            sim = simulated.patterns.get(p.id, 0)
            size = f"{p.size} ({sim} simulated)" if sim else str(p.size)
            lines.append(f"| {indent}[{md_text(p.name)}](#{_anchor(p.id)}) | {size} | {p.stats.prevalence:.1%} | "
                         f"`{_bar(p.stats.prevalence / top)}` | {trend} |")
    for p in result.patterns:
        s = p.stats
        summary = (f"{_code(p.id)} · {p.size} notes · {s.prevalence:.1%} of refinements · "
                   f"named by {md_text(p.named_by)}")
        sim = simulated.patterns.get(p.id, 0)
        if sim:
            summary += f" · **{simulated_text(sim, p.size)}**"
        lines += ["", f'<a id="{_anchor(p.id)}"></a>', f"## {md_text(p.name)}", "", summary, "",
                  md_text(p.description)]
        if p.criteria:
            lines += ["", "Belongs here if it:"] + [f"- {md_text(c)}" for c in p.criteria]
        slices = [f"{md_text(f)}: " + ", ".join(f"{md_text(v)} {n}" for v, n in list(c.items())[:6])
                  for f, c in s.slices.items() if any(v != "(none)" for v in c)]
        if slices:
            lines += ["", "Slices: " + "; ".join(slices)]
        lines += ["", "Examples:"]
        lines += [f"> {md_text(r.text)} ({_code(r.display_id)})\n" for r in s.representatives]
        ids = member_ids.get(p.id, p.member_ids)
        lines += ["<details><summary>Members</summary>", "", ", ".join(md_text(i) for i in ids),
                  "", "</details>"]
    lines += ["", "## Noise", "", f"{run.noise} notes did not recur enough to form a pattern."]
    for section in extra_sections:  # their Markdown is the section's own (it escapes what it shows)
        lines += ["", f"## {md_text(section.title)}", "", section.markdown]
    return _no_raw_controls("\n".join(lines) + "\n")


def _no_raw_controls(markdown: str) -> str:
    """Any control character a section let through, as its escape (rendered as ``\x1b``)."""
    return UNSAFE.sub(lambda m: "&#92;" + visible(m.group())[1:], markdown.replace("\r\n", "\n"))
