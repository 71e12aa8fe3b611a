"""A prompt patch or a few-shot set makes a new prompt version; checks run without a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.errors import PatchError
from oversight.intervene.apply import apply_unified_diff, make_diff, patched_prompt
from oversight.intervene.checks import check_error, passes, word_count
from oversight.prompts import load_prompt
from oversight.schemas import CheckCriterion, FewShot, FewShotExample, PromptPatch


def test_a_diff_applies_and_a_stale_one_is_refused() -> None:
    old = "one\ntwo\nthree\nfour\n"
    new = "one\ntwo and a half\nthree\nfour\nfive\n"
    diff = make_diff(old, new, "draft")
    assert apply_unified_diff(old, diff) == new
    with pytest.raises(PatchError, match="hunk 1"):
        apply_unified_diff("one\nTWO\nthree\nfour\n", diff)
    with pytest.raises(PatchError, match="no hunk"):
        apply_unified_diff(old, "not a diff")
    # a hunk whose line numbers drifted still applies when its lines occur exactly once
    assert apply_unified_diff("zero\n" + old, diff) == "zero\n" + new


def test_patched_prompt_is_a_new_version_and_the_old_file_is_untouched() -> None:
    base = load_prompt("draft")
    text = Path(base.path).read_text(encoding="utf-8")
    new_text = text.replace("Keep the answer short", "When asked for one word, answer with one word only. "
                            "Keep the answer short")
    patch = PromptPatch(prompt="draft", base_version=base.version, diff=make_diff(text, new_text, "draft"))
    patched = patched_prompt(base, patch)
    assert patched.version != base.version and "one word only" in patched.system
    assert Path(base.path).read_text(encoding="utf-8") == text
    with pytest.raises(PatchError, match="version"):
        patched_prompt(base, patch.model_copy(update={"base_version": "000000000000"}))


def test_few_shot_examples_are_worked_turns_kept_literal() -> None:
    base = load_prompt("draft")
    examples = [FewShotExample(prompt="What is the capital of Peru? Answer with one word.", answer="Lima"),
                FewShotExample(prompt="Capital of Kenya? One word.", answer="Nairobi {{ not a template }}")]
    prompt = patched_prompt(base, FewShot(examples=examples))
    assert prompt.version != base.version and prompt.system == base.system
    messages = prompt.render(prompt="What is the capital of Chad?", input=None, context=None)
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "What is the capital of Peru? Answer with one word."), ("assistant", "Lima"),
        ("user", "Capital of Kenya? One word."), ("assistant", "Nairobi {{ not a template }}"),
        ("user", "What is the capital of Chad?")]


def test_checks() -> None:
    assert word_count("Buenos Aires.") == 2 and word_count("The capital is Lima.") == 4
    assert passes(CheckCriterion(kind="max_words", value=2), "Buenos Aires.")
    assert not passes(CheckCriterion(kind="max_words", value=1), "The capital is Lima.")
    assert passes(CheckCriterion(kind="regex", value=r"^- "), "Items:\n- one")
    assert not passes(CheckCriterion(kind="forbidden_regex", value=r"(?i)as an ai"), "As an AI, I think")
    assert passes(CheckCriterion(kind="required", value="lima"), "LIMA")
    assert not passes(CheckCriterion(kind="forbidden", value="certainly"), "Certainly! Lima.")
    assert passes(CheckCriterion(kind="valid_json"), '{"a": 1}') and not passes(CheckCriterion(kind="valid_json"), "{")
    assert passes(CheckCriterion(kind="contains_reference"), "It is Lima.", reference="lima")
    assert check_error(CheckCriterion(kind="regex", value="(")) is not None
    with pytest.raises(ValueError):
        passes(CheckCriterion(kind="contains_reference"), "Lima")
    with pytest.raises(ValueError, match="judge"):
        passes(CheckCriterion(kind="llm_judge", value="Is it long?"), "text")
