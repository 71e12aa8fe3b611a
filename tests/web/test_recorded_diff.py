"""The recorded diff as people read it on the done, compare, skim and calibration-result pages: grouped
as the live diff showed it while typing (not word by word), and cut short on skim."""

from __future__ import annotations

import re
from typing import Any

from oversight.refine.answers import clipped_diff, grouped_diff, word_diff
from oversight.schemas import Task
from tests.web.conftest import Site, csrf_of, default_items

DRAFT = "the quick brown fox jumps over the lazy dog"
EDITED = "a slow red fox jumped over one lazy dog"
GROUPED = "<del>the quick brown</del><ins>a slow red</ins> fox <del>jumps</del><ins>jumped</ins> over"


def diff_html(html: str) -> str:
    return re.search(r'<div class="diff">(.*?)</div>', html, re.S).group(1)  # type: ignore[union-attr]


def test_changes_with_only_spaces_between_are_one_change() -> None:
    ops = grouped_diff(word_diff(DRAFT, EDITED))
    assert [(o.op, o.before, o.after) for o in ops] == [
        ("replace", "the quick brown", "a slow red"), ("equal", " fox ", " fox "), ("replace", "jumps", "jumped"),
        ("equal", " over ", " over "), ("replace", "the", "one"), ("equal", " lazy dog", " lazy dog")]
    assert "".join(o.before for o in ops) == DRAFT and "".join(o.after for o in ops) == EDITED


def test_a_long_diff_is_clipped_around_its_changes() -> None:
    before = " ".join(f"kept{n}" for n in range(600))
    after = before.replace("kept300 ", "CHANGED ") + " " + " ".join(f"added{n}" for n in range(600))
    shown, hidden = clipped_diff(word_diff(before, after), limit=400, context=40)
    text = "".join(o.before + o.after for o in shown)
    assert len(text) < 1000 and hidden == 0
    assert [o.op for o in shown] == ["equal", "replace", "equal", "insert"]
    assert shown[0].before.startswith("…") and shown[1].after == "CHANGED"
    assert " … " in shown[2].before and shown[3].after.startswith(" added0 ") and shown[3].after.endswith("…")
    many = " ".join(f"new{n}" if n % 10 == 0 else f"kept{n}" for n in range(600))
    shown, hidden = clipped_diff(word_diff(before, many), limit=400, context=40)
    assert len("".join(o.before + o.after for o in shown)) < 1000
    assert hidden == 60 - sum(o.op != "equal" for o in shown) > 0
    short, none_hidden = clipped_diff(word_diff(DRAFT, EDITED))
    assert none_hidden == 0 and short == grouped_diff(word_diff(DRAFT, EDITED))


def test_the_pages_show_the_change_grouped(site_factory: Any) -> None:
    calib = Task(id="calib", prompt="Describe the fox.", domain="zoo")
    fox = Task(id="fox", prompt="Describe the fox.", domain="zoo")
    site: Site = site_factory([*default_items(), (fox, DRAFT, []), (calib, DRAFT, [])])
    ana, lea = site.client("ana"), site.client("lea")
    csrf = csrf_of(ana.get("/items/fox").text)
    done = ana.post("/items/fox", data={"csrf": csrf, "decision": "edit", "refined_text": EDITED, "tags": "wordy"})
    assert done.status_code == 303, done.text
    for path in (done.headers["location"], "/tasks/fox", "/skim?tag=wordy"):
        assert GROUPED in diff_html(ana.get(path).text), path

    csrf = csrf_of(lea.get("/items/calib").text)
    lea.post("/items/calib", data={"csrf": csrf, "decision": "accept"})
    [expert] = site.project.store.refinements_of_task("calib")
    lea.post("/lead/calibration", data={"csrf": csrf_of(lea.get("/lead/calibration").text), "task_id": "calib",
                                        "refinement_id": expert.id})
    answered = ana.post("/calibration/calib", data={"csrf": csrf_of(ana.get("/calibration/calib").text),
                                                    "decision": "edit", "refined_text": EDITED})
    assert answered.status_code == 303, answered.text
    shown = diff_html(ana.get("/calibration/calib/result").text)  # theirs against the expert's (the draft)
    assert "<del>a slow red</del><ins>the quick brown</ins> fox" in shown


def test_skim_cuts_a_long_diff_short(site_factory: Any) -> None:
    long_draft = " ".join(f"word{n}" for n in range(1000))
    site: Site = site_factory([(Task(id="long", prompt="Write at length."), long_draft, [])])
    ana = site.client("ana")
    csrf = csrf_of(ana.get("/items/long").text)
    rewritten = " ".join(f"other{n}" if n % 50 == 0 else f"word{n}" for n in range(1000))
    assert ana.post("/items/long", data={"csrf": csrf, "decision": "edit", "refined_text": rewritten,
                                         "tags": "long"}).status_code == 303
    skim = ana.get("/skim?tag=long").text
    shown = diff_html(skim)
    assert len(re.sub(r"<[^>]+>", "", shown)) < 3000
    assert re.search(r"\d+ more changes?", skim)
    assert "/tasks/long" in skim  # the whole of it is a click away
