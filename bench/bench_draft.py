"""Drafting throughput: N tasks through `oversight draft`'s workers (``draft_tasks``: claim, draft,
critique, awaiting review; the refine graph's work before its pause, which drafting runs without
the graph), against a local OpenAI-compatible HTTP server with a fixed latency, at concurrency C,
as a ratio to a plain litellm.acompletion loop making the same calls (draft, then critique, per
task) at the same concurrency, in the same run.

    python bench/bench_draft.py [--tasks 200] [--concurrency 8] [--latency 0.05] [--rounds 5]

ratio = baseline wall time / drafting wall time (1.0: the workers and store cost nothing; target >= 0.9 at
50 ms, >= 0.97 at 500 ms). Each round runs the baseline then the workers, so both sides see the
same load on the machine; the ratio quoted is the median of the rounds' ratios.
With 50 ms per call the run is nearly CPU-bound on 2 cores, so the ratio shows what the
workers, claims and store cost per task (a stress setting; real model calls take
seconds, where that cost vanishes: try --latency 0.5 --concurrency 16).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MODEL = "openai/stub-model"


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.support.stub_server", "--latency", str(latency)],
                               cwd=Path(__file__).resolve().parents[1],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    api_base = process.stdout.readline().strip()
    return process, api_base


def prompts(n: int) -> list[str]:
    return [f"Question {i}: in one sentence, why is the sky blue on planet {i}?" for i in range(n)]


async def baseline(api_base: str, n: int, concurrency: int) -> float:
    """A plain loop: per task, a draft call then a JSON critique call, C tasks at a time."""
    import litellm

    from oversight.schemas import CritiqueFindings

    schema = CritiqueFindings.model_json_schema()
    limit = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> None:
        async with limit:
            draft = await litellm.acompletion(model=MODEL, api_base=api_base, api_key="sk-bench", max_retries=0,
                                              messages=[{"role": "user", "content": prompt}], max_tokens=200)
            text = draft.choices[0].message.content
            critique = await litellm.acompletion(
                model=MODEL, api_base=api_base, api_key="sk-bench", max_retries=0,
                messages=[{"role": "user", "content": f"Critique: {text}"}],
                response_format={"type": "json_object", "schema": schema}, max_tokens=300)
            CritiqueFindings.model_validate_json(critique.choices[0].message.content)

    started = time.perf_counter()
    await asyncio.gather(*(one(p) for p in prompts(n)))
    return time.perf_counter() - started


def through_workers(api_base: str, n: int, concurrency: int, workdir: Path) -> float:
    from oversight.config import load_settings
    from oversight.pipelines import draft_tasks
    from oversight.project import Project
    from oversight.schemas import Task

    settings = load_settings(db=str(workdir / "bench.db"), model=MODEL, api_base=api_base, api_key="sk-bench",
                             concurrency=concurrency, max_tokens=200)
    with Project.open(settings, announce=lambda _m: None) as project:
        project.store.add_tasks([Task(id=f"t{i:05d}", prompt=p) for i, p in enumerate(prompts(n))])
        started = time.perf_counter()
        summary = asyncio.run(draft_tasks(project, concurrency=concurrency))
        elapsed = time.perf_counter() - started
        assert summary.count("drafted") == n, summary.as_dict()
        assert project.store.count("critiques") == n
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    server, api_base = start_server(args.latency)
    try:
        asyncio.run(baseline(api_base, 4, 2))  # warm-up: imports, connection set-up, for both sides
        with tempfile.TemporaryDirectory() as tmp:
            through_workers(api_base, 4, 2, Path(tmp))
        base_times, draft_times = [], []
        for round_ in range(args.rounds):
            base_times.append(asyncio.run(baseline(api_base, args.tasks, args.concurrency)))
            with tempfile.TemporaryDirectory() as tmp:
                draft_times.append(through_workers(api_base, args.tasks, args.concurrency, Path(tmp)))
            print(f"round {round_ + 1}: baseline {base_times[-1]:.2f}s, draft {draft_times[-1]:.2f}s, "
                  f"ratio {base_times[-1] / draft_times[-1]:.3f}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=10)

    ratios = sorted(b / g for b, g in zip(base_times, draft_times, strict=True))
    base, drafting = statistics.median(base_times), statistics.median(draft_times)
    ideal = 2 * args.tasks * args.latency / args.concurrency
    result = {
        "bench": "draft",
        "tasks": args.tasks,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "calls": 2 * args.tasks,
        "baseline_s": round(base, 3),
        "draft_s": round(drafting, 3),
        "ideal_s": round(ideal, 3),
        "draft_tasks_per_s": round(args.tasks / drafting, 2),
        "baseline_tasks_per_s": round(args.tasks / base, 2),
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        "target": ">= 0.9 at 50 ms, >= 0.97 at 500 ms",
    }
    print(f"oversight draft: {result['draft_tasks_per_s']} tasks/s; plain litellm loop: "
          f"{result['baseline_tasks_per_s']} tasks/s; ratio {result['ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
