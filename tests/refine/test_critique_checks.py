"""The critique stage merges the critic model's findings with the checks' (each with its source), on
SQLite and (when configured) PostgreSQL; a stored critique is reused and gets later checks appended."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from oversight.llm import Completion
from oversight.prompts import load_prompt
from oversight.refine.checks import CHECKS, NOT_IN_CONTEXT, intervention_source
from oversight.refine.critic_quality import grounding_rows, grounding_status
from oversight.refine.critique import write_critique
from oversight.refine.drafting import draft_parameters
from oversight.schemas import (
    CheckCriterion,
    Critique,
    CritiqueFindings,
    Draft,
    EvalCheck,
    Finding,
    FindingVerdict,
    Intervention,
    Refinement,
    Task,
    Usage,
)

TASK = Task(id="t1", prompt="Who plays Bonnie Blue Butler?",
            context="Gone with the Wind (1939): Bonnie Langford plays Bonnie Blue Butler.")
DRAFT = Draft(id="d1", task_id="t1", model="m", prompt_name="draft", prompt_version="x",
              text="Bonnie Langford plays Bonnie Blue Butler. I think she was born in 1940.")


class ScriptedCritic:
    """A critic model that answers one fixed critique, and counts what it was asked."""

    model = "scripted/critic"

    def __init__(self, findings: list[dict[str, Any]]):
        self.findings = findings
        self.calls = 0

    async def structured(self, messages: Any, schema: Any, **params: Any) -> tuple[CritiqueFindings, Completion]:
        self.calls += 1
        value = CritiqueFindings.model_validate({"findings": self.findings, "summary": "One problem."})
        return value, Completion(text="{}", model=self.model, usage=Usage(prompt_tokens=10, completion_tokens=5))


def hedging_check() -> Intervention:
    payload = EvalCheck(criterion=CheckCriterion(kind="forbidden", value="I think", description="no hedging"))
    return Intervention(id=Intervention.derive_id("p_hedge", payload), pattern_id="p_hedge", kind="eval_check",
                        title="No hedging", payload=payload)


MODEL_FINDING = {"quote": "born in 1940", "issue": "The context gives no birth year.", "severity": "high",
                 "category": "unsupported-claim", "source": "check: not in the context"}  # a model naming a check


async def test_model_findings_come_first_then_the_checks_each_with_its_source(store) -> None:
    store.add_tasks([TASK])
    store.save_draft(DRAFT)
    store.save_interventions([hedging_check()])
    store.decide_intervention(hedging_check().id, "accepted", "hedging is a known failure")
    critic = ScriptedCritic([MODEL_FINDING])
    critique = await write_critique(TASK, DRAFT, critic, load_prompt("critique"), store=store)  # type: ignore[arg-type]
    assert [(f.source, f.quote) for f in critique.findings] == [
        ("model", "born in 1940"),  # what the model says about its source is not taken
        (NOT_IN_CONTEXT, "I think she was born in 1940"),
        (intervention_source(hedging_check().id), "I think")]
    assert critique.checks == CHECKS and store.get_critique(critique.id) == critique
    # the store's per-critic sums count the model's findings alone (`status`); the report has a row per source
    [tally] = store.critic_tallies()
    assert (tally["model"], tally["shown"]) == ("scripted/critic", 1)
    assert [row["source"] for row in grounding_status(store)] == ["model"]


async def test_a_stored_critique_is_reused_and_gets_the_checks_it_lacks_after_its_judged_findings(store) -> None:
    store.add_tasks([TASK])
    store.save_draft(DRAFT)
    prompt = load_prompt("critique")
    critic = ScriptedCritic([MODEL_FINDING])
    # a critique made before the checks existed: the model's finding alone (a trainer may have judged it)
    critique_id = Critique.derive_id(DRAFT.id, critic.model, prompt.version, draft_parameters(prompt, None))
    store.save_critique(Critique(id=critique_id, draft_id=DRAFT.id, task_id=TASK.id, model=critic.model,
                                 prompt_name=prompt.name, prompt_version=prompt.version,
                                 findings=[Finding.model_validate({**MODEL_FINDING, "source": "model"})]))
    again = await write_critique(TASK, DRAFT, critic, prompt, store=store)  # type: ignore[arg-type]
    assert critic.calls == 0  # nothing paid again
    assert again.id == critique_id and again.checks == CHECKS
    assert [f.source for f in again.findings] == ["model", NOT_IN_CONTEXT]  # appended: index 0 is still the model's
    assert store.get_critique(critique_id) == again
    third = await write_critique(TASK, DRAFT, critic, prompt, store=store)  # type: ignore[arg-type]
    assert third == again and critic.calls == 0


def test_findings_are_appended_once_and_old_critiques_still_load(store) -> None:
    store.add_tasks([TASK])
    store.save_draft(DRAFT)
    stored = Critique.model_validate({  # a record from before findings had a source
        "id": "c_old", "draft_id": "d1", "task_id": "t1", "model": "m", "prompt_name": "critique",
        "prompt_version": "v0", "findings": [{"quote": "born in 1940", "issue": "x", "severity": "low",
                                             "category": "factual-error"}]})
    store.save_critique(stored)
    assert store.get_critique("c_old").findings[0].source == "model"
    check = Finding(quote="I think she was born in 1940", issue="not in the context: \"1940\"", severity="high",
                    category="unsupported-claim", source=NOT_IN_CONTEXT)
    once = store.add_check_findings({"c_old": ([check], [])}, checks=CHECKS)
    twice = store.add_check_findings({"c_old": ([check], []), "c_missing": ([check], [])}, checks=CHECKS)
    assert once == twice == {"c_old": store.get_critique("c_old")}
    assert [f.source for f in store.get_critique("c_old").findings] == ["model", NOT_IN_CONTEXT]


def test_critic_precision_has_a_row_per_source() -> None:
    model = Finding(quote="a", issue="x", severity="low", category="other")
    check = model.model_copy(update={"source": NOT_IN_CONTEXT})
    critiques = [Critique(id=f"c{i}", draft_id=f"d{i}", task_id=f"t{i}", model="gpt", prompt_name="critique",
                          prompt_version="v1", grounding="quote-in-draft/1", checks=CHECKS,
                          findings=[model, check]) for i in range(2)]
    verdicts = [[FindingVerdict(finding=0, verdict="wrong"), FindingVerdict(finding=1, verdict="right")],
                [FindingVerdict(finding=1, verdict="right")]]
    rows = {r.source: r for r in grounding_rows(zip(critiques, verdicts, strict=True))}
    assert (rows["model"].model, rows["model"].shown, rows["model"].precision) == ("gpt", 2, 0.0)
    checks = rows[NOT_IN_CONTEXT]
    assert (checks.model, checks.prompt_version, checks.critiques, checks.shown, checks.right, checks.precision) == (
        NOT_IN_CONTEXT, CHECKS, 2, 2, 2, 1.0)


@pytest.mark.parametrize("verdict_on", [0, 1])
def test_the_status_sums_count_verdicts_on_the_models_findings_only(store, verdict_on: int) -> None:
    store.add_tasks([TASK])
    store.save_draft(DRAFT)
    model = Finding(quote="born in 1940", issue="x", severity="low", category="other")
    critique = Critique(id="c1", draft_id="d1", task_id="t1", model="gpt", prompt_name="critique",
                        prompt_version="v1", grounding="quote-in-draft/1",
                        findings=[model, model.model_copy(update={"source": NOT_IN_CONTEXT, "quote": "I think"})])
    store.save_critique(critique)
    store.save_refinement(Refinement(task_id="t1", draft_id="d1", critique_id="c1", decision="accept",
                                     finding_verdicts=[FindingVerdict(finding=verdict_on, verdict="right")]))
    [tally] = store.critic_tallies()
    assert (tally["shown"], tally["right"]) == (1, 1 - verdict_on)


async def test_between_the_paid_answer_and_its_write_the_store_is_not_read(store, monkeypatch) -> None:
    """A connection the database drops after the critic answered costs a retried write, never a second
    payment: the stage reads what the checks need (the eval checks in force) before the model is asked."""
    store.add_tasks([TASK])
    store.save_draft(DRAFT)
    store.save_interventions([hedging_check()])
    store.decide_intervention(hedging_check().id, "accepted", "hedging is a known failure")
    critic = ScriptedCritic([MODEL_FINDING])
    paid = False
    answer = critic.structured

    async def paying(*args: Any, **kwargs: Any) -> Any:
        nonlocal paid
        paid = True
        return await answer(*args, **kwargs)

    after_paid: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_: after_paid.append(statement) if paid else None)
    monkeypatch.setattr(critic, "structured", paying)
    critique = await write_critique(TASK, DRAFT, critic, load_prompt("critique"), store=store)  # type: ignore[arg-type]
    assert paid and intervention_source(hedging_check().id) in {f.source for f in critique.findings}
    assert after_paid and after_paid[0].lstrip().upper().startswith("INSERT INTO CRITIQUES"), after_paid[:2]


async def test_a_short_task_is_checked_on_the_event_loop_and_a_long_context_in_a_worker_thread(
        store, monkeypatch) -> None:
    """A hop to a worker thread costs more than checking a short draft; a long context takes milliseconds."""
    import threading

    from oversight.refine import critique as stage

    where: list[bool] = []
    real = stage.check_findings

    def check_findings(*args: Any, **kwargs: Any) -> Any:
        where.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(stage, "check_findings", check_findings)
    long_task = TASK.model_copy(update={"id": "t2", "context": TASK.context + " Filler sentence here." * 100})
    store.add_tasks([TASK, long_task])
    for task in (TASK, long_task):
        draft = DRAFT.model_copy(update={"id": f"d-{task.id}", "task_id": task.id})
        store.save_draft(draft)
        await write_critique(task, draft, ScriptedCritic([MODEL_FINDING]), load_prompt("critique"),  # type: ignore[arg-type]
                             store=store)
    assert where == [True, False]
