"""Tasks, drafts, critiques, refinements, and each task's state (with claims for workers).

A task moves through one state machine, kept in ``task_states``:

    pending ──claim──▶ drafting ──critique saved──▶ awaiting_review ──refinement──▶ refined | skipped
       ▲                  │ error                         ▲
       └──── failed ◀─────┘                               └── reset (a stuck thread)

A task imported with its draft is pending too (`draft` critiques it, drafting nothing), or starts at
awaiting_review when that draft is to be reviewed without a critique. ``drafting`` is held by one
worker's claim until its lease expires, so several workers (processes, machines) share one queue
and a crashed worker's tasks come back.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Literal

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from oversight.errors import NotFoundError
from oversight.schemas import (
    EXPERIMENT_BATCH_PREFIX,
    IMPORTED,
    Critique,
    Draft,
    FindingVerdict,
    Refinement,
    Task,
    new_id,
    utcnow,
)
from oversight.store import tables as t
from oversight.store._base import CHUNK, StoreBase, chunks, data_of_id, not_gold_copy, reconnecting
from oversight.store._summaries import critique_summary, draft_summary, refinement_summary

__all__ = ["IMPORT_THREAD", "RefineRecords", "TASK_STATES", "TaskState", "TaskStateName"]

TaskStateName = Literal["pending", "drafting", "awaiting_review", "refined", "skipped", "failed"]
TASK_STATES: tuple[TaskStateName, ...] = ("pending", "drafting", "awaiting_review", "refined", "skipped", "failed")


IMPORT_THREAD = "{task_id}::import"  # the thread of a task imported with a draft to review without a critique


def _new_state(task_id: str, draft: Draft | None, now: datetime) -> dict[str, Any]:
    """A new task's state row (pending; awaiting review at once for a draft imported without a critique)."""
    row = {"task_id": task_id, "state": "pending", "attempts": 0, "updated_at": now, "draft_id": None, "thread_id": None}
    if draft is not None:
        row["draft_id"] = draft.id
        if draft.imported_from is not None and not draft.imported_from.critique:
            row.update(state="awaiting_review", thread_id=IMPORT_THREAD.format(task_id=task_id))
    return row


def _task_row(task: Task, source: str | None) -> dict[str, Any]:
    return {"id": task.id, "domain": task.domain, "kind": task.kind, "source": source,
            "created_at": task.created_at, "data": task.model_dump(mode="json")}


# UPDATE task_states SET <the parameters given> WHERE task_id = :of_task
_STATE_OF_TASK = update(t.task_states).where(t.task_states.c.task_id == bindparam("of_task"))

# the draft a task was imported with, and the draft of an id: built (and its cache key made) once, not per task
_DRAFT_TO_REVIEW = select(t.drafts.c.id, t.drafts.c.prompt_version, t.drafts.c.data).where(
    or_(t.drafts.c.id == bindparam("draft_id"),
        and_(t.drafts.c.task_id == bindparam("task_id"), t.drafts.c.prompt_version == IMPORTED)))


@functools.cache
def _claim(postgresql: bool, of_tasks: bool, excluding: bool) -> Any:
    """The UPDATE that claims up to :limit claimable tasks (of :task_ids; not of :exclude) for :claim_as until
    :lease_ends, returning their ids and attempts: built once per shape, as a worker claims every few tasks."""
    s = t.task_states
    claimable = or_(s.c.state.in_(("pending", "failed")),
                    and_(s.c.state == "drafting", or_(s.c.lease_until.is_(None), s.c.lease_until < bindparam("now"))))
    pick = select(s.c.task_id).where(claimable).order_by(s.c.updated_at, s.c.task_id).limit(bindparam("limit"))
    if of_tasks:
        pick = pick.where(s.c.task_id.in_(bindparam("task_ids", expanding=True)))
    else:  # an experiment's items are drafted by the experiment (its planted draft), never by `draft`
        pick = pick.where(s.c.task_id.not_in(
            select(t.tasks.c.id).where(t.tasks.c.source.like(f"{EXPERIMENT_BATCH_PREFIX}%"))))
    if excluding:
        pick = pick.where(s.c.task_id.not_in(bindparam("exclude", expanding=True)))
    if postgresql:  # workers do not queue behind each other's candidate rows
        pick = pick.with_for_update(skip_locked=True)
    return (update(s).where(s.c.task_id.in_(pick.scalar_subquery()), claimable)
            .values(state="drafting", claim=bindparam("claim_as"), lease_until=bindparam("lease_ends"),
                    attempts=s.c.attempts + 1, updated_at=bindparam("now"))
            .returning(s.c.task_id, s.c.attempts))


