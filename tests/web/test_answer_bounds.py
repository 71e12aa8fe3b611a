"""What one answer may hold on the review page, and what a huge one costs the others: the page says
the limits, refuses past them, and a huge edit's diff never holds up the server for everyone else."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from oversight.schemas import MAX_RATIONALE_CHARS, MAX_REFINED_CHARS, MAX_TAG_CHARS, MAX_TAGS
from tests.web.conftest import Site, csrf_of


def test_the_page_says_the_limits_and_refuses_past_them(site: Site) -> None:
    ana = site.client("ana")
    page = ana.get("/items/cap-fr").text
    assert f"at most {MAX_TAGS} tags" in page
    assert f'maxlength="{MAX_RATIONALE_CHARS}"' in page and f'maxlength="{MAX_REFINED_CHARS}"' in page
    csrf = csrf_of(page)
    many = ana.post("/items/cap-fr", data={"csrf": csrf, "decision": "reject",
                                           "tags": ", ".join(f"tag-{n}" for n in range(10_000))})
    assert many.status_code == 400
    assert f"at most {MAX_TAGS} tags (this answer has 10,000)" in many.text
    long = ana.post("/items/cap-fr", data={"csrf": csrf, "decision": "reject", "tags": "x" * 100_000})
    assert long.status_code == 400
    assert f"a tag is at most {MAX_TAG_CHARS} characters" in long.text
    assert len(long.text) < 150_000  # the refused tag is shown once on the form, not echoed into the reason
    assert site.project.store.refinements_of_task("cap-fr") == []
    assert ana.post("/items/cap-fr", data={"csrf": csrf, "decision": "reject", "tags": "verbose"}).status_code == 303


def test_healthz_answers_while_a_huge_edit_is_diffed(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """The diff is held until /healthz has answered: were it on the event loop, /healthz could not answer."""
    import oversight.refine.answers

    diffing, release = threading.Event(), threading.Event()
    real = oversight.refine.answers.word_diff

    def held_diff(before: str, after: str, **kwargs: Any) -> Any:
        diffing.set()
        release.wait(60)
        return real(before, after, **kwargs)

    monkeypatch.setattr(oversight.refine.answers, "word_diff", held_diff)
    ana = site.client("ana")
    csrf = csrf_of(ana.get("/items/cap-fr").text)
    huge = " ".join(f"word{n}" for n in range(MAX_REFINED_CHARS // 10))
    sent: dict[str, httpx.Response] = {}
    submit = threading.Thread(target=lambda: sent.update(r=ana.post(
        "/items/cap-fr", data={"csrf": csrf, "decision": "rewrite", "refined_text": huge}, timeout=120)))
    submit.start()
    try:
        assert diffing.wait(60), "the answer never reached its diff"
        health = httpx.get(f"{site.url}/healthz", timeout=10)  # a held loop: a timeout here
        assert health.json() == {"status": "ok"}
    finally:
        release.set()
        submit.join(120)
    assert sent["r"].status_code == 303, sent["r"].text[:300]
    [refinement] = site.project.store.refinements_of_task("cap-fr")
    assert refinement.refined_text == huge


def test_a_tag_past_the_bound_kept_from_before_is_not_offered_on_every_page(site: Site) -> None:
    from oversight.schemas import Refinement

    store = site.project.store
    draft = store.drafts_of_task("cap-td")[0]
    store.save_refinement(Refinement(task_id="cap-td", draft_id=draft.id, decision="reject", reviewer="ben",
                                     tags=["y" * 100_000, *(f"old-{n}" for n in range(2_000))]))
    page = site.client("ana").get("/items/cap-fr").text
    assert "y" * 1000 not in page
    assert len(page) < 100_000
