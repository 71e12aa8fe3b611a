"""Findings added to critiques already kept: the checks that need no model, run after the critique.

A critique's findings are append-only once stored: trainers' verdicts point at findings by their
index, so a finding added later goes after the ones a trainer may have judged, and none is
removed or reordered. A finding whose source already has one on the same quote is not added
again (a re-run, or a new version of a check that flags the same statement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from oversight.schemas import Critique, DroppedFinding, Finding
from oversight.store import tables as t
from oversight.store._base import StoreBase, chunks
from oversight.store._summaries import critique_summary

__all__ = ["FindingRecords", "NewFindings"]

# Per critique id: the findings to show and the ones the grounding rule held back (a ``Grounded``).
NewFindings = Mapping[str, tuple[Sequence[Finding], Sequence[DroppedFinding]]]


def _fresh(kept: Iterable[Finding], new: Iterable[Finding]) -> list[Finding]:
    seen = {(f.source, f.quote) for f in kept}
    out = []
    for finding in new:
        if (finding.source, finding.quote) not in seen:
            seen.add((finding.source, finding.quote))
            out.append(finding)
    return out


class FindingRecords(StoreBase):
    """Check findings appended to stored critiques."""

    def add_check_findings(self, found: NewFindings, *, checks: str | None = None) -> dict[str, Critique]:
        """Append findings to stored critiques, all in one transaction; return the critiques as stored now.

        ``checks`` (the checks' version) is recorded on each critique named, with findings or without.
        A critique id that is not stored is left out of the result.
        """
        with self.transaction() as conn:
            return self._append_findings(conn, found, checks=checks)

    def _append_findings(self, conn: Connection, found: NewFindings, *, checks: str | None = None
                         ) -> dict[str, Critique]:
        table = t.critiques
        out: dict[str, Critique] = {}
        for part in chunks(sorted(found)):
            query = select(table.c.data).where(table.c.id.in_(part)).order_by(table.c.id).with_for_update()
            for data in list(conn.scalars(query)):
                critique = Critique.model_validate(data)
                shown, held = found[critique.id]
                update_: dict[str, Any] = {
                    "findings": [*critique.findings, *_fresh(critique.findings, shown)],
                    "dropped": [*critique.dropped, *(d for d in held if d not in critique.dropped)],
                }
                if checks is not None:
                    update_["checks"] = checks
                changed = critique.model_copy(update=update_)
                if changed != critique:
                    row = changed.model_dump(mode="json")
                    conn.execute(update(table).where(table.c.id == critique.id)
                                 .values(data=row, **critique_summary(row)))
                out[critique.id] = changed
        return out
