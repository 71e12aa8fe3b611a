"""Accounts of the review page: trainers and leads, signed in with a token shown once.

``add_user`` makes a random token, keeps only its SHA-256 and returns the token: the CLI
prints it once (`oversight users add NAME --role trainer|lead`) and nobody can read it back.
Tokens carry 192 random bits, so a plain hash is enough to keep them (no password to stretch).
"""

from __future__ import annotations

import hashlib
import secrets

from oversight.errors import NotFoundError
from oversight.schemas import Role, User
from oversight.store import Store

__all__ = ["TOKEN_PREFIX", "add_user", "authenticate", "new_token", "reissue_token", "token_hash"]

TOKEN_PREFIX = "ovt_"


def new_token() -> str:
    """A fresh sign-in token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """What the store keeps of a token (and of a session id)."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def add_user(store: Store, name: str, role: Role) -> tuple[User, str]:
    """Add a trainer or a lead; return the user and their token (shown once). Raises StoreError if the name exists."""
    user = User(name=name, role=role)
    token = new_token()
    store.add_user(user, token_hash(token))
    return user, token


def reissue_token(store: Store, name: str) -> str:
    """A new token for a user (the old one stops working). Raises NotFoundError."""
    if store.user(name) is None:
        raise NotFoundError(f"no user named {name!r}")
    token = new_token()
    store.set_user_token(name, token_hash(token))
    return token


def authenticate(store: Store, token: str) -> User | None:
    """The user a token belongs to, or None (unknown token, disabled user)."""
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return store.user_by_token_hash(token_hash(token))
