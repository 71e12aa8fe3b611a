"""Does the assistance ablation's interval mean what it says? Coverage and false positives over seeded runs.

    python bench/bench_ablation.py [--runs 400] [--items 200] [--seed 0]

Each run is one simulated assistance experiment, analysed exactly as `oversight experiment
run` analyses one (``experiments.summary`` on the rows):

- items: real answers (the 40 FineGrainedRLHF answers bundled as the demo's refinements),
  each with an error planted by ``experiments.plant`` (a wrong number, an unsupported sentence
  or an ignored length instruction), dealt out to the two arms, balanced, at random;
- the assisted arm's critique points at the planted error (a finding quoting it), so the
  planted effect is exactly the policy's: the scripted reviewer catches an error 40% of the
  time alone and 70% when the critique points at it (``--p``/``--p-assisted``);
- whether it was caught is decided from the reviewer's answer by ``plant.caught``.

Reported: how often the 95% Newcombe interval of (assisted - unassisted) covers the planted
+30 points (it should, about 95% of runs), and with no effect (both 40%) how often a difference
is declared (about 5%, at most). Baseline, run on the same rows: the Wald interval
(p1 - p0 +- 1.96 SE), the one a hand-rolled analysis usually uses; ratios are miscoverage
relative to it. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

DEMO = Path(__file__).resolve().parents[1] / "src" / "oversight" / "data" / "demo" / "refinements.jsonl"


def wald(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    p1, p0 = x1 / n1, x0 / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return p1 - p0 - 1.96 * se, p1 - p0 + 1.96 * se


def one_run(texts: list[str], args: argparse.Namespace, seed: int, p_assisted: float) -> dict[str, object]:
    import pandas as pd

    from oversight.experiments import summary
    from oversight.experiments.plant import caught, plant, planted_prompt
    from oversight.experiments.reviewers import Scripted, item_rng
    from oversight.refine.answers import build_refinement
    from oversight.review.service import QueueEntry, ReviewItem
    from oversight.schemas import Critique, Draft, Experiment, Finding, ScriptedReviewer, Task

    experiment = Experiment(name="ablation", seed=seed, design="randomised",
                            plant=["wrong_number", "unsupported_sentence", "ignored_instruction"],
                            reviewer=ScriptedReviewer(policy="catches", p=args.p, p_assisted=p_assisted),
                            conditions=[{"name": "unassisted", "critique": "hidden"},
                                        {"name": "assisted", "critique": "shown"}],
                            measures=["caught"])
    reviewer = Scripted(experiment.reviewer)  # type: ignore[arg-type]
    rng = random.Random(seed)
    order = list(range(args.items))
    rng.shuffle(order)
    rows = []
    for rank, i in enumerate(order):
        arm = experiment.conditions[rank % 2]
        task_id = f"x.{seed}.{i}"
        text, error = plant(texts[i % len(texts)], experiment.plant, item_rng(seed, task_id, "plant"))
        assert error is not None
        draft = Draft(id="d", task_id=task_id, model="m", prompt_name="draft", prompt_version="v", text=text)
        critique = None
        if arm.critique == "shown":
            quote = text if error.kind == "ignored_instruction" else error.planted.strip()
            critique = Critique(id="c", draft_id="d", task_id=task_id, model="m", prompt_name="critique",
                                prompt_version="v", findings=[Finding(
                                    quote=quote[:200], issue="This breaks the instruction's length."
                                    if error.kind == "ignored_instruction" else "Not supported by the context.",
                                    severity="high", category="instruction-violation"
                                    if error.kind == "ignored_instruction" else "factual-error")])
        task = Task(id=task_id, prompt=planted_prompt("Answer the question.", error))
        shown = ReviewItem(QueueEntry(task_id, "th"), task, draft, critique)
        answer = reviewer.decide(shown, error, item_rng(seed, task_id, reviewer.name))
        refinement = build_refinement(answer, draft, critique)
        rows.append({"task_id": task_id, "condition": arm.name, "caught": caught(error, text, refinement)})
    frame = pd.DataFrame(rows)
    effect = summary(frame, experiment).set_index("condition").loc["assisted"]
    counts = frame.groupby("condition")["caught"].agg(["sum", "count"])
    low, high = wald(int(counts.loc["assisted", "sum"]), int(counts.loc["assisted", "count"]),
                     int(counts.loc["unassisted", "sum"]), int(counts.loc["unassisted", "count"]))
    return {"effect": float(effect.effect), "low": float(effect.effect_low), "high": float(effect.effect_high),
            "wald": (low, high)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--items", type=int, default=200, help="items per run (both arms)")
    parser.add_argument("--p", type=float, default=0.4, help="catch rate alone")
    parser.add_argument("--p-assisted", type=float, default=0.7, help="catch rate when the critique points")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    texts = [json.loads(line)["refined_text"] for line in DEMO.read_text(encoding="utf-8").splitlines()]
    truth = args.p_assisted - args.p
    started = time.perf_counter()
    planted = [one_run(texts, args, args.seed + r, args.p_assisted) for r in range(args.runs)]
    null = [one_run(texts, args, args.seed + 100_000 + r, args.p) for r in range(args.runs)]
    seconds = time.perf_counter() - started

    covered = sum(r["low"] <= truth <= r["high"] for r in planted) / args.runs
    wald_covered = sum(r["wald"][0] <= truth <= r["wald"][1] for r in planted) / args.runs
    power = sum(r["low"] > 0 for r in planted) / args.runs
    false_positive = sum(r["low"] > 0 or r["high"] < 0 for r in null) / args.runs
    wald_false_positive = sum(r["wald"][0] > 0 or r["wald"][1] < 0 for r in null) / args.runs
    mean_effect = sum(r["effect"] for r in planted) / args.runs
    width = sum(r["high"] - r["low"] for r in planted) / args.runs
    se_cover = math.sqrt(0.95 * 0.05 / args.runs)
    print(f"{args.runs} runs x {args.items} items, planted effect {truth * 100:+.0f} points "
          f"({args.p:.0%} alone, {args.p_assisted:.0%} assisted), {seconds:.1f} s")
    print(f"  mean estimate {mean_effect * 100:+.1f} points, mean interval width {width * 100:.1f} points")
    print(f"  Newcombe 95% interval covers the planted effect in {covered:.1%} of runs "
          f"(stated 95%, +-{1.96 * se_cover:.1%} by chance); Wald {wald_covered:.1%}")
    print(f"  power (a difference declared, planted effect): {power:.1%}")
    print(f"  no effect: a difference declared in {false_positive:.1%} of runs (stated 5%); Wald {wald_false_positive:.1%}")
    print(json.dumps({
        "bench": "ablation", "runs": args.runs, "items": args.items, "p": args.p, "p_assisted": args.p_assisted,
        "planted_effect": round(truth, 4), "mean_estimate": round(mean_effect, 4), "mean_width": round(width, 4),
        "coverage": covered, "wald_coverage": wald_covered,
        "miscoverage_ratio_vs_wald": round((1 - covered) / max(1e-9, 1 - wald_covered), 3),
        "power": power, "false_positive_rate": false_positive, "wald_false_positive_rate": wald_false_positive,
        "seed": args.seed, "seconds": round(seconds, 1),
    }))


if __name__ == "__main__":
    main()
