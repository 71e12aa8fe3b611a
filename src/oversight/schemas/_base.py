"""What every record shares: one base (strict: unknown fields are errors), ids, hashes, time."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Record", "content_hash", "new_id", "text_hash", "utcnow"]


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A fresh random id such as ``r_3f2a9c0d1e7b4a55``."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def content_hash(*parts: Any, length: int = 16) -> str:
    """A stable hex digest of JSON-serialisable parts (key order does not matter)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


class Record(BaseModel):
    """The base of every record: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


def text_hash(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes (hex, 32 chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
