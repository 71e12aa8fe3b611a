"""The review pages in a real browser, as a careless user meets them: keys that must not submit, a phone's
narrow screen. Shares tests/web/test_browser.py's Chromium set-up (skipped where it is missing)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Site
from tests.web.test_browser import browser, open_page, review_js_ready, sign_in  # noqa: F401 (fixtures)

PHONE = {"width": 390, "height": 844}


def test_enter_in_the_tags_field_or_on_a_choice_does_not_submit(site: Site, open_page: Callable[..., Page]) -> None:  # noqa: F811
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
    assert site.project.store.refinements_of_task("cap-fr") == []
    page.keyboard.press("Control+Enter")  # the one key that submits
    expect(page).to_have_url(re.compile(r"/done/cap-fr\?r=\w+"))
    [refinement] = site.project.store.refinements_of_task("cap-fr")
    assert (refinement.decision, refinement.tags, refinement.rationale) == ("reject", ["verbose"],
                                                                            "One word was asked for.")


def fits(page: Page) -> int:
    """How far the page runs past the viewport's right edge, in CSS pixels (0: it fits)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.slow
def test_every_page_fits_a_phone_screen(site_factory: Any, open_page: Callable[..., Page], tmp_path: Path) -> None:  # noqa: F811
    """At 390 px wide nothing runs off the side: long ids, file paths, model names and tables wrap or scroll inside."""
    import asyncio
    import random
    from concurrent.futures import ThreadPoolExecutor

    from oversight.embed import get_embedder
    from oversight.mine.miner import mine
    from oversight.schemas import Guideline, Intervention, PairwiseJudgment
    from tests.web.test_browser import answer_capitals, capital_items

    items = capital_items()
    long_source = "/srv/imports/2025-06-01/a-rather-long-batch-directory-name/tasks-from-the-capital-city-set.jsonl"
    site: Site = site_factory(items + [(t.model_copy(update={"id": f"{t.id}-again"}), d, f) for t, d, f in items])
    with site.project.store.transaction() as conn:  # the batch as imports name it: the file's full path
        from oversight.store import tables

        conn.execute(tables.tasks.update().values(source=long_source))
    answer_capitals(site)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, mine(site.project.store, names="keywords", embedder=get_embedder())).result(240)
    payload = Guideline(rubric="When the task asks for one word, the answer is that word and nothing else.")
    site.project.store.save_interventions([Intervention(
        id=Intervention.derive_id("p1", payload), pattern_id="p1", kind="guideline", title="One word means one word",
        payload=payload, task_ids=["cap-france", "cap-japan"])])

    rng = random.Random(7)  # judgments kept for the audit page: its tables and its chart
    site.project.store.save_judgments([
        PairwiseJudgment(id=f"j{i}", prompt="Q", response_a="word " * rng.randint(5, 80),
                         response_b="word " * rng.randint(5, 80), annotator=f"r{i % 2}", choice=rng.choice("ab"))
        for i in range(160)])

    trainer, lead = open_page(PHONE), open_page(PHONE)
    sign_in(trainer, site, "ana")
    sign_in(lead, site, "lea")
    pages = [(trainer, "/queue"), (trainer, "/skim"), (trainer, "/tasks/cap-france"), (trainer, "/items/cap-peru-again"),
             (lead, "/lead"), (lead, "/lead/report"), (lead, "/lead/interventions"), (lead, "/lead/audit"),
             (lead, "/lead/calibration")]
    over = {}
    for page, path in pages:
        response = page.goto(f"{site.url}{path}")
        assert response is not None and response.status == 200, path
        page.screenshot(path=str(tmp_path / (path.strip("/").replace("/", "-") + ".png")), full_page=True)
        over[path] = fits(page)
    assert over == dict.fromkeys(over, 0), f"pixels past a 390 px screen: {over} (screenshots in {tmp_path})"


def test_a_click_anywhere_on_a_queue_row_opens_its_item(site: Site, open_page: Callable[..., Page]) -> None:  # noqa: F811
    page = open_page()
    sign_in(page, site, "ana")
    page.locator('tr[data-task="cap-td"] td.age').click()
    expect(page).to_have_url(f"{site.url}/items/cap-td")
    review_js_ready(page)
