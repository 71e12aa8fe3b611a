"""The style model: planted biases on real pairs are found; unbiased judges are not flagged."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.audit import FEATURES, PairwiseJudgment, fit_style, position_bias, style_features, win_rates
from oversight.audit.simulate import Pair, PlantedJudge, decorate, simulate, simulate_run
from oversight.audit.style import _holm

STRENGTH = 0.6  # log-odds per 1 SD: about 15 points of win probability


def test_features_count_markdown() -> None:
    text = "## Title\n\nSome **bold** words and __more__.\n\n- one\n- two\n1. three\n\n```\ncode\n```\nDone 🚀✅"
    f = style_features(text)
    assert (f["headers"], f["lists"], f["bold"], f["code"], f["emoji"]) == (1, 3, 2, 1, 2)
    assert f["length"] == 12  # bullets, fences and emojis are not words ("1." is)


def test_decorations_add_the_feature_they_name() -> None:
    plain = "First sentence here. Second one follows. Third closes it."
    for name in ("headers", "lists", "bold", "emoji", "code"):
        decorated = style_features(decorate(plain, frozenset({name}), seed=1))
        assert decorated[name] > style_features(plain)[name], name
    assert style_features(decorate(plain, frozenset({"code", "bold"}), 2))["length"] == style_features(plain)["length"]


@pytest.mark.parametrize(
    ("judge", "planted"),
    [
        (PlantedJudge("longer", {"length": STRENGTH}), "length"),
        (PlantedJudge("markdown", {"lists": STRENGTH}), "lists"),
        (PlantedJudge("emoji", {"emoji": -STRENGTH}), "emoji"),  # a judge that dislikes emojis: sign matters
    ],
)
def test_planted_bias_is_found_with_right_sign_and_covering_interval(
    real_pairs: list[Pair], judge: PlantedJudge, planted: str
) -> None:
    outcome = simulate_run(real_pairs, judge, np.random.default_rng(7), n=600)
    coef, ci = outcome.coef[planted], outcome.ci[planted]
    assert outcome.flagged[planted]
    assert coef is not None and np.sign(coef) == np.sign(judge.strengths[planted])
    assert ci is not None and ci[0] <= judge.strengths[planted] <= ci[1]
    assert not any(outcome.flagged[f] for f in FEATURES if f != planted)


def test_unbiased_judges_flag_rarely_over_200_runs(real_pairs: list[Pair]) -> None:
    rates = simulate(real_pairs, [PlantedJudge("fair")], runs=200, n=150, seed=3)["fair"]
    # Stated rate: at most alpha = 5% per feature (Holm makes it family-wise); allow binomial noise
    # of 200 runs (3 SE above 5% is 9.6%).
    assert rates["any"]["flag_rate"] <= 0.096
    for feature in FEATURES:
        assert rates[feature]["flag_rate"] <= 0.05
    assert 0.88 <= rates["length"]["coverage"] <= 1.0  # the 95% interval covers the truth (zero)


def test_too_few_items_flags_nothing(real_pairs: list[Pair]) -> None:
    outcome_model = fit_style(_judged(real_pairs[:30], lambda a, b: len(a) > len(b)))
    assert outcome_model.status == "too_few" and "at least 50" in outcome_model.note
    assert not any(e.flagged for e in outcome_model.features.values())


def test_perfect_separation_falls_back_to_a_penalised_fit(real_pairs: list[Pair]) -> None:
    """Always the longer: no finite maximum-likelihood estimate, so Firth's penalised fit says so and flags it."""
    longer = lambda a, b: style_features(a)["length"] > style_features(b)["length"]  # noqa: E731
    model = fit_style(_judged(real_pairs[:200], longer))
    assert model.status == "ok" and model.fit == "penalised" and "separated" in model.note
    length = model.features["length"]
    assert length.flagged and length.coef is not None and length.coef > 0
    assert length.ci is not None and length.ci[0] > 0 and length.effect_ci is not None
    assert not any(e.flagged for name, e in model.features.items() if name != "length")


