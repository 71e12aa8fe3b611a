"""The review page's records: users and sessions, review leases on the queue, skimming, calibration.

Every test runs on SQLite and (when configured) PostgreSQL. Tasks reach ``awaiting_review`` the
way the refine loop puts them there: a draft, then a critique.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import inspect, text

from oversight.errors import NotFoundError, StoreError
from oversight.schemas import (
    CalibrationAnswer,
    CalibrationItem,
    Critique,
    Draft,
    FailureNote,
    MiningRun,
    Pattern,
    PatternStats,
    Refinement,
    Task,
    User,
    utcnow,
)
from oversight.store import Store
from oversight.store.tables import REVIEW_INDEXES
from tests.store._schema import older_copy
from tests.support.clock import Clock

LEASE = 600.0


def seed(store: Store, ids: list[str], *, batch: str | None = None, domain: str | None = None,
         model: str = "m1") -> list[str]:
    """Tasks awaiting review, in the order given: each with a draft by ``model`` and a critique."""
    store.add_tasks([Task(id=i, prompt=f"Question {i}?", domain=domain, kind="qa") for i in ids], source=batch)
    for i in ids:
        draft = store.save_draft(Draft(id=f"d_{i}", task_id=i, model=model, prompt_name="draft",
                                       prompt_version="v1", text=f"Answer {i}."))
        store.save_critique(Critique(id=f"c_{i}", draft_id=draft.id, task_id=i, model="critic",
                                     prompt_name="critique", prompt_version="v1"))
    return ids


def refine(store: Store, task_id: str, *, reviewer: str = "ana", decision: str = "accept",
           tags: tuple[str, ...] = (), created_at: datetime | None = None, draft_id: str | None = None) -> Refinement:
    refinement = Refinement(task_id=task_id, draft_id=draft_id or f"d_{task_id}", decision=decision,  # type: ignore[arg-type]
                            reviewer=reviewer, tags=list(tags), created_at=created_at or utcnow())
    return store.save_refinement(refinement)


# -- review leases -----------------------------------------------------------------------------


def test_threads_claiming_at_once_never_share_a_task(store_url: str, store: Store) -> None:
    ids = seed(store, [f"t{i:03d}" for i in range(50)])
    claimers = 8
    start = threading.Barrier(claimers)
    results: dict[int, list[str]] = {}

    def run(k: int) -> None:
        held: list[str] = []
        with Store.open(store_url, migrate=False) as own:
            own.review_lease("warm-up")  # connected before the start, so that the claimers overlap
            start.wait()
            while (lease := own.claim_review(f"r{k}", lease_seconds=LEASE, exclude=held)) is not None:
                assert lease.reviewer == f"r{k}"
                held.append(lease.task_id)
        results[k] = held

    threads = [threading.Thread(target=run, args=(k,)) for k in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == list(range(claimers)), "a claimer died (see the captured exception)"
    counts = Counter(task_id for held in results.values() for task_id in held)
    assert sorted(counts) == ids and set(counts.values()) == {1}, "a task was claimed twice, or not at all"
    assert sum(1 for held in results.values() if held) > 1, "the claimers did not overlap"
    for k, held in results.items():
        assert {store.review_lease(task_id).reviewer for task_id in held} <= {f"r{k}"}  # type: ignore[union-attr]


def test_one_claim_holds_one_task(store: Store) -> None:
    # on PostgreSQL, `task_id IN (SELECT ... LIMIT 1 FOR UPDATE SKIP LOCKED)` planned as a semi-join
    # locked one more row for every row it scanned: one claim held the whole queue
    seed(store, [f"t{i:03d}" for i in range(50)])
    lease = store.claim_review("ana", lease_seconds=LEASE)
    assert lease is not None and lease.task_id == "t000"
    holders = [r["reviewer"] for r in store.review_queue_page(limit=100)[1]]
    assert holders == ["ana"] + [None] * 49
    assert store.claim_review("bo", lease_seconds=LEASE, model="m1").task_id == "t001"  # type: ignore[union-attr]
    assert [r["reviewer"] for r in store.review_queue_page(limit=100)[1]] == ["ana", "bo"] + [None] * 48


def test_claims_follow_the_queue_and_do_not_reorder_it(store: Store) -> None:
    seed(store, ["a", "b", "c"])
    before = {s.task_id: s["updated_at"] for s in store.task_states()}
    first = store.claim_review("ana", lease_seconds=LEASE)
    second = store.claim_review("bo", lease_seconds=LEASE)
    assert (first.task_id, second.task_id) == ("a", "b")  # type: ignore[union-attr]
    assert {s.task_id: s["updated_at"] for s in store.task_states()} == before
    assert store.claim_review("cy", lease_seconds=LEASE, exclude=["c"]) is None
    assert store.claim_review("cy", lease_seconds=LEASE).task_id == "c"  # type: ignore[union-attr]
    assert store.claim_review("dee", lease_seconds=LEASE) is None


def test_the_holder_gets_the_same_item_back_renewed(store: Store) -> None:
    seed(store, ["a", "b"])
    lease = store.claim_review("ana", lease_seconds=60)
    assert lease is not None and lease.task_id == "a" and lease.claimed_at.tzinfo is not None
    assert lease.lease_until - lease.claimed_at == timedelta(seconds=60)
    again = store.claim_review("ana", lease_seconds=LEASE)
    assert again is not None
    assert (again.task_id, again.claimed_at) == ("a", lease.claimed_at)
    assert again.lease_until > lease.lease_until and again.lease_until.utcoffset() == timedelta(0)
    assert store.review_lease("a") == again


def test_an_expired_lease_is_claimable_by_another(store: Store) -> None:
    clock = store.clock = Clock()
    seed(store, ["a"])
    lease = store.claim_review("ana", lease_seconds=60)
    assert lease is not None and lease.claimed_at == clock.now
    clock.move(59)
    assert store.claim_review("bo", lease_seconds=LEASE) is None  # ana's lease still runs
    clock.move(2)
    taken = store.claim_review("bo", lease_seconds=LEASE)
    assert taken is not None and taken.task_id == "a" and taken.claimed_at == clock.now
    assert store.review_lease("a").reviewer == "bo"  # type: ignore[union-attr]
    assert store.claim_review("ana", lease_seconds=LEASE) is None  # bo's lease runs: nothing for ana


def test_review_lease_shows_the_holder_even_when_expired(store: Store) -> None:
    clock = store.clock = Clock()
    seed(store, ["a"])
    assert store.review_lease("a") is None
    store.claim_review("ana", lease_seconds=60)
    clock.move(61)
    lease = store.review_lease("a")
    assert lease is not None and lease.reviewer == "ana" and lease.lease_until < clock.now


def test_claiming_a_given_task(store: Store) -> None:
    seed(store, ["a", "b"])
    store.add_tasks([Task(id="p", prompt="Not drafted yet?")])
    held = store.claim_review("ana", lease_seconds=LEASE, task_id="b")
    assert held is not None and held.task_id == "b"
    assert store.claim_review("bo", lease_seconds=LEASE, task_id="b") is None  # ana holds it
    mine = store.claim_review("ana", lease_seconds=LEASE, task_id="b")
    assert mine is not None and mine.claimed_at == held.claimed_at
    assert store.claim_review("bo", lease_seconds=LEASE, task_id="p") is None  # pending, not awaiting review
    assert store.claim_review("bo", lease_seconds=LEASE, task_id="nope") is None
    assert store.claim_review("bo", lease_seconds=LEASE, task_id="a", exclude=["a"]) is None
    assert store.review_lease("b").reviewer == "ana"  # type: ignore[union-attr]


def test_release_gives_the_task_back_only_for_its_holder(store: Store) -> None:
    seed(store, ["a"])
    store.claim_review("ana", lease_seconds=LEASE)
    assert store.release_review("a", "bo") is False
    assert store.review_lease("a").reviewer == "ana"  # type: ignore[union-attr]
    assert store.release_review("a", "ana") is True
    assert store.review_lease("a") is None
    assert store.claim_review("bo", lease_seconds=LEASE).task_id == "a"  # type: ignore[union-attr]


@pytest.mark.parametrize("few", [2000, 0])  # claims among the few tasks the filters leave, or in queue order
def test_filters_select_the_tasks_they_name(store: Store, few: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oversight.store._review._FEW", few)
    seed(store, ["a1", "a2"], batch="b1", domain="law", model="m1")
    seed(store, ["b1", "b2"], batch="b2", domain="med", model="m2")
    assert store.claim_review("r1", lease_seconds=LEASE, batch="b2").task_id == "b1"  # type: ignore[union-attr]
    assert store.claim_review("r2", lease_seconds=LEASE, domain="law").task_id == "a1"  # type: ignore[union-attr]
    assert store.claim_review("r3", lease_seconds=LEASE, model="m2").task_id == "b2"  # type: ignore[union-attr]
    assert store.claim_review("r4", lease_seconds=LEASE, batch="b1", model="m2") is None
    assert store.claim_review("r4", lease_seconds=LEASE, batch="nope") is None
    assert store.claim_review("r4", lease_seconds=LEASE, model="m2") is None  # both m2 tasks are held
    assert store.claim_review("r4", lease_seconds=LEASE, domain="law", model="m1").task_id == "a2"  # type: ignore[union-attr]
    # the holder's renewal honours the filters too: r1 holds a b2 task, not a b1 one
    assert store.claim_review("r1", lease_seconds=LEASE, batch="b1") is None
    assert store.claim_review("r1", lease_seconds=LEASE, batch="b2").task_id == "b1"  # type: ignore[union-attr]


def test_saving_a_refinement_clears_the_lease(store: Store) -> None:
    seed(store, ["a", "b"])
    store.claim_review("ana", lease_seconds=LEASE)
    refine(store, "a")
    state = store.task_state("a")
    assert state.state == "refined"
    assert (state["reviewer"], state["review_claimed_at"], state["review_lease_until"]) == (None, None, None)
    assert store.review_lease("a") is None
    assert store.claim_review("ana", lease_seconds=LEASE).task_id == "b"  # type: ignore[union-attr]


def test_a_critique_saved_again_keeps_the_lease(store: Store) -> None:
    # a reset thread moves the task to awaiting_review again: whoever holds it keeps it
    seed(store, ["a"])
    store.claim_review("ana", lease_seconds=LEASE)
    store.mark_awaiting_review(store.get_critique("c_a"))  # type: ignore[arg-type]
    assert store.review_lease("a").reviewer == "ana"  # type: ignore[union-attr]


# -- the queue page, facets, progress --------------------------------------------------------


def test_queue_page_counts_orders_and_shows_running_leases(store: Store) -> None:
    seed(store, ["a", "b", "c", "d"], batch="b1", domain="law", model="m1")
    seed(store, ["e", "f"], batch="b2", domain="med", model="m2")
    refine(store, "d")
    clock = store.clock = Clock()
    store.claim_review("ana", lease_seconds=LEASE, task_id="b")
    store.claim_review("bo", lease_seconds=60, task_id="c")
    assert store.review_queue_page()[1][2]["reviewer"] == "bo"  # while it runs, the queue shows it
    clock.move(61)

    total, rows = store.review_queue_page()
    assert total == 5
    assert [r["task_id"] for r in rows] == ["a", "b", "c", "e", "f"]
    since = rows[0]["waiting_since"]
    assert since.tzinfo is not None and abs((utcnow() - since).total_seconds()) < 600  # when it joined the queue
    assert rows[0] == {"task_id": "a", "domain": "law", "kind": "qa", "batch": "b1", "model": "m1",
                       "prompt_version": "v1", "reviewer": None, "lease_until": None, "prompt": "Question a?",
                       "waiting_since": since}
    assert rows[1]["reviewer"] == "ana" and rows[1]["lease_until"] == store.review_lease("b").lease_until  # type: ignore[union-attr]
    assert (rows[2]["reviewer"], rows[2]["lease_until"]) == (None, None)  # bo's lease ran out

    total, rows = store.review_queue_page(offset=1, limit=2)
    assert total == 5 and [r["task_id"] for r in rows] == ["b", "c"]
    assert store.review_queue_page(batch="b2") == (2, store.review_queue_page(model="m2")[1])
    assert [r["task_id"] for r in store.review_queue_page(domain="law")[1]] == ["a", "b", "c"]
    assert store.review_queue_page(batch="b1", model="m2") == (0, [])
    assert store.review_queue_page(offset=10) == (5, [])


def test_queue_page_shows_the_start_of_each_prompt(store: Store) -> None:
    from oversight.store._review import PROMPT_PREVIEW

    store.add_tasks([Task(id="long", prompt="Explain ünïcode. " * 100)])
    store.save_draft(Draft(id="d_long", task_id="long", model="m1", prompt_name="draft", prompt_version="v1", text="."))
    store.save_critique(Critique(id="c_long", draft_id="d_long", task_id="long", model="critic", prompt_name="critique",
                                 prompt_version="v1"))
    [row] = store.review_queue_page()[1]
    assert row["prompt"] == ("Explain ünïcode. " * 100)[:PROMPT_PREVIEW + 1]  # one more: the page knows it was cut


@pytest.mark.parametrize("few", [2000, 0])  # filtered pages sorted in Python (SQLite, few tasks) or in SQL
def test_filtered_pages_keep_the_queue_order_with_ties(store: Store, few: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oversight.store._review._FEW", few)
    ids = seed(store, ["b3", "a1", "c2", "a2", "B4"], batch="b1")
    seed(store, ["z0"], batch="b2")
    with store.transaction() as conn:  # one moment for all (as m004 left the tasks it moved)
        conn.execute(text("UPDATE task_states SET updated_at = (SELECT MIN(updated_at) FROM task_states)"))
    everything = [r["task_id"] for r in store.review_queue_page()[1]]
    assert sorted(everything) == sorted([*ids, "z0"])  # ties broken by task id (in the database's collation)
    in_batch = [task_id for task_id in everything if task_id in ids]
    assert [r["task_id"] for r in store.review_queue_page(batch="b1")[1]] == in_batch
    assert [r["task_id"] for r in store.review_queue_page(batch="b1", offset=2, limit=2)[1]] == in_batch[2:4]
    assert store.review_queue_page(batch="b1", offset=4, limit=5)[0] == 5


def test_facets_name_what_awaits_review(store: Store) -> None:
    assert store.review_facets() == {"batches": [], "domains": [], "models": []}
    seed(store, ["a"], batch="b2", domain="med", model="m2")
    seed(store, ["b"], batch="b1", domain=None, model="m1")
    seed(store, ["c"], batch="b3", domain="law", model="m3")
    refine(store, "c")  # no longer awaiting review
    store.add_tasks([Task(id="p", prompt="Pending?", domain="geo")], source="b4")
    assert store.review_facets() == {"batches": ["b1", "b2"], "domains": ["med"], "models": ["m1", "m2"]}


def test_reviewer_progress_counts_since(store: Store) -> None:
    seed(store, ["a", "b", "c", "d"])
    start = utcnow()
    refine(store, "a", created_at=start - timedelta(hours=1))  # before
    refine(store, "b")
    refine(store, "c", decision="skip")
    refine(store, "d", reviewer="bo")
    store.save_calibration_item(CalibrationItem(task_id="a", draft_id="d_a", decision="accept", expert="lead"))
    answer = Refinement(task_id="a", draft_id="d_a", decision="accept", reviewer="ana")
    store.save_calibration_answer(CalibrationAnswer(task_id="a", reviewer="ana", refinement=answer,
                                                    decision_agrees=True, tag_overlap=1.0, text_similarity=1.0))
    assert store.reviewer_progress("ana", since=start) == {"done": 1, "skipped": 1, "calibration": 1}
    assert store.reviewer_progress("ana", since=start - timedelta(days=1)) == {"done": 2, "skipped": 1,
                                                                               "calibration": 1}
    assert store.reviewer_progress("bo", since=start) == {"done": 1, "skipped": 0, "calibration": 0}
    assert store.reviewer_progress("ana", since=utcnow() + timedelta(hours=1)) == {"done": 0, "skipped": 0,
                                                                                   "calibration": 0}


def test_refinements_and_drafts_of_a_task_oldest_first(store: Store) -> None:
    seed(store, ["a", "b"])
    older = store.save_draft(Draft(id="d_a0", task_id="a", model="m0", prompt_name="draft", prompt_version="v0",
                                   text="Old.", created_at=utcnow() - timedelta(days=1)))
    now = utcnow()
    second = refine(store, "a", reviewer="bo", created_at=now)
    first = store.save_refinement(Refinement(task_id="a", draft_id="d_a", decision="reject", reviewer="ana",
                                             created_at=now - timedelta(minutes=5)))
    refine(store, "b")
    assert [d.id for d in store.drafts_of_task("a")] == [older.id, "d_a"]
    assert [r.id for r in store.refinements_of_task("a")] == [first.id, second.id]
    assert store.refinements_of_task("nope") == [] and store.drafts_of_task("nope") == []


# -- skimming refinements ------------------------------------------------------------------------


def test_skim_page_newest_first_with_filters(store: Store) -> None:
    seed(store, ["a", "b", "c"], model="m1")
    seed(store, ["x", "y"], model="m2")
    now = utcnow()
    made = {
        "a": refine(store, "a", tags=("style",), created_at=now - timedelta(minutes=5)),
        "b": refine(store, "b", tags=("style-guide", "tone"), created_at=now - timedelta(minutes=4)),
        "c": refine(store, "c", tags=("tone",), created_at=now - timedelta(minutes=3)),
        "x": refine(store, "x", tags=("style", "tone"), created_at=now - timedelta(minutes=2)),
        "y": refine(store, "y", created_at=now - timedelta(minutes=1)),
    }

    total, page = store.skim_page()
    assert total == 5 and [r.task_id for _, r in page] == ["y", "x", "c", "b", "a"]
    assert all(d.id == r.draft_id and d.task_id == r.task_id for d, r in page)
    assert page[1][1] == made["x"]
    assert store.skim_page(offset=1, limit=2)[0] == 5
    assert [r.task_id for _, r in store.skim_page(offset=1, limit=2)[1]] == ["x", "c"]

    def tasks(**kwargs: object) -> tuple[int, list[str]]:
        total, page = store.skim_page(**kwargs)  # type: ignore[arg-type]
        return total, [r.task_id for _, r in page]

    assert tasks(tag="style") == (2, ["x", "a"])  # not "style-guide"
    assert tasks(tag="tone") == (3, ["x", "c", "b"])
    assert tasks(tag="missing") == (0, [])
    assert tasks(model="m2") == (2, ["y", "x"])
    assert tasks(model="m1", tag="tone") == (2, ["c", "b"])
    assert tasks(task_ids=["a", "y", "nope"]) == (2, ["y", "a"])
    assert tasks(task_ids=["a", "b", "c", "x"], tag="tone", offset=1, limit=1) == (3, ["c"])
    assert tasks(task_ids=[]) == (0, [])


def test_skim_page_over_more_task_ids_than_one_query_takes(store: Store) -> None:
    ids = [f"t{i:04d}" for i in range(1200)]
    store.add_tasks([Task(id=i, prompt=f"Q {i}?") for i in ids])
    now = utcnow()
    work = [(Task(id=i, prompt=f"Q {i}?"),
             Draft(id=f"d_{i}", task_id=i, model="m1", prompt_name="draft", prompt_version="v1", text="A."),
             Refinement(task_id=i, draft_id=f"d_{i}", decision="accept", created_at=now + timedelta(seconds=k)))
            for k, i in enumerate(ids)]
    store.add_finished_work(work)
    total, page = store.skim_page(task_ids=ids[:1100], offset=0, limit=3)
    assert total == 1100 and [r.task_id for _, r in page] == ["t1099", "t1098", "t1097"]


def test_pattern_task_ids(store: Store) -> None:
    notes = [FailureNote(id="n1", text="No source.", source="tag", task_id="b"),
             FailureNote(id="n2", text="No source again.", source="tag", task_id="a"),
             FailureNote(id="n3", text="Same task.", source="rationale", task_id="b"),
             FailureNote(id="n4", text="Imported.", source="import"),
             FailureNote(id="n5", text="Too long.", source="tag", task_id="c")]
    store.save_notes(notes)
    stats = PatternStats(size=4, refinements=3, prevalence=0.5)
    patterns = [Pattern(id="p1", name="no source", member_ids=["n1", "n2", "n3", "n4"], stats=stats),
                Pattern(id="p2", name="too long", member_ids=["n5"], stats=stats)]
    run = MiningRun(id="run1", embedding_model="e", names="keywords")
    store.save_run(run, patterns, np.zeros((2, 3), dtype=np.float32), [[0.9] * 4, [0.8]], [])
    assert store.pattern_task_ids("p1") == ["a", "b"]
    assert store.pattern_task_ids("p2") == ["c"]
    assert store.pattern_task_ids("nope") == []


# -- users and sessions --------------------------------------------------------------------------


def test_users_are_added_once_and_found_by_token(store: Store) -> None:
    store.add_user(User(name="bo", role="trainer"), "hash-bo")
    store.add_user(User(name="ana", role="lead"), "hash-ana")
    with pytest.raises(StoreError, match="user 'ana' exists"):
        store.add_user(User(name="ana", role="trainer"), "hash-other")
    assert [(u.name, u.role) for u in store.users()] == [("ana", "lead"), ("bo", "trainer")]
    assert store.user("ana").role == "lead"  # type: ignore[union-attr]
    assert store.user("nobody") is None
    assert store.user_by_token_hash("hash-bo").name == "bo"  # type: ignore[union-attr]
    assert store.user_by_token_hash("hash-other") is None

    store.set_user_token("bo", "hash-bo-2")
    assert store.user_by_token_hash("hash-bo") is None
    assert store.user_by_token_hash("hash-bo-2").name == "bo"  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        store.set_user_token("nobody", "h")
    with pytest.raises(NotFoundError):
        store.set_user_disabled("nobody", True)


def test_a_disabled_user_cannot_sign_in_and_loses_their_sessions(store: Store) -> None:
    store.add_user(User(name="ana", role="trainer"), "hash-ana")
    store.add_user(User(name="bo", role="trainer"), "hash-bo")
    later = utcnow() + timedelta(hours=1)
    store.create_session("s-ana", "ana", "csrf-ana", later)
    store.create_session("s-bo", "bo", "csrf-bo", later)
    user, csrf = store.session("s-ana")  # type: ignore[misc]
    assert (user.name, csrf) == ("ana", "csrf-ana")

    store.set_user_disabled("ana", True)
    assert store.user("ana").disabled is True  # type: ignore[union-attr]
    assert store.user_by_token_hash("hash-ana") is None
    assert store.session("s-ana") is None
    assert store.session("s-bo")[1] == "csrf-bo"  # type: ignore[index]
    store.set_user_disabled("ana", False)
    assert store.user_by_token_hash("hash-ana").disabled is False  # type: ignore[union-attr]
    assert store.session("s-ana") is None  # ended for good, not just hidden
    assert store.count("web_sessions") == 1


def test_sessions_expire_and_end(store: Store) -> None:
    clock = store.clock = Clock()
    store.add_user(User(name="ana", role="trainer"), "hash-ana")
    store.create_session("old", "ana", "c1", clock.now + timedelta(minutes=1))
    assert store.session("old")[1] == "c1"  # type: ignore[index]
    clock.move(61)
    assert store.session("old") is None  # expired by the store's clock
    # a session's expiry may come in any timezone: it is kept as UTC
    store.create_session("live", "ana", "c2", (clock.now + timedelta(hours=1)).astimezone(
        __import__("zoneinfo").ZoneInfo("America/Lima")))
    assert store.count("web_sessions") == 1  # the expired one was dropped on the way
    assert store.session("live")[1] == "c2"  # type: ignore[index]
    clock.move(3599)
    assert store.session("live")[1] == "c2"  # type: ignore[index]
    clock.move(2)
    assert store.session("live") is None
    clock.move(-2)
    assert store.session("unknown") is None
    store.end_session("live")
    assert store.session("live") is None and store.count("web_sessions") == 0
    store.end_session("live")  # again: nothing to end


# -- calibration ---------------------------------------------------------------------------------


def item(task_id: str, *, decision: str = "accept", created_at: datetime | None = None) -> CalibrationItem:
    return CalibrationItem(task_id=task_id, draft_id=f"d_{task_id}", decision=decision,  # type: ignore[arg-type]
                           expert="lead", created_at=created_at or utcnow())


def answer(task_id: str, reviewer: str, decision: str = "accept") -> CalibrationAnswer:
    refinement = Refinement(task_id=task_id, draft_id=f"d_{task_id}", decision=decision,  # type: ignore[arg-type]
                            reviewer=reviewer)
    return CalibrationAnswer(task_id=task_id, reviewer=reviewer, refinement=refinement,
                             decision_agrees=decision == "accept", tag_overlap=1.0, text_similarity=0.5)


def test_calibration_items_are_kept_replaced_and_removed(store: Store) -> None:
    seed(store, ["a", "b"])
    now = utcnow()
    with pytest.raises(NotFoundError, match="no task"):
        store.save_calibration_item(item("nope"))
    with pytest.raises(NotFoundError, match="no draft"):
        store.save_calibration_item(CalibrationItem(task_id="a", draft_id="d_b", decision="accept", expert="lead"))
    store.save_calibration_item(item("b", created_at=now - timedelta(hours=2)))
    store.save_calibration_item(item("a", created_at=now - timedelta(hours=1)))
    replaced = store.save_calibration_item(item("b", decision="reject", created_at=now))
    assert store.calibration_item("b") == replaced
    assert [(i.task_id, i.decision) for i in store.calibration_items()] == [("a", "accept"), ("b", "reject")]
    assert store.calibration_item("nope") is None
    assert store.remove_calibration_item("a") is True
    assert store.remove_calibration_item("a") is False
    assert [i.task_id for i in store.calibration_items()] == ["b"]


def test_each_reviewer_answers_each_item_once(store: Store) -> None:
    seed(store, ["a", "b"])
    now = utcnow()
    store.save_calibration_item(item("a", created_at=now - timedelta(hours=1)))
    store.save_calibration_item(item("b", created_at=now))
    assert store.next_calibration_item("ana").task_id == "a"  # type: ignore[union-attr]

    first = store.save_calibration_answer(answer("a", "ana"))
    assert store.save_calibration_answer(answer("a", "ana", decision="reject")) == first
    assert store.calibration_answer("a", "ana") == first
    assert store.calibration_answer("a", "bo") is None
    assert store.next_calibration_item("ana").task_id == "b"  # type: ignore[union-attr]
    assert store.next_calibration_item("bo").task_id == "a"  # type: ignore[union-attr]

    store.save_calibration_answer(answer("b", "ana", decision="edit"))
    store.save_calibration_answer(answer("a", "bo"))
    assert store.next_calibration_item("ana") is None
    assert [(x.task_id, x.reviewer) for x in store.calibration_answers()] == [("a", "ana"), ("b", "ana"),
                                                                               ("a", "bo")]
    assert [x.task_id for x in store.calibration_answers(reviewer="ana")] == ["a", "b"]
    assert [x.refinement.decision for x in store.calibration_answers(reviewer="ana")] == ["accept", "edit"]


# -- the migration -----------------------------------------------------------------------------


def test_m010_upgrades_a_database_made_before_it(store: Store, new_database: Callable[[], str]) -> None:
    seed(store, ["a", "b"])
    with older_copy(store, new_database(), upto="m009_judge_verdicts") as older:
        with older.reading() as conn:
            assert "reviewer" not in {c["name"] for c in inspect(conn).get_columns("task_states")}
            assert "users" not in inspect(conn).get_table_names()
        assert older.migrate()[0] == "m010_review"
        with older.reading() as conn:
            inspector = inspect(conn)
            columns = {c["name"] for c in inspector.get_columns("task_states")}
            indexes = {i["name"] for i in inspector.get_indexes("task_states")}
            assert {"reviewer", "review_claimed_at", "review_lease_until"} <= columns
            assert {index.name for index in REVIEW_INDEXES
                    if index.table is not None and index.table.name == "task_states"} <= indexes
            assert {"ix_tasks_source", "ix_tasks_domain"} <= {i["name"] for i in inspector.get_indexes("tasks")}
            assert {"users", "web_sessions", "calibration_items", "calibration_answers"} <= set(
                inspector.get_table_names())
        assert [s.state for s in older.task_states()] == ["awaiting_review", "awaiting_review"]
        assert older.claim_review("ana", lease_seconds=LEASE).task_id == "a"  # type: ignore[union-attr]
        assert older.migrate() == []


def test_datetimes_come_back_aware_utc(store: Store) -> None:
    seed(store, ["a"])
    lease = store.claim_review("ana", lease_seconds=LEASE)
    rows = store.review_queue_page()[1]
    for value in (lease.claimed_at, lease.lease_until, store.review_lease("a").claimed_at,  # type: ignore[union-attr]
                  rows[0]["lease_until"]):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert abs(lease.claimed_at - datetime.now(UTC)) < timedelta(minutes=1)  # type: ignore[union-attr]


def test_a_count_limit_stops_the_count_but_not_the_page(store: Store) -> None:
    seed(store, [f"t{i:02d}" for i in range(12)], domain="geo")
    assert store.review_queue_page(count_limit=5)[0] == 6  # "5+": the count stopped past the limit
    assert store.review_queue_page(count_limit=50)[0] == 12
    assert store.review_queue_page(domain="geo", count_limit=3, limit=4)[0] == 4
    total, rows = store.review_queue_page(count_limit=5, offset=2, limit=3)
    assert (total, [r["task_id"] for r in rows]) == (6, ["t02", "t03", "t04"])
