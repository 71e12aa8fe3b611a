"""A trainer's standing at the claim: paused trainers get no item, expert-only items go to the qualified,
and both hold across two servers sharing one database (two Projects, and a separate process)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight import review
from oversight.config import load_settings
from oversight.errors import NotQualifiedError, TrainerPausedError
from oversight.project import Project
from oversight.review import qualify
from oversight.schemas import (
    Assessment,
    GoldAnswer,
    GoldItem,
    GroupRoute,
    PlantedError,
    Refinement,
    RoutingRule,
    Task,
)
from tests.support.review_seed import seed_items

ROOT = Path(__file__).resolve().parents[2]
LAW_TO_EXPERTS = RoutingRule(rules=[GroupRoute(field="domain", value="law", route="expert", raters=1)],
                             default=GroupRoute(field="all", value=None, route="single_rater", raters=1))


def _settings(db: str) -> Any:
    return load_settings(db=db, model="openai/x", api_base="http://127.0.0.1:9/v1", api_key="sk-test")


@pytest.fixture
def open_project(store_url: str) -> Iterator[Callable[[], Project]]:
    """Projects on one database, each with its own engine (as each server worker has)."""
    opened: list[Project] = []

    def make() -> Project:
        opened.append(Project.open(_settings(store_url)))
        return opened[-1]

    yield make
    for project in opened:
        project.close()


def _seed(project: Project) -> None:
    seed_items(project, [(Task(id="law-1", prompt="Is this clause valid?", domain="law"), "It is valid.", []),
                         (Task(id="geo-1", prompt="Capital of Chad?", domain="geo"), "N'Djamena.", []),
                         (Task(id="geo-2", prompt="Capital of Peru?", domain="geo"), "Lima.", [])])
    project.store.save_refinement(Refinement(task_id="geo-0", draft_id="d0", decision="accept", reviewer="ann"))


def _qualify_by_assessment(project: Project, reviewer: str, domain: str) -> None:
    """The reviewer answers a one-item assessment for ``domain`` and catches its planted error."""
    item = GoldItem(kind="planted", source_task_id="t1", source_draft_id="d1", prompt="How tall?", text="It is 13 m.",
                    domain=domain, made_by="lea",
                    plant=PlantedError(kind="wrong_number", original="12", planted="13", start=6))
    store = project.store
    store.save_gold_items([item])
    store.save_assessment(Assessment(name=f"{domain}-entry", domain=domain, items=[item.id],
                                     pass_rule={"min_items": 1, "catch_rate_lower": 0.0}))
    refinement = Refinement(task_id=f"t_copy_{reviewer}", draft_id="dx", decision="edit", refined_text="It is 12 m.",
                            reviewer=reviewer)
    store.save_gold_answer(GoldAnswer(gold_id=item.id, task_id=refinement.task_id, reviewer=reviewer, kind="planted",
                                      domain=domain, assessment=f"{domain}-entry", refinement=refinement, caught=True))


async def test_a_paused_trainer_gets_a_clear_error_and_no_item(open_project: Callable[[], Project]) -> None:
    project = open_project()
    _seed(project)
    qualify.pause(project.store, "ann", by="lea", reason="accepts planted errors")
    with pytest.raises(TrainerPausedError, match=r"paused by lea.*accepts planted errors"):
        await review.claim(project, "ann")
    with pytest.raises(TrainerPausedError):
        await review.held_item(project, "geo-1", "ann")
    assert all(project.store.review_lease(t) is None for t in ("law-1", "geo-1", "geo-2"))
    qualify.resume(project.store, "ann")
    assert (await review.claim(project, "ann")) is not None


async def test_expert_only_items_go_only_to_trainers_qualified_in_their_domain(
        open_project: Callable[[], Project]) -> None:
    project = open_project()
    _seed(project)
    project.store.save_routing_rule(LAW_TO_EXPERTS)
    taken = [(await review.claim(project, name)) for name in ("ann", "ben", "cara")]
    assert [lease.task_id if lease else None for lease in taken] == ["geo-1", "geo-2", None]
    with pytest.raises(NotQualifiedError, match="not qualified in domain 'law'"):
        await review.held_item(project, "law-1", "cara")
    project.store.change_trainer_standing("cara", lambda s: s.model_copy(update={"qualified": {"law": s.updated_at}}))
    assert (await review.claim(project, "cara")).task_id == "law-1"  # type: ignore[union-attr]


async def test_a_default_route_to_experts_and_a_qualification_everywhere(open_project: Callable[[], Project]) -> None:
    project = open_project()
    _seed(project)
    project.store.save_routing_rule(RoutingRule(
        rules=[GroupRoute(field="domain", value="geo", route="single_rater", raters=1)],
        default=GroupRoute(field="all", value=None, route="expert", raters=1)))
    assert (await review.claim(project, "ann", domain="law")) is None
    project.store.change_trainer_standing("ann", lambda s: s.model_copy(update={"qualified": {"*": s.updated_at}}))
    assert (await review.claim(project, "ann", domain="law")).task_id == "law-1"  # type: ignore[union-attr]


async def test_an_assessment_answered_in_full_qualifies_at_the_next_claim(open_project: Callable[[], Project]) -> None:
    project = open_project()
    _seed(project)
    project.store.save_routing_rule(LAW_TO_EXPERTS)
    _qualify_by_assessment(project, "ann", "law")
    assert (await review.claim(project, "ann", domain="law")).task_id == "law-1"  # type: ignore[union-attr]
    assert [(r.reviewer, r.passed) for r in project.store.assessment_results()] == [("ann", True)]


async def test_a_pause_and_a_qualification_decided_on_one_server_hold_on_the_other(
        open_project: Callable[[], Project]) -> None:
    first, second = open_project(), open_project()
    _seed(first)
    first.store.save_routing_rule(LAW_TO_EXPERTS)
    assert (await review.claim(second, "ann", domain="law")) is None
    _qualify_by_assessment(first, "ann", "law")
    qualify.record(first.store, "law-entry", "ann")
    assert (await review.claim(second, "ann", domain="law")).task_id == "law-1"  # type: ignore[union-attr]
    qualify.pause(first.store, "ann", by="lea", reason="misses numbers")
    with pytest.raises(TrainerPausedError, match="misses numbers"):
        await review.claim(second, "ann")
    qualify.resume(second.store, "ann")
    assert (await review.claim(first, "ann", domain="law")).task_id == "law-1"  # type: ignore[union-attr]
    standing = first.store.trainer_standing("ann")
    assert not standing.paused and set(standing.qualified) == {"law"}  # neither decision wrote over the other


CLAIM_IN_ANOTHER_PROCESS = """
import asyncio, json, sys
from oversight import review
from oversight.config import load_settings
from oversight.errors import TrainerPausedError
from oversight.project import Project

