"""Exported rows say who found each finding: the critic model or a check (SQLite and PostgreSQL)."""

from __future__ import annotations

from oversight.refine.export import export_rows
from oversight.schemas import Critique, Draft, Finding, FindingVerdict, Refinement, Task


def test_each_exported_finding_carries_its_source(store) -> None:
    model = Finding(quote="Paris", issue="Too short.", severity="low", category="style")
    check = Finding(quote="on the Seine", issue='not in the context: "Seine"', severity="high",
                    category="unsupported-claim", source="check: not in the context")
    store.add_tasks([Task(id="t", prompt="Capital of France?", context="Paris is the capital.")])
    store.save_draft(Draft(id="d", task_id="t", model="m", prompt_name="draft", prompt_version="x",
                           text="Paris, on the Seine."))
    store.save_critique(Critique(id="c", draft_id="d", task_id="t", model="critic", prompt_name="critique",
                                 prompt_version="v", findings=[model, check]))
    store.save_refinement(Refinement(task_id="t", draft_id="d", critique_id="c", decision="accept",
                                     finding_verdicts=[FindingVerdict(finding=1, verdict="right")]))
    [row] = export_rows(store)
    assert [(f["source"], f["verdict"]) for f in row["findings"]] == [("model", None),
                                                                      ("check: not in the context", "right")]
