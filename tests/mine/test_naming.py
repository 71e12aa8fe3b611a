"""Naming: keywords with no model; an LLM contrasting neighbours (cassette) when asked."""

from __future__ import annotations

import json

import pytest

from oversight.mine.naming import NAME_PROMPT, keyword_name, name_with_llm, sample_members
from oversight.prompts import load_prompt


def groups(ttcw_rows, categories, n=6):
    return [[r["explanation"] for r in ttcw_rows if r["category"] == c][:n] for c in categories]


def test_keyword_names_need_no_model() -> None:
    named = keyword_name(["ending", "abrupt", "resolution", "rushed"], 12)
    assert named.name == "ending / abrupt / resolution"
    assert "12" in named.description and named.criteria
    # notes sharing no word once masked: the name says so ("unnamed pattern" told a lead nothing)
    assert keyword_name([], 3).name == "nothing shared but specifics" and "masked" in keyword_name([], 3).description


def test_sample_members_are_distinct_and_trimmed() -> None:
    texts = ["same", "same", "x" * 500, "other"]
    assert sample_members(texts, [0, 1, 2, 3], 3, max_chars=10) == ["same", "x" * 9 + "…", "other"]


def test_prompt_shows_members_and_the_contrasting_patterns(ttcw_rows) -> None:
    members, other = groups(ttcw_rows, ["Narrative Ending", "Character Development"], 2)
    messages = load_prompt("name_pattern").render(
        members=members, keywords=["ending"], contrasts=[{"keywords": ["character"], "members": other}])
    user = messages[-1]["content"]
    assert all(m in user for m in members + other) and "nearby pattern" in user


@pytest.mark.vcr
async def test_llm_names_patterns_from_samples_contrasted_with_neighbours(recorded_llm, ttcw_rows, vcr) -> None:
    """Cassette: the embedded SmolLM2 names two real TTCW failure groups, each against the other."""
    samples = groups(ttcw_rows, ["Narrative Ending", "Character Development"], 5)
    names = await name_with_llm(recorded_llm, samples, [[1], [0]], [["ending", "end"], ["characters", "flat"]],
                                prompt=load_prompt(NAME_PROMPT))
    assert len(names) == 2
    for named in names:
        assert named.name.strip() and named.name == named.name.strip()
        assert len(named.name) <= 120 and len(named.criteria) <= 6
    bodies = [json.loads(r.body) for r in vcr.requests]
    assert all(b["response_format"]["type"] == "json_object" for b in bodies)
    # each request carries the other group as the contrast
    first = next(b for b in bodies if samples[0][0] in b["messages"][-1]["content"])
    assert samples[1][0] in first["messages"][-1]["content"]


def test_generic_or_repeated_model_names_are_made_distinct() -> None:
    from oversight.mine.naming import distinct_names
    from oversight.schemas import PatternName

    assert distinct_names([PatternName(name="][", description=""), PatternName(name="Ending", description="")],
                          [["a"], ["b"]]) == [None, None]
    names = [PatternName(name="A Note", description=""), PatternName(name="Abrupt endings", description=""),
             PatternName(name="Abrupt endings", description=""), None, PatternName(name="Flat characters",
                                                                                  description="")]
    keywords = [["x"], ["ending", "end"], ["pacing", "time"], ["y"], ["characters"]]
    out = distinct_names(names, keywords)
    assert out[0] is None and out[3] is None
    # told apart by keywords that do not repeat the name ("Abrupt endings (ending, end)" said "end" thrice)
    assert [o.name for o in out[1:3]] == ["Abrupt endings", "Abrupt endings (pacing, time)"]
    assert out[4].name == "Flat characters"


def test_a_name_holding_a_word_only_one_subject_uses_is_refused() -> None:
    from oversight.mine.naming import distinct_names
    from oversight.schemas import PatternName

    names = [PatternName(name="Beauregard army details wrong", description="d"),
             PatternName(name="Adds details the passage lacks", description="d")]
    kept = distinct_names(names, [["army"], ["details"]], subject_words={"beauregard", "anacreontic"})
    assert kept[0] is None and kept[1] is not None and kept[1].name == "Adds details the passage lacks"


# -- names with no model (issue 19: names a lead can read) ----------------------------------------