settings = load_settings(db=sys.argv[1], model="openai/x", api_base="http://127.0.0.1:9/v1", api_key="sk-test")
with Project.open(settings, create=False) as project:
    try:
        lease = asyncio.run(review.claim(project, sys.argv[2], domain=sys.argv[3] or None))
        print(json.dumps({"task_id": lease.task_id if lease else None}))
    except TrainerPausedError as exc:
        print(json.dumps({"refused": str(exc)}))
"""


def _claim_elsewhere(url: str, reviewer: str, domain: str = "") -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", CLAIM_IN_ANOTHER_PROCESS, url, reviewer, domain], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_another_process_honours_a_pause_and_a_qualification(store_url: str,
                                                              open_project: Callable[[], Project]) -> None:
    project = open_project()
    _seed(project)
    project.store.save_routing_rule(LAW_TO_EXPERTS)
    qualify.pause(project.store, "ann", by="lea", reason="rubber-stamping")
    assert "rubber-stamping" in _claim_elsewhere(store_url, "ann")["refused"]
    qualify.resume(project.store, "ann")
    assert _claim_elsewhere(store_url, "ann", "law") == {"task_id": None}
    _qualify_by_assessment(project, "ann", "law")
    qualify.record(project.store, "law-entry", "ann")
    assert _claim_elsewhere(store_url, "ann", "law") == {"task_id": "law-1"}
