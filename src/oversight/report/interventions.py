"""The "Interventions" section of the leads' report: per pattern, what was proposed, decided and shown.

For each validated change: recurrence before and after as two bars, the change with its 95%
interval drawn on a scale from -100 to +100 points (the zero line marked: an interval that
crosses it is no evidence), each regression check's change the same way, the judge's
calibration when a judge decided, and the outcome with its reason. Every string is untrusted
(a model may have written the title): escaped in HTML, ``md_text`` in Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

from oversight.report._data import ReportSection
from oversight.report.markdown import md_text

if TYPE_CHECKING:
    from oversight.schemas import Interval, Intervention, Validation

__all__ = ["INTERVENTIONS_TITLE", "interventions_section"]

INTERVENTIONS_TITLE = "Interventions"
_NOTE = ("A change is validated only when the 95% interval of its effect (paired bootstrap over the affected "
         "tasks, after minus before) lies wholly below zero; regressed when another pattern's check got worse "
         "beyond its interval; inconclusive with fewer than 10 tasks; an LLM judge's verdicts count only once it "
         "agrees with the trainers' labels.")


def _points(value: float) -> str:
    return f"{value * 100:+.0f} pts"


def _interval(interval: Interval) -> str:
    return f"{_points(interval.estimate)} [{interval.low * 100:+.0f}, {interval.high * 100:+.0f}]"


def _scale(interval: Interval) -> str:
    """An interval on a -100..+100 point scale, with the zero line."""
    def x(value: float) -> float:
        return 50 + max(-1.0, min(1.0, value)) * 50

    low, high, mid = x(interval.low), x(interval.high), x(interval.estimate)
    colour = "#2e7d32" if interval.high < 0 else "#c62828" if interval.low > 0 else "#8a94a6"
    return (f'<svg width="160" height="14" viewBox="0 0 100 14" role="img" aria-label="{escape(_interval(interval))}">'
            '<line x1="50" y1="0" x2="50" y2="14" stroke="#1d2430" stroke-width="0.6"/>'
            f'<line x1="{low:.1f}" y1="7" x2="{high:.1f}" y2="7" stroke="{colour}" stroke-width="3"/>'
            f'<circle cx="{mid:.1f}" cy="7" r="2.2" fill="{colour}"/></svg>')


def _bars(validation: Validation) -> str:
    def bar(label: str, share: float | None) -> str:
        if share is None:
            return ""
        width = max(0.0, min(1.0, share)) * 100
        return (f'<div style="display:flex;gap:6px;align-items:center"><span style="width:44px">{label}</span>'
                f'<div class="bar" style="width:120px"><span style="width:{width:.1f}%"></span></div>'
                f"<span>{share:.0%}</span></div>")

    return bar("before", validation.before) + bar("after", validation.after)


def _validation_html(validation: Validation) -> str:
    rows = []
    if validation.change is not None:
        rows.append(f"<tr><td>recurrence ({escape(validation.decided_by)}, {validation.tasks} tasks)</td>"
                    f"<td>{_bars(validation)}</td><td>{_scale(validation.change)} "
                    f"{escape(_interval(validation.change))}</td></tr>")
    for name, interval in validation.regressions.items():
        rows.append(f"<tr><td>check: {escape(name)}</td><td></td>"
                    f"<td>{_scale(interval)} {escape(_interval(interval))}</td></tr>")
    if validation.calibration is not None:
        k = validation.calibration.kappa
        rows.append(f"<tr><td>judge calibration</td><td></td><td>kappa {k.estimate:.2f} [{k.low:.2f}, {k.high:.2f}]: "
                    f"{'calibrated' if validation.calibration.calibrated else 'not calibrated'}</td></tr>")
    return ("<table class=\"validation\">" + "".join(rows) + "</table>"
            f"<p><strong>{escape(validation.outcome.replace('_', ' '))}</strong>: {escape(validation.reason)}</p>")


def _html(by_pattern: dict[str, list[Intervention]], names: Mapping[str, str]) -> str:
    out = [f'<p class="muted">{escape(_NOTE)}</p>']
    for pattern_id, items in by_pattern.items():
        out.append(f"<h3>{escape(names.get(pattern_id, pattern_id))} <code>{escape(pattern_id)}</code></h3>")
        rows = []
        for item in items:
            detail = _validation_html(item.validations[-1]) if item.validations else ""
            reason = f"<br><span class=\"muted\">{escape(item.reason)}</span>" if item.reason else ""
            rows.append(f"<tr><td><code>{escape(item.id)}</code></td><td>{escape(item.kind)}</td>"
                        f"<td>{escape(item.title)}<br><span class=\"muted\">{escape(item.expected_effect)}</span>"
                        f"</td><td>{escape(item.status.replace('_', ' '))}{reason}</td><td>{detail}</td></tr>")
        out.append("<table><thead><tr><th>Id</th><th>Kind</th><th>Change</th><th>Status</th><th>Evidence</th>"
                   "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return "".join(out)


def _markdown(by_pattern: dict[str, list[Intervention]], names: Mapping[str, str]) -> str:
    lines = [md_text(_NOTE), ""]
    for pattern_id, items in by_pattern.items():
        lines += [f"**{md_text(names.get(pattern_id, pattern_id))}** (`{md_text(pattern_id)}`)", "",
                  "| Id | Kind | Change | Status | Evidence |", "| --- | --- | --- | --- | --- |"]
        for item in items:
            evidence = ""
            if item.validations:
                v = item.validations[-1]
                measured = (f"{v.before:.0%} → {v.after:.0%} on {v.tasks} tasks, {_interval(v.change)}; "
                            if v.change is not None and v.before is not None and v.after is not None else "")
                evidence = (measured + "; ".join(f"{md_text(n)} {_interval(i)}" for n, i in v.regressions.items())
                            + f" — {md_text(v.reason)}")
            lines.append(f"| `{md_text(item.id)}` | {item.kind} | {md_text(item.title)} | "
                         f"{item.status.replace('_', ' ')} | {evidence} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def interventions_section(interventions: Sequence[Intervention], names: Mapping[str, str]) -> ReportSection | None:
    """The section, patterns in the order of ``names`` (the report's), or None when nothing was proposed."""
    if not interventions:
        return None
    by_pattern: dict[str, list[Intervention]] = {}
    order = {pattern_id: k for k, pattern_id in enumerate(names)}
    for item in sorted(interventions, key=lambda i: (order.get(i.pattern_id, len(order)), i.kind, i.id)):
        by_pattern.setdefault(item.pattern_id, []).append(item)
    return ReportSection(INTERVENTIONS_TITLE, _html(by_pattern, names), _markdown(by_pattern, names))
