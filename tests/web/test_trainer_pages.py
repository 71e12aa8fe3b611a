"""The leads' trainer pages: every profile with its interval and suggestion, one in full; trainers refused."""

from __future__ import annotations

import re

from oversight.schemas import FailureNote
from tests.review.test_profiles import planted, production
from tests.web.conftest import Site

ODD = "o'brien/<b>x</b>"  # a reviewer name from an imported file: a slash, a quote, markup


def seed(site: Site) -> None:
    store = site.project.store
    for i in range(12):
        planted(store, "ana", caught=i % 4 != 0, seconds=90.0, domain="geo")
        planted(store, "ben", caught=i == 0, seconds=8.0, domain="law")
    planted(store, ODD, caught=True)
    production(store, "ana", "A draft.", "accept", seconds=42.0)
    store.save_notes([FailureNote(id="n1", text="too long", source="tag", reviewer="ben"),
                      FailureNote(id="n2", text="wrong", source="tag", reviewer="ana")])


def test_the_trainers_page_shows_every_profile_with_its_interval_and_suggestion(site: Site) -> None:
    seed(site)
    response = site.client("lea").get("/lead/trainers")
    assert response.status_code == 200
    html = response.text
    rows = dict(re.findall(r'<tr data-trainer="([^"]+)">(.*?)</tr>', html, re.S))
    assert set(rows) == {"ana", "ben", "o&#39;brien/&lt;b&gt;x&lt;/b&gt;"}  # the name as text, never markup
    assert "<b>x</b>" not in html
    assert 'href="/lead/trainers/o%27brien%2F%3Cb%3Ex%3C%2Fb%3E"' in html
    assert "75%" in rows["ana"] and "pause?" not in rows["ana"]
    assert "pause?" in rows["ben"] and "caught 1 of 12" in rows["ben"]
    assert 'class="interval below"' in rows["ben"] and 'class="interval"' in rows["ana"]
    assert re.search(r'id="below-bar"[^>]*>1 of 2 failure notes came from\s+trainers below the bar: ben', html)
    assert 'href="/lead/trainers"' in site.client("lea").get("/lead").text


def test_one_trainer_in_full_by_week_and_domain(site: Site) -> None:
    seed(site)
    lea = site.client("lea")
    html = lea.get("/lead/trainers/ben").text
    assert "Pause suggested:" in html and "looks like rubber-stamping" in html
    by_domain = re.search(r'<table class="list" id="by-domain">.*?</table>', html, re.S).group(0)  # type: ignore[union-attr]
    assert "<td>law</td>" in by_domain and "8%" in by_domain
    assert re.search(r'<table class="list" id="by-week">.*?<td>\d{4}-W\d{2}</td>', html, re.S)
    odd = lea.get("/lead/trainers/o%27brien%2F%3Cb%3Ex%3C%2Fb%3E")
    assert odd.status_code == 200 and "<h1>o&#39;brien/&lt;b&gt;x&lt;/b&gt;</h1>" in odd.text
    assert lea.get("/lead/trainers/nobody").status_code == 404


def test_a_trainer_is_refused_the_trainer_pages(site: Site) -> None:
    seed(site)
    ana = site.client("ana")
    for path in ("/lead/trainers", "/lead/trainers/ben", "/lead/trainers/ana"):
        response = ana.get(path)
        assert response.status_code == 403, path
        assert "caught" not in response.text
    assert 'href="/lead/trainers"' not in ana.get("/queue").text


def test_the_page_works_with_no_work_yet(site: Site) -> None:
    html = site.client("lea").get("/lead/trainers").text
    assert "No trainer has answered a gold item" in html
