"""The report's critic section has a row per check beside the critic models' rows."""

from __future__ import annotations

from oversight.refine.checks import CHECKS, NOT_IN_CONTEXT
from oversight.refine.critic_quality import grounding_rows
from oversight.report.grounding import grounding_section
from oversight.schemas import Critique, Finding, FindingVerdict


def test_a_check_has_its_own_row_with_its_precision() -> None:
    model = Finding(quote="Paris", issue="Too short.", severity="low", category="style")
    check = model.model_copy(update={"source": NOT_IN_CONTEXT, "issue": 'not in the context: "Seine"'})
    critique = Critique(id="c", draft_id="d", task_id="t", model="openai/gpt-4o-mini", prompt_name="critique",
                        prompt_version="v1", grounding="quote-in-draft/1", checks=CHECKS, findings=[model, check])
    rows = grounding_rows([(critique, [FindingVerdict(finding=1, verdict="right")])])
    section = grounding_section(rows)
    assert section is not None
    lines = [line for line in section.markdown.splitlines() if line.startswith("| ") and "Critic" not in line
             and "---" not in line]
    assert lines[0].startswith("| openai/gpt-4o-mini | critique@v1 | 1 | 1 | 1 |")
    assert lines[1].startswith(f"| {NOT_IN_CONTEXT} | {CHECKS} | 1 | 1 | 1 |") and "100% (1 of 1)" in lines[1]
    assert NOT_IN_CONTEXT in section.html
