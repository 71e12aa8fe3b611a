"""Suggesting interventions: rules from notes and refinements (no model), a queued fake for the
model's logic, and a cassette of the embedded SmolLM2 on a real pattern (FineGrainedRLHF post-edits)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from oversight.errors import StructuredOutputError
from oversight.intervene.apply import apply_unified_diff
from oversight.intervene.checks import passes
from oversight.intervene.suggest import (
    SUGGEST_PROMPT,
    InterventionIdeas,
    suggest,
    suggest_by_rules,
    suggest_with_llm,
)
from oversight.prompts import load_prompt
from oversight.refine.answers import word_diff
from oversight.schemas import (
    Draft,
    EvalCheck,
    FailureNote,
    FewShot,
    Guideline,
    Intervention,
    Pattern,
    PatternStats,
    PromptPatch,
    Refinement,
    Task,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mine"
EDITS_SLICE = FIXTURES / "finegrainedrlhf_edits" / "dev_edits.slice.jsonl"
TTCW = FIXTURES / "creativity_eval" / "ttcw_no_sample.jsonl"
OTHER_KINDS = ["prompt_patch", "guideline", "eval_check", "data_request", "routing_rule"]


def example(key: str, prompt: str, draft: str, refined: str | None) -> tuple[Task, Draft, Refinement]:
    task = Task(id=f"t-{key}", prompt=prompt)
    drafted = Draft(id=f"d-{key}", task_id=task.id, model="m", prompt_name="draft", prompt_version="v1", text=draft)
    refinement = Refinement(id=f"r-{key}", task_id=task.id, draft_id=drafted.id,
                            decision="edit" if refined else "reject", refined_text=refined,
                            diff=word_diff(draft, refined) if refined else [])
    return task, drafted, refinement


def note(key: str, text: str, position: int = 0) -> FailureNote:
    return FailureNote(id=FailureNote.derive_id(f"r-{key}", str(position), text), text=text, source="rationale",
                       refinement_id=f"r-{key}", task_id=f"t-{key}")


def pattern_of(notes: list[FailureNote], name: str = "Answers longer than asked") -> Pattern:
    refinements = len({n.refinement_id for n in notes})
    return Pattern(id="p_test", name=name, description="", member_ids=[n.id for n in notes],
                   stats=PatternStats(size=len(notes), refinements=refinements, prevalence=0.5))


CAPITALS = [("fr", "France", "Paris"), ("au", "Australia", "Canberra"), ("ca", "Canada", "Ottawa"),
            ("br", "Brazil", "Brasília")]


def one_word_case() -> tuple[Pattern, list[FailureNote], list[tuple[Task, Draft, Refinement]]]:
    examples = [example(k, f"What is the capital of {c}? Answer with one word.",
                        f"The capital of {c} is {a}, a city with a long history and many museums.", a)
                for k, c, a in CAPITALS]
    notes = [note("fr", "Answer with one word, as the task asks."),
             note("au", "Too long: the answer should be a single word."),
             note("ca", "Too long."),
             note("br", "Adds museums nobody asked about.")]
    return pattern_of(notes), notes, examples


def by_kind(interventions: list[Intervention], kind: str) -> list[Intervention]:
    return [i for i in interventions if i.kind == kind]


def test_one_word_notes_give_a_one_word_limit_and_two_examples_that_pass_it() -> None:
    pattern, notes, examples = one_word_case()
    elsewhere = example("it", "Tell me about Rome.", "Rome.", "Rome is the capital of Italy, of course.")
    out = suggest_by_rules(pattern, [*notes, note("it", "Too short.")], [*examples, elsewhere])  # not in the pattern
    [check] = by_kind(out.interventions, "eval_check")
    assert isinstance(check.payload, EvalCheck)
    assert (check.payload.criterion.kind, check.payload.criterion.value) == ("max_words", 1)
    assert check.payload.cases == ["t-au", "t-br", "t-ca", "t-fr"]
    assert check.note_ids == [n.id for n in notes[:3]]  # the notes that asked, not the museum one
    assert "3 of the pattern's 4 notes" in check.rationale and "the limit is 1" in check.rationale
    assert check.proposed_by == "rules" and check.id == Intervention.derive_id("p_test", check.payload)
    [shots] = by_kind(out.interventions, "few_shot")
    assert isinstance(shots.payload, FewShot) and shots.payload.prompt == "draft"
    assert len(shots.payload.examples) == 2
    for shown in shots.payload.examples:
        assert passes(check.payload.criterion, shown.answer)
        assert shown.prompt.startswith("What is the capital of")
    assert {e.answer for e in shots.payload.examples} <= {a for _, _, a in CAPITALS}
    # a rubric item for trainers from the data: the shortest refined answer, and the draft it fixed
    [guide] = by_kind(out.interventions, "guideline")
    assert (guide.payload.good_example, guide.payload.bad_example) == (
        "Paris", "The capital of France is Paris, a city with a long history and many museums.")
    assert guide.task_ids == ["t-fr"] and guide.proposed_by == "rules"
    assert out.needs_model == ["prompt_patch", "data_request", "routing_rule"]
    assert any("need a model" in n for n in out.notes)


def test_a_one_word_request_gives_way_to_longer_refined_answers_and_says_so() -> None:
    pattern, notes, examples = one_word_case()
    task, drafted, _ = examples[3]
    longer = Refinement(id="r-br", task_id=task.id, draft_id=drafted.id, decision="edit",
                        refined_text="Brasília, since 1960.", diff=word_diff(drafted.text, "Brasília, since 1960."))
    out = suggest_by_rules(pattern, notes, [*examples[:3], (task, drafted, longer)])
    [check] = by_kind(out.interventions, "eval_check")
    assert check.payload.criterion.value == 3
    assert "longest refined answer" in check.rationale and "not 1" in check.rationale


def test_too_long_without_a_number_takes_the_90th_percentile_of_refined_lengths() -> None:
    examples = [example(f"k{i}", f"Explain topic {i}.", "word " * 200, " ".join(["word"] * (10 * i)))
                for i in range(1, 11)]
    notes = [note(f"k{i}", "Far too verbose, should be shorter.") for i in range(1, 11)]
    out = suggest_by_rules(pattern_of(notes), notes, examples)
    [check] = by_kind(out.interventions, "eval_check")
    assert check.payload.criterion.value == 90 and "90th percentile" in check.rationale
    [shots] = by_kind(out.interventions, "few_shot")
    assert [len(e.answer.split()) for e in shots.payload.examples] == [10, 20]  # the shortest


def test_a_list_request_gives_a_regex_check_and_examples_that_are_lists() -> None:
    answers = {"a": "Eggs, milk.", "b": "- eggs\n- milk\n- flour", "c": "1. wash\n2. dry", "d": "Just wash it."}
    examples = [example(k, f"Steps for {k}?", "A long paragraph about it all.", a) for k, a in answers.items()]
    notes = [note(k, "This should be a bulleted list.") for k in answers]
    out = suggest_by_rules(pattern_of(notes, "Prose where a list was asked"), notes, examples)
    [check] = by_kind(out.interventions, "eval_check")
    assert check.payload.criterion.kind == "regex"
    assert passes(check.payload.criterion, answers["b"]) and not passes(check.payload.criterion, answers["a"])
    [shots] = by_kind(out.interventions, "few_shot")
    assert sorted(e.task_id for e in shots.payload.examples) == ["t-b", "t-c"]  # not the shorter prose ones


def test_a_json_note_gives_a_valid_json_check() -> None:
    examples = [example(k, "Give the record as JSON.", f"Here: {{'{k}': 1}}", f'{{"{k}": 1}}') for k in "xyz"]
    notes = [note(k, "Not valid JSON: single quotes and a preamble.") for k in "xyz"]
    out = suggest_by_rules(pattern_of(notes), notes, examples)
    assert [i.payload.criterion.kind for i in by_kind(out.interventions, "eval_check")] == ["valid_json"]


def test_notes_with_no_programmatic_hint_give_no_check_and_leave_the_rest_to_a_model() -> None:
    rows = [json.loads(line) for line in TTCW.read_text(encoding="utf-8").splitlines()]
    endings = [r for r in rows if r["category"] == "Narrative Ending"][:8]
    examples = [example(r["id"], f"Write a story ({r['story_id']}).", "A story.", None) for r in endings]
    notes = [note(r["id"], r["explanation"]) for r in endings]
    out = suggest_by_rules(pattern_of(notes, "Endings that are not earned"), notes, examples)
    assert out.interventions == []  # rejected drafts: no refined answer to show either
    assert out.needs_model == OTHER_KINDS
    assert any("two are needed for a few-shot set" in n for n in out.notes)


def test_a_phrase_deleted_in_three_refinements_becomes_a_forbidden_check() -> None:
    facts = {"a": "Paris is in France.", "b": "Water boils at 100 C.", "c": "The sun is a star.",
             "d": "Cats are mammals.", "e": "Ice is cold."}
    examples = [example(k, f"Tell me fact {k}.", f"As an AI language model, {f}", f) for k, f in list(facts.items())[:3]]
    examples += [example(k, f"Tell me fact {k}.", f"Honestly speaking, {f}", f) for k, f in list(facts.items())[3:]]
    notes = [note(k, "Starts with a needless preamble.") for k in facts]
    out = suggest_by_rules(pattern_of(notes, "Needless preamble"), notes, examples)
    [check] = by_kind(out.interventions, "eval_check")  # "Honestly speaking" was deleted only twice
    assert (check.payload.criterion.kind, check.payload.criterion.value) == ("forbidden", "As an AI language model")
    assert check.payload.cases == ["t-a", "t-b", "t-c"] and check.task_ids == ["t-a", "t-b", "t-c"]
    assert "in 3 refinements" in check.rationale
    assert len(check.note_ids) == 3


def test_suggesting_twice_gives_the_same_ids_whatever_the_order() -> None:
    pattern, notes, examples = one_word_case()
    first = [i.id for i in suggest_by_rules(pattern, notes, examples).interventions]
    shuffled_notes, shuffled_examples = notes[:], examples[:]
    random.Random(3).shuffle(shuffled_notes)
    random.Random(4).shuffle(shuffled_examples)
    again = [i.id for i in suggest_by_rules(pattern, shuffled_notes, shuffled_examples).interventions]
    assert len(first) == 3 and again == first


async def test_what_exists_already_is_not_suggested_again() -> None:
    pattern, notes, examples = one_word_case()
    first = (await suggest(pattern, notes, examples)).interventions
    check, shots = by_kind(first, "eval_check")[0], by_kind(first, "few_shot")[0]
    same_title = shots.model_copy(update={"id": "iv_by_a_lead", "proposed_by": "lead",
                                          "title": "  show the draft prompt TWO human-refined answers as examples!"})
    again = await suggest(pattern, notes, examples, existing=[check, same_title])
    assert [i.kind for i in again.interventions] == ["guideline"]  # the only one not proposed before
    guide = by_kind(first, "guideline")[0]
    assert [i.id for i in (await suggest(pattern, notes, examples, existing=[check])).interventions] == [
        shots.id, guide.id]
    elsewhere = same_title.model_copy(update={"pattern_id": "p_other"})  # the same title for another pattern
    assert len((await suggest(pattern, notes, examples, existing=[elsewhere])).interventions) == 3


class QueuedLLM:
    """A fake model: hands out queued answers (a dict to validate, or an exception to raise)."""

    model = "fake/queued"

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.messages: list[list[dict[str, str]]] = []

    async def structured(self, messages: list[dict[str, str]], schema: Any, **params: Any) -> tuple[Any, None]:
        self.messages.append(messages)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return schema.model_validate(answer), None


def idea(kind: str, title: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "title": title, "rationale": "notes 1-3", "expected_effect": "fewer", **fields}


async def test_model_proposals_become_records_and_invalid_ones_are_dropped_with_a_note() -> None:
    pattern, notes, examples = one_word_case()
    rules = (await suggest(pattern, notes, examples)).interventions
    llm = QueuedLLM({"interventions": [
        idea("prompt_patch", "Ask for one word", instruction="When the task asks for one word,\n reply with one word."),
        idea("eval_check", "Word limit", check_kind="word_limit", check_value="1"),
        idea("eval_check", "Bad regex", check_kind="regex", check_value="(["),
        idea("eval_check", "Judge the length", check_kind="llm_judge", check_value="Is the answer longer than asked?"),
        idea("guideline", rules[1].title, rubric="Prefer short answers.", good_example="Paris", bad_example="It is"),
    ]})
    out = await suggest(pattern, notes, examples, llm=llm, existing=[])
    assert out.needs_model == []
    made = [i for i in out.interventions if i.proposed_by == "llm:fake/queued"]
    assert [i.kind for i in made] == ["prompt_patch", "eval_check"]  # the 5th item was cut: at most 4
    assert any("proposal 2 (eval_check) dropped: unknown check kind 'word_limit'" in n for n in out.notes)
    assert any("proposal 3 (eval_check) dropped: regex '([' does not compile" in n for n in out.notes)
    patch = made[0].payload
    assert isinstance(patch, PromptPatch) and patch.prompt == "draft"
    draft_prompt = load_prompt("draft")
    assert patch.base_version == draft_prompt.version
    patched = apply_unified_diff(draft_prompt.path.read_text(encoding="utf-8"), patch.diff)
    system = patched.split("## system", 1)[1].split("## user", 1)[0]
    assert system.rstrip().endswith("When the task asks for one word, reply with one word.")
    assert made[1].payload.criterion.kind == "llm_judge" and made[1].payload.cases == ["t-au", "t-br", "t-ca", "t-fr"]
    assert made[0].note_ids == pattern.member_ids
    user = llm.messages[0][-1]["content"]
    assert "Answer with one word, as the task asks." in user and "- Paris" in user and rules[0].title in user


async def test_a_model_title_already_proposed_is_dropped() -> None:
    pattern, _, _ = one_word_case()
    guideline = idea("guideline", "Prefer short answers", rubric="Short.", good_example="", bad_example="")
    llm = QueuedLLM({"interventions": [guideline]}, {"interventions": [guideline]})
    first = await suggest_with_llm(llm, load_prompt(SUGGEST_PROMPT), pattern, ["too long"], [])
    [made] = first.interventions
    assert isinstance(made.payload, Guideline)
    again = await suggest_with_llm(llm, load_prompt(SUGGEST_PROMPT), pattern, ["too long"], first.interventions)
    assert again.interventions == [] and "already proposed" in again.notes[-1]


async def test_an_answer_that_never_fits_the_schema_is_a_note_not_a_crash() -> None:
    pattern, notes, examples = one_word_case()
    llm = QueuedLLM(StructuredOutputError("no JSON object in the answer", raw="Sure!"))
    out = await suggest(pattern, notes, examples, llm=llm)
    assert [i.proposed_by for i in out.interventions] == ["rules", "rules", "rules"]
    assert any("did not fit the schema" in n for n in out.notes)


def test_the_answer_schema_has_no_docstrings_and_one_item_type_per_kind() -> None:
    schema = InterventionIdeas.model_json_schema()
    assert "description" not in schema
    kinds = {d["properties"]["kind"]["const"] for d in schema["$defs"].values() if "kind" in d["properties"]}
    assert kinds == {"prompt_patch", "guideline", "eval_check", "data_request", "routing_rule"}
    assert all(d.get("additionalProperties") is False for d in schema["$defs"].values())


def redundant_pattern_items() -> list[Any]:
    from oversight.refine.post_edits import load_refinement_file

    fields = {"draft_field": "prediction", "refined_field": "corrected", "id_field": "id", "source_field": "id",
              "tags_field": "error_types", "prompt_field": "question"}
    return [i for i in load_refinement_file(EDITS_SLICE, **fields) if "redundant" in i.refinement.tags]


@pytest.mark.vcr
async def test_the_embedded_model_suggests_for_a_real_pattern(recorded_llm, vcr) -> None:
    """Cassette: SmolLM2 on the FineGrainedRLHF answers reviewers cut for redundant, off-question text."""
    from oversight.mine.notes import notes_from_refinement

    items = redundant_pattern_items()
    notes = []
    for item in items:
        notes += await notes_from_refinement(item.refinement, task=item.task, draft=item.draft)
    notes = [n for n in notes if n.source == "tag" or n.text.startswith(("Removed", "Cut"))]
    pattern = Pattern(
        id="p_redundant", name="Answers padded with repeated or off-question sentences",
        description="The answer repeats facts or adds sentences the question did not ask about; reviewers cut them.",
        criteria=["the reviewer removed a sentence", "the removed text repeats the answer or is off the question"],
        member_ids=[n.id for n in notes],
        stats=PatternStats(size=len(notes), refinements=len(items), prevalence=len(items) / 30))
    examples = [(i.task, i.draft, i.refinement) for i in items]
    out = await suggest(pattern, notes, examples, llm=recorded_llm)

    assert len(items) == 5 and out.needs_model == []
    # no length, list or JSON hint and no phrase cut three times: the rules propose only examples
    shots, guide = [i for i in out.interventions if i.proposed_by == "rules"]
    assert shots.kind == "few_shot" and shots.task_ids == ["dev-001", "dev-004"]  # the two shortest refined
    assert guide.kind == "guideline" and guide.payload.good_example and guide.payload.bad_example
    for record in out.interventions:
        assert Intervention.model_validate(record.model_dump(mode="json")) == record
        assert record.id == Intervention.derive_id("p_redundant", record.payload)
    made = [i for i in out.interventions if i.proposed_by != "rules"]
    assert {i.proposed_by for i in made} == {"llm:openai/smollm2-135m-instruct"}
    # what the recorded SmolLM2 answer holds: a prompt patch and a guideline, both kept (nothing dropped)
    assert [i.kind for i in made] == ["prompt_patch", "guideline"]
    assert not any("dropped" in note for note in out.notes)
    assert all(i.note_ids == pattern.member_ids and len(i.task_ids) == 5 for i in made)
    draft_text = load_prompt("draft").path.read_text(encoding="utf-8")
    patched = apply_unified_diff(draft_text, made[0].payload.diff)
    assert len(patched.splitlines()) == len(draft_text.splitlines()) + 1
    [added] = [line[1:] for line in made[0].payload.diff.splitlines() if line[:1] == "+" and line[:3] != "+++"]
    assert added.startswith("The film's plot is based on a story") and patched.index(added) < patched.index("## user")
    [request] = vcr.requests
    body = json.loads(request.body)
    assert body["response_format"]["type"] == "json_object"
    assert "Answers padded with repeated" in body["messages"][-1]["content"]
    assert "- redundant" in body["messages"][-1]["content"] and shots.title in body["messages"][-1]["content"]


@pytest.mark.parametrize(("note", "limit"), [
    ("Answer in one word, as the task asks.", 1),
    ("It should be in a single word.", 1),
    ("Keep it under twelve words.", 12),  # the notes read counts as the prompt checks do (to twenty, then tens)
    ("Say it within 30 words.", 30),
    ("The last two words are wrong.", None),
])
def test_a_word_limit_in_a_note_is_read_as_the_checks_read_one(note: str, limit: int | None) -> None:
    from oversight.intervene.suggest import _stated_limit

    assert _stated_limit(note) == limit
