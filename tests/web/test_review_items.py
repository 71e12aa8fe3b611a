"""The review page's item handling over real HTTP: giving items back, leases, calibration items."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from oversight.review import calibration
from oversight.schemas import CalibrationItem, Refinement, Task
from tests.support.clock import Clock
from tests.web.conftest import Site, csrf_of, default_items


def claim_next(client: httpx.Client, **filters: str) -> httpx.Response:
    queue = client.get("/queue")
    return client.post("/queue/next", data={"csrf": csrf_of(queue.text), **filters})


def test_giving_back_an_item_someone_else_holds_or_an_unknown_one_is_refused(site: Site) -> None:
    ana, ben = site.client("ana"), site.client("ben")
    held = claim_next(ben, domain="web").headers["location"].removeprefix("/items/")
    csrf = csrf_of(ana.get("/queue").text)
    theirs = ana.post(f"/items/{held}/release", data={"csrf": csrf})
    assert theirs.status_code == 409 and "ben holds it" in theirs.text
    assert site.project.store.review_lease(held).reviewer == "ben"  # type: ignore[union-attr]
    unknown = ana.post("/items/no-such-task/release", data={"csrf": csrf})
    assert unknown.status_code == 404 and "no-such-task" in unknown.text
    mine = ben.post(f"/items/{held}/release", data={"csrf": csrf_of(ben.get("/queue").text)})
    assert mine.status_code == 303 and mine.headers["location"] == "/queue?flash=released"
    assert site.project.store.review_lease(held) is None


def test_removing_an_unknown_calibration_item_is_refused(site: Site) -> None:
    lea = site.client("lea")
    csrf = csrf_of(lea.get("/lead/calibration").text)
    removed = lea.post("/lead/calibration/no-such-task/remove", data={"csrf": csrf})
    assert removed.status_code == 404 and "no calibration item" in removed.text




def _calibration_site(site_factory: Any) -> Site:
    """The default items and one calibration item, 'calib', whose expert is the lead lea."""
    site = site_factory([*default_items(),
                         (Task(id="calib", prompt="Capital of Peru? One word.", domain="geo"), "Lima is it.", [])])
    store = site.project.store
    draft = store.drafts_of_task("calib")[-1]
    store.save_calibration_item(CalibrationItem(task_id="calib", draft_id=draft.id, decision="edit",
                                                refined_text="Lima", expert="lea"))
    return site


def test_the_expert_is_never_served_their_own_calibration_item_nor_counted(site_factory: Any) -> None:
    site = _calibration_site(site_factory)
    store, lea = site.project.store, site.client("lea")
    assert claim_next(lea).headers["location"].startswith("/items/")  # not their own item
    assert store.next_calibration_item("lea") is None
    own = lea.get("/calibration/calib")
    assert own.status_code == 403 and "expert" in own.text
    refused = lea.post("/calibration/calib", data={"csrf": csrf_of(lea.get("/queue").text), "decision": "accept"})
    assert refused.status_code == 403
    assert store.calibration_answer("calib", "lea") is None
    # an answer the expert gave before this was refused is not counted as agreeing with themself
    item = store.calibration_item("calib")
    draft = store.get_draft(item.draft_id)
    mine = Refinement(task_id="calib", draft_id=draft.id, decision="edit", refined_text="Lima", reviewer="lea")
    store.save_calibration_answer(calibration.score(item, mine, draft))
    people, pairs = calibration.agreement(store)
    assert [p.reviewer for p in people] == [] and pairs == []


def test_calibration_time_is_from_when_the_server_served_the_item(site_factory: Any) -> None:
    site = _calibration_site(site_factory)
    clock = Clock()
    site.project.store.clock = clock
    ana = site.client("ana")
    assert claim_next(ana).headers["location"] == "/calibration/calib"
    page = ana.get("/calibration/calib").text
    clock.move(60)
    ana.get("/calibration/calib")  # a reload does not restart the clock
    clock.move(35)
    done = ana.post("/calibration/calib", data={"csrf": csrf_of(page), "decision": "accept",
                                                "started_at": "2000-01-01T00:00:00+00:00"})
    assert done.status_code == 303
    assert site.project.store.calibration_answer("calib", "ana").refinement.seconds_spent == 95.0  # type: ignore[union-attr]


def test_opening_a_free_item_by_its_address_keeps_the_calibration_schedule(site_factory: Any) -> None:
    site = _calibration_site(site_factory)
    ana = site.client("ana")
    opened = ana.get("/items/cap-fr")  # calibration is due first: the address does not skip it
    assert opened.status_code == 303 and opened.headers["location"] == "/calibration/calib"
    assert site.project.store.review_lease("cap-fr") is None
    page = ana.get("/calibration/calib").text
    ana.post("/calibration/calib", data={"csrf": csrf_of(page), "decision": "accept"})
    assert ana.get("/items/cap-fr").status_code == 200  # nothing due now: the free item is theirs
    assert site.project.store.review_lease("cap-fr").reviewer == "ana"  # type: ignore[union-attr]


ODD_ID = "dir/sub#frag?q=1 100% ../é"


def test_an_id_with_slashes_hashes_dots_and_unicode_works_end_to_end(site_factory: Any) -> None:
    """Claim, the item page, submit, the done page, compare: each address encodes the id, each route decodes it."""
    import re
    from html import unescape
    from urllib.parse import parse_qs, quote, urlsplit

    site = site_factory([(Task(id=ODD_ID, prompt="Capital of Peru? One word.", domain="odd"), "Lima is it.", [])])
    ana = site.client("ana")
    claimed = claim_next(ana).headers["location"]
    assert claimed == "/items/" + quote(ODD_ID, safe="")
    page = ana.get(claimed)
    assert page.status_code == 200, page.text
    assert unescape(re.search(r"<code>([^<]*)</code>", page.text).group(1)) == ODD_ID  # type: ignore[union-attr]
    action = unescape(re.search(r'id="refine-form" method="post" action="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    assert action == claimed
    release = unescape(re.search(r'action="([^"]+/release)"', page.text).group(1))  # type: ignore[union-attr]
    assert release == claimed + "/release"
    done = ana.post(action, data={"csrf": csrf_of(page.text), "decision": "edit", "refined_text": "Lima"})
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/done/" + quote(ODD_ID, safe="") + "?r=")
    shown = ana.get(done.headers["location"])
    assert shown.status_code == 200 and "Lima" in shown.text
    [refinement] = site.project.store.refinements_of_task(ODD_ID)
    assert refinement.refined_text == "Lima"
    compare = ana.get("/tasks/" + quote(ODD_ID, safe=""))
    assert compare.status_code == 200 and "Lima" in compare.text
    assert ana.get("/items/dir/sub").status_code == 404  # an unencoded slash is not the id's
    signed_out = site.client().get(claimed)  # sign-in comes back to the same item
    assert parse_qs(urlsplit(signed_out.headers["location"]).query)["next"] == [claimed]


def test_the_page_renews_its_lease_and_only_for_its_holder(site_factory: Any) -> None:
    site = site_factory(review_lease_seconds=600.0)
    clock = Clock()
    site.project.store.clock = clock
    ana, ben = site.client("ana"), site.client("ben")
    item = claim_next(ana, domain="web").headers["location"]
    page = ana.get(item).text
    assert 'id="lease"' in page and f'data-renew="{item}/lease"' in page
    assert ana.post(item + "/lease", data={}).status_code == 403  # CSRF-checked like every form
    clock.move(500)
    renewed = ana.post(item + "/lease", data={"csrf": csrf_of(page)})
    assert renewed.status_code == 200, renewed.text
    until = site.project.store.review_lease("xss").lease_until  # type: ignore[union-attr]
    assert until == clock.now + timedelta(seconds=600)
    assert renewed.json() == {"lease_until": until.isoformat(), "server_now": clock.now.isoformat()}
    theirs = ben.post(item + "/lease", data={"csrf": csrf_of(ben.get("/queue").text)})
    assert theirs.status_code == 409 and "ana holds it" in theirs.json()["error"]
    clock.move(700)  # her lease ran out; ben takes the item; her page's next renewal is refused
    assert claim_next(ben, domain="web").headers["location"] == item
    lost = ana.post(item + "/lease", data={"csrf": csrf_of(page)})
    assert lost.status_code == 409 and "ben holds it" in lost.json()["error"]


def test_a_refused_submit_shows_the_page_again_with_everything_typed(site_factory: Any) -> None:
    site = site_factory(review_lease_seconds=600.0)
    clock = Clock()
    site.project.store.clock = clock
    ana, ben = site.client("ana"), site.client("ben")
    item = claim_next(ana, domain="geo").headers["location"]
    assert item == "/items/cap-fr"
    page = ana.get(item).text
    clock.move(601)
    assert claim_next(ben, domain="geo").headers["location"] == item  # her lease ran out: ben took it
    refused = ana.post(item, data={"csrf": csrf_of(page), "decision": "edit", "refined_text": "Paris",
                                   "tags": "verbose, ignores-instruction", "rationale": "One word was asked.",
                                   "verdict_0": "wrong", "confidence": "4"})
    assert refused.status_code == 409
    assert "not recorded" in refused.text and "ben" in refused.text
    assert 'name="decision" value="edit" checked' in refused.text
    assert ">\nParis</textarea>" in refused.text
    assert 'value="verbose, ignores-instruction"' in refused.text
    assert "One word was asked.</textarea>" in refused.text
    assert 'name="verdict_0" value="wrong" checked' in refused.text
    assert 'name="confidence" value="4" checked' in refused.text
    assert 'id="lease"' not in refused.text  # no countdown, no renewing of an item that is not hers
    assert site.project.store.refinements_of_task("cap-fr") == []


def test_a_paused_trainer_is_sent_no_calibration_item_either(site_factory: Any) -> None:
    """A calibration item is due first of all; a paused trainer meets the pause, not the item (by the
    queue's way or by its address), and no serving of it starts their clock."""
    from oversight.review import qualify

    site = _calibration_site(site_factory)
    store, ana = site.project.store, site.client("ana")
    qualify.pause(store, "ana", by="lea", reason="misses planted errors")
    refused = claim_next(ana)
    assert refused.status_code == 403 and "misses planted errors" in refused.text
    opened = ana.get("/calibration/calib")
    assert opened.status_code == 403 and "misses planted errors" in opened.text
    assert store.calibration_served_at("calib", "ana") is None
    qualify.resume(store, "ana")
    assert claim_next(ana).headers["location"] == "/calibration/calib"
