"""Critique: structured output over the wire (llama.cpp's json_object + schema)."""

from __future__ import annotations

import json

import pytest

from oversight.critique import critique_draft, ground_findings
from oversight.prompts import load_prompt
from oversight.schemas import Draft, Finding
from tests._demo import demo_tasks


def a_draft(task_id: str) -> Draft:
    text = ("The First Battle of Bull Run was fought on July 21, 1861, between Union forces under "
            "Irvin McDowell and Confederate forces under P. G. T. Beauregard. The Union won the battle.")
    return Draft(id="d_fixed", task_id=task_id, model="human", prompt_name="draft", prompt_version="x", text=text)


@pytest.mark.vcr
async def test_critique_validates_into_findings(recorded_llm, vcr) -> None:
    task = demo_tasks(1)[0]
    critique = await critique_draft(task, a_draft(task.id), recorded_llm, load_prompt("critique"))
    assert critique.draft_id == "d_fixed" and critique.prompt_version == load_prompt("critique").version
    # the recorded answer: SmolLM2-135M found nothing and echoed the draft as its summary
    assert critique.findings == [] and critique.summary == a_draft(task.id).text
    request = json.loads(vcr.requests[0].body)
    # the local server is asked for json_object constrained by the schema, not json_schema
    assert request["response_format"]["type"] == "json_object"
    assert "findings" in request["response_format"]["schema"]["properties"]


def test_ground_findings_marks_paraphrased_quotes_and_drops_duplicates() -> None:
    draft = "Paris is the capital of Germany."
    findings = [
        Finding(quote="capital of Germany", issue="Wrong country.", severity="high", category="factual-error"),
        Finding(quote="capital of Germany", issue="Wrong country.", severity="high", category="factual-error"),
        Finding(quote="Paris is in Germany", issue="Paraphrased.", severity="low", category="factual-error"),
    ]
    grounded = ground_findings(findings, draft)
    assert [f.quote for f in grounded] == ["capital of Germany", "(not verbatim) Paris is in Germany"]
