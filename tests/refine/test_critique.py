"""Critique: structured output over the wire (llama.cpp's json_object + schema)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from oversight.prompts import load_prompt
from oversight.refine.checks import CHECKS
from oversight.refine.critique import GROUNDING, finding_problem, ground_findings, normalise, write_critique
from oversight.schemas import Draft, Finding
from tests._demo import demo_tasks


def a_draft(task_id: str) -> Draft:
    text = ("The First Battle of Bull Run was fought on July 21, 1861, between Union forces under "
            "Irvin McDowell and Confederate forces under P. G. T. Beauregard. The Union won the battle.")
    return Draft(id="d_fixed", task_id=task_id, model="human", prompt_name="draft", prompt_version="x", text=text)


@pytest.mark.vcr
async def test_critique_validates_into_findings(recorded_llm, vcr) -> None:
    task = demo_tasks(1)[0]
    critique = await write_critique(task, a_draft(task.id), recorded_llm, load_prompt("critique"))
    assert critique.draft_id == "d_fixed" and critique.prompt_version == load_prompt("critique").version
    # the recorded answer: SmolLM2-135M found nothing and echoed the draft as its summary
    assert [f for f in critique.findings if f.source == "model"] == [] and critique.summary == a_draft(task.id).text
    # the checks that need no model did: the passage says the Confederates won
    won = next(f for f in critique.findings if f.quote == "The Union won the battle")
    assert (won.source, won.issue, critique.checks) == ("check: not in the context", 'not in the context: "won"', CHECKS)
    request = json.loads(vcr.requests[0].body)
    # the local server is asked for json_object constrained by the schema, not json_schema
    assert request["response_format"]["type"] == "json_object"
    assert "findings" in request["response_format"]["schema"]["properties"]


SONG = 'The original song "Live and Let Die" was sung by Paul McCartney.'


def finding(quote: str, issue: str = "Wrong.", category: str = "factual-error") -> Finding:
    return Finding(quote=quote, issue=issue, severity="medium", category=category)  # type: ignore[arg-type]


def test_the_prompts_worked_example_quoted_on_a_song_is_dropped() -> None:
    grounded = ground_findings([finding("Paris is the capital of Italy.", "The capital is Rome.")], SONG)
    assert grounded.findings == []
    assert [(d.reason, d.finding.quote) for d in grounded.dropped] == [("not-in-draft", "Paris is the capital of Italy.")]


def test_a_lone_stop_word_is_too_short_to_ground_anything() -> None:
    grounded = ground_findings([finding("the"), finding("of the"), finding("P.")], SONG + " P. G. T. Beauregard.")
    assert grounded.findings == [] and [d.reason for d in grounded.dropped] == ["too-short"] * 3


def test_a_single_meaningful_word_or_number_is_enough() -> None:
    draft = "The battle was fought on July 21, 1861, under McDowell."
    grounded = ground_findings([finding("1861", "It was 1861."), finding("McDowell", "Also Patterson.")], draft)
    assert [f.quote for f in grounded.findings] == ["1861", "McDowell"] and grounded.dropped == []


def test_a_verbatim_quote_with_other_case_spacing_and_quote_marks_is_kept_in_the_drafts_words() -> None:
    quoted = finding("  \u201clive AND let\n   die\u201d  WAS SUNG ", "Wings sang it too.", category="incomplete")
    grounded = ground_findings([quoted], SONG)
    assert grounded.dropped == []
    assert [f.quote for f in grounded.findings] == ['Live and Let Die" was sung']  # as the draft writes it
    assert grounded.findings[0].quote in SONG


def test_an_empty_quote_is_allowed_only_on_an_omission() -> None:
    omission = finding("", "It leaves out Wings.", category="incomplete")
    no_quote = finding("", "McCartney did not sing it.", category="factual-error")
    grounded = ground_findings([omission, no_quote], SONG)
    assert grounded.findings == [omission]
    assert [(d.reason, d.finding) for d in grounded.dropped] == [("no-quote", no_quote)]


def test_a_paraphrase_is_no_longer_shown_and_duplicates_go_quietly() -> None:
    draft = "Paris is the capital of Germany."
    findings = [
        finding("capital of Germany", "Wrong country."),
        finding("Capital of  GERMANY", "wrong country"),  # the same finding once normalised
        finding("Paris is in Germany", "Paraphrased."),
    ]
    grounded = ground_findings(findings, draft)
    assert [f.quote for f in grounded.findings] == ["capital of Germany"]
    assert [(d.reason, d.finding.quote) for d in grounded.dropped] == [("not-in-draft", "Paris is in Germany")]
    assert not any(f.quote.startswith("(not verbatim)") for f in grounded.findings)


def test_an_issue_copied_from_the_prompts_example_is_dropped_even_with_a_real_quote() -> None:
    """The demo's real failure: the quote is in the draft, the issue is the prompt's worked example."""
    prompt = load_prompt("critique")
    echo = [finding("Live and Let Die", "Paris is the capital of Italy."),
            finding("Capital of Italy", "France, not Italy.", category="unsupported-claim")]
    grounded = ground_findings(echo, SONG, prompt_text=f"{prompt.system}\n{prompt.user}")
    assert grounded.findings == [] and [d.reason for d in grounded.dropped] == ["prompt-echo", "prompt-echo"]
    # the same words are fine when the task itself says them (a task about Paris)
    task = "Is Paris the capital of Italy? Paris is the capital of France, not Italy."
    kept = ground_findings([finding("Live and Let Die", "France, not Italy.")], SONG,
                           prompt_text=prompt.system, task_text=task)
    assert len(kept.findings) == 1 and kept.dropped == []


def test_normalise_unifies_case_space_quotes_and_dashes() -> None:
    assert normalise("  It\u2019s \u201cWar\u201d\u00a0\u2014 1861\u20131865\n") == 'it\'s "war" - 1861-1865'
    assert finding_problem(finding("  "), SONG) == "no-quote"
    assert finding_problem(finding("song", issue=" "), SONG) == "no-issue"


PIPELINE_CASSETTE = (Path(__file__).resolve().parents[2] / "cassettes" / "pipelines" / "test_refine_graph"
                     / "test_graph_pauses_at_human_refine_then_records_the_answer.yaml")


def recorded_critique_request(task_prompt: str) -> dict:
    """The critique request the refine-graph cassette recorded for one task (its draft is in it)."""
    for interaction in yaml.safe_load(PIPELINE_CASSETTE.read_text())["interactions"]:
        body = json.loads(interaction["request"]["body"])
        if "response_format" in body and f"Task: {task_prompt}" in body["messages"][1]["content"]:
            return body
    raise AssertionError(f"no recorded critique for {task_prompt!r}")


@pytest.mark.vcr(str(PIPELINE_CASSETTE))
async def test_the_demos_echoed_worked_example_never_reaches_the_trainer(recorded_llm) -> None:
    """Replayed: SmolLM2 answered a song question with the prompt's example as its two findings."""
    task = demo_tasks(2)[1]
    recorded = recorded_critique_request(task.prompt)
    user = recorded["messages"][1]["content"]
    text = user.split("\nDraft:\n", 1)[1].rsplit("\n\nList the findings", 1)[0]
    draft = Draft(id="d_song", task_id=task.id, model="m", prompt_name="draft", prompt_version="x", text=text)

    critique = await write_critique(task, draft, recorded_llm, load_prompt("critique"), parameters={"max_tokens": recorded["max_tokens"]})

    assert critique.grounding == GROUNDING
    assert critique.findings == []  # the trainer sees nothing from the critic
    assert [(d.reason, d.finding.quote, d.finding.issue) for d in critique.dropped] == [
        ("prompt-echo", "Live and Let Die", "Paris is the capital of Italy."),
        ("prompt-echo", "Capital of Italy", "France, not Italy."),
    ]


def test_the_demos_finding_whose_issue_is_just_the_is_dropped() -> None:
    """What SmolLM2 answered in `oversight demo` on the Bull Run draft (recorded above): two findings, issue "the"."""
    task = demo_tasks(1)[0]
    user = recorded_critique_request(task.prompt)["messages"][1]["content"]
    draft = user.split("\nDraft:\n", 1)[1].rsplit("\n\nList the findings", 1)[0]
    opening = draft[:draft.index(" advantage")]  # a verbatim quote of the draft's opening
    findings = [finding(opening, "the", category="factual-error"),
                finding(opening.replace("their initial", "its initial") + "...", "the")]
    grounded = ground_findings(findings, draft)
    assert grounded.findings == [] and [d.reason for d in grounded.dropped] == ["no-issue", "no-issue"]
    assert finding_problem(finding(opening, "Lee did not lead the Confederates here."), draft) is None
