"""A gold item on the review page and in the service's payload: the same as any item, only its ids (and,
planted, its texts) differ; another trainer cannot open it; after the answer, nothing is said unless the
lead turned feedback on."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import httpx
import pytest

from oversight import review
from oversight.refine.answers import RefinementInput
from oversight.review import gold
from oversight.schemas import GoldItem, Task
from tests.support.clock import Clock
from tests.support.review_seed import finding
from tests.web.conftest import Site, csrf_of, default_items
from tests.web.test_review_items import claim_next

TOWER = (Task(id="tw1", prompt="How tall is the tower?", domain="geo"),
         "The tower is 324 metres tall and stands in Paris.", [finding("stands in Paris", "Unasked for.")])
_TIME = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(?:\+00:00|Z)?|\b\d\d:\d\d UTC\b")


def _item(site: Site, kind: str) -> GoldItem:
    """A gold item made by lea from 'tw1': its expert's acceptance, or a number planted in it."""
    store = site.project.store
    if kind == "expert":
        draft = store.drafts_of_task("tw1")[-1]
        return gold.expert_item(store, task_id="tw1", draft_id=draft.id, made_by="lea",
                                critique_id=store.task_state("tw1")["critique_id"],
                                answer=RefinementInput(decision="accept", reviewer="ed"))
    made = asyncio.run(gold.plant_items(site.project, made_by="lea", task_ids=["tw1"], kinds=["wrong_number"]))
    return made.items[0]


def _normalised(text: str, ids: dict[str, str]) -> str:
    for value in sorted(ids, key=len, reverse=True):
        text = text.replace(value, ids[value])
    return re.sub(r"::[0-9a-f]{10}\b", "::SIGNATURE", _TIME.sub("TIME", text))


def _payload(site: Site, task_id: str) -> dict[str, Any]:
    """What the service gives a script for one item (review.item), as JSON."""
    item = asyncio.run(review.item(site.project, task_id, "ana"))
    return {"entry": dataclasses.asdict(item.entry), "task": item.task.model_dump(mode="json"),
            "draft": item.draft.model_dump(mode="json"),
            "critique": item.critique.model_dump(mode="json") if item.critique else None, "arm": item.arm}


def _ids(site: Site, task_id: str) -> dict[str, str]:
    state = site.project.store.task_state(task_id)
    return {task_id: "TASK", state["draft_id"]: "DRAFT", state["critique_id"]: "CRITIQUE"}


@pytest.mark.parametrize("kind", ["expert", "planted"])
def test_a_gold_copy_is_shown_and_served_exactly_as_an_ordinary_item(site_factory: Any, kind: str) -> None:
    site = site_factory([*default_items(), TOWER], gold_rate=0.0)
    store, ana = site.project.store, site.client("ana")
    item = _item(site, kind)
    gold.keep(store, [item])
    ordinary = ana.get("/items/tw1")
    assert ordinary.status_code == 200
    ordinary_row = next(r for r in store.review_queue_page(limit=10, viewer="ana")[1] if r["task_id"] == "tw1")
    ordinary_payload = _payload(site, "tw1")
    ana.post("/items/tw1/release", data={"csrf": csrf_of(ordinary.text)})
    site.project.settings.gold_rate = 1.0
    location = claim_next(ana).headers["location"]
    copy = location.removeprefix("/items/")
    assert location == f"/items/{copy}" and store.gold_copy(copy).gold_id == item.id  # type: ignore[union-attr]
    served = ana.get(location)
    row = next(r for r in store.review_queue_page(limit=10, viewer="ana")[1] if r["task_id"] == copy)
    texts = {} if kind == "expert" else {item.text: "DRAFT TEXT", TOWER[1]: "DRAFT TEXT"}
    assert "gold" not in served.text.lower()
    assert _normalised(served.text, {**_ids(site, copy), **texts}) == _normalised(ordinary.text,
                                                                                 {**_ids(site, "tw1"), **texts})
    assert {k: v for k, v in row.items() if k not in ("task_id", "waiting_since", "lease_until")} == \
        {k: v for k, v in ordinary_row.items() if k not in ("task_id", "waiting_since", "lease_until")}  # the same batch label
    assert _normalised(repr(_payload(site, copy)), {**_ids(site, copy), **texts}) == \
        _normalised(repr(ordinary_payload), {**_ids(site, "tw1"), **texts})


