"""Failure notes from refinements: tags, rationale sentences, confirmed findings, edits."""

from __future__ import annotations

import pytest

from oversight.mine.miner import collect_failure_notes
from oversight.mine.notes import (
    describe_edit,
    edits_of,
    llm_edit_explainer,
    notes_from_refinement,
    significant_edits,
    split_sentences,
)
from oversight.prompts import load_prompt
from oversight.refine.answers import word_diff
from oversight.schemas import (
    Critique,
    DiffOp,
    Draft,
    Finding,
    FindingVerdict,
    Refinement,
    Task,
)
from tests.mine.conftest import edit_refinement


def a_case() -> tuple[Task, Draft, Critique, Refinement]:
    task = Task(id="t1", prompt="Who won at Bull Run?", domain="history", kind="qa")
    draft = Draft(id="d1", task_id="t1", model="m1", prompt_name="draft", prompt_version="pv1",
                  text="The Union won the First Battle of Bull Run in 1861.")
    critique = Critique(id="c1", draft_id="d1", task_id="t1", model="critic", prompt_name="critique",
                        prompt_version="cv1", findings=[
                            Finding(quote="The Union won", issue="The winner is wrong.", severity="high",
                                    category="factual-error"),
                            Finding(quote="1861", issue="The year is wrong.", severity="low", category="factual-error"),
                        ])
    refinement = Refinement(
        id="r1", task_id="t1", draft_id="d1", critique_id="c1", decision="edit",
        refined_text="The Confederacy won the First Battle of Bull Run in 1861. It was fought in Virginia.",
        diff=[DiffOp(op="equal", before="The ", after="The "), DiffOp(op="replace", before="Union", after="Confederacy"),
              DiffOp(op="equal", before=" won the First Battle of Bull Run in 1861",
                     after=" won the First Battle of Bull Run in 1861"),
              DiffOp(op="replace", before=".", after=";"), DiffOp(op="insert", after=" It was fought in Virginia.")],
        tags=["Factual Error"], rationale="The Union did not win; the Confederacy won the battle. Missing place.",
        finding_verdicts=[FindingVerdict(finding=0, verdict="right"), FindingVerdict(finding=1, verdict="wrong")],
        reviewer="ann",
    )
    return task, draft, critique, refinement


async def test_every_kind_of_note_links_back_to_its_refinement() -> None:
    task, draft, critique, refinement = a_case()
    notes = await notes_from_refinement(refinement, task=task, draft=draft, critique=critique)
    by_source = {}
    for note in notes:
        by_source.setdefault(note.source, []).append(note.text)
    assert by_source["tag"] == ["factual error"]
    assert by_source["rationale"] == ["The Union did not win; the Confederacy won the battle.", "Missing place."]
    assert by_source["finding"] == ["The winner is wrong."]  # the wrong finding gives no note
    # "Union -> Confederacy" is covered by the rationale; punctuation-only edits are ignored
    assert by_source["edit"] == ['Added a whole sentence at the end: "It was fought in Virginia."']
    for note in notes:
        assert (note.refinement_id, note.task_id, note.draft_id) == ("r1", "t1", "d1")
        assert (note.model, note.prompt_version, note.domain, note.kind, note.reviewer) == (
            "m1", "pv1", "history", "qa", "ann")
    assert next(n for n in notes if n.source == "finding").severity == "high"


async def test_notes_are_derived_deterministically() -> None:
    task, draft, critique, refinement = a_case()
    first = await notes_from_refinement(refinement, task=task, draft=draft, critique=critique)
    again = await notes_from_refinement(refinement, task=task, draft=draft, critique=critique)
    assert [n.id for n in first] == [n.id for n in again]


async def test_notes_of_a_simulated_reviewer_are_marked_and_kept_so(store) -> None:
    task, draft, critique, refinement = a_case()
    simulated = refinement.model_copy(update={"id": "r-sim", "simulated": True, "reviewer": "sim-catches"})
    human = await notes_from_refinement(refinement, task=task, draft=draft, critique=critique)
    sim = await notes_from_refinement(simulated, task=task, draft=draft, critique=critique)
    assert [n.simulated for n in human] == [False] * 5  # a tag, two rationale sentences, a finding, an edit
    assert [n.simulated for n in sim] == [True] * 5
    assert [(n.source, n.text) for n in sim] == [(n.source, n.text) for n in human]  # the same notes, marked
    store.save_notes(human + sim)
    kept = {n.id: n.simulated for n in store.notes()}
    assert sorted(kept.values()) == [False] * 5 + [True] * 5
    assert all(kept[n.id] for n in sim)


