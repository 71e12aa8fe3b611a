"""Planted style bias on real response pairs: does the audit find it, and stay quiet when there is none?

Real pairs: FineGrainedRLHF dev (500 questions x 6 pairs of real answers) and, for judges
that follow correctness, LLMBar Natural + Adversarial/Neighbor + Adversarial/GPTInst (gold
labels; in the adversarial sets the wrong output is usually longer). Each run samples N
pairs, decorates responses at random (header, list, bold, emoji, fenced code: each with
probability 0.3, independently) and lets a simulated judge choose.

Jointly dressed pairs (the case where formatting features move together): one response of
every pair, A or B at random, gets a header, list items, bold and emoji all at once, so the
features are collinear and the audit must estimate them as one combined factor. The "dressed"
judges prefer the dressed response with a planted log-odds; the "fair-dressed" judges see
the same kind of pairs and have no preference. On FineGrainedRLHF at N, and on LLMBar at N=190
with 85% preference for the dressed side (the case from the issue tracker).

Baseline, run in the same process: the naive check "does the response with more of a
feature win more than half the decisive pairs?" (two-sided binomial test at 0.05), which
is what a lead does by hand. It has no effect-size bar, no multiple-testing control and no
way to separate style from correctness.

Usage: python bench/bench_audit_planted.py [--runs 200] [--n 400] [--data /work/shared/data]
Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from oversight.audit import FEATURES, PairwiseJudgment
from oversight.audit.datasets import load_finegrained_preferences, load_llmbar
from oversight.audit.simulate import DRESS, Pair, PlantedJudge, simulate_run
from oversight.audit.style import style_design

JUDGES = [
    PlantedJudge("longer", {"length": 0.5}),
    PlantedJudge("markdown", {"lists": 0.5, "bold": 0.3}),
    PlantedJudge("emoji", {"emoji": 0.5}),
    PlantedJudge("fair-coin"),
]
GOLD_JUDGE = PlantedJudge("fair-correct", gold_strength=1.5)  # follows gold, no style preference
DRESSED_JUDGES = [PlantedJudge("dressed", dressed=0.5), PlantedJudge("fair-dressed")]  # FineGrainedRLHF, N
ISSUE_N = 190
ISSUE_JUDGES = [  # LLMBar, N=190: picks the dressed response 85% of the time, and a fair one
    PlantedJudge("dressed-85", dressed=math.log(0.85 / 0.15)),
    PlantedJudge("fair-dressed-190"),
]


def naive_flags(rows: list[PairwiseJudgment]) -> dict[str, tuple[bool, float]]:
    """Per feature: (flagged by the naive binomial test, sign of the raw more-of-it-wins rate)."""
    design = style_design(rows)
    y = np.array([r.choice == "a" for r in rows])
    out = {}
    for k, f in enumerate(FEATURES):
        d = design.raw_a[:, k] - design.raw_b[:, k]
        mask = d != 0
        if mask.sum() == 0:
            out[f] = (False, 0.0)
            continue
        wins = int(np.sum((d[mask] > 0) == y[mask]))
        p = binomtest(wins, int(mask.sum()), 0.5).pvalue
        out[f] = (bool(p < 0.05), float(np.sign(wins / mask.sum() - 0.5)))
    return out


def run_judge(
    pairs: list[Pair], judge: PlantedJudge, runs: int, n: int, seed: int, with_gold: bool, dressing: str = "independent"
) -> dict:
    """Rates over seeded runs. With joint dressing, the key "dressed" is the term carrying the dressing
    (the combined markdown factor when the audit forms one); its naive twin is "some dressing feature wins"."""
    rng = np.random.default_rng(seed)
    keys = [*FEATURES, "dressed"] if dressing == "joint" else list(FEATURES)
    stats = {
        f: {"audit_flag": 0, "audit_right": 0, "covered": 0, "fitted": 0, "naive_flag": 0, "naive_right": 0}
        for f in keys
    }
    any_audit = any_naive = 0
    factor_names: Counter[str] = Counter()
    for _ in range(runs):
        outcome = simulate_run(pairs, judge, rng, n=n, with_gold=with_gold, dressing=dressing)  # type: ignore[arg-type]
        naive = naive_flags(outcome.rows)
        sign = float(np.sign(judge.dressed))
        naive["dressed"] = (any(naive[f][0] and (naive[f][1] == sign or not sign) for f in DRESS), sign)
        planted = outcome.planted_terms(judge)
        unplanted = [f for f in FEATURES if not judge.strengths.get(f) and not (judge.dressed and f in DRESS)]
        any_audit += int(any(flag for term, flag in outcome.flagged.items() if term not in planted))
        any_naive += int(any(naive[f][0] for f in unplanted))
        factor_names.update(outcome.factors.keys())
        for f in keys:
            term = outcome.term("headers") if f == "dressed" else f
            truth = judge.dressed if f == "dressed" else judge.strengths.get(f, 0.0)
            s = stats[f]
            coef, ci = outcome.coef[term], outcome.ci[term]
            if coef is not None and ci is not None:
                s["fitted"] += 1
                s["covered"] += int(ci[0] <= truth <= ci[1])
            s["audit_flag"] += int(outcome.flagged[term])
            s["audit_right"] += int(outcome.flagged[term] and coef is not None and np.sign(coef) == np.sign(truth))
            s["naive_flag"] += int(naive[f][0])
            s["naive_right"] += int(naive[f][0] and naive[f][1] == np.sign(truth))
    return {
        "strengths": dict(judge.strengths) | ({"dressed": judge.dressed} if judge.dressed else {}),
        "gold_strength": judge.gold_strength,
        "with_gold_model": with_gold,
        "dressing": dressing,
        "n": n,
        "factors_formed": dict(factor_names.most_common()),
        "any_false_flag_audit": any_audit / runs,
        "any_false_flag_naive": any_naive / runs,
        "features": {
            f: {
                "audit_flag_rate": s["audit_flag"] / runs,
                "audit_right_sign_rate": s["audit_right"] / runs,
                "coverage": s["covered"] / s["fitted"] if s["fitted"] else None,
                "naive_flag_rate": s["naive_flag"] / runs,
                "naive_right_sign_rate": s["naive_right"] / runs,
            }
            for f, s in stats.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--data", default="/work/shared/data")
    args = parser.parse_args()
    data = Path(args.data)
    start = time.perf_counter()
    fg = load_finegrained_preferences(data / "finegrainedrlhf_qa_feedback/tasks/qa_feedback/data/dev_feedback.json")
    fg_pairs = [Pair(j.id, j.prompt, j.response_a, j.response_b) for j in fg]
    llmbar_pairs: list[Pair] = []
    for subset in ("Natural", "Adversarial/Neighbor", "Adversarial/GPTInst"):
        for j in load_llmbar(data / "llmbar/Dataset/LLMBar" / subset, subset=subset):
            if j.shown_first == "a":
                llmbar_pairs.append(Pair(j.id, j.prompt, j.response_a, j.response_b, j.gold))
    results = {}
    for i, judge in enumerate(JUDGES):
        results[judge.name] = run_judge(fg_pairs, judge, args.runs, args.n, args.seed + i, with_gold=False)
    results[GOLD_JUDGE.name] = run_judge(
        llmbar_pairs, GOLD_JUDGE, args.runs, min(args.n, len(llmbar_pairs)), args.seed + 99, with_gold=True
    )
    for i, judge in enumerate(DRESSED_JUDGES):
        results[judge.name] = run_judge(fg_pairs, judge, args.runs, args.n, args.seed + 200 + i, False, "joint")
    for i, judge in enumerate(ISSUE_JUDGES):
        results[judge.name] = run_judge(llmbar_pairs, judge, args.runs, ISSUE_N, args.seed + 300 + i, False, "joint")
    elapsed = time.perf_counter() - start
    print(
        f"{args.runs} runs per judge, N={args.n} pairs per run ({len(fg_pairs)} FineGrainedRLHF pairs; "
        f"{len(llmbar_pairs)} LLMBar pairs for the gold-following judge, N={min(args.n, len(llmbar_pairs))}, "
        f"and the issue's dressed judges, N={ISSUE_N}), "
        f"{elapsed:.0f}s",
        file=sys.stderr,
    )
    print("Planted effects (strength = log-odds per 1 SD; detection = flagged with the right sign):")
    for name, r in results.items():
        for f, s in r["features"].items():
            truth = r["strengths"].get(f)
            if truth:
                ratio = s["audit_right_sign_rate"] / s["naive_right_sign_rate"] if s["naive_right_sign_rate"] else None
                print(
                    f"  {name:<16} {f:<8} strength {truth:+.2f}: audit detects {s['audit_right_sign_rate']:.1%}, "
                    f"interval covers {s['coverage']:.1%}; naive {s['naive_right_sign_rate']:.1%}"
                    + (f" (ratio {ratio:.2f})" if ratio else "")
                )
    print("False positives on unbiased judges (per feature or factor max, and any per run):")
    for name in ("fair-coin", "fair-correct", "fair-dressed", "fair-dressed-190"):
        r = results[name]
        worst = max(s["audit_flag_rate"] for s in r["features"].values())
        worst_naive = max(s["naive_flag_rate"] for s in r["features"].values())
        print(
            f"  {name:<16} audit: max per-feature {worst:.1%}, any {r['any_false_flag_audit']:.1%}; "
            f"naive: max per-feature {worst_naive:.1%}, any {r['any_false_flag_naive']:.1%}"
        )
    print("Combined factors the audit formed on jointly dressed pairs (in how many runs):")
    for name in (*(j.name for j in DRESSED_JUDGES), *(j.name for j in ISSUE_JUDGES)):
        formed = ", ".join(f"{k} ({v})" for k, v in list(results[name]["factors_formed"].items())[:2])
        print(f"  {name:<16} {formed or 'none'}")
    stated = {"alpha": 0.05, "holm": True, "min_effect_points": 5, "per_feature_fpr_bound": 0.05}
    print(
        json.dumps(
            {
                "bench": "audit_planted",
                "runs": args.runs,
                "n": args.n,
                "seed": args.seed,
                "stated": stated,
                "seconds": round(elapsed, 1),
                "judges": results,
            }
        )
    )


if __name__ == "__main__":
    main()
