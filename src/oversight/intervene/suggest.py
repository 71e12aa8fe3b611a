"""Suggesting interventions for a failure pattern: rules from the data first, a model on top.

The rules need no model and propose only what the notes and the human refinements support: a
programmatic ``eval_check`` when the notes ask for a length, a list, JSON, or when reviewers keep
deleting the same phrase; a ``few_shot`` set of the shortest refined answers that pass it; a
``guideline`` with a draft and its refinement as the bad and good example. The other kinds need a
model: ``suggest_with_llm`` asks one (prompts/suggest_intervention.md) and keeps what is valid.
Ids derive from the pattern and the payload, so suggesting twice proposes the same records.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oversight.errors import StructuredOutputError
from oversight.intervene.apply import system_patch
from oversight.intervene.checks import check_error, passes, word_count
from oversight.intervene.guidelines import guideline_from_examples
from oversight.prompts import Prompt, load_prompt
from oversight.refine.checks import COUNT, number_of
from oversight.schemas import (
    CHECK_KINDS,
    CheckCriterion,
    DataRequest,
    Draft,
    EvalCheck,
    FailureNote,
    FewShot,
    FewShotExample,
    Guideline,
    Intervention,
    Pattern,
    PromptPatch,
    Record,
    Refinement,
    RoutingRuleProposal,
    Task,
)

if TYPE_CHECKING:
    from oversight.llm import LLM

__all__ = ["MODEL_KINDS", "SUGGEST_PROMPT", "InterventionIdeas", "Suggestions", "dedupe", "suggest", "suggest_by_rules", "suggest_with_llm", "system_patch"]

SUGGEST_PROMPT = "suggest_intervention"
MODEL_KINDS: tuple[str, ...] = ("prompt_patch", "guideline", "data_request", "routing_rule")
Example = tuple[Task, Draft, Refinement]

# "in 5 words", "under ten words", "one word", "a single-word answer"; not "the last two words"
_N_WORDS = re.compile(rf"(?:\b(?:in|under|within|at most|no more than|maximum of|max|just|only|with|to)\s+{COUNT}"
                      r"|\b(one|single|1))[- ]words?\b", re.I)
_TOO_LONG = re.compile(r"\btoo (?:long|verbose|wordy|lengthy)\b|\bverbose\b|\bwordy\b|\bshorter\b|\brambl\w*|"
                       r"\b(?:more|be) concise\b|\bbriefer\b|\blengthy\b", re.I)
_LIST = re.compile(r"\b(?:should be|as|in|into|use|make it) (?:a |an )?(?:bullet(?:ed)?|numbered)? ?list\b|"
                   r"\bbullet(?:ed)?(?: points?| list)?\b|\bbullets\b|\bnumbered list\b", re.I)
_JSON = re.compile(r"\bjson\b", re.I)
LIST_LINE = r"^\s*(?:[-*•]|\d+[.)])\s+\S"
_MIN_DELETIONS = 3


@dataclass
class Suggestions:
    """What suggesting returns: the proposals, the kinds left for a model, and what a lead should know."""

    interventions: list[Intervention] = field(default_factory=list)
    needs_model: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _intervention(pattern: Pattern, payload: Record, *, title: str, rationale: str, expected_effect: str,
                  note_ids: Iterable[str], task_ids: Iterable[str], proposed_by: str) -> Intervention:
    return Intervention(id=Intervention.derive_id(pattern.id, payload), pattern_id=pattern.id,
                        kind=payload.kind,  # type: ignore[attr-defined]
                        title=title, rationale=rationale, expected_effect=expected_effect, payload=payload,
                        note_ids=list(dict.fromkeys(note_ids)), task_ids=sorted(set(task_ids)),
                        proposed_by=proposed_by)


def _members(pattern: Pattern, notes: Sequence[FailureNote]) -> list[FailureNote]:
    members = set(pattern.member_ids)
    return [n for n in notes if n.id in members] if members else list(notes)


def _pattern_examples(notes: Sequence[FailureNote], examples: Sequence[Example]) -> list[Example]:
    """The examples the notes come from (by refinement, else by task); all of them when notes link none."""
    refinements = {n.refinement_id for n in notes if n.refinement_id}
    tasks = {n.task_id for n in notes if n.task_id}
    if not refinements and not tasks:
        return list(examples)
    return [e for e in examples if e[2].id in refinements] or [e for e in examples if e[0].id in tasks]


def _refined(examples: Sequence[Example]) -> list[Example]:
    return [e for e in examples if e[2].decision in ("edit", "rewrite") and (e[2].refined_text or "").strip()]


def _percentile(values: Sequence[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _quote(notes: Sequence[FailureNote], limit: int = 2) -> str:
    return "; ".join(f'"{" ".join(n.text.split())[:120]}"' for n in notes[:limit])


def _stated_limit(text: str) -> int | None:
    match = _N_WORDS.search(text)
    if match is None:
        return None
    said = (match.group(1) or match.group(2)).lower()
    return number_of(said)


def _length_check(notes: list[FailureNote], refined: list[Example]) -> tuple[CheckCriterion, list[FailureNote], str]:
    """The word limit the notes ask for and the refined answers allow. Raises LookupError saying why
    there is none ('' when no note asks for a shorter answer)."""
    asked = [n for n in notes if _N_WORDS.search(n.text) or _TOO_LONG.search(n.text)]
    if not asked:
        raise LookupError("")
    counts = [word_count(e[2].refined_text or "") for e in refined]
    stated = [v for v in (_stated_limit(n.text) for n in asked) if v is not None]
    why = f"{len(asked)} of the pattern's {len(notes)} notes ask for a shorter answer ({_quote(asked)})"
    if stated:
        wanted = max(set(stated), key=lambda v: (stated.count(v), -v))  # the most asked, then the smallest
        limit = max([wanted, *counts])
        said = f"{wanted} word{'s' if wanted > 1 else ''}"
        if not counts:
            why += f"; they ask for {said} (no refined answers to compare with), so the limit is {limit}."
        elif limit == wanted:
            why += (f"; they ask for {said}, and the {len(counts)} human-refined answers are at most "
                    f"{max(counts)} word{'s' if max(counts) > 1 else ''}, so the limit is {limit}.")
        else:
            why += (f"; they ask for {said}, but the longest of the {len(counts)} human-refined answers runs to "
                    f"{limit} words, so the limit is {limit} (the longest refined answer), not {wanted}.")
    elif counts:
        limit = max(1, _percentile(counts, 0.9))
        why += (f". The {len(counts)} human-refined answers run to {min(counts)}-{max(counts)} words; the limit "
                f"is their 90th percentile, {limit}.")
    else:
        raise LookupError(f"{len(asked)} notes ask for a shorter answer, but no refinement of the pattern has a "
                          "refined text to set a word limit from: no length check")
    return CheckCriterion(kind="max_words", value=limit, description=f"at most {limit} words"), asked, why


def _deleted_phrases(examples: Sequence[Example]) -> list[tuple[str, list[Example]]]:
    """Phrases deleted (or replaced) in at least three refinements and absent from their refined texts."""
    seen: dict[str, tuple[str, list[Example]]] = {}
    for example in examples:
        refined = (example[2].refined_text or "").casefold()
        for op in example[2].diff:
            phrase = " ".join(op.before.split()).strip(" ,.;:!?")
            key = phrase.casefold()
            words = re.findall(r"[^\W\d_]+", phrase)
            if op.op not in ("delete", "replace") or not (len(words) >= 2 or (words and len(words[0]) >= 5)):
                continue
            if key in refined:
                continue
            entry = seen.setdefault(key, (phrase, []))
            if all(e[2].id != example[2].id for e in entry[1]):
                entry[1].append(example)
    found = [(phrase, where) for phrase, where in seen.values() if len(where) >= _MIN_DELETIONS]
    return sorted(found, key=lambda item: (-len(item[1]), item[0]))[:3]


def _checks(pattern: Pattern, notes: list[FailureNote], examples: list[Example], tasks: list[str],
            out: Suggestions) -> list[Intervention]:
    made: list[Intervention] = []

    def add(criterion: CheckCriterion, title: str, why: str, effect: str, grounds: list[FailureNote],
            cases: Iterable[str] = tasks) -> None:
        made.append(_intervention(pattern, EvalCheck(criterion=criterion, cases=sorted(set(cases))), title=title,
                                  rationale=why, expected_effect=effect, note_ids=[n.id for n in grounds],
                                  task_ids=cases, proposed_by="rules"))

    try:
        criterion, asked, why = _length_check(notes, _refined(examples))
        add(criterion, f"Flag drafts longer than {criterion.value} words", why,
            f"Catches drafts over {criterion.value} words on the {len(tasks)} affected tasks; a fix for the pattern "
            "should make fewer drafts fail it.", asked)
    except LookupError as exc:
        if str(exc):
            out.notes.append(str(exc))
    listed = [n for n in notes if _LIST.search(n.text)]
    if listed:
        add(CheckCriterion(kind="regex", value=LIST_LINE, description="has at least one list line"),
            "Flag drafts that are not formatted as a list",
            f"{len(listed)} of the pattern's {len(notes)} notes ask for a list ({_quote(listed)}).",
            "Catches drafts with no bullet or numbered line; a fix should make fewer fail it.", listed)
    wants_json = [n for n in notes if _JSON.search(n.text)]
    if wants_json:
        add(CheckCriterion(kind="valid_json", description="parses as JSON"), "Flag drafts that are not valid JSON",
            f"{len(wants_json)} of the pattern's {len(notes)} notes are about JSON ({_quote(wants_json)}).",
            "Catches drafts that do not parse as JSON; a fix should make fewer fail it.", wants_json)
    for phrase, where in _deleted_phrases(examples):
        refinements = {e[2].id for e in where}
        add(CheckCriterion(kind="forbidden", value=phrase, description=f'does not contain "{phrase}"'),
            f'Flag drafts that contain "{phrase}"',
            f'Reviewers deleted "{phrase}" in {len(where)} refinements of the pattern.',
            f"Catches drafts that still say it; {len(where)} refined answers show it is not needed.",
            [n for n in notes if n.refinement_id in refinements], cases=[e[0].id for e in where])
    return made


def _few_shot(pattern: Pattern, notes: list[FailureNote], examples: list[Example], checks: list[Intervention],
              out: Suggestions) -> Intervention | None:
    criteria = [c.payload.criterion for c in checks if isinstance(c.payload, EvalCheck)]
    candidates = [e for e in _refined(examples) if all(passes(c, e[2].refined_text or "") for c in criteria)]
    chosen: list[Example] = []
    for example in sorted(candidates, key=lambda e: (word_count(e[2].refined_text or ""), e[0].id)):
        if all(example[0].id != c[0].id for c in chosen):
            chosen.append(example)
    chosen = chosen[:2]
    if len(chosen) < 2:
        out.notes.append(f"{len(candidates)} refined answer(s) of the pattern{' pass the check' if criteria else ''}:"
                         " two are needed for a few-shot set")
        return None
    payload = FewShot(prompt="draft", examples=[
        FewShotExample(task_id=t.id, answer=(r.refined_text or "").strip(),
                       prompt=t.prompt.strip() + (f"\n\nInput:\n{t.input.strip()}" if t.input else ""))
        for t, _, r in chosen])
    used = {r.id for _, _, r in chosen}
    passing = " that pass the proposed check" if criteria else ""
    return _intervention(
        pattern, payload, title="Show the draft prompt two human-refined answers as examples",
        rationale=f"{len(_refined(examples))} refinements of the pattern have a human-refined answer; these are "
                  f"the two shortest{passing} ({', '.join(t.id for t, _, _ in chosen)}).",
        expected_effect="Drafts imitate the refined answers' length and form, so the pattern shows less often.",
        note_ids=[n.id for n in notes if n.refinement_id in used], task_ids=[t.id for t, _, _ in chosen],
        proposed_by="rules")


def suggest_by_rules(pattern: Pattern, notes: list[FailureNote], examples: list[Example]) -> Suggestions:
    """Interventions the data supports with no model: programmatic checks and a few-shot set."""
    members = _members(pattern, notes)
    mine = _pattern_examples(members, examples)
    tasks = [n.task_id for n in members if n.task_id] + [e[0].id for e in mine]
    out = Suggestions()
    checks = _checks(pattern, members, mine, sorted(set(tasks)), out)
    few_shot = _few_shot(pattern, members, mine, checks, out)
    guideline = guideline_from_examples(pattern, members, mine)
    out.interventions = [*checks, *([few_shot] if few_shot else []), *([guideline] if guideline else [])]
    out.needs_model = [MODEL_KINDS[0], *([] if guideline else ["guideline"]), *([] if checks else ["eval_check"]),
                       *MODEL_KINDS[2:]]
    out.notes.append(_needs_model_note(out.needs_model))
    return out


def _needs_model_note(kinds: list[str]) -> str:
    return f"{', '.join(kinds)} need a model: pass llm= to suggest()"


def _norm_title(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.casefold()).strip()


def dedupe(proposed: Iterable[Intervention], existing: Iterable[Intervention] = ()) -> list[Intervention]:
    """``proposed`` without those already in ``existing`` (or earlier in ``proposed``): the same id, or the
    same pattern, kind and title (case, spacing and punctuation aside)."""
    existing = list(existing)
    ids, titles = {i.id for i in existing}, {(i.pattern_id, i.kind, _norm_title(i.title)) for i in existing}
    kept = []
    for item in proposed:
        key = (item.pattern_id, item.kind, _norm_title(item.title))
        if item.id in ids or key in titles:
            continue
        ids.add(item.id)
        titles.add(key)
        kept.append(item)
    return kept


# The model's answer: one item type per kind, so that a constrained server must write the kind's
# fields. No docstrings: they would enter the JSON schema sent with every request. extra="ignore"
# reads a chatty answer; additionalProperties=false keeps a constrained server terse.
def _text(limit: int, description: str = "") -> Any:
    return Field(description=description, json_schema_extra={"maxLength": limit})


class _Idea(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})

    kind: str
    title: str = _text(120, "One sentence a team lead understands.")
    rationale: str = _text(200, "Which notes show the need.")
    expected_effect: str = _text(120, "What should change.")


class PatchIdea(_Idea):
    kind: Literal["prompt_patch"]
    instruction: str = _text(160, "One sentence to add to the model's system prompt.")


class GuidelineIdea(_Idea):
    kind: Literal["guideline"]
    rubric: str = _text(200, "The rule reviewers apply.")
    good_example: str = _text(120)
    bad_example: str = _text(120)


class CheckIdea(_Idea):
    kind: Literal["eval_check"]
    check_kind: str = _text(20, f"One of {', '.join(CHECK_KINDS)}.")
    check_value: Annotated[str, _text(160)] | int | None = Field(
        description="The regex, word limit, string, or yes/no judge question.")


class DataIdea(_Idea):
    kind: Literal["data_request"]
    what: str = _text(120, "What examples to collect.")
    count: int
    domains: list[str] = Field(json_schema_extra={"maxItems": 3})
    why: str = _text(120)


class RoutingIdea(_Idea):
    kind: Literal["routing_rule"]
    rule: str = _text(160, "Which tasks go to an expert reviewer.")


Idea = Annotated[PatchIdea | GuidelineIdea | CheckIdea | DataIdea | RoutingIdea, Field(discriminator="kind")]


class InterventionIdeas(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})

    interventions: list[Idea] = Field(json_schema_extra={"maxItems": 4})


def _payload(item: _Idea, target: Prompt, cases: list[str]) -> Record:
    """The intervention payload of one proposal. Raises ValueError saying why it is unusable."""
    def text(value: str) -> str:
        if not value.split():
            raise ValueError(f"an empty field in a {item.kind}")
        return " ".join(value.split())

    if isinstance(item, PatchIdea):
        instruction = text(item.instruction)
        return PromptPatch(prompt=target.name, base_version=target.version, diff=system_patch(target, instruction))
    if isinstance(item, GuidelineIdea):
        return Guideline(rubric=text(item.rubric), good_example=item.good_example.strip(),
                         bad_example=item.bad_example.strip())
    if isinstance(item, CheckIdea):
        kind, value = item.check_kind.strip().lower(), item.check_value
        if kind not in CHECK_KINDS:
            raise ValueError(f"unknown check kind {item.check_kind!r}")
        if kind in ("max_words", "min_words") and str(value).strip().isdigit():
            value = int(str(value).strip())
        criterion = CheckCriterion(kind=kind, value=None if kind == "valid_json" else value)  # type: ignore[arg-type]
        problem = check_error(criterion)
        if kind == "llm_judge" and not (isinstance(value, str) and value.strip()):
            problem = "llm_judge needs a yes/no question"
        if problem:
            raise ValueError(problem)
        return EvalCheck(criterion=criterion, cases=cases)
    if isinstance(item, DataIdea):
        if item.count < 1:
            raise ValueError(f"a data request needs a count of at least 1, got {item.count}")
        return DataRequest(what=text(item.what), count=item.count, why=" ".join(item.why.split()),
                           domains=[d.strip() for d in item.domains if d.strip()])
    if isinstance(item, RoutingIdea):
        return RoutingRuleProposal(rule=text(item.rule))
    raise ValueError(f"unknown kind {item.kind!r}")


async def suggest_with_llm(llm: LLM, prompt: Prompt, pattern: Pattern, samples: list[str],
                           existing: list[Intervention], *, answers: Sequence[str] = (),
                           task_ids: Sequence[str] = (), target: Prompt | None = None) -> Suggestions:
    """Up to four interventions a model proposes from the pattern and a sample of its notes (and refined
    ``answers``), as valid records not already in ``existing``. Prompt patches are diffs of ``target``
    (default prompts/draft.md). An answer that never fits the schema gives none and a note. Raises LLMError."""
    target = target or load_prompt("draft")
    cases = sorted(set(task_ids) or {r.task_id for r in pattern.stats.representatives if r.task_id})
    messages = prompt.render(name=pattern.name, description=pattern.description, criteria=pattern.criteria,
                             samples=samples, answers=list(answers), existing=[i.title for i in existing])
    out = Suggestions()
    try:
        ideas, _ = await llm.structured(messages, InterventionIdeas, **prompt.params)
    except StructuredOutputError as exc:
        out.notes.append(f"the model's answer did not fit the schema, no model suggestions: {exc}")
        return out
    made = []
    for number, item in enumerate(ideas.interventions[:4], 1):
        try:
            payload = _payload(item, target, cases)
            made.append(_intervention(
                pattern, payload, title=" ".join(item.title.split())[:200] or item.kind.replace("_", " "),
                rationale=item.rationale.strip(), expected_effect=item.expected_effect.strip(),
                note_ids=pattern.member_ids, task_ids=cases, proposed_by=f"llm:{llm.model}"))
        except ValueError as exc:  # pydantic's ValidationError is one too
            out.notes.append(f"model proposal {number} ({item.kind}) dropped: {' '.join(str(exc).split())[:200]}")
    kept = dedupe(made, existing)
    if len(kept) < len(made):
        out.notes.append(f"{len(made) - len(kept)} model proposal(s) dropped: already proposed, or repeated")
    out.interventions = kept
    return out


def _samples(pattern: Pattern, notes: Sequence[FailureNote], limit: int = 8) -> list[str]:
    """Distinct note texts, the pattern's representatives first, trimmed."""
    first = {r.note_id: i for i, r in enumerate(pattern.stats.representatives)}
    ordered = sorted(notes, key=lambda n: first.get(n.id, len(first)))
    texts = dict.fromkeys(" ".join(n.text.split()) for n in ordered)
    return [t if len(t) <= 200 else t[:199] + "…" for t in list(texts)[:limit]]


