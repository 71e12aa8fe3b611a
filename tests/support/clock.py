"""A clock a test moves by hand: set it as ``store.clock`` and leases and serve times follow it."""

from __future__ import annotations

from datetime import datetime, timedelta

from oversight.schemas import utcnow

__all__ = ["Clock"]


class Clock:
    """Now, as the test says: starts at the real now, moves only with ``move``."""

    def __init__(self, start: datetime | None = None):
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def move(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now
