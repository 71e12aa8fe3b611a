"""Stage 2: an AI reviewer critiques a draft, so the trainer finds more than alone.

The critique holds the critic model's findings and the findings of the checks that need no
model (``oversight.refine.checks``), each with its source; both pass the same grounding rule.
"""

from __future__ import annotations

import asyncio
import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, NamedTuple

from oversight.llm import LLM
from oversight.prompts import Prompt
from oversight.refine.checks import CHECKS, check_findings, eval_check_findings, eval_checks_in_force
from oversight.refine.drafting import draft_parameters, made_by
from oversight.schemas import (
    Critique,
    CritiqueFindings,
    Draft,
    DroppedFinding,
    DropReason,
    Finding,
    Intervention,
    Task,
)
from oversight.store import Store

__all__ = ["GROUNDING", "Grounded", "check_waiting", "finding_problem", "ground_findings", "normalise",
           "write_critique"]

# The rule that decides which findings the trainer sees; kept on each Critique it checked.
GROUNDING = "quote-in-draft/1"

# Up to this many characters of draft and task context the checks take less time (0.05-0.5 ms) than a
# hop to a worker thread and back costs while the event loop is busy, so they run on the loop; a longer
# context's take milliseconds, in a worker thread.
_CHECK_HERE = 1500

# Curly quotes, primes, guillemets and dashes are typed differently by models and people.
_UNIFY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00ad": None,  # soft hyphen: invisible
})
# Marks a model puts around or after a quote that the draft need not have there.
_EDGES = " \"'.,;:!?()[]{}*-"
_WORD = re.compile(r"[^\W_]+")
# Words that point at nothing on their own: a quote made only of these (or of single letters)
# matches almost any English draft, so it grounds nothing ("the", "of the", "it is").
_FUNCTION_WORDS_TEXT = """
a an the this that these those it its i you he she we they me him her us them my your his our their
is are was were be been being am do does did has have had will would shall should can could may might must
and or but nor so yet if then than as of in on at by for to from with without into onto about over under
up down out off not no there here which who whom whose what when where why how also just only very
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())


class Grounded(NamedTuple):
    """The findings a trainer is shown, and the ones held back with their reasons."""

    findings: list[Finding]
    dropped: list[DroppedFinding]


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` casefolded, quotes and dashes unified, whitespace runs as one space; and each
    character's position in ``text`` (so a match can be read back in the draft's own words)."""
    out: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        for c in unicodedata.normalize("NFKC", char).translate(_UNIFY).casefold():
            if c.isspace():
                if not out or out[-1] == " ":
                    continue
                c = " "
            out.append(c)
            origin.append(i)
    if out and out[-1] == " ":
        out.pop()
        origin.pop()
    return "".join(out), origin


@functools.lru_cache(maxsize=512)
def normalise(text: str) -> str:
    """``text`` as the grounding check compares it: NFKC, casefolded, one kind of quote and dash,
    whitespace collapsed."""
    if text.isascii():  # the common case, without a Python loop over every character
        return " ".join(text.translate(_UNIFY).casefold().split())
    return _folded(unicodedata.normalize("NFC", text))[0]


def _means_something(text: str) -> bool:
    return any(w not in _FUNCTION_WORDS and (len(w) >= 2 or w.isdigit()) for w in _WORD.findall(text))


