"""The leads' report: self-contained HTML (charts, no network), Markdown and JSON.

Other packages add sections with ``ReportSection(title, html, markdown)`` passed as
``extra_sections`` (the audit does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from oversight.report._data import ReportSection, report_data
from oversight.report.html import render_html
from oversight.report.markdown import render_markdown

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = ["ReportFormat", "ReportSection", "build_report", "render_html", "render_markdown", "report_data"]

ReportFormat = Literal["html", "md", "json"]


def build_report(
    store: Store, fmt: ReportFormat = "html", *, extra_sections: Sequence[ReportSection] = ()
) -> str:
    """The report of the store's last mining run. Raises NotFoundError before any run."""
    from oversight.errors import NotFoundError
    from oversight.mine.miner import current
    from oversight.mine.storage import load_notes

    result = current(store)
    if result is None:
        raise NotFoundError("no mining run yet: run `oversight mine` first")
    notes = {n.id: n for n in load_notes(store)}
    members = {p.id: [notes[i].display_id if i in notes else i for i in p.member_ids] for p in result.patterns}
    if fmt == "json":
        return json.dumps(report_data(result, notes), indent=2, ensure_ascii=False)
    if fmt == "md":
        return render_markdown(result, member_ids=members, extra_sections=extra_sections)
    return render_html(result, member_ids=members, extra_sections=extra_sections)
