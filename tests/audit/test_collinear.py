"""Style features that move together: estimated as one named factor, never left unreported.

The case from the issue: real LLMBar pairs where one response (A or B at random) is dressed
in markdown -- a header, list items, bold and emoji added together -- and a simulated judge
picks the dressed one 85% of the time. The choices are not separated (15% go the other way);
the features are collinear.
"""

from __future__ import annotations

import numpy as np
import pytest

from oversight.audit.run import audit_judgments
from oversight.audit.simulate import Pair, dress_one
from oversight.schemas import PairwiseJudgment


@pytest.fixture(scope="module")
def llmbar_pairs(neighbor: list[PairwiseJudgment]) -> list[Pair]:
    """The 60 real LLMBar pairs of the fixture, once each (the file holds both orders)."""
    return [Pair(j.id, j.prompt, j.response_a, j.response_b, j.gold) for j in neighbor if j.shown_first == "a"]


def dressed_judgments(
    pairs: list[Pair], *, n: int = 190, prefer: float = 0.85, seed: int = 1, side: str = "random"
) -> list[PairwiseJudgment]:
    """n judgments on real pairs; one response of each is dressed, the judge picks it with probability ``prefer``."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        pair = pairs[int(rng.integers(len(pairs)))]
        a, b, dressed_a = dress_one(pair, rng, dressed_a=None if side == "random" else side == "a")
        picks_dressed = rng.random() < prefer
        rows.append(
            PairwiseJudgment(
                id=f"{pair.id}#{k}",
                prompt=pair.prompt,
                response_a=a,
                response_b=b,
                annotator="dressed-judge",
                choice="a" if picks_dressed == dressed_a else "b",
                gold=pair.gold,
            )
        )
    return rows


def test_jointly_dressed_bias_is_flagged_as_one_named_factor(llmbar_pairs: list[Pair]) -> None:
    rows = dressed_judgments(llmbar_pairs)
    result = audit_judgments(rows, source="dressed")
    style = result.style
    assert style is not None
    assert style.status == "ok", style.note  # before the fix: "unstable", nothing flagged
    assert style.fit == "mle"  # the choices are not separated: no penalty needed
    flagged = {name: e for name, e in style.factors.items() if e.flagged}
    assert len(flagged) == 1, style.factors
    ((name, factor),) = flagged.items()
    assert name.startswith("markdown: ") and {"headers", "bold", "emoji"} <= set(factor.members)
    assert name == "markdown: " + "+".join(factor.members)
    assert factor.coef is not None and factor.ci is not None and factor.ci[0] > 0
    assert factor.effect is not None and factor.effect > 0.2  # 85% vs 50%: about +35 points
    assert factor.p_adjusted is not None and factor.p_adjusted < 0.05
    assert factor.raw_win_rate is not None and factor.raw_win_rate > 0.75
    for member in factor.members:
        effect = style.features[member]
        assert effect.status == "combined" and effect.combined_into == name
        assert effect.note == f"estimated with {name}"
    assert any(name in line for line in result.verdict)
    assert not any("not estimable" in line for line in result.verdict)


def test_fair_judge_on_dressed_pairs_flags_nothing(llmbar_pairs: list[Pair]) -> None:
    style = audit_judgments(dressed_judgments(llmbar_pairs, prefer=0.5, seed=2)).style
    assert style is not None and style.status == "ok" and style.factors
    assert not any(e.flagged for e in [*style.features.values(), *style.factors.values()])
    assert not style.raw_findings


def test_strong_bias_that_cannot_be_estimated_is_still_reported(llmbar_pairs: list[Pair]) -> None:
    """Always dressed on the A side: dressing cannot be told from a preference for slot A."""
    result = audit_judgments(dressed_judgments(llmbar_pairs, side="a", seed=3))
    style = result.style
    assert style is not None
    strong = {f.feature: (round(f.raw_win_rate, 3), f.raw_n) for f in style.raw_findings}
    # seeded: the dressing (always on A) wins 166 of 190; lists differ on 82 pairs only
    assert strong == {"headers": (0.874, 190), "bold": (0.874, 190), "emoji": (0.874, 190), "lists": (0.780, 82)}
    slot_a = "not estimable: larger on the A side in 100% of the pairs where it differs"
    assert all(f.reason.startswith(slot_a) for f in style.raw_findings if f.feature != "lists")
    assert any("more headers, bold and emoji wins 87% of 190 decisive pairs" in line for line in result.verdict)


def test_collinear_groups_merge_only_what_moves_together() -> None:
    from oversight.audit.features import collinear_groups

    rng = np.random.default_rng(0)
    base, other = rng.normal(size=400), rng.normal(size=400)
    columns = np.column_stack(
        [
            other,  # length: independent
            base,  # headers
            base + 0.2 * rng.normal(size=400),  # lists: r ~ 0.98 with headers
            0.5 * base + rng.normal(size=400),  # bold: r ~ 0.45, kept apart
            -base + 0.1 * rng.normal(size=400),  # emoji: moves against them
        ]
    )
    groups = {g.name: g for g in collinear_groups(columns, ["length", "headers", "lists", "bold", "emoji"])}
    assert set(groups) == {"length", "bold", "markdown: headers+lists-emoji"}
    assert groups["markdown: headers+lists-emoji"].member_labels == ["headers", "lists", "-emoji"]
    # three-way collinearity no pair shows: emoji = headers + lists, each pair r ~ 0.7
    a, b = rng.normal(size=400), rng.normal(size=400)
    columns = np.column_stack([a, b, a + b + 0.05 * rng.normal(size=400)])
    assert len(collinear_groups(columns, ["headers", "lists", "emoji"])) < 3


def test_planted_dressing_is_recovered_with_a_covering_interval(real_pairs: list[Pair]) -> None:
    from oversight.audit.simulate import PlantedJudge, simulate_run

    judge = PlantedJudge("dressed", dressed=0.6)
    outcome = simulate_run(real_pairs, judge, np.random.default_rng(7), n=600, dressing="joint")
    term = outcome.term("headers")
    assert term.startswith("markdown: ") and len(outcome.factors[term]) >= 3
    coef, ci = outcome.coef[term], outcome.ci[term]
    assert outcome.flagged[term] and coef is not None and coef > 0
    assert ci is not None and ci[0] <= 0.6 <= ci[1]
    assert not any(flag for name, flag in outcome.flagged.items() if name != term)


def test_fair_judge_on_dressed_pairs_flags_rarely_over_200_runs(real_pairs: list[Pair]) -> None:
    from oversight.audit.simulate import PlantedJudge, simulate

    rates = simulate(real_pairs, [PlantedJudge("fair")], runs=200, n=150, seed=5, dressing="joint")["fair"]
    assert rates["dressed"]["fitted"] == 200  # the dressing is estimated every time...
    assert rates["dressed"]["flag_rate"] <= 0.05  # ...and wrongly flagged at most at the stated rate
    assert rates["any"]["flag_rate"] <= 0.096  # 3 SE of 200 runs above 5%, as for independent decoration
    assert 0.88 <= rates["dressed"]["coverage"] <= 1.0


def test_report_and_json_show_the_factor_with_its_members(llmbar_pairs: list[Pair]) -> None:
    from oversight.audit.report import coefficient_svg, render_audit_html, render_audit_markdown

    result = audit_judgments(dressed_judgments(llmbar_pairs), source="dressed")
    assert result.style is not None
    ((name, factor),) = result.style.factors.items()
    shown = f"{name} (one factor: {', '.join(factor.members)})"
    html, markdown = render_audit_html(result), render_audit_markdown(result)
    assert shown in html and shown in markdown
    assert f"estimated with {name}" in markdown
    chart = coefficient_svg(result.style)
    assert chart.count("<circle") == sum(1 for e in [*result.features.values(), factor] if e.effect is not None)
    assert f">{name}</text>" in chart
    data = result.to_json()
    assert data["factors"][name]["members"] == factor.members and data["factors"][name]["flagged"]
    assert all(data["features"][m]["combined_into"] == name for m in factor.members)
