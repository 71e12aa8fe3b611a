"""`oversight review`: the trainer's terminal refine loop."""

from __future__ import annotations

import asyncio
import getpass
import textwrap
import time
from typing import Any

import click

from oversight.cli._common import err, settings_from

DECISION_KEYS = {"a": "accept", "e": "edit", "r": "rewrite", "x": "reject", "s": "skip", "q": "quit"}


def _clip(text: str | None, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more characters]"


def _show(index: int, total: int, task: Any, draft: Any, critique: Any) -> None:
    width = 88
    click.secho(f"\n── review {index}/{total} · task {task.id}"
                + (f" · {task.domain}" if task.domain else "") + " " + "─" * 20, bold=True)
    click.secho("TASK", fg="cyan", bold=True)
    click.echo(textwrap.fill(_clip(task.prompt, 1200), width))
    if task.input:
        click.echo("input: " + _clip(task.input, 600))
    if task.context:
        click.secho("context: " + _clip(task.context, 600), dim=True)
    click.secho(f"DRAFT ({draft.model}, prompt {draft.prompt_name}@{draft.prompt_version})", fg="cyan", bold=True)
    click.echo(draft.text)
    if critique is None:
        return
    click.secho(f"AI CRITIQUE ({critique.model})", fg="yellow", bold=True)
    if critique.summary:
        click.echo(textwrap.fill(critique.summary, width))
    if not critique.findings:
        click.echo("  (no findings)")
    for number, finding in enumerate(critique.findings, start=1):
        quote = f' "{_clip(finding.quote, 160)}"' if finding.quote else " (omission)"
        click.echo(f"  [{number}] {finding.severity}/{finding.category}:{quote}\n      {finding.issue}")


def _ask_refinement(draft: Any, critique: Any, reviewer: str) -> dict[str, Any] | None:
    """Ask the trainer for a refinement; None means quit."""
    started = time.monotonic()
    key = click.prompt("decision: [a]ccept [e]dit [r]ewrite [x] reject [s]kip [q]uit",
                       type=click.Choice(list(DECISION_KEYS)), show_choices=False)
    decision = DECISION_KEYS[key]
    if decision == "quit":
        return None
    refined: str | None = None
    if decision == "edit":
        refined = click.edit(draft.text)
        refined = refined.rstrip() if refined is not None else None  # editors add a final newline
        if refined is None or refined.strip() == draft.text.strip():
            err("no change made in the editor: recording 'accept'")
            decision = "accept"
            refined = None
    elif decision == "rewrite":
        refined = click.edit("\n# Write the answer the model should have given. Lines starting with # are dropped.\n")
        refined = "\n".join(x for x in (refined or "").splitlines() if not x.startswith("#")).strip() or None
        if refined is None:
            refined = click.prompt("rewritten answer")
    answer: dict[str, Any] = {"decision": decision, "refined_text": refined, "reviewer": reviewer}
    if decision != "skip":
        suggestions = sorted({f.category for f in (critique.findings if critique else [])})
        hint = f" (critique said: {', '.join(suggestions)})" if suggestions else ""
        tags = click.prompt(f"failure tags, comma-separated{hint}", default="", show_default=False)
        answer["tags"] = [t for t in (s.strip() for s in tags.split(",")) if t]
        answer["rationale"] = click.prompt("why (rationale)", default="", show_default=False)
        verdicts = []
        for number, _finding in enumerate(critique.findings if critique else [], start=1):
            said = click.prompt(f"finding [{number}] was the AI [r]ight, [w]rong, or Enter to pass",
                                type=click.Choice(["r", "w", ""]), default="", show_choices=False, show_default=False)
            if said:
                verdicts.append({"finding": number - 1, "verdict": "right" if said == "r" else "wrong"})
        answer["finding_verdicts"] = verdicts
        confidence = click.prompt("confidence 1-5, Enter to pass", type=click.Choice(["1", "2", "3", "4", "5", ""]),
                                  default="", show_choices=False, show_default=False)
        answer["confidence"] = (int(confidence) - 1) / 4 if confidence else None
    answer["seconds_spent"] = round(time.monotonic() - started, 1)
    return answer


@click.command()
@click.option("--reviewer", envvar="OVERSIGHT_REVIEWER", help="Name recorded on refinements. Default: your login.")
@click.option("--limit", type=click.IntRange(1), help="Stop after this many reviews.")
@click.option("--answers", type=click.Path(dir_okay=False),
              help="Apply refinements from a JSONL file instead of asking (fields: task_id, decision, "
                   "refined_text, tags, rationale, finding_verdicts, confidence, seconds_spent, reviewer).")
@click.pass_context
def review(ctx: click.Context, reviewer: str | None, limit: int | None, answers: str | None) -> None:
    """Refine drafts in the terminal: see task, draft and AI critique; accept, edit, rewrite, reject or skip.

    Each answer resumes that draft's paused refine thread, from any process, any day.
    """
    from oversight.pipelines import pending_reviews, review_payload, submit_refinement
    from oversight.refine import RefinementInput
    from oversight.runtime import Runtime

    settings = settings_from(ctx, reviewer=reviewer)
    who = settings.reviewer or getpass.getuser()
    with Runtime.open(settings) as runtime:
        threads = pending_reviews(runtime)
        if answers:
            from oversight.review_io import load_answers

            planned = load_answers(answers)
            by_task = {t["task_id"]: t for t in threads}
            done = 0
            for task_id, answer in planned:
                thread = by_task.get(task_id)
                if thread is None:
                    err(f"{task_id}: no draft awaiting review; skipped")
                    continue
                asyncio.run(submit_refinement(runtime, thread["thread_id"], answer))
                done += 1
            click.echo(f"recorded {done} refinement(s) from {answers}")
            return
        if not threads:
            click.echo("nothing awaiting review (run `oversight draft` first)")
            return
        total = min(len(threads), limit or len(threads))
        recorded = 0
        for index, thread in enumerate(threads[:total], start=1):
            task, draft, critique = review_payload(runtime, thread)
            _show(index, total, task, draft, critique)
            raw = _ask_refinement(draft, critique, who)
            if raw is None:
                break
            answer = RefinementInput.model_validate(raw)
            saved = asyncio.run(submit_refinement(runtime, thread["thread_id"], answer))
            recorded += 1
            err(f"recorded {saved['decision']} ({saved['id']}) in {answer.seconds_spent:.0f}s")
        click.echo(f"recorded {recorded} refinement(s); {len(threads) - recorded} still awaiting review")
