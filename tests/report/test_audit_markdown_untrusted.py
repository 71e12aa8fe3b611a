"""The audit and grounding sections of the Markdown report keep untrusted text inert too."""

from __future__ import annotations

from oversight.audit import audit_judgments
from oversight.audit.report import render_audit_markdown
from oversight.schemas import PairwiseJudgment

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))",
            "<javascript:alert(1)>"]


def test_audit_markdown_escapes_prompts_annotators_and_source() -> None:
    rows = []
    for i in range(12):
        for k, who in enumerate(["ann|<b>", "bob", "cy"]):
            rows.append(PairwiseJudgment(
                id=f"p{i}", prompt=PAYLOADS[i % 4], response_a="short", response_b="a longer answer here",
                annotator=who, choice="a" if (i + k) % 3 else "b", gold="b",
            ))
    result = audit_judgments(rows, source="<script>file</script>.jsonl")
    text = render_audit_markdown(result)
    for bad in ("<script", "<img", "](javascript:", "<javascript:", "<b>"):
        assert bad not in text, bad
    table_lines = [line for line in text.splitlines() if line.startswith("| ann")]
    assert table_lines and all(line.count(" | ") == table_lines[0].count(" | ") for line in table_lines)
