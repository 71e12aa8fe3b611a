"""The trainer's pages: sign in, the queue, the refine view, calibration items, compare and skim.

Each handler names what it needs in its signature (the session, a CSRF-checked form, the project:
``oversight.web._deps``), so FastAPI checks them before its first line; it parses the rest of the
request, calls ``oversight.review.service`` / ``oversight.review.calibration`` / the store (in a
thread) and renders a template. Answers go through the same checks as the terminal's: a bad one
re-renders the form with the reason and records nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from oversight import review
from oversight.errors import InvalidAnswerError, LeaseError, NotFoundError
from oversight.project import Project
from oversight.refine.answers import word_diff
from oversight.review import calibration, gold_queue
from oversight.schemas import MAX_TAG_CHARS, Critique, Draft, ReviewLease, utcnow
from oversight.web._deps import CheckedForm, KeptForm, ProjectDep, SignedIn, checked_form, signed_in
from oversight.web._paths import path_id
from oversight.web._render import flash_of, page, redirect
from oversight.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_HOURS,
    AccessDenied,
    SignInThrottle,
    check_csrf,
    end_session,
    start_session,
)

__all__ = ["answer_from_form", "router"]

router = APIRouter()
PAGE_SIZE = 50
QUEUE_COUNT_LIMIT = 10_000  # the queue page counts waiting items up to this many (then says "10000+")
DECISIONS = [("accept", "a", "Accept"), ("edit", "e", "Edit"), ("rewrite", "r", "Rewrite"),
             ("reject", "x", "Reject"), ("skip", "s", "Skip")]
SHORTCUTS = [("a / e / r / x / s", "accept, edit, rewrite, reject, skip"), ("1 … 9", "finding n: right, wrong, unset"),
             ("t", "tags"), ("w", "why (rationale)"), ("c", "confidence (then arrows)"),
             ("Ctrl+Enter", "submit"), ("Esc", "leave a text field"), ("?", "show these keys")]


def _filters(request: Request) -> dict[str, str | None]:
    q = request.query_params
    return {k: (q.get(k) or None) for k in ("batch", "domain", "model")}


def _today() -> datetime:
    now = utcnow()
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


# -- signing in -------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> Response:
    nonce = secrets.token_urlsafe(16)
    response = page(request, "login.html", nonce=nonce, next=next, error=None)
    _set_login_cookie(request, response, nonce)
    return response


def _set_login_cookie(request: Request, response: Response, nonce: str) -> None:
    """The sign-in form's double-submit cookie; Secure when the request came over TLS (as the session's)."""
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, httponly=True, samesite="strict", max_age=900,
                        secure=request.url.scheme == "https")


def _client_address(request: Request) -> str:
    """Who is signing in, for the backoff: the peer, or the proxy's X-Forwarded-For when uvicorn trusts it."""
    return request.client.host if request.client else "unknown"


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, project: ProjectDep) -> Response:
    form = await request.form()
    target = str(form.get("next") or "/")
    target = target if target.startswith("/") and not target.startswith("//") else "/"
    if not check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("nonce")):  # type: ignore[arg-type]
        return page(request, "login.html", status=400, nonce="", next=target,
                    error="The sign-in form expired: reload the page and sign in again.")
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    client = _client_address(request)
    wait = throttle.admit(client)
    if wait:
        nonce = secrets.token_urlsafe(16)
        response = page(request, "login.html", status=429, nonce=nonce, next=target,
                        error=f"Too many failed sign-ins from here: wait {throttle.retry_after(wait)} s and try again.")
        response.headers["Retry-After"] = throttle.retry_after(wait)
        _set_login_cookie(request, response, nonce)
        return response
    started = None
    try:
        started = await start_session(project.store, str(form.get("token") or ""))
    finally:
        throttle.done(client, signed_in=started is not None)
    if started is None:
        nonce = secrets.token_urlsafe(16)
        response = page(request, "login.html", status=401, nonce=nonce, next=target,
                        error="That token is not valid (or the account is disabled).")
        _set_login_cookie(request, response, nonce)
        return response
    raw, _ = started
    response = redirect(target)
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="lax", max_age=SESSION_HOURS * 3600,
                        secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", dependencies=[Depends(checked_form)])
