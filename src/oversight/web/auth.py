"""Signing in to the review page: sessions, CSRF tokens and the role checks.

A user signs in with the token `oversight users add` printed; the page then holds a
session cookie (random, HttpOnly, SameSite=Lax; only its hash is stored) that lasts
``SESSION_HOURS``. Every form that changes something carries the session's CSRF token;
a POST without the right one is refused before anything runs. Signing in itself is
protected by a double-submit cookie, so another site cannot sign a browser in as someone else,
and by a backoff per client address (``SignInThrottle``): each failed try doubles the wait
before that address may try again, so guessing tokens is slow (they are 192-bit anyway).
"""

from __future__ import annotations

import asyncio
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request

from oversight.review.accounts import authenticate, token_hash
from oversight.schemas import User
from oversight.store import Store

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "SESSION_HOURS",
    "AccessDenied",
    "Session",
    "SignInRequired",
    "SignInThrottle",
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


class SignInThrottle:
    """Failed sign-ins per client address: after each, that address waits before its next try.

    The first failure costs ``first_wait`` seconds, each further one doubles it, up to
    ``max_wait``; a sign-in that works forgets the failures, and so does ``forget_after``
    seconds without a try. An address that has failed tries one at a time (a burst of
    parallel guesses gets one through); one that has not is never held back, so a team
    behind one NAT signs in together. At most ``max_clients`` addresses are remembered (the
    oldest go first). Each server process keeps its own counts. ``clock`` (seconds,
    monotonic) is there for tests to move.
    """

    def __init__(self, *, first_wait: float = 1.0, max_wait: float = 60.0, forget_after: float = 900.0,
                 max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.first_wait, self.max_wait, self.forget_after = first_wait, max_wait, forget_after
        self.max_clients, self.clock = max_clients, clock
        self._failed: dict[str, tuple[int, float]] = {}  # address -> (failures, when it may try again)
        self._trying: set[str] = set()  # failed addresses with a try being checked now

    def __len__(self) -> int:
        return len(self._failed)

    def wait(self, client: str) -> float:
        """Seconds before ``client`` may try again (0.0: now)."""
        failures, next_try = self._failed.get(client, (0, 0.0))
        return max(0.0, next_try - self.clock()) if failures else 0.0

    def admit(self, client: str) -> float:
        """0.0 when ``client`` may try now, else the seconds to wait. Report the try's end to ``done``."""
        if client not in self._failed:
            return 0.0
        _, next_try = self._failed[client]
        now = self.clock()
        if now - next_try > self.forget_after:
            del self._failed[client]
            return 0.0
        if now < next_try:
            return next_try - now
        if client in self._trying:  # one try at a time once it has failed
            return self.first_wait
        self._trying.add(client)
        return 0.0

    def done(self, client: str, *, signed_in: bool) -> None:
        """An admitted try ended: signing in forgets the failures; a failure doubles the wait."""
        self._trying.discard(client)
        failures, _ = self._failed.pop(client, (0, 0.0))
        if signed_in:
            return
        failures += 1
        self._failed[client] = (failures, self.clock() + min(self.first_wait * 2 ** min(failures - 1, 60),
                                                              self.max_wait))
        while len(self._failed) > self.max_clients:
            oldest = next(iter(self._failed))
            del self._failed[oldest]
            self._trying.discard(oldest)

    @staticmethod
    def retry_after(seconds: float) -> str:
        """A Retry-After header's value: whole seconds, rounded up."""
        return str(max(1, math.ceil(seconds)))


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
    expires = store.clock() + timedelta(hours=SESSION_HOURS)
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