def test_firth_fit_matches_the_half_added_odds_ratio() -> None:
    """On a 2x2 table Firth's estimate is the log odds ratio with 1/2 added to each cell, even with a zero cell."""
    from oversight.audit.style import _firth, _separated

    for a, b, c, d in ((9, 1, 0, 10), (7, 3, 4, 6)):
        x = np.array([[1.0, 1.0]] * (a + b) + [[1.0, -1.0]] * (c + d))
        y = np.array([1.0] * a + [0.0] * b + [1.0] * c + [0.0] * d)
        expected = 0.5 * np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))  # x is +-1: half the log OR
        assert _firth(y, x)[0][1] == pytest.approx(expected, abs=1e-6)
        assert _separated(y, x) == (c == 0)


def test_small_but_significant_effect_is_not_flagged(real_pairs: list[Pair]) -> None:
    judge = PlantedJudge("slight", {"length": 0.1})  # 2.5 points at 1 SD: below the 5-point bar
    outcome = simulate_run(real_pairs * 8, judge, np.random.default_rng(11), n=5000)
    assert outcome.ci["length"] is not None and outcome.ci["length"][0] > 0  # significant...
    assert not outcome.flagged["length"]  # ...but too small to matter


def test_gold_model_separates_style_from_correctness(neighbor: list[PairwiseJudgment]) -> None:
    raw, given_gold = fit_style(neighbor, min_items=40), fit_style(neighbor, with_gold=True, min_items=40)
    assert raw.features["length"].coef is not None and raw.features["length"].coef < 0
    assert given_gold.gold_coef is not None and given_gold.gold_coef > 0  # GPT-4 mostly follows gold
    assert given_gold.n_clusters == 60  # two orders per pair: errors clustered by pair


def test_position_bias_and_swap_consistency() -> None:
    rows = []
    for i in range(40):
        for first in ("a", "b"):
            choice = first if i < 30 else "a"  # 30 pairs: the judge picks whatever it saw first
            rows.append(
                PairwiseJudgment(
                    id=str(i),
                    prompt="q",
                    response_a="x",
                    response_b="y",
                    annotator="j",
                    choice=choice,
                    shown_first=first,
                )
            )
    pos = position_bias(rows)
    assert pos.swapped_pairs == 40 and pos.consistency == pytest.approx(10 / 40)
    assert pos.first_wins == pytest.approx(70 / 80) and pos.p is not None and pos.p < 1e-6
    assert not pos.assumed_order


def test_win_rates_recover_planted_strengths(real_pairs: list[Pair]) -> None:
    rng = np.random.default_rng(5)
    strength = {"m1": 1.0, "m2": 0.0, "m3": -1.0}
    rows = []
    for k in range(900):
        pair = real_pairs[k % len(real_pairs)]
        ma, mb = rng.choice(list(strength), size=2, replace=False)
        p = 1 / (1 + np.exp(-(strength[ma] - strength[mb])))
        rows.append(
            PairwiseJudgment(
                id=str(k),
                prompt=pair.prompt,
                response_a=pair.a,
                response_b=pair.b,
                annotator="h",
                choice="a" if rng.random() < p else "b",
                model_a=str(ma),
                model_b=str(mb),
            )
        )
    got = {w.model: w for w in win_rates(rows)}
    assert got["m1"].bt > 0.65 and got["m3"].bt < 0.35 and abs(got["m2"].bt - 0.5) < 0.08
    assert abs(got["m1"].controlled - got["m1"].bt) < 0.05  # style unrelated to model: control changes little


def test_holm_adjustment() -> None:
    assert _holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    # Step-down by hand: 4 x 0.005, 3 x 0.01, 2 x 0.03, then 1 x 0.04 raised to the running maximum; capped at 1.
    assert _holm({"w": 0.04, "x": 0.005, "y": 0.03, "z": 0.01}) == pytest.approx(
        {"x": 0.02, "z": 0.03, "y": 0.06, "w": 0.06})
    assert _holm({"a": 0.4, "b": 0.3}) == pytest.approx({"a": 0.6, "b": 0.6})
    assert _holm({"a": 0.6, "b": 0.7}) == {"a": 1.0, "b": 1.0}
    assert _holm({}) == {}


def _judged(pairs: list[Pair], prefer_a) -> list[PairwiseJudgment]:  # type: ignore[no-untyped-def]
    return [
        PairwiseJudgment(
            id=p.id,
            prompt=p.prompt,
            response_a=p.a,
            response_b=p.b,
            annotator="j",
            choice="a" if prefer_a(p.a, p.b) else "b",
        )
        for p in pairs
    ]