async def suggest(pattern: Pattern, notes: list[FailureNote], examples: list[Example], *, llm: LLM | None = None,
                  prompt: Prompt | None = None, existing: Iterable[Intervention] = (),
                  target: Prompt | None = None) -> Suggestions:
    """The rules' suggestions, and a model's on top when ``llm`` is given, none already in ``existing``.
    Raises LLMError (a model answer that does not fit the schema is a note, not an error)."""
    existing = list(existing)
    rules = suggest_by_rules(pattern, notes, examples)
    out = Suggestions(dedupe(rules.interventions, existing), rules.needs_model, rules.notes)
    if llm is None:
        return out
    members = _members(pattern, notes)
    found = _pattern_examples(members, examples)
    answers = [" ".join((r.refined_text or "").split())[:200] for _, _, r in _refined(found)[:3]]
    tasks = [n.task_id for n in members if n.task_id] + [e[0].id for e in found]
    more = await suggest_with_llm(llm, prompt or load_prompt(SUGGEST_PROMPT), pattern, _samples(pattern, members),
                                  [*existing, *out.interventions], answers=answers, task_ids=tasks, target=target)
    notes = [n for n in out.notes if n != _needs_model_note(rules.needs_model)]
    return Suggestions([*out.interventions, *more.interventions], [], [*notes, *more.notes])
