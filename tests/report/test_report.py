"""The leads' report: self-contained HTML, Markdown and JSON, with room for extra sections."""

from __future__ import annotations

import json
import re
from typing import Any

from oversight.mine.miner import MiningResult
from oversight.report import ReportSection, build_report, render_html
from oversight.schemas import FailureNote, MiningRun, Pattern, PatternStats
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


# -- notes from simulated reviewers: mined alike, marked ----------------------------------------


def simulated_run(*, sim: bool = True) -> tuple[Any, dict[str, FailureNote]]:
    """Two patterns and a noise note; with ``sim``, two of p_sim's five notes and the noise note are simulated."""
    simulated = {"n0", "n1", "n8"} if sim else set()
    notes = {f"n{i}": FailureNote(id=f"n{i}", text=f"note {i}", source="tag", refinement_id=f"r{i}", task_id=f"t{i}",
                                  simulated=f"n{i}" in simulated) for i in range(9)}

    def pattern(pid: str, name: str, members: list[str]) -> Pattern:
        stats = PatternStats(size=len(members), refinements=len(members), prevalence=len(members) / 9)
        return Pattern(id=pid, name=name, member_ids=members, stats=stats)

    run = MiningRun(id="run_sim", embedding_model="minilm", names="keywords", notes=9, units=9, patterns=2, noise=1,
                    noise_ids=["n8"])
    patterns = [pattern("p_sim", "Sim pattern", ["n0", "n1", "n2", "n3", "n4"]),
                pattern("p_human", "Human pattern", ["n5", "n6", "n7"])]
    return MiningResult(run=run, patterns=patterns, noise=[notes["n8"]]), notes


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def test_html_marks_patterns_with_notes_from_simulated_reviewers() -> None:
    result, notes = simulated_run()
    html = build_report(result, notes, "html")
    mark = '<span class="sim">2 of 5 notes from simulated reviewers</span>'
    assert mark in _between(html, '<tr id="row-p_sim">', "</tr>")
    assert mark in _between(html, '<details id="p_sim"', "</details>")
    assert 'class="sim"' not in _between(html, '<tr id="row-p_human">', "</tr>")
    assert 'class="sim"' not in _between(html, '<details id="p_human"', "</details>")
    header = _between(html, '<p class="sim" id="simulated-reviewers">', "</p>")
    assert "This run includes simulated reviewers: 3 of 9 notes from simulated reviewers" in header
    human_only, human_notes = simulated_run(sim=False)
    assert "simulated" not in build_report(human_only, human_notes, "html")


def test_markdown_marks_patterns_with_notes_from_simulated_reviewers() -> None:
    result, notes = simulated_run()
    md = build_report(result, notes, "md")
    assert "**This run includes simulated reviewers:** 3 of 9 notes from simulated reviewers." in md
    assert "| [Sim pattern](#p_sim) | 5 (2 simulated) |" in md
    assert "| [Human pattern](#p_human) | 3 |" in md
    assert "`p_sim` · 5 notes · 55.6% of refinements · named by keywords · **2 of 5 notes from simulated reviewers**" in md
    assert "`p_human` · 3 notes · 33.3% of refinements · named by keywords\n" in md
    human_only, human_notes = simulated_run(sim=False)
    assert "simulated" not in build_report(human_only, human_notes, "md")


def test_json_counts_notes_from_simulated_reviewers() -> None:
    result, notes = simulated_run()
    data = json.loads(build_report(result, notes, "json"))
    assert data["run"]["simulated_notes"] == 3
    assert {p["id"]: p["simulated_notes"] for p in data["patterns"]} == {"p_sim": 2, "p_human": 0}
    human_only, human_notes = simulated_run(sim=False)
    data = json.loads(build_report(human_only, human_notes, "json"))
    assert data["run"]["simulated_notes"] == 0
    assert [p["simulated_notes"] for p in data["patterns"]] == [0, 0]


def test_the_leads_report_from_the_store_marks_simulated_reviewers(store) -> None:
    import numpy as np

    from oversight.leads import report_text

    result, notes = simulated_run()
    store.save_notes(list(notes.values()))
    store.save_run(result.run, result.patterns, np.zeros((2, 4)), [[1.0] * 5, [1.0] * 3], [])
    md = report_text(store, "md", audit=False)
    assert "3 of 9 notes from simulated reviewers" in md and "| 5 (2 simulated) |" in md
    html = report_text(store, "html", audit=False)
    assert '<span class="sim">2 of 5 notes from simulated reviewers</span>' in html
    assert json.loads(report_text(store, "json", audit=False))["run"]["simulated_notes"] == 3
