"""Checks that need no model, as critique findings: pure functions of (task, draft) -> findings.

Three kinds, each finding named by its ``source``:

- ``check: not in the context``: the statements of the draft whose numbers, names or content
  words the task's context does not have (``oversight.refine.support``), quoted, the missing
  words named. Only on a task that gives a context (input, context or reference).
- ``check: instructions``: what the prompt asks unambiguously: a word limit ("in at most 50
  words", "one word"), a sentence limit ("in one sentence"), a list, JSON.
- ``check: intervention ID``: every accepted ``eval_check`` intervention whose criterion a
  program answers (``oversight.refine.criteria``); an ``llm_judge`` criterion needs a model, and
  a ``contains_reference`` one a task with a reference, so those are left out.

The critique stage grounds these with the model's findings (``ground_findings``: a quote must be
in the draft), so a check is held to the trainer's rule like a model. ``CHECKS`` names this
version of the rules; a critique records the version it was checked with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from oversight.refine.criteria import PROGRAMMATIC, passes, word_count
from oversight.refine.support import FUNCTION_WORDS, MIN_UNSUPPORTED, WINDOW, Gap, gaps, quoted, statements
from oversight.schemas import Finding, Intervention, Severity, Task

__all__ = ["CHECKS", "COUNT", "INSTRUCTIONS", "NOT_IN_CONTEXT", "check_findings", "eval_check_findings",
           "eval_checks_in_force", "grounding_findings", "instruction_findings", "intervention_source", "number_of"]

CHECKS = "checks/1"
NOT_IN_CONTEXT = "check: not in the context"
INSTRUCTIONS = "check: instructions"
QUOTE_CHARS = 200
_QUOTE_WORDS = 12
_ISSUE_CHARS = 240

_NUMBERS_TEXT = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
                "sixteen seventeen eighteen nineteen twenty"
_NUMBER_WORDS = {w: i for i, w in enumerate(_NUMBERS_TEXT.split())} | {"thirty": 30, "forty": 40, "fifty": 50,
                                                                       "hundred": 100, "a single": 1, "single": 1}
# a count said in digits or words ("50", "three", "a single"): read it with number_of
COUNT = r"(\d+|a single|single|" + "|".join(w for w in _NUMBER_WORDS if " " not in w and w != "single") + ")"
# "in at most 50 words", "no more than three sentences", "in one sentence", "50 words or fewer"
_AT_MOST = (r"(?:in |with |using |to )?(at most|no more than|not more than|up to|a maximum of|maximum of|max|"
            r"fewer than|less than|under|within|in)")
_LIMIT_BEFORE = re.compile(rf"\b{_AT_MOST}\s+{COUNT}[- ](word|sentence)s?\b(?!\s+or\s+(?:so|two|a|more|phrase))", re.I)
_LIMIT_AFTER = re.compile(rf"\b{COUNT}[- ](word|sentence)s?\s+(or (?:less|fewer)|max(?:imum)?|at most)\b", re.I)
_ONE_WORD = re.compile(r"\b(?:answer|reply|respond)\s+with\s+(?:only\s+)?(?:one|a single)\s+word\b(?!\s+or\b)|"
                       r"\bone[- ]word\s+(?:answer|reply|response)\b", re.I)
_LIST = re.compile(r"\b(?:as|in|into|using|with)\s+(?:a\s+)?(?:bullet(?:ed)?|numbered)\s+(?:list|points)\b|"
                   r"\b(?:as|in)\s+(?:a\s+)?list\b(?!\s+of\b)|\bin\s+bullet\s+points\b", re.I)
_JSON = re.compile(r"\b(?:answer|respond|reply|return|output|format)\b[^.?!\n]{0,40}?\b(?:in|as|with)\s+"
                   r"(?:a\s+|an\s+|valid\s+|only\s+)*JSON\b|\b(?:valid|only)\s+JSON\b|\bJSON\s+only\b", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022\u2023\u25e6]|\d+[.)]|[a-z][.)])\s+\S", re.M)
_WORD = re.compile(r"[^\W_]+")
_EDGES = " \"'.,;:!?()[]{}*-"  # as oversight.refine.critique ignores them at a quote's ends
_FENCE = re.compile(r"^\s*```[\w-]*\n(.*?)\n?```\s*$", re.S)


def intervention_source(intervention_id: str) -> str:
    """The source a finding of an accepted eval-check intervention carries."""
    return f"check: intervention {intervention_id}"


def _clip(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters (still in the draft), without the
    marks at its ends that the grounding rule ignores: the quote a trainer is shown, as it is kept."""
    if len(text) > limit:
        text = text[:limit].rsplit(None, 1)[0] or text[:limit]
    return text.strip(_EDGES) or text


