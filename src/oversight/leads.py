"""What leads read, assembled from the store: the failure-pattern report with every section.

`oversight report`, the demo and the review page's lead pages all call ``report_text``, so a
lead sees the same content in a file and on the page. The report package itself imports no
stage; this module gathers the stages' sections and hands them to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oversight.errors import NotFoundError
from oversight.store import Store

if TYPE_CHECKING:
    from oversight.report import BelowBar, ReportSection
    from oversight.schemas import FailureNote, MiningResult

__all__ = ["audit_sections", "last_run", "notes_below_bar", "report_text", "write_reports"]


def last_run(store: Store) -> tuple[MiningResult, dict[str, Any]]:
    """The last mining run and every note by id. Raises NotFoundError before the first run."""
    from oversight.mine.miner import current

    result = current(store)
    if result is None:
        raise NotFoundError("no mining run yet: run `oversight mine` first")
    return result, {n.id: n for n in store.notes()}


def report_text(
    store: Store,
    fmt: str,
    *,
    audit: bool = True,
    member_href: Callable[[FailureNote], str | None] | None = None,
    bar: float | None = None,
) -> str:
    """The leads' report of the store's last mining run, with the critics' grounding and precision,
    the interventions and the audit of kept judgments. Raises NotFoundError.

    ``member_href`` gives each member note a link in the HTML form (the review page links a
    note to its item).
    """
    from oversight.refine.critic_quality import grounding_report
    from oversight.report import build_report, grounding_section
    from oversight.report.interventions import interventions_section

    result, notes_by_id = last_run(store)
    below = notes_below_bar(store, result, notes_by_id, bar=bar)
    extra = []
    if fmt != "json":  # the JSON form is the mining result alone
        names = {p.id: p.name for p in result.patterns}
        sections = [grounding_section(grounding_report(store)), interventions_section(store.interventions(), names),
                    *(audit_sections(store) if audit else [])]
        extra = [s for s in sections if s is not None]
    return build_report(result, notes_by_id, fmt, extra_sections=extra, member_href=member_href,  # type: ignore[arg-type]
                        below_bar=below)


def notes_below_bar(store: Store, result: MiningResult, notes: dict[str, Any], *,
                    bar: float | None = None) -> BelowBar | None:
    """How many of the run's notes (members and noise) came from trainers below ``bar`` (the
    ``trainer_catch_bar`` setting; its default when None); None before any gold answer (nobody measured)."""
    from oversight.report import BelowBar
    from oversight.review.qualify import BAR, below_bar

    if not store.count("gold_answers"):
        return None
    bar = BAR if bar is None else bar
    below = below_bar(store, bar=bar)
    ids = {i for p in result.patterns for i in p.member_ids} | {n.id for n in result.noise}
    count = sum(1 for i in ids if i in notes and getattr(notes[i], "reviewer", None) in below)
    return BelowBar(count, len(below), bar)


def write_reports(store: Store, folder: str | Path, formats: Sequence[str] = ("html", "md")) -> dict[str, Path]:
    """Write the report as ``failure-patterns.<format>`` for each format into ``folder`` (made when
    missing); the paths by format. Raises NotFoundError, OSError."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {fmt: folder / f"failure-patterns.{fmt}" for fmt in formats}
    for fmt, path in paths.items():
        path.write_text(report_text(store, fmt), encoding="utf-8")
    return paths


def audit_sections(store: Store) -> list[ReportSection]:
    """The audit section(s) of the leads' report, from the judgments kept in the store.

    Pairwise and pointwise judgments are audited apart; no judgments, no section.
    """
    from oversight.audit.report import render_audit_html, render_audit_markdown
    from oversight.audit.run import audit_judgments
    from oversight.report import ReportSection

    sections = []
    for kind, title in (("pairwise", "Audit of preference judgments"), ("pointwise", "Audit of ratings")):
        judgments = store.judgments(kind=kind)
        if judgments:
            result = audit_judgments(judgments, source="judgments kept in the store")
            sections.append(ReportSection(title, render_audit_html(result, heading=False),
                                          render_audit_markdown(result, heading=False)))
    return sections
