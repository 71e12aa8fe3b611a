"""The review page's item handling over real HTTP: giving items back, leases, calibration items."""

from __future__ import annotations

import httpx

from tests.web.conftest import Site, csrf_of


def claim_next(client: httpx.Client, **filters: str) -> httpx.Response:
    queue = client.get("/queue")
    return client.post("/queue/next", data={"csrf": csrf_of(queue.text), **filters})


def test_giving_back_an_item_someone_else_holds_or_an_unknown_one_is_refused(site: Site) -> None:
    ana, ben = site.client("ana"), site.client("ben")
    held = claim_next(ben, domain="web").headers["location"].removeprefix("/items/")
    csrf = csrf_of(ana.get("/queue").text)
    theirs = ana.post(f"/items/{held}/release", data={"csrf": csrf})
    assert theirs.status_code == 409 and "ben holds it" in theirs.text
    assert site.runtime.store.review_lease(held).reviewer == "ben"  # type: ignore[union-attr]
    unknown = ana.post("/items/no-such-task/release", data={"csrf": csrf})
    assert unknown.status_code == 404 and "no-such-task" in unknown.text
    mine = ben.post(f"/items/{held}/release", data={"csrf": csrf_of(ben.get("/queue").text)})
    assert mine.status_code == 303 and mine.headers["location"] == "/queue?flash=released"
    assert site.runtime.store.review_lease(held) is None


def test_removing_an_unknown_calibration_item_is_refused(site: Site) -> None:
    lea = site.client("lea")
    csrf = csrf_of(lea.get("/lead/calibration").text)
    removed = lea.post("/lead/calibration/no-such-task/remove", data={"csrf": csrf})
    assert removed.status_code == 404 and "no calibration item" in removed.text


