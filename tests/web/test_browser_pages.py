"""The review pages in a real browser, as a careless user meets them: keys that must not submit, a phone's
narrow screen. Shares tests/web/test_browser.py's Chromium set-up (skipped where it is missing)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.web.conftest import Site
from tests.web.test_browser import CHROMIUM, LAUNCH_ARGS, TIMEOUT_MS, review_js_ready, sign_in

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """New pages, each in its own browser context (own cookies), 1400x900 unless told."""
    contexts: list[BrowserContext] = []

    def make(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(viewport=viewport or {"width": 1400, "height": 900})  # type: ignore[arg-type]
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(2 * TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_enter_in_the_tags_field_or_on_a_choice_does_not_submit(site: Site, open_page: Callable[..., Page]) -> None:
    page = open_page()
    sign_in(page, site, "ana")
    page.goto(f"{site.url}/items/cap-fr")
    review_js_ready(page)
    page.keyboard.press("x")  # reject: the decision the reported stray Enter recorded, with no rationale
    expect(page.locator("input[name=decision][value=reject]")).to_be_checked()
    tags = page.locator("#tags")
    tags.click()
    tags.press_sequentially("verbose")
    tags.press("Enter")
    page.keyboard.press("Escape")
    page.keyboard.press("c")  # confidence: a focused radio submits its form on Enter too, by default
    page.keyboard.press("Enter")
    page.locator("#rationale").click()
    page.keyboard.type("One word was asked for.")
    expect(page).to_have_url(f"{site.url}/items/cap-fr")
    assert site.runtime.store.refinements_of_task("cap-fr") == []
    page.keyboard.press("Control+Enter")  # the one key that submits
    expect(page).to_have_url(re.compile(r"/done/cap-fr\?r=\w+"))
    [refinement] = site.runtime.store.refinements_of_task("cap-fr")
    assert (refinement.decision, refinement.tags, refinement.rationale) == ("reject", ["verbose"],
                                                                            "One word was asked for.")
