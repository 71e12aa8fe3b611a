"""The audit on real judgment sets, with effect sizes and intervals.

- LLMBar Natural, Adversarial/Neighbor, Adversarial/GPTInst: GPT-4's verdicts in both orders
  (evaluators/GPT-4/Swap/result.json; ``winner`` already in the original order) against the
  objective ``label``. Question: does length predict GPT-4's choice beyond correctness?
- FineGrainedRLHF dev: six pairwise human preferences among four answers per question. The
  longer answer wins about half the time: the audit must not call this a length bias.
- PandaLM test set: three annotators per pair; alpha and each annotator's agreement. Its
  authors filtered the set for agreement, so its alpha is engineered, not earned. GPT-3.5's
  verdicts on the same pairs stand in as the LLM judge beside the humans.

Baseline, in the same run: the naive "longer-wins rate" (share of decisive choices that
went to the longer response), which cannot separate length from correctness.
Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from oversight.audit import FeatureEffect, PairwiseJudgment, audit_judgments, style_features
from oversight.audit.datasets import load_finegrained_preferences, load_llmbar, load_pandalm
from oversight.audit.judge import compare_with_judge


def longer_wins(rows: list[PairwiseJudgment]) -> tuple[float | None, int]:
    """Naive baseline: share of decisive choices (length differs) won by the longer response."""
    won = n = 0
    for r in rows:
        if r.choice == "tie":
            continue
        la, lb = style_features(r.response_a)["length"], style_features(r.response_b)["length"]
        if la != lb:
            n += 1
            won += int((la > lb) == (r.choice == "a"))
    return (won / n if n else None), n


def effect(e: FeatureEffect | None) -> dict:
    if e is None:
        return {}
    return {
        "coef": e.coef,
        "ci": e.ci,
        "p": e.p,
        "p_holm": e.p_adjusted,
        "effect_points": None if e.effect is None else round(e.effect * 100, 1),
        "effect_ci_points": None if e.effect_ci is None else [round(v * 100, 1) for v in e.effect_ci],
        "flagged": e.flagged,
        "status": e.status,
    }


def fmt(e: dict) -> str:
    if not e or e.get("coef") is None:
        return f"({e.get('status', 'n/a')})"
    lo, hi = e["effect_ci_points"]
    return (
        f"coef {e['coef']:+.2f} [{e['ci'][0]:+.2f}, {e['ci'][1]:+.2f}], {e['effect_points']:+.1f} pts "
        f"[{lo:+.1f}, {hi:+.1f}], p={e['p']:.2g}{' FLAGGED' if e['flagged'] else ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/work/shared/data")
    args = parser.parse_args()
    data = Path(args.data)
    start = time.perf_counter()
    out: dict = {"bench": "audit_real", "llmbar": {}}
    print("LLMBar, GPT-4 judge (both orders) vs gold label:")
    pooled: list[PairwiseJudgment] = []
    for subset in ("Natural", "Adversarial/Neighbor", "Adversarial/GPTInst"):
        rows = load_llmbar(data / "llmbar/Dataset/LLMBar" / subset, subset=subset)
        pooled += rows
        out["llmbar"][subset] = _llmbar(subset, rows)
    out["llmbar"]["pooled"] = _llmbar("pooled (3 sets)", pooled)

    fg = load_finegrained_preferences(data / "finegrainedrlhf_qa_feedback/tasks/qa_feedback/data/dev_feedback.json")
    r = audit_judgments(fg, source="FineGrainedRLHF dev")
    naive, n = longer_wins(fg)
    assert r.style is not None
    out["finegrainedrlhf"] = {
        "judgments": len(fg),
        "ties": r.style.n_ties,
        "longer_wins": naive,
        "longer_wins_n": n,
        "length": effect(r.style.features["length"]),
        "flagged": [f for f, e in r.style.features.items() if e.flagged],
        "first_wins": r.position.first_wins if r.position else None,
    }
    print(
        f"FineGrainedRLHF dev: {len(fg)} preferences, {r.style.n_ties} ties; naive longer-wins {naive:.1%} (n={n}); "
        f"length {fmt(out['finegrainedrlhf']['length'])}; flagged: {out['finegrainedrlhf']['flagged'] or 'none'}"
    )

    panda = load_pandalm(data / "pandalm/data/testset-v1.json")
    r = audit_judgments(panda, source="PandaLM test")
    gpt = _pandalm_gpt(data / "pandalm/data/gpt-3.5-turbo-testset-v1.json", panda)
    judge = compare_with_judge(panda, gpt)
    naive, n = longer_wins(panda)
    ag = r.agreement
    out["pandalm"] = {
        "items": ag.n_items,
        "alpha": ag.alpha,
        "level": ag.level,
        "disagreement_rate": ag.disagreement_rate,
        "annotators": {a.annotator: a.with_majority for a in ag.annotators},
        "longer_wins": naive,
        "length": effect(r.style.features["length"]) if r.style else {},
        "win_rates": [w.model_dump() for w in r.win_rates],
        "gpt35_with_human_majority": judge.with_human_majority,
        "gpt35_n": judge.n_majority,
        "gpt35_length": effect(judge.judge_features.get("length")),
        "note": "filtered by its authors for agreement: the alpha is engineered, not earned",
    }
    print(
        f"PandaLM test: {ag.n_items} items, Krippendorff alpha ({ag.level}) {ag.alpha:.3f}, "
        f"disagreement {ag.disagreement_rate:.1%}; agreement with the other two's majority: "
        + ", ".join(f"{a.annotator} {a.with_majority:.1%}" for a in ag.annotators)
        + " (the authors filtered the set for agreement)"
    )
    print(f"  humans: naive longer-wins {naive:.1%}; length {fmt(out['pandalm']['length'])}")
    print(
        f"  GPT-3.5 as the LLM judge: agrees with the human majority on {judge.with_human_majority:.1%} "
        f"of {judge.n_majority}; its length {fmt(out['pandalm']['gpt35_length'])}"
    )
    for w in r.win_rates:
        print(f"  {w.model:<18} raw {w.raw:.1%}  BT {w.bt:.1%}  style-controlled {w.controlled:.1%}")
    out["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(out, default=float))


def _llmbar(name: str, rows: list[PairwiseJudgment]) -> dict:
    r = audit_judgments(rows, source=name)
    decisive = [j for j in rows if j.choice != "tie"]
    accuracy = sum(j.choice == j.gold for j in decisive) / len(decisive)
    longer_gold = sum(
        1
        for j in rows
        if j.shown_first == "a"
        and (style_features(j.response_a)["length"] > style_features(j.response_b)["length"]) == (j.gold == "a")
    ) / (len(rows) / 2)
    naive, _ = longer_wins(rows)
    assert r.style is not None and r.style_given_gold is not None and r.position is not None
    res = {
        "pairs": len(rows) // 2,
        "gpt4_accuracy": accuracy,
        "longer_is_gold": longer_gold,
        "longer_wins": naive,
        "consistency": r.position.consistency,
        "first_wins": r.position.first_wins,
        "length_raw": effect(r.style.features["length"]),
        "length_beyond_gold": effect(r.style_given_gold.features["length"]),
        "gold_coef": r.style_given_gold.gold_coef,
        "blind_spots": len(r.blind_spots.items) if r.blind_spots else 0,
        "blind_spot_features": {
            f.feature: {"share": f.share, "baseline": f.baseline, "n": f.n, "p": f.p, "shared": f.shared}
            for f in (r.blind_spots.features if r.blind_spots else [])
        },
        "flagged_beyond_gold": {
            n: effect(e) for n, e in r.style_given_gold.features.items() if e.flagged and n != "length"
        },
    }
    print(
        f"  {name}: {res['pairs']} pairs; GPT-4 accuracy {accuracy:.1%}; longer output is gold in {longer_gold:.0%}; "
        f"naive longer-wins {naive:.1%}; same pick in both orders {r.position.consistency:.0%}"
    )
    print(f"    length, raw:           {fmt(res['length_raw'])}")
    print(f"    length, beyond gold:   {fmt(res['length_beyond_gold'])}")
    for name_, e in res["flagged_beyond_gold"].items():
        print(f"    {name_ + ', beyond gold:':<23}{fmt(e)}")
    length_spots = res["blind_spot_features"].get("length")
    if length_spots:
        base = "n/a" if length_spots["baseline"] is None else f"{length_spots['baseline']:.0%}"
        print(
            f"    blind spots: {res['blind_spots']} pairs wrong in both orders; the wrongly chosen output is longer in "
            f"{length_spots['share']:.0%} of them vs {base} of the wrong outputs GPT-4 rejected "
            f"(Fisher p={length_spots['p']:.2g})"
        )
    return res


def _pandalm_gpt(path: Path, humans: list[PairwiseJudgment]) -> list[PairwiseJudgment]:
    verdicts = {str(r["idx"]): r["gpt_result"] for r in json.loads(path.read_text(encoding="utf-8"))}
    first = {j.id: j for j in humans}
    choice = {"1": "a", "2": "b", "Tie": "tie"}
    return [
        first[i].model_copy(update={"annotator": "gpt-3.5-turbo", "choice": choice[v]})
        for i, v in verdicts.items()
        if v in choice and i in first  # 'garbage' answers are left out
    ]


if __name__ == "__main__":
    main()