def finding_problem(finding: Finding, draft: str, *, prompt_text: str = "", task_text: str = "") -> DropReason | None:
    """Why ``finding`` must not be shown beside ``draft``, or None when it is grounded.

    A quote must occur in the draft (after ``normalise``, ignoring quote marks and punctuation
    at its ends) and contain a word that means something: one that is not a function word
    ("the", "of", "is") and has two letters or a digit, so "1861" or "McDowell" ground a
    finding and a lone "the" does not. An empty quote is allowed only on an omission
    (category "incomplete"). The issue must mean something by the same test ("no-issue":
    the embedded critic has answered "the"). An issue of three words or more that is the
    critic prompt's own text (``prompt_text``, e.g. its worked example) and is not in the
    task (``task_text``) or the draft is an echo of the prompt, wherever its quote points.
    """
    issue = normalise(finding.issue).strip(_EDGES)
    if not _means_something(issue):
        return "no-issue"
    if prompt_text and len(issue.split()) >= 3 and issue in normalise(prompt_text) \
            and issue not in normalise(task_text) and issue not in normalise(draft):
        return "prompt-echo"
    quote = normalise(finding.quote).strip(_EDGES)
    if not quote:
        return None if finding.category == "incomplete" else "no-quote"
    if not _means_something(quote):
        return "too-short"
    if quote not in normalise(draft):
        return "not-in-draft"
    return None


def _in_draft_words(quote: str, draft: str) -> str:
    """The span of ``draft`` that a grounded ``quote`` matches, as the draft writes it."""
    text = unicodedata.normalize("NFC", draft)
    folded, origin = _folded(text)
    needle = normalise(quote).strip(_EDGES)
    start = folded.find(needle)
    return text[origin[start]:origin[start + len(needle) - 1] + 1]


def ground_findings(
    findings: list[Finding], draft_text: str, *, prompt_text: str = "", task_text: str = ""
) -> Grounded:
    """Split a critic's findings into those shown to the trainer and those held back (with reasons).

    Small models quote words that are not in the draft, quote a lone "the", or hand back
    their prompt's worked example as a finding; a trainer shown those stops trusting the
    critique. The rule is ``finding_problem``. A shown finding's quote is rewritten to the
    draft's own words (case, spacing, quote marks), so it can be found in the draft as it
    is. Repeats of a finding (same quote and issue once normalised) are dropped silently.
    """
    seen: set[tuple[str, str]] = set()
    shown: list[Finding] = []
    dropped: list[DroppedFinding] = []
    for finding in findings:
        key = (normalise(finding.quote).strip(_EDGES), normalise(finding.issue).strip(_EDGES))
        if key in seen:
            continue
        seen.add(key)
        problem = finding_problem(finding, draft_text, prompt_text=prompt_text, task_text=task_text)
        if problem is not None:
            dropped.append(DroppedFinding(finding=finding, reason=problem))
        elif key[0]:
            shown.append(finding.model_copy(update={"quote": _in_draft_words(finding.quote, draft_text)}))
        else:
            shown.append(finding.model_copy(update={"quote": ""}))
    return Grounded(shown, dropped)


def _task_text(task: Task) -> str:
    return "\n".join(t for t in (task.prompt, task.input, task.context, task.reference) if t)


def _in_force(store: Store) -> list[Intervention]:
    return eval_checks_in_force(store.interventions(status="accepted"))


def _stored_and_in_force(store: Store, critique_id: str) -> tuple[Critique | None, list[Intervention]]:
    """The stored critique of this id (None if none) and, when there is none, the eval checks in force (one read)."""
    existing, accepted = store.critique_or_interventions(critique_id, status="accepted")
    return existing, eval_checks_in_force(accepted)


def _add_checks(store: Store, critique: Critique, task: Task, draft: Draft) -> Critique:
    """A stored critique made before this version of the checks, with their findings added (blocking)."""
    found = ground_findings(check_findings(task, draft.text, _in_force(store)), draft.text,
                            task_text=_task_text(task))
    return store.add_check_findings({critique.id: found}, checks=CHECKS)[critique.id]