def _issue(text: str) -> str:
    return text if len(text) <= _ISSUE_CHARS else text[:_ISSUE_CHARS - 3].rstrip() + "..."


def _gap_finding(draft: str, gap: Gap) -> Finding:
    severity: Severity = "high" if gap.specific or gap.broken else (
        "medium" if len(gap.unsupported) + len(gap.absent) >= 3 else "low")
    said = []
    if gap.absent:
        said.append(f"not in the context: {quoted(gap.absent)}")
    if gap.broken:
        said.append(f"the context never names {quoted(gap.broken)}")
    rest = [w for w in gap.unsupported if w not in gap.absent and not any(w in name.split() for name in gap.broken)]
    if rest:
        said.append(f"the closest sentences of the context lack {quoted(rest)}")
    return Finding(quote=_clip(draft[gap.start:gap.end], QUOTE_CHARS), issue=_issue("; ".join(said)),
                   severity=severity, category="unsupported-claim", source=NOT_IN_CONTEXT)


def grounding_findings(task: Task, draft: str, *, window: int = WINDOW,
                       min_unsupported: int = MIN_UNSUPPORTED) -> list[Finding]:
    """A finding per statement of ``draft`` that ``task``'s context does not support (none without a context).

    Severity: high when a number or name is not in the context (or a name of several words not as
    written), medium when three or more of its words are missing, low otherwise.
    """
    return [_gap_finding(draft, gap) for gap in gaps(task, draft, window=window, min_unsupported=min_unsupported)]


def number_of(word: str) -> int:
    """The number a ``COUNT`` match says ("12", "twelve", "a single")."""
    return int(word) if word.isdigit() else _NUMBER_WORDS[" ".join(word.casefold().split())]


def _limits(prompt: str) -> list[tuple[str, int, str]]:
    """(unit, most allowed, the prompt's words) for each unambiguous word or sentence limit."""
    found = []
    for m in _LIMIT_BEFORE.finditer(prompt):
        how, count, unit = m.group(1).casefold(), number_of(m.group(2)), m.group(3).casefold()
        if how == "in" and count != 1 and unit == "word":
            continue  # "in 50 words" is a length asked for, not a limit; "in one word" is one
        found.append((unit, count - 1 if how in ("fewer than", "less than", "under") else count, m.group().strip()))
    for m in _LIMIT_AFTER.finditer(prompt):
        found.append((m.group(2).casefold(), number_of(m.group(1)), m.group().strip()))
    for m in _ONE_WORD.finditer(prompt):
        found.append(("word", 1, m.group().strip()))
    first: dict[tuple[str, int], str] = {}
    for unit, most, asked in found:  # "in 2 sentences or fewer" is read twice: once
        first.setdefault((unit, most), asked)
    return [(unit, most, asked) for (unit, most), asked in first.items()]


def _points_at_something(quote: str) -> bool:
    """A word the grounding rule counts (``finding_problem``: not too short): FUNCTION_WORDS holds
    the rule's function words and more, so a quote this accepts, the rule accepts."""
    return any(w not in FUNCTION_WORDS and (len(w) >= 2 or w.isdigit()) for w in _WORD.findall(quote.casefold()))


def _words_past(draft: str, limit: int) -> str:
    """The draft's words after the first ``limit``, as the draft writes them (up to a dozen)."""
    spans = [m.span() for m in re.finditer(r"\w+(?:['\u2019-]\w+)*", draft)]
    if len(spans) <= limit:
        return ""
    for extra in (_QUOTE_WORDS, len(spans)):
        end = spans[min(len(spans), limit + extra) - 1][1]
        quote = draft[spans[limit][0]:end]
        if _points_at_something(quote):
            return _clip(quote, QUOTE_CHARS)
    return _clip(draft.strip(), QUOTE_CHARS)


