"""The review page in a real browser (Debian's Chromium, driven by Playwright) against the real server.

What the HTTP tests cannot see is checked here: review.js's live diff and keyboard shortcuts,
what a person sees (an untrusted draft stays text, a trainer has no lead link), and two
people working the queue at once. Each test starts its own server (tests/web/conftest.py);
the browser is shared by the module. Screenshots of the pages go to docs/screenshots/ when
they are missing or when OVERSIGHT_SCREENSHOTS is set, else to the test's tmp_path (so a run
never rewrites the committed images unless asked to).
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from oversight.schemas import Finding, Task
from tests.support.review_seed import finding
from tests.web.conftest import Site, csrf_of

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium); CI installs it",
                allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# Read at import: tests/conftest.py's autouse _isolate removes every OVERSIGHT_* variable during a test.
REWRITE_SCREENSHOTS = bool(os.environ.get("OVERSIGHT_SCREENSHOTS"))
VIEWPORT = {"width": 1400, "height": 900}
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]
TIMEOUT_MS = 30_000  # generous: a loaded 2-core machine runs Chromium, uvicorn and the tests at once

expect.set_options(timeout=TIMEOUT_MS)


# -- realistic work: capital cities, asked for in one word ------------------------------------

ONE_WORD = "Adds detail the one-word instruction forbids."
VERBOSE = [("France", "Paris", "a city on the Seine"), ("Japan", "Tokyo", "home to some 14 million people"),
           ("Kenya", "Nairobi", "which lies in the south of the country"),
           ("Norway", "Oslo", "at the head of the Oslofjord"), ("Peru", "Lima", "on the Pacific coast"),
           ("Chile", "Santiago", "in the country's central valley")]
WRONG = [("Australia", "Sydney", "Canberra"), ("Canada", "Toronto", "Ottawa"), ("Turkey", "Istanbul", "Ankara")]


def capital_items() -> list[tuple[Task, str, list[Finding]]]:
    """Nine capital-city questions: six drafts ignore "one word", three name the largest city instead."""
    items: list[tuple[Task, str, list[Finding]]] = []
    for country, capital, detail in VERBOSE:
        items.append((Task(id=f"cap-{country.lower()}", prompt=f"What is the capital of {country}? Answer with one word.",
                           domain="geo"),
                      f"The capital of {country} is {capital}, {detail}.",
                      [finding(detail, ONE_WORD, severity="medium", category="instruction-violation")]))
    for country, city, _capital in WRONG:
        items.append((Task(id=f"cap-{country.lower()}", prompt=f"What is the capital of {country}? Answer with one word.",
                           domain="geo"),
                      f"{city}.",
                      [finding(city, f"{city} is the largest city of {country}, not its capital.", severity="high",
                               category="factual-error")]))
    return items


def refine_over_http(client: httpx.Client, task_id: str, **answer: str) -> None:
    """Open a queued item (claiming it) and answer it, as a trainer's browser without JavaScript would."""
    page = client.get(f"/items/{task_id}")
    assert page.status_code == 200, page.text
    done = client.post(f"/items/{task_id}", data={"csrf": csrf_of(page.text), **answer})
    assert done.status_code == 303, done.text


def answer_capitals(site: Site, trainers: tuple[str, ...] = ("ana", "ben")) -> None:
    """Every capital item refined by the trainers in turn, with the tags and reasons people write."""
    clients = [site.client(name) for name in trainers]
    for i, (country, capital, _detail) in enumerate(VERBOSE):
        refine_over_http(clients[i % len(clients)], f"cap-{country.lower()}", decision="edit", refined_text=capital,
                         tags="ignores-instruction, verbose", verdict_0="right", confidence="5",
                         rationale="It was asked for one word and answered with a whole sentence.")
    for i, (country, city, capital) in enumerate(WRONG):
        refine_over_http(clients[i % len(clients)], f"cap-{country.lower()}", decision="edit", refined_text=capital,
                         tags="wrong-capital", verdict_0="right", confidence="4",
                         rationale=f"{city} is the largest city, not the capital; the capital is {capital}.")


