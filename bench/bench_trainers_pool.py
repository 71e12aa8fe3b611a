"""The gold pool of bench_trainers.py: real FineGrainedRLHF drafts made into gold items as a lead would.

FineGrainedRLHF qa-feedback dev (allenai/FineGrainedRLHF @ a1469d4, Apache-2.0). Each question's first
answer is a draft. Expert items: the annotator's corrected answer, accepted as it is. Planted items:
one error planted (refine/plant.py) under a critique of the annotators' labelled error spans, with a
finding pointing at the error on a seeded share, and a decoy (a wrong finding) on another.
"""

from __future__ import annotations

import json
import random
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight.intervene.checks import word_count
from oversight.refine.plant import critic_pointed, plant, planted_prompt, points_at
from oversight.schemas import Critique, Draft, Finding, GoldItem, PlantKind, content_hash

__all__ = ["CRITIC", "DRAFTER", "FGRLHF_FILE", "Row", "load_rows", "make_pool", "pool_stats", "source_ids"]

FGRLHF_FILE = "finegrainedrlhf_qa_feedback/tasks/qa_feedback/data/dev_feedback.json"
KINDS: tuple[PlantKind, ...] = ("wrong_number", "unsupported_sentence", "ignored_instruction")
MADE_BY = "bench-lead"
MADE_AT = datetime(2025, 1, 6, tzinfo=UTC)  # one moment for the whole pool: a run replays whenever it is made
DRAFTER = "finegrainedrlhf/qa-model"
CRITIC = "bench/labelled-spans"
# The annotators' error labels as critique findings: their words for the issue, the closest category.
LABELLED = {
    "Irrelevant": ("Not relevant to what was asked.", "irrelevant"),
    "Wrong-Grounding": ("This does not match the passages.", "factual-error"),
    "Unverifiable": ("Nothing in the passages supports this.", "unsupported-claim"),
    "Redundant": ("Repeats what the answer already said.", "redundant"),
    "Incoherent": ("Hard to follow here.", "unclear"),
}
POINTING = {
    "wrong_number": ("This figure does not match the passages.", "factual-error"),
    "unsupported_sentence": ("Nothing in the passages supports this claim.", "unsupported-claim"),
    "ignored_instruction": ("The answer runs far past the word limit the prompt sets.", "instruction-violation"),
}
DECOY = ("This contradicts the passages.", "factual-error")
_SENTENCE = re.compile(r"[^.!?]+[.!?]+")


@dataclass(frozen=True)
class Row:
    """One FineGrainedRLHF question: the draft (answer 1), its labelled error spans, the annotator's
    corrected answer, and the other answers (production drafts)."""

    index: int
    question: str
    context: str
    text: str
    errors: tuple[tuple[int, int, str], ...]
    corrected: str
    others: tuple[str, ...]


def load_rows(path: Path, limit: int | None = None) -> list[Row]:
    """The set's questions (the first ``limit``); a record may hold fewer fields (a test fixture)."""
    rows = []
    for i, record in enumerate(json.loads(path.read_text(encoding="utf-8"))[:limit]):
        feedback = record.get("feedback") or {}
        passages = record.get("passages") or []
        rows.append(Row(
            index=i, question=record["question"],
            context="\n\n".join(" ".join(p[1:]) if isinstance(p, list) else str(p) for p in passages),
            text=record["prediction 1"].strip(),
            errors=tuple((e["start"], e["end"], e["error type"]) for e in feedback.get("errors", [])),
            corrected=(feedback.get("corrected-prediction") or "").strip(),
            others=tuple(record[f"prediction {k}"].strip() for k in (2, 3, 4) if record.get(f"prediction {k}"))))
    return rows