@pytest.mark.parametrize("decision", ["accept", "skip"])
async def test_accepted_or_skipped_drafts_give_no_notes(decision: str) -> None:
    refinement = Refinement(task_id="t", draft_id="d", decision=decision, tags=["x"])
    assert await notes_from_refinement(refinement) == []


def test_helpers() -> None:
    assert split_sentences("- First point.\n- Second one! Third?") == ["First point.", "Second one!", "Third?"]
    # an abbreviation before a number or a name does not end a sentence (the demo's rationales were cut at "No. 2")
    assert split_sentences("It reached No. 2 on the Billboard Hot 100 and No. 1 in Canada. Dr. Watson said so. "
                           "The U.S. Army left St. Louis in 1861.") == [
        "It reached No. 2 on the Billboard Hot 100 and No. 1 in Canada.", "Dr. Watson said so.",
        "The U.S. Army left St. Louis in 1861."]
    assert significant_edits([DiffOp(op="replace", before=" ,", after=" ;")]) == []
    assert describe_edit(DiffOp(op="delete", before="very very")) == 'Removed a few words: "very very"'


async def test_collect_notes_turns_each_refinement_once(tmp_store, ttcw_rows) -> None:
    from tests.mine.conftest import seed_refinements

    seed_refinements(tmp_store, ttcw_rows[:6])
    added = await collect_failure_notes(tmp_store)
    assert added == sum(len(split_sentences(r["explanation"])) for r in ttcw_rows[:6])
    assert await collect_failure_notes(tmp_store) == 0
    assert {n.kind for n in tmp_store.notes()} <= {r["category"] for r in ttcw_rows[:6]}


@pytest.mark.vcr
async def test_llm_states_what_an_uncovered_edit_fixed(recorded_llm, edit_items) -> None:
    """Cassette: the embedded SmolLM2 explains a professional writer's edits of an LLM draft."""
    task, draft, refinement = edit_refinement(edit_items[0])
    explain = llm_edit_explainer(recorded_llm, load_prompt("edit_note"))
    edits = significant_edits(refinement.diff)[:2]
    refinement = refinement.model_copy(update={"diff": edits})
    notes = await notes_from_refinement(refinement, task=task, draft=draft, explain_edits=explain)
    assert [n.source for n in notes] == ["edit", "edit"]
    for note, op in zip(notes, edits, strict=True):
        assert note.text.strip() and note.text != describe_edit(op)
        assert note.metadata["explained_by"] == "llm" and note.metadata["edit"]["after"] == op.after
        assert note.model == "claude3.5-sonnet" and note.domain == "Literary Fiction"


async def test_a_rewrite_gives_at_most_a_few_edit_notes(edit_items) -> None:
    from oversight.mine.notes import MAX_EDIT_NOTES

    task, draft, refinement = edit_refinement(edit_items[1])
    assert len(significant_edits(refinement.diff)) > MAX_EDIT_NOTES
    notes = await notes_from_refinement(refinement, task=task, draft=draft)
    assert 0 < len(notes) <= MAX_EDIT_NOTES and {n.source for n in notes} == {"edit"}


def test_an_edit_is_described_by_its_shape_whatever_its_subject() -> None:
    """Kind, size, position, whole sentence, repeat and number changes: what the edit fixed, not what it is about."""
    draft = "Paris is the capital of France. It is known for the Eiffel Tower. Paris is the capital of France."
    repeat = DiffOp(op="delete", before="Paris is the capital of France.")
    assert describe_edit(repeat, draft=draft, start=draft.rindex("Paris")) == (
        'Removed a whole sentence at the end, repeating the draft: "Paris is the capital of France."')
    middle = DiffOp(op="delete", before="known for")
    assert describe_edit(middle, draft=draft, start=draft.index("known")) == 'Removed a few words in the middle: "known for"'
    year = DiffOp(op="replace", before="1861", after="1862")
    assert describe_edit(year) == 'Changed a number: "1861" to "1862"'
    swap = DiffOp(op="replace", before="Union", after="Confederate army")
    assert describe_edit(swap, draft="The Union won the battle at Bull Run in July.", start=4) == (
        'Replaced a word with a few words at the start: "Union" with "Confederate army"')
    assert describe_edit(DiffOp(op="insert", after="Also it rained a lot that day."), draft="It rained.", start=10) == (
        'Added a whole sentence at the end: "Also it rained a lot that day."')


