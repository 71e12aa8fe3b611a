"""What a page handler needs, as FastAPI dependencies: the project, the signed-in session, a lead's
session, a posted form with its CSRF token checked.

A handler names what it needs in its signature (``session: SignedIn``, ``form: CheckedForm``)
and FastAPI runs the checks before the handler's first line, so a page cannot forget them:

- ``SignedIn``: the session, or the browser goes to the sign-in form (``SignInRequired``).
- ``LeadOnly``: the same, and a trainer gets a 403 with the reason (``AccessDenied``).
- ``CheckedForm``: the POSTed form, after the session and its CSRF token (a 403 when missing or
  stale); a field that is not one piece of text (a file, a repeat, a NUL) is a 400 page.
- ``KeptForm``: the same, but a refused field comes back in ``form.problem`` for the handler to
  show on the form again, with the rest of what was typed.

FastAPI solves each dependency once per request, so a handler that asks for the session and the
form reads the session once. Forms keep Starlette's bounds (1,000 fields, 1 MB a part).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request

from oversight.errors import OversightError
from oversight.project import Project
from oversight.schemas._base import lone_surrogate
from oversight.web.auth import AccessDenied, Session, SignInRequired, check_csrf, load_session

__all__ = ["CheckedForm", "Form", "KeptForm", "LeadOnly", "ProjectDep", "SignedIn", "checked_form", "kept_form",
           "lead_only", "project_of", "signed_in"]


async def project_of(request: Request) -> Project:
    """The project the app was built around (``create_app``)."""
    return request.app.state.project  # type: ignore[no-any-return]


ProjectDep = Annotated[Project, Depends(project_of)]


async def signed_in(request: Request, project: ProjectDep) -> Session:
    """The signed-in user's session (kept on ``request.state`` for the nav); SignInRequired without one."""
    session = await load_session(request, project.store)
    if session is None:
        raise SignInRequired
    request.state.session = session
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


async def lead_only(session: SignedIn) -> Session:
    """A lead's session; AccessDenied for a trainer."""
    if not session.is_lead:
        raise AccessDenied("this page is for leads")
    return session


LeadOnly = Annotated[Session, Depends(lead_only)]


class Form(dict[str, str]):
    """A POSTed form: one text value per field. ``problem`` is what was refused in it, or None;
    a refused field is left out (a file, a repeat) or kept without its bad characters."""

    problem: str | None = None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(value: str) -> str | None:
    """Why a form's text cannot be stored (the same words as a refused import's), or None."""
    if "\x00" in value:
        return "contains a NUL character (\\x00), which databases cannot store"
    return lone_surrogate(value)


def _cleaned(text: str) -> str:
    """The text without what _text_problem refuses (a refused form shows the rest again)."""
    return _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


async def _read_form(request: Request, session: Session, *, keep: bool) -> Form:
    """A POSTed form, its CSRF token checked first (AccessDenied if it is missing or wrong).

    Every field is one piece of text: a field sent twice, a file, a NUL or a lone surrogate is
    refused, with the field named: an OversightError (a 400 page), or with ``keep`` the form is
    returned with the reason in ``problem`` for the handler to show on the form again.
    """
    raw = await request.form()
    if not check_csrf(session.csrf, raw.get("csrf")):  # type: ignore[arg-type]
        raise AccessDenied("the form's security token is missing or stale: reload the page and try again")
    form, problems = Form(), []
    for key in dict.fromkeys(raw.keys()):
        values, name = raw.getlist(key), _cleaned(key)
        if len(values) > 1:
            problems.append(f"field '{name}' was sent {len(values)} times: it takes one value")
            continue
        value = values[0]
        if not isinstance(value, str):
            problems.append(f"field '{name}' is a file: this form takes typed text only")
            continue
        problem = _text_problem(key + value)
        if problem:
            problems.append(f"field '{name}' {problem}")
        form[name] = _cleaned(value)
    if problems:
        if not keep:
            raise OversightError(problems[0])
        form.problem = problems[0]
    return form


async def checked_form(request: Request, session: SignedIn) -> Form:
    """The form, CSRF-checked; a refused field is a 400 page."""
    return await _read_form(request, session, keep=False)


async def kept_form(request: Request, session: SignedIn) -> Form:
    """The form, CSRF-checked; a refused field is named in ``form.problem`` (the handler shows the form again)."""
    return await _read_form(request, session, keep=True)


CheckedForm = Annotated[Form, Depends(checked_form)]
KeptForm = Annotated[Form, Depends(kept_form)]
