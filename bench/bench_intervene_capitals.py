"""A known failure, found, targeted and validated end to end: "Answer with one word" on capital questions.

    python bench/bench_intervene_capitals.py [--tasks 146] [--api-base URL --model M] [--seed 0]

The embedded SmolLM2-135M (default: started here; or any model through --api-base) answers
146 capital-city questions that end "Answer with one word." (src/oversight/data/capitals,
each with its capital as the reference). The whole library path runs on a fresh store:

1. draft every task with prompts/draft.md;
2. a scripted trainer refines every draft that is longer than two words to the reference capital,
   tagging it ``ignores-one-word-instruction`` (and ``wrong-capital`` when the draft names
   another city), with a rationale: the refinements a human would leave;
3. ``mine`` finds the patterns; ``suggest_by_rules`` proposes, for the one-word pattern, an
   ``eval_check`` (a word limit taken from the refined answers) and a ``few_shot`` set (two
   refined answers as worked turns);
4. a lead accepts both, writes a ``prompt_patch`` (one instruction added to the system section),
   and adds the correctness check a lead would (``contains_reference``) to the wrong-capital
   pattern, so that a fix that breaks correctness is caught;
5. ``validate`` re-drafts the affected tasks with each new prompt (drafts cached: a re-run pays
   nothing) and reports recurrence before and after with a paired bootstrap interval, the
   correctness check before and after, and the outcome.

Prints a table, then one JSON object (the last line) with every figure and the seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

ONE_WORD_TAG = "ignores-one-word-instruction"
WRONG_TAG = "wrong-capital"
PATCH_LINE = "When the request says to answer with one word, reply with that one word only: no sentence, no period."


def open_llm(args: argparse.Namespace) -> tuple[Any, Any]:
    from oversight.llm import LLM

    if args.api_base:
        return LLM(args.model, api_base=args.api_base, api_key=args.api_key, concurrency=2), None
    from oversight.local import EMBEDDED_API_KEY, EMBEDDED_MODEL, LocalModelServer

    server = LocalModelServer().start()
    return LLM(EMBEDDED_MODEL, api_base=server.api_base, api_key=EMBEDDED_API_KEY, concurrency=2), server


async def refine_like_a_trainer(store: Any, tasks: list[Any], drafts: list[Any]) -> int:
    from oversight.intervene.checks import word_count
    from oversight.refine.answers import build_refinement
    from oversight.schemas import RefinementInput

    work = []
    for task, draft in zip(tasks, drafts, strict=True):
        if word_count(draft.text) <= 2:
            continue
        tags = [ONE_WORD_TAG]
        rationale = "Asked for one word; the draft answered with a sentence."
        if task.reference.casefold() not in draft.text.casefold():
            tags.append(WRONG_TAG)
            rationale += f" It also does not name the capital, {task.reference}."
        answer = RefinementInput(decision="rewrite", refined_text=task.reference, tags=tags, rationale=rationale)
        work.append((task, draft, build_refinement(answer, draft, None).model_copy(update={"reviewer": "trainer-1"})))
    store.add_finished_work(work)
    return len(work)


def pattern_with_tag(patterns: list[Any], notes: dict[str, Any], tag: str) -> Any:
    text = tag.replace("-", " ")
    scored = [(sum(notes[i].source == "tag" and notes[i].text == text for i in p.member_ids), p) for p in patterns]
    best = max(scored, key=lambda s: s[0], default=(0, None))
    return best[1] if best[0] else None


def row(name: str, validation: Any) -> dict[str, Any]:
    out = {"intervention": name, "outcome": validation.outcome, "tasks": validation.tasks,
           "before": round(validation.before, 3), "after": round(validation.after, 3),
           "change": [round(validation.change.estimate, 3), round(validation.change.low, 3),
                      round(validation.change.high, 3)],
           "regressions": {k: [round(v.estimate, 3), round(v.low, 3), round(v.high, 3)]
                           for k, v in validation.regressions.items()},
           "reason": validation.reason, "old_version": validation.old_version, "new_version": validation.new_version}
    return out


async def run(args: argparse.Namespace, llm: Any) -> dict[str, Any]:
    from oversight.embed import get_embedder
    from oversight.intervene.apply import make_diff
    from oversight.intervene.suggest import suggest_by_rules
    from oversight.intervene.validate import validate
    from oversight.mine.miner import mine
    from oversight.prompts import load_prompt
    from oversight.refine.drafting import draft_task
    from oversight.schemas import CheckCriterion, EvalCheck, Intervention, PromptPatch, Task
    from oversight.store import Store

    data = Path(__file__).resolve().parents[1] / "src" / "oversight" / "data" / "capitals" / "tasks.jsonl"
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()][: args.tasks]
    tasks = [Task(id=r["id"], prompt=r["prompt"], reference=r["reference"], domain=r["domain"], kind=r["kind"])
             for r in rows]
    prompt = load_prompt("draft")
    out: dict[str, Any] = {"bench": "intervene_capitals", "model": llm.model, "tasks": len(tasks), "seed": args.seed}
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.db") as store:
        store.add_tasks(tasks)
        started = time.perf_counter()
        drafts = list(await asyncio.gather(*(draft_task(t, llm, prompt, store=store) for t in tasks)))
        out["draft_s"] = round(time.perf_counter() - started, 1)
        refined = await refine_like_a_trainer(store, tasks, drafts)
        out["refined"] = refined
        out["wrong_capital_in_baseline"] = sum(t.reference.casefold() not in d.text.casefold()
                                               for t, d in zip(tasks, drafts, strict=True))
        result = await mine(store, names="keywords", embedder=get_embedder())
        notes = {n.id: n for n in store.notes()}
        one_word = pattern_with_tag(result.patterns, notes, ONE_WORD_TAG)
        wrong = pattern_with_tag(result.patterns, notes, WRONG_TAG)
        out["patterns"] = [{"id": p.id, "name": p.name, "size": p.size} for p in result.patterns]
        if one_word is None:
            out["error"] = "no pattern holds the one-word tag"
            return out
        refinements = {r.id: r for r in store.refinements()}
        examples = []
        for note_id in one_word.member_ids:
            note = notes[note_id]
            if note.refinement_id in refinements:
                r = refinements[note.refinement_id]
                examples.append((store.get_task(r.task_id), store.get_draft(r.draft_id), r))
        unique = list({r.id: (t, d, r) for t, d, r in examples}.values())
        suggestions = suggest_by_rules(one_word, [notes[i] for i in one_word.member_ids], unique)
        store.save_interventions(suggestions.interventions)
        out["suggested"] = [{"id": i.id, "kind": i.kind, "title": i.title} for i in suggestions.interventions]
        text = Path(prompt.path).read_text(encoding="utf-8")
        patched = text.replace("## user", PATCH_LINE + "\n\n## user", 1)
        patch = PromptPatch(prompt="draft", base_version=prompt.version, diff=make_diff(text, patched, "draft"))
        lead = [Intervention(id=Intervention.derive_id(one_word.id, patch), pattern_id=one_word.id, kind="prompt_patch",
                             title="Tell the model to answer with the one word only", payload=patch,
                             proposed_by="lead")]
        if wrong is not None and wrong.id != one_word.id:
            check = EvalCheck(criterion=CheckCriterion(kind="contains_reference",
                                                       description="the answer names the right capital"))
            lead.append(Intervention(id=Intervention.derive_id(wrong.id, check), pattern_id=wrong.id,
                                     kind="eval_check", title="The answer names the right capital", payload=check,
                                     proposed_by="lead"))
        store.save_interventions(lead)
        for item in [*suggestions.interventions, *lead]:
            store.decide_intervention(item.id, "accepted", "bench: the lead accepts every proposal")
        out["validations"] = []
        for item in [*suggestions.interventions, *lead]:
            if item.kind not in ("few_shot", "prompt_patch"):
                continue
            started = time.perf_counter()
            validation = await validate(store, item.id, drafter=llm, base_prompt=prompt, sample=len(tasks),
                                        controls=50, seed=args.seed, min_tasks=10)
            out["validations"].append({**row(item.kind, validation), "wall_s": round(time.perf_counter() - started, 1)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=146)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-base")
    parser.add_argument("--model", default="openai/smollm2-135m-instruct")
    parser.add_argument("--api-key", default="sk-local")
    args = parser.parse_args()
    llm, server = open_llm(args)
    try:
        out = asyncio.run(run(args, llm))
    finally:
        if server is not None:
            server.stop()
    print(f"{out['tasks']} tasks, {out.get('refined')} refined by the scripted trainer "
          f"({out.get('wrong_capital_in_baseline')} drafts without the right capital)")
    for p in out.get("patterns", []):
        print(f"  pattern {p['id']}: {p['name']} ({p['size']} notes)")
    print(f"{'intervention':<14}{'tasks':>6}{'before':>8}{'after':>8}  {'change [95% CI]':<24}outcome")
    for v in out.get("validations", []):
        low, high = v["change"][1], v["change"][2]
        print(f"{v['intervention']:<14}{v['tasks']:>6}{v['before']:>8.1%}{v['after']:>8.1%}  "
              f"{v['change'][0]:+.1%} [{low:+.1%}, {high:+.1%}]".ljust(24) + f"  {v['outcome']}")
        for name, (est, lo, hi) in v["regressions"].items():
            print(f"    regression check {name}: {est:+.1%} [{lo:+.1%}, {hi:+.1%}]")
        print(f"    {v['reason']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