def test_an_edit_says_what_the_removed_words_had_to_do_with_the_context() -> None:
    context = "Bloom is the second studio album by Troye Sivan, released on 31 August 2018."
    draft = "Bloom came out on 31 August 2018. Sivan toured Europe with a large orchestra afterwards."
    unsupported = DiffOp(op="delete", before=" Sivan toured Europe with a large orchestra afterwards.")
    start = draft.index(" Sivan")
    assert describe_edit(unsupported, draft=draft, start=start, context=context) == (
        'Removed a whole sentence at the end, not in the context: "Sivan toured Europe with a large orchestra '
        'afterwards."')
    cut = DiffOp(op="replace", before="came out on 31 August 2018 after many delays and rumours", after="came out")
    assert describe_edit(cut).startswith('Cut a phrase down to a few words: "came out on')
    # twelve words to four: both "a phrase", so the shape says the phrase got shorter, not "a phrase to a phrase"
    shorter = DiffOp(op="replace", before="leaving behind nothing but the lingering scent of stale coffee and curiosity",
                     after="until the next week")
    assert describe_edit(shorter).startswith('Cut a phrase down to a shorter phrase: "leaving')
    grounded = DiffOp(op="replace", before="first album", after="second studio album")
    assert describe_edit(grounded, context=context) == (
        'Replaced a few words, from the context: "first album" with "second studio album"')


def test_a_rewrite_split_by_kept_words_is_one_edit() -> None:
    """The word diff keeps "the" between "won"->"lost" and "battle"->"siege of": the trainer made one edit."""
    draft = "The Union won the battle at Bull Run in July 1861, and then the army marched home."
    refined = "The Union lost the siege of Bull Run in July 1862, and then the army marched home."
    assert len(significant_edits(word_diff(draft, refined))) == 3  # what the word diff sees
    edits = edits_of(word_diff(draft, refined))
    assert [(op.op, op.before, op.after) for op, _ in edits] == [
        ("replace", "won the battle at", "lost the siege of"), ("replace", "1861,", "1862,")]
    assert [draft[at:at + len(op.before)] for op, at in edits] == ["won the battle at", "1861,"]
    # three kept words apart: two edits; a change of punctuation alone: none
    apart = edits_of(word_diff("alpha beta gamma delta epsilon zeta", "alpha omega gamma delta epsilon theta"))
    assert [op.before.strip() for op, _ in apart] == ["beta", "zeta"]
    assert edits_of(word_diff("Paris, France.", "Paris; France.")) == []
    # a deletion bridged by a kept word stays a cut of the whole span
    cut = edits_of(word_diff("It rained a lot and it snowed a lot that day.", "It rained that day."))
    assert [(op.op, op.before.strip(), op.after.strip()) for op, _ in cut] == [("delete", "a lot and it snowed a lot", "")]


def test_an_edit_says_when_the_removed_words_share_none_with_the_prompt() -> None:
    """Words off the question's subject are told apart from words about it (FineGrainedRLHF's irrelevant answers)."""
    draft = "Bloom came out on 31 August 2018. Ariana Grande sang on a single released in June."
    off = DiffOp(op="delete", before=" Ariana Grande sang on a single released in June.")
    start = draft.index(" Ariana")
    assert describe_edit(off, draft=draft, start=start, prompt="When did Bloom by Troye Sivan come out?") == (
        'Removed a whole sentence at the end, sharing no word with the prompt: '
        '"Ariana Grande sang on a single released in June."')
    on = DiffOp(op="delete", before=" Bloom was released by Troye Sivan in August.")
    assert "prompt" not in describe_edit(on, draft=draft + on.before, start=len(draft),
                                         prompt="When did Bloom by Troye Sivan come out?")
    assert "prompt" not in describe_edit(off, draft=draft, start=start, prompt="Why?")  # too short to tell
