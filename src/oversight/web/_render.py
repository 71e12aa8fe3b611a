"""What every page handler shares: rendering templates, flash messages, redirects (what a handler
needs from the request, the session and its forms, comes as dependencies: ``_deps``).

Untrusted text (tasks, drafts, critiques, notes) only reaches the page through Jinja2's
autoescaping, and a Content-Security-Policy allows scripts and styles from this server alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from oversight.refine.answers import clipped_diff, grouped_diff
from oversight.schemas import MAX_RATIONALE_CHARS, MAX_REFINED_CHARS, MAX_TAG_CHARS, MAX_TAGS, utcnow
from oversight.web._paths import path_id
from oversight.web.auth import Session

__all__ = ["CSP", "HERE", "REPORT_CSP", "flash_of", "page", "redirect"]

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


def _ago(moment: datetime | None) -> str:
    """How long ago, in the largest whole unit: 'just now', '5 min', '3 h', '2 d'."""
    if moment is None:
        return "–"
    seconds = max(0, int((utcnow() - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "just now"


def _file_name(path: str | None) -> str:
    """A batch's file name without its folders (the page shows the whole path on hover)."""
    return (path or "").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _preview(text: str | None, limit: int = 140) -> str:
    """The start of a text on one line, cut at a word with '…' when longer."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


_CODE = re.compile(r"`([^`]+)`")


def _code_spans(text: str) -> Markup:
    """Text with its `backticked` commands as <code> (everything escaped first)."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


_templates.filters["grouped"] = grouped_diff
_templates.filters["clipped"] = clipped_diff
_templates.filters["ago"] = _ago
_templates.filters["file_name"] = _file_name
_templates.filters["preview"] = _preview
_templates.filters["code_spans"] = _code_spans
_templates.filters["duration"] = _duration
_templates.filters["pct"] = _pct
_templates.filters["urlencode"] = _urlencode
# What one answer may hold (oversight.schemas' bounds), said on the refine form.
_templates.globals["limits"] = {"tags": MAX_TAGS, "tag_chars": MAX_TAG_CHARS, "rationale": MAX_RATIONALE_CHARS,
                                "refined": MAX_REFINED_CHARS}


def page(request: Request, name: str, *, status: int = 200, csp: str = CSP, **context: Any) -> HTMLResponse:
    """Render a template with the session (for the nav and the CSRF token) in its context."""
    session: Session | None = getattr(request.state, "session", None)
    html = _templates.get_template(name).render(request=request, session=session, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": csp})


def flash_of(request: Request, messages: Mapping[str, str]) -> str | None:
    """The message for the URL's ``?flash=`` code: one of the page's own fixed texts, or None.

    The URL's words are never shown: a crafted link cannot put its text in the success box.
    """
    return messages.get(request.query_params.get("flash") or "")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


