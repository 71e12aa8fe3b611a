"""An accepted eval check runs on the drafts waiting for review, as a finding naming it (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from oversight import review
from oversight.cli import cli
from oversight.config import load_settings
from oversight.errors import InterventionError
from oversight.intervene.service import decide
from oversight.pipelines import draft_tasks
from oversight.project import Project
from oversight.refine.checks import intervention_source
from oversight.schemas import CheckCriterion, Critique, Draft, EvalCheck, Finding, Intervention, Refinement, Task
from oversight.store import Store
from tests.support.stub_server import StubServer


def forbidding(text: str, pattern_id: str = "p_hedge") -> Intervention:
    payload = EvalCheck(criterion=CheckCriterion(kind="forbidden", value=text, description=f"no {text!r}"))
    return Intervention(id=Intervention.derive_id(pattern_id, payload), pattern_id=pattern_id, kind="eval_check",
                        title=f"Never {text!r}", payload=payload)


MODEL_FINDING = Finding(quote="Paris", issue="Too short.", severity="low", category="style")


def queue(store: Store) -> None:
    """t1 waits for review, t2 was refined; both drafts hedge."""
    for n in ("1", "2"):
        store.add_tasks([Task(id=f"t{n}", prompt="Capital of France?")])
        store.save_draft(Draft(id=f"d{n}", task_id=f"t{n}", model="m", prompt_name="draft", prompt_version="x",
                               text="I think it is Paris."))
        store.save_critique(Critique(id=f"c{n}", draft_id=f"d{n}", task_id=f"t{n}", model="critic",
                                     prompt_name="critique", prompt_version="v", findings=[MODEL_FINDING]))
    store.save_refinement(Refinement(task_id="t2", draft_id="d2", critique_id="c2", decision="accept"))


def test_an_accepted_eval_check_shows_on_a_waiting_draft_and_not_on_answered_ones(store: Store) -> None:
    queue(store)
    hedge, other = forbidding("I think"), forbidding("Paris", "p_other")
    store.save_interventions([hedge, other])
    decide(store, other.id, "rejected", "Paris is right")  # a rejected check adds nothing
    assert store.get_critique("c1").findings == [MODEL_FINDING]
    accepted = decide(store, hedge.id, "accepted", "trainers keep cutting hedges")
    assert accepted.status == "accepted"
    findings = store.get_critique("c1").findings
    assert findings[0] == MODEL_FINDING  # the trainer's verdicts still point at the same findings
    assert [(f.source, f.quote, f.category) for f in findings[1:]] == [(intervention_source(hedge.id), "I think",
                                                                        "other")]
    assert hedge.id in findings[1].issue and "Never 'I think'" in findings[1].issue
    assert store.get_critique("c2").findings == [MODEL_FINDING]  # answered already: not reopened
    with pytest.raises(InterventionError, match="already accepted"):
        decide(store, hedge.id, "accepted", "again")
    assert len(store.get_critique("c1").findings) == 2  # nothing added twice, nothing half-done


def test_accepting_from_the_command_line_checks_the_waiting_drafts(store_url: str) -> None:
    hedge = forbidding("I think")
    with Store.open(store_url) as store:
        queue(store)
        store.save_interventions([hedge])
    result = CliRunner().invoke(cli, ["--db", store_url, "interventions", "accept", hedge.id, "--reason", "hedges"])
    assert result.exit_code == 0, result.output
    with Store.open(store_url) as store:
        assert [f.source for f in store.get_critique("c1").findings] == ["model", intervention_source(hedge.id)]


@pytest.fixture
def project(store_url: str) -> Any:
    with StubServer() as stub:
        settings = load_settings(db=store_url, model="openai/stub", api_base=stub.api_base, api_key="sk-test")
        with Project.open(settings) as opened:
            opened.store.add_tasks([Task(id="a", prompt="Capital of France?")])
            yield opened


async def test_a_trainer_judges_the_finding_of_a_check_accepted_while_the_draft_waited(project: Project) -> None:
    await draft_tasks(project)  # the stub drafts "Stub answer to: ..." and its critic finds one thing
    before = await review.item(project, "a")
    stub = forbidding("Stub answer")
    project.store.save_interventions([stub])
    decide(project.store, stub.id, "accepted", "no stub answers")
    item = await review.item(project, "a")
    assert item.critique.findings[:len(before.critique.findings)] == before.critique.findings
    index, added = len(before.critique.findings), item.critique.findings[-1]
    assert (added.source, added.quote) == (intervention_source(stub.id), "Stub answer")
    # the thread paused with the critique it had; the trainer's verdict on the new finding is recorded
    saved = await review.submit(project, "a", {"decision": "reject", "finding_verdicts": [
        {"finding": index, "verdict": "right"}]})
    assert [(v.finding, v.verdict) for v in saved.finding_verdicts] == [(index, "right")]
    assert project.store.task_state("a").state == "refined"
