"""bench/bench_review.py reads the waiting count off the queue page: it must read it as the page shows it."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "oversight" / "web" / "templates"


@pytest.fixture
def bench_review(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    monkeypatch.syspath_prepend(str(ROOT))
    module = importlib.import_module("bench_review")
    yield module
    sys.modules.pop("bench_review", None)


def waiting_card(total: int, more: bool) -> str:
    """The queue page's waiting card, rendered from queue.html's own markup."""
    line = next(line for line in (TEMPLATES / "queue.html").read_text().splitlines() if 'id="waiting"' in line)
    card = re.search(r'<b id="waiting">.*?</b>', line).group(0)
    return jinja2.Template(card).render(total=total, more=more)


@pytest.mark.parametrize(("waiting", "shown"), [(0, "0"), (9_999, "9999"), (10_000, "10000"), (100_000, "10000+")])
def test_the_bench_reads_the_waiting_count_the_queue_page_shows(bench_review, waiting: int, shown: str) -> None:
    from oversight.web.review_pages import QUEUE_COUNT_LIMIT

    page = waiting_card(min(waiting, QUEUE_COUNT_LIMIT), waiting > QUEUE_COUNT_LIMIT)
    found = bench_review.WAITING.search(page)
    assert found is not None, f"the bench cannot read {page!r}"
    assert found.group(1) == shown == bench_review.shown_count(waiting)
