"""The leads' report: self-contained HTML (charts, no network), Markdown and JSON.

It takes what it shows as arguments and imports no stage: the mining result and its notes,
and extra sections as ``ReportSection(title, html, markdown)`` (the audit adds one; so does
``grounding_section``, built from the rows of ``oversight.refine.critic_quality.grounding_report``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from oversight.report._data import BelowBar, ReportSection, Simulated, report_data, simulated_share
from oversight.report.grounding import grounding_section
from oversight.report.html import render_html
from oversight.report.markdown import render_markdown

if TYPE_CHECKING:
    from oversight.schemas import FailureNote, MiningResult

__all__ = [
    "BelowBar", "ReportFormat", "ReportSection", "Simulated", "build_report", "grounding_section", "render_html", "render_markdown",
    "report_data", "simulated_share",
]

ReportFormat = Literal["html", "md", "json"]


def build_report(
    result: MiningResult,
    notes: Mapping[str, FailureNote],
    fmt: ReportFormat = "html",
    *,
    extra_sections: Sequence[ReportSection] = (),
    member_href: Callable[[FailureNote], str | None] | None = None,
    below_bar: BelowBar | None = None,
) -> str:
    """The report of a mining result; ``notes`` by id show each member by its own id (a file's, when imported).

    ``below_bar``: how many of the run's notes came from trainers below the bar (every form says it).

    ``member_href`` links each member in the HTML form (e.g. to its item on the review page).
    Notes from simulated reviewers are mined alike; every form counts them, per pattern and in its header.

    Callers fetch both (``oversight.mine.current(store)``, ``store.notes()``) and pass any extra
    sections (``oversight.leads.audit_sections(store)``); the report imports no stage.
    """
    members = {p.id: [notes[i].display_id if i in notes else i for i in p.member_ids] for p in result.patterns}
    if fmt == "json":
        return json.dumps(report_data(result, dict(notes), below_bar), indent=2, ensure_ascii=False)
    simulated = simulated_share(result, notes)
    if fmt == "md":
        return render_markdown(result, member_ids=members, extra_sections=extra_sections, simulated=simulated,
                               below_bar=below_bar)
    hrefs = None
    if member_href is not None:
        hrefs = {p.id: [member_href(notes[i]) if i in notes else None for i in p.member_ids] for p in result.patterns}
    return render_html(result, member_ids=members, extra_sections=extra_sections, member_hrefs=hrefs,
                       simulated=simulated, below_bar=below_bar)
