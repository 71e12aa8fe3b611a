"""The "Critic grounding and precision" section: built from rows, passed in, escaped, in both formats."""

from __future__ import annotations

import re
from typing import Any

import pytest

from oversight.refine.critic_quality import grounding_report
from oversight.report import ReportSection, grounding_section
from tests._critics import GPT, SMOL, seed_critics
from tests.report.conftest import report


@pytest.fixture(scope="module")
def seeded(mined) -> Any:
    """The mined store of this module (other report tests do not see it) with the hand-made critics."""
    store, _ = mined
    seed_critics(store)
    return store


def _row_cells(html: str, model: str, checked: str) -> list[str]:
    """The text of the cells of the grounding table's row for ``model`` (checked or not)."""
    table = html.split('<table class="grounding">', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", table):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", row)]
        if cells and cells[0] == model and (checked in cells[6]) == (checked == "not checked"):
            return cells
    raise AssertionError(f"no row for {model}")


def test_the_section_shows_each_critics_counts_and_rates(seeded) -> None:
    store = seeded
    section = grounding_section(grounding_report(store))
    assert isinstance(section, ReportSection) and section.title == "Critic grounding and precision"

    html = report(store, "html", extra_sections=[section])
    assert "<h2>Critic grounding and precision</h2>" in html
    assert _row_cells(html, GPT, "checked") == [
        GPT, "critique@v1", "2", "6", "3", "50% (3 of 6)", "not-in-draft 1, prompt-echo 1, too-short 1",
        "4", "3", "1", "75% (3 of 4)"]
    assert _row_cells(html, GPT, "not checked")[5:] == [
        "–", "not checked (made before grounding)", "1", "0", "1", "0% (0 of 1)"]
    assert _row_cells(html, SMOL, "checked")[2:] == [
        "1", "2", "0", "0% (0 of 2)", "no-quote 1, not-in-draft 1", "0", "0", "0", "–"]

    md = report(store, "md", extra_sections=[section])
    assert "## Critic grounding and precision" in md
    assert (f"| {GPT} | critique@v1 | 2 | 6 | 3 | 50% (3 of 6) | not-in-draft 1, prompt-echo 1, too-short 1 "
            "| 4 | 3 | 1 | 75% (3 of 4) |") in md
    assert f"| {SMOL} | critique@v1 | 1 | 2 | 0 | 0% (0 of 2) | no-quote 1, not-in-draft 1 | 0 | 0 | 0 | – |" in md


def test_held_back_findings_are_listed_and_escaped(seeded) -> None:
    section = grounding_section(grounding_report(seeded))
    assert section is not None
    assert "<script>" not in section.html and "&lt;script&gt;alert(1)&lt;/script&gt; | x" in section.html
    assert "Paris is the capital of Italy." in section.html  # what the trainer was spared, for a lead to check
    assert "<script>" not in section.markdown and "&lt;script&gt;alert(1)&lt;/script&gt; &#124; x" in section.markdown


def test_the_leads_report_assembles_the_section(seeded) -> None:
    from oversight.leads import report_text

    store = seeded
    assert "<h2>Critic grounding and precision</h2>" in report_text(store, "html", audit=False)
    assert "| 75% (3 of 4) |" in report_text(store, "md", audit=False)
    assert "Critic grounding" not in report_text(store, "json", audit=False)  # JSON is the mining result alone
    assert grounding_section([]) is None  # no critique, no section
