"""Who may open what, by construction: every page but sign-in and the health check depends on the
session, every lead page on a lead's, every POST on a CSRF-checked form. The checks read each route's
FastAPI dependencies, so a handler added without them fails here before anyone opens it; the rest
serve requests to see the order (session, role, token) and that a request reads its session once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Mount

from oversight.config import load_settings
from oversight.project import Project
from oversight.web._deps import SignedIn, checked_form, kept_form, lead_only, signed_in
from oversight.web.app import create_app
from tests.web.conftest import Site, csrf_of

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # FastAPI before 0.137.2 kept every route, included ones too, in app.routes
    iter_route_contexts = iter  # type: ignore[assignment]

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz")}
FORMS = {checked_form, kept_form}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency a route runs, its sub-dependencies too."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def routes(app: FastAPI) -> Iterator[Any]:
    """Every route the app serves, those of included routers too (with the router's prefix and dependencies)."""
    return iter_route_contexts(app.routes)  # type: ignore[no-any-return]


def unguarded(app: FastAPI) -> list[str]:
    """What each route lacks of its guards, as 'METHOD /path: what' (empty: all guarded)."""
    problems = []
    for route in routes(app):
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount) and route.path == "/static":
            continue
        if not isinstance(original, APIRoute):
            problems.append(f"{route.path}: not a FastAPI route, so it runs no dependencies")
            continue
        calls = set(_calls(route.dependant))
        for method in sorted(route.methods):
            if (method, route.path) in PUBLIC:
                continue
            where = f"{method} {route.path}"
            if signed_in not in calls:
                problems.append(f"{where}: no session")
            if (route.path == "/lead" or route.path.startswith("/lead/")) and lead_only not in calls:
                problems.append(f"{where}: not for leads only")
            if method != "GET" and not calls & FORMS:
                problems.append(f"{where}: no CSRF-checked form")
    return problems


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    """The app as `oversight serve` builds it (its routes are read, never served)."""
    with Project.open(load_settings(db=str(tmp_path / "o.db"))) as project:
        yield create_app(project)


def test_every_page_but_sign_in_and_health_is_guarded(app: FastAPI) -> None:
    assert unguarded(app) == []
    paths = {(m, r.path) for r in routes(app) if r.methods for m in r.methods}
    assert paths >= PUBLIC  # each exemption names a route that exists (a stale one could exempt a new page)
    assert len(paths) > len(PUBLIC) + 15  # the walk saw the pages, not an empty list


def test_a_route_that_forgets_a_guard_is_named(app: FastAPI) -> None:
    async def handler() -> dict[str, str]:
        return {}

    async def with_session(session: SignedIn) -> dict[str, str]:
        return {}

    app.get("/planted")(handler)
    app.get("/lead/planted")(with_session)
    app.post("/planted/post")(with_session)
    app.post("/planted/form", dependencies=[Depends(kept_form)])(handler)
    assert unguarded(app) == ["GET /planted: no session", "GET /lead/planted: not for leads only",
                              "POST /planted/post: no CSRF-checked form"]
    app.mount("/elsewhere", handler)
    assert unguarded(app)[-1] == "/elsewhere: not a FastAPI route, so it runs no dependencies"


def test_the_session_comes_before_the_role_and_the_role_before_the_token(site: Site) -> None:
    anonymous = site.client()
    sent = anonymous.post("/queue/next", data={})  # no session: sign in first, whatever the form holds
    assert (sent.status_code, sent.headers["location"]) == (303, "/login?next=/queue/next")
    ana = site.client("ana")
    csrf = csrf_of(ana.get("/queue").text)
    refused = ana.post("/lead/calibration", data={"csrf": csrf, "task_id": "cap-fr", "refinement_id": "r1"})
    assert refused.status_code == 403
    assert "this page is for leads" in refused.text  # the role, with the right token
    assert ana.post("/lead/calibration", data={}).status_code == 403
    assert "this page is for leads" in ana.post("/lead/calibration", data={}).text  # the role before the token
    assert site.project.store.calibration_items() == []


def test_a_request_reads_its_session_once(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lead check, the form and the handler all need the session: FastAPI solves it once per request."""
    lea = site.client("lea")
    csrf = csrf_of(lea.get("/lead/calibration").text)
    store, reads = site.project.store, []
    real = store.session

    def counted(token_hash: str) -> Any:
        reads.append(token_hash)
        return real(token_hash)

    monkeypatch.setattr(store, "session", counted)
    sent = lea.post("/lead/calibration/cap-fr/remove", data={"csrf": csrf})
    assert sent.status_code == 404  # not a calibration item: the handler ran, after every check
    assert len(reads) == 1


def test_a_form_keeps_its_size_bound(site: Site) -> None:
    ana = site.client("ana")
    csrf = csrf_of(ana.get("/items/cap-fr").text)
    huge = ana.post("/items/cap-fr", data={"csrf": csrf, "decision": "reject", "rationale": "x" * (1024 * 1024 + 1)})
    assert huge.status_code == 400
    assert "Field exceeded maximum size of 1024KB" in huge.text
    assert site.project.store.refinements_of_task("cap-fr") == []
