"""Agreement audit: Krippendorff's alpha, each rater against the others and gold, blind spots."""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Literal

import numpy as np

from oversight.audit.features import style_features
from oversight.schemas import (
    FEATURES,
    Agreement,
    AnnotatorAgreement,
    BlindSpot,
    BlindSpotReport,
    Judgment,
    PairwiseJudgment,
    PointwiseJudgment,
    SharedFeature,
)

__all__ = ["Level", "agreement", "blind_spots", "item_votes", "krippendorff_alpha", "measurement_level"]

Level = Literal["nominal", "ordinal", "interval"]
_PAIR_ORDER = {"b": 0.0, "tie": 1.0, "a": 2.0}  # a tie sits between the two preferences


def item_of(j: Judgment) -> str:
    """What a judgment is about: the comparison id, or the rated item."""
    return j.id if isinstance(j, PairwiseJudgment) else j.item


def measurement_level(judgments: Sequence[Judgment]) -> Level:
    """Ordinal for pairwise choices with ties and small integer scales; interval for other scores."""
    first = judgments[0]
    if isinstance(first, PairwiseJudgment):
        return "ordinal" if any(j.choice == "tie" for j in judgments) else "nominal"  # type: ignore[union-attr]
    scores = [j.score for j in judgments if isinstance(j, PointwiseJudgment) and j.score is not None]
    if not scores:
        return "nominal"
    if all(float(s).is_integer() for s in scores) and len(set(scores)) <= 10:
        return "ordinal"
    return "interval"


def _vote(j: Judgment) -> str | float:
    return j.choice if isinstance(j, PairwiseJudgment) else j.value


def item_votes(judgments: Sequence[Judgment]) -> dict[str, list[tuple[str, str | float]]]:
    """Per item, (annotator, vote) pairs; one vote per annotator (several orders: the first)."""
    votes: dict[str, dict[str, str | float]] = defaultdict(dict)
    for j in judgments:
        votes[item_of(j)].setdefault(j.annotator, _vote(j))
    return {item: list(v.items()) for item, v in votes.items()}


def _codes(values: list[str | float], level: Level) -> dict[str | float, float]:
    """Numbers for the values: tie between a and b for pairwise choices; labels in sorted order."""
    codes: dict[str | float, float] = {}
    if level != "nominal" and all(isinstance(v, str) for v in values) and set(values) <= set(_PAIR_ORDER):
        codes.update(_PAIR_ORDER)
    elif all(isinstance(v, (int, float)) for v in values):
        codes.update({v: float(v) for v in values})
    else:
        codes.update({v: float(i) for i, v in enumerate(sorted({str(v) for v in values}))})
    return codes


