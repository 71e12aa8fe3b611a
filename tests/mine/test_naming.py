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
    assert keyword_name([], 3).name == "unnamed pattern"


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