def _task(conn: Connection, task_id: str) -> Task:
    data = conn.scalar(data_of_id(t.tasks), {"id": task_id})
    if data is None:
        raise NotFoundError(f"no task with id {task_id!r}")
    return Task.model_validate(data)


def _draft_to_review(conn: Connection, task_id: str, draft_id: str) -> Draft | None:
    found = conn.execute(_DRAFT_TO_REVIEW, {"draft_id": draft_id, "task_id": task_id}).all()
    # an imported draft first (of several, a post-edit import's, the first by id), then the derived one
    return Draft.model_validate(min(found, key=lambda r: (r.prompt_version != IMPORTED, r.id)).data) if found else None


def _draft_row(draft: Draft) -> dict[str, Any]:
    data = draft.model_dump(mode="json")
    return {"id": draft.id, "task_id": draft.task_id, "model": draft.model, "prompt_version": draft.prompt_version,
            "created_at": draft.created_at, "data": data, **draft_summary(data)}


def _critique_row(critique: Critique) -> dict[str, Any]:
    data = critique.model_dump(mode="json")
    return {"id": critique.id, "draft_id": critique.draft_id, "task_id": critique.task_id, "model": critique.model,
            "created_at": critique.created_at, "data": data, **critique_summary(data)}


def _refinement_rows(conn: Connection, refinements: Sequence[Refinement]) -> list[dict[str, Any]]:
    """Rows for refinements, their verdicts counted on the findings their critique showed."""
    critique_ids = list({r.critique_id for r in refinements if r.critique_id})
    shown: dict[str, int] = {}
    for part in chunks(critique_ids):
        shown.update(conn.execute(select(t.critiques.c.id, t.critiques.c.shown).where(t.critiques.c.id.in_(part))).all())
    rows = []
    for r in refinements:
        data = r.model_dump(mode="json")
        rows.append({"id": r.id, "task_id": r.task_id, "draft_id": r.draft_id, "decision": r.decision,
                     "reviewer": r.reviewer, "seconds_spent": r.seconds_spent, "created_at": r.created_at,
                     "data": data, **refinement_summary(data, shown.get(r.critique_id or "") or 0)})
    return rows


class TaskState(dict):  # type: ignore[type-arg]
    """One row of ``task_states`` (a dict, so it serialises as it is)."""

    @property
    def task_id(self) -> str:
        return str(self["task_id"])

    @property
    def state(self) -> TaskStateName:
        return self["state"]  # type: ignore[no-any-return]


