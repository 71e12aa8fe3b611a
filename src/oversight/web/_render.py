"""What every page handler shares: rendering templates, the session, CSRF-checked forms, redirects.

Untrusted text (tasks, drafts, critiques, notes) only reaches the page through Jinja2's
autoescaping, and a Content-Security-Policy allows scripts and styles from this server alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from oversight.web._paths import path_id
from oversight.web.auth import AccessDenied, Session, SignInRequired, check_csrf, load_session

if TYPE_CHECKING:
    from oversight.runtime import Runtime

__all__ = ["CSP", "HERE", "REPORT_CSP", "flash_of", "form_of", "page", "redirect", "runtime_of", "session_of"]

HERE = Path(__file__).parent

# Scripts and styles from this server only; the report page's own <style> is allowed there alone.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
REPORT_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _duration(seconds: float | None) -> str:
    if not seconds:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}h{seconds % 3600 // 60:02d}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _urlencode(value: Any) -> str:
    """Jinja's urlencode, but a text encodes ``/`` too: an id in an address stays one segment (see _paths)."""
    from jinja2.filters import do_urlencode

    return path_id(value) if isinstance(value, str | int) else do_urlencode(value)


_templates.filters["duration"] = _duration
_templates.filters["pct"] = _pct
_templates.filters["urlencode"] = _urlencode


def page(request: Request, name: str, *, status: int = 200, csp: str = CSP, **context: Any) -> HTMLResponse:
    """Render a template with the session (for the nav and the CSRF token) in its context."""
    session: Session | None = getattr(request.state, "session", None)
    html = _templates.get_template(name).render(request=request, session=session, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": csp})


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def session_of(request: Request, *, lead: bool = False) -> Session:
    """The signed-in user's session; raises SignInRequired, or AccessDenied for a trainer on a lead page."""
    session = await load_session(request, runtime_of(request).store)
    if session is None:
        raise SignInRequired
    request.state.session = session
    if lead and not session.is_lead:
        raise AccessDenied("this page is for leads")
    return session


async def form_of(request: Request, session: Session) -> dict[str, Any]:
    """A POSTed form, its CSRF token checked first (AccessDenied if it is missing or wrong)."""
    form = await request.form()
    if not check_csrf(session.csrf, form.get("csrf")):  # type: ignore[arg-type]
        raise AccessDenied("the form's security token is missing or stale: reload the page and try again")
    return {key: form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key) for key in form}


def flash_of(request: Request, messages: Mapping[str, str]) -> str | None:
    """The message for the URL's ``?flash=`` code: one of the page's own fixed texts, or None.

    The URL's words are never shown: a crafted link cannot put its text in the success box.
    """
    return messages.get(request.query_params.get("flash") or "")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


