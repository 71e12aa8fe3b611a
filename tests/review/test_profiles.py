"""A trainer's judgment profile on known cases: gold answers and refinements built by hand in a store."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from oversight.review import qualify
from oversight.review.profiles import (
    DEFERENCE_BAR,
    FALSE_ALARM_BAR,
    MIN_ITEMS,
    NO_DOMAIN,
    below_bar,
    flagged,
    flags,
    iso_week,
    profile,
    profiles,
    suggested_pause,
)
from oversight.schemas import Draft, FailureNote, Finding, GoldAnswer, GoldItem, Refinement, Task
from tests.support.clock import Clock

_ids = itertools.count()
MONDAY = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # ISO week 2025-W23


def planted(store: Any, reviewer: str, *, caught: bool | None, critic_pointed: bool | None = None,
            deferred: bool | None = None, seconds: float = 60.0, domain: str | None = "geo",
            at: datetime | None = None, gold_id: str = "g_planted") -> GoldAnswer:
    """A kept answer to a planted item: caught (an edit), missed (accepted as it was) or skipped (None)."""
    n = next(_ids)
    decision = "skip" if caught is None else "edit" if caught else "accept"
    refinement = Refinement(task_id=f"t_gold{n}", draft_id="d_gold", decision=decision, reviewer=reviewer,
                            refined_text="It is 12 m." if caught else None, seconds_spent=seconds)
    answer = GoldAnswer(gold_id=gold_id, task_id=f"t_gold{n}", reviewer=reviewer, kind="planted", domain=domain,
                        refinement=refinement, seconds=seconds, caught=caught, critic_pointed=critic_pointed,
                        deferred=deferred, **({"created_at": at} if at else {}))
    return store.save_gold_answer(answer)


def expert(store: Any, reviewer: str, *, changed: bool, false_alarm: bool | None, agrees: bool = True,
           tags: float = 1.0, words: float = 1.0, domain: str | None = "geo") -> GoldAnswer:
    """A kept answer to an expert item (``false_alarm`` None: the expert did not accept the draft as it was)."""
    n = next(_ids)
    refinement = Refinement(task_id=f"t_gold{n}", draft_id="d_gold", decision="edit" if changed else "accept",
                            refined_text="Changed." if changed else None, reviewer=reviewer)
    return store.save_gold_answer(GoldAnswer(
        gold_id="g_expert", task_id=f"t_gold{n}", reviewer=reviewer, kind="expert", domain=domain,
        refinement=refinement, false_alarm=false_alarm, decision_agrees=agrees, tag_overlap=tags,
        text_similarity=words))


def production(store: Any, reviewer: str, text: str, decision: str, *, seconds: float = 30.0,
               domain: str = "geo", at: datetime | None = None, simulated: bool = False) -> Refinement:
    """A production refinement of a draft of ``text`` (its own task)."""
    n = next(_ids)
    task = Task(id=f"t_prod{n}", prompt="Answer.", domain=domain)
    store.add_tasks([task])
    draft = store.save_draft(Draft(id=f"d_prod{n}", task_id=task.id, model="m", prompt_name="p", prompt_version="v",
                                   text=text))
    refined = "Changed." if decision in ("edit", "rewrite") else None
    return store.save_refinement(Refinement(
        task_id=task.id, draft_id=draft.id, decision=decision, refined_text=refined, reviewer=reviewer,
        seconds_spent=seconds, simulated=simulated, **({"created_at": at} if at else {})))


def test_eight_of_ten_caught_is_eighty_percent_with_the_wilson_interval(store: Any) -> None:
    for caught in [True] * 8 + [False] * 2:
        planted(store, "ann", caught=caught)
    planted(store, "ann", caught=None)  # skipped: counted apart, not a miss
    planted(store, "bob", caught=False)  # someone else's answer
    found = profile(store, "ann")
    low, high = proportion_confint(8, 10, alpha=0.05, method="wilson")
    rate = found.catch_rate
    assert (rate.k, rate.n, rate.point, rate.too_few) == (8, 10, 0.8, False)
    assert rate.low == pytest.approx(low) and rate.high == pytest.approx(high)
    assert found.planted_skipped == 1 and found.gold_answers == 11
    assert rate.label() == f"80% [{low:.0%}-{high:.0%}] (8/10)"


def test_below_min_items_a_figure_says_too_few_and_suggests_no_pause(tmp_store: Any) -> None:
    for _ in range(MIN_ITEMS - 1):
        planted(tmp_store, "ann", caught=False)
    found = profile(tmp_store, "ann", bar=0.5)
    assert found.catch_rate.too_few and found.catch_rate.n == MIN_ITEMS - 1
    assert found.catch_rate.high is not None and found.catch_rate.high < 0.5  # the interval alone would say pause
    assert found.catch_rate.label() == f"too few items ({MIN_ITEMS - 1})"
    assert found.suggestion is None and suggested_pause(found, 0.5) == []
    planted(tmp_store, "ann", caught=False)
    assert profile(tmp_store, "ann", bar=0.5).suggestion is not None


def test_a_pause_is_suggested_only_when_the_upper_bound_is_below_the_bar(tmp_store: Any) -> None:
    for caught in [True] * 2 + [False] * 8:
        planted(tmp_store, "ann", caught=caught)
    found = profile(tmp_store, "ann")
    high = proportion_confint(2, 10, alpha=0.05, method="wilson")[1]
    assert found.catch_rate.point == 0.2 and 0.2 < 0.5 < high
    assert suggested_pause(found, 0.5) == []  # the point is far below the bar: never enough alone
    assert suggested_pause(found, high) == []  # the bound at the bar is not below it
    [reason] = suggested_pause(found, high + 0.01)
    assert "2 of 10" in reason and f"{high:.0%}" in reason
    assert [f.rule for f in flags(found, high + 0.01)] == ["catch"]
    assert profile(tmp_store, "ann", bar=high + 0.01).suggestion == reason


def test_deference_counts_decoys_marked_right_and_those_left_unjudged(tmp_store: Any) -> None:
    item = GoldItem(kind="planted", source_task_id="t1", source_draft_id="d1", prompt="Q", text="A", made_by="lea",
                    findings=[Finding(quote="A", issue="wrong", severity="low", category="other")], decoy=0)
    tmp_store.save_gold_items([item])
    for deferred in [True] * 3 + [False] * 9 + [None] * 2:
        planted(tmp_store, "ann", caught=True, deferred=deferred, gold_id=item.id)
    planted(tmp_store, "ann", caught=True, gold_id="g_no_decoy")  # no decoy: neither counted nor unjudged
    found = profile(tmp_store, "ann")
    assert (found.deference.k, found.deference.n) == (3, 12)
    assert found.deference.point == pytest.approx(0.25)
    assert found.decoy_unjudged == 2


def test_misses_split_by_whether_the_critic_pointed_at_the_error(tmp_store: Any) -> None:
    for caught in [False] * 7 + [True] * 3:
        planted(tmp_store, "ann", caught=caught, critic_pointed=False)
    for caught in [False] * 1 + [True] * 11:
        planted(tmp_store, "ann", caught=caught, critic_pointed=True)
    planted(tmp_store, "ann", caught=False)  # not known whether the critic pointed: in neither group
    split = profile(tmp_store, "ann").missed_by_critic
    assert (split.first.k, split.first.n, split.second.k, split.second.n) == (7, 10, 1, 12)
    low, high = confint_proportions_2indep(7, 10, 1, 12, method="newcomb", compare="diff")
    assert split.point == pytest.approx(0.7 - 1 / 12)
    assert (split.low, split.high) == (pytest.approx(low), pytest.approx(high))
    assert not split.too_few and split.low > 0  # a deferent trainer: misses what the critic misses


def test_false_alarms_count_only_drafts_the_expert_accepted(tmp_store: Any) -> None:
    expert(tmp_store, "ann", changed=True, false_alarm=True)
    for _ in range(MIN_ITEMS - 1):
        expert(tmp_store, "ann", changed=False, false_alarm=False)
    for _ in range(5):  # the expert changed these too: changing them is no false alarm
        expert(tmp_store, "ann", changed=True, false_alarm=None, agrees=False, tags=0.5, words=0.6)
    for _ in range(4):  # planted items carry no false alarm either
        planted(tmp_store, "ann", caught=True)
    found = profile(tmp_store, "ann")
    assert (found.false_alarms.k, found.false_alarms.n) == (1, MIN_ITEMS)
    assert (found.decision_agreement.k, found.decision_agreement.n) == (MIN_ITEMS, MIN_ITEMS + 5)
    assert found.tag_overlap.n == MIN_ITEMS + 5
    assert found.tag_overlap.mean == pytest.approx((MIN_ITEMS + 5 * 0.5) / (MIN_ITEMS + 5))
    assert found.text_similarity.mean == pytest.approx((MIN_ITEMS + 5 * 0.6) / (MIN_ITEMS + 5))


def _words(n: int) -> str:
    return " ".join(["word"] * n)


def test_style_bias_shows_a_trainer_who_waves_long_drafts_through(tmp_store: Any) -> None:
    rng = random.Random(20)
    for i in range(60):
        length = int(10 * 2 ** (i % 6))  # 10 to 320 words
        p_accept = 1 / (1 + math.exp(-2.0 * (math.log2(length) - math.log2(60))))  # long: accepted
        production(tmp_store, "len", _words(length), "accept" if rng.random() < p_accept else "edit")
        production(tmp_store, "fair", _words(length), "accept" if rng.random() < 0.5 else "edit")
    biased, fair = profile(tmp_store, "len").style_bias, profile(tmp_store, "fair").style_bias
    assert biased.status == "ok" and biased.n == 60 and biased.length is not None
    assert biased.length.odds_ratio > 1 and biased.length.low > 1  # accepting grows with the length
    assert fair.status == "ok" and fair.length is not None and fair.length.low < 1 < fair.length.high


def test_style_bias_of_a_trainer_who_accepts_every_long_draft_and_changes_every_short_one(tmp_store: Any) -> None:
    for i in range(30):
        length = 10 + 10 * i
        text = _words(length) if i % 2 else "# Title\n\n- " + _words(length)  # half of them formatted
        production(tmp_store, "ann", text, "accept" if length >= 150 else "edit")
    found = profile(tmp_store, "ann").style_bias
    assert found.fit == "penalised" and "separated" in found.note  # no finite ML estimate: Firth, as the audit
    assert found.length is not None and found.length.low > 1
    assert found.formatting is not None and found.formatting.low < 1 < found.formatting.high


def test_style_bias_says_too_few_when_it_cannot_be_fitted(tmp_store: Any) -> None:
    for i in range(30):
        production(tmp_store, "ann", _words(10 + i), "accept")  # never changed anything: nothing to fit
    production(tmp_store, "bob", _words(10), "edit")
    for found in (profile(tmp_store, "ann").style_bias, profile(tmp_store, "bob").style_bias):
        assert found.status == "too_few" and found.length is None and found.note
    assert profile(tmp_store, "ann").style_bias.label() == "too few items (30)"


def test_figures_by_iso_week_follow_the_injected_clock_and_since(tmp_store: Any) -> None:
    clock = tmp_store.clock = Clock(MONDAY)
    for caught in (True, False, True):
        planted(tmp_store, "ann", caught=caught, at=clock())
    production(tmp_store, "ann", _words(20), "accept", at=clock())
    clock.move(7 * 86400)
    for caught in (False, False):
        planted(tmp_store, "ann", caught=caught, at=clock())
    production(tmp_store, "ann", _words(20), "edit", at=clock())
    production(tmp_store, "ann", _words(20), "skip", at=clock())
    found = profile(tmp_store, "ann")
    assert found.as_of == clock()
    assert [iso_week(MONDAY), iso_week(clock())] == ["2025-W23", "2025-W24"]
    weeks = {s.key: s for s in found.by_week}
    assert list(weeks) == ["2025-W23", "2025-W24"]
    assert (weeks["2025-W23"].catch_rate.k, weeks["2025-W23"].catch_rate.n) == (2, 3)
    assert (weeks["2025-W24"].catch_rate.k, weeks["2025-W24"].catch_rate.n) == (0, 2)
    assert [s.production_items for s in found.by_week] == [1, 1]  # a skip is no item done
    later = profile(tmp_store, "ann", since=clock() - timedelta(days=1))
    assert [s.key for s in later.by_week] == ["2025-W24"] and later.catch_rate.n == 2


def test_figures_by_domain_and_a_domain_filter(tmp_store: Any) -> None:
    planted(tmp_store, "ann", caught=True, domain="geo")
    planted(tmp_store, "ann", caught=False, domain="law")
    planted(tmp_store, "ann", caught=False, domain=None)
    production(tmp_store, "ann", _words(5), "accept", domain="law")
    found = profile(tmp_store, "ann")
    domains = {s.key: (s.catch_rate.k, s.catch_rate.n, s.production_items) for s in found.by_domain}
    assert domains == {"geo": (1, 1, 0), "law": (0, 1, 1), NO_DOMAIN: (0, 1, 0)}
    law = profile(tmp_store, "ann", domain="law")
    assert (law.catch_rate.n, law.production_items, [s.key for s in law.by_domain]) == (1, 1, ["law"])


def test_simulated_refinements_count_only_when_asked(tmp_store: Any) -> None:
    production(tmp_store, "sim:careful", _words(5), "accept", simulated=True)
    production(tmp_store, "ann", _words(5), "accept")
    assert [p.reviewer for p in profiles(tmp_store)] == ["ann"]
    assert [p.reviewer for p in profiles(tmp_store, simulated=True)] == ["ann", "sim:careful"]
    assert profile(tmp_store, "sim:careful").production_items == 0


def test_fast_and_accepting_planted_errors_looks_like_rubber_stamping(tmp_store: Any) -> None:
    for i in range(12):
        planted(tmp_store, "careful", caught=i % 4 != 0, seconds=90.0)
        planted(tmp_store, "stamper", caught=i == 0, seconds=8.0)
        planted(tmp_store, "quick", caught=True, seconds=8.0)  # fast, but catches them: no verdict
    stamper, careful, quick = (profile(tmp_store, n).speed for n in ("stamper", "careful", "quick"))
    assert stamper.accepted_planted.k == 11 and stamper.accepted_planted.low > 0.5
    assert stamper.verdict is not None and stamper.verdict.startswith("looks like rubber-stamping")
    assert careful.verdict is None and "not fast" in careful.note
    assert quick.verdict is None and "do not show rubber-stamping" in quick.note
    few = profile(tmp_store, "stamper", since=datetime.now(UTC) + timedelta(days=1)).speed  # nothing in range
    assert few.verdict is None and few.gold.too_few


def test_notes_from_trainers_below_the_bar_are_counted(tmp_store: Any) -> None:
    for i in range(MIN_ITEMS):
        planted(tmp_store, "stamper", caught=False)
        planted(tmp_store, "careful", caught=i % 5 != 0)
    tmp_store.save_notes([FailureNote(id=f"n{i}", text="a note", source="tag", reviewer=who)
                          for i, who in enumerate(["stamper", "stamper", "careful", None])])
    below = below_bar(tmp_store, 0.5)
    assert below.trainers == ["stamper"] and (below.notes, below.total_notes) == (2, 4)
    assert below_bar(tmp_store, 0.1).trainers == []


def test_a_trainer_with_no_work_gets_empty_figures(tmp_store: Any) -> None:
    found = profile(tmp_store, "nobody", bar=0.5)
    assert (found.gold_answers, found.production_items, found.by_week, found.suggestion) == (0, 0, [], None)
    assert found.catch_rate.point is None and found.catch_rate.too_few


def wilson_low(k: int, n: int) -> float:
    return float(proportion_confint(k, n, alpha=0.05, method="wilson")[0])


def test_catching_only_what_the_critic_points_at_is_flagged_on_the_errors_it_missed(tmp_store: Any) -> None:
    for _ in range(MIN_ITEMS - 1):  # caught every error a finding pointed at, none of the others
        planted(tmp_store, "dee", caught=True, critic_pointed=True)
        planted(tmp_store, "dee", caught=False, critic_pointed=False)
    planted(tmp_store, "dee", caught=True, critic_pointed=True)
    found = profile(tmp_store, "dee", bar=0.5)
    assert found.catch_rate.high is not None and found.catch_rate.high > 0.5  # the overall rate clears the bar
    assert flags(found, 0.5) == []  # one too few unassisted answers: that figure decides nothing yet
    planted(tmp_store, "dee", caught=False, critic_pointed=False)
    found = profile(tmp_store, "dee", bar=0.5)
    [flag] = flags(found, 0.5)
    assert flag.rule == "unassisted_catch" and f"caught 0 of {MIN_ITEMS} planted errors no finding" in flag.reason
    assert found.reasons == [flag.reason] and found.suggestion == flag.reason


def test_wrong_findings_marked_right_flag_deference_only_when_the_whole_interval_is_above_one_half(
        tmp_store: Any) -> None:
    n = 2 * MIN_ITEMS
    needed = min(k for k in range(n + 1) if wilson_low(k, n) > DEFERENCE_BAR)  # the fewest that say so, and one less
    for name, k in (("just", needed), ("not", needed - 1)):
        for i in range(n):
            planted(tmp_store, name, caught=True, deferred=i < k)
    assert [f.rule for f in flags(profile(tmp_store, "just"), 0.5)] == ["deference"]
    assert flags(profile(tmp_store, "not"), 0.5) == []
    for _ in range(MIN_ITEMS - 1):  # every decoy marked right, but too few of them: nothing
        planted(tmp_store, "few", caught=True, deferred=True)
    few = profile(tmp_store, "few")
    assert few.deference.point == 1.0 and flags(few, 0.5) == []


def test_changing_drafts_the_expert_accepted_flags_false_alarms_on_the_lower_bound(tmp_store: Any) -> None:
    n = 2 * MIN_ITEMS
    needed = min(k for k in range(n + 1) if wilson_low(k, n) > FALSE_ALARM_BAR)
    assert needed / n > FALSE_ALARM_BAR + 0.05  # a point estimate above the limit is not enough
    for name, k in (("just", needed), ("not", needed - 1)):
        for i in range(n):
            expert(tmp_store, name, changed=i < k, false_alarm=i < k)
    [flag] = flags(profile(tmp_store, "just"), 0.5)
    assert flag.rule == "false_alarms" and f"changed {needed} of {n} drafts" in flag.reason
    assert flags(profile(tmp_store, "not"), 0.5) == []


def test_every_rule_that_fires_gives_its_reason_and_everyone_decides_alike(tmp_store: Any) -> None:
    for _ in range(MIN_ITEMS):  # misses all, marks every decoy right, changes every accepted draft
        planted(tmp_store, "bad", caught=False, critic_pointed=False, deferred=True)
        expert(tmp_store, "bad", changed=True, false_alarm=True)
        planted(tmp_store, "good", caught=True, critic_pointed=False, deferred=False)
        expert(tmp_store, "good", changed=False, false_alarm=False)
    planted(tmp_store, "odd", caught=True, deferred=True)  # one answer: nothing decided
    found = profile(tmp_store, "bad", bar=0.5)
    assert [f.rule for f in flags(found, 0.5)] == ["catch", "unassisted_catch", "deference", "false_alarms"]
    assert found.reasons == suggested_pause(found, 0.5) and len(found.reasons) == 4
    # the pages and the report (profiles), and the trust downstream (qualify), from the one decision
    assert {p.reviewer for p in profiles(tmp_store, bar=0.5) if p.reasons} == {"bad"}
    assert set(flagged(tmp_store, 0.5)) == set(qualify.below_bar(tmp_store, bar=0.5)) == {"bad"}
    assert below_bar(tmp_store, 0.5).trainers == ["bad"]
    assert qualify.trusted_reviewers(tmp_store, among=["bad", "good", "odd"]) == {"good", "odd"}
    # a stricter level asks more of each interval: a bar just above the 95% upper bound is not above the 99% one
    high = proportion_confint(0, MIN_ITEMS, alpha=0.05, method="wilson")[1]
    assert "catch" in [f.rule for f in flags(found, high + 0.01)]
    assert "catch" not in [f.rule for f in flags(found, high + 0.01, level=0.99)]