class RefineRecords(StoreBase):
    """The refine loop's records."""

    # -- tasks -----------------------------------------------------------------------

    def add_tasks(self, tasks: Iterable[Task], *, source: str | None = None) -> tuple[int, int]:
        """Insert tasks (each pending) in one transaction; tasks whose id exists are left alone.

        Returns (added, already_present).
        """
        return self.add_imported_tasks([(task, None) for task in tasks], source=source)

    def add_imported_tasks(self, work: Iterable[tuple[Task, Draft | None]], *,
                           source: str | None = None) -> tuple[int, int]:
        """Insert tasks with the drafts they came with (None: to be drafted) in one transaction, a chunk at a time
        as ``work`` yields them (an error it raises rolls back all); return (added, already_present).

        A task whose id exists is left alone, its row's draft too. A new task is pending (its draft noted), or
        awaits review at once (thread ``IMPORT_THREAD``) when its draft is to be reviewed without a critique.
        """
        added = seen = 0
        rows = iter(work)
        with self.transaction() as conn:
            while part := list(islice(rows, CHUNK)):
                seen += len(part)
                drafts = {task.id: draft for task, draft in part if draft is not None}
                fresh = self._insert_tasks(conn, [_task_row(task, source) for task, _ in part], dedupe=False, drafts=drafts)
                self._insert_missing(conn, t.drafts, [_draft_row(drafts[r["id"]]) for r in fresh if r["id"] in drafts])
                added += len(fresh)
        return added, seen - added

    def _insert_tasks(self, conn: Connection, rows: list[dict[str, Any]], *, dedupe: bool = True,
                      drafts: dict[str, Draft] | None = None) -> list[dict[str, Any]]:
        """New tasks, each with its state (pending, or as its imported draft in ``drafts`` says); return the new rows."""
        fresh = self._insert_missing(conn, t.tasks, rows, dedupe=dedupe)
        now = utcnow()
        states = [_new_state(row["id"], (drafts or {}).get(row["id"]), now) for row in fresh]
        self._insert_missing(conn, t.task_states, states, key="task_id")
        return fresh

    def get_task(self, task_id: str) -> Task:
        """The task with this id. Raises NotFoundError."""
        with self.reading() as conn:
            return _task(conn, task_id)

    def task_and_draft_to_review(self, task_id: str, draft_id: str) -> tuple[Task, Draft | None]:
        """``get_task`` and ``draft_to_review`` in one read (a connection each costs as much as a query). Raises
        NotFoundError."""
        with self.reading() as conn:
            return _task(conn, task_id), _draft_to_review(conn, task_id, draft_id)

    def tasks(self, ids: Iterable[str] | None = None) -> list[Task]:
        """All tasks (or those with the given ids), oldest first; all means all but gold copies (a gold
        item's own task in one trainer's queue: no stage counts or selects it)."""
        query = select(t.tasks.c.data).order_by(t.tasks.c.created_at, t.tasks.c.id)
        with self.reading() as conn:
            if ids is None:
                return [Task.model_validate(d) for d in conn.scalars(query.where(not_gold_copy(t.tasks.c.id)))]
            out: list[Task] = []
            for part in chunks(list(ids)):
                out.extend(Task.model_validate(d) for d in conn.scalars(query.where(t.tasks.c.id.in_(part))))
            return out

    def task_sources(self, ids: Iterable[str]) -> dict[str, str | None]:
        """The batch (the import's source) of each of these tasks, by id (missing ones are absent)."""
        out: dict[str, str | None] = {}
        with self.reading() as conn:
            for part in chunks(list(set(ids))):
                out.update(conn.execute(select(t.tasks.c.id, t.tasks.c.source).where(t.tasks.c.id.in_(part))).all())
        return out

    def task_ids(self) -> list[str]:
        """Every task's id (but gold copies'), oldest first."""
        with self.reading() as conn:
            return list(conn.scalars(select(t.tasks.c.id).where(not_gold_copy(t.tasks.c.id))
                                     .order_by(t.tasks.c.created_at, t.tasks.c.id)))

    # -- drafts and critiques --------------------------------------------------------

    def get_draft(self, draft_id: str) -> Draft | None:
        """The draft with this id, or None."""
        return self.drafts([draft_id]).get(draft_id)

    def drafts(self, ids: Iterable[str]) -> dict[str, Draft]:
        """The drafts with these ids, by id (missing ones are absent)."""
        return {d["id"]: Draft.model_validate(d) for d in self._data_by_id(t.drafts, ids)}

    def draft_to_review(self, task_id: str, draft_id: str) -> Draft | None:
        """The draft ``task_id`` was imported with, if any, else the draft ``draft_id``; None if neither (one query)."""
        with self.reading() as conn:
            return _draft_to_review(conn, task_id, draft_id)

    def save_draft(self, draft: Draft) -> Draft:
        """Keep a draft. If one with the same id exists, keep and return that one."""
        stored = self._insert_once(t.drafts, _draft_row(draft))
        return draft if stored is None else Draft.model_validate(stored)

    def get_critique(self, critique_id: str) -> Critique | None:
        """The critique with this id, or None."""
        return self.critiques([critique_id]).get(critique_id)

    def critiques(self, ids: Iterable[str]) -> dict[str, Critique]:
        """The critiques with these ids, by id (missing ones are absent)."""
        return {c["id"]: Critique.model_validate(c) for c in self._data_by_id(t.critiques, ids)}

    def save_critique(self, critique: Critique, *, thread_id: str | None = None) -> Critique:
        """Keep a critique and move its task to awaiting_review, in one transaction.

        If a critique with the same id exists, keep and return that one (the task still moves).
        """
        stored = self._insert_once(t.critiques, _critique_row(critique), after=lambda conn: self._awaiting(conn, critique, thread_id))
        return critique if stored is None else Critique.model_validate(stored)

    # -- refinements -----------------------------------------------------------------

    def save_refinement(self, refinement: Refinement) -> Refinement:
        """Keep a refinement and move its task to refined (or skipped), in one transaction.

        Saving the same refinement id twice keeps the first, so a resumed graph that
        re-runs its record step does not double count.
        """
        with self.transaction() as conn:
            existing = conn.scalar(select(t.refinements.c.data).where(t.refinements.c.id == refinement.id))
            if existing is not None:
                return Refinement.model_validate(existing)
            conn.execute(t.refinements.insert().values(**_refinement_rows(conn, [refinement])[0]))
            state: TaskStateName = "skipped" if refinement.decision == "skip" else "refined"
            self._set_state(conn, refinement.task_id, state, error=None)
        return refinement

    def add_finished_work(
        self, work: Sequence[tuple[Task, Draft, Refinement]], *, source: str | None = None
    ) -> tuple[int, int]:
        """Keep already-refined work (imported post-edits) whole, in one transaction.

        Tasks, drafts and refinements whose ids exist are left alone; each task with a new
        refinement ends refined (or skipped). Returns (refinements added, already present).
        """
        with self.transaction() as conn:
            self._insert_tasks(conn, [_task_row(task, source) for task, _, _ in work])
            self._insert_missing(conn, t.drafts, [_draft_row(draft) for _, draft, _ in work])
            fresh = self._insert_missing(conn, t.refinements, _refinement_rows(conn, [r for _, _, r in work]))
            for row in fresh:
                self._set_state(conn, row["task_id"], "skipped" if row["decision"] == "skip" else "refined",
                                draft_id=row["draft_id"], error=None)
        return len(fresh), len({r.id for _, _, r in work}) - len(fresh)

    def get_refinement(self, refinement_id: str) -> Refinement | None:
        """The refinement with this id, or None."""
        found = self._data_by_id(t.refinements, [refinement_id])
        return Refinement.model_validate(found[0]) if found else None

    def refinements(self, *, since: datetime | None = None, reviewer: str | None = None,
                    reviewers: Collection[str] | None = None) -> list[Refinement]:
        """All refinements (since a time; by one ``reviewer``; with ``reviewers``, only theirs), oldest first."""
        query = select(t.refinements.c.data).order_by(t.refinements.c.created_at, t.refinements.c.id)
        if since is not None:
            query = query.where(t.refinements.c.created_at >= since)
        if reviewer is not None:
            query = query.where(t.refinements.c.reviewer == reviewer)
        if reviewers is not None:
            query = query.where(t.refinements.c.reviewer.in_(sorted(reviewers)))
        with self.reading() as conn:
            return [Refinement.model_validate(d) for d in conn.scalars(query)]

    def critiques_with_verdicts(self) -> list[tuple[Critique, list[FindingVerdict]]]:
        """Every critique (but gold copies'), oldest first, with the finding verdicts of the refinements made on it.

        A verdict's ``finding`` indexes the critique's (shown) findings; several refinements
        of one critique (several reviewers) each add theirs.
        """
        critique_query = (select(t.critiques.c.data).where(not_gold_copy(t.critiques.c.task_id))
                          .order_by(t.critiques.c.created_at, t.critiques.c.id))
        with self.reading() as conn:
            critique_data = list(conn.scalars(critique_query))
            refinement_data = list(conn.scalars(
                select(t.refinements.c.data).order_by(t.refinements.c.created_at, t.refinements.c.id)))
        verdicts: dict[str, list[FindingVerdict]] = {}
        for data in refinement_data:
            refinement = Refinement.model_validate(data)
            if refinement.critique_id is not None:
                verdicts.setdefault(refinement.critique_id, []).extend(refinement.finding_verdicts)
        critiques = [Critique.model_validate(d) for d in critique_data]
        return [(c, verdicts.get(c.id, [])) for c in critiques]

    # -- task states -----------------------------------------------------------------

    @staticmethod
    def _set_state(conn: Connection, task_id: str, state: TaskStateName, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None or k == "error"}
        if state != "drafting":
            values.update(claim=None, lease_until=None)
        if state != "awaiting_review":  # a refined (or re-drafted) task holds no review lease
            values.update(reviewer=None, review_claimed_at=None, review_lease_until=None)
        # the values as parameters of one statement built once: no bound value built per column
        conn.execute(_STATE_OF_TASK, {"of_task": task_id, "state": state, "updated_at": utcnow(), **values})

    def task_state(self, task_id: str) -> TaskState:
        """Where one task stands. Raises NotFoundError."""
        with self.reading() as conn:
            row = conn.execute(select(t.task_states).where(t.task_states.c.task_id == task_id)).first()
        if row is None:
            raise NotFoundError(f"no task with id {task_id!r}")
        return TaskState(row._mapping)

    @reconnecting
    def task_states(self, state: TaskStateName | None = None, ids: Iterable[str] | None = None) -> list[TaskState]:
        """Task states (optionally in one state, or of some tasks), in task order; without ``ids``, gold
        copies' are left out (a gold item's own task in one trainer's queue: no stage counts or selects it)."""
        query = (select(t.task_states).join(t.tasks, t.tasks.c.id == t.task_states.c.task_id)
                 .order_by(t.tasks.c.created_at, t.tasks.c.id))
        if state is not None:
            query = query.where(t.task_states.c.state == state)
        with self.reading() as conn:
            if ids is None:
                return [TaskState(row._mapping) for row in conn.execute(query.where(not_gold_copy(t.task_states.c.task_id)))]
            out: list[TaskState] = []
            for part in chunks(list(ids)):
                out.extend(TaskState(r._mapping) for r in conn.execute(query.where(t.task_states.c.task_id.in_(part))))
            return out

    @reconnecting
    def claim_tasks(
        self,
        *,
        lease_seconds: float,
        limit: int = 1,
        task_ids: Sequence[str] | None = None,
        exclude: Iterable[str] = (),
        worker: str = "worker",
    ) -> list[tuple[str, str, int]]:
        """Claim up to ``limit`` tasks that need drafting; return (task_id, claim token, attempts) each.

        Claimable: pending, failed, or drafting under a lease that has expired (its worker
        died). Without ``task_ids``, an experiment's review items are never claimed: the
        experiment drafts them itself (a planted draft, its condition's model). The claim is one UPDATE, so two workers never hold the same task; on
        PostgreSQL the candidate rows are picked with FOR UPDATE SKIP LOCKED so workers do
        not queue behind each other.
        """
        now = self.clock()  # a lease is measured by the store's clock, like every other
        task_ids = None if task_ids is None else list(task_ids)
        exclude = list(exclude)  # e.g. the ones that failed in this run: not again, not now
        params: dict[str, Any] = {"now": now, "limit": limit, "claim_as": f"{worker}/{new_id('c')}",
                                  "lease_ends": now + timedelta(seconds=lease_seconds)}
        if task_ids is not None:
            params["task_ids"] = task_ids
        if exclude:
            params["exclude"] = exclude
        with self.transaction() as conn:
            rows = conn.execute(_claim(self.dialect == "postgresql", task_ids is not None, bool(exclude)), params).all()
        claim = params["claim_as"]
        order = {task_id: i for i, task_id in enumerate(task_ids or ())}
        return sorted(((r[0], claim, int(r[1])) for r in rows), key=lambda r: (order.get(r[0], 0), r[0]))

    def claim_task(self, **kwargs: Any) -> tuple[str, str, int] | None:
        """Claim the next task that needs drafting (see ``claim_tasks``), or None."""
        claimed = self.claim_tasks(limit=1, **kwargs)
        return claimed[0] if claimed else None

    @reconnecting
    def held_claims(self) -> list[tuple[str, str]]:
        """(task_id, claim) of every task being drafted right now."""
        s = t.task_states
        with self.reading() as conn:
            return [(r[0], r[1]) for r in conn.execute(select(s.c.task_id, s.c.claim).where(s.c.state == "drafting"))]

    @reconnecting
    def release(self, task_id: str, claim: str) -> bool:
        """Give a claimed task back to the queue (its worker is known to be gone). True if it was held so."""
        s = t.task_states
        with self.transaction() as conn:
            result = conn.execute(update(s).where(s.c.task_id == task_id, s.c.claim == claim, s.c.state == "drafting")
                                  .values(state="pending", claim=None, lease_until=None, updated_at=utcnow()))
        return bool(result.rowcount)

    def mark_awaiting_review(self, reviewed: Critique | Draft, *, thread_id: str | None = None) -> None:
        """A critique that exists (or a draft to review without one): its task (again) awaits review, on this thread."""
        with self.transaction() as conn:
            self._awaiting(conn, reviewed, thread_id)

    def _awaiting(self, conn: Connection, reviewed: Critique | Draft, thread_id: str | None) -> None:
        ids = ({"draft_id": reviewed.draft_id, "critique_id": reviewed.id} if isinstance(reviewed, Critique)
               else {"draft_id": reviewed.id})
        self._set_state(conn, reviewed.task_id, "awaiting_review", thread_id=thread_id, error=None, **ids)

    @reconnecting
    def mark_failed(self, task_id: str, error: str, *, claim: str | None = None) -> None:
        """A task whose drafting failed: its error is kept, and the next `draft` tries it again."""
        s = t.task_states
        with self.transaction() as conn:
            query = update(s).where(s.c.task_id == task_id, s.c.state == "drafting")
            if claim is not None:
                query = query.where(s.c.claim == claim)
            conn.execute(query.values(state="failed", error=error[:2000], claim=None, lease_until=None,
                                      updated_at=utcnow()))