def _repeated(name: str) -> list[str]:
    """Words said twice in a name (case-insensitive, stop words aside), a plural or -ing form counting as its word."""
    import re

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    def stem(word: str) -> str:
        for end in ("'s", "ing", "ed", "s"):
            if word.endswith(end) and len(word) - len(end) >= 3:
                return word[: -len(end)]
        return word

    stems = [stem(w) for w in re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)?", name.lower()) if w not in ENGLISH_STOP_WORDS]
    return sorted({s for s in stems if stems.count(s) > 1})


def test_keyword_names_never_repeat_a_word() -> None:
    """"replaced replaced" and "replaced long / passage replaced / long passage": bigrams ran across
    two notes' texts, and a word and its plural ("character / characters") said the same thing twice."""
    import numpy as np

    from oversight.mine.naming import class_keywords

    texts = (['Replaced a long passage: "…" with "…"'] * 6 + ['Removed a phrase: "…"'] * 6
             + ['Added a word: "…"', 'Added a few words: "…"'] * 3)
    labels = np.array([0] * 6 + [1] * 6 + [2] * 6)
    keywords = class_keywords(texts, labels)
    for words in keywords.values():
        assert not any(_repeated(w) for w in words), words
        assert _repeated(keyword_name(words, 6).name) == [], keyword_name(words, 6).name
    assert keyword_name(["replaced replaced", "replaced", "long passage"], 3).name == "replaced / long passage"
    assert keyword_name(["character", "characters", "developed", "depth"], 9).name == "character / developed / depth"


def _edit(text: str, before: str, after: str, subject: str, i: int):
    from oversight.schemas import FailureNote

    op = "delete" if not after else "insert" if not before else "replace"
    return FailureNote(id=f"n{i}", text=text, source="edit", task_id=subject,
                       metadata={"edit": {"op": op, "before": before, "after": after}, "explained_by": "diff"})


def test_an_edit_pattern_is_named_by_its_commonest_shape_and_distinctive_words() -> None:
    """Writers cutting cliches at the ends of stories: the shape most edits share, then the words they
    cut that set the pattern apart; a word from one story's edits ("Marla") never names it."""
    import numpy as np

    from oversight.mine.naming import class_keywords
    from oversight.mine.plain_names import plain_names
    from oversight.mine.represent import mask_notes, single_subject_words

    cut = ["Life was a rich tapestry of small joys.", "The town was a tapestry of old stories.",
           "Her memories wove a tapestry of regret.", "It was a tapestry of light and shadow.",
           "Their love was a tapestry, frayed yet whole.", "Marla smiled at the sea.",
           "Marla knew it was over.", "The silence said everything."]
    notes = [_edit(f'Removed a whole sentence {"at the end" if i < 6 else "in the middle"}: "{s}"', s, "",
                   f"story-{i if i != 6 else 5}", i) for i, s in enumerate(cut)]
    added = ["quickly", "at once", "then", "by noon", "in May", "at last", "again", "slowly"]
    notes += [_edit(f'Added a few words in the middle: "{s}"', "", s, f"story-{i}", 8 + i) for i, s in enumerate(added)]
    texts = mask_notes(notes)
    labels = np.array([0] * 8 + [1] * 8)
    about_one = single_subject_words([n.text for n in notes], [n.subject for n in notes])
    keywords = class_keywords(texts, labels, exclude=about_one)
    names = plain_names(notes, texts, [np.arange(8), np.arange(8, 16)], keywords, exclude=about_one)
    assert names[0].name == "Removed a whole sentence at the end — 'tapestry'"
    assert names[1].name == "Added a few words in the middle"
    assert "tapestry" in names[0].description and "marla" not in names[0].name.lower()


def test_a_pattern_most_of_whose_refinements_carry_a_tag_is_named_by_the_tag() -> None:
    import numpy as np

    from oversight.mine.plain_names import plain_names
    from oversight.schemas import FailureNote

    notes = []
    for r in range(5):
        common = {"refinement_id": f"r{r}", "task_id": f"capital-{r}"}
        notes.append(FailureNote(id=f"t{r}", text="ignores one word instruction", source="tag", **common))
        notes.append(FailureNote(id=f"s{r}", text="Asked for one word; the draft answered with a sentence.",
                                 source="rationale", **common))
    texts = [n.text for n in notes]
    keywords = {0: ["word", "ignores", "instruction", "answered"]}
    [named] = plain_names(notes, texts, [np.array([1, 0, 3, 2, 5, 4, 7, 6, 9, 8])], keywords)
    assert named.name == "ignores one word instruction"
    assert "5 of 5 refinements" in named.description


