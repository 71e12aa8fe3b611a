"""The review page's records: review leases, the queue, and what reading many refinements needs.

A trainer holds a queued task (``awaiting_review``) under a *review lease*, kept on its
``task_states`` row (``reviewer``, ``review_claimed_at``, ``review_lease_until``): two
trainers never hold the same task, a lease that runs out puts the task back in the queue,
and saving a refinement (any move out of ``awaiting_review``) clears it. A claim does not
touch ``updated_at``, so the queue keeps its order while items are held.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import ColumnElement, FromClause, Select

from oversight.schemas import Draft, Refinement, ReviewLease, RoutingRule
from oversight.store import tables as t
from oversight.store._base import StoreBase, aware_utc, chunks, not_gold_copy

__all__ = ["ReviewRecords"]

PROMPT_PREVIEW = 160  # characters of each prompt the queue page shows
_FEW = 2000  # a filtered queue this short is paged in Python on SQLite (see review_queue_page)


class ReviewRecords(StoreBase):
    """Review leases on queued tasks, the queue page, and the views for reading many refinements."""

    # -- review leases -------------------------------------------------------------------------

    def _queue(self, batch: str | None, domain: str | None, model: str | None, viewer: str | None = None, *,
               with_task: bool = False) -> tuple[FromClause, list[Any]]:
        """What the awaiting-review queue with these filters selects from, and its conditions
        (``with_task``: the task is joined even without a filter on it, for a condition on it).

        Gold copies are left out, but ``viewer``'s own: a copy is one trainer's, never anyone else's.

        ``batch`` is the task's source, ``model`` that of the draft the task waits with. With
        both a task filter and a model, on SQLite the draft is also joined to its task (a task's
        draft is one of its own): else SQLite, without statistics unless someone runs ANALYZE,
        may plan the tasks of the batch times the drafts of the model. Not on PostgreSQL, whose
        estimate that redundant condition spoils (it then sorts every match to pick one).
        """
        s, tk, d = t.task_states, t.tasks, t.drafts
        source: FromClause = s
        where: list[Any] = [s.c.state == "awaiting_review", not_gold_copy(s.c.task_id, but_of=viewer)]
        of_task = [column == value for column, value in ((tk.c.source, batch), (tk.c.domain, domain))
                   if value is not None]
        if of_task or with_task:
            source = source.join(tk, tk.c.id == s.c.task_id)
            where += of_task
        if model is not None:
            link = d.c.id == s.c.draft_id
            source = source.join(d, and_(link, d.c.task_id == tk.c.id)
                                 if (of_task or with_task) and self.dialect == "sqlite" else link)
            where.append(d.c.model == model)
        return source, where

    @staticmethod
    def _expert_only(routing: RoutingRule, qualified: Collection[str]) -> ColumnElement[bool] | None:
        """Tasks the reviewer may take under ``routing``: those it sends to "expert" only in a domain
        in ``qualified`` (all with '*'); None when nothing is withheld. ``RoutingRule.route_for`` in SQL:
        the first rule whose kind (or domain) matches, else the default."""
        tk = t.tasks
        routes = {g.route for g in routing.rules} | {routing.default.route}
        if "expert" not in routes or "*" in qualified:
            return None
        whens = []
        for group in routing.rules:
            column = {"kind": tk.c.kind, "domain": tk.c.domain}.get(group.field)
            if column is not None:
                whens.append((column.is_(None) if group.value is None else column == group.value, group.route))
        route = case(*whens, else_=literal(routing.default.route)) if whens else literal(routing.default.route)
        return or_(route != "expert", tk.c.domain.in_(sorted(qualified))) if qualified else route != "expert"

    def claim_review(self, reviewer: str, *, lease_seconds: float, task_id: str | None = None,
                     batch: str | None = None, domain: str | None = None, model: str | None = None,
                     exclude: Sequence[str] = (), routing: RoutingRule | None = None,
                     qualified: Collection[str] = ()) -> ReviewLease | None:
        """Hold the next task awaiting review (or the one given) for ``lease_seconds``; None if there is none.

        Without ``task_id``: the reviewer's own unexpired lease on a task matching the filters
        comes back renewed (its ``claimed_at`` kept: a reload shows the same item); else the
        first free task in queue order (``task_states.updated_at``, task id) matching the
        filters (``batch``: the task's source; ``domain``; ``model``: of the draft it waits
        with) and not in ``exclude``. With ``task_id``: that task, if it awaits review and is
        free or already the reviewer's (whose unexpired lease keeps its ``claimed_at``).
        With ``routing`` (tiers), a task it sends to "expert" is taken only when its domain is
        in ``qualified`` (any with '*'), in the same statement as the claim.

        A claim is one UPDATE of the row it picks, still free, so two reviewers never hold
        the same task; on PostgreSQL the pick skips rows another claim has locked. The pick is
        a scalar subquery (``task_id = (SELECT ... LIMIT 1)``), which PostgreSQL runs once: as
        ``task_id IN (SELECT ...)`` it may become a semi-join whose inner side, run again for
        every row, locks and hands out one more row each time. With filters on SQLite, the
        tasks they leave are read first (outside the write: SQLite must not upgrade a read to a
        write); when few, the pick is made among them, not by walking the queue in order.

        Another trainer's gold copy is never held, not even by its id (``not_gold_copy``).
        """
        now = self.clock()
        until = now + timedelta(seconds=lease_seconds)
        s = t.task_states
        mine = and_(s.c.reviewer == reviewer, s.c.review_lease_until >= now)
        free = or_(s.c.reviewer.is_(None), s.c.review_lease_until.is_(None), s.c.review_lease_until < now)
        tier = None if routing is None else self._expert_only(routing, qualified)
        source, where = self._queue(batch, domain, model, viewer=reviewer, with_task=tier is not None)
        if tier is not None:
            where.append(tier)
        if exclude := list(exclude):
            where.append(s.c.task_id.not_in(exclude))
        if task_id is not None:
            where.append(s.c.task_id == task_id)
        elif source is not s and self.dialect == "sqlite":
            with self.reading() as conn:
                found = list(conn.scalars(select(s.c.task_id).select_from(source).where(*where).limit(_FEW + 1)))
            if not found:
                return None
            if len(found) <= _FEW:
                where.append(s.c.task_id.in_(found))

        def claim(conn: Connection, held: ColumnElement[bool], claimed_at: Any) -> ReviewLease | None:
            pick = select(s.c.task_id).select_from(source).where(*where, held)
            pick = pick.order_by(s.c.updated_at, s.c.task_id).limit(1)
            if self.dialect == "postgresql":
                pick = pick.with_for_update(of=s, skip_locked=True)
            row = conn.execute(
                update(s).where(s.c.task_id == pick.scalar_subquery(), s.c.state == "awaiting_review", held)
                .values(reviewer=reviewer, review_claimed_at=claimed_at, review_lease_until=until)
                .returning(s.c.task_id, s.c.review_claimed_at, s.c.review_lease_until)
            ).first()
            if row is None:
                return None
            return ReviewLease(task_id=row[0], reviewer=reviewer, claimed_at=aware_utc(row[1]), lease_until=aware_utc(row[2]))

        with self.transaction() as conn:
            if task_id is not None:  # theirs already (unexpired): the clock keeps running from their claim
                kept = case((mine, s.c.review_claimed_at), else_=literal(now, s.c.review_claimed_at.type))
                return claim(conn, or_(free, mine), kept)
            return claim(conn, mine, s.c.review_claimed_at) or claim(conn, free, now)

    def held_review(self, reviewer: str, *, batch: str | None = None, domain: str | None = None,
                    model: str | None = None) -> str | None:
        """The task ``reviewer`` holds under a running lease (matching the filters), or None: a claim gives it back."""
        s = t.task_states
        source, where = self._queue(batch, domain, model, viewer=reviewer)
        query = (select(s.c.task_id).select_from(source)
                 .where(*where, s.c.reviewer == reviewer, s.c.review_lease_until >= self.clock())
                 .order_by(s.c.updated_at, s.c.task_id).limit(1))
        with self.reading() as conn:
            return conn.scalar(query)

    def own_gold_copy(self, reviewer: str, *, batch: str | None = None, domain: str | None = None,
                      model: str | None = None) -> str | None:
        """The first (in queue order) gold copy made for ``reviewer`` still awaiting their answer (matching the
        filters), or None."""
        s, g = t.task_states, t.gold_copies
        source, where = self._queue(batch, domain, model, viewer=reviewer)
        theirs = s.c.task_id.in_(select(g.c.task_id).where(g.c.reviewer == reviewer))
        # ordered here, not by the database: sorting in SQL, SQLite would walk the queue in order to meet them
        query = select(s.c.updated_at, s.c.task_id).select_from(source).where(*where, theirs)
        with self.reading() as conn:
            found = sorted(conn.execute(query).all())
        return found[0][1] if found else None

    def renew_review(self, task_id: str, reviewer: str, *, lease_seconds: float) -> ReviewLease | None:
        """Extend the reviewer's hold on a task awaiting review to ``lease_seconds`` from now; None if not theirs.

        Theirs even when their lease has run out, as long as no one else took the task (a claim
        writes its own name); its ``claimed_at`` is kept. A task no one holds is not claimed here.
        """
        s = t.task_states
        until = self.clock() + timedelta(seconds=lease_seconds)
        with self.transaction() as conn:
            row = conn.execute(
                update(s).where(s.c.task_id == task_id, s.c.state == "awaiting_review", s.c.reviewer == reviewer,
                                s.c.review_claimed_at.is_not(None))
                .values(review_lease_until=until).returning(s.c.review_claimed_at, s.c.review_lease_until)
            ).first()
        if row is None:
            return None
        return ReviewLease(task_id=task_id, reviewer=reviewer, claimed_at=aware_utc(row[0]), lease_until=aware_utc(row[1]))

    def review_lease(self, task_id: str) -> ReviewLease | None:
        """Who holds this task and until when (even if the lease has run out); None if no one."""
        s = t.task_states
        with self.reading() as conn:
            row = conn.execute(select(s.c.reviewer, s.c.review_claimed_at, s.c.review_lease_until)
                               .where(s.c.task_id == task_id, s.c.reviewer.is_not(None))).first()
        if row is None or row[1] is None or row[2] is None:
            return None
        return ReviewLease(task_id=task_id, reviewer=row[0], claimed_at=aware_utc(row[1]), lease_until=aware_utc(row[2]))

    def release_review(self, task_id: str, reviewer: str) -> bool:
        """Give a held task back to the queue. True if this reviewer held it."""
        s = t.task_states
        with self.transaction() as conn:
            result = conn.execute(update(s).where(s.c.task_id == task_id, s.c.reviewer == reviewer)
                                  .values(reviewer=None, review_claimed_at=None, review_lease_until=None))
        return bool(result.rowcount)

    def review_queue_page(self, *, batch: str | None = None, domain: str | None = None, model: str | None = None,
                          offset: int = 0, limit: int = 50, count_limit: int | None = None,
                          viewer: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        """How many tasks await review (with these filters), and one page of them in queue order.

        Gold copies are not listed, but ``viewer``'s own (as any item they hold, it is in their queue).

        With ``count_limit`` the count stops past it (returns at most count_limit + 1): an exact
        count of 100,000 queued tasks costs more than the page itself.

        Each row: task_id, domain, kind, batch (the task's source), model and prompt_version
        (of its draft), reviewer and lease_until (None unless a lease is running), the start of
        the prompt (``prompt``, up to ``PROMPT_PREVIEW`` characters) and when it began waiting.
        """
        s, tk, d = t.task_states, t.tasks, t.drafts
        offset, limit = max(offset, 0), max(limit, 0)
        source, where = self._queue(batch, domain, model, viewer=viewer)
        order = (s.c.updated_at, s.c.task_id)
        now = self.clock()
        with self.reading() as conn:
            few = None
            if self.dialect == "sqlite" and source is not s:
                # a filter leaving few: read them all (from the filter's index) and sort here, as SQLite
                # would walk the whole queue in order, testing each task, to fill one page (SQLite
                # compares text bytewise, as Python does, and stores datetimes in one sortable format)
                few = conn.execute(select(*order).select_from(source).where(*where).limit(_FEW + 1)).all()
            if few is not None and len(few) <= _FEW:
                total, ids = len(few), [task_id for _, task_id in sorted(few)[offset:offset + limit]]
                total = total if count_limit is None else min(total, count_limit + 1)
            else:
                counted = select(s.c.task_id).select_from(source).where(*where)
                if count_limit is not None:
                    counted = counted.limit(count_limit + 1)
                total = conn.scalar(select(func.count()).select_from(counted.subquery())) or 0
                pick = select(s.c.task_id).select_from(source).where(*where).order_by(*order)
                ids = list(conn.scalars(pick.offset(offset).limit(limit))) if offset < total and limit else []
            found = {row.task_id: row for row in conn.execute(
                select(s.c.task_id, tk.c.domain, tk.c.kind, tk.c.source, d.c.model, d.c.prompt_version,
                       s.c.reviewer, s.c.review_lease_until, s.c.updated_at,
                       func.substr(tk.c.data["prompt"].as_string(), 1, PROMPT_PREVIEW + 1).label("prompt"))
                .select_from(s.join(tk, tk.c.id == s.c.task_id).outerjoin(d, d.c.id == s.c.draft_id))
                .where(s.c.task_id.in_(ids)))} if ids else {}
        page = []
        for task_id in ids:
            row = found[task_id]
            until = None if row.review_lease_until is None else aware_utc(row.review_lease_until)
            held = row.reviewer is not None and until is not None and until >= now
            page.append({"task_id": task_id, "domain": row.domain, "kind": row.kind, "batch": row.source,
                         "model": row.model, "prompt_version": row.prompt_version,
                         "reviewer": row.reviewer if held else None, "lease_until": until if held else None,
                         "prompt": row.prompt or "", "waiting_since": aware_utc(row.updated_at)})
        return total, page

    def review_facets(self) -> dict[str, list[str]]:
        """The batches, domains and models (sorted) that tasks awaiting review have.

        The values a column has are read by skipping along its index (a recursive ``min(value)
        > previous``: neither SQLite nor PostgreSQL skips for DISTINCT), each kept if a task with
        it awaits review: the cost follows the number of values, not of queued tasks. That test
        is a scalar subquery, as PostgreSQL turns an EXISTS into a join over the whole queue.
        """
        s, tk, d = t.task_states, t.tasks, t.drafts
        task, draft = tk.alias("queued_task"), d.alias("queued_draft")

        def queued(column: Any, linked: Any, link: ColumnElement[bool]) -> Select[Any]:
            values = select(func.min(column).label("value")).cte(f"{column.name}_values", recursive=True)
            following = select(func.min(column)).where(column > values.c.value).scalar_subquery()
            values = values.union_all(select(following).where(values.c.value.is_not(None)))
            awaiting = select(s.c.task_id).where(linked == values.c.value, s.c.state == "awaiting_review", link,
                                                 not_gold_copy(s.c.task_id))
            return select(values.c.value).where(values.c.value.is_not(None),
                                                awaiting.limit(1).scalar_subquery().is_not(None))

        with self.reading() as conn:
            batches = conn.scalars(queued(tk.c.source, task.c.source, s.c.task_id == task.c.id)).all()
            domains = conn.scalars(queued(tk.c.domain, task.c.domain, s.c.task_id == task.c.id)).all()
            models = conn.scalars(queued(d.c.model, draft.c.model, s.c.draft_id == draft.c.id)).all()
        return {"batches": sorted(batches), "domains": sorted(domains), "models": sorted(models)}

    def reviewer_progress(self, reviewer: str, *, since: datetime) -> dict[str, int]:
        """What a reviewer did since ``since``: refinements ("done"), skips ("skipped"), calibration answers.

        Answers to gold copies count as the items they look like (done or skipped): the count a trainer
        watches on the queue page says nothing of which item was gold.
        """
        r, a, g = t.refinements, t.calibration_answers, t.gold_answers
        since = aware_utc(since)
        with self.reading() as conn:
            decisions = Counter(dict(conn.execute(select(r.c.decision, func.count())
                                                  .where(r.c.reviewer == reviewer, r.c.created_at >= since)
                                                  .group_by(r.c.decision)).all()))
            calibration = conn.scalar(select(func.count()).select_from(a)
                                      .where(a.c.reviewer == reviewer, a.c.created_at >= since))
            decisions.update(str(data["refinement"]["decision"]) for data in conn.scalars(
                select(g.c.data).where(g.c.reviewer == reviewer, g.c.created_at >= since)))
        skipped = int(decisions.pop("skip", 0))
        return {"done": sum(int(n) for n in decisions.values()), "skipped": skipped,
                "calibration": int(calibration or 0)}

    # -- what a task went through, and skimming refinements ------------------------------------

    def refinements_of_task(self, task_id: str) -> list[Refinement]:
        """The refinements of one task, oldest first."""
        r = t.refinements
        query = select(r.c.data).where(r.c.task_id == task_id).order_by(r.c.created_at, r.c.id)
        with self.reading() as conn:
            return [Refinement.model_validate(data) for data in conn.scalars(query)]

    def drafts_of_task(self, task_id: str) -> list[Draft]:
        """The drafts of one task, oldest first."""
        d = t.drafts
        query = select(d.c.data).where(d.c.task_id == task_id).order_by(d.c.created_at, d.c.id)
        with self.reading() as conn:
            return [Draft.model_validate(data) for data in conn.scalars(query)]

    def _has_tag(self, tag: str) -> ColumnElement[bool]:
        """A refinement whose tags include ``tag`` (exactly: JSON is read the way each database reads it)."""
        data = t.refinements.c.data
        if self.dialect == "postgresql":
            return data.cast(JSONB)["tags"].has_key(tag)  # ? : a string element of the array
        tags = func.json_each(data, "$.tags").table_valued("value")
        return exists(select(literal(1)).select_from(tags).where(tags.c.value == tag))

    def skim_page(self, *, tag: str | None = None, model: str | None = None, task_ids: Sequence[str] | None = None,
                  offset: int = 0, limit: int = 50) -> tuple[int, list[tuple[Draft, Refinement]]]:
        """How many refinements match, and one page of them, newest first, each with its draft.

        Filters: a tag among the refinement's tags, the draft's model, the task ids (e.g. a
        pattern's). A refinement whose draft is not kept is not shown.
        """
        r, d = t.refinements, t.drafts
        source = r.join(d, d.c.id == r.c.draft_id)
        where: list[ColumnElement[bool]] = []
        if tag is not None:
            where.append(self._has_tag(tag))
        if model is not None:
            where.append(d.c.model == model)
        offset, limit = max(offset, 0), max(limit, 0)
        newest: Select[Any] = select(r.c.id).select_from(source).where(*where)
        with self.reading() as conn:
            if task_ids is None:
                total = conn.scalar(select(func.count()).select_from(source).where(*where)) or 0
                ids = list(conn.scalars(newest.order_by(r.c.created_at.desc(), r.c.id.desc())
                                        .offset(offset).limit(limit)))
            else:  # in parts (a pattern may span more tasks than one IN takes), merged here
                keys: list[tuple[Any, str]] = []
                for part in chunks(list(dict.fromkeys(task_ids))):
                    found = conn.execute(select(r.c.created_at, r.c.id).select_from(source)
                                         .where(*where, r.c.task_id.in_(part)))
                    keys.extend((aware_utc(created), rid) for created, rid in found)
                keys.sort(reverse=True)
                total, ids = len(keys), [rid for _, rid in keys[offset:offset + limit]]
            rows = {rid: (dd, rd) for rid, dd, rd in conn.execute(
                select(r.c.id, d.c.data, r.c.data).select_from(source).where(r.c.id.in_(ids)))} if ids else {}
        return total, [(Draft.model_validate(rows[i][0]), Refinement.model_validate(rows[i][1])) for i in ids]

    def pattern_task_ids(self, pattern_id: str) -> list[str]:
        """The tasks a pattern's member notes are about (distinct, sorted)."""
        m, n = t.pattern_members, t.failure_notes
        query = (select(n.c.task_id).distinct().select_from(m.join(n, n.c.id == m.c.note_id))
                 .where(m.c.pattern_id == pattern_id, n.c.task_id.is_not(None)).order_by(n.c.task_id))
        with self.reading() as conn:
            return list(conn.scalars(query))
