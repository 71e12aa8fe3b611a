"""Pausing on the page: a lead pauses and resumes a trainer (CSRF-checked, leads only); a paused trainer's
next item is refused with the reason, and nothing is claimed."""

from __future__ import annotations

from tests.web.conftest import Site, csrf_of


def test_a_lead_pauses_a_trainer_whose_next_claim_is_refused(site: Site) -> None:
    lead, ana = site.client("lea"), site.client("ana")
    csrf = csrf_of(lead.get("/lead").text)
    paused = lead.post("/lead/trainers/ana/pause", data={"csrf": csrf, "reason": "accepts planted errors"})
    assert paused.status_code == 303 and paused.headers["location"] == "/lead/trainers/ana?flash=paused"
    standing = site.project.store.trainer_standing("ana")
    assert (standing.paused, standing.paused_by, standing.paused_reason) == (True, "lea", "accepts planted errors")

    refused = ana.post("/queue/next", data={"csrf": csrf_of(ana.get("/queue").text)})
    assert refused.status_code == 403
    assert "You are paused" in refused.text and "accepts planted errors" in refused.text
    opened = ana.get("/items/cap-fr")
    assert opened.status_code == 403 and "accepts planted errors" in opened.text
    assert all(site.project.store.review_lease(t) is None for t in ("cap-fr", "xss", "cap-td"))

    resumed = lead.post("/lead/trainers/ana/resume", data={"csrf": csrf})
    assert resumed.headers["location"] == "/lead/trainers/ana?flash=resumed"
    claimed = ana.post("/queue/next", data={"csrf": csrf_of(ana.get("/queue").text)})
    assert claimed.status_code == 303 and claimed.headers["location"].startswith("/items/")


def test_only_a_lead_with_a_reason_and_a_fresh_form_pauses(site: Site) -> None:
    lead, ben = site.client("lea"), site.client("ben")
    csrf = csrf_of(lead.get("/lead").text)
    assert lead.post("/lead/trainers/ana/pause", data={"reason": "no token"}).status_code == 403
    assert lead.post("/lead/trainers/ana/pause", data={"csrf": csrf, "reason": " "}).status_code == 400
    assert lead.post("/lead/trainers/nobody/pause", data={"csrf": csrf, "reason": "typo"}).status_code == 404
    trainer = ben.post("/lead/trainers/ana/pause", data={"csrf": csrf_of(ben.get("/queue").text), "reason": "rival"})
    assert trainer.status_code == 403
    assert not site.project.store.trainer_standing("ana").paused
    assert site.project.store.paused_trainers() == set()
