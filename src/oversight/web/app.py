"""The review page's application: FastAPI, server-rendered Jinja2 templates, a little plain JavaScript.

``create_app`` builds it around a Project (the store, the settings); `oversight serve` runs
it on uvicorn, one or several workers on one database. Handlers only parse, call the
library (``oversight.review.service``, ``oversight.review.calibration``, the store) and render; every store
call runs in a thread, so no handler blocks the loop. The page never calls a model: when the
provider is down, the queue keeps serving the drafts that exist.

Untrusted text (tasks, drafts, critiques, notes) only reaches the page through Jinja2's
autoescaping, and a Content-Security-Policy allows scripts and styles from this server alone,
so a draft holding ``<script>`` shows as text and runs nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from oversight.errors import (
    InvalidAnswerError,
    LeaseError,
    NotFoundError,
    NotQualifiedError,
    OversightError,
    StoreError,
    TrainerPausedError,
)
from oversight.visible import visible
from oversight.web._paths import KeepEncodedSlashes
from oversight.web._render import CSP, HERE, page, redirect
from oversight.web.auth import AccessDenied, SignInRequired, SignInThrottle

if TYPE_CHECKING:
    from oversight.project import Project

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("oversight.web")


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return page(request, "error.html", status=status, title=title, message=message)


# The library's errors as pages: status and title; the message is the error's own words.
_ERROR_PAGES: dict[type[Exception], tuple[int, str]] = {
    AccessDenied: (403, "Not yours to open"),
    NotFoundError: (404, "Not found"),
    LeaseError: (409, "Someone else has this item"),
    TrainerPausedError: (403, "You are paused"),
    NotQualifiedError: (403, "For qualified trainers only"),
    InvalidAnswerError: (400, "That answer was not recorded"),
    OversightError: (400, "That did not work"),
}


def _page_for(status: int, title: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return _error_page(request, status, title, str(exc))

    return handler


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return redirect("/login?next=" + _safe_next(request))

    for error, (status, title) in _ERROR_PAGES.items():
        app.add_exception_handler(error, _page_for(status, title))

    @app.exception_handler(StoreError)
    async def _store_failed(request: Request, exc: StoreError) -> Response:
        # the message names the database (user, host, name; never the password): for the log, not the page
        log.error("database failure serving %s %s: %s", request.method, visible(request.url.path), visible(str(exc)))
        return _error_page(request, 503, "The database is not answering",
                           "The review page could not use its database just now. Open the queue to see whether "
                           "what you sent was recorded before sending it again; if this goes on, tell whoever "
                           "runs the page.")

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
        return _error_page(request, 400, "Bad request", f"{where}: {first.get('msg', 'invalid')}".strip(": "))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "Not found", 405: "Not allowed"}.get(exc.status_code, "Bad request")
        return _error_page(request, exc.status_code, title, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("error serving %s %s", request.method, request.url.path)
        return _error_page(request, 500, "Something went wrong on the server",
                           "The error is in the server's log. Open the queue to see whether what you sent "
                           "was recorded before sending it again.")


def _safe_next(request: Request) -> str:
    """A redirect target after sign-in: a local path only (never another site), as it was sent (ids encoded)."""
    from urllib.parse import quote

    raw = request.scope.get("raw_path")
    path = raw.decode("ascii", "replace") if raw else quote(request.url.path, safe="/")
    return quote(path if path.startswith("/") and not path.startswith("//") else "/", safe="/")


def create_app(project: Project, *, close_project: bool = False) -> FastAPI:
    """The review page around a Project. With ``close_project`` the app closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from oversight.pipelines.refine import holding_refine_graph

        try:
            async with holding_refine_graph(project):  # one checkpointer for every answer the server records
                yield
        finally:
            if close_project:
                project.close()

    app = FastAPI(title="oversight review", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.project = project
    app.state.sign_in_throttle = SignInThrottle()

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.add_middleware(KeepEncodedSlashes)  # an id's encoded "/" stays in its one path segment
    _install_error_pages(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from oversight.web import lead_pages, review_pages, standing_pages

    app.include_router(review_pages.router)
    app.include_router(lead_pages.router)
    app.include_router(standing_pages.router)
    return app


def create_app_from_env() -> FastAPI:
    """The app for uvicorn's workers (``--workers N``): settings from OVERSIGHT_* and oversight.toml."""
    from oversight.config import load_settings
    from oversight.project import Project

    settings = load_settings(os.environ.get("OVERSIGHT_CONFIG"))
    return create_app(Project.open(settings), close_project=True)
