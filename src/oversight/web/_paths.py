"""Ids in page addresses: task ids come from users' files, so they may hold ``/ # ? %``, spaces, anything.

Every address puts an id in one path segment, percent-encoded whole (``path_id``: ``a/b`` is
``a%2Fb``). The server decodes a request's path before routing, which would turn that ``%2F``
back into a segment break; ``KeepEncodedSlashes`` decodes everything but ``%2F`` and ``%25``
instead, so an id stays one segment, and routes take it with the ``id`` convertor
(``/items/{task_id:id}``), which decodes those two. An id of dots alone (``.``, ``..``) cannot
be a segment at all (browsers resolve it, encoded or not): task import refuses such ids.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["KeepEncodedSlashes", "path_id"]

_KEPT = re.compile(r"%2[Ff]|%25")


def path_id(value: Any) -> str:
    """An id as one path segment: every character but letters, digits and ``_.-~`` percent-encoded."""
    return quote(str(value), safe="")


def _decode_keeping_slashes(raw: str) -> str:
    """A raw path decoded, except for ``%2F`` and ``%25`` (which stay encoded, upper case)."""
    parts, at = [], 0
    for match in _KEPT.finditer(raw):
        parts += [unquote(raw[at:match.start()]), match.group().upper()]
        at = match.end()
    return "".join([*parts, unquote(raw[at:])])


class KeepEncodedSlashes:
    """ASGI middleware: route on the path as sent, an encoded slash (or percent sign) kept encoded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw:
            text = raw.decode("ascii", "replace")
            if unquote(text) == scope["path"]:  # the server's own decoding of the same path (no surprises)
                scope = {**scope, "path": _decode_keeping_slashes(text)}
        await self.app(scope, receive, send)


class IdConvertor(Convertor[str]):
    """One path segment holding an id (``path_id``), decoded."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return unquote(value)

    def to_string(self, value: str) -> str:
        return path_id(value)


register_url_convertor("id", IdConvertor())
