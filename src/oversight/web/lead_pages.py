"""The leads' pages: the pattern report, the judgment audit, interventions, calibration, gold items, trainers'
profiles.

The report is the one `oversight report` writes (``oversight.leads.report_text``), with each
pattern's members linked to their items. Trainers are refused every page here: the router runs
``lead_only`` before each handler (a 403 with the reason).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from oversight.errors import NotFoundError, OversightError
from oversight.review import calibration, gold, profiles
from oversight.schemas import FailureNote, utcnow
from oversight.web._deps import CheckedForm, LeadOnly, ProjectDep, checked_form, lead_only
from oversight.web._render import REPORT_CSP, flash_of, page, redirect

__all__ = ["router"]

router = APIRouter(prefix="/lead", dependencies=[Depends(lead_only)])


def _member_href(note: FailureNote) -> str | None:
    from urllib.parse import quote

    return f"/tasks/{quote(note.task_id, safe='')}" if note.task_id else None


@router.get("", response_class=HTMLResponse)
async def hub(request: Request, project: ProjectDep) -> Response:
    store = project.store
    counts = await asyncio.to_thread(store.status)
    users = await asyncio.to_thread(store.users)
    since = utcnow() - timedelta(days=1)
    progress = {u.name: await asyncio.to_thread(store.reviewer_progress, u.name, since=since) for u in users}
    return page(request, "lead.html", counts=counts, users=users, progress=progress)


@router.get("/report", response_class=HTMLResponse)
async def report(request: Request, project: ProjectDep) -> Response:
    from oversight.leads import report_text

    try:
        html = await asyncio.to_thread(report_text, project.store, "html", member_href=_member_href,
                                       bar=project.settings.trainer_catch_bar)
    except NotFoundError as exc:
        return page(request, "message.html", title="Failure patterns", message=str(exc))
    nav = page(request, "_nav.html").body.decode()
    html = html.replace("<body>", f'<body><link rel="stylesheet" href="/static/style.css">{nav}', 1)
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/audit", response_class=HTMLResponse)
async def audit(request: Request, project: ProjectDep) -> Response:
    from oversight.leads import audit_sections

    sections = await asyncio.to_thread(audit_sections, project.store)
    return page(request, "sections.html", title="Judgment audit", sections=sections, csp=REPORT_CSP,
                empty="No judgments kept yet: `oversight audit judgments FILE --save` adds them.")  # `x`: code


@router.get("/interventions", response_class=HTMLResponse)
async def interventions(request: Request, project: ProjectDep) -> Response:
    from oversight.intervene.describe import change, describe

    store = project.store
    status = request.query_params.get("status") or None
    found = await asyncio.to_thread(lambda: store.interventions(status=status))
    names = await asyncio.to_thread(store.pattern_names)
    items = [(i, change(i), "\n".join(describe(i))) for i in found]
    return page(request, "interventions.html", items=items, names=names, status_filter=status,
                flash=flash_of(request, {"accepted": "accepted.", "rejected": "rejected."}))


@router.post("/interventions/{intervention_id}/decide")
async def decide(intervention_id: str, session: LeadOnly, form: CheckedForm, project: ProjectDep) -> Response:
    decision = {"accept": "accepted", "reject": "rejected"}.get(str(form.get("decision") or ""))
    if decision is None:
        raise OversightError("decide with accept or reject")
    reason = str(form.get("reason") or "").strip()
    reason = f"{reason} ({session.user.name})" if reason else ""
    from oversight.intervene.service import decide as decide_intervention  # an eval check: the waiting drafts too

    await asyncio.to_thread(decide_intervention, project.store, intervention_id, decision, reason)
    return redirect(f"/lead/interventions?flash={decision}#{intervention_id}")


@router.get("/calibration", response_class=HTMLResponse)
async def calibration_page(request: Request, project: ProjectDep) -> Response:
    store = project.store
    items = await asyncio.to_thread(store.calibration_items)
    people, pairs = await asyncio.to_thread(calibration.agreement, store)
    answers = await asyncio.to_thread(store.calibration_answers)
    return page(request, "lead_calibration.html", items=items, people=people, pairs=pairs, answers=answers,
                flash=flash_of(request, {"added": "Calibration item added.", "removed": "Calibration item removed."}))


@router.post("/calibration")
async def add_calibration(form: CheckedForm, project: ProjectDep) -> Response:
    """Make a refinement in the store (by its id) the expert version of a calibration item."""
    store = project.store
    refinement_id = str(form.get("refinement_id") or "").strip()
    task_id = str(form.get("task_id") or "").strip()

    def seed() -> Any:
        refinements = store.refinements_of_task(task_id)
        chosen = next((r for r in refinements if r.id == refinement_id), None)
        if chosen is None:
            raise NotFoundError(f"no refinement {refinement_id!r} on task {task_id!r}")
        try:
            return calibration.seed_from_refinement(store, chosen, expert=str(form.get("expert") or "") or None)
        except ValueError as exc:
            raise NotFoundError(str(exc)) from exc

    await asyncio.to_thread(seed)
    return redirect("/lead/calibration?flash=added")


@router.get("/gold", response_class=HTMLResponse)
async def gold_page(request: Request, project: ProjectDep) -> Response:
    """The gold items hidden in the queue, with how many trainers answered each (and caught its error)."""
    rows = await asyncio.to_thread(gold.listing, project.store, retired=True)
    return page(request, "lead_gold.html", rows=rows, rate=project.settings.gold_rate,
                feedback=project.settings.gold_feedback, flash=flash_of(request, {"retired": "Gold item retired."}))


@router.post("/gold/{gold_id}/retire", dependencies=[Depends(checked_form)])
async def retire_gold(gold_id: str, project: ProjectDep) -> Response:
    await asyncio.to_thread(project.store.retire_gold_item, gold_id)
    return redirect("/lead/gold?flash=retired")


@router.post("/calibration/{task_id:id}/remove", dependencies=[Depends(checked_form)])
async def remove_calibration(task_id: str, project: ProjectDep) -> Response:
    if not await asyncio.to_thread(project.store.remove_calibration_item, task_id):
        raise NotFoundError(f"no calibration item for task {task_id!r}: nothing removed")
    return redirect("/lead/calibration?flash=removed")


@router.get("/trainers", response_class=HTMLResponse)
async def trainers(request: Request, project: ProjectDep) -> Response:
    """Every trainer's judgment profile: intervals, suggestions, and the notes from trainers below the bar."""
    store, bar = project.store, project.settings.trainer_catch_bar
    found = await asyncio.to_thread(profiles.profiles, store, bar=bar)
    below = await asyncio.to_thread(profiles.below_bar, store, bar, found=found)
    return page(request, "lead_trainers.html", profiles=found, below=below, bar=bar, min_items=profiles.MIN_ITEMS)


@router.get("/trainers/{name:id}", response_class=HTMLResponse)
async def trainer(name: str, request: Request, project: ProjectDep) -> Response:
    """One trainer's profile in full, by week and by domain."""
    found = await asyncio.to_thread(profiles.profile, project.store, name, bar=project.settings.trainer_catch_bar)
    if not found.gold_answers and not found.production_items:
        raise NotFoundError(f"no gold answers or refinements by {name!r}")
    return page(request, "lead_trainer.html", p=found)