# -- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """New pages, each in its own browser context (own cookies: one person each), 1400x900 unless told."""
    contexts: list[BrowserContext] = []

    def make(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(viewport=viewport or VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(2 * TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Page, site: Site, user: str) -> None:
    """Sign in on /login with the user's token, as a person would, and wait for their start page."""
    page.goto(f"{site.url}/login")
    page.get_by_label("Your token").fill(site.tokens[user])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("nav.top .who")).to_contain_text(user)
    page.wait_for_load_state()  # review.js (deferred) has run: its key handlers listen


def review_js_ready(page: Page) -> None:
    """On a refine page: wait until review.js has set the page up (its first live-diff render)."""
    expect(page.locator("#diff-stats")).to_have_text("No change to the draft.")


def task_of(url: str) -> str:
    match = re.search(r"/items/([^/?#]+)$", url)
    assert match, url
    return match.group(1)


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """A viewport screenshot, into docs/screenshots/ when missing or asked for (OVERSIGHT_SCREENSHOTS)."""
    target = SCREENSHOTS / name
    if not REWRITE_SCREENSHOTS and target.exists():
        target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=False)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", target
    assert struct.unpack(">II", data[16:24]) == (VIEWPORT["width"], VIEWPORT["height"]), target
    return target


def thread_state(site: Site, task_id: str) -> Any:
    """The task's LangGraph refine thread, read in a thread of its own (Playwright's sync API owns this one)."""
    from oversight.pipelines.refine import refine_graph

    async def read() -> Any:
        async with refine_graph(site.project) as graph:
            return await graph.aget_state({"configurable": {"thread_id": site.project.thread_id(task_id)}})

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result(timeout=120)


# -- 1. a refinement with the mouse and typing -------------------------------------------------


def test_a_refinement_with_mouse_and_typing_is_recorded_and_resumes_the_thread(
        site: Site, open_page: Callable[[], Page], tmp_path: Path) -> None:
    page = open_page()
    sign_in(page, site, "ana")
    expect(page).to_have_url(f"{site.url}/queue")
    page.get_by_role("button", name=re.compile(r"^Review next item")).click()
    expect(page).to_have_url(re.compile(r"/items/[^/]+$"))
    task_id = task_of(page.url)
    assert task_id == "cap-fr"
    review_js_ready(page)
    expect(page.locator("#task-prompt")).to_have_text("What is the capital of France? Answer with one word.")
    expect(page.locator("fieldset.finding")).to_contain_text(ONE_WORD)

    text = page.locator("#refined-text")
    text.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("Paris")
    expect(text).to_have_value("Paris")
    # the live diff: the whole sentence struck out, the one word put in; typing chose "edit"
    expect(page.locator("#live-diff del")).to_have_text("The capital of France is Paris, a city on the Seine.")
    expect(page.locator("#live-diff ins")).to_have_text("Paris")
    expect(page.locator("#diff-stats")).to_have_text("+1 / \u221211 words")
    expect(page.locator("input[name=decision][value=edit]")).to_be_checked()

    tags = page.locator("#tags")
    tags.click()
    tags.press_sequentially("verbose, ignores-instruction")
    page.locator("#rationale").click()
    page.keyboard.type("It was asked for one word.")
    first = page.locator('fieldset.finding[data-index="0"]')
    first.get_by_label("right", exact=True).check()
    expect(first).to_have_class(re.compile(r"\bverdict-right\b"))
    page.locator("fieldset.confidence").get_by_label("5", exact=True).check()
    # the picture: the page as first seen (checking a box scrolled the form column down)
    page.evaluate("() => { window.scrollTo(0, 0); document.querySelector('.col-right').scrollTop = 0; }")
    screenshot(page, "refine-view.png", tmp_path)
    assert site.project.store.refinements_of_task(task_id) == []  # nothing is recorded before submitting

    page.get_by_role("button", name=re.compile(r"^Submit")).click()
    expect(page).to_have_url(re.compile(rf"/done/{task_id}\?r=\w+"))
    expect(page.locator("#recorded")).to_contain_text(f"Your edit of {task_id} is recorded")
    [refinement] = site.project.store.refinements_of_task(task_id)
    assert (refinement.decision, refinement.refined_text, refinement.reviewer) == ("edit", "Paris", "ana")
    assert refinement.tags == ["verbose", "ignores-instruction"]
    assert refinement.rationale == "It was asked for one word."
    assert [(v.finding, v.verdict) for v in refinement.finding_verdicts] == [(0, "right")]
    assert refinement.confidence == 1.0
    assert site.project.store.task_state(task_id).state == "refined"
    assert site.project.store.review_lease(task_id) is None
    snapshot = thread_state(site, task_id)
    assert snapshot.next == ()  # the paused thread ran on to its end
    assert snapshot.values["refinement"]["id"] == refinement.id


# -- 2. a refinement by keyboard alone ----------------------------------------------------------


