"""The human side: answers are validated, diffs are word-level and exact."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oversight.refine import RefinementInput, build_refinement, diff_stats, word_diff
from oversight.schemas import Critique, Draft, Finding, FindingVerdict


def draft(text: str = "The tower was finished in 1899 in Paris.") -> Draft:
    return Draft(id="d1", task_id="t1", model="m", prompt_name="draft", prompt_version="v", text=text)


def test_word_diff_reconstructs_both_sides() -> None:
    before, after = "The tower was finished in 1899 in Paris.", "The tower was completed in 1889 in Paris, France."
    ops = word_diff(before, after)
    assert "".join(o.before for o in ops) == before and "".join(o.after for o in ops) == after
    assert [o.op for o in ops if o.op != "equal"] == ["replace", "replace", "replace"]
    assert diff_stats(ops) == {"kept": 5, "inserted": 4, "deleted": 3}  # "Paris, France." for "Paris."


def test_answers_must_fit_their_decision() -> None:
    with pytest.raises(ValidationError, match="needs refined_text"):
        RefinementInput(decision="edit")
    with pytest.raises(ValidationError):
        RefinementInput(decision="approve")  # not a decision
    with pytest.raises(ValidationError):
        RefinementInput(decision="accept", confidence=1.5)


def test_build_refinement() -> None:
    critique = Critique(id="c1", draft_id="d1", task_id="t1", model="m", prompt_name="c", prompt_version="v",
                        findings=[Finding(quote="1899", issue="Wrong year.", severity="high", category="factual-error")])
    answer = RefinementInput(decision="edit", refined_text="The tower was finished in 1889 in Paris.",
                             finding_verdicts=[FindingVerdict(finding=0, verdict="right")], tags=["Factual error"])
    ref = build_refinement(answer, draft(), critique, key="thread-1")
    assert ref.tags == ["factual-error"] and ref.critique_id == "c1"
    assert [o.after for o in ref.diff if o.op != "equal"] == ["1889"]
    assert build_refinement(answer, draft(), critique, key="thread-1").id == ref.id  # same answer, same record
    accepted = build_refinement(RefinementInput(decision="accept"), draft(), critique)
    assert accepted.refined_text == draft().text and accepted.diff == []
    with pytest.raises(ValueError, match="verdict for finding 3"):
        build_refinement(RefinementInput(decision="accept", finding_verdicts=[FindingVerdict(finding=3, verdict="wrong")]),
                         draft(), critique)
