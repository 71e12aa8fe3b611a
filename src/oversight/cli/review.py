"""`oversight review`: the trainer's terminal refine loop."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import textwrap
import time
from typing import Any

import click

from oversight.cli._common import Styled, err, say, settings_from, visible

DECISION_KEYS = {"a": "accept", "e": "edit", "r": "rewrite", "x": "reject", "s": "skip", "q": "quit"}


def _clip(text: str | None, limit: int) -> str:
    """Untrusted text, clipped and made visible (no terminal escape gets through)."""
    text = (text or "").strip()
    text = text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more characters]"
    return visible(text)


def _show(index: int, total: int, item: Any) -> None:
    """The task, draft and critique; every piece of their text goes through ``visible``."""
    width = 88
    task, draft, critique = item.task, item.draft, item.critique
    label = f" · {visible(item.entry.label)}" if item.entry.label else ""
    say(Styled(f"\n── review {index}/{total} · task {visible(task.id)}"
               + (f" · {visible(task.domain)}" if task.domain else "") + label + " " + "─" * 20, bold=True))
    say(Styled("TASK", fg="cyan", bold=True))
    click.echo(textwrap.fill(_clip(task.prompt, 1200), width))
    if task.input:
        click.echo("input: " + _clip(task.input, 600))
    if task.context:
        say(Styled("context: " + _clip(task.context, 600), dim=True))
    origin = draft.imported_from
    made = (f"imported from {visible(origin.file)}:{origin.line}" if origin is not None
            else f"prompt {visible(draft.prompt_name)}@{visible(draft.prompt_version)}")
    say(Styled(f"DRAFT ({visible(draft.model)}, {made})", fg="cyan", bold=True))
    click.echo(visible(draft.text))
    if critique is None:
        return
    say(Styled(f"AI CRITIQUE ({visible(critique.model)})", fg="yellow", bold=True))
    if critique.summary:
        click.echo(textwrap.fill(visible(critique.summary), width))
    if not critique.findings:
        click.echo("  (no findings)")
    for number, finding in enumerate(critique.findings, start=1):
        quote = f' "{_clip(finding.quote, 160)}"' if finding.quote else " (omission)"
        source = critique.model if finding.source == "model" else finding.source
        click.echo(f"  [{number}] {visible(finding.severity)}/{visible(finding.category)} ({visible(source)}):{quote}\n"
                   f"      {visible(finding.issue)}")


def _confirm_diff(before: str, after: str) -> bool:
    """Show the word diff of an edit and ask whether to keep it."""
    from oversight.refine.answers import diff_stats, word_diff

    ops = word_diff(before, after)
    parts: list[str | Styled] = []
    for op in ops:
        if op.op == "equal":
            parts.append(op.before)
            continue
        if op.before:
            parts.append(Styled(f"[-{op.before}-]", fg="red"))
        if op.after:
            parts.append(Styled(f"{{+{op.after}+}}", fg="green"))
    stats = diff_stats(ops)
    say(Styled(f"YOUR CHANGE (+{stats['inserted']} / -{stats['deleted']} words)", fg="cyan", bold=True))
    say(*parts)
    return click.confirm("keep this change?", default=True)


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
    if refined is not None and decision in ("edit", "rewrite") and not _confirm_diff(draft.text, refined):
        return _ask_refinement(draft, critique, reviewer)  # back to the decision
    answer: dict[str, Any] = {"decision": decision, "refined_text": refined, "reviewer": reviewer}
    if decision != "skip":
        suggestions = sorted({visible(f.category) for f in (critique.findings if critique else [])})
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
                   "refined_text, tags, rationale, finding_verdicts, confidence, seconds_spent, reviewer). "
                   "All or nothing: a line whose task is not queued, is held on the review page by someone "
                   "else, or whose answer does not fit is named and nothing is recorded.")
@click.option("--reset", "reset_task", metavar="TASK",
              help="Put a task whose review is stuck back in the queue (nothing is paid twice).")
@click.pass_context
def review(ctx: click.Context, reviewer: str | None, limit: int | None, answers: str | None,
           reset_task: str | None) -> None:
    """Refine drafts in the terminal: see task, draft and AI critique; accept, edit, rewrite, reject or skip.

    Each answer resumes that draft's paused refine thread, from any process, any day.
    The queue follows the audit's routing rule when one is saved (expert-only items last, marked).
    """
    from oversight import review as service
    from oversight.errors import InvalidAnswerError, LeaseError
    from oversight.project import Project
    from oversight.refine.answers import RefinementInput

    settings = settings_from(ctx, reviewer=reviewer)
    who = settings.reviewer or getpass.getuser()
    if answers:
        service.read_answers(answers, reviewer=who)  # the file's own checks, before the database is opened
    with Project.open(settings, create=False) as project:
        if reset_task:
            entry = asyncio.run(service.reset(project, reset_task))
            click.echo(f"{visible(entry.task_id)}: back in the review queue")
            return
        if answers:  # all or nothing: every line checked against the queue (leases too) before any is recorded
            recorded = asyncio.run(service.apply_answers(project, answers, reviewer=who))
            click.echo(f"recorded {len(recorded)} refinement(s) from {visible(answers)}")
            return
        entries = service.queue(project.store)
        if not entries:
            click.echo("nothing awaiting review (run `oversight draft` first)")
            return
        total = min(len(entries), limit or len(entries))
        recorded = index = 0
        pending = entries[:total]
        while pending and index < total:
            # the page and the terminal share one queue: claim the item first, pass over one held on the page;
            # the claim may give an item that is due instead (the entry then waits its turn)
            lease = asyncio.run(service.claim(project, who, task_id=pending[0].task_id))
            if lease is None or lease.task_id == pending[0].task_id:
                entry = pending.pop(0)
            if lease is None:
                err(f"{visible(entry.task_id)}: being reviewed by someone else; next")
                continue
            index += 1
            item = asyncio.run(service.item(project, lease.task_id, who))
            _show(index, total, item)
            while True:
                raw = _ask_refinement(item.draft, item.critique, who)
                if raw is None:
                    with contextlib.suppress(LeaseError):  # their lease ran out and another took it: not theirs
                        asyncio.run(service.release(project, lease.task_id, who))
                    break
                try:
                    answer = RefinementInput.model_validate(raw)
                    saved = asyncio.run(service.submit(project, lease.task_id, answer, reviewer=who))
                except (InvalidAnswerError, ValueError) as exc:
                    err(f"not recorded: {exc}; answer again")
                    continue
                break
            if raw is None:
                break
            recorded += 1
            err(f"recorded {saved.decision} ({saved.id}) in {answer.seconds_spent:.0f}s")
        click.echo(f"recorded {recorded} refinement(s); {len(entries) - recorded} still awaiting review")
