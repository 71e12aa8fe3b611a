"""The review page over real HTTP: sign-in, roles, CSRF, the queue's leases, a refinement end to end,
calibration items, lead pages, and clear errors."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from oversight import review
from oversight.pipelines.refine import refine_graph
from oversight.review import calibration
from oversight.schemas import Task
from oversight.web.auth import SESSION_HOURS
from tests.support.clock import Clock
from tests.support.review_seed import arm_task, finding
from tests.web.conftest import Site, csrf_of, default_items, sign_in


def claim_next(client: httpx.Client, **filters: str) -> httpx.Response:
    queue = client.get("/queue")
    return client.post("/queue/next", data={"csrf": csrf_of(queue.text), **filters})


def refine_form(client: httpx.Client, task_id: str) -> tuple[str, str]:
    page = client.get(f"/items/{task_id}")
    assert page.status_code == 200, page.text
    return page.text, csrf_of(page.text)


def test_pages_need_a_session_and_a_bad_token_is_refused(site: Site) -> None:
    site.app.state.sign_in_throttle.first_wait = 0  # no backoff here (tests/web/test_sign_in.py has it)
    anonymous = site.client()
    response = anonymous.get("/queue")
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/queue")
    assert sign_in(anonymous, "ovt_not-a-real-token").status_code == 401
    assert anonymous.get("/queue").status_code == 303
    signed = sign_in(anonymous, site.tokens["ana"])
    assert (signed.status_code, signed.headers["location"]) == (303, "/")
    assert anonymous.get("/queue").status_code == 200


def test_a_session_lasts_its_hours_by_the_stores_clock(site: Site) -> None:
    clock = site.project.store.clock = Clock()
    ana = site.client("ana")
    assert ana.get("/queue").status_code == 200
    clock.move(SESSION_HOURS * 3600 - 60)
    assert ana.get("/queue").status_code == 200  # a minute left
    clock.move(120)
    expired = ana.get("/queue")
    assert (expired.status_code, expired.headers["location"]) == (303, "/login?next=/queue")


def test_a_trainer_is_refused_every_lead_page(site: Site) -> None:
    ana, lea = site.client("ana"), site.client("lea")
    for path in ("/lead", "/lead/report", "/lead/audit", "/lead/interventions", "/lead/calibration"):
        refused = ana.get(path)
        assert refused.status_code == 403, path
        assert "for leads" in refused.text
        assert lea.get(path).status_code == 200, path
    assert ana.get("/").headers["location"] == "/queue"
    assert lea.get("/").headers["location"] == "/lead"


def test_a_post_without_the_csrf_token_changes_nothing(site: Site) -> None:
    ana = site.client("ana")
    refused = ana.post("/queue/next", data={})
    assert refused.status_code == 403
    assert "security token" in refused.text
    assert ana.post("/queue/next", data={"csrf": "forged"}).status_code == 403
    assert site.project.store.review_lease("cap-fr") is None


def test_a_refinement_end_to_end_records_and_resumes_the_thread(site: Site) -> None:
    clock = site.project.store.clock = Clock()
    ana = site.client("ana")
    claimed = claim_next(ana)
    assert claimed.status_code == 303
    task_id = claimed.headers["location"].removeprefix("/items/")
    assert task_id == "cap-fr"
    html, csrf = refine_form(ana, task_id)
    assert "Adds detail the one-word instruction forbids." in html
    clock.move(42.5)  # the time on the item is measured by the server, from the claim
    done = ana.post(f"/items/{task_id}", data={
        "csrf": csrf, "decision": "edit", "refined_text": "Paris", "tags": "verbose, ignores-instruction",
        "rationale": "It was asked for one word.", "verdict_0": "right", "confidence": "5"})
    assert done.status_code == 303, done.text
    assert ana.get(done.headers["location"]).status_code == 200
    [refinement] = site.project.store.refinements_of_task(task_id)
    assert (refinement.decision, refinement.refined_text, refinement.reviewer) == ("edit", "Paris", "ana")
    assert refinement.tags == ["verbose", "ignores-instruction"]
    assert [(v.finding, v.verdict) for v in refinement.finding_verdicts] == [(0, "right")]
    assert refinement.confidence == 1.0
    assert refinement.seconds_spent == 42.5
    assert any(op.op != "equal" for op in refinement.diff)
    assert site.project.store.task_state(task_id).state == "refined"
    assert site.project.store.review_lease(task_id) is None

    async def thread_state() -> Any:
        async with refine_graph(site.project) as graph:
            return await graph.aget_state({"configurable": {"thread_id": site.project.thread_id(task_id)}})

    snapshot = asyncio.run(thread_state())
    assert snapshot.next == ()  # the paused thread ran on to its end
    assert snapshot.values["refinement"]["id"] == refinement.id


def test_two_trainers_never_hold_the_same_item(site: Site) -> None:
    ana, ben = site.client("ana"), site.client("ben")
    first = claim_next(ana).headers["location"]
    second = claim_next(ben).headers["location"]
    assert first != second
    assert claim_next(ana).headers["location"] == first  # asking again gives ana her own item back
    held = ben.get(first)
    assert held.status_code == 409
    assert "someone else" in held.text
    _, csrf = refine_form(ben, second.removeprefix("/items/"))
    stolen = ben.post(first, data={"csrf": csrf, "decision": "accept"})
    assert stolen.status_code == 409
    assert site.project.store.refinements_of_task(first.removeprefix("/items/")) == []
    queue = ben.get("/queue").text
    assert ">ana<" in queue  # the queue shows who holds what


def test_an_abandoned_lease_runs_out_and_the_item_returns(site_factory: Any) -> None:
    site = site_factory(review_lease_seconds=600.0)
    clock = site.project.store.clock = Clock()
    ana, ben = site.client("ana"), site.client("ben")
    taken = claim_next(ana, domain="geo").headers["location"]
    other = claim_next(ben, domain="geo").headers["location"]
    assert other != taken
    assert claim_next(ben, domain="geo").headers["location"] == other
    compare = taken.replace("/items/", "/tasks/")
    clock.move(599)
    assert (ben.get(taken).status_code, ben.get(compare).status_code) == (409, 403)  # ana's lease still runs
    clock.move(2)
    _, _csrf = refine_form(ben, other.removeprefix("/items/"))  # renews ben's lease
    assert ben.get(compare).status_code == 200  # ana's ran out: ben may read the task's history ...
    assert ben.get(taken).status_code == 200  # ... and open it now


def test_filters_narrow_what_is_claimed(site: Site) -> None:
    ana = site.client("ana")
    assert claim_next(ana, domain="web").headers["location"] == "/items/xss"
    nothing = claim_next(site.client("ben"), domain="web")
    assert nothing.headers["location"] == "/queue?flash=empty"
    assert "Nothing left to claim" in site.client("ben").get(nothing.headers["location"]).text


def test_a_draft_with_markup_is_shown_as_text(site: Site) -> None:
    ana = site.client("ana")
    html, _ = refine_form(ana, "xss")
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in html
    assert "<script>window.pwned" not in html
    assert "<img src=x" not in html
    assert "Say hello &lt;b&gt;bold&lt;/b&gt;" in html
    csp = ana.get("/items/xss").headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]


def test_a_bad_answer_is_shown_with_its_reason_and_nothing_is_recorded(site: Site) -> None:
    ana = site.client("ana")
    _html, csrf = refine_form(ana, "cap-fr")
    unchanged = ana.post("/items/cap-fr", data={"csrf": csrf, "decision": "edit",
                                                 "refined_text": "The capital of France is Paris, a city on the Seine."})
    assert unchanged.status_code == 400
    assert "the text is the draft" in unchanged.text
    assert 'name="decision" value="edit" checked' in unchanged.text  # what they chose is kept on the form
    no_decision = ana.post("/items/cap-fr", data={"csrf": csrf, "refined_text": "Paris"})
    assert no_decision.status_code == 400
    assert "choose a decision" in no_decision.text
    assert site.project.store.refinements_of_task("cap-fr") == []
    assert site.project.store.task_state("cap-fr").state == "awaiting_review"


def test_errors_are_pages_not_stack_traces(site: Site) -> None:
    ana = site.client("ana")
    missing = ana.get("/items/no-such-task")
    assert missing.status_code == 404
    assert "no task with id &#39;no-such-task&#39;" in missing.text
    assert "Traceback" not in missing.text
    assert ana.get("/queue?page=abc").status_code == 200
    assert ana.get("/nowhere").status_code == 404


def test_the_queue_serves_while_the_model_provider_is_down(site: Site) -> None:
    """The drafter points at a port where nothing listens: claiming and refining never call it."""
    ana = site.client("ana")
    _, csrf = refine_form(ana, "cap-td")
    done = ana.post("/items/cap-td", data={"csrf": csrf, "decision": "accept"})
    assert done.status_code == 303
    assert site.project.store.task_state("cap-td").state == "refined"


def test_a_calibration_item_is_met_first_and_compared_with_the_expert(site_factory: Any) -> None:
    site = site_factory([*default_items(),
                         (Task(id="calib", prompt="Capital of Peru? One word.", domain="geo"), "Lima is it.", [])])
    store = site.project.store
    ana, lea = site.client("ana"), site.client("lea")
    # an expert's refinement already in the store becomes the calibration item
    _, csrf = refine_form(lea, "calib")
    lea.post("/items/calib", data={"csrf": csrf, "decision": "edit", "refined_text": "Lima", "tags": "verbose"})
    [expert] = store.refinements_of_task("calib")
    added = lea.post("/lead/calibration", data={"csrf": csrf_of(lea.get("/lead/calibration").text),
                                                "task_id": "calib", "refinement_id": expert.id})
    assert added.status_code == 303
    first = claim_next(ana)
    assert first.headers["location"] == "/calibration/calib"
    page = ana.get("/calibration/calib").text
    assert "Lima is it." in page
    assert "expert" in page
    result = ana.post("/calibration/calib", data={"csrf": csrf_of(page), "decision": "edit",
                                                  "refined_text": "Lima.", "tags": "verbose, wordy"})
    assert result.headers["location"] == "/calibration/calib/result"
    shown = ana.get("/calibration/calib/result").text
    assert 'id="decision-agrees">same<' in shown
    answer = store.calibration_answer("calib", "ana")
    assert (answer.decision_agrees, answer.tag_overlap) == (True, 0.5)
    assert store.refinements_of_task("calib") == [expert]  # kept apart from production refinements
    assert claim_next(ana).headers["location"].startswith("/items/")  # not due again until 10 more are done
    people, _ = calibration.agreement(store)
    assert [(p.reviewer, p.answered, p.decision_agreement) for p in people] == [("ana", 1, 1.0)]
    assert ">ana<" in lea.get("/lead/calibration").text


def test_leads_decide_interventions_with_a_reason(site: Site) -> None:
    from oversight.schemas import Guideline, Intervention

    payload = Guideline(rubric="Answer with one word when asked for one word.")
    intervention = Intervention(id=Intervention.derive_id("p1", payload), pattern_id="p1", kind="guideline",
                                title="One word means one word", payload=payload)
    site.project.store.save_interventions([intervention])
    lea = site.client("lea")
    page = lea.get("/lead/interventions")
    assert "One word means one word" in page.text
    blank = lea.post(f"/lead/interventions/{intervention.id}/decide",
                     data={"csrf": csrf_of(page.text), "decision": "accept", "reason": " "})
    assert blank.status_code == 400
    assert site.project.store.intervention(intervention.id).status == "proposed"
    accepted = lea.post(f"/lead/interventions/{intervention.id}/decide",
                        data={"csrf": csrf_of(page.text), "decision": "accept", "reason": "cheap to try"})
    assert accepted.status_code == 303
    stored = site.project.store.intervention(intervention.id)
    assert (stored.status, stored.reason) == ("accepted", "cheap to try (lea)")


def test_compare_and_skim_show_what_was_refined(site: Site) -> None:
    ana = site.client("ana")
    _, csrf = refine_form(ana, "cap-fr")
    ana.post("/items/cap-fr", data={"csrf": csrf, "decision": "edit", "refined_text": "Paris", "tags": "verbose"})
    compare = ana.get("/tasks/cap-fr").text
    assert "The capital of France is Paris" in compare
    assert "<del>" in compare and "<ins>Paris" in compare
    assert 'class="badge arm"' not in compare and "simulated" not in compare  # a person, outside any experiment
    skim = ana.get("/skim?tag=verbose").text
    assert "cap-fr" in skim
    assert "cap-fr" not in ana.get("/skim?tag=no-such-tag").text


def experiment_items() -> list[tuple[Task, str, list[Any]]]:
    """Two items of an assistance experiment, one per arm, each with a finding the critic made."""
    one_word = finding("on the coast", "Adds detail the one-word instruction forbids.", category="instruction-violation")
    return [
        (arm_task("hid", "Capital of Peru? One word.", "critique_hidden", domain="geo"), "Lima, on the coast.",
         [one_word]),
        (arm_task("shown", "Capital of Chile? One word.", "critique_shown", domain="geo"), "Santiago, on the coast.",
         [one_word]),
    ]


def test_the_hidden_arm_shows_no_critique_nor_verdict_controls(site_factory: Any) -> None:
    site = site_factory(experiment_items())
    ana = site.client("ana")
    shown, _ = refine_form(ana, "shown")  # the shown arm: the critique and its verdict controls, as ever
    assert 'class="critique"' in shown and "Adds detail the one-word" in shown and 'name="verdict_0"' in shown
    hidden, csrf = refine_form(ana, "hid")
    assert "Lima, on the coast." in hidden
    assert 'class="critique"' not in hidden and "AI critique" not in hidden and "No findings." not in hidden
    assert "Adds detail the one-word" not in hidden and "Was the critic right?" not in hidden
    assert 'name="verdict_' not in hidden
    done = ana.post("/items/hid", data={"csrf": csrf, "decision": "edit", "refined_text": "Lima", "verdict_0": "right"})
    assert done.status_code == 303, done.text
    [mine] = site.project.store.refinements_of_task("hid")
    assert (mine.refined_text, mine.finding_verdicts) == ("Lima", [])  # no verdict on a critique never shown


def test_compare_and_skim_mark_simulated_refinements_and_show_the_arm(site_factory: Any) -> None:
    from oversight.schemas import Refinement

    site = site_factory(experiment_items())
    store = site.project.store
    drafts = {t: store.drafts_of_task(t)[0].id for t in ("hid", "shown")}
    store.save_refinement(Refinement(task_id="hid", draft_id=drafts["hid"], decision="accept", reviewer="ana",
                                     arm="critique_hidden"))
    store.save_refinement(Refinement(task_id="shown", draft_id=drafts["shown"], decision="reject",
                                     reviewer="sim-catches", arm="critique_shown", simulated=True))
    lea = site.client("lea")
    compare = lea.get("/tasks/shown").text
    assert 'by sim-catches <span class="badge warn simulated"' in compare and ">critique shown</span>" in compare
    human = lea.get("/tasks/hid").text
    assert ">critique hidden</span>" in human and "simulated" not in human
    skim = lea.get("/skim").text
    assert skim.count('class="badge warn simulated"') == 1 and skim.count('class="badge arm"') == 2


def test_answers_in_an_experiment_record_their_arm_and_who_answered(site_factory: Any) -> None:
    """The page's answer and a simulated reviewer's (through the same service) keep the arm and the mark."""
    site = site_factory(experiment_items())
    ana = site.client("ana")
    _, csrf = refine_form(ana, "hid")
    assert ana.post("/items/hid", data={"csrf": csrf, "decision": "accept"}).status_code == 303
    [mine] = site.project.store.refinements_of_task("hid")
    assert (mine.arm, mine.simulated) == ("critique_hidden", False)
    answer = {"decision": "edit", "refined_text": "Santiago", "rationale": "One word was asked."}
    asyncio.run(review.submit(site.project, "shown", answer, reviewer="sim-catches", simulated=True))
    [sim] = site.project.store.refinements_of_task("shown")
    assert (sim.arm, sim.simulated, sim.reviewer) == ("critique_shown", True, "sim-catches")
    compare = site.client("lea").get("/tasks/shown").text
    assert 'by sim-catches <span class="badge warn simulated"' in compare
