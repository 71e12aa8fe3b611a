"""Quality ceilings and the routing rule the refine queue reads."""

from __future__ import annotations

import pytest

from oversight.audit import GroupRoute, PairwiseJudgment, RoutingRule, ceilings, routing_rule
from oversight.audit.routing import wilson_upper


def _group(kind: str, n: int, split_every: int | None, wrong_every: int | None = None) -> list[PairwiseJudgment]:
    """n items, 3 raters; every split_every-th item split 2-1; every wrong_every-th majority misses gold."""
    rows = []
    for i in range(n):
        gold = "b" if wrong_every and i % wrong_every == 0 else "a"
        third = "b" if split_every and i % split_every == 0 else "a"
        for rater, choice in (("r1", "a"), ("r2", "a"), ("r3", third)):
            rows.append(
                PairwiseJudgment(
                    id=f"{kind}-{i}",
                    prompt="q",
                    response_a="x",
                    response_b="y",
                    annotator=rater,
                    choice=choice,
                    gold=gold,
                    kind=kind,
                )
            )  # type: ignore[arg-type]
    return rows


def test_routes_by_kind() -> None:
    rows = (
        _group("easy", 200, None)  # unanimous, majority matches gold: automate
        + _group("fine", 200, 25)  # 4% disagreement, 95% upper bound under 10%, gold agrees: automate
        + _group("split", 100, 3)  # 34% disagreement: several raters
        + _group("messy", 100, 2)  # 50%: experts
        + _group("fooled", 100, None, wrong_every=3)  # unanimous yet wrong a third of the time: experts
        + _group("tiny", 5, None)  # too few to loosen review
    )
    got = {c.group: c for c in ceilings(rows)}
    assert got["easy"].route == "automate" and got["easy"].disagreement_rate == 0.0
    assert got["fine"].route == "automate"
    assert got["split"].route == "several_raters" and got["split"].raters == 3
    assert got["messy"].route == "expert"
    assert got["fooled"].route == "expert" and "gold" in got["fooled"].reason
    assert got["tiny"].route == "several_raters" and "too few" in got["tiny"].reason
    rule = routing_rule(rows)
    assert rule.route_for(kind="easy").route == "automate"
    assert rule.route_for(kind="never-seen").route == "several_raters"  # cautious default
    assert RoutingRule.model_validate_json(rule.model_dump_json()) == rule  # the queue reads it back


def test_the_routing_rule_is_kept_where_the_queue_reads_it(tmp_store) -> None:

    assert tmp_store.routing_rule() is None
    rule = routing_rule(_group("easy", 200, None) + _group("messy", 100, 2))
    tmp_store.save_routing_rule(rule)
    assert tmp_store.routing_rule() == rule
    newer = routing_rule(_group("easy", 200, None))
    tmp_store.save_routing_rule(newer)  # the latest audit wins
    assert tmp_store.routing_rule() == newer


def test_single_rater_needs_the_upper_bound_not_just_the_estimate() -> None:
    # 10% disagreement on 20 items: the 95% upper bound (~30%) is too high to drop to one rater.
    assert ceilings(_group("k", 20, 10))[0].route == "several_raters"
    # the same rate on 500 items: the bound is ~13%, so one rater will do (no gold: not automated).
    rows = [r.model_copy(update={"gold": None}) for r in _group("k", 500, 10)]
    assert ceilings(rows)[0].route == "single_rater"


def test_wilson_upper() -> None:
    assert wilson_upper(0, 10) == pytest.approx(0.2775, abs=1e-3)
    assert wilson_upper(50, 100) == pytest.approx(0.5968, abs=1e-3)
    assert wilson_upper(81, 263) == pytest.approx(0.3662, abs=5e-5)  # Newcombe (1998), Table II
    assert wilson_upper(7, 7) == 1.0 and wilson_upper(0, 0) == 1.0


def test_route_for_prefers_kind_then_domain() -> None:
    rule = RoutingRule(
        rules=[
            GroupRoute(field="domain", value="law", route="expert", raters=1),
            GroupRoute(field="kind", value="qa", route="single_rater", raters=1),
        ],
        default=GroupRoute(field="all", value=None, route="several_raters", raters=3),
    )
    assert rule.route_for(kind="qa", domain="law").route == "expert"  # first matching rule wins
    assert rule.route_for(kind="qa").route == "single_rater"
    assert rule.route_for().route == "several_raters"
