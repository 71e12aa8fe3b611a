"""The "Critic grounding and precision" section of the leads' report, from rows it is given."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from oversight.report._data import ReportSection
from oversight.report.markdown import md_text

if TYPE_CHECKING:
    from oversight.schemas import GroundingRow

__all__ = ["GROUNDING_TITLE", "grounding_section"]

GROUNDING_TITLE = "Critic grounding and precision"

_RULE = (
    "A finding is shown to the trainer only if its quote occurs in the draft (case, spacing, quote marks "
    "and dashes aside) and holds a word that means something (a lone \u201cthe\u201d does not); an empty "
    "quote only on an omission; a finding whose issue repeats the critic prompt\u2019s own example is "
    "held back. Grounding rate = shown / proposed. Precision = marked right / judged, over the shown "
    "findings trainers judged. The checks that need no model are held to the same rule and have rows of "
    "their own (a check’s critiques: those it found something in)."
)
_HEAD = ["Critic model or check", "Prompt or version", "Critiques", "Proposed", "Shown", "Grounding rate", "Held back",
         "Judged", "Right", "Wrong", "Precision"]


def _rate(rate: float | None, part: int, whole: int) -> str:
    return "–" if rate is None else f"{rate:.0%} ({part} of {whole})"


def _held_back(row: GroundingRow) -> str:
    if not row.checked:
        return "not checked (made before grounding)"
    return ", ".join(f"{reason} {n}" for reason, n in row.dropped.items()) or "none"


def _cells(row: GroundingRow) -> list[str]:
    critic = row.model if row.source == "model" else row.source
    prompt = f"{row.prompt_name}@{row.prompt_version}" if row.source == "model" else (row.prompt_version or "–")
    return [
        critic, prompt, str(row.critiques), str(row.proposed), str(row.shown),
        _rate(row.grounding_rate, row.shown, row.proposed), _held_back(row), str(row.judged), str(row.right),
        str(row.wrong), _rate(row.precision, row.right, row.judged),
    ]


def _bar(rate: float | None) -> str:
    if rate is None:
        return ""
    width = max(0.0, min(1.0, rate)) * 100
    return f'<div class="bar" style="width:90px" title="{rate:.1%}"><span style="width:{width:.1f}%"></span></div>'


def _html(rows: Sequence[GroundingRow]) -> str:
    body = []
    for row in rows:
        cells = [escape(c) for c in _cells(row)]
        for i, rate in ((5, row.grounding_rate), (10, row.precision)):
            cells[i] = f'{_bar(rate)}<span style="white-space:nowrap">{cells[i]}</span>'
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out = [
        f'<p class="muted">{escape(_RULE)}</p>',
        '<table class="grounding"><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in _HEAD)
        + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>",
    ]
    examples = [(row, e) for row in rows for e in row.examples]
    if examples:
        items = "".join(
            f"<tr><td>{escape(row.model)}</td><td>{escape(e.reason)}</td><td>{escape(e.quote or '(no quote)')}</td>"
            f"<td>{escape(e.issue)}</td><td><code>{escape(e.critique_id)}</code></td></tr>"
            for row, e in examples
        )
        out.append(
            f"<details><summary>Held-back findings (the latest of each critic, {len(examples)})</summary>"
            "<table><thead><tr><th>Critic model</th><th>Reason</th><th>Quote</th><th>Issue</th><th>Critique</th>"
            f"</tr></thead><tbody>{items}</tbody></table></details>"
        )
    return "".join(out)


def _md_cell(text: str) -> str:
    return md_text(text) or " "


def _quoted(quote: str) -> str:
    return f"\u201c{_md_cell(quote)}\u201d" if quote.strip() else "(no quote)"


def _markdown(rows: Sequence[GroundingRow]) -> str:
    lines = [_RULE, "", "| " + " | ".join(_HEAD) + " |", "|" + "".join(" --- |" if i in (0, 1, 6) else " ---: |" for i in range(len(_HEAD)))]
    lines += ["| " + " | ".join(_md_cell(c) for c in _cells(row)) + " |" for row in rows]
    examples = [(row, e) for row in rows for e in row.examples]
    if examples:
        lines += ["", "Held-back findings (the latest of each critic):", ""]
        lines += [f"- {_md_cell(row.model)}, {e.reason}: {_quoted(e.quote)} \u2014 {_md_cell(e.issue)} "
                  f"({_md_cell(e.critique_id)})" for row, e in examples]
    return "\n".join(lines)


def grounding_section(rows: Sequence[GroundingRow]) -> ReportSection | None:
    """The section from ``oversight.refine.critic_quality.grounding_report`` rows; None when there is no critique."""
    if not rows:
        return None
    return ReportSection(GROUNDING_TITLE, _html(rows), _markdown(rows))
