"""A lead's decisions on a trainer's standing from the page: pause and resume (CSRF-checked forms, leads only).

Both redirect to the trainer's page (``/lead/trainers/NAME``), where the lead sees the standing
and the trainer's profile. A paused trainer's next claim, on any server, is refused.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from oversight.review import qualify
from oversight.web._deps import CheckedForm, LeadOnly, ProjectDep, checked_form, lead_only
from oversight.web._render import redirect

__all__ = ["router"]

router = APIRouter(prefix="/lead/trainers", dependencies=[Depends(lead_only)])


def _trainer_page(name: str, flash: str) -> str:
    return f"/lead/trainers/{quote(name, safe='')}?flash={flash}"


@router.post("/{name}/pause")
async def pause(name: str, session: LeadOnly, form: CheckedForm, project: ProjectDep) -> Response:
    """Pause a trainer with the reason the form gives (refused when blank: nothing changes)."""
    await asyncio.to_thread(qualify.pause, project.store, name, by=session.user.name,
                            reason=str(form.get("reason") or ""))
    return redirect(_trainer_page(name, "paused"))


@router.post("/{name}/resume", dependencies=[Depends(checked_form)])
async def resume(name: str, project: ProjectDep) -> Response:
    """Let a paused trainer claim items again."""
    await asyncio.to_thread(qualify.resume, project.store, name)
    return redirect(_trainer_page(name, "resumed"))
