"""Who may use the web pages: users (each with a sign-in token, kept as a hash) and their sessions.

A session is a row of ``web_sessions`` until ``expires_at``, as the store's ``clock`` reads the time;
disabling a user ends their sessions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from oversight.errors import NotFoundError, StoreError
from oversight.schemas import User
from oversight.store import tables as t
from oversight.store._base import StoreBase, aware_utc

__all__ = ["AccountRecords"]


def _user(row: Any) -> User:
    """A User from its row (the ``disabled`` column is the truth)."""
    return User.model_validate({**row.data, "disabled": bool(row.disabled)})


class AccountRecords(StoreBase):
    """Users and their web sessions."""

    # -- users and sessions ------------------------------------------------------------------

    def add_user(self, user: User, token_hash: str) -> None:
        """Keep a new user, who signs in with the token of this hash. Raises StoreError if the name exists."""
        u = t.users
        exists_message = f"user '{user.name}' exists"
        try:
            with self.transaction() as conn:
                if conn.scalar(select(u.c.name).where(u.c.name == user.name)) is not None:
                    raise StoreError(exists_message)
                conn.execute(insert(u).values(name=user.name, role=user.role, token_hash=token_hash,
                                              disabled=user.disabled, created_at=user.created_at,
                                              data=user.model_dump(mode="json")))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError) and self.user(user.name) is not None:
                raise StoreError(exists_message) from exc  # added by someone else meanwhile
            raise

    def set_user_token(self, name: str, token_hash: str) -> None:
        """Give a user a new sign-in token (the old one stops working). Raises NotFoundError."""
        with self.transaction() as conn:
            result = conn.execute(update(t.users).where(t.users.c.name == name).values(token_hash=token_hash))
            if not result.rowcount:
                raise NotFoundError(f"no user {name!r}")

    def set_user_disabled(self, name: str, disabled: bool) -> None:
        """Disable (or enable again) a user; disabling ends their sessions. Raises NotFoundError."""
        u = t.users
        with self.transaction() as conn:
            data = conn.scalar(select(u.c.data).where(u.c.name == name))
            if data is None:
                raise NotFoundError(f"no user {name!r}")
            conn.execute(update(u).where(u.c.name == name).values(disabled=disabled,
                                                                  data={**data, "disabled": disabled}))
            if disabled:
                conn.execute(delete(t.web_sessions).where(t.web_sessions.c.user_name == name))

    def user(self, name: str) -> User | None:
        """The user of this name, or None."""
        with self.reading() as conn:
            row = conn.execute(select(t.users.c.data, t.users.c.disabled).where(t.users.c.name == name)).first()
        return None if row is None else _user(row)

    def users(self) -> list[User]:
        """Every user, by name."""
        with self.reading() as conn:
            rows = conn.execute(select(t.users.c.data, t.users.c.disabled).order_by(t.users.c.name)).all()
        return [_user(row) for row in rows]

    def user_by_token_hash(self, token_hash: str) -> User | None:
        """The (enabled) user who signs in with the token of this hash, or None."""
        u = t.users
        with self.reading() as conn:
            row = conn.execute(select(u.c.data, u.c.disabled)
                               .where(u.c.token_hash == token_hash, u.c.disabled.is_(False))).first()
        return None if row is None else _user(row)

    def create_session(self, id_hash: str, user_name: str, csrf: str, expires_at: datetime) -> None:
        """Keep a signed-in session until ``expires_at`` (and drop everyone's expired ones)."""
        now = self.clock()
        w = t.web_sessions
        with self.transaction() as conn:
            conn.execute(delete(w).where(w.c.expires_at < now))  # by its index: cheap
            conn.execute(insert(w).values(id_hash=id_hash, user_name=user_name, csrf=csrf, created_at=now,
                                          expires_at=aware_utc(expires_at)))

    def session(self, id_hash: str) -> tuple[User, str] | None:
        """The user of a live session and its CSRF token; None if unknown, expired, or the user is disabled."""
        u, w = t.users, t.web_sessions
        query = (select(u.c.data, u.c.disabled, w.c.csrf).select_from(w.join(u, u.c.name == w.c.user_name))
                 .where(w.c.id_hash == id_hash, w.c.expires_at > self.clock(), u.c.disabled.is_(False)))
        with self.reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else (_user(row), str(row.csrf))

    def end_session(self, id_hash: str) -> None:
        """Sign a session out (nothing happens if it is unknown)."""
        with self.transaction() as conn:
            conn.execute(delete(t.web_sessions).where(t.web_sessions.c.id_hash == id_hash))
