"""What the queue and the lead pages show: what each item asks and how long it has waited (a row opens
it), the change each intervention proposes, the audit with each heading once and commands as code."""

from __future__ import annotations

import random
import re
from typing import Any

from oversight.schemas import Guideline, Intervention, PairwiseJudgment
from oversight.store import tables
from tests.web.conftest import Site

LONG_SOURCE = "/srv/imports/2025-06-01/a-rather-long-batch-directory-name/capitals.jsonl"


def rows_of(html: str) -> dict[str, str]:
    """The queue's rows by task id (the id is in each row's data-task)."""
    return dict(re.findall(r'<tr data-task="([^"]+)"[^>]*>(.*?)</tr>', html, re.S))


def test_the_queue_shows_what_each_item_asks_and_how_long_it_waited(site: Site) -> None:
    with site.project.store.transaction() as conn:
        conn.execute(tables.tasks.update().values(source=LONG_SOURCE))
    ben = site.client("ben")
    assert ben.get("/items/cap-td").status_code == 200  # ben holds this one
    rows = rows_of(site.client("ana").get("/queue").text)
    assert set(rows) == {"cap-fr", "xss", "cap-td"}
    mine = rows["cap-fr"]
    assert "What is the capital of France? Answer with one word." in mine  # the prompt, not only an id
    assert 'href="/items/cap-fr"' in mine  # the row opens the item
    assert re.search(r'class="age"[^>]*>just now<', mine)
    assert ">capitals.jsonl<" in mine and f'title="{LONG_SOURCE}"' in mine  # the file's name; the path on hover
    assert f">{LONG_SOURCE}<" not in mine
    assert "Say hello &lt;b&gt;bold&lt;/b&gt;" in rows["xss"]  # a preview is text, like the prompt itself
    held = rows["cap-td"]
    assert "/items/cap-td" not in held and ">ben<" in held  # someone else's item: who holds it, no link


def test_the_queue_cuts_a_long_prompt_short(site_factory: Any) -> None:
    from oversight.schemas import Task

    site: Site = site_factory([(Task(id="long", prompt="Explain this. " * 500), "Sure.", [])])
    row = rows_of(site.client("ana").get("/queue").text)["long"]
    assert 100 < len(re.sub(r"<[^>]+>", "", row)) < 600
    assert "…" in row


def test_each_intervention_shows_the_change_a_lead_decides_on(site: Site) -> None:
    payload = Guideline(rubric="When the task asks for one word, the answer is that word and nothing else.",
                        bad_example="A: The capital of France is Paris, a city on the Seine.")
    intervention = Intervention(id=Intervention.derive_id("p1", payload), pattern_id="p1", kind="guideline",
                                title="One word means one word", payload=payload,
                                rationale="Two of three refinements cut a sentence down to one word.")
    site.project.store.save_interventions([intervention])
    html = site.client("lea").get("/lead/interventions").text
    article = re.search(rf'<article[^>]*id="{intervention.id}".*?</article>', html, re.S).group(0)  # type: ignore[union-attr]
    outside = re.sub(r"<details.*?</details>", "", article, flags=re.S)
    assert "When the task asks for one word, the answer is that word and nothing else." in outside
    assert "The capital of France is Paris, a city on the Seine." in outside
    assert "Two of three refinements cut a sentence down to one word." in outside


def test_the_audit_page_names_each_heading_once_and_shows_commands_as_code(site: Site) -> None:
    lea = site.client("lea")
    empty = lea.get("/lead/audit").text
    assert "<code>oversight audit judgments FILE --save</code>" in empty and "`" not in empty
    assert "`" not in lea.get("/lead/interventions").text
    assert "<code>oversight mine</code>" in lea.get("/lead/report").text
    rng = random.Random(7)
    site.project.store.save_judgments([
        PairwiseJudgment(id=f"p{i}", prompt="Q", response_a="word " * rng.randint(5, 80),
                         response_b="word " * rng.randint(5, 80), annotator=f"r{i % 2}", choice=rng.choice("ab"))
        for i in range(40)])
    html = lea.get("/lead/audit").text
    headings = re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", html)
    assert headings.count("Judgment audit") == 1, headings
    assert headings.count("Audit of preference judgments") == 1, headings
    assert len(headings) == len(set(headings)), headings