def _clip(quote: str, limit: int = 200) -> str:
    """A quote at most ``limit`` characters, cut at a word boundary."""
    quote = quote.strip()
    if len(quote) <= limit:
        return quote
    return quote[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")


def _pointing(error: Any, text: str) -> Finding:
    """A finding that points at the planted error (its words around it)."""
    issue, category = POINTING[error.kind]
    if error.kind == "ignored_instruction":
        quote = ""
    elif error.kind == "unsupported_sentence":
        quote = error.planted.strip()
    else:
        start, end = error.start, error.start + len(error.planted)
        before = text[:start].split(" ")[-4:]
        after = text[end:].split(" ")[:3]
        quote = (" ".join(before) + text[start:end] + " ".join(after)).strip()
    return Finding(quote=_clip(quote), issue=issue, severity="high", category=category)


def _labelled(row: Row, error: Any, text: str) -> list[Finding]:
    """The annotators' labelled spans as findings (at most two) that are in the planted text and do not
    point at the planted error."""
    found = []
    for start, end, kind in row.errors:
        if kind not in LABELLED:
            continue
        quote = _clip(row.text[start:end])
        issue, category = LABELLED[kind]
        finding = Finding(quote=quote, issue=issue, severity="medium", category=category)
        if len(quote.split()) >= 3 and quote in text and (error is None or not points_at(error, text, finding)):
            found.append(finding)
        if len(found) == 2:
            break
    return found


def _decoy(text: str, taken: Sequence[Finding], error: Any, rng: random.Random) -> Finding | None:
    """A wrong finding: it calls a sentence wrong that nothing else points at (the annotators left it unmarked)."""
    spans = [(text.find(f.quote), len(f.quote)) for f in taken if f.quote and f.quote in text]
    if error is not None and error.kind != "ignored_instruction":
        spans.append((error.start, len(error.planted)))
    choices = []
    for match in _SENTENCE.finditer(text):
        if len(match.group().split()) >= 5 and all(match.end() <= s or match.start() >= s + n for s, n in spans):
            choices.append(_clip(match.group()))
    if not choices:
        return None
    issue, category = DECOY
    finding = Finding(quote=rng.choice(choices), issue=issue, severity="high", category=category)
    return None if error is not None and points_at(error, text, finding) else finding


def source_ids(row: Row) -> tuple[str, str]:
    """The task and draft ids the question and its first answer have in a store."""
    task_id = f"fg{row.index:04d}"
    return task_id, Draft.derive_id(task_id, DRAFTER, "imported", {})


def make_pool(rows: Sequence[Row], *, seed: int = 20, expert_share: float = 0.2, pointed_share: float = 0.5,
              decoy_share: float = 0.5) -> list[GoldItem]:
    """The gold items a lead would make from these drafts (see the module docstring), in the store's order;
    which questions become expert items, and which items get a pointing finding or a decoy, drawn from ``seed``."""
    rng = random.Random(seed)
    order = list(rows)
    rng.shuffle(order)
    expert_rows = {r.index for r in [r for r in order if r.corrected][:round(expert_share * len(order))]}
    items = []
    for row in order:
        task_id, draft_id = source_ids(row)
        common = {"source_task_id": task_id, "source_draft_id": draft_id,
                  "critic_model": CRITIC, "made_by": MADE_BY, "created_at": MADE_AT}
        if row.index in expert_rows:
            findings = _labelled(row, None, row.corrected)  # spans of the uncorrected answer left in
            decoy = _decoy(row.corrected, findings, None, rng) if rng.random() < decoy_share else None
            at = None if decoy is None else rng.randint(0, len(findings))
            if decoy is not None:
                findings.insert(at, decoy)
            items.append(GoldItem(kind="expert", prompt=row.question, text=row.corrected, findings=findings,
                                  decoy=at, decision="accept", refined_text=row.corrected,
                                  expert="FineGrainedRLHF annotator", critique_summary="Labelled spans.", **common))
            continue
        text, error = plant(row.text, KINDS, rng)
        if error is None:
            continue
        findings = _labelled(row, error, text)
        if rng.random() < pointed_share:
            findings.insert(rng.randint(0, len(findings)), _pointing(error, text))
        decoy = _decoy(text, findings, error, rng) if rng.random() < decoy_share else None
        at = None if decoy is None else rng.randint(0, len(findings))
        if decoy is not None:
            findings.insert(at, decoy)
        shown = Critique(id="c", draft_id=draft_id, task_id=task_id, model=CRITIC, prompt_name="labelled",
                         prompt_version="1", findings=findings)
        items.append(GoldItem(kind="planted", prompt=planted_prompt(row.question, error), text=text,
                              findings=findings, decoy=at, plant=error,
                              critic_pointed=critic_pointed(error, text, shown), critique_summary="Labelled spans.",
                              **common))
    # ids from what the trainer is shown, as the gold module derives them: another pool's item is another id
    items = [i.model_copy(update={"id": "g_" + content_hash(i.kind, i.source_draft_id, i.prompt, i.text,
                                                            [f.model_dump(mode="json") for f in i.findings], i.decoy)})
             for i in items]
    return sorted(items, key=lambda i: (i.created_at, i.id))  # as the store lists them


def pool_stats(pool: Sequence[GoldItem]) -> dict[str, Any]:
    planted = [g for g in pool if g.kind == "planted"]
    return {"items": len(pool), "planted": len(planted), "expert_accepted": len(pool) - len(planted),
            "critic_pointed": sum(1 for g in planted if g.critic_pointed),
            "with_decoy": sum(1 for g in pool if g.decoy is not None),
            "kinds": dict(Counter(g.plant.kind for g in planted if g.plant is not None)),
            "median_words": statistics.median(word_count(g.text) for g in pool) if pool else 0}
