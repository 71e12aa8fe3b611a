"""The leads' report as one self-contained HTML file: inline CSS and SVG, no script, no network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from oversight.report._data import BelowBar, ReportSection, Simulated, below_bar_text, heatmap_field, simulated_text

if TYPE_CHECKING:
    from oversight.schemas import MiningResult, Pattern

__all__ = ["render_html"]

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #dde2ea;padding-bottom:4px}
.muted{color:#5b6575}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border-bottom:1px solid #e6e9ef;padding:6px 8px;text-align:left;vertical-align:middle}
th{font-size:13px;color:#5b6575;font-weight:600}
.bar{background:#e9edf3;border-radius:3px;height:14px;width:220px;position:relative}
.bar span{display:block;height:14px;border-radius:3px;background:#3b6fd8}
.theme td{background:#eef2f8;font-weight:600}
.heat td.v{text-align:center;font-size:13px;min-width:48px}
details{background:#fff;border:1px solid #dde2ea;border-radius:8px;margin:10px 0;padding:8px 14px}
summary{cursor:pointer;font-weight:600}
blockquote{margin:6px 0;padding:4px 10px;border-left:3px solid #3b6fd8;background:#f3f6fb}
code{font-size:12px;color:#5b6575}.ids{font-size:12px;color:#5b6575;word-break:break-all}
.sim{display:inline-block;font-size:12px;font-weight:600;color:#7a4b00;background:#fff3d6;border:1px solid #f0d28a;
border-radius:4px;padding:0 6px}
p.sim{display:block;font-size:14px;padding:6px 10px}
@media (max-width:700px){main{padding:12px}h1{font-size:22px}table{display:block;overflow-x:auto}
.bar{width:80px}code{overflow-wrap:anywhere}td code{overflow-wrap:normal}.card{min-width:90px}}
"""


def _bar(share: float, top: float = 1.0) -> str:
    width = max(0.0, min(1.0, share / top)) * 100  # relative to the largest, so small shares still show
    return f'<div class="bar" title="{share:.1%}"><span style="width:{width:.1f}%"></span></div>'


def _sparkline(pattern: Pattern, width: int = 160, height: int = 36) -> str:
    points = pattern.stats.trend
    if len(points) < 2:
        share = points[0].share if points else 0.0
        return f'<svg class="trend" width="{width}" height="{height}" role="img"><title>one period: {share:.1%}</title>' \
               f'<circle cx="{width / 2}" cy="{height / 2}" r="3" fill="#3b6fd8"/></svg>'
    top = max(p.share for p in points) or 1.0
    step = (width - 8) / (len(points) - 1)
    coords = " ".join(
        f"{4 + i * step:.1f},{height - 4 - (p.share / top) * (height - 8):.1f}" for i, p in enumerate(points)
    )
    label = escape(", ".join(f"{p.period}: {p.share:.1%}" for p in points))
    return (
        f'<svg class="trend" width="{width}" height="{height}" role="img"><title>{label}</title>'
        f'<polyline fill="none" stroke="#3b6fd8" stroke-width="2" points="{coords}"/></svg>'
    )


def _heat_colour(share: float) -> str:
    # white to deep blue; text turns white past the middle
    level = max(0.0, min(1.0, share))
    r, g, b = (int(255 - (255 - c) * level) for c in (40, 90, 200))
    ink = "#fff" if level > 0.55 else "#1d2430"
    return f"background:rgb({r},{g},{b});color:{ink}"


def _sim_mark(count: int, total: int) -> str:
    """The mark of a pattern some of whose notes came from simulated reviewers ('' when none did)."""
    return f' <span class="sim">{simulated_text(count, total)}</span>' if count else ""


