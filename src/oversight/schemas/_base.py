"""What every record shares: one base (strict: unknown fields are errors), ids, hashes, time."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Record", "content_hash", "lone_surrogate", "new_id", "text_hash", "utcnow"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> str | None:
    """Why ``text`` is not text when it holds a lone surrogate (JSON's ``"\\ud800"`` is valid JSON; a
    name from a shell that is not UTF-8 decodes to one): no database or terminal can take it. None if fine."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return f"holds a lone surrogate (\\u{ord(found.group()):04x}), which is not text"


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
