"""Checks that need no model: grounding in the context, instructions, accepted eval checks, as findings."""

from __future__ import annotations

import pytest

from oversight.refine.checks import (
    INSTRUCTIONS,
    NOT_IN_CONTEXT,
    check_findings,
    eval_check_findings,
    grounding_findings,
    instruction_findings,
    intervention_source,
)
from oversight.refine.critique import ground_findings
from oversight.refine.support import statements
from oversight.schemas import CheckCriterion, EvalCheck, Finding, Intervention, Task

CONTEXT = ("Bloom is the second studio album by Troye Sivan, released on 31 August 2018. "
           "It features guest appearances from Gordi and Ariana Grande. "
           "The album was produced by Oscar Holter.\n\n"
           "Gone with the Wind: Bonnie Langford plays Bonnie Blue Butler. Audrey Smith plays a nurse.")
TASK = Task(id="t", prompt="When did Bloom come out?", context=CONTEXT)


def check(draft: str, task: Task = TASK) -> list[Finding]:
    return grounding_findings(task, draft)


def test_a_supported_draft_has_no_finding_and_a_task_without_context_is_not_checked() -> None:
    draft = "Bloom is the second studio album by Troye Sivan. It was released on 31 August 2018."
    assert check(draft) == []
    assert check("It came out in 1999 on Mars.", Task(id="q", prompt="When did Bloom come out?")) == []


def test_a_number_or_a_name_the_context_lacks_is_a_high_finding_quoting_its_statement() -> None:
    draft = "Bloom is the second studio album by Troye Sivan. It was released on 12 May 2019 by Max Martin."
    [finding] = check(draft)
    assert finding.quote == "It was released on 12 May 2019 by Max Martin"  # the edges the grounding rule ignores
    assert (finding.source, finding.severity, finding.category) == (NOT_IN_CONTEXT, "high", "unsupported-claim")
    assert finding.issue == 'not in the context: "12", "2019", "Max", "Martin"'  # "may" says nothing alone


def test_words_of_the_context_put_together_where_it_does_not_are_a_finding() -> None:
    # every word is in the context; "Audrey Langford" is not, and Bonnie Langford plays the part
    [finding] = check("Audrey Langford plays Bonnie Blue Butler.")
    assert (finding.severity, finding.issue) == ("high", 'the context never names "Audrey Langford"')
    # the album's producer is not in the sentences about the film
    [mixed] = check("Oscar Holter plays Bonnie Blue Butler.")
    assert mixed.issue == 'the closest sentences of the context lack "Oscar", "Holter"'  # not across a blank line


def test_accents_case_and_dropped_letters_do_not_make_a_finding() -> None:
    task = Task(id="a", prompt="Who?", context="Asōristān was ruled from Ctesiphon by Ḵosrow, Bogotá's founder.")
    assert check("Asristn was ruled from Ctesiphon by Kosrow.", task) == []  # letters a model's vocabulary lacks
    assert check("BOGOTA'S founder ruled Asoristan.", task) == []


def test_statements_split_at_sentence_ends_not_at_initials_or_abbreviations() -> None:
    text = 'Led by P. G. T. Beauregard. The U.S. Army lost in 1861! "Quoted." Dr. Who\nNext line'
    assert [text[a:b] for a, b in statements(text)] == [
        "Led by P. G. T. Beauregard.", "The U.S. Army lost in 1861!", '"Quoted."', "Dr. Who", "Next line"]


@pytest.mark.parametrize(("prompt", "draft", "quote"), [
    ("Describe Paris in at most 5 words.", "Paris is the capital city of France.", "France"),
    ("Summarise it in no more than three words.", "It is a long story here.", "long story here"),
    ("What is the capital of Chad? Answer with one word.", "The capital is N'Djamena.", "capital is N'Djamena"),
    ("Capital of Chad, in one word?", "It is N'Djamena.", "N'Djamena"),
    ("Explain photosynthesis in one sentence.", "Plants make sugar. They use light.", "They use light"),
    ("Give the causes in 2 sentences or fewer.", "One cause. Two causes. Three causes.", "Three causes"),
    ("List the planets as a bulleted list.", "Mercury, Venus and Earth.", "Mercury, Venus and Earth"),
    ("Return the answer as valid JSON.", "The answer is 42.", "The answer is 42"),
])
def test_an_instruction_the_draft_does_not_follow_is_a_finding_that_survives_grounding(
        prompt: str, draft: str, quote: str) -> None:
    found = instruction_findings(Task(id="i", prompt=prompt), draft)
    assert [(f.source, f.category) for f in found] == [(INSTRUCTIONS, "instruction-violation")]
    assert quote in found[0].quote
    assert ground_findings(found, draft).findings == found  # a check is held to the trainer's rule too


