"""Agreement: Krippendorff's alpha at the right level, raters against majority and gold, blind spots."""

from __future__ import annotations

import pytest

from oversight.audit import PairwiseJudgment, PointwiseJudgment, agreement, blind_spots, krippendorff_alpha

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4-coder 12-unit example.
_TABLE = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _pointwise(as_label: bool) -> list[PointwiseJudgment]:
    out = []
    for coder, row in enumerate(_TABLE):
        for unit, value in enumerate(row):
            if value is not None:
                extra = {"label": f"v{value}"} if as_label else {"score": value}
                out.append(PointwiseJudgment(id=f"{coder}-{unit}", item=str(unit), annotator=f"c{coder}", **extra))
    return out


def test_alpha_matches_krippendorffs_published_example() -> None:
    nominal, level, _ = krippendorff_alpha(_pointwise(as_label=True))
    assert level == "nominal" and nominal == pytest.approx(0.743, abs=1e-3)
    ordinal, level, _ = krippendorff_alpha(_pointwise(as_label=False))  # small integer scale: ordinal
    assert level == "ordinal" and ordinal == pytest.approx(0.815, abs=1e-3)
    interval, _, _ = krippendorff_alpha(_pointwise(as_label=False), "interval")
    assert interval == pytest.approx(0.849, abs=1e-3)


def _pair(
    item: str, annotator: str, choice: str, gold: str | None = None, a: str = "x", b: str = "y"
) -> PairwiseJudgment:
    return PairwiseJudgment(
        id=item, prompt=f"prompt {item}", response_a=a, response_b=b, annotator=annotator, choice=choice, gold=gold
    )  # type: ignore[arg-type]


def test_pairwise_choices_with_ties_are_ordinal_and_alpha_is_undefined_without_overlap() -> None:
    rows = [_pair("1", "r1", "a"), _pair("1", "r2", "tie"), _pair("2", "r1", "b"), _pair("2", "r2", "b")]
    _, level, _ = krippendorff_alpha(rows)
    assert level == "ordinal"
    alone = [_pair(str(i), "r1", "a") for i in range(5)]
    alpha, _, note = krippendorff_alpha(alone)
    assert alpha is None
    assert note == "no item has two or more annotators"


def test_each_annotator_against_the_others_majority_and_gold() -> None:
    rows = []
    for i in range(10):
        rows += [_pair(str(i), "r1", "a", gold="a"), _pair(str(i), "r2", "a", gold="a")]
        rows += [_pair(str(i), "r3", "a" if i < 5 else "b", gold="a"), _pair(str(i), "contrarian", "b", gold="a")]
    result = agreement(rows)
    by = {a.annotator: a for a in result.annotators}
    assert by["contrarian"].with_majority == 0.0 and by["contrarian"].with_gold == 0.0
    assert by["r1"].with_gold == 1.0 and by["r3"].with_gold == 0.5
    # r1's others are r2 (a), r3 (a, then b) and contrarian (b): majority a on items 0-4, b on 5-9
    assert (by["r1"].with_majority, by["r1"].n_majority) == (0.5, 10)
    assert result.disagreement_rate == 1.0 and result.n_items == 10 and result.alpha is not None


def test_shared_blind_spot_found_with_the_style_it_shares() -> None:
    long = "A long answer that goes on and on with many words to sound thorough and complete. " * 3
    rows = []
    for i in range(12):  # raters agree on the long wrong answer: a shared blind spot
        rows += [_pair(f"w{i}", r, "a", gold="b", a=long + str(i), b="Short, right.") for r in ("r1", "r2", "r3")]
    for i in range(12):  # raters agree and are right
        rows += [
            _pair(f"ok{i}", r, "b", gold="b", a="Wrong " + str(i), b="Right answer " + str(i))
            for r in ("r1", "r2", "r3")
        ]
    for i in range(6):  # raters split: not a blind spot however it ends
        rows += [
            _pair(f"s{i}", "r1", "a", gold="b"),
            _pair(f"s{i}", "r2", "b", gold="b"),
            _pair(f"s{i}", "r3", "b", gold="b"),
        ]
    report = blind_spots(rows)
    assert report is not None and report.n_items_with_gold == 30
    assert sorted(s.id for s in report.items) == sorted(f"w{i}" for i in range(12))
    spot = report.items[0]
    assert (spot.chosen, spot.gold, spot.votes, spot.agreement) == ("a", "b", 3, 1.0)
    assert spot.feature_diff["length"] > 0
    shared = {f.feature: f for f in report.features}
    assert shared["length"].shared and shared["length"].share == 1.0


def test_no_blind_spot_report_without_gold() -> None:
    assert blind_spots([_pair("1", "r1", "a"), _pair("1", "r2", "a")]) is None


def test_pandalm_agreement_is_high(pandalm: list[PairwiseJudgment]) -> None:
    result = agreement(pandalm)
    assert result.n_annotators == 3 and result.n_items == 150
    assert result.alpha is not None and result.alpha > 0.7  # its authors filtered for agreement
    assert all(a.with_majority is not None and a.with_majority > 0.85 for a in result.annotators)


def test_package_functions_are_not_shadowed_by_their_modules() -> None:
    """`oversight.audit.agreement` once named both a module and a function: importing the module
    first made `from oversight.audit import agreement` return the module."""
    import subprocess
    import sys

    code = ("import oversight.audit.run\n"
            "from oversight.audit import agreement, ceilings, routing_rule\n"
            "assert callable(agreement) and callable(ceilings) and callable(routing_rule)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
