"""The leads' report: self-contained HTML, Markdown and JSON, with room for extra sections."""

from __future__ import annotations

import json
import re

from oversight.report import ReportSection, build_report, render_html
from tests.report.conftest import report


def test_html_is_self_contained(mined) -> None:
    store, result = mined
    html = report(store, "html")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing to fetch
    assert "<script" not in html and "@import" not in html
    for pattern in result.patterns:
        assert f'id="{pattern.id}"' in html
    assert html.count("<details") == len(result.patterns)
    assert "<svg" in html and 'class="bar"' in html and 'class="heat"' in html


def test_heatmap_uses_a_slice_with_several_values(mined) -> None:
    store, _ = mined
    html = report(store, "html")
    assert "by <b>category</b>" in html  # the imported meta field with 6 values


def test_member_ids_are_the_files_own(mined) -> None:
    store, result = mined
    data = json.loads(report(store, "json"))
    first = data["patterns"][0]
    assert first["members"][0].startswith("ttcw-") and first["size"] == len(first["members"])
    assert data["run"]["patterns"] == len(result.patterns) == len(data["patterns"])


def test_extra_sections_are_appended_in_both_formats(mined) -> None:
    store, _ = mined
    extra = [ReportSection("Judgment audit", "<p id='audit'>length bias: none</p>", "length bias: none")]
    html = report(store, "html", extra_sections=extra)
    md = report(store, "md", extra_sections=extra)
    assert "<h2>Judgment audit</h2><p id='audit'>" in html
    assert md.rstrip().endswith("## Judgment audit\n\nlength bias: none")


def test_markup_in_notes_is_escaped(mined) -> None:
    _, result = mined
    pattern = result.patterns[0].model_copy(update={"name": "<script>alert(1)</script>"})
    html = render_html(result.__class__(run=result.run, patterns=[pattern]))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_report_is_built_from_what_it_is_given(mined) -> None:
    """No store: the mining result and notes are arguments, so a report needs no database."""
    _, result = mined
    md = build_report(result, {}, "md")
    assert md.startswith("# Failure patterns") and all(p.name in md for p in result.patterns)
    assert result.patterns[0].member_ids[0] in md  # without notes, members show by note id
