"""Review leases renewed while a trainer works (the review page calls ``review.renew``), on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from oversight import review
from oversight.config import load_settings
from oversight.errors import LeaseError, NotFoundError
from oversight.project import Project
from oversight.schemas import Task
from tests.support.clock import Clock
from tests.support.review_seed import seed_items

LEASE = 600.0


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[Project, Clock]]:
    settings = load_settings(db=str(tmp_path / "leases.db"), model="openai/x", api_base="http://127.0.0.1:9/v1",
                             api_key="sk-test", review_lease_seconds=LEASE)
    with Project.open(settings) as rt:
        seed_items(rt, [(Task(id="q", prompt="Capital of Peru? One word."), "Lima is the capital.", [])])
        clock = Clock()
        rt.store.clock = clock
        yield rt, clock


async def test_the_holder_renews_the_lease_and_the_clock_on_the_item_keeps_running(
        clocked: tuple[Project, Clock]) -> None:
    rt, clock = clocked
    first = await review.claim(rt, "ana")
    clock.move(500)
    renewed = await review.renew(rt, "q", "ana")
    assert renewed.claimed_at == first.claimed_at  # the time on the item still counts from the claim
    assert renewed.lease_until == clock.now + timedelta(seconds=LEASE)
    clock.move(500)  # past the first lease's end: still hers, nobody can take it
    assert await review.claim(rt, "ben") is None
    saved = await review.submit(rt, "q", {"decision": "accept"}, reviewer="ana")
    assert saved.seconds_spent == LEASE  # 1000 s on the item, capped at one lease as before


async def test_only_the_holder_renews_and_not_once_someone_else_took_the_item(clocked: tuple[Project, Clock]) -> None:
    rt, clock = clocked
    await review.claim(rt, "ana")
    with pytest.raises(LeaseError, match="ana holds it"):
        await review.renew(rt, "q", "ben")
    clock.move(LEASE + 1)  # her lease ran out, nobody took the item: renewing keeps it hers
    assert (await review.renew(rt, "q", "ana")).reviewer == "ana"
    clock.move(LEASE + 1)
    assert (await review.claim(rt, "ben")).task_id == "q"  # type: ignore[union-attr]
    with pytest.raises(LeaseError, match="ben holds it"):
        await review.renew(rt, "q", "ana")
    assert rt.store.review_lease("q").reviewer == "ben"  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        await review.renew(rt, "nope", "ana")


async def test_an_item_nobody_holds_is_not_renewed_into_a_claim(clocked: tuple[Project, Clock]) -> None:
    rt, _ = clocked
    with pytest.raises(LeaseError, match="nobody holds it"):
        await review.renew(rt, "q", "ana")
    assert rt.store.review_lease("q") is None