def krippendorff_alpha(judgments: Sequence[Judgment], level: Level | None = None) -> tuple[float | None, Level, str]:
    """Krippendorff's alpha over items rated by 2+ annotators; (None, level, why) when undefined."""
    import krippendorff

    if not judgments:
        return None, level or "nominal", "no judgments"
    level = level or measurement_level(judgments)
    votes = {item: v for item, v in item_votes(judgments).items() if len(v) >= 2}
    if not votes:
        return None, level, "no item has two or more annotators"
    annotators = sorted({a for v in votes.values() for a, _ in v})
    values = [x for v in votes.values() for _, x in v]
    codes = _codes(values, level)
    if len(set(codes[x] if x in codes else codes[str(x)] for x in values)) < 2:
        return None, level, "every annotator gave the same value; alpha is undefined"
    col = {a: i for i, a in enumerate(annotators)}
    data = np.full((len(annotators), len(votes)), np.nan)
    for k, v in enumerate(votes.values()):
        for a, x in v:
            data[col[a], k] = codes[x] if x in codes else codes[str(x)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty slices for unrated cells
        alpha = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    return float(alpha), level, ""


def _majority(values: Sequence[str | float]) -> str | float | None:
    """The strict plurality value, None when tied at the top or empty."""
    counts = Counter(values).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def _gold_of(judgments: Sequence[Judgment]) -> dict[str, str | float]:
    gold: dict[str, str | float] = {}
    for j in judgments:
        if j.gold is not None:
            gold.setdefault(item_of(j), j.gold)
    return gold


def agreement(judgments: Sequence[Judgment], level: Level | None = None) -> Agreement:
    """Alpha, the disagreement rate, and each annotator against the others' majority and gold."""
    alpha, level, note = krippendorff_alpha(judgments, level)
    votes = item_votes(judgments)
    gold = _gold_of(judgments)
    multi = [v for v in votes.values() if len(v) >= 2]
    disagreement = sum(1 for v in multi if len({x for _, x in v}) > 1) / len(multi) if multi else None
    per: dict[str, dict[str, int]] = defaultdict(Counter)
    for item, v in votes.items():
        for annotator, x in v:
            per[annotator]["n"] += 1
            others = [y for a, y in v if a != annotator]
            if len(others) >= 2 and (m := _majority(others)) is not None:
                per[annotator]["maj_n"] += 1
                per[annotator]["maj_ok"] += int(x == m)
            if item in gold and x != "tie":
                per[annotator]["gold_n"] += 1
                per[annotator]["gold_ok"] += int(x == gold[item])
    rows = [
        AnnotatorAgreement(
            annotator=a,
            n=c["n"],
            n_majority=c["maj_n"],
            with_majority=c["maj_ok"] / c["maj_n"] if c["maj_n"] else None,
            n_gold=c["gold_n"],
            with_gold=c["gold_ok"] / c["gold_n"] if c["gold_n"] else None,
        )
        for a, c in sorted(per.items())
    ]
    return Agreement(
        alpha=alpha,
        level=level,
        n_items=len(votes),
        n_annotators=len(per),
        disagreement_rate=disagreement,
        annotators=rows,
        note=note,
    )


def _all_votes(judgments: Sequence[Judgment]) -> dict[str, list[str | float]]:
    """Every vote per item, counting a rater's second order as a second vote."""
    out: dict[str, list[str | float]] = defaultdict(list)
    for j in judgments:
        out[item_of(j)].append(_vote(j))
    return out


def blind_spots(
    judgments: Sequence[Judgment], *, threshold: float = 0.8, min_votes: int = 2, limit: int = 50
) -> BlindSpotReport | None:
    """Items where 2+ votes agree at ``threshold`` or more, yet gold says the majority is wrong.

    A single judge's two orders count as two votes, so "confident in both orders and
    wrong" is a blind spot too. For pairwise items, also reports which style features
    the wrongly chosen responses share more often than the wrong responses of the items
    the raters got right (one-sided Fisher's exact test; a sign test against 50% when
    fewer than 5 such items differ in the feature). Returns None without gold.
    """
    from scipy.stats import binomtest, fisher_exact

    gold = _gold_of(judgments)
    if not gold:
        return None
    votes = _all_votes(judgments)
    first: dict[str, Judgment] = {}
    for j in judgments:
        first.setdefault(item_of(j), j)
    spots: list[BlindSpot] = []
    right: list[str] = []
    for item, g in gold.items():
        v = [x for x in votes.get(item, []) if x != "tie"]
        if len(v) < min_votes or (m := _majority(v)) is None:
            continue
        share = v.count(m) / len(v)
        if share < threshold:
            continue
        if m == g:
            right.append(item)
            continue
        j = first[item]
        spot = BlindSpot(id=item, prompt=_short(_prompt(j)), chosen=str(m), gold=str(g), votes=len(v), agreement=share)
        if isinstance(j, PairwiseJudgment):
            chosen_text, gold_text = _texts(j, str(m))
            fc, fg = style_features(chosen_text), style_features(gold_text)
            spot.chosen_text, spot.gold_text = _short(chosen_text, 600), _short(gold_text, 600)
            spot.feature_diff = {f: fc[f] - fg[f] for f in FEATURES}
        spots.append(spot)
    report = BlindSpotReport(threshold=threshold, n_items_with_gold=len(gold), items=spots[:limit])
    if spots and isinstance(first[spots[0].id], PairwiseJudgment):
        for f in FEATURES:
            diffs = [s.feature_diff[f] for s in spots if s.feature_diff[f] != 0]
            if not diffs:
                continue
            more = sum(1 for d in diffs if d > 0)
            base_more, base_n = _baseline_counts(right, first, gold, f)
            if base_n >= 5:
                # Against the items the raters got right: a feature that the wrong response has in
                # every item of this set (as in adversarial sets) is not what the misses share.
                table = [[more, len(diffs) - more], [base_more, base_n - base_more]]
                p = float(fisher_exact(table, alternative="greater").pvalue)
            else:
                p = float(binomtest(more, len(diffs), 0.5, alternative="greater").pvalue)
            share = more / len(diffs)
            report.features.append(
                SharedFeature(
                    feature=f,
                    share=share,
                    n=len(diffs),
                    p=p,
                    baseline=base_more / base_n if base_n else None,
                    shared=len(diffs) >= 5 and p < 0.05,
                )
            )
    return report


def _baseline_counts(
    items: list[str], first: dict[str, Judgment], gold: dict[str, str | float], f: str
) -> tuple[int, int]:
    """Among items the raters got right: (wrong response has more of f, f differs)."""
    more = n = 0
    for item in items:
        j = first[item]
        assert isinstance(j, PairwiseJudgment)
        wrong_text, gold_text = _texts(j, "b" if gold[item] == "a" else "a")
        d = style_features(wrong_text)[f] - style_features(gold_text)[f]
        if d != 0:
            n += 1
            more += int(d > 0)
    return more, n


def _texts(j: PairwiseJudgment, chosen: str) -> tuple[str, str]:
    """(chosen response, the other one)."""
    return (j.response_a, j.response_b) if chosen == "a" else (j.response_b, j.response_a)


def _prompt(j: Judgment) -> str:
    return j.prompt if isinstance(j, PairwiseJudgment) else j.item


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