def test_a_refinement_by_keyboard_alone(site: Site, open_page: Callable[[], Page]) -> None:
    page = open_page()
    sign_in(page, site, "ana")
    expect(page).to_have_url(f"{site.url}/queue")
    # review.js acts on `n` only on a page marked data-page="queue" (the done page is; is the queue?)
    expect(page.locator("body")).to_have_attribute("data-page", "queue", timeout=5_000)
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/items/[^/]+$"))
    task_id = task_of(page.url)
    assert task_id == "cap-fr"
    review_js_ready(page)
    keys = page.keyboard

    keys.press("e")
    text = page.locator("#refined-text")
    expect(text).to_be_focused()
    expect(page.locator("input[name=decision][value=edit]")).to_be_checked()
    keys.press("Control+a")
    keys.type("Paris")
    keys.press("Escape")
    expect(text).not_to_be_focused()
    keys.press("1")
    first = page.locator('fieldset.finding[data-index="0"]')
    expect(first).to_have_class(re.compile(r"\bverdict-right\b"))
    keys.press("1")
    expect(first).to_have_class(re.compile(r"\bverdict-wrong\b"))
    keys.press("t")
    expect(page.locator("#tags")).to_be_focused()
    keys.type("ignores-instruction")
    keys.press("Escape")
    keys.press("w")
    expect(page.locator("#rationale")).to_be_focused()
    keys.type("One word was asked for; the Seine is not needed.")
    keys.press("Control+Enter")

    expect(page).to_have_url(re.compile(rf"/done/{task_id}\?r=\w+"))
    [refinement] = site.project.store.refinements_of_task(task_id)
    assert (refinement.decision, refinement.refined_text, refinement.reviewer) == ("edit", "Paris", "ana")
    assert [(v.finding, v.verdict) for v in refinement.finding_verdicts] == [(0, "wrong")]
    assert refinement.tags == ["ignores-instruction"]
    assert refinement.rationale == "One word was asked for; the Seine is not needed."
    assert refinement.confidence is None


# -- 3. two trainers at once ------------------------------------------------------------------


def test_two_trainers_at_once_never_share_an_item(site_factory: Any, open_page: Callable[[], Page]) -> None:
    site: Site = site_factory(capital_items())
    store = site.project.store
    every = sorted(task.id for task, _, _ in capital_items())
    pages = {"ana": open_page(), "ben": open_page()}
    for name, page in pages.items():
        sign_in(page, site, name)
        expect(page).to_have_url(f"{site.url}/queue")
    # both press "Review next item" before either page has loaded its item
    for page in pages.values():
        page.get_by_role("button", name=re.compile(r"^Review next item")).click()
    for page in pages.values():
        expect(page).to_have_url(re.compile(r"/items/[^/]+$"))
    current: dict[str, str | None] = {name: task_of(page.url) for name, page in pages.items()}
    assert current["ana"] != current["ben"], current
    assert {current["ana"], current["ben"]} <= set(every)

    ben = pages["ben"]
    held = ben.goto(f"{site.url}/items/{current['ana']}")
    assert held is not None and held.status == 409
    expect(ben.get_by_role("heading", level=1)).to_have_text("Someone else has this item")
    expect(ben.get_by_role("alert")).to_contain_text("being reviewed by someone else")
    assert ben.goto(f"{site.url}/items/{current['ben']}").status == 200  # type: ignore[union-attr]

    # in turns, each accepts by keyboard and takes the next item, until the queue is empty
    done: dict[str, list[str]] = {"ana": [], "ben": []}
    while any(current.values()):
        for name, page in pages.items():
            task_id = current[name]
            if task_id is None:
                continue
            review_js_ready(page)
            page.keyboard.press("a")
            expect(page.locator("input[name=decision][value=accept]")).to_be_checked()
            page.keyboard.press("Control+Enter")
            expect(page).to_have_url(re.compile(rf"/done/{re.escape(task_id)}\?r=\w+"))
            done[name].append(task_id)
            page.get_by_role("button", name=re.compile(r"^Next item")).click()
            expect(page).to_have_url(re.compile(r"/(items/[^/?#]+|queue\?flash=empty)$"))
            current[name] = task_of(page.url) if "/items/" in page.url else None
            assert current[name] not in done["ana"] + done["ben"], current[name]

    for page in pages.values():
        expect(page.get_by_role("status")).to_contain_text("Nothing left to claim")
    assert sorted(done["ana"] + done["ben"]) == every
    assert set(done["ana"]).isdisjoint(done["ben"])
    assert done["ana"] and done["ben"]
    for name, task_ids in done.items():
        for task_id in task_ids:
            [refinement] = store.refinements_of_task(task_id)
            assert (refinement.decision, refinement.reviewer) == ("accept", name)
            assert store.task_state(task_id).state == "refined"


# -- 4. untrusted text stays text --------------------------------------------------------------


