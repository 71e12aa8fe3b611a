"""Grounding rate and precision per critic, computed from the store (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

from oversight.refine.critic_quality import grounding_report, grounding_rows, grounding_status
from oversight.schemas import Critique
from tests._critics import CRITIQUES, EXPECTED, SMOL, seed_critics


def test_the_store_gives_each_critique_with_the_verdicts_of_its_refinements(store) -> None:
    seed_critics(store)
    pairs = store.critiques_with_verdicts()
    assert [c for c, _ in pairs] == CRITIQUES  # every field round-trips, dropped findings too
    verdicts = {c.id: [(v.finding, v.verdict) for v in vs] for c, vs in pairs}
    assert verdicts == {"c1": [(0, "right"), (1, "wrong"), (0, "right")], "c2": [(0, "right")], "c3": [],
                        "c4": [(0, "wrong"), (5, "right")]}


def test_grounding_and_precision_per_critic_model_and_prompt_version(store) -> None:
    seed_critics(store)
    assert grounding_status(store) == EXPECTED
    smol = next(r for r in grounding_report(store) if r.model == SMOL)
    assert [(e.critique_id, e.reason, e.quote) for e in smol.examples] == [
        ("c3", "not-in-draft", "<script>alert(1)</script> | x"), ("c3", "no-quote", "")]


def test_an_empty_store_has_no_rows(store) -> None:
    assert grounding_report(store) == [] and grounding_status(store) == []


def test_a_critique_stored_before_grounding_still_loads() -> None:
    old = {"id": "c9", "draft_id": "d9", "task_id": "t9", "model": "m", "prompt_name": "critique",
           "prompt_version": "v0", "parameters": {}, "summary": "",
           "findings": [{"quote": "(not verbatim) Paris is in Germany", "issue": "x", "severity": "low",
                         "category": "factual-error"}]}
    critique = Critique.model_validate(old)
    assert critique.dropped == [] and critique.grounding == ""
    [row] = grounding_rows([(critique, [])])
    assert (row.checked, row.proposed, row.shown, row.grounding_rate) == (False, 1, 1, None)


def test_rows_need_no_store() -> None:
    rows = grounding_rows(zip(CRITIQUES, [[] for _ in CRITIQUES], strict=True))
    assert [(r.model, r.checked, r.proposed, r.shown, r.judged) for r in rows] == [
        (e["model"], e["checked"], e["proposed"], e["shown"], 0) for e in EXPECTED]
