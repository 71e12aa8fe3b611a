"""Interventions: targeted changes for a failure pattern, the lead's decision and their validations.

Status moves (``oversight.schemas.intervene``): proposed -> accepted | rejected (and a lead may
change their mind between the two); accepted -> one of the validation outcomes, which a later
validation may replace. Every move is one transaction that reads the row, checks the move and
writes it; a move the status does not allow raises and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from oversight.errors import InterventionError, NotFoundError
from oversight.schemas import OUTCOMES, Critique, Intervention, Validation, utcnow
from oversight.store import tables as t
from oversight.store._base import data_of_id
from oversight.store._findings import FindingRecords, NewFindings

__all__ = ["DECIDABLE", "VALIDATABLE", "InterventionError", "InterventionRecords"]

DECISIONS = ("accepted", "rejected")
DECIDABLE = ("proposed", "accepted", "rejected")  # statuses a lead may accept or reject from
VALIDATABLE = ("accepted", *OUTCOMES)  # statuses a validation may be recorded from (re-validation too)

_NEWEST_FIRST = select(t.interventions.c.data).order_by(t.interventions.c.created_at.desc(), t.interventions.c.id)
# the interventions in one status: read for every critique (the eval checks in force), so built once
_IN_STATUS = _NEWEST_FIRST.where(t.interventions.c.status == bindparam("status"))



class InterventionRecords(FindingRecords):
    """What interventions keep: proposals, the lead's decisions, validations, and paid judge verdicts."""

    def judge_verdicts(self, model: str, prompt_version: str, input_hashes: Iterable[str]) -> dict[str, bool]:
        """Verdicts a judge already gave with this prompt version, by input hash."""
        scope = {"model": model, "prompt_version": prompt_version}
        found = self._paid_answers(t.judge_verdicts, scope, "input_hash", input_hashes, "present")
        return {h: bool(p) for h, p in found.items()}

    def save_judge_verdict(self, model: str, prompt_version: str, input_hash: str, present: bool) -> bool:
        """Keep one paid verdict (its own transaction); return the one kept (another run's, if first)."""
        scope = {"model": model, "prompt_version": prompt_version}
        return bool(self._keep_paid_answer(t.judge_verdicts, scope, "input_hash", input_hash, "present", present))

    def save_interventions(self, items: Sequence[Intervention]) -> tuple[int, int]:
        """Keep interventions in one transaction; ones whose id exists are left alone (suggesting
        twice adds nothing). Returns (added, already present)."""
        rows = [
            {"id": i.id, "pattern_id": i.pattern_id, "kind": i.kind, "status": i.status,
             "created_at": i.created_at, "updated_at": i.updated_at, "data": i.model_dump(mode="json")}
            for i in items
        ]
        with self.transaction() as conn:
            added = len(self._insert_missing(conn, t.interventions, rows))
        return added, len(items) - added

    def critique_or_interventions(self, critique_id: str, *, status: str) -> tuple[Critique | None, list[Intervention]]:
        """The critique of this id; when there is none, None and the interventions in ``status``: one read (the
        critique stage asks both before it pays a model, for each draft)."""
        with self.reading() as conn:
            data = conn.scalar(data_of_id(t.critiques), {"id": critique_id})
            if data is not None:
                return Critique.model_validate(data), []
            return None, [Intervention.model_validate(d) for d in conn.scalars(_IN_STATUS, {"status": status})]

    def intervention(self, intervention_id: str) -> Intervention | None:
        """One intervention, or None."""
        with self.reading() as conn:
            data = conn.scalar(select(t.interventions.c.data).where(t.interventions.c.id == intervention_id))
        return None if data is None else Intervention.model_validate(data)

    def interventions(self, *, pattern_id: str | None = None, status: str | None = None) -> list[Intervention]:
        """Interventions, newest first, optionally of one pattern or in one status."""
        table = t.interventions
        if pattern_id is None and status is not None:
            query, params = _IN_STATUS, {"status": status}
        else:
            query, params = _NEWEST_FIRST, {}
            if pattern_id is not None:
                query = query.where(table.c.pattern_id == pattern_id)
            if status is not None:
                query = query.where(table.c.status == status)
        with self.reading() as conn:
            return [Intervention.model_validate(d) for d in conn.scalars(query, params)]

    def decide_intervention(self, intervention_id: str, decision: str, reason: str, *,
                            findings: NewFindings | None = None) -> Intervention:
        """Accept or reject an intervention with the lead's reason; return it as stored.

        ``findings`` (per critique id) are appended to those critiques in the same transaction: an
        accepted eval check's findings on the drafts waiting for review (``add_check_findings``).
        Allowed from proposed, and between accepted and rejected. Raises NotFoundError (unknown
        id) or InterventionError (a blank reason, a decision other than accepted/rejected, the
        decision it already has, or a status already set by a validation); either way nothing changes.
        """
        if decision not in DECISIONS:
            raise InterventionError(f"a decision is 'accepted' or 'rejected', not {decision!r}")
        reason = (reason or "").strip()
        if not reason:
            raise InterventionError(f"a reason is required to mark intervention {intervention_id!r} {decision}")

        def decide(current: Intervention) -> dict[str, Any]:
            if current.status not in DECIDABLE:
                raise InterventionError(
                    f"intervention {intervention_id!r} is {current.status.replace('_', ' ')}: it cannot be "
                    f"{decision} any more (only a proposed, accepted or rejected one can)")
            if current.status == decision:  # a second accept would quietly replace the reason it was given
                raise InterventionError(f"intervention {intervention_id!r} is already {decision} "
                                        f"({current.reason or 'no reason given'}); nothing changed")
            return {"status": decision, "reason": reason}

        return self._move(intervention_id, decide,
                          then=(lambda conn: self._append_findings(conn, findings)) if findings else None)

    def record_validation(self, intervention_id: str, validation: Validation) -> Intervention:
        """Append a validation and set the status to its outcome; return the intervention as stored.

        Allowed from accepted or an earlier outcome (re-validation). Raises NotFoundError or
        InterventionError; either way nothing changes.
        """

        def validate(current: Intervention) -> dict[str, Any]:
            if current.status not in VALIDATABLE:
                raise InterventionError(
                    f"intervention {intervention_id!r} is {current.status}: only an accepted (or already "
                    f"validated) intervention can be validated")
            return {"status": validation.outcome, "validations": [*current.validations, validation]}

        return self._move(intervention_id, validate)

    def _move(self, intervention_id: str, change: Callable[[Intervention], dict[str, Any]], *,
              then: Callable[[Connection], Any] | None = None) -> Intervention:
        """Read one intervention (locked on PostgreSQL), apply ``change`` and write it, and ``then``, in one
        transaction."""
        table = t.interventions
        with self.transaction() as conn:
            current = self._locked(conn, intervention_id)
            moved = current.model_copy(update={**change(current), "updated_at": utcnow()})
            moved = Intervention.model_validate(moved.model_dump(mode="json"))  # checked as a whole record
            conn.execute(update(table).where(table.c.id == intervention_id).values(
                status=moved.status, updated_at=moved.updated_at, data=moved.model_dump(mode="json")))
            if then is not None:
                then(conn)
        return moved

    @staticmethod
    def _locked(conn: Connection, intervention_id: str) -> Intervention:
        table = t.interventions
        data = conn.scalar(select(table.c.data).where(table.c.id == intervention_id).with_for_update())
        if data is None:
            raise NotFoundError(f"no intervention with id {intervention_id!r}")
        return Intervention.model_validate(data)
