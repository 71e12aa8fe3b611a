"""Gold items: made by a lead (planted, expert), met by trainers in the queue at the due rule's rate,
never by the one who made them, never by another trainer, answered as any item and scored, never a refinement."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight import review
from oversight.config import load_settings
from oversight.errors import InputFileError, LeaseError, NotFoundError
from oversight.project import Project
from oversight.refine.answers import RefinementInput
from oversight.refine.plant import points_at
from oversight.review import gold, gold_queue
from oversight.schemas import CalibrationItem, FindingVerdict, GoldCopy, GoldItem, PlantedError, Refinement, Task
from tests.support.clock import Clock
from tests.support.review_seed import finding, seed_items
from tests.support.stub_server import StubServer

BULL = ("The First Battle of Bull Run was fought on July 21, 1861. Union forces under Irvin McDowell met the "
        "Confederates under Joseph E. Johnston. The Union lost 2,896 men. Abraham Lincoln was President.")
BRIDGE = "The bridge is 120 metres long. It opened to traffic in 1932 after four years of work."
ITEMS = [
    (Task(id="bull", prompt="Who led the Union at Bull Run, and when?", context=BULL, domain="history"),
     "Irvin McDowell led the Union army at Bull Run on July 21, 1861. The Union lost 2,896 men that day.",
     [finding("Irvin McDowell", "Could say who led the Confederates.")]),
    (Task(id="bridge", prompt="How long is the bridge?", domain="geo"), BRIDGE,
     [finding("120 metres", "Give the length in feet too."), finding("opened to traffic in 1932", "Unasked for.")]),
    (Task(id="paris", prompt="Capital of France?", domain="geo"),
     "Paris is the capital of France. It sits on the river Seine in the north of the country.", []),
    *[(Task(id=f"q{i}", prompt=f"Question {i}?", domain="geo"), f"Answer number {i} is plain.", []) for i in range(4)],
]


@pytest.fixture
def make_project(tmp_path: Path) -> Iterator[Callable[..., Project]]:
    opened: list[Project] = []

    def make(items: list[Any] | None = None, **settings: Any) -> Project:
        config = load_settings(db=str(tmp_path / f"gold{len(opened)}.db"), model="openai/x",
                               api_base="http://127.0.0.1:9/v1", api_key="sk-test", **settings)
        project = Project.open(config)
        project.store.clock = Clock()
        seed_items(project, items if items is not None else ITEMS, source="batch-1")
        opened.append(project)
        return project

    yield make
    for project in opened:
        project.close()


async def planted(project: Project, task_id: str, kind: str, want: Callable[[GoldItem], bool] = lambda _: True,
                  **options: Any) -> GoldItem:
    """A planted item of one kind in one task, the first seed whose item ``want`` takes."""
    for seed in range(60):
        made = await gold.plant_items(project, made_by="lea", task_ids=[task_id], kinds=[kind], seed=seed, **options)
        if made.items and want(made.items[0]):
            return made.items[0]
    raise AssertionError(f"no seed plants a {kind} in {task_id} as wanted")


def experts(project: Project, n: int, task_id: str = "paris", made_by: str = "lea") -> list[GoldItem]:
    """n expert items on one draft (n experts accepted it), kept."""
    draft = project.store.drafts_of_task(task_id)[-1]
    items = [gold.expert_item(project.store, task_id=task_id, draft_id=draft.id, critique_id=None, made_by=made_by,
                              answer=RefinementInput(decision="accept", reviewer=f"expert{i}")) for i in range(n)]
    gold.keep(project.store, items)
    return items


# -- making ---------------------------------------------------------------------------------------


async def test_a_planted_item_keeps_the_findings_that_still_fit_and_runs_the_checks_again(make_project: Any) -> None:
    project = make_project()
    length = await planted(project, "bridge", "wrong_number", lambda i: i.plant.original == "120")
    assert [f.quote for f in length.findings] == ["opened to traffic in 1932"]  # "120 metres" is no longer there
    assert length.text == BRIDGE.replace("120", length.plant.planted) and length.critic_pointed is False
    year = await planted(project, "bridge", "wrong_number", lambda i: i.plant.original == "1932")
    assert [f.quote for f in year.findings] == ["120 metres"]
    limit = await planted(project, "bridge", "ignored_instruction")
    assert limit.prompt.endswith(limit.plant.planted) and limit.text == BRIDGE
    checks = [f for f in limit.findings if f.source != "model"]
    assert checks and limit.critic_pointed is True  # the model-free check of the new instruction points at it
    assert limit.critic_model == project.critic.model
    assert limit.source_critique_id == project.store.task_state("bridge")["critique_id"]
    assert limit.critique_meta["prompt_version"] == project.critique_prompt.version


async def test_a_swapped_fact_is_planted_only_where_the_task_has_a_context(make_project: Any) -> None:
    project = make_project()
    made = await gold.plant_items(project, made_by="lea", task_ids=["bull", "paris"], kinds=["swapped_fact"])
    assert [i.source_task_id for i in made.items] == ["bull"] and [t for t, _ in made.skipped] == ["paris"]
    swap = made.items[0].plant
    assert swap.kind == "swapped_fact" and swap.original in BULL and swap.planted in BULL


async def test_a_decoy_is_a_wrong_finding_on_a_sentence_without_the_error(make_project: Any) -> None:
    project = make_project()
    item = await planted(project, "bridge", "unsupported_sentence", decoys=1.0)
    assert item.decoy is not None
    decoy = item.findings[item.decoy]
    assert decoy.quote in item.text and item.plant.planted.strip() not in decoy.quote
    assert decoy.issue in gold.DECOY_ISSUES and decoy.source == "model"
    assert decoy.quote not in [f.quote for i, f in enumerate(item.findings) if i != item.decoy]
    assert item.critic_pointed == any(points_at(item.plant, item.text, f)
                                      for i, f in enumerate(item.findings) if i != item.decoy)
    assert (await planted(project, "bridge", "unsupported_sentence")).decoy is None  # decoys=0


async def test_planting_draws_count_tasks_with_a_seed_and_keeps_each_item_once(make_project: Any) -> None:
    project = make_project()
    first = await gold.plant_items(project, made_by="lea", count=3, seed=7, domain="geo")
    again = await gold.plant_items(project, made_by="lea", count=3, seed=7, domain="geo")
    assert [i.id for i in first.items] == [i.id for i in again.items] and len(first.items) == 3
    assert {i.domain for i in first.items} == {"geo"}
    assert gold.keep(project.store, first.items) == (3, 0)
    assert gold.keep(project.store, again.items) == (0, 3)
    with pytest.raises(NotFoundError, match="nope"):
        await gold.plant_items(project, made_by="lea", task_ids=["nope"])


async def test_recritique_asks_the_projects_critic_about_the_planted_draft(tmp_path: Path) -> None:
    with StubServer() as stub:
        settings = load_settings(db=str(tmp_path / "stub.db"), model="openai/stub", api_base=stub.api_base,
                                 api_key="sk-test")
        with Project.open(settings) as project:
            seed_items(project, ITEMS[1:2], source="batch-1")
            made = await gold.plant_items(project, made_by="lea", task_ids=["bridge"], recritique=True)
            asked = [r for r in stub.requests if r["kind"] == "critique"]
    item = made.items[0]
    assert len(asked) == 1 and item.critique_summary == "A canned critique from the stub server."
    assert item.critic_model == project.critic.model and item.source_critique_id is None
    assert all(f.quote != "Stub answer" for f in item.findings)  # not in the draft: held back, as in any critique


def test_expert_items_from_a_file_a_refinement_and_the_calibration_items(make_project: Any, tmp_path: Path) -> None:
    project = make_project()
    store = project.store
    path = tmp_path / "experts.jsonl"
    path.write_text(json.dumps({"task_id": "bridge", "decision": "edit", "refined_text": "It is 120 m long.",
                                "tags": "too-long, off-topic"}) + "\n" + json.dumps({"task_id": "paris",
                                                                                    "decision": "accept"}) + "\n")
    items = gold.read_expert_items(store, path, made_by="lea", expert="ed")
    bridge = items[0]
    assert (bridge.kind, bridge.expert, bridge.decision, bridge.tags) == ("expert", "ed", "edit", ["too-long", "off-topic"])
    assert [f.quote for f in bridge.findings] == ["120 metres", "opened to traffic in 1932"] and bridge.text == BRIDGE
    assert items[1].critic_model == project.critic.model  # its draft's critique (no findings) is shown as it was
    draft = store.drafts_of_task("paris")[-1]
    made = gold.from_refinement(store, Refinement(task_id="paris", draft_id=draft.id, decision="accept",
                                                  reviewer="eve"), made_by="lea")
    assert (made.expert, made.id) == ("eve", gold.from_refinement(store, Refinement(
        task_id="paris", draft_id=draft.id, decision="reject", reviewer="eve"), made_by="lea").id)
    store.save_calibration_item(CalibrationItem(task_id="bridge", draft_id=store.drafts_of_task("bridge")[-1].id,
                                                decision="reject", expert="ed"))
    assert [(i.source_task_id, i.decision) for i in gold.from_calibration(store, made_by="lea")] == [("bridge", "reject")]


@pytest.mark.parametrize(("line", "field", "row"), [
    (2, "task_id", {"task_id": "nope", "decision": "accept", "expert": "ed"}),
    (2, "decision", {"task_id": "paris", "decision": "maybe", "expert": "ed"}),
    (2, "decision", {"task_id": "paris", "decision": "skip", "expert": "ed"}),
    (2, "refined_text", {"task_id": "paris", "decision": "rewrite", "expert": "ed"}),
    (2, "expert", {"task_id": "paris", "decision": "accept", "expert": ""}),
    (2, "task_id", {"task_id": "bridge", "decision": "accept", "expert": "ed"}),  # the same task twice
])
def test_a_bad_expert_file_names_its_line_and_field(make_project: Any, tmp_path: Path, line: int, field: str,
                                                    row: dict[str, Any]) -> None:
    project = make_project()
    path = tmp_path / "experts.jsonl"
    path.write_text(json.dumps({"task_id": "bridge", "decision": "accept", "expert": "ed"}) + "\n" + json.dumps(row))
    with pytest.raises(InputFileError) as raised:
        gold.read_expert_items(project.store, path, made_by="lea")
    assert (raised.value.path, raised.value.line, raised.value.field) == (str(path), line, field)


# -- the due rule ---------------------------------------------------------------------------------


async def test_at_rate_one_a_gold_item_comes_first_and_at_rate_zero_never(make_project: Any) -> None:
    never = make_project(gold_rate=0.0)
    experts(never, 3)
    for _ in range(3):
        lease = await review.claim(never, "ana")
        assert never.store.gold_copy(lease.task_id) is None
        await review.submit(never, lease.task_id, {"decision": "accept"}, reviewer="ana")
    always = make_project(gold_rate=1.0)
    experts(always, 2)
    served = []
    for _ in range(3):
        lease = await review.claim(always, "ana")
        served.append(always.store.gold_copy(lease.task_id) is not None)
        await review.submit(always, lease.task_id, {"decision": "accept"}, reviewer="ana")
    assert served == [True, True, False]  # two items left to meet, then the queue's own


async def test_the_due_rule_is_a_seeded_draw_per_trainer_and_items_answered(make_project: Any) -> None:
    rate, answers = 0.4, 7
    expected = [gold_queue.is_due("ana", n, rate) for n in range(answers)]
    assert True in expected and False in expected  # the rate draws both ways here
    runs = []
    for _ in range(2):
        project = make_project(gold_rate=rate)
        experts(project, answers)
        served = []
        for _ in range(answers):
            lease = await review.claim(project, "ana")
            again = await review.claim(project, "ana")  # claimed again before answering: the same item
            assert again.task_id == lease.task_id
            served.append(project.store.gold_copy(lease.task_id) is not None)
            await review.submit(project, lease.task_id, {"decision": "accept"}, reviewer="ana")
        runs.append(served)
    assert runs == [expected, expected]


async def test_the_item_served_is_the_public_draw_among_those_left(make_project: Any) -> None:
    project = make_project(gold_rate=1.0)
    items = experts(project, 6)
    met: set[str] = set()
    for answered in range(4):
        expected = gold_queue.draw(project.store.gold_items(), "ana", answered, met=met)
        lease = await review.claim(project, "ana")
        copy = project.store.gold_copy(lease.task_id)
        assert expected is not None and copy is not None and copy.gold_id == expected.id
        met.add(copy.gold_id)
        await review.submit(project, lease.task_id, {"decision": "accept"}, reviewer="ana")
    assert gold_queue.draw(items, "lea", 0) is None  # she made them all
    assert gold_queue.draw(items, "ana", 0, met={i.id for i in items}) is None  # all met
    assert gold_queue.draw(items, "ana", 9) == gold_queue.draw(list(items), "ana", 9)  # seeded: the same each time


async def test_a_trainer_never_meets_gold_they_made_or_are_the_expert_of(make_project: Any) -> None:
    project = make_project(gold_rate=1.0)
    experts(project, 1, made_by="lea")  # its expert is expert0
    for who in ("lea", "expert0"):
        lease = await review.claim(project, who)
        assert project.store.gold_copy(lease.task_id) is None
    lease = await review.claim(project, "ana")
    assert project.store.gold_copy(lease.task_id) is not None


async def test_an_unanswered_gold_copy_comes_back_first_even_by_another_address(make_project: Any) -> None:
    project = make_project(gold_rate=1.0)
    experts(project, 3)
    copy = (await review.claim(project, "ana")).task_id
    await review.release(project, copy, "ana")
    assert (await review.claim(project, "ana")).task_id == copy
    await review.release(project, copy, "ana")
    item, lease = await review.held_item(project, "q1", "ana")  # by an address: the queue's way, as calibration
    assert lease.task_id == item.task.id == copy
    assert len(project.store.gold_copies("ana")) == 1
    with pytest.raises(NotFoundError, match="no review to reset"):
        await review.reset(project, copy)  # a gold copy has no refine thread


# -- another trainer's copy ---------------------------------------------------------------------


async def test_another_trainers_gold_copy_is_as_unknown_to_them_as_a_missing_task(make_project: Any) -> None:
    project = make_project(items=ITEMS[2:3], gold_rate=1.0)  # one ordinary item
    experts(project, 1)
    copy = (await review.claim(project, "ana")).task_id
    project.settings.gold_rate = 0.0
    assert (await review.claim(project, "ben")).task_id == "paris"
    assert await review.claim(project, "cat") is None  # only ana's copy is free: nobody else's to take
    assert await review.claim(project, "cat", task_id=copy) is None

    async def refusal(task_id: str, call: Callable[[str], Any]) -> str:
        with pytest.raises(NotFoundError) as raised:
            await call(task_id)
        return str(raised.value).replace(task_id, "ID")

    for call in (lambda t: review.item(project, t, "cat"), lambda t: review.held_item(project, t, "cat"),
                 lambda t: review.release(project, t, "cat"), lambda t: review.renew(project, t, "cat"),
                 lambda t: review.submit(project, t, {"decision": "accept"}, reviewer="cat")):
        assert await refusal(copy, call) == await refusal("t_0000000000000000", call)
    assert project.store.gold_answers() == [] and project.store.review_lease(copy).reviewer == "ana"
    with pytest.raises(LeaseError):
        await review.release(project, "paris", "cat")  # an ordinary item says who holds it, as before


# -- answers --------------------------------------------------------------------------------------


async def test_answers_to_gold_copies_are_scored_and_never_refinements(make_project: Any) -> None:
    project = make_project(gold_rate=1.0)
    store = project.store
    item = await planted(project, "bridge", "wrong_number", lambda i: i.plant.original == "120", decoys=1.0)
    gold.keep(store, [item])
    experts(project, 1)
    answered: dict[str, Refinement] = {}
    for _ in range(2):  # the planted item is edited back (caught), the expert's is skipped
        task_id = (await review.claim(project, "ana")).task_id
        shown = await review.item(project, task_id, "ana")
        store.clock.move(42)
        if store.gold_copy(task_id).gold_id == item.id:
            answer = {"decision": "edit", "refined_text": shown.draft.text.replace(item.plant.planted, "120"),
                      "finding_verdicts": [{"finding": item.decoy, "verdict": "right"}]}
            answered["planted"] = await review.submit(project, task_id, answer, reviewer="ana")
        else:
            answered["expert"] = await review.skip(project, task_id, reviewer="ana")
    assert answered["planted"].seconds_spent == 42.0 and answered["expert"].decision == "skip"
    assert store.refinements() == [] and store.count("refinements") == 0 and store.count_refinements() == 0
    assert store.status()["refinements"] == 0
    kept = {a.kind: a for a in store.gold_answers(reviewer="ana")}
    assert (kept["planted"].caught, kept["planted"].deferred, kept["planted"].seconds) == (True, True, 42.0)
    assert kept["planted"].refinement == answered["planted"] and kept["expert"].refinement == answered["expert"]
    assert (kept["expert"].caught, kept["expert"].false_alarm, kept["expert"].decision_agrees) == (None, None, None)
    for kind, state in (("planted", "refined"), ("expert", "skipped")):
        assert store.task_state(kept[kind].task_id).state == state
        assert store.refinements_of_task(kept[kind].task_id) == []
    with pytest.raises(NotFoundError, match="not awaiting review"):
        await review.submit(project, kept["planted"].task_id, {"decision": "accept"}, reviewer="ana")
    assert len(store.gold_answers()) == 2


def _planted_item(**changes: Any) -> GoldItem:
    base = dict(kind="planted", source_task_id="t", source_draft_id="d", prompt="How long?",
                text="The bridge is 121 metres long. It opened in 1932.", made_by="lea",
                plant=PlantedError(kind="wrong_number", original="120", planted="121", start=14),
                findings=[finding("opened in 1932", "Wrong year."), finding("The bridge is", "Vague.")], decoy=1,
                critic_pointed=False)
    return GoldItem(**{**base, **changes})


def _answer(decision: str, text: str | None = None, verdict: str | None = None) -> Refinement:
    verdicts = [FindingVerdict(finding=1, verdict=verdict)] if verdict else []  # type: ignore[arg-type]
    return Refinement(task_id="t_c", draft_id="d_c", decision=decision, refined_text=text, reviewer="ana",
                      finding_verdicts=verdicts, seconds_spent=30)  # type: ignore[arg-type]


@pytest.mark.parametrize(("answer", "caught", "deferred"), [
    (_answer("edit", "The bridge is 120 metres long. It opened in 1932.", "wrong"), True, False),
    (_answer("accept", None, "right"), False, True),
    (_answer("edit", "The bridge is 121 metres long. It opened in 1933.", None), False, None),
    (_answer("reject"), True, None),
    (_answer("skip"), None, None),
])
def test_a_planted_answer_is_caught_or_missed_and_a_decoy_deferred_to(answer: Refinement, caught: bool | None,
                                                                      deferred: bool | None) -> None:
    item = _planted_item()
    from oversight.schemas import Draft

    draft = Draft(id="d_c", task_id="t_c", model="m", prompt_name="draft", prompt_version="v", text=item.text)
    scored = gold_queue.score(item, GoldCopy(task_id="t_c", gold_id=item.id, reviewer="ana"), answer, draft)
    assert (scored.caught, scored.deferred, scored.critic_pointed, scored.seconds) == (caught, deferred, False, 30)
    assert (scored.false_alarm, scored.decision_agrees) == (None, None)


@pytest.mark.parametrize(("expert", "answer", "false_alarm", "agrees"), [
    ("accept", _answer("edit", "The bridge is long."), True, False),
    ("accept", _answer("reject"), True, False),
    ("accept", _answer("accept"), False, True),
    ("edit", _answer("accept"), None, False),
    ("accept", _answer("skip"), None, None),
])
def test_an_expert_answer_measures_false_alarms_and_agreement(expert: str, answer: Refinement,
                                                              false_alarm: bool | None, agrees: bool | None) -> None:
    from oversight.schemas import Draft

    item = _planted_item(kind="expert", plant=None, decoy=None, critic_pointed=None, decision=expert, expert="ed",
                         refined_text="The bridge is 120 metres long." if expert == "edit" else None)
    draft = Draft(id="d_c", task_id="t_c", model="m", prompt_name="draft", prompt_version="v", text=item.text)
    scored = gold_queue.score(item, GoldCopy(task_id="t_c", gold_id=item.id, reviewer="ana"), answer, draft)
    assert (scored.false_alarm, scored.decision_agrees, scored.caught) == (false_alarm, agrees, None)
    assert (scored.text_similarity == 1.0) is (answer.decision == "accept" and expert == "accept")


async def test_an_unfinished_assessment_comes_first_then_production_and_its_pass_qualifies(make_project: Any) -> None:
    from oversight.review import qualify
    from oversight.schemas import Assessment, PassRule

    project = make_project(gold_rate=0.0)  # no random gold: what comes first is the assessment's alone
    items = experts(project, 2)
    project.store.save_assessment(Assessment(name="start", items=[i.id for i in items],
                                             pass_rule=PassRule(catch_rate_lower=0.0, false_alarm_upper=0.2,
                                                                min_items=1)))
    served = []
    for _ in range(3):
        lease = await review.claim(project, "ana")
        copy = project.store.gold_copy(lease.task_id)
        served.append(None if copy is None else (copy.gold_id, copy.assessment))
        await review.submit(project, lease.task_id, {"decision": "accept"}, reviewer="ana")
    assert served[:2] == [(items[0].id, "start"), (items[1].id, "start")] and served[2] is None
    assert [r.passed for r in project.store.assessment_results(reviewer="ana")] == [True]
    assert "*" in project.store.trainer_standing("ana").qualified and qualify.pending(project.store, "ana") is None