async def write_critique(
    task: Task,
    draft: Draft,
    llm: LLM,
    prompt: Prompt,
    *,
    store: Store | None = None,
    parameters: dict[str, Any] | None = None,
    thread_id: str | None = None,
) -> Critique | None:
    """Critique ``draft``; reuse the stored critique if this exact one exists.

    The model's findings and the checks' (``oversight.refine.checks``; with ``store``, the
    accepted eval checks too) are grounded by one rule: only findings grounded in the draft are
    shown (``ground_findings``); the others are kept in ``Critique.dropped``. With ``store``, the
    critique and its task's move to "awaiting review" (on ``thread_id``) are written in one
    transaction.

    The id is that of the model call (draft, model, prompt version, parameters), not of the
    checks: a stored critique made under an older version of the checks (``Critique.checks``) is
    reused, never paid for again, and gets the current checks' findings appended (after the
    ones a trainer may already have judged, so their verdicts still point at the same findings).

    A draft imported to be reviewed without a critique (``tasks import --no-critique``) gets
    none: None, no model asked, and its task (again) awaits review on ``thread_id``.

    Raises LLMError (StructuredOutputError when the answer does not fit the schema).
    """
    if draft.imported_from is not None and not draft.imported_from.critique:
        if store is not None:
            await asyncio.to_thread(store.mark_awaiting_review, draft, thread_id=thread_id)
        return None
    params = draft_parameters(prompt, parameters)
    critique_id = Critique.derive_id(draft.id, llm.model, prompt.version, params)
    existing, in_force = None, []
    if store is not None:
        # both reads in one hop to a worker thread, and before the model is paid: between the answer and its
        # (retried) write nothing may touch the database, or a connection dropped there would fail the
        # thread and the answer be paid for again
        existing, in_force = await asyncio.to_thread(_stored_and_in_force, store, critique_id)
    if existing is not None:
        if existing.checks != CHECKS:
            existing = await asyncio.to_thread(_add_checks, store, existing, task, draft)
        await asyncio.to_thread(store.mark_awaiting_review, existing, thread_id=thread_id)  # type: ignore[union-attr]
        return existing
    messages = prompt.render(
        prompt=task.prompt, input=task.input, context=task.context, reference=task.reference, draft=draft.text
    )
    value, completion = await llm.structured(messages, CritiqueFindings, **params)
    if len(draft.text) + sum(len(text) for text in (task.input, task.context, task.reference) if text) <= _CHECK_HERE:
        checked = check_findings(task, draft.text, in_force)
    else:
        checked = await asyncio.to_thread(check_findings, task, draft.text, in_force)  # a long context: off the loop
    proposed = [*(f.model_copy(update={"source": "model"}) for f in value.findings), *checked]  # a model names no check
    grounded = ground_findings(proposed, draft.text, prompt_text=f"{prompt.system}\n{prompt.user}",
                               task_text=_task_text(task))
    critique = Critique(
        id=critique_id, draft_id=draft.id, task_id=task.id,
        findings=grounded.findings, dropped=grounded.dropped, grounding=GROUNDING, checks=CHECKS,
        summary=value.summary.strip(), **made_by(llm, prompt, params, completion.usage),
    )
    if store is None:
        return critique
    return await asyncio.to_thread(store.save_critique, critique, thread_id=thread_id)


def check_waiting(store: Store, interventions: Sequence[Intervention], *, chunk: int = 500) -> dict[str, Grounded]:
    """The findings of ``interventions`` (eval checks in force) on every draft waiting for review, by
    critique id: only critiques that get a finding (blocking reads, ``chunk`` tasks at a time).

    Nothing is written: the caller adds them (``Store.add_check_findings``), e.g. in the
    transaction that accepts the intervention.
    """
    in_force = eval_checks_in_force(interventions)
    if not in_force:
        return {}
    states = [s for s in store.task_states("awaiting_review") if s["critique_id"] and s["draft_id"]]
    out: dict[str, Grounded] = {}
    for i in range(0, len(states), chunk):
        part = states[i:i + chunk]
        tasks = {t.id: t for t in store.tasks([s.task_id for s in part])}
        drafts = store.drafts({s["draft_id"] for s in part})
        for state in part:
            task, draft = tasks.get(state.task_id), drafts.get(state["draft_id"])
            if task is None or draft is None:
                continue
            found = ground_findings(eval_check_findings(in_force, task, draft.text), draft.text,
                                    task_text=_task_text(task))
            if found.findings or found.dropped:
                out[state["critique_id"]] = found
    return out