def _sentence(draft: str, index: int = 0) -> str:
    spans = statements(draft)
    if not spans:
        return ""
    a, b = spans[min(index, len(spans) - 1)]
    return _clip(draft[a:b], QUOTE_CHARS)


def _parses_as_json(text: str) -> bool:
    fenced = _FENCE.match(text)
    try:
        json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return False
    return True


def instruction_findings(task: Task, draft: str) -> list[Finding]:
    """A finding per unambiguous instruction of ``task.prompt`` that ``draft`` does not follow."""
    out = []

    def add(quote: str, issue: str) -> None:
        out.append(Finding(quote=quote, issue=_issue(issue), severity="medium", category="instruction-violation",
                           source=INSTRUCTIONS))

    for unit, most, asked in _limits(task.prompt):
        if unit == "word" and (have := word_count(draft)) > most:
            add(_words_past(draft, most), f'asked for at most {most} word{"s" * (most != 1)} ("{asked}"); '
                                          f"the draft has {have}: these are past the limit")
        if unit == "sentence" and (have := len(statements(draft))) > most:
            add(_sentence(draft, most), f'asked for at most {most} sentence{"s" * (most != 1)} ("{asked}"); '
                                        f"the draft has {have}: this one is past the limit")
    if (asked_list := _LIST.search(task.prompt)) and len(_LIST_ITEM.findall(draft)) < 2:
        add(_sentence(draft), f'asked for a list ("{asked_list.group().strip()}"); the draft is not one')
    if (asked_json := _JSON.search(task.prompt)) and not _parses_as_json(draft.strip()):
        add(_sentence(draft), f'asked for JSON ("{asked_json.group().strip()}"); the draft does not parse as JSON')
    return out


def eval_checks_in_force(interventions: Iterable[Intervention]) -> list[Intervention]:
    """The accepted ``eval_check`` interventions a program can run (not an ``llm_judge`` criterion)."""
    return [i for i in interventions if i.kind == "eval_check" and i.status == "accepted"  # none is validated
            and getattr(i.payload, "criterion", None) is not None and i.payload.criterion.kind in PROGRAMMATIC]


def _first_match(kind: str, value: object, draft: str) -> str:
    if kind == "forbidden_regex":
        found = re.search(str(value), draft, flags=re.MULTILINE)
        start, end = found.span() if found else (0, 0)
    else:
        start = draft.casefold().find(str(value).casefold())
        end = start + len(str(value))
    quote = draft[start:end]
    if quote.strip() and _points_at_something(quote):
        return _clip(quote, QUOTE_CHARS)
    for a, b in statements(draft):  # too short to point at anything alone: its sentence
        if a <= start < b or a < end <= b:
            return _clip(draft[a:b], QUOTE_CHARS)
    return _clip(quote, QUOTE_CHARS)


def eval_check_findings(interventions: Sequence[Intervention], task: Task, draft: str) -> list[Finding]:
    """A finding per eval check in force that ``draft`` fails, naming its intervention."""
    out = []
    for item in eval_checks_in_force(interventions):
        criterion = item.payload.criterion  # type: ignore[union-attr]
        try:
            if passes(criterion, draft, reference=task.reference):
                continue
        except ValueError:  # unusable here (no reference for contains_reference, a broken pattern)
            continue
        kind, value = criterion.kind, criterion.value
        what = criterion.description or (f"{kind} {value!r}" if value is not None else kind)
        issue = _issue(f'fails the accepted check "{item.title}" ({what}), intervention {item.id}')
        quote, category = "", "incomplete"  # something the draft lacks: an omission, quoted as such
        if kind in ("forbidden", "forbidden_regex"):
            quote, category = _first_match(kind, value, draft), "other"
        elif kind == "max_words":
            quote, category = _words_past(draft, int(value)), "instruction-violation"  # type: ignore[arg-type]
        elif kind == "valid_json":
            quote, category = _sentence(draft), "instruction-violation"
        out.append(Finding(quote=quote, issue=issue, severity="medium", category=category,  # type: ignore[arg-type]
                           source=intervention_source(item.id)))
    return out


def check_findings(task: Task, draft: str, interventions: Sequence[Intervention] = ()) -> list[Finding]:
    """Every check's findings on ``draft``: grounding, instructions, the eval checks in force, in that order."""
    return [*grounding_findings(task, draft), *instruction_findings(task, draft),
            *eval_check_findings(interventions, task, draft)]
