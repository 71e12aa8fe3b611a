"""The human side: answers are validated, diffs are word-level and exact."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oversight.refine.answers import RefinementInput, build_refinement, diff_stats, word_diff
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


# -- bounds: what one answer may hold, and what its diff may cost --------------------------------


def test_an_answer_holds_at_most_so_many_tags_and_characters() -> None:
    from oversight.schemas import MAX_RATIONALE_CHARS, MAX_REFINED_CHARS, MAX_TAG_CHARS, MAX_TAGS

    RefinementInput(decision="reject", tags=[f"tag-{n}" for n in range(MAX_TAGS)], rationale="x" * MAX_RATIONALE_CHARS)
    with pytest.raises(ValidationError, match=f"at most {MAX_TAGS} tags"):
        RefinementInput(decision="reject", tags=[f"tag-{n}" for n in range(10_000)])
    with pytest.raises(ValidationError, match=f"at most {MAX_TAG_CHARS} characters"):
        RefinementInput(decision="reject", tags=["x" * 100_000])
    with pytest.raises(ValidationError, match=f"at most {MAX_RATIONALE_CHARS:,} characters"):
        RefinementInput(decision="reject", rationale="x" * (MAX_RATIONALE_CHARS + 1))
    with pytest.raises(ValidationError, match=f"at most {MAX_REFINED_CHARS:,} characters"):
        RefinementInput(decision="rewrite", refined_text="x" * (MAX_REFINED_CHARS + 1))


def test_an_answer_holds_no_nul_nor_lone_surrogate() -> None:
    """PostgreSQL refuses a NUL where SQLite keeps it: refused for every caller (terminal, files, scripts)."""
    with pytest.raises(ValidationError, match="NUL character"):
        RefinementInput(decision="reject", rationale="why\x00")
    with pytest.raises(ValidationError, match="NUL character"):
        RefinementInput(decision="reject", tags=["ok", "bad\x00"])
    with pytest.raises(ValidationError, match="lone surrogate"):
        RefinementInput(decision="edit", refined_text="Paris \ud800")


def _sequence_work(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size (tokens before x tokens after) of every sequence difflib is asked to match."""
    import difflib

    sizes: list[int] = []
    real = difflib.SequenceMatcher

    class Counting(real):  # type: ignore[misc,valid-type]
        def __init__(self, isjunk=None, a="", b="", autojunk=True):  # type: ignore[no-untyped-def]
            sizes.append(len(a) * len(b))
            super().__init__(isjunk, a, b, autojunk)

    monkeypatch.setattr(difflib, "SequenceMatcher", Counting)
    return sizes


def test_a_huge_edit_is_diffed_within_a_bounded_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from oversight.refine.answers import DIFF_WORK

    sizes = _sequence_work(monkeypatch)
    lines = [f"Line {n} of a long answer, with some words in it." for n in range(1500)]
    before = "\n".join(lines)
    changed = [line.replace("some", "other") if n % 3 == 0 else line for n, line in enumerate(lines)]
    after = "\n".join(changed)  # a change on every third line: 30,000 tokens each side
    ops = word_diff(before, after)
    assert "".join(o.before for o in ops) == before and "".join(o.after for o in ops) == after
    assert sum(sizes) <= 3 * DIFF_WORK, f"{sum(sizes):,} cells matched"
    assert any(o.op == "equal" and "Line 1 of" in o.before for o in ops)  # still a diff, not one block
    sizes.clear()
    rewritten = word_diff(before, " ".join(f"w{n}" for n in range(30_000)))
    assert sum(sizes) <= 3 * DIFF_WORK
    assert [o.op for o in rewritten] == ["replace"]


def test_a_small_edit_of_a_huge_draft_is_still_a_word_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = _sequence_work(monkeypatch)
    before = " ".join(f"w{n}" for n in range(50_000))
    after = before.replace("w25000 ", "word twenty-five thousand ")
    ops = word_diff(before, after)
    assert [(o.op, o.before, o.after) for o in ops if o.op != "equal"] == [
        ("replace", "w25000", "word twenty-five thousand")]
    assert max(sizes) < 100


def test_a_small_diff_is_what_it_always_was() -> None:
    """Below the bound the diff is difflib's on the whole texts: refinements and notes mined before stay the same."""
    import difflib

    from oversight.refine.answers import _TOKEN

    before, after = "the quick brown fox jumps over the lazy dog", "a slow red fox jumped over one lazy dog"
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    expected = [(tag, "".join(a[i1:i2]), "".join(b[j1:j2]))
                for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()]
    assert [(o.op, o.before, o.after) for o in word_diff(before, after)] == expected
