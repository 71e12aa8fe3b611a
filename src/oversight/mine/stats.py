"""Per-pattern statistics: size, prevalence, slices, severity, first/last seen, trend, representatives."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from oversight.schemas import (
    SLICE_FIELDS,
    FailureNote,
    PatternStats,
    Representative,
    TrendPoint,
)

__all__ = ["choose_granularity", "pattern_stats", "period_of", "unit_of"]


def unit_of(note: FailureNote) -> str:
    """What prevalence counts: the refinement a note came from, or the imported row itself."""
    return note.refinement_id or note.id


def choose_granularity(times: Sequence[datetime]) -> str:
    """day, week or month, so that a trend has a handful to a few dozen points."""
    if not times:
        return "day"
    span = (max(times) - min(times)).days
    if span <= 31:
        return "day"
    if span <= 366:
        return "week"
    return "month"


def period_of(moment: datetime, granularity: str) -> str:
    """The label of the period a moment falls in (2026-11-26, 2026-W48 or 2026-11)."""
    if granularity == "month":
        return moment.strftime("%Y-%m")
    if granularity == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return moment.strftime("%Y-%m-%d")


def pattern_stats(
    notes: Sequence[FailureNote],
    members: np.ndarray,
    embeddings: np.ndarray,
    centre: np.ndarray,
    *,
    total_units: int,
    period_totals: dict[str, int],
    granularity: str,
    slice_fields: Sequence[str] = SLICE_FIELDS,
    representatives: int = 5,
) -> PatternStats:
    """The statistics of one pattern, given the indices of its member notes."""
    chosen = [notes[i] for i in members]
    units = {unit_of(n) for n in chosen}
    slices = {field: dict(Counter(n.slice_value(field) for n in chosen).most_common()) for field in slice_fields}
    times = [n.created_at for n in chosen]
    per_period = Counter(period_of(t, granularity) for t in times)
    trend = [
        TrendPoint(period=p, count=per_period.get(p, 0), share=round(per_period.get(p, 0) / total, 4))
        for p, total in sorted(period_totals.items())
        if total
    ]
    return PatternStats(
        size=len(chosen),
        refinements=len(units),
        prevalence=round(len(units) / total_units, 4) if total_units else 0.0,
        slices=slices,
        sources=dict(Counter(n.source for n in chosen).most_common()),
        severity=dict(Counter(n.severity or "unrated" for n in chosen).most_common()),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        trend=trend,
        representatives=_representatives(chosen, embeddings[members], centre, representatives),
    )


def _representatives(
    chosen: list[FailureNote], vectors: np.ndarray, centre: np.ndarray, limit: int
) -> list[Representative]:
    similarity = vectors @ centre
    out: list[Representative] = []
    seen: set[str] = set()
    for index in np.argsort(-similarity, kind="stable"):
        note = chosen[int(index)]
        if note.text in seen:
            continue
        seen.add(note.text)
        out.append(
            Representative(
                note_id=note.id,
                display_id=note.display_id,
                text=note.text,
                similarity=round(float(similarity[index]), 4),
                task_id=note.task_id,
                draft_id=note.draft_id,
                refinement_id=note.refinement_id,
            )
        )
        if len(out) >= limit:
            break
    return out