async def logout(request: Request, project: ProjectDep) -> Response:
    await end_session(request, project.store)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def home(session: SignedIn) -> Response:
    return redirect("/lead" if session.is_lead else "/queue")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


# -- the queue --------------------------------------------------------------------------------


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page") or "1"
    return max(1, min(int(raw), 10**6)) if raw.isdigit() else 1


@router.get("/queue", response_class=HTMLResponse)
async def queue_page(request: Request, session: SignedIn, project: ProjectDep) -> Response:
    store = project.store
    filters = _filters(request)
    number = _page_number(request)
    total, rows = await asyncio.to_thread(store.review_queue_page, **filters, offset=(number - 1) * PAGE_SIZE,
                                          limit=PAGE_SIZE, count_limit=QUEUE_COUNT_LIMIT, viewer=session.user.name)
    more = total > QUEUE_COUNT_LIMIT  # shown as "10000+": the lead hub has the exact counts
    total = min(total, QUEUE_COUNT_LIMIT)
    facets = await _facets(request, project)
    progress = await asyncio.to_thread(store.reviewer_progress, session.user.name, since=_today())
    facet_rows = [("batch", "Batch", facets.get("batches", [])), ("domain", "Domain", facets.get("domains", [])),
                  ("model", "Model", facets.get("models", []))]
    return page(request, "queue.html", rows=rows, total=total, facet_rows=facet_rows, filters=filters, progress=progress,
                page_number=number, pages=max(1, -(-total // PAGE_SIZE)), me=session.user.name,
                flash=flash_of(request, _queue_flashes(filters)), body_page="queue", more=more)


def _queue_flashes(filters: dict[str, str | None]) -> dict[str, str]:
    where = " with these filters" if any(filters.values()) else ""
    return {"empty": f"Nothing left to claim{where}: every item is done or held by someone.",
            "released": "The item went back to the queue."}


@router.post("/queue/next")
async def next_item(session: SignedIn, form: CheckedForm, project: ProjectDep) -> Response:
    filters = {k: (form.get(k) or None) for k in ("batch", "domain", "model")}
    due = await asyncio.to_thread(calibration.due, project.store, session.user.name, project.settings.calibration_every)
    if due is not None:
        return redirect(f"/calibration/{path_id(due.task_id)}")
    lease = await review.claim(project, session.user.name, **filters)
    if lease is None:
        item = await asyncio.to_thread(project.store.next_calibration_item, session.user.name)
        if item is not None:  # the queue is empty: calibration work is still useful
            return redirect(f"/calibration/{path_id(item.task_id)}")
        return redirect("/queue?flash=empty")
    return redirect(f"/items/{path_id(lease.task_id)}")


# -- the refine view --------------------------------------------------------------------------


def answer_from_form(form: dict[str, Any], draft: Draft, critique: Critique | None) -> dict[str, Any]:
    """The trainer's answer as RefinementInput fields. Raises InvalidAnswerError for what the form cannot mean."""
    if getattr(form, "problem", None):  # a field the KeptForm refused (a file, a repeat, a NUL)
        raise InvalidAnswerError(form.problem)  # type: ignore[attr-defined]
    decision = str(form.get("decision") or "")
    if decision not in {d for d, _, _ in DECISIONS}:
        raise InvalidAnswerError("choose a decision: accept, edit, rewrite, reject or skip")
    text = str(form.get("refined_text") or "").replace("\r\n", "\n")
    answer: dict[str, Any] = {"decision": decision}
    if decision in ("edit", "rewrite"):
        if text.strip() == draft.text.strip():
            raise InvalidAnswerError(f"decision '{decision}' but the text is the draft's: change it, or accept")
        answer["refined_text"] = text
    if decision != "skip":
        answer["tags"] = [t.strip() for t in str(form.get("tags") or "").split(",") if t.strip()]
        answer["rationale"] = str(form.get("rationale") or "").strip()
        verdicts = []
        for index in range(len(critique.findings) if critique else 0):
            value = form.get(f"verdict_{index}")
            if value in ("right", "wrong"):
                verdicts.append({"finding": index, "verdict": value})
        answer["finding_verdicts"] = verdicts
        confidence = str(form.get("confidence") or "")
        if confidence:
            if confidence not in {"1", "2", "3", "4", "5"}:
                raise InvalidAnswerError("confidence is 1 to 5")
            answer["confidence"] = (int(confidence) - 1) / 4  # as the terminal records it
    return answer


async def _cached(request: Request, name: str, seconds: float, read: Any) -> Any:
    """``read()`` (a store method, run in a thread), kept on the app for ``seconds``."""
    state = request.app.state
    cached = getattr(state, name, None)
    if cached is not None and (utcnow() - cached[0]).total_seconds() < seconds:
        return cached[1]
    value = await asyncio.to_thread(read)
    setattr(state, name, (utcnow(), value))
    return value


async def _facets(request: Request, project: Project) -> dict[str, list[str]]:
    """The queue's batches, domains and models for the filters (cached 30 s: they change with imports,
    and reading them costs more than the page of the queue itself at 100,000 items)."""
    return await _cached(request, "queue_facets", 30, project.store.review_facets)  # type: ignore[no-any-return]


TAG_OPTIONS = 500  # the commonest tags offered on a page (a tag answers may no longer hold is left out)


async def _tag_options(request: Request, project: Project) -> list[str]:
    """The project's failure tags, commonest first: the tags trainers used so far (cached a minute)."""
    tags = await _cached(request, "tag_options", 60, project.store.tag_counts)
    return [t for t in tags if len(t) <= MAX_TAG_CHARS][:TAG_OPTIONS]


async def _refine_page(request: Request, project: Project, item: review.ReviewItem, *, action: str,
                       claimed_at: datetime | None, calibrating: bool, status: int = 200,
                       error: str | None = None, form: dict[str, Any] | None = None,
                       lease: ReviewLease | None = None) -> Response:
    """The refine view; with the trainer's ``lease`` it shows its countdown and review.js renews it."""
    return page(request, "refine.html", status=status, item=item, task=item.task, draft=item.draft,
                critique=item.critique, action=action, claimed_at=claimed_at, calibrating=calibrating,
                error=error, form=form or {}, decisions=DECISIONS, shortcuts=SHORTCUTS,
                tag_options=await _tag_options(request, project), body_page="refine",
                now_iso=project.store.clock().isoformat(), lease=lease,
                lease_seconds=int(project.settings.review_lease_seconds))


@router.get("/items/{task_id:id}", response_class=HTMLResponse)
async def item_page(request: Request, task_id: str, session: SignedIn, project: ProjectDep) -> Response:
    held = await asyncio.to_thread(project.store.review_lease, task_id)
    if held is None or held.reviewer != session.user.name or held.lease_until <= project.store.clock():
        # not theirs yet: taking it by its address goes the way of the queue, calibration first when due
        due = await asyncio.to_thread(calibration.due, project.store, session.user.name,
                                      project.settings.calibration_every)
        if due is not None:
            return redirect(f"/calibration/{path_id(due.task_id)}")
    item, lease = await review.held_item(project, task_id, session.user.name)
    if lease.task_id != task_id:  # the queue's way gave another item (one due): its own address
        return redirect(f"/items/{path_id(lease.task_id)}")
    return await _refine_page(request, project, item, action=f"/items/{path_id(task_id)}", claimed_at=lease.claimed_at,
                              calibrating=False, lease=lease)


@router.post("/items/{task_id:id}", response_class=HTMLResponse)
async def submit_item(request: Request, task_id: str, session: SignedIn, form: KeptForm,
                      project: ProjectDep) -> Response:
    item = await review.item(project, task_id, session.user.name)
    action = f"/items/{path_id(task_id)}"
    try:
        answer = answer_from_form(form, item.draft, item.critique)
        refinement = await review.submit(project, task_id, answer, reviewer=session.user.name)
    except (InvalidAnswerError, LeaseError) as exc:
        lease = await asyncio.to_thread(project.store.review_lease, task_id)
        mine = lease if lease is not None and lease.reviewer == session.user.name else None
        if isinstance(exc, LeaseError):  # their lease ran out and someone took the item: keep what they typed
            return await _refine_page(request, project, item, action=action, status=409, claimed_at=None,
                                      calibrating=False, form=form, error=(
                                          f"Your answer was not recorded: {exc}. Everything you typed is still below (and kept in "
                                          "this browser tab): copy what you need, then take the next item."))
        return await _refine_page(request, project, item, action=action, status=400, error=str(exc),
                                  claimed_at=mine.claimed_at if mine else None, calibrating=False, form=form,
                                  lease=mine)
    return redirect(f"/done/{path_id(task_id)}?r={quote(refinement.id, safe='')}")


@router.post("/items/{task_id:id}/lease", dependencies=[Depends(checked_form)])
async def renew_lease(task_id: str, session: SignedIn, project: ProjectDep) -> Response:
    """Keep holding an item while its page is open and in use (review.js calls this); JSON either way."""
    try:
        lease = await review.renew(project, task_id, session.user.name)
    except (LeaseError, NotFoundError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=409 if isinstance(exc, LeaseError) else 404)
    return JSONResponse({"lease_until": lease.lease_until.isoformat(), "server_now": project.store.clock().isoformat()})


@router.post("/items/{task_id:id}/release", dependencies=[Depends(checked_form)])
async def release_item(task_id: str, session: SignedIn, project: ProjectDep) -> Response:
    await review.release(project, task_id, session.user.name)
    return redirect("/queue?flash=released")


@router.get("/done/{task_id:id}", response_class=HTMLResponse)
async def done_page(request: Request, task_id: str, session: SignedIn, project: ProjectDep, r: str = "") -> Response:
    store = project.store
    refinements = await asyncio.to_thread(store.refinements_of_task, task_id)
    gold = await asyncio.to_thread(store.gold_answer, task_id)  # a gold copy's answer: shown as any other
    refinement = next((x for x in [*refinements, *([gold.refinement] if gold else [])] if x.id == r), None)
    if refinement is None or (refinement.reviewer != session.user.name and not session.is_lead):
        raise NotFoundError(f"no refinement {r!r} of yours on task {task_id!r}")
    draft = await asyncio.to_thread(store.get_draft, refinement.draft_id)
    shown = gold is not None and project.settings.gold_feedback  # only when the lead turned it on
    feedback = await asyncio.to_thread(gold_queue.feedback, store, task_id) if shown else None
    return page(request, "done.html", refinement=refinement, draft=draft, task_id=task_id, body_page="queue",
                feedback=feedback)


# -- calibration items ------------------------------------------------------------------------


async def _calibration_item(project: Project, task_id: str, *, answerer: str | None = None) -> review.ReviewItem:
    """A calibration item as the refine view shows it; AccessDenied for the ``answerer`` who is its expert."""
    store = project.store
    item = await asyncio.to_thread(store.calibration_item, task_id)
    if item is None:
        raise NotFoundError(f"task {task_id!r} is not a calibration item")
    if answerer is not None and item.expert == answerer:
        raise AccessDenied(f"you are the expert of calibration item {task_id!r}: "
                           "your answer is the one trainers are compared with")
    task = await asyncio.to_thread(store.get_task, task_id)
    draft = await asyncio.to_thread(store.get_draft, item.draft_id)
    if draft is None:
        raise NotFoundError(f"calibration item {task_id!r} has no draft")
    critique = await asyncio.to_thread(store.get_critique, item.critique_id) if item.critique_id else None
    return review.ReviewItem(review.QueueEntry(task_id, ""), task, draft, critique)


@router.get("/calibration/{task_id:id}", response_class=HTMLResponse)
async def calibration_page(request: Request, task_id: str, session: SignedIn, project: ProjectDep) -> Response:
    store = project.store
    if await asyncio.to_thread(store.calibration_answer, task_id, session.user.name) is not None:
        return redirect(f"/calibration/{path_id(task_id)}/result")
    item = await _calibration_item(project, task_id, answerer=session.user.name)
    await asyncio.to_thread(calibration.serve, store, task_id, session.user.name)  # their time runs from now
    return await _refine_page(request, project, item, action=f"/calibration/{path_id(task_id)}", claimed_at=None,
                              calibrating=True)


@router.post("/calibration/{task_id:id}", response_class=HTMLResponse)
async def calibration_submit(request: Request, task_id: str, session: SignedIn, form: KeptForm,
                             project: ProjectDep) -> Response:
    item = await _calibration_item(project, task_id, answerer=session.user.name)
    try:
        answer = answer_from_form(form, item.draft, item.critique)  # the time is the server's (calibration.serve)
        await calibration.answer(project, task_id, answer, reviewer=session.user.name)
    except InvalidAnswerError as exc:
        return await _refine_page(request, project, item, action=f"/calibration/{path_id(task_id)}", status=400,
                                  error=str(exc), claimed_at=None, calibrating=True, form=form)
    return redirect(f"/calibration/{path_id(task_id)}/result")


@router.get("/calibration/{task_id:id}/result", response_class=HTMLResponse)
async def calibration_result(request: Request, task_id: str, session: SignedIn, project: ProjectDep,
                             reviewer: str | None = None) -> Response:
    who = reviewer if (reviewer and session.is_lead) else session.user.name
    store = project.store
    answer = await asyncio.to_thread(store.calibration_answer, task_id, who)
    if answer is None:
        raise NotFoundError(f"{who} has not answered calibration item {task_id!r}")
    item = await _calibration_item(project, task_id)
    expert = await asyncio.to_thread(store.calibration_item, task_id)
    assert expert is not None
    theirs = calibration.final_text(answer.refinement.decision, answer.refinement.refined_text, item.draft.text)
    experts = calibration.final_text(expert.decision, expert.refined_text, item.draft.text)
    return page(request, "calibration_result.html", answer=answer, expert=expert, item=item,
                ops=await asyncio.to_thread(word_diff, theirs, experts), body_page="queue")


# -- reading many: compare and skim ------------------------------------------------------------


@router.get("/tasks/{task_id:id}", response_class=HTMLResponse)
async def compare_page(request: Request, task_id: str, session: SignedIn, project: ProjectDep) -> Response:
    store = project.store
    copy = await asyncio.to_thread(store.gold_copy, task_id)
    if copy is not None and copy.reviewer != session.user.name and not session.is_lead:
        raise NotFoundError(f"no task with id {task_id!r}")  # another's gold copy is as unknown as a missing task
    lease = await asyncio.to_thread(store.review_lease, task_id)
    if (lease is not None and not session.is_lead and lease.reviewer != session.user.name
            and lease.lease_until > store.clock()):
        raise AccessDenied(f"task {task_id!r} is being reviewed by {lease.reviewer}")
    task = await asyncio.to_thread(store.get_task, task_id)
    drafts = await asyncio.to_thread(store.drafts_of_task, task_id)
    refinements = await asyncio.to_thread(store.refinements_of_task, task_id)
    if copy is not None and (gold := await asyncio.to_thread(store.gold_answer, task_id)) is not None:
        refinements.append(gold.refinement)  # the trainer's answer, where an ordinary item shows its refinement
    by_draft: dict[str, list[Any]] = {}
    for refinement in refinements:
        by_draft.setdefault(refinement.draft_id, []).append(refinement)
    return page(request, "compare.html", task=task, drafts=drafts, by_draft=by_draft, body_page="compare")


@router.get("/skim", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
async def skim_page(request: Request, project: ProjectDep) -> Response:
    store = project.store
    q = request.query_params
    tag, model, pattern = q.get("tag") or None, q.get("model") or None, q.get("pattern") or None
    number = _page_number(request)
    task_ids = await asyncio.to_thread(store.pattern_task_ids, pattern) if pattern else None
    total, rows = await asyncio.to_thread(store.skim_page, tag=tag, model=model, task_ids=task_ids,
                                          offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    patterns = await asyncio.to_thread(store.pattern_names)
    return page(request, "skim.html", rows=rows, total=total, tag=tag, model=model, pattern=pattern,
                patterns=patterns, page_number=number, pages=max(1, -(-total // PAGE_SIZE)),
                tag_options=await _tag_options(request, project), body_page="skim")