@pytest.mark.parametrize(("prompt", "draft"), [
    ("Describe Paris in at most 5 words.", "Paris, capital of France."),
    ("Explain photosynthesis in one sentence.", "Plants turn light into sugar."),
    ("List the planets as a bulleted list.", "- Mercury\n- Venus"),
    ("List them in a numbered list.", "1. Mercury\n2. Venus"),
    ("Reply in JSON.", '```json\n{"answer": 42}\n```'),
    ("Summarise it in 50 words.", "A summary " * 40),  # a length asked for, not a limit
    ("Describe it in one word or phrase.", "A big red apple"),  # ambiguous: no check
    ("What is the JSON format?", "A text format for data."),  # about JSON, not asking for it
    ("Give me a list of five fruits.", "Apples, pears, plums, figs and kiwis."),  # "a list of": no format asked
])
def test_instructions_that_are_followed_or_ambiguous_give_no_finding(prompt: str, draft: str) -> None:
    assert instruction_findings(Task(id="i", prompt=prompt), draft) == []


def eval_check(criterion: CheckCriterion, status: str = "accepted", title: str = "No hedging") -> Intervention:
    payload = EvalCheck(criterion=criterion)
    return Intervention(id=Intervention.derive_id("p1", payload), pattern_id="p1", kind="eval_check", title=title,
                        payload=payload, status=status)  # type: ignore[arg-type]


def test_an_accepted_eval_check_the_draft_fails_is_a_finding_naming_the_intervention() -> None:
    draft = "I think the capital is Paris. It is in France."
    forbidden = eval_check(CheckCriterion(kind="forbidden", value="I think", description="no hedging"))
    pronoun = eval_check(CheckCriterion(kind="forbidden_regex", value=r"\bIt\b"), title="No pronoun")
    required = eval_check(CheckCriterion(kind="required", value="Lyon"), title="Names Lyon")
    found = eval_check_findings([forbidden, pronoun, required], TASK, draft)
    assert [(f.source, f.quote, f.category) for f in found] == [
        (intervention_source(forbidden.id), "I think", "other"),
        (intervention_source(pronoun.id), "It is in France", "other"),  # "It" alone points at nothing: its sentence
        (intervention_source(required.id), "", "incomplete")]  # something missing: an omission, no quote
    assert f'"No hedging" (no hedging), intervention {forbidden.id}' in found[0].issue
    assert ground_findings(found, draft).findings == found


def test_only_programmatic_eval_checks_in_force_run() -> None:
    draft = "I think so."
    proposed = eval_check(CheckCriterion(kind="forbidden", value="think"), status="proposed")
    rejected = eval_check(CheckCriterion(kind="forbidden", value="I think"), status="rejected")
    judged = eval_check(CheckCriterion(kind="llm_judge", value="Does it hedge?"))
    no_reference = eval_check(CheckCriterion(kind="contains_reference"))
    assert eval_check_findings([proposed, rejected, judged, no_reference], TASK, draft) == []
    words = eval_check(CheckCriterion(kind="max_words", value=2))
    [finding] = eval_check_findings([words], TASK, "Paris is the capital of France.")
    assert finding.quote == "the capital of France" and finding.category == "instruction-violation"


def test_a_check_finding_survives_the_grounding_filter_and_a_quote_not_in_the_draft_does_not() -> None:
    draft = "Bloom came out in 2019 on Mars."
    [found] = check_findings(TASK, draft)
    made_up = found.model_copy(update={"quote": "Bloom came out in 2020"})
    grounded = ground_findings([found, made_up], draft)
    assert grounded.findings == [found]
    assert [(d.finding.source, d.reason) for d in grounded.dropped] == [(NOT_IN_CONTEXT, "not-in-draft")]