def _overview(result: MiningResult, simulated: Simulated) -> str:
    themes = {t["id"]: t for t in result.themes}
    rows: list[str] = []
    grouped: dict[str | None, list[Pattern]] = {}
    for pattern in result.patterns:
        grouped.setdefault(pattern.theme_id, []).append(pattern)
    show_themes = len(themes) < len(result.patterns)
    top = max((p.stats.prevalence for p in result.patterns), default=0.0) or 1.0
    for theme_id, patterns in sorted(grouped.items(), key=lambda kv: -sum(p.size for p in kv[1])):
        theme = themes.get(theme_id or "")
        if show_themes and theme and len(patterns) > 1:
            rows.append(f'<tr class="theme"><td colspan="5">Theme: {escape(theme["name"])} '
                        f'({len(patterns)} patterns, {theme["size"]} notes)</td></tr>')
        for p in patterns:
            mark = _sim_mark(simulated.patterns.get(p.id, 0), p.size)
            rows.append(
                f'<tr id="row-{escape(p.id)}"><td><a href="#{escape(p.id)}">{escape(p.name)}</a><br>'
                f"<code>{escape(p.id)}</code>{mark}</td><td>{p.size}</td><td>{_bar(p.stats.prevalence, top)} "
                f"{p.stats.prevalence:.1%}</td><td>{_sparkline(p)}</td><td>{len(p.history)}</td></tr>"
            )
    return (
        '<table class="overview"><thead><tr><th>Pattern</th><th>Notes</th><th>Prevalence (share of refinements)'
        "</th><th>Trend</th><th>Runs seen</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _heatmap(result: MiningResult) -> str:
    field = heatmap_field(result)
    if field is None:
        return '<p class="muted">No slice (model, prompt version, domain, kind) has two or more values yet.</p>'
    values = sorted({v for p in result.patterns for v in p.stats.slices.get(field, {})})
    head = "".join(f"<th>{escape(v)}</th>" for v in values)
    rows = []
    for p in result.patterns:
        counts = p.stats.slices.get(field, {})
        cells = "".join(
            f'<td class="v" style="{_heat_colour(counts.get(v, 0) / p.size if p.size else 0)}" '
            f'title="{counts.get(v, 0)} of {p.size}">{counts.get(v, 0)}</td>'
            for v in values
        )
        rows.append(f"<tr><td>{escape(p.name)}</td>{cells}</tr>")
    return (
        f"<p class=muted>Notes of each pattern by <b>{escape(field)}</b>; colour is the share of the pattern.</p>"
        f'<table class="heat"><thead><tr><th>Pattern</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _member_list(member_ids: Sequence[str], hrefs: Sequence[str | None] | None) -> str:
    """Members as text, or as links where ``hrefs`` gives one (escaped either way)."""
    if hrefs is None:
        return escape(", ".join(member_ids))
    return ", ".join(
        f'<a href="{escape(href)}">{escape(m)}</a>' if href else escape(m) for m, href in zip(member_ids, hrefs, strict=False)
    )


def _pattern_details(
    pattern: Pattern, member_ids: Sequence[str], hrefs: Sequence[str | None] | None = None, simulated: int = 0
) -> str:
    s = pattern.stats
    criteria = "".join(f"<li>{escape(c)}</li>" for c in pattern.criteria)
    examples = "".join(
        f"<blockquote>{escape(r.text)}<br><code>{escape(r.display_id)}"
        + (f" · task {escape(r.task_id)}" if r.task_id else "")
        + (f" · draft {escape(r.draft_id)}" if r.draft_id else "")
        + "</code></blockquote>"
        for r in s.representatives
    )
    slices = "; ".join(
        f"{escape(field)}: " + ", ".join(f"{escape(v)} {n}" for v, n in list(counts.items())[:6])
        for field, counts in s.slices.items()
        if any(v != "(none)" for v in counts)
    )
    severity = ", ".join(f"{escape(k)} {v}" for k, v in s.severity.items())
    seen = f"{s.first_seen:%Y-%m-%d} to {s.last_seen:%Y-%m-%d}" if s.first_seen and s.last_seen else "n/a"
    shown = list(member_ids[:500])
    more = f" … and {len(member_ids) - len(shown)} more" if len(member_ids) > len(shown) else ""
    return (
        f'<details id="{escape(pattern.id)}" class="pattern"><summary>{escape(pattern.name)} '
        f'<span class="muted">({pattern.size} notes, {s.prevalence:.1%} of refinements)</span>'
        f"{_sim_mark(simulated, pattern.size)}</summary>"
        f"<p>{escape(pattern.description)}</p>"
        + (f"<p><b>Belongs here if it</b></p><ul>{criteria}</ul>" if criteria else "")
        + f"<p class=muted>Keywords: {escape(', '.join(pattern.keywords))} · named by {escape(pattern.named_by)}"
        f" · seen {seen} · severity: {severity}</p>"
        + (f"<p class=muted>{slices}</p>" if slices else "")
        + f"<p><b>Representative notes</b></p>{examples}"
        f'<p class="ids"><b>Members:</b> {_member_list(shown, hrefs)}{more}</p></details>'
    )


def render_html(
    result: MiningResult,
    *,
    member_ids: dict[str, list[str]] | None = None,
    extra_sections: Sequence[ReportSection] = (),
    title: str = "Failure patterns",
    member_hrefs: dict[str, list[str | None]] | None = None,
    simulated: Simulated | None = None,
    below_bar: BelowBar | None = None,
) -> str:
    """The whole report as one HTML page (opens with no network).

    ``simulated`` counts the notes from simulated reviewers: the header says when the run has any,
    and each pattern with some is marked. ``below_bar``: the header says how many notes came from
    trainers below the bar.
    """
    run = result.run
    member_ids = member_ids or {}
    simulated = simulated or Simulated(0, {})
    cards = "".join(
        f'<div class="card"><b>{value}</b>{escape(label)}</div>'
        for value, label in [
            (run.notes, "failure notes"), (run.units, "refinements / rows"), (run.patterns, "patterns"),
            (run.themes, "themes"), (run.noise, "noise notes"), (run.matched, "continued from last run"),
        ]
    )
    details = "".join(
        _pattern_details(p, member_ids.get(p.id, p.member_ids), (member_hrefs or {}).get(p.id),
                         simulated.patterns.get(p.id, 0))
        for p in result.patterns
    )
    sim_run = (
        f'<p class="sim" id="simulated-reviewers">This run includes simulated reviewers: '
        f"{simulated_text(simulated.run, run.notes)}. They are mined like any other; each pattern "
        "says how many of its notes they gave.</p>"
    ) if simulated.run else ""
    if below_bar is not None:
        sim_run += f'<p class="sim" id="below-bar">{escape(below_bar_text(below_bar, run.notes))}.</p>'
    noise = ", ".join(escape(n.display_id) for n in result.noise[:300])
    extras = "".join(
        f'<section class="extra"><h2>{escape(s.title)}</h2>{s.html}</section>' for s in extra_sections
    )
    empty = "" if result.patterns else '<p class="muted">No pattern yet: not enough failure notes recur.</p>'
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body><main>'
        f"<h1>{escape(title)}</h1><p class=muted>Run <code>{escape(run.id)}</code> at "
        f"{run.started_at:%Y-%m-%d %H:%M} UTC · embeddings {escape(run.embedding_model)} · names {escape(run.names)}</p>"
        f'{sim_run}<div class="cards">{cards}</div>{empty}'
        f"<h2>Patterns by prevalence</h2>{_overview(result, simulated) if result.patterns else ''}"
        f"<h2>Where they show up</h2>{_heatmap(result) if result.patterns else ''}"
        f"<h2>Examples</h2>{details}"
        f'<h2>Noise</h2><p class="muted">{run.noise} notes did not recur enough to form a pattern.</p>'
        f'<p class="ids">{noise}</p>{extras}</main></body></html>'
    )
