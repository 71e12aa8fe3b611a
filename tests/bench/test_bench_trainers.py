"""bench/bench_trainers.py: its gold items, simulated trainers and sequential rule do what the bench says they
do, on a slice of FineGrainedRLHF (tests/fixtures/bench/finegrainedrlhf, Apache-2.0: see NOTICE.md); and a
small run end to end prints its figures as one JSON line."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from oversight.schemas import GoldAnswer

ROOT = Path(__file__).resolve().parents[2]
SLICE = ROOT / "tests" / "fixtures" / "bench" / "finegrainedrlhf" / "dev_feedback.slice.json"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    module = importlib.import_module("bench_trainers")
    yield module
    for name in ("bench_trainers", "bench_trainers_pool", "bench_trainers_sim"):
        sys.modules.pop(name, None)


@pytest.fixture
def pool(bench: Any) -> list[Any]:
    return bench.make_pool(bench.load_rows(SLICE), expert_share=0.25, decoy_share=0.5)


def answers(bench: Any, trainer: Any, items: list[Any], seed: int = 0) -> list[GoldAnswer]:
    from bench_trainers_sim import Seen, Truth

    return [bench.score_answer(item, trainer.answer(Seen(item.prompt, item.text, tuple(item.findings)),
                                                    Truth(item.plant, item.decoy), bench.answer_rng(seed, "t", item.id)),
                               "trainer-0")
            for item in items]


def test_the_pool_has_both_kinds_its_critique_points_where_plant_says_and_decoys_point_nowhere(bench, pool) -> None:
    from oversight.refine.plant import points_at

    planted = [g for g in pool if g.kind == "planted"]
    expert = [g for g in pool if g.kind == "expert"]
    assert len(planted) == 12 and len(expert) == 4  # 16 questions, a quarter expert (of those with a correction)
    assert all(g.decision == "accept" and g.plant is None for g in expert)
    assert {g.critic_pointed for g in planted} == {True, False}
    for g in planted:
        pointing = [i for i, f in enumerate(g.findings) if points_at(g.plant, g.text, f)]
        assert g.critic_pointed == bool(pointing)
        assert g.decoy not in pointing
        assert all(f.quote in g.text for f in g.findings)  # every quote stands in the text the trainer sees
    assert any(g.decoy is not None for g in pool)


def test_a_trainer_who_notices_a_planted_error_removes_it_and_the_scoring_says_caught(bench, pool) -> None:
    from bench_trainers_sim import Careful

    planted = [g for g in pool if g.kind == "planted"]
    sharp = answers(bench, Careful(p_catch=1.0, p_assisted=1.0, p_false_alarm=0.0), planted)
    blind = answers(bench, Careful(p_catch=0.0, p_assisted=0.0, p_false_alarm=0.0), planted)
    assert [a.caught for a in sharp] == [True] * len(planted)
    assert [a.caught for a in blind] == [False] * len(planted)
    assert all(a.refinement.decision == "edit" for a in sharp)  # an edit the scoring read, not a reject


def test_the_deferent_catches_what_a_finding_points_at_and_marks_the_decoy_right(bench, pool) -> None:
    from bench_trainers_sim import Deferent

    scored = answers(bench, Deferent(p_assisted=1.0), pool)
    for item, answer in zip(pool, scored, strict=True):
        if item.kind == "planted":
            assert answer.caught == item.critic_pointed, item.id
        assert answer.deferred == (True if item.decoy is not None else None)
        if item.kind == "expert":  # it deletes what the decoy quotes: a change the expert did not make
            assert answer.false_alarm == (item.decoy is not None)


def test_the_rubber_stamper_accepts_most_items_unread_and_fast(bench, pool) -> None:
    from bench_trainers_sim import Careful, RubberStamper

    stamped = answers(bench, RubberStamper(), pool * 5)
    careful = answers(bench, Careful(), pool * 5)
    accepted = sum(a.refinement.decision == "accept" for a in stamped) / len(stamped)
    assert accepted >= 0.8
    assert sum(a.seconds for a in stamped) < 0.6 * sum(a.seconds for a in careful)


def test_the_rule_is_the_products_and_flags_only_with_enough_answers_behind_a_figure(bench) -> None:
    setting = bench.Setting(bar=0.5, min_items=bench.MIN_ITEMS)
    m = bench.MIN_ITEMS
    missed = (False, None, None, True)  # caught, deferred, false alarm, critic pointed
    decision = bench.decide([missed] * m, list(range(m)), setting)
    assert (decision.flagged_gold, decision.flagged_at, decision.reason) == (m, m - 1, "catch")
    assert bench.decide([missed] * (m - 1), list(range(m - 1)), setting).flagged_gold is None  # too few to say

    deferring = bench.decide([(True, True, None, True)] * m, [0] * m, setting)
    assert deferring.reason == "deference" and deferring.cleared_gold is None  # flagged before cleared, at once

    alone = [(True, None, None, True), (False, None, None, False)] * m  # catches what the critique points at only
    assert bench.decide(alone, [0] * len(alone), setting).reason == "unassisted_catch"
    # a looser minimum flags sooner, a stricter level later, on the same answers
    assert bench.decide([missed] * m, [0] * m, bench.Setting(0.5, m + 1)).flagged_gold is None
    from statsmodels.stats.proportion import proportion_confint

    bar = proportion_confint(0, m, alpha=0.05, method="wilson")[1] + 0.01  # 0 of m: just under it at 95%
    assert bench.decide([missed] * m, [0] * m, bench.Setting(bar, m)).flagged_gold == m
    assert bench.decide([missed] * (2 * m), [0] * (2 * m), bench.Setting(bar, m, 0.99)).flagged_gold > m


def test_runs_replay_for_a_seed_and_differ_between_seeds(bench, pool) -> None:
    rows = bench.load_rows(SLICE)
    production = [t for r in rows for t in r.others]

    def run(seed: int) -> Any:
        return bench.run_trainer("careful", seed, pool, production, rate=0.3, horizon=40, long_words=60,
                                 score=bench.cached(bench.score_answer))

    assert run(1).scores == run(1).scores and run(1).gold > 0
    assert run(1).scores != run(2).scores


def test_a_small_run_prints_every_profile_and_the_last_line_is_json(bench, capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(["--file", str(SLICE), "--runs", "4", "--horizon", "100", "--rate", "0.3", "--no-service"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out["profiles"]) == {"careful", "rubber_stamper", "length_biased", "deferent", "noisy_expert"}
    for figures in out["profiles"].values():
        assert set(figures["flagged_within"]) == {"100"} and figures["runs"] == 4
        assert 0 < figures["gold_time_share"] < 1
    assert out["profiles"]["rubber_stamper"]["flagged_within"]["100"] > out["profiles"]["careful"]["flagged_within"]["100"]
    assert out["rate"] == 0.3 and (out["pool"]["planted"], out["pool"]["expert_accepted"]) == (13, 3)  # 20% expert
    by_setting = out["rule_search"]["by_setting"]
    assert len(by_setting) == len(bench.SEARCH_MIN_ITEMS) * len(bench.SEARCH_LEVELS)
    assert by_setting[f"min_items={out['min_items']} level={out['level']:g}"]["flagged"] == {
        p: f["flagged_within"]["100"] for p, f in out["profiles"].items()}  # the same runs, the same rule


def test_the_service_serves_and_scores_the_gold_items_the_fast_path_does(bench) -> None:
    rows = bench.load_rows(SLICE)
    pool = bench.make_pool(rows, expert_share=0.25, decoy_share=0.5)
    setup = bench.Setup(pool, [t for r in rows for t in r.others], 60, bench.cached(bench.score_answer))
    check = bench.service_check(setup, rows, rate=0.3, setting=bench.Setting(0.5), horizon=12)
    assert check["gold_answers"] >= 10  # enough gold met to compare (5 trainers, 12 production items each)
    assert check["agreeing_answers"] == check["gold_answers"] and check["agree"]
    assert {p["production_service"] for p in check["profiles"].values()} == {12}
