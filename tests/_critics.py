"""Hand-made critiques and refinements with known grounding and precision counts."""

from __future__ import annotations

from typing import Any

from oversight.schemas import Critique, Draft, DroppedFinding, Finding, FindingVerdict, Refinement, Task

GPT, SMOL = "openai/gpt-4o-mini", "openai/smollm2-135m-instruct"


def _finding(quote: str, issue: str = "Wrong.", category: str = "factual-error") -> Finding:
    return Finding(quote=quote, issue=issue, severity="medium", category=category)  # type: ignore[arg-type]


def _drop(reason: str, quote: str, issue: str = "Wrong.") -> DroppedFinding:
    return DroppedFinding(finding=_finding(quote, issue), reason=reason)  # type: ignore[arg-type]


def _critique(n: int, model: str, shown: int, dropped: list[DroppedFinding], grounding: str = "quote-in-draft/1") -> Critique:
    return Critique(id=f"c{n}", draft_id=f"d{n}", task_id=f"t{n}", model=model, prompt_name="critique",
                    prompt_version="v1", findings=[_finding(f"quote {i}") for i in range(shown)], dropped=dropped,
                    grounding=grounding)


def _refinement(n: int, critique: int, *verdicts: tuple[int, str], reviewer: str = "alice") -> Refinement:
    return Refinement(id=f"r{n}", task_id=f"t{critique}", draft_id=f"d{critique}", critique_id=f"c{critique}",
                      decision="edit", refined_text="better", reviewer=reviewer,
                      finding_verdicts=[FindingVerdict(finding=i, verdict=v) for i, v in verdicts])  # type: ignore[arg-type]


CRITIQUES = [
    # GPT, checked: 2 critiques, 6 proposed, 3 shown; 4 verdicts on shown findings, 3 right
    _critique(1, GPT, 2, [_drop("not-in-draft", "Paris is the capital of Italy.")]),
    _critique(2, GPT, 1, [_drop("too-short", "the"), _drop("prompt-echo", "Live and Let Die", "France, not Italy.")]),
    # SmolLM2, checked: nothing grounded, nothing judged
    _critique(3, SMOL, 0, [_drop("not-in-draft", "<script>alert(1)</script> | x"), _drop("no-quote", "")]),
    # GPT before findings were checked: all shown, grounding unknown
    _critique(4, GPT, 2, [], grounding=""),
]
REFINEMENTS = [
    _refinement(1, 1, (0, "right"), (1, "wrong")),
    _refinement(2, 1, (0, "right"), reviewer="bob"),  # a second reviewer of the same critique
    _refinement(3, 2, (0, "right")),
    _refinement(4, 3),
    _refinement(5, 4, (0, "wrong"), (5, "right")),  # finding 5 was never shown: not counted
]

# grounding_status(store) of the above
EXPECTED: list[dict[str, Any]] = [
    {"model": GPT, "prompt_name": "critique", "prompt_version": "v1", "checked": True, "critiques": 2,
     "proposed": 6, "shown": 3, "dropped": {"not-in-draft": 1, "prompt-echo": 1, "too-short": 1},
     "grounding_rate": 0.5, "judged": 4, "right": 3, "wrong": 1, "precision": 0.75, "source": "model"},
    {"model": GPT, "prompt_name": "critique", "prompt_version": "v1", "checked": False, "critiques": 1,
     "proposed": 2, "shown": 2, "dropped": {}, "grounding_rate": None, "judged": 1, "right": 0, "wrong": 1,
     "precision": 0.0, "source": "model"},
    {"model": SMOL, "prompt_name": "critique", "prompt_version": "v1", "checked": True, "critiques": 1,
     "proposed": 2, "shown": 0, "dropped": {"no-quote": 1, "not-in-draft": 1}, "grounding_rate": 0.0,
     "judged": 0, "right": 0, "wrong": 0, "precision": None, "source": "model"},
]


def seed_critics(store: Any) -> None:
    """Tasks, drafts, the critiques and refinements above, saved as the refine loop saves them."""
    store.add_tasks([Task(id=f"t{c}", prompt=f"Question {c}?") for c in range(1, 5)])
    for critique in CRITIQUES:
        store.save_draft(Draft(id=critique.draft_id, task_id=critique.task_id, model="m", prompt_name="draft",
                               prompt_version="x", text="An answer."))
        store.save_critique(critique)
    for refinement in REFINEMENTS:
        store.save_refinement(refinement)