def test_a_pattern_of_statements_is_named_by_its_most_central_note_shortened() -> None:
    """No tag: the note nearest the centre, cut to a short phrase, when every word of it is one several
    of the pattern's notes (from several subjects) use; otherwise the next one, then keywords."""
    import numpy as np

    from oversight.mine.plain_names import plain_names
    from oversight.mine.represent import single_subject_words
    from oversight.schemas import FailureNote

    said = [
        "The ending is abrupt for Beauregard.",  # nearest the centre, but a word of one story's notes
        "The ending is abrupt and leaves the conflict unresolved, so the reader is left wondering what it meant.",
        "The ending is abrupt; the conflict is left unresolved.",
        "An abrupt ending that leaves the conflict open.",
        "The ending feels abrupt and unearned.",
        "Beauregard again: the ending is abrupt.",
    ]
    notes = [FailureNote(id=f"n{i}", text=t, source="import", metadata={"subject": f"story-{i % 5}"})
             for i, t in enumerate(said)]
    texts = [n.text for n in notes]
    about_one = single_subject_words(texts, [n.subject for n in notes])
    [named] = plain_names(notes, texts, [np.arange(6)], {0: ["abrupt", "ending", "conflict"]}, exclude=about_one)
    assert named.name == "The ending is abrupt and leaves the conflict unresolved"
    assert _repeated(named.name) == []


def test_a_note_is_cut_to_a_phrase_that_stands_on_its_own() -> None:
    from oversight.mine.plain_names import short_phrase

    assert short_phrase("The form and structure are not original. Nothing surprises.") == (
        "The form and structure are not original", True)
    assert short_phrase('There is no mention of "radiation" anywhere.') == ("There is no mention of …", False)
    assert short_phrase("No, the characters are flat, static and never change in any way that matters here.") == (
        "The characters are flat", False)
    assert short_phrase("The story moves from one scene to the next without any sense of time passing.") == (
        "The story moves from one scene …", False)
    for said in ["While we do move between interiority and exteriority, both are rendered in a simplistic way.",
                 "As I mention above, the story is pretty basic.", "It is the opinion of C. Jones, and not a fact.",
                 "Q’s character feels contrived.", "It ends in 1861.", "Irrelevant: the battle"]:
        assert short_phrase(said) is None, said


def test_edit_patterns_of_one_shape_are_told_apart_by_what_they_cut() -> None:
    """Two patterns of "Replaced a phrase" were "Replaced a phrase" and "Replaced a phrase (2)"."""
    import numpy as np

    from oversight.mine.naming import class_keywords
    from oversight.mine.plain_names import plain_names
    from oversight.mine.represent import mask_notes

    cut = ["her eyes were shining", "his eyes went dark", "the eyes of the town", "a quiet morning came",
           "the loud voice rose", "a voice from nowhere", "her voice was thin", "the long road home"]
    notes = [_edit(f'Replaced a phrase: "{s}" with "it"', s, "it", f"story-{i}", i) for i, s in enumerate(cut)]
    texts = mask_notes(notes)
    labels = np.array([0] * 4 + [1] * 4)
    names = plain_names(notes, texts, [np.arange(4), np.arange(4, 8)], class_keywords(texts, labels))
    assert [n.name for n in names] == ["Replaced a phrase ('eyes')", "Replaced a phrase ('voice')"]


def test_a_theme_is_named_by_its_leading_pattern_or_by_words_said_once() -> None:
    from oversight.mine.naming import theme_name

    assert theme_name([["ending"], ["end", "abrupt"]], "The ending is abrupt") == "The ending is abrupt (+1 more)"
    assert theme_name([["ending", "abrupt"], ["end", "abrupt"], ["endings", "rushed"]]) == "abrupt · ending · rushed"
