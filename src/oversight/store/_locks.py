"""Named run locks with an owner and a lease: one mining run at a time on a database.

A lock is one row. Taking it inserts the row, or takes over a row whose lease has run out (or
whose holder the caller knows to be dead); the holder renews its lease while it works and
deletes the row when done. The same code path on SQLite and PostgreSQL (the row is read FOR
UPDATE there), so two runs on two machines sharing a database exclude each other too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from oversight.errors import StoreError
from oversight.store import tables as t
from oversight.store._base import StoreBase, aware_utc

__all__ = ["LockHolder", "LockRecords"]


class LockHolder(NamedTuple):
    """Who holds a lock: their owner string (host/pid/token), since when, until when unless renewed."""

    owner: str
    started_at: datetime
    lease_until: datetime


class LockRecords(StoreBase):
    """Run locks."""

    def take_lock(self, name: str, owner: str, *, lease_seconds: float,
                  is_dead: Callable[[str], bool] | None = None) -> LockHolder | None:
        """Take the lock ``name`` for ``owner``; return None when taken, else who holds it.

        A holder whose lease ended before now (by the store's ``clock``), or whom ``is_dead(owner)``
        knows to be gone, loses the lock to the caller. Taking a lock one already holds renews it.
        """
        now = self.clock()
        until = now + timedelta(seconds=lease_seconds)
        locks = t.run_locks
        mine, named = locks.c.owner == owner, locks.c.name == name
        try:
            with self.transaction() as conn:
                # writes first: SQLite takes its write lock at the first write, so a reader's
                # snapshot never goes stale under a competitor's takeover
                if conn.execute(update(locks).where(named, mine).values(lease_until=until)).rowcount:
                    return None  # ours already: renewed
                if conn.execute(update(locks).where(named, locks.c.lease_until < now)
                                .values(owner=owner, started_at=now, lease_until=until)).rowcount:
                    return None  # its holder stopped renewing
                row = conn.execute(select(locks.c.owner, locks.c.started_at, locks.c.lease_until)
                                   .where(named)).first()
                if row is None:
                    conn.execute(insert(locks).values(name=name, owner=owner, started_at=now, lease_until=until))
                    return None
                if is_dead is not None and is_dead(row.owner) and conn.execute(
                        update(locks).where(named, locks.c.owner == row.owner)
                        .values(owner=owner, started_at=now, lease_until=until)).rowcount:
                    return None
                return LockHolder(row.owner, aware_utc(row.started_at), aware_utc(row.lease_until))
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        # another run inserted the row between our read and our write: theirs
        return self.lock_holder(name) or self.take_lock(name, owner, lease_seconds=lease_seconds, is_dead=is_dead)

    def renew_lock(self, name: str, owner: str, *, lease_seconds: float) -> bool:
        """Extend ``owner``'s lease to ``lease_seconds`` from now; False if they no longer hold the lock."""
        until = self.clock() + timedelta(seconds=lease_seconds)
        locks = t.run_locks
        with self.transaction() as conn:
            result = conn.execute(update(locks).where(locks.c.name == name, locks.c.owner == owner)
                                  .values(lease_until=until))
        return bool(result.rowcount)

    def release_lock(self, name: str, owner: str) -> bool:
        """Give the lock up; False if ``owner`` did not hold it."""
        locks = t.run_locks
        with self.transaction() as conn:
            result = conn.execute(delete(locks).where(locks.c.name == name, locks.c.owner == owner))
        return bool(result.rowcount)

    def lock_holder(self, name: str) -> LockHolder | None:
        """Who holds the lock ``name`` (perhaps with a lease run out), or None."""
        locks = t.run_locks
        with self.reading() as conn:
            row = conn.execute(select(locks.c.owner, locks.c.started_at, locks.c.lease_until)
                               .where(locks.c.name == name)).first()
        return None if row is None else LockHolder(row.owner, aware_utc(row.started_at), aware_utc(row.lease_until))