def _answer(client: httpx.Client, task_id: str, page: str) -> httpx.Response:
    sent = client.post(f"/items/{task_id}", data={"csrf": csrf_of(page), "decision": "accept"})
    assert sent.status_code == 303
    return client.get(sent.headers["location"])


@pytest.mark.parametrize("feedback", [False, True])
def test_after_a_gold_answer_the_page_says_nothing_unless_the_lead_turned_feedback_on(site_factory: Any,
                                                                                     feedback: bool) -> None:
    site = site_factory([*default_items(), TOWER], gold_rate=0.0, gold_feedback=feedback)
    store, ana = site.project.store, site.client("ana")
    store.clock = Clock()  # still: the time on each item is the same (the page says it)
    item = _item(site, "planted")
    gold.keep(store, [item])
    ordinary_done = _answer(ana, "tw1", ana.get("/items/tw1").text)
    site.project.settings.gold_rate = 1.0
    copy = claim_next(ana).headers["location"].removeprefix("/items/")
    gold_done = _answer(ana, copy, ana.get(f"/items/{copy}").text)
    answer = store.gold_answer(copy)
    assert answer is not None and answer.caught is False and store.refinements_of_task(copy) == []
    ordinary_ref = store.refinements_of_task("tw1")[0]
    same_shape = (_normalised(gold_done.text, {copy: "TASK", answer.refinement.id: "R"})
                  == _normalised(ordinary_done.text, {"tw1": "TASK", ordinary_ref.id: "R"}))
    assert same_shape is not feedback
    if feedback:
        assert "What this item held" in gold_done.text and "Your answer left it in." in gold_done.text
        assert f"<code>{item.plant.original}</code> was changed to <code>{item.plant.planted}</code>" in gold_done.text
        assert "What this item held" not in ordinary_done.text
    assert ana.get(f"/tasks/{copy}").status_code == 200  # their own answer, where an item shows its refinement


def test_another_trainer_cannot_open_a_gold_copy_by_any_address(site_factory: Any) -> None:
    site = site_factory([*default_items(), TOWER], gold_rate=1.0)
    store, ana, ben, lea = site.project.store, site.client("ana"), site.client("ben"), site.client("lea")
    gold.keep(store, [_item(site, "expert")])
    copy = claim_next(ana).headers["location"].removeprefix("/items/")
    assert store.gold_copy(copy) is not None
    csrf = csrf_of(ben.get("/queue").text)
    for method, path in (("GET", "/items/{}"), ("GET", "/tasks/{}"), ("POST", "/items/{}/release"),
                         ("POST", "/items/{}/lease"), ("POST", "/items/{}")):
        data = {"csrf": csrf, "decision": "accept"} if method == "POST" else None
        theirs = ben.request(method, path.format(copy), data=data)
        unknown = ben.request(method, path.format("t_0000000000000000"), data=data)
        assert theirs.status_code == unknown.status_code == 404, path
        assert theirs.text.replace(copy, "ID") == unknown.text.replace("t_0000000000000000", "ID"), path
    assert copy not in ben.get("/queue").text and copy in ana.get("/queue").text
    assert lea.get(f"/tasks/{copy}").status_code == 200  # a lead may look
    assert store.gold_answers() == [] and store.review_lease(copy).reviewer == "ana"  # type: ignore[union-attr]


def test_the_lead_page_lists_gold_items_with_their_answers_and_retires_one(site_factory: Any) -> None:
    site = site_factory([*default_items(), TOWER], gold_rate=1.0)
    store, ana, lea = site.project.store, site.client("ana"), site.client("lea")
    item = _item(site, "planted")
    gold.keep(store, [item])
    copy = claim_next(ana).headers["location"].removeprefix("/items/")
    _answer(ana, copy, ana.get(f"/items/{copy}").text)
    assert ana.get("/lead/gold").status_code == 403
    listed = lea.get("/lead/gold")
    row = re.search(rf'<tr data-gold="{item.id}">(.*?)</tr>', listed.text, re.DOTALL)
    assert listed.status_code == 200 and row is not None
    assert '<td class="answers">1</td>' in row.group(1) and "wrong number" in row.group(1)
    retired = lea.post(f"/lead/gold/{item.id}/retire", data={"csrf": csrf_of(listed.text)})
    assert retired.status_code == 303 and store.gold_item(item.id).retired  # type: ignore[union-attr]
    assert "Gold item retired." in lea.get(retired.headers["location"]).text
