"""Review triage: what share of the failures a human sees at a 10/25/50% review budget, against random review.

    python bench/bench_triage.py [--data /work/shared/data] [--skip-fgrlhf] [--fgrlhf-sample 30]
                                 [--seed 0] [--db PATH]

a. LLMBar Natural + Adversarial/Neighbor + Adversarial/GPTInst: GPT-4's verdicts in both orders
   (326 pairs) against the objective label. A pair is an error when GPT-4 is wrong in either
   order. Rankings: self-disagreement alone, picked-longer alone, the default judge weights
   (``JUDGE_WEIGHTS``, fixed before this run and not fitted on these labels), and random review.
   Target (issue 12): >= 80% of the judge's errors within <= 50% reviewed. Per subset too:
   Natural is the control, where the longer answer is not usually the wrong one.
b. FineGrainedRLHF qa-feedback dev: the first model answer to each question, with human error
   spans and missing-info labels. The embedded critic (SmolLM2-135M, through oversight's own
   critique stage, with the passages as context and the gold answer as reference) critiques a
   seeded sample; its findings rank the answers. Two truths: ``any`` (any error span or missing
   info: 494 of 500 answers, so every ranking is near random by construction) and ``factual``
   (a Wrong-Grounding or Unverifiable span). Critiques are stored by id: a re-run with the same
   ``--db`` pays for none twice.

Human lines first; the last line is one JSON object with every figure and the seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from oversight.audit.datasets import load_llmbar
from oversight.experiments.triage import (
    BUDGETS,
    CRITIC_WEIGHTS,
    JUDGE_WEIGHTS,
    TriageItem,
    budget_for,
    critique_signals,
    judge_items,
    rank,
    recall_at,
    recall_curve,
    route_signal,
)

SUBSETS = ("Natural", "Adversarial/Neighbor", "Adversarial/GPTInst")
JUDGE_RANKINGS: dict[str, dict[str, float]] = {
    "self_disagreement": {"self_disagreement": 1.0},
    "picked_longer": {"picked_longer": 1.0},
    "combined": JUDGE_WEIGHTS,
}
CRITIC_RANKINGS: dict[str, dict[str, float]] = {"critic_severity": {"critic_severity": 1.0}, "combined": CRITIC_WEIGHTS}
TARGET = 0.8
FACTUAL = frozenset({"Wrong-Grounding", "Unverifiable"})
FGRLHF_FILE = "finegrainedrlhf_qa_feedback/tasks/qa_feedback/data/dev_feedback.json"
SOURCE_MODEL = "FineGrainedRLHF/t5-large-sft"  # the initial policy that wrote `prediction 1`


def summarise(ranked: list[TriageItem], seed: int) -> dict[str, Any]:
    table = recall_at(ranked, BUDGETS, seed=seed)
    return {
        "n": len(ranked),
        "errors": int(table["errors"].iloc[0]),
        "at": {f"{b:.0%}": row for b, row in zip(BUDGETS, _rows(table), strict=True)},
        "budget_for_80": budget_for(ranked, TARGET),
    }


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    keep = ["reviewed", "caught", "recall", "recall_low", "recall_high", "random_recall", "random_low", "random_high",
            "lift"]
    return [{k: (round(float(r[k]), 4) if isinstance(r[k], float) else int(r[k])) for k in keep}
            for r in table.to_dict("records")]


def show(label: str, name: str, result: dict[str, Any], *, random_line: bool = False) -> None:
    cells = "  ".join(f"{b} {r['caught']:>3}/{result['errors']} = {r['recall']:5.0%} [{r['recall_low']:.0%}, "
                      f"{r['recall_high']:.0%}] x{r['lift']:.1f}" for b, r in result["at"].items())
    print(f"  {label:<22} {name:<18} {cells}   80% at {result['budget_for_80']:.0%} reviewed")
    if random_line:
        cells = "  ".join(f"{b} {r['random_recall']:5.0%} [{r['random_low']:.0%}, {r['random_high']:.0%}]"
                          for b, r in result["at"].items())
        print(f"  {label:<22} {'random':<18} {cells}")


def llmbar(data: Path, seed: int) -> dict[str, Any]:
    print("a. LLMBar, GPT-4 judge in both orders; error = wrong in either order. Recall [95% CI] x lift:")
    groups: dict[str, list[TriageItem]] = {}
    for subset in SUBSETS:
        groups[subset] = judge_items(load_llmbar(data / "llmbar/Dataset/LLMBar" / subset, subset=subset))
    groups["pooled"] = [i for subset in SUBSETS for i in groups[subset]]
    out: dict[str, Any] = {"weights": JUDGE_WEIGHTS, "target": TARGET, "sets": {}, "curve": {}}
    for label, items in groups.items():
        out["sets"][label] = {}
        for name, weights in JUDGE_RANKINGS.items():
            ranked = rank(items, weights)
            out["sets"][label][name] = summarise(ranked, seed)
            show(label, name, out["sets"][label][name], random_line=name == "combined")
            if label == "pooled":
                curve = recall_curve(ranked, 0.05)
                out["curve"][name] = [round(v, 4) for v in curve["recall"]]
                out["curve"]["budget"] = [round(v, 4) for v in curve["budget"]]
                out["curve"]["random"] = [round(v, 4) for v in curve["random_recall"]]
        n_inconsistent = sum(i.signals["self_disagreement"] for i in items)
        out["sets"][label]["inconsistent_pairs"] = int(n_inconsistent)
    print("  curve (pooled, recall by budget):")
    for name in (*JUDGE_RANKINGS, "random"):
        print(f"    {name:<18} " + " ".join(f"{v:.2f}" for v in out["curve"][name]))
    met = out["sets"]["pooled"]["combined"]["budget_for_80"]
    print(f"  combined reaches {TARGET:.0%} recall at {met:.0%} reviewed (target <= 50%: {'met' if met <= 0.5 else 'MISSED'})")
    return out


def _context(passages: list[list[str]]) -> str:
    return "\n\n".join(f"{p[0]}: {' '.join(s.strip() for s in p[1:])}" for p in passages if p)


async def critique_sample(project: Any, rows: list[dict[str, Any]], indices: list[int]) -> tuple[dict, int, float]:
    """Critique prediction 1 of each sampled row through oversight's critique stage; (critiques by index, failures, s)."""
    from oversight.errors import OversightError
    from oversight.refine.critique import write_critique
    from oversight.schemas import Draft, Task

    tasks, drafts = {}, {}
    for i in indices:
        row = rows[i]
        task = Task(id=f"fgrlhf-dev-{i}", prompt=row["question"], context=_context(row["passages"]),
                    reference=row["gold"], domain="qa", kind="long-form-qa")
        draft_id = Draft.derive_id(task.id, SOURCE_MODEL, "dev_feedback", {})
        tasks[i] = task
        drafts[i] = Draft(id=draft_id, task_id=task.id, model=SOURCE_MODEL, prompt_name="fgrlhf",
                          prompt_version="dev_feedback", text=row["prediction 1"])
    project.store.add_tasks(tasks.values(), source="bench_triage")
    for draft in drafts.values():
        project.store.save_draft(draft)
    critiques: dict[int, Any] = {}
    failed = 0
    done = 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal failed, done
        try:
            critiques[i] = await write_critique(tasks[i], drafts[i], project.critic, project.critique_prompt,
                                                store=project.store, parameters=project.critique_params)
        except OversightError as exc:
            failed += 1
            print(f"critique of row {i} failed: {exc}", file=sys.stderr)
        done += 1
        if done % 5 == 0 or done == len(indices):
            print(f"  critiqued {done}/{len(indices)} in {time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)

    await asyncio.gather(*(one(i) for i in indices))
    return critiques, failed, time.perf_counter() - start


def fgrlhf(data: Path, sample: int, seed: int, db: str) -> dict[str, Any]:
    from oversight.config import load_settings
    from oversight.project import Project

    rows = json.loads((data / FGRLHF_FILE).read_text(encoding="utf-8"))
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)  # a smaller sample is a prefix of a larger one: cached critiques carry over
    indices = order[:sample]
    project = Project.open(load_settings(db=db))
    try:
        critiques, failed, seconds = asyncio.run(critique_sample(project, rows, indices))
        critic = project.critic.model
    finally:
        project.close()
    print(f"b. FineGrainedRLHF dev, {len(indices)} sampled answers critiqued by {critic} "
          f"({failed} failed, counted as nothing found) in {seconds:.0f}s:")
    truths = {
        "any": lambda r: bool(r["feedback"]["errors"] or r["feedback"]["missing-info"]),
        "factual": lambda r: any(e["error type"] in FACTUAL for e in r["feedback"]["errors"]),
    }
    out: dict[str, Any] = {"critic": critic, "sample": len(indices), "failed": failed, "seconds": round(seconds, 1),
                           "seconds_per_critique": round(seconds / max(1, len(indices)), 2), "weights": CRITIC_WEIGHTS,
                           "flagged": sum(1 for c in critiques.values() if c.findings), "truths": {}}
    for truth, is_error in truths.items():
        items = [TriageItem(id=f"fgrlhf-dev-{i}",
                            signals={**critique_signals(critiques.get(i)), "route": route_signal(None, "long-form-qa")},
                            error=is_error(rows[i])) for i in indices]
        out["truths"][truth] = {name: summarise(rank(items, w), seed) for name, w in CRITIC_RANKINGS.items()}
        for name in CRITIC_RANKINGS:
            show(f"truth={truth}", name, out["truths"][truth][name], random_line=name == "combined")
    print(f"  answers with any shown finding: {out['flagged']} of {len(indices)}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/work/shared/data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-fgrlhf", action="store_true", help="LLMBar only (no model calls)")
    parser.add_argument("--fgrlhf-sample", type=int, default=30,
                        help="answers to critique (seeded sample; about 20 s each with the embedded model on 2 cores)")
    parser.add_argument("--db", default=None, help="store for the critiques (default: a temporary file)")
    args = parser.parse_args()
    data = Path(args.data)
    start = time.perf_counter()
    out: dict[str, Any] = {"bench": "triage", "seed": args.seed, "budgets": list(BUDGETS)}
    out["llmbar"] = llmbar(data, args.seed)
    if not args.skip_fgrlhf:
        with tempfile.TemporaryDirectory() as tmp:
            out["fgrlhf"] = fgrlhf(data, args.fgrlhf_sample, args.seed, args.db or str(Path(tmp) / "triage.db"))
    out["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
