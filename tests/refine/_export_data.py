"""A store with one refinement of each decision (and the answers training data must leave out), for the
export tests: what each one should become is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from oversight.schemas import (
    CalibrationAnswer,
    Draft,
    FailureNote,
    MiningRun,
    Pattern,
    PatternStats,
    Refinement,
    Task,
)
from oversight.store import Store

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

# task id -> (prompt, draft, decision, refined text, reviewer, tags, batch)
WORK = {
    "t_acc": ("Capital of France?", "Paris.", "accept", None, "ann", [], "a.jsonl"),
    "t_edit": ("Capital of Spain?", "Barcelona.", "edit", "Madrid.", "bo", ["factual-error"], "a.jsonl"),
    "t_rew": ("Greet me.", "yo", "rewrite", "Good day to you.", "ann", ["tone"], "b.jsonl"),
    "t_rej": ("What is 2+2?", "5", "reject", None, "ann", ["factual-error"], "a.jsonl"),
    "t_rejt": ("What is 3+3?", "7", "reject", "6", "bo", [], "b.jsonl"),
    "t_skip": ("Skip me.", "?", "skip", None, "ann", [], "a.jsonl"),
    "t_same": ("Say ok.", "ok", "edit", "ok", "ann", [], "a.jsonl"),  # an edit that changed nothing
}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def seed(store: Store) -> dict[str, str]:
    """The work above, one refinement a minute in that order; then a simulated reviewer's edit and a
    trainer's answer to a calibration item. Returns each task's refinement id."""
    ids: dict[str, str] = {}
    for batch in ("a.jsonl", "b.jsonl"):
        store.add_tasks([Task(id=task_id, prompt=prompt, context="Paris is the capital." if task_id == "t_acc" else None,
                              metadata={"license": "cc-by-4.0"} if batch == "a.jsonl" else {})
                         for task_id, (prompt, *_, source) in WORK.items() if source == batch], source=batch)
    for minute, (task_id, (_, text, decision, refined, reviewer, tags, _)) in enumerate(WORK.items()):
        store.save_draft(Draft(id=f"d_{task_id}", task_id=task_id, model="m1", prompt_name="draft",
                               prompt_version="v1", text=text))
        ids[task_id] = store.save_refinement(Refinement(
            task_id=task_id, draft_id=f"d_{task_id}", decision=decision, refined_text=refined, reviewer=reviewer,
            tags=tags, created_at=START + timedelta(minutes=minute))).id
    store.add_tasks([Task(id="t_sim", prompt="Simulated?"), Task(id="t_cal", prompt="Calibrate?")], source="a.jsonl")
    for task_id, text in (("t_sim", "S."), ("t_cal", "C.")):
        store.save_draft(Draft(id=f"d_{task_id}", task_id=task_id, model="m1", prompt_name="draft",
                               prompt_version="v1", text=text))
    ids["t_sim"] = store.save_refinement(Refinement(
        task_id="t_sim", draft_id="d_t_sim", decision="edit", refined_text="Sim.", reviewer="sim-catches",
        simulated=True, created_at=START + timedelta(minutes=30))).id
    store.save_calibration_answer(CalibrationAnswer(
        task_id="t_cal", reviewer="cy", decision_agrees=True, tag_overlap=1.0, text_similarity=1.0,
        refinement=Refinement(task_id="t_cal", draft_id="d_t_cal", decision="edit", refined_text="Cal.",
                              reviewer="cy", created_at=START + timedelta(minutes=40)),
        created_at=START + timedelta(minutes=40)))
    return ids


def mine(store: Store, ids: dict[str, str]) -> None:
    """A mining run whose pattern p1 holds notes of the edit and the plain reject, p2 the rewrite's."""
    notes = [FailureNote(id="n1", text="Wrong capital.", source="tag", refinement_id=ids["t_edit"]),
             FailureNote(id="n2", text="Wrong sum.", source="tag", refinement_id=ids["t_rej"]),
             FailureNote(id="n3", text="Too casual.", source="tag", refinement_id=ids["t_rew"])]
    store.save_notes(notes)
    stats = PatternStats(size=2, refinements=2, prevalence=0.3)
    patterns = [Pattern(id="p1", name="wrong facts", member_ids=["n1", "n2"], stats=stats),
                Pattern(id="p2", name="tone", member_ids=["n3"], stats=stats)]
    store.save_run(MiningRun(id="run1", embedding_model="e", names="keywords"), patterns,
                   np.zeros((2, 3), dtype=np.float32), [[0.9, 0.8], [0.7]], [])
