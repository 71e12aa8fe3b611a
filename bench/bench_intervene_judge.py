"""Judge calibration on real labels: does the LLM judge find the "Irrelevant" spans annotators marked?

    python bench/bench_intervene_judge.py [--pairs 60] [--seed 20261126] [--api-base URL --model M]

FineGrainedRLHF qa-feedback dev (../shared/data/finegrainedrlhf_qa_feedback): each model answer
(``prediction 1``) has the error spans annotators marked. Positives: answers with at least one
"Irrelevant" span; negatives: answers with no error span at all. A seeded balanced sample of each
goes to the judge an intervention's validation uses (prompts/judge_failure.md, through
``oversight.intervene.validate.ask_judge``) with the failure stated as the annotators' guideline
does, and ``stats.calibrate`` reports true-positive and true-negative rates (Wilson intervals),
Cohen's kappa with a bootstrap interval, and whether the judge would be trusted (kappa's low end
>= 0.4, at least 5 of each). The embedded SmolLM2-135M by default: reported whatever it scores.
A majority-class baseline (always "present") is printed beside it. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

DATA = Path(os.environ.get("OVERSIGHT_BENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
DEV = DATA / "finegrainedrlhf_qa_feedback" / "tasks" / "qa_feedback" / "data" / "dev_feedback.json"
NAME = "Irrelevant information"
DESCRIPTION = ("The answer contains sentences or phrases that are not relevant to the question: they may be true, "
               "but they do not help answer what was asked.")
CRITERIA = ["includes a sentence that does not help answer the question",
            "adds background the question did not ask for"]


def sample(pairs: int, seed: int) -> list[tuple[bool, str, str]]:
    rows = json.loads(DEV.read_text(encoding="utf-8"))
    positives, negatives = [], []
    for item in rows:
        answer = item["prediction 1"].strip()
        if not answer:
            continue
        kinds = {e["error type"] for e in item["feedback"]["errors"]}
        if "Irrelevant" in kinds:
            positives.append((True, item["question"], answer))
        elif not kinds:
            negatives.append((False, item["question"], answer))
    rng = random.Random(seed)
    half = pairs // 2
    return rng.sample(positives, min(half, len(positives))) + rng.sample(negatives, min(half, len(negatives)))


def open_llm(args: argparse.Namespace) -> tuple[Any, Any]:
    from oversight.llm import LLM

    if args.api_base:
        return LLM(args.model, api_base=args.api_base, api_key=args.api_key, concurrency=2), None
    from oversight.local import EMBEDDED_API_KEY, EMBEDDED_MODEL, LocalModelServer

    server = LocalModelServer().start()
    return LLM(EMBEDDED_MODEL, api_base=server.api_base, api_key=EMBEDDED_API_KEY, concurrency=2), server


async def judge_all(llm: Any, items: list[tuple[bool, str, str]]) -> list[bool | None]:
    from oversight.intervene.validate import JUDGE_PROMPT, ask_judge
    from oversight.prompts import load_prompt

    prompt = load_prompt(JUDGE_PROMPT)
    return list(await asyncio.gather(*(ask_judge(llm, prompt, name=NAME, description=DESCRIPTION, criteria=CRITERIA,
                                                 request=question, response=answer)
                                       for _, question, answer in items)))


def main() -> None:
    from oversight.intervene.stats import calibrate

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=60, help="answers judged, half with an Irrelevant span")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--api-base")
    parser.add_argument("--model", default="openai/smollm2-135m-instruct")
    parser.add_argument("--api-key", default="sk-local")
    args = parser.parse_args()
    items = sample(args.pairs, args.seed)
    llm, server = open_llm(args)
    started = time.perf_counter()
    try:
        verdicts = asyncio.run(judge_all(llm, items))
    finally:
        if server is not None:
            server.stop()
    wall = time.perf_counter() - started
    kept = [(human, bool(v)) for (human, _, _), v in zip(items, verdicts, strict=True) if v is not None]
    human = [h for h, _ in kept]
    said = [v for _, v in kept]
    judge = calibrate(f"judge:{llm.model}", human, said, seed=args.seed)
    always = calibrate("always present", human, [True] * len(human), seed=args.seed)
    print(f"{len(items)} FineGrainedRLHF dev answers ({sum(h for h, _, _ in items)} with an Irrelevant span), "
          f"{len(kept)} verdicts parsed, {wall:.0f}s")
    print(f"{'judge':<40}{'TPR':>18}{'TNR':>18}{'kappa':>22}  trusted")
    for c in (judge, always):
        tpr, tnr, k = c.true_positive_rate, c.true_negative_rate, c.kappa
        print(f"{c.judge:<40}{tpr.estimate:>6.0%} [{tpr.low:.0%},{tpr.high:.0%}]{tnr.estimate:>6.0%} "
              f"[{tnr.low:.0%},{tnr.high:.0%}]{k.estimate:>8.2f} [{k.low:+.2f},{k.high:+.2f}]  {c.calibrated}")
    print(json.dumps({"bench": "intervene_judge", "model": llm.model, "seed": args.seed, "answers": len(items),
                      "parsed": len(kept), "said_present": sum(said), "wall_s": round(wall, 1),
                      "judge": judge.model_dump(mode="json"), "always_present": always.model_dump(mode="json")}))


if __name__ == "__main__":
    main()
