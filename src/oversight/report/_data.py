"""What a report shows, gathered once for every format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from oversight.schemas import MiningResult

__all__ = ["BelowBar", "ReportSection", "Simulated", "below_bar_text", "heatmap_field", "report_data", "simulated_share",
           "simulated_text"]


class ReportSection(NamedTuple):
    """An extra section (the audit adds one): a title and the same content in HTML and Markdown."""

    title: str
    html: str
    markdown: str


class Simulated(NamedTuple):
    """How many notes came from simulated reviewers: of the whole run, and of each pattern (by id)."""

    run: int
    patterns: Mapping[str, int]


class BelowBar(NamedTuple):
    """How many of the run's notes came from trainers below the bar (their catch rate on gold items)."""

    notes: int
    trainers: int
    bar: float


def below_bar_text(below: BelowBar, total: int) -> str:
    """The line the report gives it: "3 of 40 notes came from 1 trainer(s) below the bar (...)"."""
    return (f"{below.notes} of {total} notes came from {below.trainers} trainer(s) below the bar (catch rate's 95% "
            f"upper bound under {below.bar:.0%} on gold items)")


def simulated_share(result: MiningResult, notes: Mapping[str, Any]) -> Simulated:
    """Count the run's notes (pattern members and noise) that a simulated reviewer's refinement gave.

    Notes not in ``notes`` count as not simulated (a report built without notes marks nothing).
    """
    def simulated(note: Any) -> bool:
        return bool(getattr(note, "simulated", False))

    per_pattern = {p.id: sum(1 for i in p.member_ids if i in notes and simulated(notes[i])) for p in result.patterns}
    members = {i for p in result.patterns for i in p.member_ids}
    in_noise = sum(1 for n in result.noise if n.id not in members and simulated(n))
    return Simulated(sum(per_pattern.values()) + in_noise, per_pattern)


def simulated_text(count: int, total: int) -> str:
    """The mark a pattern (or run) gets: "12 of 40 notes from simulated reviewers"."""
    return f"{count} of {total} notes from simulated reviewers"


def heatmap_field(result: MiningResult) -> str | None:
    """The slice that tells patterns apart best: the one with 2 to 12 values, most values first."""
    best: tuple[int, str] | None = None
    fields = {f for p in result.patterns for f in p.stats.slices}
    for field in sorted(fields):
        values = {v for p in result.patterns for v in p.stats.slices.get(field, {}) if v != "(none)"}
        if 2 <= len(values) <= 12 and (best is None or len(values) > best[0]):
            best = (len(values), field)
    return best[1] if best else None


def _member_ids(result: MiningResult, pattern: Any, notes: dict[str, Any]) -> list[str]:
    return [notes[i].display_id if i in notes else i for i in pattern.member_ids]


def report_data(result: MiningResult, notes: dict[str, Any] | None = None,
                below_bar: BelowBar | None = None) -> dict[str, Any]:
    """The JSON form of a report: the run, themes, and every pattern with stats and member ids.

    ``simulated_notes`` (the run's and each pattern's) counts notes from simulated reviewers;
    ``notes_below_bar`` the run's notes from trainers below the bar (None: nobody was measured).
    """
    notes = notes or {}
    run = result.run
    simulated = simulated_share(result, notes)
    return {
        "run": {
            "id": run.id,
            "at": run.started_at.isoformat(),
            "notes": run.notes,
            "units": run.units,
            "patterns": run.patterns,
            "themes": run.themes,
            "noise": run.noise,
            "continued": run.matched,
            "embedding_model": run.embedding_model,
            "names": run.names,
            "simulated_notes": simulated.run,
            "notes_below_bar": None if below_bar is None else below_bar.notes,
        },
        "themes": result.themes,
        "patterns": [
            {
                "id": p.id,
                "name": p.name,
                "description": p.description,
                "criteria": p.criteria,
                "keywords": p.keywords,
                "named_by": p.named_by,
                "theme_id": p.theme_id,
                "size": p.size,
                "simulated_notes": simulated.patterns.get(p.id, 0),
                "members": _member_ids(result, p, notes),
                "stats": p.stats.model_dump(mode="json"),
                "history": p.history,
            }
            for p in result.patterns
        ],
        "noise": [n.display_id for n in result.noise],
    }