def test_a_script_in_a_draft_is_shown_as_text_and_never_runs(site: Site, open_page: Callable[[], Page]) -> None:
    page = open_page()
    dialogs: list[str] = []
    console: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, site, "ana")
    response = page.goto(f"{site.url}/items/xss")  # waits for "load": a broken <img> would have fired by now
    assert response is not None and response.status == 200
    expect(page.locator("#diff-stats")).to_be_attached()  # review.js has run

    assert page.evaluate("window.pwned") is None
    draft = page.locator("#draft-text")
    expect(draft).to_be_visible()
    expect(draft).to_contain_text("<script>window.pwned = 1</script>", use_inner_text=True)
    expect(draft).to_contain_text('<img src=x onerror="window.pwned = 2">', use_inner_text=True)
    expect(page.locator("#task-prompt")).to_have_text("Say hello <b>bold</b>", use_inner_text=True)
    expect(page.locator("#draft-text *, #live-diff img, #task-prompt *")).to_have_count(0)
    expect(page.locator("img")).to_have_count(0)
    expect(page.locator("script")).to_have_count(1)  # review.js, and nothing from the draft
    expect(page.locator("#diff-stats")).to_have_text("No change to the draft.")  # the script read the draft as text

    text = page.locator("#refined-text")
    text.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(' <img src=x onerror="window.pwned=3">')
    inserted = page.locator("#live-diff ins")
    expect(inserted).to_have_text(' <img src=x onerror="window.pwned=3">')
    expect(page.locator("#live-diff")).to_contain_text("<script>window.pwned = 1</script>", use_inner_text=True)
    expect(page.locator("#live-diff img, #live-diff script")).to_have_count(0)
    assert page.evaluate("window.pwned") is None

    # nothing even tried to run: the CSP would have refused it and said so in the console
    assert [line for line in console if "Content Security Policy" in line or "Refused" in line] == []
    assert dialogs == []
    assert errors == []


# -- 5. lead pages ----------------------------------------------------------------------------


