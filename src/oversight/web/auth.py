"""Signing in to the review page: sessions, CSRF tokens and the role checks.

A user signs in with the token `oversight users add` printed; the page then holds a
session cookie (random, HttpOnly, SameSite=Lax; only its hash is stored) that lasts
``SESSION_HOURS``. Every form that changes something carries the session's CSRF token;
a POST without the right one is refused before anything runs. Signing in itself is
protected by a double-submit cookie, so another site cannot sign a browser in as someone else.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request

from oversight.accounts import authenticate, token_hash
from oversight.schemas import User, utcnow
from oversight.store import Store

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "SESSION_HOURS",
    "AccessDenied",
    "Session",
    "SignInRequired",
    "check_csrf",
    "end_session",
    "load_session",
    "start_session",
]

SESSION_COOKIE = "oversight_session"
LOGIN_CSRF_COOKIE = "oversight_login"
SESSION_HOURS = 12


class SignInRequired(Exception):
    """No valid session: the page sends the browser to the sign-in form."""


class AccessDenied(Exception):
    """Signed in, but this page or item is not theirs to open (a 403 with the reason)."""


@dataclass(frozen=True)
class Session:
    """A signed-in user and their session's CSRF token."""

    user: User
    csrf: str

    @property
    def is_lead(self) -> bool:
        return self.user.role == "lead"


async def load_session(request: Request, store: Store) -> Session | None:
    """The request's session, or None (no cookie, unknown, expired, user disabled)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 200:
        return None
    found = await asyncio.to_thread(store.session, token_hash(raw))
    return None if found is None else Session(found[0], found[1])


async def start_session(store: Store, token: str) -> tuple[str, Session] | None:
    """Sign in with a user's token: (the cookie value, the session), or None for a bad token."""
    user = await asyncio.to_thread(authenticate, store, token)
    if user is None:
        return None
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = utcnow() + timedelta(hours=SESSION_HOURS)
    await asyncio.to_thread(store.create_session, token_hash(raw), user.name, csrf, expires)
    return raw, Session(user, csrf)


async def end_session(request: Request, store: Store) -> None:
    """Sign out: the session stops working at once."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await asyncio.to_thread(store.end_session, token_hash(raw))


def check_csrf(expected: str | None, given: str | None) -> bool:
    """Whether a form's CSRF token is the one expected (constant time)."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
