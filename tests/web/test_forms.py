"""Forms as a careless user or an attacker sends them: a NUL or a lone surrogate in the text, a field
twice, a file where text belongs. Each is refused with one clear line, the form kept, nothing recorded;
on PostgreSQL as on SQLite."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.conftest import Site, csrf_of


@pytest.fixture
def any_site(site_factory: Any, store_url: str) -> Site:
    """The review page on SQLite and (when configured) PostgreSQL."""
    return site_factory(db=store_url)  # type: ignore[no-any-return]


def opened(client: httpx.Client, task_id: str = "cap-fr") -> str:
    page = client.get(f"/items/{task_id}")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def assert_refused(site: Site, response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text[:300]
    assert message in response.text
    assert 'id="answer-error"' in response.text  # the refine form again, with the reason on it
    assert 'name="decision" value="edit" checked' in response.text  # what they chose is kept
    assert "Paris only" in response.text
    assert site.project.store.refinements_of_task("cap-fr") == []
    assert site.project.store.task_state("cap-fr").state == "awaiting_review"


ANSWER = {"decision": "edit", "refined_text": "Paris only", "tags": "verbose", "rationale": "One word was asked."}


@pytest.mark.parametrize("field", ["tags", "rationale", "refined_text"])
def test_a_nul_in_the_answer_is_refused_and_skim_keeps_working(any_site: Site, field: str) -> None:
    ana = any_site.client("ana")
    csrf = opened(ana)
    sent = {**ANSWER, field: ANSWER[field] + "\x00"}
    refused = ana.post("/items/cap-fr", data={"csrf": csrf, **sent})
    assert_refused(any_site, refused, f"field &#39;{field}&#39; contains a NUL character (\\x00)")
    assert ana.get("/skim?tag=verbose").status_code == 200  # on PostgreSQL, a stored NUL broke this for everyone
    done = ana.post("/items/cap-fr", data={"csrf": csrf, **ANSWER})
    assert done.status_code == 303, done.text
    assert ana.get("/skim?tag=verbose").status_code == 200


def test_a_lone_surrogate_in_the_answer_is_refused(any_site: Site) -> None:
    """A multipart body may declare its own charset: in UTF-7, "+2AA-" decodes to the lone surrogate U+D800."""
    ana = any_site.client("ana")
    csrf = opened(ana)
    fields = {"csrf": csrf, **ANSWER, "rationale": "One word +2AA- was asked."}
    body = b"".join(f'--XX\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items())
    refused = ana.post("/items/cap-fr", content=body + b"--XX--\r\n",
                       headers={"content-type": "multipart/form-data; charset=utf-7; boundary=XX"})
    assert_refused(any_site, refused, "field &#39;rationale&#39; holds a lone surrogate (\\ud800)")
    assert ana.get("/skim").status_code == 200


def test_a_field_sent_twice_is_refused_not_stored_as_a_list(any_site: Site) -> None:
    ana = any_site.client("ana")
    csrf = opened(ana)
    refused = ana.post("/items/cap-fr", data={"csrf": csrf, **ANSWER, "tags": ["verbose", "wordy"]})
    assert_refused(any_site, refused, "field &#39;tags&#39; was sent 2 times: it takes one value")


def test_a_file_in_the_rationale_is_refused_and_the_form_kept(any_site: Site) -> None:
    ana = any_site.client("ana")
    csrf = opened(ana)
    text = {k: v for k, v in ANSWER.items() if k != "rationale"}
    refused = ana.post("/items/cap-fr", data={"csrf": csrf, **text},
                       files={"rationale": ("why.txt", b"One word was asked.", "text/plain")})
    assert_refused(any_site, refused, "field &#39;rationale&#39; is a file: this form takes typed text only")
    assert "UploadFile" not in refused.text


def test_a_nul_in_a_leads_form_is_refused(any_site: Site) -> None:
    from oversight.schemas import Guideline, Intervention

    payload = Guideline(rubric="Answer with one word when asked for one word.")
    intervention = Intervention(id=Intervention.derive_id("p1", payload), pattern_id="p1", kind="guideline",
                                title="One word means one word", payload=payload)
    any_site.project.store.save_interventions([intervention])
    lea = any_site.client("lea")
    csrf = csrf_of(lea.get("/lead/interventions").text)
    refused = lea.post(f"/lead/interventions/{intervention.id}/decide",
                       data={"csrf": csrf, "decision": "accept", "reason": "cheap\x00"})
    assert refused.status_code == 400
    assert "field &#39;reason&#39; contains a NUL character" in refused.text
    assert any_site.project.store.intervention(intervention.id).status == "proposed"
