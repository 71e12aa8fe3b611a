"""The review page shows who found each finding: the critic model, or the check by name."""

from __future__ import annotations

import html
import re
from typing import Any

from oversight.schemas import Task
from tests.support.review_seed import finding
from tests.web.conftest import csrf_of


def test_each_finding_shows_its_source_beside_it(site_factory: Any) -> None:
    model = finding("a city on the Seine", "Adds detail the one-word instruction forbids.")
    check = finding("a city on the Seine", 'not in the context: "Seine"').model_copy(
        update={"source": "check: not in the context"})
    site = site_factory([(Task(id="cap-fr", prompt="Capital of France? One word.", context="Paris is the capital."),
                          "The capital of France is Paris, a city on the Seine.", [model, check])])
    ana = site.client("ana")
    claimed = ana.post("/queue/next", data={"csrf": csrf_of(ana.get("/queue").text)})
    page = ana.get(claimed.headers["location"]).text
    legends = [html.unescape(re.sub(r"<[^>]+>", " ", m)) for m in re.findall(r"<legend>(.*?)</legend>", page)]
    legends = [" ".join(text.split()) for text in legends if "·" in text]
    assert legends == [f"1 low · other {site.project.critic.model}", "2 low · other check: not in the context"]


def test_an_eval_check_a_lead_accepts_on_the_page_shows_on_the_waiting_drafts(site: Any) -> None:
    from oversight.refine.checks import intervention_source
    from oversight.schemas import CheckCriterion, EvalCheck, Intervention

    payload = EvalCheck(criterion=CheckCriterion(kind="max_words", value=1, description="one word"))
    check = Intervention(id=Intervention.derive_id("p1", payload), pattern_id="p1", kind="eval_check",
                         title="One word means one word", payload=payload)
    site.project.store.save_interventions([check])
    lea = site.client("lea")
    page = lea.get("/lead/interventions")
    accepted = lea.post(f"/lead/interventions/{check.id}/decide",
                        data={"csrf": csrf_of(page.text), "decision": "accept", "reason": "asked for one word"})
    assert accepted.status_code == 303
    store = site.project.store
    sources = {s.task_id: [f.source for f in store.get_critique(s["critique_id"]).findings]
               for s in store.task_states("awaiting_review")}
    assert sources == {"cap-fr": ["model", intervention_source(check.id)],  # every draft runs past one word
                       "xss": [intervention_source(check.id)], "cap-td": [intervention_source(check.id)]}