def test_a_trainer_is_refused_the_lead_pages_and_a_lead_sees_them(
        site_factory: Any, open_page: Callable[[], Page], tmp_path: Path) -> None:
    from oversight.schemas import Guideline, Intervention

    site: Site = site_factory(capital_items())
    store = site.project.store
    ana, ben = site.client("ana"), site.client("ben")
    refine_over_http(ana, "cap-france", decision="edit", refined_text="Paris", tags="ignores-instruction",
                     rationale="It was asked for one word.", verdict_0="right", confidence="5")
    refine_over_http(ana, "cap-australia", decision="edit", refined_text="Canberra", tags="wrong-capital",
                     rationale="Sydney is the largest city, not the capital.", verdict_0="right", confidence="5")
    refine_over_http(ben, "cap-japan", decision="edit", refined_text="Tokyo", tags="ignores-instruction",
                     rationale="One word was asked for.", verdict_0="right", confidence="4")

    trainer = open_page()
    sign_in(trainer, site, "ana")
    nav = trainer.locator("nav.top")
    expect(nav.get_by_role("link", name="Queue", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Lead", exact=True)).to_have_count(0)
    for path in ("/lead", "/lead/report"):
        refused = trainer.goto(f"{site.url}{path}")
        assert refused is not None and refused.status == 403, path
        expect(trainer.get_by_role("heading", level=1)).to_have_text("Not yours to open")
        expect(trainer.get_by_role("alert")).to_have_text("this page is for leads")
        expect(nav.get_by_role("link", name="Lead", exact=True)).to_have_count(0)

    lead = open_page()
    sign_in(lead, site, "lea")
    expect(lead).to_have_url(f"{site.url}/lead")
    expect(lead.get_by_role("heading", level=1)).to_have_text("Lead")
    expect(lead.locator("nav.top").get_by_role("link", name="Lead", exact=True)).to_be_visible()
    expect(lead.locator(".card", has_text="refined")).to_have_text(re.compile(r"^\s*3\s+refined\s*$"))
    expect(lead.locator(".card", has_text="awaiting review")).to_have_text(re.compile(r"^\s*6\s+awaiting review\s*$"))
    trainers = lead.locator("table.list tbody tr")
    expect(trainers.filter(has_text="ana").locator("td")).to_have_text(["ana", "trainer", "2", "0", "0"])
    expect(trainers.filter(has_text="ben").locator("td")).to_have_text(["ben", "trainer", "1", "0", "0"])
    screenshot(lead, "lead-page.png", tmp_path)

    payload = Guideline(rubric="When the task asks for one word, the answer is that word and nothing else.",
                        good_example="Q: What is the capital of France? Answer with one word.\nA: Paris",
                        bad_example="A: The capital of France is Paris, a city on the Seine.")
    intervention = Intervention(
        id=Intervention.derive_id("p_one_word", payload), pattern_id="p_one_word", kind="guideline",
        title="One word means one word", payload=payload, task_ids=["cap-france", "cap-japan"],
        rationale="Two of three refinements cut a sentence down to the one word asked for.",
        expected_effect="Fewer drafts that answer a one-word question with a sentence.")
    store.save_interventions([intervention])
    lead.get_by_role("link", name="Interventions", exact=True).first.click()
    expect(lead).to_have_url(f"{site.url}/lead/interventions")
    card = lead.locator(f"article#{intervention.id}")
    expect(card.get_by_role("heading")).to_contain_text("One word means one word")
    expect(card.locator(".badge")).to_have_text("proposed")
    screenshot(lead, "lead-interventions.png", tmp_path)

    card.get_by_label("Reason").fill("Cheap to try on the next batch")
    card.get_by_role("button", name="Accept").click()
    expect(lead.get_by_role("status")).to_have_text("accepted.")
    expect(lead.locator(f"article#{intervention.id} .badge")).to_have_text("accepted")
    stored = store.intervention(intervention.id)
    assert (stored.status, stored.reason) == ("accepted", "Cheap to try on the next batch (lea)")


@pytest.mark.slow
def test_a_lead_reads_the_pattern_report_of_a_real_mining_run(
        site_factory: Any, open_page: Callable[[], Page], tmp_path: Path) -> None:
    """The bundled embedder mines the nine refinements (a few seconds); the report links each note to its item."""
    from oversight.embed import get_embedder
    from oversight.mine.miner import mine

    site: Site = site_factory(capital_items())
    answer_capitals(site)
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, mine(site.project.store, names="keywords", embedder=get_embedder())
                             ).result(timeout=240)
    assert result.patterns

    lead = open_page()
    sign_in(lead, site, "lea")
    lead.locator("nav.top").get_by_role("link", name="Patterns", exact=True).click()
    expect(lead).to_have_url(f"{site.url}/lead/report")
    expect(lead.get_by_role("heading", level=1)).to_have_text("Failure patterns")
    for pattern in result.patterns:
        expect(lead.locator(f"details#{pattern.id} > summary")).to_contain_text(pattern.name)
    screenshot(lead, "lead-report.png", tmp_path)

    first = lead.locator(f"details#{result.patterns[0].id}")
    first.locator("summary").click()
    member = first.locator('a[href^="/tasks/cap-"]').first
    expect(member).to_be_visible()
    href = member.get_attribute("href")
    member.click()
    expect(lead).to_have_url(f"{site.url}{href}")
    expect(lead.locator(".diff ins").first).to_be_visible()  # the item's refinement, as the trainer changed it


# -- 6. the keys are shown --------------------------------------------------------------------


def test_the_keys_are_shown_and_question_mark_opens_the_list(site: Site, open_page: Callable[[], Page]) -> None:
    page = open_page()
    sign_in(page, site, "ana")
    expect(page).to_have_url(f"{site.url}/queue")
    next_key = page.get_by_role("button", name=re.compile(r"^Review next item")).locator("kbd")
    expect(next_key).to_be_visible()
    expect(next_key).to_have_text("n")

    page.goto(f"{site.url}/items/cap-fr")
    review_js_ready(page)
    keys = page.locator("#shortcuts")
    expect(keys).to_be_visible()
    expect(keys).to_contain_text("accept, edit, rewrite, reject, skip")
    expect(keys).to_contain_text("Ctrl+Enter")
    expect(keys).not_to_have_class(re.compile(r"\bopen\b"))
    expect(keys).to_have_css("position", "static")
    page.keyboard.press("?")
    expect(keys).to_have_class(re.compile(r"\bopen\b"))
    expect(keys).to_have_css("position", "fixed")  # the stylesheet floats the open list over the page
    expect(keys).to_be_visible()
    page.keyboard.press("?")
    expect(keys).not_to_have_class(re.compile(r"\bopen\b"))
    page.keyboard.press("?")
    expect(keys).to_have_class(re.compile(r"\bopen\b"))
    page.keyboard.press("Escape")
    expect(keys).not_to_have_class(re.compile(r"\bopen\b"))
    # typed into a field, "?" is a character, not a key
    page.locator("#rationale").click()
    page.keyboard.type("?")
    expect(page.locator("#rationale")).to_have_value("?")
    expect(keys).not_to_have_class(re.compile(r"\bopen\b"))
