"""The audit end to end: the typed result, the report section, and `oversight audit judgments`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from oversight.audit import FEATURES, AuditResult, PairwiseJudgment, audit_judgments
from oversight.audit.report import coefficient_svg, render_audit_html, render_audit_markdown
from oversight.cli import cli

RECORDED_MODEL = "openai/smollm2-135m-instruct"  # what `oversight model serve` answers as
RECORDED_API_BASE = "http://127.0.0.1:8765/v1"


def _write(path: Path, rows: list[PairwiseJudgment]) -> Path:
    path.write_text("".join(r.model_dump_json() + "\n" for r in rows), encoding="utf-8")
    return path


def test_audit_of_llmbar_neighbor(neighbor: list[PairwiseJudgment]) -> None:
    result = audit_judgments(neighbor, source="neighbor", min_items=40)
    assert (result.kind, result.n_judgments, result.n_items, result.annotators) == ("pairwise", 120, 60, ["GPT-4"])
    assert set(result.features) == set(FEATURES)
    assert result.position is not None and result.position.swapped_pairs == 60
    assert result.position.consistency is not None and result.position.consistency > 0.8
    assert result.style_given_gold is not None and result.style_given_gold.status == "ok"
    assert result.blind_spots is not None and result.blind_spots.items  # GPT-4 confidently wrong on some
    assert all(s.chosen != s.gold and s.votes == 2 for s in result.blind_spots.items)
    assert result.verdict and any("order" in v for v in result.verdict)
    data = result.to_json()
    assert list(data)[:3] == ["features", "alpha", "blind_spots"]
    assert set(data["features"]["length"]) >= {"coef", "ci", "p", "flagged"}
    assert AuditResult.model_validate_json(result.model_dump_json()) == result


def test_report_section_is_self_contained_with_a_plot(neighbor: list[PairwiseJudgment]) -> None:
    result = audit_judgments(neighbor, source="neighbor", min_items=40)
    html = render_audit_html(result)
    assert (
        html.startswith('<section class="oversight-audit">')
        and "<script" not in html
        and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    )
    svg = coefficient_svg(result.style)  # type: ignore[arg-type]
    root = ET.fromstring(svg)  # well-formed
    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert len(circles) == sum(1 for e in result.features.values() if e.effect is not None)
    assert "Shared blind spots" in html and "Agreement" in html
    md = render_audit_markdown(result)
    assert "| feature |" in md and "### Agreement" in md


def test_cli_prints_a_verdict_and_writes_the_section(tmp_path: Path, neighbor: list[PairwiseJudgment]) -> None:
    path = _write(tmp_path / "j.jsonl", neighbor)
    report = tmp_path / "rep"
    run = CliRunner().invoke(cli, ["audit", "judgments", str(path), "--report-dir", str(report)])
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith("- ")
    assert "order" in run.stdout
    assert (report / "audit.html").is_file() and (report / "audit.md").is_file()
    assert json.loads((report / "audit.json").read_text())["features"]["length"]["coef"] < 0


def test_cli_json(tmp_path: Path, pandalm: list[PairwiseJudgment]) -> None:
    path = _write(tmp_path / "p.jsonl", pandalm)
    run = CliRunner().invoke(cli, ["audit", "judgments", str(path), "--json", "--no-report"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert set(data["features"]) == set(FEATURES)
    for feature in data["features"].values():
        assert set(feature) >= {"coef", "ci", "p", "flagged"}
    assert 0.7 < data["alpha"] <= 1.0 and data["blind_spots"] == []
    assert not (tmp_path / "report").exists()


def test_cli_bad_file_is_one_line_naming_file_line_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,prompt,answer1,answer2,annotator,verdict\n1,q,x,y,r,a\n2,q,x,y,r,maybe\n", encoding="utf-8")
    run = CliRunner().invoke(
        cli,
        [
            "audit",
            "judgments",
            str(path),
            "--map",
            "response_a=answer1",
            "--map",
            "response_b=answer2",
            "--map",
            "choice=verdict",
        ],
    )
    assert run.exit_code == 1
    assert f"{path}:3: field 'verdict': expected a, b or tie" in run.stderr
    assert run.stdout == ""


@pytest.mark.vcr
def test_cli_runs_the_llm_judge_beside_the_humans(tmp_path: Path, neighbor: list[PairwiseJudgment]) -> None:
    """Recorded from `oversight model serve --port 8765`."""
    shortest = sorted({j.id: j for j in neighbor}.values(), key=lambda j: len(j.prompt + j.response_a + j.response_b))
    path = _write(tmp_path / "j.jsonl", [j for j in neighbor if j.id in {s.id for s in shortest[:2]}])
    run = CliRunner().invoke(
        cli,
        [
            "audit",
            "judgments",
            str(path),
            "--json",
            "--no-report",
            "--judge",
            "--judge-limit",
            "2",
            "--model",
            RECORDED_MODEL,
            "--api-base",
            RECORDED_API_BASE,
        ],
    )
    assert run.exit_code == 0, run.output
    judge = json.loads(run.stdout)["judge"]
    assert judge["judge"] == f"llm:{RECORDED_MODEL}" and 1 <= judge["n"] <= 4
    assert set(judge["judge_features"]) == set(FEATURES)


def test_cli_save_then_audit_refinements(tmp_path: Path, neighbor: list[PairwiseJudgment]) -> None:
    from oversight.schemas import Refinement, Task
    from oversight.store import Store

    db = tmp_path / "o.db"
    path = _write(tmp_path / "j.jsonl", neighbor[:20])
    run = CliRunner().invoke(cli, ["--db", str(db), "audit", "judgments", str(path), "--save", "--no-report"])
    assert run.exit_code == 0, run.output
    with Store.open(db) as store:
        assert store.count("judgments") == 20
        empty = CliRunner().invoke(cli, ["--db", str(db), "audit", "refinements"])
        assert empty.exit_code == 1 and "no refinement decisions" in empty.stderr
        store.add_tasks([Task(id="t1", prompt="p", kind="qa")])
        for reviewer, decision in (("ann", "accept"), ("bob", "reject")):
            store.save_refinement(Refinement(task_id="t1", draft_id="d1", decision=decision, reviewer=reviewer))
    run = CliRunner().invoke(
        cli, ["--db", str(db), "audit", "refinements", "--json", "--report-dir", str(tmp_path / "r")]
    )
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["kind"] == "pointwise" and data["agreement"]["disagreement_rate"] == 1.0
    assert data["routing"]["rules"][0]["value"] == "qa"
    assert not (tmp_path / "r" / "routing.json").exists()  # kept in the store, where the queue reads it

    with Store.open(db) as store:
        assert store.routing_rule().rules[0].value == "qa"


def test_cli_audit_of_refinements_counts_simulated_reviewers(tmp_path: Path) -> None:
    from oversight.schemas import Refinement, Task
    from oversight.store import Store

    db = tmp_path / "o.db"
    with Store.open(db) as store:
        store.add_tasks([Task(id="t1", prompt="p", kind="qa")])
        for reviewer, decision, simulated in (("ann", "accept", False), ("ann", "reject", True),
                                              ("sim-llm", "reject", True)):
            store.save_refinement(Refinement(task_id="t1", draft_id="d1", decision=decision, reviewer=reviewer,
                                             simulated=simulated))
    run = CliRunner().invoke(cli, ["--db", str(db), "audit", "refinements", "--report-dir", str(tmp_path / "r")])
    assert run.exit_code == 0, run.output
    line = "2 of 3 judgments came from simulated reviewers (annotators named sim:...); they are audited like the others."
    assert f"- {line}" in run.stdout.splitlines()
    assert "3 judgments (2 from simulated reviewers)" in (tmp_path / "r" / "audit.md").read_text()
    data = json.loads((tmp_path / "r" / "audit.json").read_text())
    assert (data["n_simulated"], data["annotators"]) == (2, ["ann", "sim:ann", "sim:sim-llm"])
    assert "(2 simulated left out)" in run.stderr


def test_simulated_decisions_alone_never_set_the_queues_routing(tmp_path: Path) -> None:
    from oversight.schemas import Refinement, Task
    from oversight.store import Store

    db = tmp_path / "o.db"
    with Store.open(db) as store:
        store.add_tasks([Task(id=f"t{i}", prompt="p", kind="qa") for i in range(3)])
        for i in range(3):
            store.save_refinement(Refinement(task_id=f"t{i}", draft_id=f"d{i}", decision="reject",
                                             reviewer="sim-catches", simulated=True))
    run = CliRunner().invoke(cli, ["--db", str(db), "audit", "refinements", "--no-report"])
    assert run.exit_code == 0, run.output
    assert "routing rule was left as it was" in run.stderr
    with Store.open(db) as store:
        assert store.routing_rule() is None


def test_report_shows_the_llm_judge_beside_the_humans(pandalm: list[PairwiseJudgment]) -> None:
    from oversight.audit import compare_with_judge

    judged = [
        j.model_copy(update={"annotator": "llm:x", "choice": "a"}) for j in pandalm if j.annotator == "annotator1"
    ]
    result = audit_judgments(pandalm, source="pandalm")
    result.judge = compare_with_judge(pandalm, judged)
    html, md = render_audit_html(result), render_audit_markdown(result)
    assert "LLM judge beside the humans" in html and "llm:x" in html
    assert "### LLM judge beside the humans" in md and "| length |" in md


class UnusableJudge:
    """A judge whose every answer fails its schema (what a tiny model sometimes does)."""

    model = "fake/judge"
    prepare = None

    async def structured(self, messages, schema, **params):
        from oversight.errors import StructuredOutputError

        raise StructuredOutputError("did not match JudgeVerdict even after one repair", raw="{")


def test_cli_says_so_when_no_judge_answer_was_usable(tmp_path: Path, neighbor: list[PairwiseJudgment],
                                                     monkeypatch) -> None:
    from oversight.project import Project

    opened = Project.open

    def with_unusable_judge(*args, **kwargs):
        project = opened(*args, **kwargs)
        project.judge = UnusableJudge()  # type: ignore[assignment]
        return project

    monkeypatch.setattr(Project, "open", with_unusable_judge)
    path = _write(tmp_path / "j.jsonl", neighbor[:4])
    run = CliRunner().invoke(cli, ["audit", "judgments", str(path), "--no-report", "--judge", "--judge-limit", "1",
                                   "--model", "openai/some-model", "--api-base", RECORDED_API_BASE])
    assert run.exit_code == 1
    assert "no usable answer" in run.stderr and "agrees" not in run.stdout
