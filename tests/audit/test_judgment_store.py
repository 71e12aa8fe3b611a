"""Judgments in the store: one transaction per import, nothing written for a bad file; refinements as judgments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight.audit import (
    PairwiseJudgment,
    agreement,
    import_judgments,
    judgments_from_refinements,
)
from oversight.errors import InputFileError
from oversight.schemas import Refinement, Task


def _write(path: Path, rows: list[PairwiseJudgment], tail: str = "") -> Path:
    path.write_text("".join(r.model_dump_json() + "\n" for r in rows) + tail, encoding="utf-8")
    return path


def test_migration_creates_the_table(store: Any) -> None:
    assert "m002_judgments" in store.applied_migrations()
    assert store.count("judgments") == 0


def test_import_keeps_every_judgment_once(store: Any, tmp_path: Path, neighbor: list[PairwiseJudgment]) -> None:
    path = _write(tmp_path / "j.jsonl", neighbor)
    loaded, added = import_judgments(store, path)
    assert added == len(neighbor) == len(loaded) == 120  # 60 pairs x 2 orders
    assert import_judgments(store, path)[1] == 0  # same file again: nothing new
    back = store.judgments(kind="pairwise")
    assert back == loaded
    assert store.judgments(source=str(path)) == loaded


def test_bad_file_leaves_the_store_unchanged(store: Any, tmp_path: Path, neighbor: list[PairwiseJudgment]) -> None:
    store.save_judgments(neighbor[:10])
    bad_row = json.dumps({**neighbor[20].model_dump(), "choice": "both good"})
    path = _write(tmp_path / "bad.jsonl", neighbor[10:40], tail=bad_row + "\n")
    with pytest.raises(InputFileError) as caught:
        import_judgments(store, path)
    assert (caught.value.line, caught.value.field) == (31, "choice")
    assert store.count("judgments") == 10  # the 30 good rows before the bad one were not written


def test_refinement_decisions_are_judgments() -> None:
    task = Task(id="t1", prompt="Explain X", kind="explain", domain="physics")
    refinements = [
        Refinement(task_id="t1", draft_id="d1", decision="accept", reviewer="ann"),
        Refinement(task_id="t1", draft_id="d1", decision="edit", reviewer="bob", refined_text="..."),
        Refinement(task_id="t1", draft_id="d1", decision="skip", reviewer="cat"),
        Refinement(task_id="t2", draft_id="d2", decision="reject", reviewer="ann"),
    ]
    got = judgments_from_refinements(refinements, {"t1": task})
    assert [(j.item, j.annotator, j.label) for j in got] == [
        ("d1", "ann", "accept"),
        ("d1", "bob", "edit"),
        ("d2", "ann", "reject"),
    ]
    assert (got[0].kind, got[0].domain, got[2].kind) == ("explain", "physics", None)
    result = agreement(got)
    assert result.level == "nominal" and result.disagreement_rate == 1.0  # ann and bob split on d1


def test_a_simulated_reviewers_decisions_are_recognisable_judgments() -> None:
    from oversight.audit import audit_judgments, is_simulated
    from oversight.audit.report import render_audit_html, render_audit_markdown

    refinements = [
        Refinement(task_id="t1", draft_id="d1", decision="accept", reviewer="ann"),
        Refinement(task_id="t1", draft_id="d1", decision="reject", reviewer="ann", simulated=True,
                   arm="critique_hidden"),
        Refinement(task_id="t2", draft_id="d2", decision="edit", reviewer="sim-catches", refined_text="...",
                   simulated=True, arm="critique_shown"),
        Refinement(task_id="t2", draft_id="d2", decision="edit", reviewer="bob", refined_text="..."),
    ]
    got = judgments_from_refinements(refinements)
    assert [j.annotator for j in got] == ["ann", "sim:ann", "sim:sim-catches", "bob"]  # never the person "ann"
    assert [is_simulated(j) for j in got] == [False, True, True, False]
    assert [j.metadata.get("arm") for j in got] == [None, "critique_hidden", "critique_shown", None]
    result = audit_judgments(got, source="refinements")
    assert (result.n_judgments, result.n_simulated) == (4, 2)
    line = "2 of 4 judgments came from simulated reviewers (annotators named sim:...); they are audited like the others."
    assert line in result.verdict
    assert "4 judgments (2 from simulated reviewers), 2 items" in render_audit_html(result)
    assert "4 judgments (2 from simulated reviewers), 2 items" in render_audit_markdown(result)
    people = audit_judgments([j for j in got if not is_simulated(j)], source="refinements")
    assert people.n_simulated == 0 and not any("simulated" in v for v in people.verdict)
    assert "simulated" not in render_audit_html(people) and "simulated" not in render_audit_markdown(people)

