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
