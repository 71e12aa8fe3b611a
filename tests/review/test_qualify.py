"""Qualification: declared assessments, their pass rule on intervals, what comes before production, trust."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from statsmodels.stats.proportion import proportion_confint

from oversight.errors import InputFileError, NotFoundError, OversightError
from oversight.review import profiles, qualify
from oversight.schemas import Assessment, GoldAnswer, GoldItem, PlantedError, Refinement, Task, TrainerStanding, utcnow
from oversight.store import Store


def gold(domain: str | None = "law", made_by: str = "lea", **changes: Any) -> GoldItem:
    fields: dict[str, Any] = dict(kind="planted", source_task_id="t1", source_draft_id="d1", prompt="How tall?",
                                  text="It is 13 m.", domain=domain, made_by=made_by,
                                  plant=PlantedError(kind="wrong_number", original="12", planted="13", start=6))
    return GoldItem(**{**fields, **changes})


def expert_gold(domain: str = "law") -> GoldItem:
    return GoldItem(kind="expert", source_task_id="t1", source_draft_id="d1", prompt="How tall?", text="It is 12 m.",
                    domain=domain, decision="accept", expert="ed", made_by="lea")


def answer(item: GoldItem, reviewer: str, *, caught: bool | None = None, false_alarm: bool | None = None,
           assessment: str | None = None, n: int = 0) -> GoldAnswer:
    decision = "edit" if caught or false_alarm else "accept"
    refinement = Refinement(task_id=f"t_{item.id}_{reviewer}_{n}", draft_id="dx", decision=decision,
                            refined_text="It is 12 m." if decision == "edit" else None, reviewer=reviewer)
    return GoldAnswer(gold_id=item.id, task_id=refinement.task_id, reviewer=reviewer, kind=item.kind,
                      domain=item.domain, assessment=assessment, refinement=refinement, caught=caught,
                      false_alarm=false_alarm)


def write(tmp_path: Path, text: str, name: str = "assess.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- declaring ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ("name: law-entry\ndomain: law\nper_domain:\n  law: 3\npass_rule:\n  catch_rate_lowr: 0.5\n",
     6, "pass_rule.catch_rate_lowr", "extra"),
    ("name: law-entry\nper_domain:\n  law: 3\npass_rule:\n  catch_rate_lower: 1.5\n",
     5, "pass_rule.catch_rate_lower", "less than or equal"),
    ("name: law entry!\nper_domain:\n  law: 3\n", 1, "name", "pattern"),
    ("name: law-entry\ndomain: law\n", 1, "items", "either items"),
    ("name: law-entry\nitems: [g_a]\nper_domain:\n  law: 3\n", 2, "items", "either items"),
    ("name: law-entry\nper_domain:\n  law: 2\npass_rule:\n  min_items: 5\n", 5, "pass_rule.min_items", "nobody"),
    ("name: law-entry\ndomain: law\nper_domain:\n  medicine: 5\n", 4, "per_domain.medicine", "domain 'law'"),
    ("name: law-entry\nper_domain:\n  law: 0\npass_rule:\n  min_items: 1\n", 3, "per_domain.law", "1 or more"),
])
def test_a_bad_assessment_file_names_its_line_and_field_and_stores_nothing(
        store: Store, tmp_path: Path, text: str, line: int, field: str | None, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputFileError) as caught:
        qualify.declare(store, path)
    error = caught.value
    assert (error.path, error.line, error.field) == (str(path), line, field)
    assert words in error.message
    assert store.assessments() == []


def test_an_assessment_naming_gold_that_cannot_be_served_is_refused_at_that_line(store: Store, tmp_path: Path) -> None:
    kept, retired, medical = gold(), gold(), gold(domain="medicine")
    store.save_gold_items([kept, retired, medical])
    store.retire_gold_item(retired.id)
    for listed, problem in (("g_nope", "no gold item"), (retired.id, "retired"), (medical.id, "domain 'medicine'")):
        path = write(tmp_path, f"name: law-entry\ndomain: law\nitems:\n  - {kept.id}\n  - {listed}\n"
                               "pass_rule:\n  min_items: 2\n")
        with pytest.raises(InputFileError, match=problem) as caught:
            qualify.declare(store, path)
        assert (caught.value.line, caught.value.field) == (5, "items.1")
    path = write(tmp_path, "name: law-entry\nper_domain:\n  law: 5\n")
    with pytest.raises(InputFileError, match="1 gold item") as caught:
        qualify.declare(store, path)
    assert (caught.value.line, caught.value.field) == (3, "per_domain.law")
    assert store.assessments() == []


def test_a_good_assessment_is_kept_and_a_second_declaration_replaces_it(store: Store, tmp_path: Path) -> None:
    items = [gold() for _ in range(3)]
    store.save_gold_items(items)
    path = write(tmp_path, "name: law-entry\ndomain: law\nper_domain:\n  law: 3\n"
                           "pass_rule:\n  catch_rate_lower: 0.4\n  false_alarm_upper: 0.1\n  min_items: 3\n")
    kept = qualify.declare(store, path)
    assert store.assessment("law-entry") == kept
    assert (kept.domain, kept.per_domain, kept.pass_rule.catch_rate_lower, kept.pass_rule.min_items) == (
        "law", {"law": 3}, 0.4, 3)
    write(tmp_path, f"name: law-entry\ndomain: law\nitems: [{items[0].id}]\npass_rule:\n  min_items: 1\n")
    assert qualify.declare(store, path).items == [items[0].id]
    assert [a.items for a in store.assessments()] == [[items[0].id]]


# -- the pass rule on known answers ------------------------------------------------------------------


def _assessment(store: Store, items: list[GoldItem], **rule: Any) -> Assessment:
    store.save_gold_items(items)
    return store.save_assessment(Assessment(name="entry", domain="law", items=[i.id for i in items],
                                            pass_rule={"min_items": len(items), **rule}))


@pytest.mark.parametrize("caught", [9, 6])
def test_the_catch_rule_is_decided_on_the_wilson_lower_bound(store: Store, caught: int) -> None:
    items = [gold() for _ in range(10)]
    assessment = _assessment(store, items, catch_rate_lower=0.5)
    for k, item in enumerate(items):
        store.save_gold_answer(answer(item, "ann", caught=k < caught, assessment="entry"))
    store.save_gold_answer(answer(items[0], "ann", caught=False, n=1))  # outside the assessment: not counted
    decided = qualify.result(store, assessment, "ann")
    lower = proportion_confint(caught, 10, alpha=0.05, method="wilson")[0]
    assert (decided.caught, decided.planted, decided.answered) == (caught, 10, 10)
    assert decided.catch_rate_lower == pytest.approx(lower)
    assert decided.passed is (lower >= 0.5)
    assert decided.passed is (caught == 9)  # 6 of 10 is a point estimate above 0.5, its interval is not


def test_false_alarms_and_too_few_answers_fail(store: Store) -> None:
    planted = [gold() for _ in range(8)]
    accepted = [expert_gold() for _ in range(4)]
    assessment = _assessment(store, planted + accepted, catch_rate_lower=0.5, false_alarm_upper=0.25)
    for item in planted:
        store.save_gold_answer(answer(item, "ann", caught=True, assessment="entry"))
        store.save_gold_answer(answer(item, "ben", caught=True, assessment="entry"))
    for k, item in enumerate(accepted):
        store.save_gold_answer(answer(item, "ann", false_alarm=k < 1, assessment="entry"))
        store.save_gold_answer(answer(item, "ben", false_alarm=k < 2, assessment="entry"))
    ann, ben = qualify.result(store, "entry", "ann"), qualify.result(store, assessment, "ben")
    assert (ann.false_alarms, ann.expert_accepted, ann.passed) == (1, 4, True)
    assert (ben.false_alarms, ben.expert_accepted, ben.passed) == (2, 4, False)  # 50% > 25%
    cara = qualify.result(store, "entry", "cara")
    assert (cara.answered, cara.passed, cara.catch_rate_lower) == (0, False, None)
    with pytest.raises(NotFoundError):
        qualify.result(store, "nope", "ann")


def test_a_pass_qualifies_in_the_domain_and_a_fail_does_not(store: Store) -> None:
    items = [gold() for _ in range(10)]
    _assessment(store, items, catch_rate_lower=0.5)
    for item in items:
        store.save_gold_answer(answer(item, "ann", caught=True, assessment="entry"))
        store.save_gold_answer(answer(item, "ben", caught=False, assessment="entry"))
    assert qualify.record(store, "entry", "ann").passed
    assert not qualify.record(store, "entry", "ben").passed
    assert set(store.trainer_standing("ann").qualified) == {"law"}
    assert store.trainer_standing("ben").qualified == {}
    assert {(r.reviewer, r.passed) for r in store.assessment_results()} == {("ann", True), ("ben", False)}


# -- before production --------------------------------------------------------------------------------


def test_pending_walks_the_assessment_and_never_serves_a_trainers_own_gold(store: Store) -> None:
    items = [gold(), gold(made_by="ann"), gold()]
    _assessment(store, items, catch_rate_lower=0.0)
    assert qualify.pending(store, "ann") == (store.assessment("entry"), items[0].id)
    assert qualify.pending(store, "ann") == (store.assessment("entry"), items[0].id)  # a read: nothing moved
    store.save_gold_answer(answer(items[0], "ann", caught=True, assessment="entry"))
    assert qualify.pending(store, "ann")[1] == items[2].id  # type: ignore[index]  # not items[1]: she made it
    store.save_gold_answer(answer(items[2], "ann", caught=True, assessment="entry"))
    assert qualify.pending(store, "ann") is None
    assert qualify.pending(store, "ben")[1] == items[0].id  # type: ignore[index]


def test_items_drawn_per_domain_are_the_same_at_every_claim_and_differ_between_trainers(store: Store) -> None:
    store.save_gold_items([gold(domain="law") for _ in range(30)] + [gold(domain="medicine") for _ in range(5)])
    assessment = store.save_assessment(Assessment(name="entry", per_domain={"law": 4, "medicine": 2},
                                                  pass_rule={"min_items": 6}))
    all_gold = store.gold_items()
    ann = qualify.items_of(assessment, "ann", all_gold)
    assert ann == qualify.items_of(assessment, "ann", list(reversed(all_gold)))
    domains = {g.id: g.domain for g in all_gold}
    assert [domains[i] for i in ann] == ["law"] * 4 + ["medicine"] * 2
    others = {tuple(qualify.items_of(assessment, name, all_gold)) for name in ("ben", "cara", "dan", "eve")}
    assert len(others | {tuple(ann)}) > 1


def test_an_assessment_answered_in_full_is_settled_once(store: Store) -> None:
    items = [gold() for _ in range(3)]
    _assessment(store, items, catch_rate_lower=0.0)
    for item in items[:2]:
        store.save_gold_answer(answer(item, "ann", caught=True, assessment="entry"))
    assert qualify.settle(store, "ann") == []
    store.save_gold_answer(answer(items[2], "ann", caught=True, assessment="entry"))
    [decided] = qualify.settle(store, "ann")
    assert decided.passed and "law" in store.trainer_standing("ann").qualified
    assert qualify.settle(store, "ann") == [] and qualify.pending(store, "ann") is None


# -- standing -----------------------------------------------------------------------------------------


def test_pause_and_resume_are_kept_and_a_pause_needs_a_reason_and_a_known_name(store: Store) -> None:
    store.save_gold_answer(answer(gold(), "ann", caught=True))
    paused = qualify.pause(store, "ann", by="lea", reason="misses planted numbers")
    assert (paused.paused, paused.paused_by, paused.paused_reason) == (True, "lea", "misses planted numbers")
    assert store.paused_trainers() == {"ann"}
    with pytest.raises(OversightError, match="reason"):
        qualify.pause(store, "ann", by="lea", reason="  ")
    with pytest.raises(NotFoundError, match="no trainer 'anne'"):
        qualify.pause(store, "anne", by="lea", reason="typo")
    resumed = qualify.resume(store, "ann")
    assert (resumed.paused, resumed.paused_by, resumed.paused_reason) == (False, None, "")
    assert store.paused_trainers() == set()


def test_a_pause_and_a_qualification_decided_together_are_both_kept(store: Store) -> None:
    """The standing is changed in place, not written over from a stale read."""
    store.save_trainer_standing(TrainerStanding(reviewer="ann", qualified={"geo": utcnow()}))
    qualify.pause(store, "ann", by="lea", reason="slow")
    store.change_trainer_standing("ann", lambda s: s.model_copy(update={"qualified": {**s.qualified, "law": s.updated_at}}))
    now = store.trainer_standing("ann")
    assert now.paused and set(now.qualified) == {"geo", "law"}


# -- trust downstream --------------------------------------------------------------------------------


def _work(store: Store, reviewer: str, domain: str | None) -> None:
    task = Task(id=f"w_{reviewer}_{domain}", prompt="Q?", domain=domain)
    store.add_tasks([task])
    store.save_refinement(Refinement(task_id=task.id, draft_id=f"d_{task.id}", decision="accept", reviewer=reviewer))


def test_the_catch_interval_is_wilsons_and_below_the_bar_means_its_upper_bound(store: Store) -> None:
    item = gold()
    rng = random.Random(7)
    outcomes = {"ann": [True] * 9 + [False], "ben": [False] * 12 + [True], "cara": [False, False],
                "dan": [False] * (profiles.MIN_ITEMS - 1)}
    for name, caught in outcomes.items():
        for n, c in enumerate(caught):
            store.save_gold_answer(answer(item, name, caught=c, n=n + rng.randrange(10**6)))
    rates = {name: qualify.catch_rate(store.gold_answers(reviewer=name)) for name in outcomes}
    for name, caught in outcomes.items():
        low, high = proportion_confint(sum(caught), len(caught), alpha=0.05, method="wilson")
        assert (rates[name].caught, rates[name].planted) == (sum(caught), len(caught))
        assert (rates[name].low, rates[name].high) == (pytest.approx(low), pytest.approx(high))
    below = qualify.below_bar(store, bar=0.5)
    # ben: 1 of 13, upper bound under 0.5; cara: 0 of 2 is a point estimate of 0, but the interval reaches 0.66;
    # dan: none caught, an upper bound under 0.5, yet on fewer than the profiles' MIN_ITEMS: one rule for both
    assert set(below) == {"ben"} and rates["cara"].high > 0.5 and rates["dan"].high < 0.5
    assert {p.reviewer for p in profiles.profiles(store) if profiles.suggested_pause(p, 0.5)} == set(below)
    assert [f.rule for f in below["ben"]] == ["catch"]
    assert qualify.catch_rate([]) == (0, 0, 0.0, 1.0)


def test_trusted_reviewers_leave_out_the_paused_the_below_bar_and_the_unqualified(store: Store) -> None:
    for name in ("ann", "ben", "cara", "dan", "eve"):
        _work(store, name, "law")
    assert qualify.trusted_reviewers(store) is None  # nothing known against anyone: trust all
    qualify.pause(store, "ben", by="lea", reason="rubber-stamping")
    item = gold()
    for n in range(12):
        store.save_gold_answer(answer(item, "cara", caught=False, n=n))
    assert qualify.trusted_reviewers(store) == {"ann", "dan", "eve"}
    assert qualify.trusted_reviewers(store, trust="all") is None
    assert qualify.trusted_reviewers(store, among=["ann", "ben", "zed"]) == {"ann", "zed"}
    # an assessment for law: only those qualified in it (or everywhere) stay trusted on law work
    store.save_assessment(Assessment(name="law-entry", domain="law", per_domain={"law": 1}, pass_rule={"min_items": 1}))
    store.change_trainer_standing("dan", lambda s: s.model_copy(update={"qualified": {"law": s.updated_at}}))
    store.change_trainer_standing("eve", lambda s: s.model_copy(update={"qualified": {"*": s.updated_at}}))
    assert qualify.trusted_reviewers(store) == {"dan", "eve"}
    _work(store, "dan", "medicine")  # medicine has no assessment: his work there does not need one
    assert qualify.trusted_reviewers(store) == {"dan", "eve"}
    with pytest.raises(ValueError, match="qualified"):
        qualify.trusted_reviewers(store, trust="some")  # type: ignore[arg-type]
