"""The lease on an item in a real browser: review.js renews it while the trainer works, warns before it
ends, lets it go when nobody works, and what was typed survives a reload and a refused submit.

The server's clock (``store.clock``) and the page's (Playwright's ``page.clock``) are moved together
by the test: nothing waits for a lease to run out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.support.clock import Clock
from tests.web.test_browser import Page, browser, expect, open_page, review_js_ready, sign_in  # noqa: F401 (fixtures)

LEASE = 600.0


def test_the_page_renews_its_lease_warns_and_keeps_what_was_typed(site_factory: Any,
                                                                   open_page: Callable[[], Page]) -> None:  # noqa: F811
    site = site_factory(review_lease_seconds=LEASE)
    store = site.project.store
    clock = Clock()
    store.clock = clock
    page = open_page()
    page.clock.install(time=clock.now)
    sign_in(page, site, "ana")
    page.goto(f"{site.url}/items/cap-fr")
    review_js_ready(page)
    lease = page.locator("#lease")
    expect(lease.locator(".lease-left")).to_have_text(re.compile(r"^(9:5\d|10:00) left$"))

    # what a trainer types ...
    page.locator("#refined-text").fill("Paris")
    page.locator("#tags").fill("verbose, ignores-instruction")
    page.locator("#rationale").fill("One word was asked.")
    page.locator("input[name=verdict_0][value=wrong]").check()
    page.locator("input[name=confidence][value='4']").check()
    # ... survives a reload (kept in the tab)
    page.reload()
    expect(page.locator("#answer-restored")).to_be_visible()
    kept = {"#refined-text": "Paris", "#tags": "verbose, ignores-instruction", "#rationale": "One word was asked."}
    for field, value in kept.items():
        expect(page.locator(field)).to_have_value(value)
    for checked in ("input[name=decision][value=edit]", "input[name=verdict_0][value=wrong]",
                    "input[name=confidence][value='4']"):
        expect(page.locator(checked)).to_be_checked()

    # while she works, the page renews the lease
    clock.move(250)
    with page.expect_response(lambda r: r.url.endswith("/items/cap-fr/lease")) as renewed:
        page.clock.fast_forward(250_000)
    assert renewed.value.status == 200
    assert store.review_lease("cap-fr").lease_until == clock.now + timedelta(seconds=LEASE)

    # idle: no renewing; before the end, a warning; any click keeps the item
    clock.move(500)
    page.clock.fast_forward(500_000)
    expect(lease).to_have_attribute("data-state", "warn")
    expect(lease).to_contain_text("type or click anywhere")
    assert store.review_lease("cap-fr").lease_until == clock.now + timedelta(seconds=LEASE - 500)
    with page.expect_response(lambda r: r.url.endswith("/items/cap-fr/lease")):
        page.locator("#task-prompt").click()
    expect(lease).to_have_attribute("data-state", "ok")
    assert store.review_lease("cap-fr").lease_until == clock.now + timedelta(seconds=LEASE)

    # gone for longer than a lease: it runs out, and another trainer takes the item
    clock.move(LEASE + 100)
    page.clock.fast_forward(int((LEASE + 100) * 1000))
    expect(lease).to_have_attribute("data-state", "error")
    expect(lease).to_contain_text("has run out")
    assert store.claim_review("ben", task_id="cap-fr", lease_seconds=LEASE) is not None

    # her submit is refused, and the page comes back with everything she typed
    page.get_by_role("button", name=re.compile("^Submit")).click()
    expect(page.locator("#answer-error")).to_contain_text("not recorded")
    expect(page.locator("#answer-error")).to_contain_text("ben")
    for field, value in kept.items():
        expect(page.locator(field)).to_have_value(value)
    for checked in ("input[name=decision][value=edit]", "input[name=verdict_0][value=wrong]",
                    "input[name=confidence][value='4']"):
        expect(page.locator(checked)).to_be_checked()
    assert store.refinements_of_task("cap-fr") == []
