"""Gold items, the queue copies that carry them to trainers, trainers' answers, standing and assessments.

A gold item's answers are kept here, apart from the refinements: the failure patterns, exports,
audits and every other stage read refinements and never meet a gold answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from oversight.errors import NotFoundError, StoreError
from oversight.schemas import Assessment, AssessmentResult, GoldAnswer, GoldCopy, GoldItem, TrainerStanding
from oversight.store import tables as t
from oversight.store._base import StoreBase, chunks

__all__ = ["GoldRecords"]


class GoldRecords(StoreBase):
    """Judgment quality: gold items and answers (each answer once), standing, assessments."""

    # -- gold items -------------------------------------------------------------------------------

    def save_gold_items(self, items: Sequence[GoldItem]) -> list[GoldItem]:
        """Keep gold items, all or none (an item whose id exists is replaced)."""
        g = t.gold_items
        with self.transaction() as conn:
            for item in items:
                conn.execute(delete(g).where(g.c.id == item.id))
                conn.execute(insert(g).values(id=item.id, kind=item.kind, domain=item.domain, made_by=item.made_by,
                                              retired=item.retired, created_at=item.created_at,
                                              data=item.model_dump(mode="json")))
        return list(items)

    def gold_item(self, gold_id: str) -> GoldItem | None:
        """One gold item (retired or not), or None."""
        g = t.gold_items
        with self.reading() as conn:
            data = conn.scalar(select(g.c.data).where(g.c.id == gold_id))
        return None if data is None else GoldItem.model_validate(data)

    def gold_items(self, *, retired: bool = False, ids: Sequence[str] | None = None) -> list[GoldItem]:
        """Gold items in use (with ``retired`` also those retired), or these ids; oldest first."""
        g = t.gold_items
        query = select(g.c.data).order_by(g.c.created_at, g.c.id)
        if not retired:
            query = query.where(g.c.retired.is_(False))
        with self.reading() as conn:
            if ids is None:
                return [GoldItem.model_validate(d) for d in conn.scalars(query)]
            found = []
            for part in chunks(list(ids)):
                found.extend(GoldItem.model_validate(d) for d in conn.scalars(query.where(g.c.id.in_(part))))
        return sorted(found, key=lambda i: (i.created_at, i.id))

    def retire_gold_item(self, gold_id: str) -> GoldItem:
        """Stop serving a gold item (its answers are kept). Raises NotFoundError."""
        g = t.gold_items
        with self.transaction() as conn:
            data = conn.scalar(select(g.c.data).where(g.c.id == gold_id))
            if data is None:
                raise NotFoundError(f"no gold item {gold_id!r}")
            item = GoldItem.model_validate(data).model_copy(update={"retired": True})
            conn.execute(update(g).where(g.c.id == gold_id).values(retired=True, data=item.model_dump(mode="json")))
        return item

    # -- the copies that carry gold items into the queue --------------------------------------------

    def gold_copy(self, task_id: str) -> GoldCopy | None:
        """The gold copy a queue task is, or None for an ordinary task."""
        c = t.gold_copies
        with self.reading() as conn:
            row = conn.execute(select(c).where(c.c.task_id == task_id)).first()
        return None if row is None else GoldCopy(task_id=row.task_id, gold_id=row.gold_id, reviewer=row.reviewer,
                                                 assessment=row.assessment, created_at=row.created_at)

    def gold_copies(self, reviewer: str) -> list[GoldCopy]:
        """The gold copies made for one trainer, oldest first."""
        c = t.gold_copies
        with self.reading() as conn:
            rows = conn.execute(select(c).where(c.c.reviewer == reviewer).order_by(c.c.created_at, c.c.task_id))
            return [GoldCopy(task_id=r.task_id, gold_id=r.gold_id, reviewer=r.reviewer, assessment=r.assessment,
                             created_at=r.created_at) for r in rows]

    # -- answers ------------------------------------------------------------------------------------

    def save_gold_answer(self, answer: GoldAnswer) -> GoldAnswer:
        """Keep a trainer's answer to a gold copy, once: a second answer keeps and returns the first."""
        a = t.gold_answers
        first = select(a.c.data).where(a.c.task_id == answer.task_id)
        try:
            with self.transaction() as conn:
                kept = conn.scalar(first)
                if kept is not None:
                    return GoldAnswer.model_validate(kept)
                conn.execute(insert(a).values(task_id=answer.task_id, gold_id=answer.gold_id, reviewer=answer.reviewer,
                                              kind=answer.kind, assessment=answer.assessment,
                                              created_at=answer.created_at, data=answer.model_dump(mode="json")))
            return answer
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        with self.reading() as conn:  # a concurrent first answer won
            kept = conn.scalar(first)
        return answer if kept is None else GoldAnswer.model_validate(kept)

    def gold_answers(self, *, reviewer: str | None = None, since: datetime | None = None,
                     assessment: str | None = None) -> list[GoldAnswer]:
        """Gold answers (all, one trainer's, since a time, of one assessment), oldest first."""
        a = t.gold_answers
        query = select(a.c.data).order_by(a.c.created_at, a.c.task_id)
        if reviewer is not None:
            query = query.where(a.c.reviewer == reviewer)
        if since is not None:
            query = query.where(a.c.created_at >= since)
        if assessment is not None:
            query = query.where(a.c.assessment == assessment)
        with self.reading() as conn:
            return [GoldAnswer.model_validate(d) for d in conn.scalars(query)]

    # -- standing -----------------------------------------------------------------------------------

    def trainer_standing(self, reviewer: str) -> TrainerStanding:
        """A trainer's standing (not paused, qualified nowhere, when a lead never decided anything)."""
        s = t.trainer_standing
        with self.reading() as conn:
            data = conn.scalar(select(s.c.data).where(s.c.reviewer == reviewer))
        return TrainerStanding(reviewer=reviewer) if data is None else TrainerStanding.model_validate(data)

    def trainer_standings(self) -> list[TrainerStanding]:
        """Every trainer a lead decided something of, by name."""
        s = t.trainer_standing
        with self.reading() as conn:
            return [TrainerStanding.model_validate(d) for d in conn.scalars(select(s.c.data).order_by(s.c.reviewer))]

    def save_trainer_standing(self, standing: TrainerStanding) -> TrainerStanding:
        """Keep a trainer's standing (replacing the earlier one), stamped now by the store's clock."""
        s = t.trainer_standing
        standing = standing.model_copy(update={"updated_at": self.clock()})
        with self.transaction() as conn:
            conn.execute(delete(s).where(s.c.reviewer == standing.reviewer))
            conn.execute(insert(s).values(reviewer=standing.reviewer, paused=standing.paused,
                                          updated_at=standing.updated_at, data=standing.model_dump(mode="json")))
        return standing

    def change_trainer_standing(self, reviewer: str,
                                change: Callable[[TrainerStanding], TrainerStanding]) -> TrainerStanding:
        """Read a trainer's standing, ``change`` it and keep it, in one transaction that holds the row.

        Two servers deciding at once (a lead pauses while an assessment qualifies) each see the
        other's decision: the row is made if missing, then locked (PostgreSQL: FOR UPDATE; SQLite:
        the write lock the first statement took) before it is read.
        """
        s = t.trainer_standing
        fresh = TrainerStanding(reviewer=reviewer, updated_at=self.clock())
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.transaction() as conn:
            conn.execute(dialect_insert(s).values(reviewer=reviewer, paused=False, updated_at=fresh.updated_at,
                                                  data=fresh.model_dump(mode="json"))
                         .on_conflict_do_nothing(index_elements=[s.c.reviewer]))
            data = conn.scalar(select(s.c.data).where(s.c.reviewer == reviewer).with_for_update())
            changed = change(TrainerStanding.model_validate(data)).model_copy(
                update={"reviewer": reviewer, "updated_at": self.clock()})
            conn.execute(update(s).where(s.c.reviewer == reviewer).values(
                paused=changed.paused, updated_at=changed.updated_at, data=changed.model_dump(mode="json")))
        return changed

    def paused_trainers(self) -> set[str]:
        """The names of trainers a lead paused."""
        s = t.trainer_standing
        with self.reading() as conn:
            return set(conn.scalars(select(s.c.reviewer).where(s.c.paused.is_(True))))

    # -- who does the work -----------------------------------------------------------------------------

    def known_reviewers(self) -> set[str]:
        """Everyone the store knows as a reviewer: of a refinement, a calibration or gold answer, with a
        standing, an account."""
        parts = [select(t.refinements.c.reviewer), select(t.calibration_answers.c.reviewer),
                 select(t.gold_answers.c.reviewer), select(t.trainer_standing.c.reviewer), select(t.users.c.name)]
        with self.reading() as conn:
            return set(conn.scalars(union(*parts)))

    def reviewer_domains(self) -> dict[str, set[str | None]]:
        """The domains (None: a task without one) of the tasks each reviewer refined."""
        r, tk = t.refinements, t.tasks
        query = select(r.c.reviewer, tk.c.domain).distinct().select_from(r.outerjoin(tk, tk.c.id == r.c.task_id))
        out: dict[str, set[str | None]] = {}
        with self.reading() as conn:
            for reviewer, domain in conn.execute(query):
                out.setdefault(reviewer, set()).add(domain)
        return out

    # -- assessments --------------------------------------------------------------------------------

    def save_assessment(self, assessment: Assessment) -> Assessment:
        """Keep a declared assessment (replacing one of the same name; its results are kept)."""
        a = t.assessments
        with self.transaction() as conn:
            conn.execute(delete(a).where(a.c.name == assessment.name))
            conn.execute(insert(a).values(name=assessment.name, created_at=assessment.created_at,
                                          data=assessment.model_dump(mode="json")))
        return assessment

    def assessment(self, name: str) -> Assessment | None:
        """One declared assessment, or None."""
        a = t.assessments
        with self.reading() as conn:
            data = conn.scalar(select(a.c.data).where(a.c.name == name))
        return None if data is None else Assessment.model_validate(data)

    def assessments(self) -> list[Assessment]:
        """Every declared assessment, by name."""
        a = t.assessments
        with self.reading() as conn:
            return [Assessment.model_validate(d) for d in conn.scalars(select(a.c.data).order_by(a.c.name))]

    def save_assessment_result(self, result: AssessmentResult) -> AssessmentResult:
        """Keep how a trainer did on an assessment (a retake replaces it)."""
        r = t.assessment_results
        with self.transaction() as conn:
            conn.execute(delete(r).where(r.c.assessment == result.assessment, r.c.reviewer == result.reviewer))
            conn.execute(insert(r).values(assessment=result.assessment, reviewer=result.reviewer,
                                          decided_at=result.decided_at, data=result.model_dump(mode="json")))
        return result

    def assessment_results(self, *, reviewer: str | None = None) -> list[AssessmentResult]:
        """Assessment results (all, or one trainer's), oldest first."""
        r = t.assessment_results
        query = select(r.c.data).order_by(r.c.decided_at, r.c.assessment, r.c.reviewer)
        if reviewer is not None:
            query = query.where(r.c.reviewer == reviewer)
        with self.reading() as conn:
            return [AssessmentResult.model_validate(d) for d in conn.scalars(query)]
